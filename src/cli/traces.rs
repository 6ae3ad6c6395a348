//! `tracecheck traces list|get`: fetch from a running `tracecheck serve` over the control
//! API and print (the table, waterfall and JSON are rendered by [`crate::report`]).

use std::io::Write;

use super::args::{ClientArgs, TracesCommand, ViewFormat};
use super::{Error as CliError, Outcome};
use crate::api;
use crate::model::{IdError, Trace, TraceId};
use crate::report::waterfall::{self, WaterfallOptions};
use crate::report::{style, traces as render};

/// What can stop `traces` (and `analyze`, which fetches the same way).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid trace id {text:?}: {source}")]
    InvalidTraceId { text: String, source: IdError },
    #[error("trace {0} not found")]
    TraceNotFound(TraceId),
    #[error(transparent)]
    Api(#[from] api::Error),
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// True when the user's input was wrong (a bad URL, token or trace ID): exit code 2.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::InvalidTraceId { .. } => true,
            Error::Api(error) => error.is_bad_input(),
            Error::TraceNotFound(_) | Error::Io(_) => false,
        }
    }
}

/// Runs `traces list` or `traces get` on stdout.
///
/// # Errors
/// See [`Error`]; [`Error::is_bad_input`] picks the exit code.
pub async fn traces(command: TracesCommand) -> Result<Outcome, CliError> {
    let mut out = std::io::stdout();
    let result = match command {
        TracesCommand::List { client, output } => list(&client, 0, output, &mut out).await,
        TracesCommand::Get { trace_id, client, output } => {
            let colour = style::use_colour(&std::io::stdout());
            get(&client, &trace_id, output, colour, &mut out).await
        }
    };
    result.map_err(|error| CliError::classify(error.is_bad_input(), error))?;
    Ok(Outcome::Passed)
}

/// `traces list`: the most recently updated traces of the `server` (at most `limit`, 0 =
/// the server's default, [`crate::defaults::DEFAULT_LIST_LIMIT`]).
///
/// # Errors
/// A bad URL, token or TLS file, an unreachable or unverified server, a refused call, or a
/// failed write.
pub async fn list(
    server: &ClientArgs,
    limit: usize,
    format: ViewFormat,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let client = server.connect().await?;
    let summaries = client.list(limit).await?;
    match format {
        ViewFormat::Pretty => out.write_all(render::list_pretty(&summaries).as_bytes())?,
        ViewFormat::Json => writeln!(out, "{}", render::list_json(&summaries))?,
    }
    Ok(())
}

/// `traces get TRACE_ID`: the trace as a span waterfall (coloured when `colour`) or as JSON.
///
/// # Errors
/// [`Error::InvalidTraceId`] for text that is not 32 hex digits, [`Error::TraceNotFound`]
/// when the server holds no span of it, and the errors of [`list`].
pub async fn get(
    server: &ClientArgs,
    trace_id: &str,
    format: ViewFormat,
    colour: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let trace = fetch(server, parse_trace_id(trace_id)?).await?;
    match format {
        ViewFormat::Pretty => {
            let options = WaterfallOptions { colour, ..WaterfallOptions::default() };
            out.write_all(waterfall::render(&trace, &options).as_bytes())?
        }
        ViewFormat::Json => writeln!(out, "{}", render::trace_json(&trace))?,
    }
    Ok(())
}

/// A trace ID from user text (32 hex digits, either case).
///
/// # Errors
/// [`Error::InvalidTraceId`].
pub fn parse_trace_id(text: &str) -> Result<TraceId, Error> {
    TraceId::from_hex(text).map_err(|source| Error::InvalidTraceId { text: text.to_string(), source })
}

/// One trace from a running server.
pub(crate) async fn fetch(server: &ClientArgs, trace_id: TraceId) -> Result<Trace, Error> {
    let client = server.connect().await?;
    client.get(trace_id).await?.ok_or(Error::TraceNotFound(trace_id))
}
