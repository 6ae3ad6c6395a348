//! The `tracecheck` command line: parse the flags and dispatch to one command of
//! `tracecheck::cli`, whose result [`cli::exit`] maps to the message and the exit code.

use std::process::ExitCode;

use clap::Parser;
use tracecheck::cli::{self, Args, Command};

fn main() -> ExitCode {
    let args = Args::parse();
    cli::init_logging(&args.command);
    cli::exit(cli::block_on(async move {
        match args.command {
            Command::Serve(args) => cli::serve::serve(args).await,
            Command::Run(args) => cli::run::run(args).await,
            Command::Validate(args) => cli::validate::validate(&args),
            Command::Traces { command } => cli::traces::traces(command).await,
            Command::Analyze(args) => cli::analyze::analyze(args).await,
        }
    }))
}
