//! The `/api/v1` handlers. Reads that decode traces run on the blocking pool, so a large
//! trace or a filtered scan never stalls the receivers sharing the runtime.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::json::{service_of, summary_json, trace_json};
use super::{RecordedRun, Web};
// The web API's errors are the edge's; named for this file's handlers.
use crate::error::{EdgeError as ApiError, Path, Query};
use analyze::{analyze, AnalyzerConfig};
use lang::{Selector, TraceView};
use model::defaults::{DEFAULT_WEB_LIST_LIMIT, MAX_WEB_LIST_LIMIT, WEB_LIST_SCAN_BUDGET};
use model::{Trace, TraceId};

fn selector_error(text: &str) -> impl FnOnce(lang::Error) -> ApiError + '_ {
    move |source| ApiError::Selector { text: text.to_string(), source }
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
}

/// `GET /api/v1/traces`: newest first; with `service` or `selector`, only the traces that
/// have a span of that service / a span the selector matches (with the matched span IDs).
/// A filtered page decodes at most [`WEB_LIST_SCAN_BUDGET`] traces and then answers with
/// what it found and a cursor to go on from.
pub(super) async fn list_traces(
    State(web): State<Web>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let selector = parse_selector(query.selector.as_deref())?;
    let service = query.service.filter(|service| !service.is_empty());
    let limit = query.limit.unwrap_or(DEFAULT_WEB_LIST_LIMIT).clamp(1, MAX_WEB_LIST_LIMIT);
    let store = web.store.clone();
    blocking(move || {
        let filtered = selector.is_some() || service.is_some();
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
                // Evicted since the page was read: skip it.
                let Some(trace) = store.get(item.trace_id) else { continue };
                scanned += 1;
                if let Some(line) = list_line(&trace, service.as_deref(), selector.as_ref()) {
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
        let next_cursor = if exhausted { None } else { position };
        Json(json!({ "traces": traces, "next_cursor": next_cursor, "scanned": scanned }))
    })
    .await
}

fn list_line(trace: &Trace, service: Option<&str>, selector: Option<&Selector>) -> Option<Value> {
    let view = TraceView::new(trace);
    if let Some(service) = service {
        if !view.spans().iter().any(|span| service_of(span) == service) {
            return None;
        }
    }
    let mut line = summary_json(trace, &view);
    if let Some(selector) = selector {
        let matched = matched_ids(selector, &view);
        if matched.is_empty() {
            return None;
        }
        line["matched_span_ids"] = json!(matched);
    }
    Some(line)
}

/// The selected spans' IDs in Tracetest's order, each once.
fn matched_ids(selector: &Selector, view: &TraceView<'_>) -> Vec<String> {
    let mut indexes = selector.select(view);
    let mut seen = std::collections::HashSet::new();
    indexes.retain(|index| seen.insert(*index));
    indexes.into_iter().map(|index| view.spans()[index].span_id().to_string()).collect()
}

async fn load_trace(web: &Web, trace_id: &str) -> Result<Trace, ApiError> {
    let trace_id = parse_trace_id(trace_id)?;
    let store = web.store.clone();
    blocking(move || store.get(trace_id)).await?.ok_or(ApiError::TraceNotFound(trace_id))
}

/// `GET /api/v1/traces/{id}`.
pub(super) async fn get_trace(
    State(web): State<Web>,
    Path(trace_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trace = load_trace(&web, &trace_id).await?;
    Ok(Json(blocking(move || trace_json(&trace)).await?))
}

#[derive(Deserialize)]
pub(super) struct SelectQuery {
    #[serde(default)]
    selector: String,
}

/// `GET /api/v1/traces/{id}/select?selector=S`: the span IDs a spec with that selector
/// would select.
pub(super) async fn select(
    State(web): State<Web>,
    Path(trace_id): Path<String>,
    Query(query): Query<SelectQuery>,
) -> Result<Json<Value>, ApiError> {
    let selector = Selector::parse(&query.selector).map_err(selector_error(&query.selector))?;
    let trace = load_trace(&web, &trace_id).await?;
    let matched = blocking(move || matched_ids(&selector, &TraceView::new(&trace))).await?;
    Ok(Json(json!({ "selector": query.selector, "matched_span_ids": matched })))
}

/// `GET /api/v1/traces/{id}/analysis`: the analyzer's result with Tracetest's default rules.
pub(super) async fn analysis(
    State(web): State<Web>,
    Path(trace_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trace = load_trace(&web, &trace_id).await?;
    let result = blocking(move || analyze(&trace, &AnalyzerConfig::default())).await?;
    serde_json::to_value(result).map(Json).map_err(|error| ApiError::Internal(error.to_string()))
}

fn run_line(run: &RecordedRun) -> Value {
    let report = &run.report;
    let steps: Vec<Value> = report
        .steps
        .iter()
        .map(|step| json!({ "name": step.name, "state": step.state, "trace_id": step.trace_id }))
        .collect();
    json!({
        "id": run.id,
        "received_unix_ms": run.received_unix_ms,
        "name": report.name,
        "kind": report.kind,
        "state": report.state,
        "file": report.file,
        "duration_ms": report.duration_ms,
        "steps": steps,
    })
}

/// `GET /api/v1/runs`: recorded runs, newest first.
pub(super) async fn list_runs(State(web): State<Web>) -> Json<Value> {
    let runs: Vec<Value> = web.runs.list().iter().map(|run| run_line(run)).collect();
    Json(json!({ "runs": runs, "dropped": web.runs.dropped() }))
}

/// `GET /api/v1/runs/{id}`: one run with its whole JSON report.
pub(super) async fn get_run(
    State(web): State<Web>,
    Path(run_id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    let run = web.runs.get(run_id).ok_or(ApiError::RunNotFound(run_id))?;
    Ok(Json(json!({ "id": run.id, "received_unix_ms": run.received_unix_ms, "report": run.report })))
}
