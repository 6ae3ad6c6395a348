//! `tracecheck traces list|get|diff`: fetch from a running `tracecheck serve` over the
//! control API and print (the table, waterfall, diff and JSON are rendered by [`report`];
//! the diff itself is [`wire::diff`], which the web UI's compare reads too). With
//! several servers (instances behind a trace-ID load balancer) every one is asked: the lists
//! are merged, and a trace is taken from the instance that holds it.

use std::io::Write;

use super::args::{ClientArgs, TracesCommand, ViewFormat};
use super::{Error as CliError, Outcome};
use model::{IdError, Trace, TraceId};
use report::waterfall::{self, WaterfallOptions};
use report::{style, traces as render};
use server::api;
use wire::TraceSummary;

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
    #[error(transparent)]
    Config(#[from] crate::run::LoadError),
    #[error(transparent)]
    Unsupported(#[from] crate::run::UnsupportedBackend),
    #[error(transparent)]
    Backend(#[from] crate::run::SourceError),
    #[error("`traces list` reads tracecheck servers only; {0} lists its traces in its own UI and API")]
    ListFromBackend(crate::run::Backend),
}

impl Error {
    /// True when the user's input was wrong (a bad URL, token or trace ID): exit code 2.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::InvalidTraceId { .. }
            | Error::Config(_)
            | Error::Unsupported(_)
            | Error::ListFromBackend(_) => true,
            Error::Api(error) => error.is_bad_input(),
            Error::TraceNotFound(_) | Error::Io(_) | Error::Backend(_) => false,
        }
    }
}

/// Runs `traces list`, `traces get` or `traces diff` on stdout.
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
        TracesCommand::Diff { a, b, client, output } => {
            let colour = style::use_colour(&std::io::stdout());
            diff(&client, (&a, &b), output, colour, &mut out).await
        }
    };
    result.map_err(|error| CliError::classify(error.is_bad_input(), error))?;
    Ok(Outcome::Passed)
}

