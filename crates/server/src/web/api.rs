//! The `/api/v1` handlers. Reads that decode traces run on the blocking pool, so a large
//! trace or a filtered scan never stalls the receivers sharing the runtime. Every body is a
//! `wire` type written straight to bytes with `serde_json::to_vec` (a 10,000-span trace
//! would cost several times as much built as a `serde_json::Value` tree first).

use std::borrow::Cow;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::Web;
// The web API's errors are the edge's; named for this file's handlers.
use crate::error::{EdgeError as ApiError, Path, Query};
use crate::query::TraceRead;
use analyze::{analyze, AnalyzerConfig};
use lang::{Selector, TraceView};
use model::defaults::{DEFAULT_WEB_LIST_LIMIT, MAX_WEB_LIST_LIMIT, WEB_LIST_SCAN_BUDGET};
use model::{SpanId, Trace, TraceId};
use wire::{RecordedRun, RunLine, RunList, Selection, TracePage, TraceSummary};

fn selector_error(text: &str) -> impl FnOnce(lang::Error) -> ApiError + '_ {
    move |source| ApiError::Selector { text: text.to_string(), source }
}

/// `value` as a JSON response body.
fn json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(value).map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(json_bytes(bytes))
}

fn json_bytes(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

fn parse_selector(text: Option<&str>) -> Result<Option<Selector>, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => Selector::parse(text).map(Some).map_err(selector_error(text)),
    }
}

fn parse_trace_id(text: &str) -> Result<TraceId, ApiError> {
    TraceId::from_hex(text).map_err(ApiError::TraceId)
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| ApiError::Internal(error.to_string()))
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    service: Option<String>,
    selector: Option<String>,
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<u64>,
    /// The search form's fields: a span with this name...
    operation: Option<String>,
    /// ... and these attributes, as Tempo's `tags=` (`http.status_code=500 db.system=pg`)...
    tags: Option<String>,
    /// ... in a trace this long at least / at most (`100ms`, `2s`)...
    min_duration: Option<String>,
    max_duration: Option<String>,
    /// ... started at or after / before these Unix milliseconds...
    start: Option<u64>,
    end: Option<u64>,
    /// ... and with a span in error.
    #[serde(default)]
    errors: bool,
}

/// What the search form asks of a trace beyond the service and selector: its fields
/// compiled to one TraceQL query by the query APIs' own [`Filters`](crate::query::search::Filters)
/// (so the form, Tempo's search and MCP's mean the same), and the time range.
struct Search {
    query: Option<Selector>,
    /// Unix nanoseconds the trace's start must be within.
    start: u64,
    end: u64,
}

impl Search {
    fn parse(query: &ListQuery) -> Result<Search, ApiError> {
        use crate::query::search::{parse_logfmt, parse_query, Filters};
        let duration = |name: &str, text: Option<&str>| -> Result<Option<std::time::Duration>, ApiError> {
            match text.map(str::trim).filter(|text| !text.is_empty()) {
                None => Ok(None),
                Some(text) => humantime::parse_duration(text).map(Some).map_err(|error| {
                    ApiError::Query(format!(
                        "{name}={text:?}: {error} (expected a duration such as 100ms or 2s)"
                    ))
                }),
            }
        };
        let mut filters = Filters {
            operation: query.operation.clone().filter(|text| !text.trim().is_empty()),
            min_duration: duration("min_duration", query.min_duration.as_deref())?,
            max_duration: duration("max_duration", query.max_duration.as_deref())?,
            traceql: query.errors.then(|| "{ status = error }".to_string()),
            ..Filters::default()
        };
        if let Some(tags) = query.tags.as_deref() {
            parse_logfmt(tags, &mut filters)?;
        }
        let asked = filters.operation.is_some()
            || filters.service.is_some()
            || !filters.attributes.is_empty()
            || filters.min_duration.is_some()
            || filters.max_duration.is_some()
            || filters.traceql.is_some();
        let query_text = filters.to_traceql()?;
        let to_nanos = |ms: u64| ms.saturating_mul(1_000_000);
        Ok(Search {
            query: if asked { Some(parse_query(&query_text, &query_text)?) } else { None },
            start: query.start.map_or(0, to_nanos),
            end: query.end.map_or(u64::MAX, to_nanos),
        })
    }

