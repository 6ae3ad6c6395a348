//! The command-line edge: one file per command, each returning an [`Outcome`] or an
//! [`Error`], and one function, [`exit`], that turns either into the message on stderr and
//! the exit code of the contract in design.md:
//!
//! - 0: every test passed (or the command did its work);
//! - 1: a test or step failed, or a runtime failure (a server that cannot bind or is
//!   unreachable, a trace it does not hold, a failed write);
//! - 2: bad input (a bad flag, an unreadable or invalid file, a bad URL, token or trace ID).
//!
//! Library modules return `thiserror` types; only this edge uses `anyhow`, to carry any of
//! them to [`exit`] with its sources. `main.rs` only parses the flags and dispatches here.

pub mod analyze;
pub mod args;
mod html;
pub mod run;
pub mod serve;
pub mod traces;
pub mod validate;

use std::future::Future;
use std::process::ExitCode;

pub use args::{Args, ClientArgs, ClientTlsArgs, Command, OutputFormat, ViewFormat};

/// How a command that did its work ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// A test, step or analyzer verdict failed.
    Failed,
}

impl Outcome {
    pub fn from_passed(passed: bool) -> Self {
        if passed {
            Outcome::Passed
        } else {
            Outcome::Failed
        }
    }
}

/// Why a command could not do its work.
#[derive(Debug)]
pub enum Error {
    /// The user's input was wrong: exit code 2, printed as `error: ...`.
    BadInput(anyhow::Error),
    /// Definition files with problems, already one `file:line:col: message` block each:
    /// exit code 2, printed as they are (as `run`, `validate` and `analyze` all print them).
    Definitions(anyhow::Error),
    /// Anything else that went wrong: exit code 1, printed as `error: ...`.
    Failed(anyhow::Error),
}

impl Error {
    /// A library error, bad input or not as the library says.
    pub fn classify(bad_input: bool, error: impl Into<anyhow::Error>) -> Self {
        if bad_input {
            Error::BadInput(error.into())
        } else {
            Error::Failed(error.into())
        }
    }

    fn exit_code(&self) -> u8 {
        match self {
            Error::BadInput(_) | Error::Definitions(_) => BAD_INPUT,
            Error::Failed(_) => FAILED,
        }
    }

    fn message(&self) -> String {
        match self {
            Error::Definitions(error) => error.to_string(),
            Error::BadInput(error) | Error::Failed(error) => {
                format!("error: {}", model::error_chain(error.as_ref()))
            }
        }
    }
}

const PASSED: u8 = 0;
const FAILED: u8 = 1;
const BAD_INPUT: u8 = 2;

/// The one place a command's result becomes a message and an exit code.
pub fn exit(result: Result<Outcome, Error>) -> ExitCode {
    ExitCode::from(match result {
        Ok(Outcome::Passed) => PASSED,
        Ok(Outcome::Failed) => FAILED,
        Err(error) => {
            eprintln!("{}", error.message());
            error.exit_code()
        }
    })
}

/// Logs go to stderr: `serve` narrates its work, the other commands keep stderr for
/// problems (`TRACECHECK_LOG` overrides either).
pub fn init_logging(command: &Command) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRACECHECK_LOG").unwrap_or_else(|_| {
        let level = if matches!(command, Command::Serve(_)) { "info" } else { "warn" };
        tracing_subscriber::EnvFilter::new(level)
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(report::style::use_colour(&std::io::stderr()))
        .init();
}

/// Runs a command on a new async runtime.
pub fn block_on(command: impl Future<Output = Result<Outcome, Error>>) -> Result<Outcome, Error> {
    let runtime = tokio::runtime::Runtime::new().map_err(|error| {
        Error::Failed(anyhow::Error::new(error).context("cannot start the async runtime"))
    })?;
    runtime.block_on(command)
}