/// `traces list`: the most recently updated traces of `server`'s instances (at most `limit`, 0 = the
/// server's default, [`model::defaults::DEFAULT_LIST_LIMIT`]; with several servers, the
/// limit applies to the merged list).
///
/// # Errors
/// A bad URL, token or TLS file, an unreachable (named) or unverified server, a refused call, or a failed write.
pub async fn list(
    server: &ClientArgs,
    limit: usize,
    format: ViewFormat,
    out: &mut dyn Write,
) -> Result<(), Error> {
    if let Some(backend) = backend(server)? {
        return Err(Error::ListFromBackend(backend));
    }
    let clients = server.connect_all().await?;
    let lists = futures::future::try_join_all(clients.iter().map(|client| client.list(limit))).await?;
    let limit = if limit == 0 { model::defaults::DEFAULT_LIST_LIMIT } else { limit };
    let summaries = merge_newest_first(lists, limit);
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
/// when no server holds a span of it, and the errors of [`list`].
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

/// `traces diff A B`: the two traces compared as one merged tree, for people or as JSON.
///
/// # Errors
/// As [`get`], for either trace (both IDs are checked before anything is fetched).
pub async fn diff(
    server: &ClientArgs,
    (a, b): (&str, &str),
    format: ViewFormat,
    colour: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let (a, b) = (parse_trace_id(a)?, parse_trace_id(b)?);
    let (a, b) = futures::future::try_join(fetch(server, a), fetch(server, b)).await?;
    let diff = wire::diff(&a, &b);
    match format {
        ViewFormat::Pretty => out.write_all(report::diff::diff_pretty(&diff, colour).as_bytes())?,
        ViewFormat::Json => writeln!(out, "{}", report::diff::diff_json(&diff))?,
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

/// One trace from the servers: from the instance that holds it, the others' "not found"
/// being no error. Should several hold spans of it (a router that split the trace), their
/// spans are put together, each span once, so nothing held is hidden.
pub(crate) async fn fetch(server: &ClientArgs, trace_id: TraceId) -> Result<Trace, Error> {
    if let Some(backend) = backend(server)? {
        use crate::run::TraceSource as _;
        let source = crate::run::PolledSource::new(backend, model::defaults::DEFAULT_SETTLE)
            .map_err(crate::run::SourceError::from)?;
        return source.get(trace_id).await?.ok_or(Error::TraceNotFound(trace_id));
    }
    let clients = server.connect_all().await?;
    let found = futures::future::try_join_all(clients.iter().map(|client| client.get(trace_id))).await?;
    let mut parts = found.into_iter().flatten();
    let mut trace = parts.next().ok_or(Error::TraceNotFound(trace_id))?;
    for part in parts {
        for span in part.spans {
            if trace.span(span.span_id).is_none() {
                trace.spans.push(span);
            }
        }
    }
    Ok(trace)
}

/// The Jaeger or Tempo a DataStore among `--config` names, if any (an `otlp` one means the
/// servers, as without it).
fn backend(server: &ClientArgs) -> Result<Option<crate::run::Backend>, Error> {
    if server.config.is_empty() {
        return Ok(None);
    }
    let inputs = crate::run::load(&[], &server.config, None, None)?;
    match &inputs.provisioning.data_store {
        Some(store) => Ok(crate::run::Backend::of(store)?),
        None => Ok(None),
    }
}

/// Each instance's list is newest first already; the merge keeps every list's own order and
/// takes, at each step, the head whose trace ended last (the summaries carry no update
/// time, and a trace's end is when its last span was made), up to `limit`.
fn merge_newest_first(lists: Vec<Vec<TraceSummary>>, limit: usize) -> Vec<TraceSummary> {
    let end = |summary: &TraceSummary| summary.start_time_unix_nano.saturating_add(summary.duration_nanos);
    let mut lists: Vec<std::iter::Peekable<std::vec::IntoIter<TraceSummary>>> =
        lists.into_iter().map(|list| list.into_iter().peekable()).collect();
    let mut merged = Vec::new();
    while merged.len() < limit {
        let newest = lists
            .iter_mut()
            .enumerate()
            .filter_map(|(i, list)| list.peek().map(|head| (end(head), std::cmp::Reverse(i))))
            .max()
            .map(|(_, std::cmp::Reverse(i))| i);
        match newest.and_then(|i| lists[i].next()) {
            Some(summary) => merged.push(summary),
            None => break,
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: u8, start: u64, duration: u64) -> TraceSummary {
        TraceSummary {
            trace_id: TraceId([id; 16]),
            root_name: String::new(),
            service_name: String::new(),
            services: Vec::new(),
            span_count: 1,
            error_count: 0,
            start_time_unix_nano: start,
            duration_nanos: duration,
            matched_span_ids: None,
        }
    }

    fn ids(list: &[TraceSummary]) -> Vec<u8> {
        list.iter().map(|summary| summary.trace_id.0[0]).collect()
    }

    #[test]
    fn lists_merge_newest_first_and_the_limit_applies_after() {
        let a = vec![summary(1, 90, 10), summary(2, 50, 0)];
        let b = vec![summary(3, 70, 5), summary(4, 10, 0)];
        let c = vec![summary(5, 95, 10)];
        let merged = merge_newest_first(vec![a.clone(), b.clone(), c], 10);
        assert_eq!(ids(&merged), [5, 1, 3, 2, 4]);
        assert_eq!(ids(&merge_newest_first(vec![a.clone(), b], 3)), [1, 3, 2]);
        // One instance: its own order, whatever the times say.
        let out_of_time_order = vec![summary(2, 50, 0), summary(1, 90, 10)];
        assert_eq!(ids(&merge_newest_first(vec![out_of_time_order], 10)), [2, 1]);
        assert!(merge_newest_first(vec![Vec::new(), Vec::new()], 10).is_empty());
    }
}