    fn is_empty(&self) -> bool {
        self.query.is_none() && self.start == 0 && self.end == u64::MAX
    }

    fn admits(&self, trace: &Trace, view: &TraceView<'_>) -> bool {
        let start = trace.time_range().map_or(0, |(start, _)| start);
        (self.start..self.end).contains(&start)
            && self.query.as_ref().is_none_or(|query| !query.select(view).is_empty())
    }
}

/// `GET /api/v1/traces`: newest first; with `service` or `selector`, only the traces that
/// have a span of a service whose name contains `service` in any case / a span the selector
/// matches (with the matched span IDs); with the search form's fields ([`ListQuery`]),
/// only the traces they find. A trace too large to read whole is listed from its digest
/// alone, and not by a selector or the search form.
/// A filtered page decodes at most [`WEB_LIST_SCAN_BUDGET`] traces and then answers with
/// what it found and a cursor to go on from.
pub(super) async fn list_traces(
    State(web): State<Web>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let selector = parse_selector(query.selector.as_deref())?;
    let search = Search::parse(&query)?;
    // Lower-cased once: the filter is a case-insensitive substring (`front` finds `Frontend`).
    let service = query.service.filter(|service| !service.is_empty()).map(|service| service.to_lowercase());
    let limit = query.limit.unwrap_or(DEFAULT_WEB_LIST_LIMIT).clamp(1, MAX_WEB_LIST_LIMIT);
    let store = web.store.clone();
    let max_spans = web.reads.max_spans();
    let page = blocking(move || {
        let filtered = selector.is_some() || service.is_some() || !search.is_empty();
        let mut traces = Vec::new();
        let mut position = query.cursor;
        let mut scanned = 0usize;
        let mut exhausted = false;
        'pages: while traces.len() < limit {
            let batch = store.newest(position, if filtered { 64 } else { limit - traces.len() });
            if batch.is_empty() {
                exhausted = true;
                break;
            }
            for item in batch {
                position = Some(item.seq);
                // A trace too large to read whole is never decoded for its line, which comes
                // from the store's digest; a selector or the search form, which need its
                // spans, pass it over. It opens in parts (issue 22).
                let line = if store.span_count(item.trace_id).is_some_and(|n_spans| n_spans > max_spans) {
                    if selector.is_some() || !search.is_empty() {
                        continue;
                    }
                    let Some(outline) = store.outline(item.trace_id) else { continue };
                    scanned += 1;
                    outline_line(item.trace_id, outline, service.as_deref())
                } else {
                    // Evicted since the page was read: skip it.
                    let Some(trace) = store.get(item.trace_id) else { continue };
                    scanned += 1;
                    list_line(&trace, service.as_deref(), selector.as_ref(), &search)
                };
                if let Some(line) = line {
                    traces.push(line);
                    if traces.len() == limit {
                        break 'pages;
                    }
                }
                if filtered && scanned >= WEB_LIST_SCAN_BUDGET {
                    break 'pages;
                }
            }
        }
        TracePage { traces, next_cursor: if exhausted { None } else { position }, scanned }
    })
    .await?;
    json(&page)
}

fn list_line(
    trace: &Trace,
    service: Option<&str>,
    selector: Option<&Selector>,
    search: &Search,
) -> Option<TraceSummary> {
    if let Some(service) = service {
        if !trace.spans.iter().any(|span| span.service_name().unwrap_or("").to_lowercase().contains(service))
        {
            return None;
        }
    }
    let view = TraceView::new(trace);
    if !search.admits(trace, &view) {
        return None;
    }
    let mut line = wire::summarize_view(trace, &view);
    if let Some(selector) = selector {
        let matched = matched_ids(selector, &view);
        if matched.is_empty() {
            return None;
        }
        line.matched_span_ids = Some(matched);
    }
    Some(line)
}

/// The list line of a trace too large to read whole, from its digest ([`store::Outline`]):
/// the span that started first stands in for the root.
fn outline_line(trace_id: TraceId, outline: store::Outline, service: Option<&str>) -> Option<TraceSummary> {
    if let Some(service) = service {
        if !outline.services.iter().any(|name| name.to_lowercase().contains(service)) {
            return None;
        }
    }
    Some(TraceSummary {
        trace_id,
        root_name: outline.earliest_name,
        service_name: outline.earliest_service,
        services: outline.services,
        span_count: outline.span_count,
        error_count: outline.error_count,
        start_time_unix_nano: outline.start,
        duration_nanos: outline.end.saturating_sub(outline.start),
        matched_span_ids: None,
    })
}

/// The selected spans' IDs in Tracetest's order, each once.
fn matched_ids(selector: &Selector, view: &TraceView<'_>) -> Vec<SpanId> {
    let mut indexes = selector.select(view);
    let mut seen = std::collections::HashSet::new();
    indexes.retain(|index| seen.insert(*index));
    indexes.into_iter().map(|index| view.spans()[index].span_id()).collect()
}

/// The completeness wait every trace-by-ID read takes (`?wait=30s`), or the run whose view
/// of the trace to read (`?run=N`).
#[derive(Deserialize)]
pub(super) struct WaitQuery {
    wait: Option<String>,
    run: Option<u64>,
}

/// [`WaitQuery`], and the part of the trace to read (`?offset=N&limit=M`).
#[derive(Deserialize)]
pub(super) struct TraceQuery {
    wait: Option<String>,
    run: Option<u64>,
    /// The first span of the part, in the order the spans arrived.
    offset: Option<usize>,
    /// The most spans of the part (lowered to what the read budget holds).
    limit: Option<usize>,
}

/// The trace as the store holds it now, or with `run`, as that recorded run judged it: with
/// the run's `Tracetest trigger` span (never in the store), and still there after the
/// store's TTL took the trace, for as long as the run is kept. Either read takes its share
/// of the read budget.
async fn load_trace(
    web: &Web,
    trace_id: &str,
    wait: Option<&str>,
    run: Option<u64>,
) -> Result<TraceRead, ApiError> {
    let trace_id = parse_trace_id(trace_id)?;
    if let Some(run_id) = run {
        let runs = web.runs.clone();
        let recorded = runs.get(run_id).ok_or(ApiError::RunNotFound(run_id))?;
        // The share is taken before decoding, as for the store's traces: from the span count
        // the run's steps report for the trace (the judged trace, trigger span included).
        let reported = recorded
            .report
            .steps
            .iter()
            .filter(|step| step.trace_id == Some(trace_id))
            .map(|step| step.span_count)
            .max();
        let early = reported.map(|spans| web.reads.admit(spans)).transpose()?;
        let trace =
            blocking(move || runs.trace(run_id, trace_id)).await?.ok_or(ApiError::TraceNotFound(trace_id))?;
        // A trace no step reports (or more spans than reported) is charged once decoded.
        let permit = match early {
            Some(permit) if reported.is_some_and(|spans| trace.spans.len() <= spans) => permit,
            early => {
                drop(early);
                web.reads.admit(trace.spans.len())?
            }
        };
        return Ok(TraceRead { trace, permit, complete: None, warnings: Vec::new() });
    }
    let wait = crate::query::Wait::parse(wait)?;
    crate::query::read_trace(&web.store, &web.reads, trace_id, wait).await
}

/// `GET /api/v1/traces/{id}[?wait=DURATION][?run=N]`, or one part of the trace as the
/// store holds it, `?offset=N&limit=M` ([`crate::query::read_part`]: a trace too large to
/// read whole is read in parts, each charged to the read budget alone).
pub(super) async fn get_trace(
    State(web): State<Web>,
    Path(trace_id): Path<String>,
    Query(query): Query<TraceQuery>,
) -> Result<Response, ApiError> {
    if query.offset.is_some() || query.limit.is_some() {
        if query.wait.is_some() || query.run.is_some() {
            return Err(ApiError::Query(
                "offset= and limit= read a part of the trace as the store holds it now, without wait= or run="
                    .to_string(),
            ));
        }
        let trace_id = parse_trace_id(&trace_id)?;
        let offset = query.offset.unwrap_or(0);
        let limit = query.limit.unwrap_or(model::defaults::MAX_TRACE_PART_SPANS);
        let read = crate::query::read_part(&web.store, &web.reads, trace_id, offset, limit).await?;
        return Ok(crate::reads::streamed(read.permit, "application/json", move |out| {
            let trace = wire::Trace { part: Some(read.part), ..wire::Trace::new(&read.trace) };
            serde_json::to_writer(out, &trace).map_err(std::io::Error::from)
        }));
    }
    let read = load_trace(&web, &trace_id, query.wait.as_deref(), query.run).await?;
    // Written as it is sent: a big trace's JSON is never held whole.
    Ok(crate::reads::streamed(read.permit, "application/json", move |out| {
        serde_json::to_writer(out, &wire::Trace::new(&read.trace)).map_err(std::io::Error::from)
    }))
}

#[derive(Deserialize)]
pub(super) struct SelectQuery {
    #[serde(default)]
    selector: String,
    wait: Option<String>,
    run: Option<u64>,
}

/// `GET /api/v1/traces/{id}/select?selector=S`: the span IDs a spec with that selector
/// would select.
pub(super) async fn select(
    State(web): State<Web>,
    Path(trace_id): Path<String>,
    Query(query): Query<SelectQuery>,
) -> Result<Response, ApiError> {
    let selector = Selector::parse(&query.selector).map_err(selector_error(&query.selector))?;
    let read = load_trace(&web, &trace_id, query.wait.as_deref(), query.run).await?;
    let matched = blocking(move || matched_ids(&selector, &TraceView::new(&read.trace))).await?;
    json(&Selection { selector: Cow::Borrowed(&query.selector), matched_span_ids: matched })
}

/// `GET /api/v1/traces/{id}/analysis`: the analyzer's result with Tracetest's default rules.
pub(super) async fn analysis(
    State(web): State<Web>,
    Path(trace_id): Path<String>,
    Query(query): Query<WaitQuery>,
) -> Result<Response, ApiError> {
    let read = load_trace(&web, &trace_id, query.wait.as_deref(), query.run).await?;
    let result = blocking(move || analyze(&read.trace, &AnalyzerConfig::default())).await?;
    json(&result)
}

#[derive(Deserialize)]
pub(super) struct DiffQuery {
    a: String,
    b: String,
    /// The recorded run whose view of trace `a` to read, as `?run=` on a trace.
    run_a: Option<u64>,
    run_b: Option<u64>,
}

/// `GET /api/v1/diff?a=A&b=B[&run_a=N][&run_b=N]`: the two traces as one merged tree
/// ([`wire::TraceDiff`]), each read as the store holds it or as a run judged it.
pub(super) async fn diff(
    State(web): State<Web>,
    Query(query): Query<DiffQuery>,
) -> Result<Response, ApiError> {
    let a = load_trace(&web, &query.a, None, query.run_a).await?;
    let b = load_trace(&web, &query.b, None, query.run_b).await?;
    let bytes = blocking(move || serde_json::to_vec(&wire::diff(&a.trace, &b.trace))).await?;
    Ok(json_bytes(bytes.map_err(|error| ApiError::Internal(error.to_string()))?))
}

/// `GET /api/v1/runs`: recorded runs, newest first.
pub(super) async fn list_runs(State(web): State<Web>) -> Result<Response, ApiError> {
    let runs = web.runs.list();
    json(&RunList { runs: runs.iter().map(|run| RunLine::of(run)).collect(), dropped: web.runs.dropped() })
}

/// `GET /api/v1/runs/{id}`: one run with its whole JSON report.
pub(super) async fn get_run(State(web): State<Web>, Path(run_id): Path<u64>) -> Result<Response, ApiError> {
    let run = web.runs.get(run_id).ok_or(ApiError::RunNotFound(run_id))?;
    json::<RecordedRun<'_>>(&run)
}
