//! MCP for agents over Streamable HTTP at `path` (on the HTTP port, behind the bearer
//! layer): a coding agent lists services, searches traces, reads a bounded view of one,
//! selects spans, runs the analyzer, waits for a trace to be complete and reads recorded
//! runs. The tools are in `TOOLS`, each description saying what it returns and its limits.
//!
//! The transport is the subset of Streamable HTTP (MCP 2025-03-26 and later) that tools
//! need, written here rather than with the official `rmcp` SDK, which would raise the
//! workspace's Rust version to 1.88 and add 17 crates to the binary for what is one POST
//! route (COMPATIBILITY.md): each `POST` carries one JSON-RPC message; a request is answered with
//! one `application/json` JSON-RPC response, a notification with `202 Accepted` and no
//! body. The server keeps no session (no `Mcp-Session-Id`) and offers no server-to-client
//! stream, so `GET` is 405, which the protocol allows and clients expect.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::LazyLock;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::search::{self, Filters, SearchRequest};
use super::{blocking, read_trace, TraceRead, Wait};
use crate::error::EdgeError;
use crate::reads::ReadBudget;
use crate::runs::RunStore;
use crate::Handles;
use analyze::{analyze, AnalyzerConfig};
use lang::{Selector, TraceView};
use model::defaults::MAX_READ_WAIT;
use model::TraceId;
use store::TraceStore;
use wire::mcp::{
    CallToolResult, Capabilities, Empty, InitializeResult, InputSchema, Property, RpcError, RpcErrorBody,
    RpcId, RpcResult, SearchResult, ServerInfo, ServiceList, ServiceOperations, SpanBrief, SpanSelection,
    Tool, ToolAnnotations, ToolList, ToolsCapability, TraceDigest,
};

/// Spans a trace view carries unless the agent asks for fewer or more.
const DEFAULT_SPANS: usize = 100;
/// The most spans one answer carries.
const MAX_SPANS: usize = 1_000;
/// Traces a search answers unless asked otherwise, and at most.
const DEFAULT_TRACES: usize = 20;
const MAX_TRACES: usize = 100;
/// Matched span IDs listed per trace in a search answer.
const MAX_MATCHED_IDS: usize = 20;
/// The wait of `wait_for_trace` unless the agent names one.
const DEFAULT_WAIT: Duration = Duration::from_secs(30);
/// The newest MCP revision this endpoint speaks; an older one a client asks for is
/// answered in kind (the tools are the same in every revision).
const PROTOCOL_VERSION: &str = "2025-06-18";
const KNOWN_VERSIONS: [&str; 3] = ["2024-11-05", "2025-03-26", "2025-06-18"];

#[derive(Clone)]
struct Mcp {
    store: TraceStore,
    reads: ReadBudget,
    runs: RunStore,
}

/// The MCP endpoint at `path`.
pub(crate) fn router(handles: &Handles, path: &str) -> Router {
    // Only POST: axum answers any other method 405.
    Router::new().route(path, post(handle)).with_state(Mcp {
        store: handles.store.clone(),
        reads: handles.reads.clone(),
        runs: handles.runs.clone(),
    })
}

/// One JSON-RPC message from the client.
#[derive(Deserialize)]
struct RpcMessage {
    /// Absent on a notification (and on a response to a server request, which this server
    /// never makes).
    id: Option<RpcId>,
    method: Option<String>,
    #[serde(default)]
    params: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct InitializeParams {
    #[serde(rename = "protocolVersion", default)]
    protocol_version: String,
}

#[derive(Deserialize)]
struct CallParams {
    name: String,
    #[serde(default)]
    arguments: Option<serde_json::Value>,
}

fn body<T: Serialize>(value: &T) -> Response {
    match super::json(value) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn rpc_error(id: Option<&RpcId>, code: i32, message: String) -> Response {
    body(&RpcError { jsonrpc: "2.0", id, error: RpcErrorBody { code, message } })
}

/// A message's `params` (or a call's `arguments`) as `T`; absent reads as `{}`.
fn params<T: DeserializeOwned>(params: Option<serde_json::Value>) -> Result<T, serde_json::Error> {
    serde_json::from_value(params.unwrap_or_else(|| serde_json::Value::Object(Default::default())))
}

async fn handle(State(mcp): State<Mcp>, request: Bytes) -> Response {
    let message: RpcMessage = match serde_json::from_slice(&request) {
        Ok(message) => message,
        Err(error) => {
            return rpc_error(None, -32700, format!("parse error: {error} (one JSON-RPC message per POST)"))
        }
    };
    let (Some(id), Some(method)) = (message.id, message.method) else {
        // A notification (`notifications/initialized`, ...) or a response: taken, nothing
        // to answer. 202 is the transport's own answer for these, not an error.
        return http::StatusCode::ACCEPTED.into_response();
    };
    match method.as_str() {
        "initialize" => {
            let requested =
                params::<InitializeParams>(message.params).map(|p| p.protocol_version).unwrap_or_default();
            let version =
                KNOWN_VERSIONS.iter().find(|known| **known == requested).copied().unwrap_or(PROTOCOL_VERSION);
            body(&RpcResult {
                jsonrpc: "2.0",
                id: &id,
                result: InitializeResult {
                    protocol_version: version,
                    capabilities: Capabilities { tools: ToolsCapability { list_changed: false } },
                    server_info: ServerInfo { name: "tracecheck", version: env!("CARGO_PKG_VERSION") },
                    instructions: INSTRUCTIONS,
                },
            })
        }
        "ping" => body(&RpcResult { jsonrpc: "2.0", id: &id, result: Empty {} }),
        "tools/list" => body(&RpcResult { jsonrpc: "2.0", id: &id, result: ToolList { tools: &TOOLS } }),
        "tools/call" => match params::<CallParams>(message.params) {
            Ok(call) => {
                let result = match call_tool(&mcp, &call.name, call.arguments).await {
                    Ok(text) => CallToolResult::text(text, false),
                    Err(ToolError::Unknown) => {
                        return rpc_error(Some(&id), -32602, format!("unknown tool {:?}", call.name));
                    }
                    Err(ToolError::Failed(error)) => CallToolResult::text(error, true),
                };
                body(&RpcResult { jsonrpc: "2.0", id: &id, result })
            }
            Err(error) => rpc_error(Some(&id), -32602, format!("bad params: {error}")),
        },
        other => rpc_error(Some(&id), -32601, format!("method {other:?} not found")),
    }
}

const INSTRUCTIONS: &str = "tracecheck holds OpenTelemetry traces in memory. Start with list_services or \
search_traces (TraceQL or service/operation/attribute filters), read one trace with get_trace (bounded: errors \
and the critical path first), narrow it with select_spans, lint it with analyze_trace. wait_for_trace returns once \
a trace is complete (no missing parents, no new spans for 500 ms). list_runs and get_run read the test runs \
`tracecheck run --server` recorded.";

/// Why a tool call failed.
enum ToolError {
    /// No such tool: a protocol error.
    Unknown,
    /// The tool's own failure (bad input, unknown trace): told to the agent as a result.
    Failed(String),
}

impl From<EdgeError> for ToolError {
    fn from(error: EdgeError) -> Self {
        ToolError::Failed(error.to_string())
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, ToolError> {
    serde_json::to_string(value).map_err(|error| ToolError::Failed(error.to_string()))
}

fn arguments<T: DeserializeOwned>(arguments: Option<serde_json::Value>) -> Result<T, ToolError> {
    params(arguments).map_err(|error| ToolError::Failed(format!("bad arguments: {error}")))
}

fn trace_id(text: &str) -> Result<TraceId, EdgeError> {
    TraceId::from_hex(text.trim()).map_err(EdgeError::TraceId)
}

fn span_limit(requested: Option<usize>) -> usize {
    requested.unwrap_or(DEFAULT_SPANS).clamp(1, MAX_SPANS)
}

#[derive(Deserialize)]
struct ServicesArgs {
    service: Option<String>,
}

#[derive(Deserialize)]
struct SearchArgs {
    service: Option<String>,
    operation: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    min_duration: Option<String>,
    max_duration: Option<String>,
    traceql: Option<String>,
    since: Option<String>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct TraceArgs {
    trace_id: String,
    max_spans: Option<usize>,
    wait: Option<String>,
}

#[derive(Deserialize)]
struct SelectArgs {
    trace_id: String,
    selector: String,
    max_spans: Option<usize>,
}

#[derive(Deserialize)]
struct AnalyzeArgs {
    trace_id: String,
}

#[derive(Deserialize)]
struct WaitArgs {
    trace_id: String,
    timeout: Option<String>,
    max_spans: Option<usize>,
}

#[derive(Deserialize)]
struct RunArgs {
    run_id: u64,
}

async fn call_tool(mcp: &Mcp, name: &str, args: Option<serde_json::Value>) -> Result<String, ToolError> {
    match name {
        "list_services" => {
            let args: ServicesArgs = arguments(args)?;
            let store = mcp.store.clone();
            let list = blocking(move || list_services(&store, args.service.as_deref())).await?;
            to_json(&list)
        }
        "search_traces" => search_traces(mcp, arguments(args)?).await,
        "get_trace" => {
            let args: TraceArgs = arguments(args)?;
            let read = read_trace(
                &mcp.store,
                &mcp.reads,
                trace_id(&args.trace_id)?,
                Wait::parse(args.wait.as_deref())?,
            )
            .await?;
            let limit = span_limit(args.max_spans);
            blocking(move || to_json(&digest(&read, limit))).await?
        }
        "select_spans" => {
            let args: SelectArgs = arguments(args)?;
            let selector = Selector::parse(&args.selector)
                .map_err(|source| EdgeError::Selector { text: args.selector.clone(), source })?;
            let read = read_trace(&mcp.store, &mcp.reads, trace_id(&args.trace_id)?, Wait(None)).await?;
            let limit = span_limit(args.max_spans);
            blocking(move || {
                let view = TraceView::new(&read.trace);
                let matched = search::selected_ids(&selector, &view);
                to_json(&SpanSelection {
                    trace_id: read.trace.trace_id,
                    selector: Cow::Borrowed(&args.selector),
                    matched: matched.len(),
                    spans: matched
                        .iter()
                        .filter_map(|id| read.trace.span(*id))
                        .take(limit)
                        .map(SpanBrief::of)
                        .collect(),
                })
            })
            .await?
        }
        "analyze_trace" => {
            let args: AnalyzeArgs = arguments(args)?;
            let read = read_trace(&mcp.store, &mcp.reads, trace_id(&args.trace_id)?, Wait(None)).await?;
            blocking(move || {
                let result = analyze(&read.trace, &AnalyzerConfig::default());
                to_json(&wire::TraceAnalysis { trace_id: read.trace.trace_id, analyzer: Cow::Owned(result) })
            })
            .await?
        }
        "wait_for_trace" => {
            let args: WaitArgs = arguments(args)?;
            let timeout = match args.timeout.as_deref() {
                None => Wait(Some(DEFAULT_WAIT)),
                text => Wait::parse(text)?,
            };
            let read = read_trace(&mcp.store, &mcp.reads, trace_id(&args.trace_id)?, timeout).await?;
            let limit = span_limit(args.max_spans);
            blocking(move || to_json(&digest(&read, limit))).await?
        }
        "list_runs" => {
            let runs = mcp.runs.list();
            to_json(&wire::RunList {
                runs: runs.iter().map(|run| wire::RunLine::of(run)).collect(),
                dropped: mcp.runs.dropped(),
            })
        }
        "get_run" => {
            let args: RunArgs = arguments(args)?;
            let run = mcp.runs.get(args.run_id).ok_or(EdgeError::RunNotFound(args.run_id))?;
            to_json::<wire::RecordedRun<'_>>(&run)
        }
        _ => Err(ToolError::Unknown),
    }
}

fn list_services(store: &TraceStore, only: Option<&str>) -> ServiceList {
    let mut services: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let (scanned, _) = search::scan_newest(store, |trace| {
        for span in &trace.spans {
            let service = span.service_name().unwrap_or("");
            if only.is_none_or(|only| only == service) {
                services.entry(service.to_string()).or_default().insert(span.name.to_string());
            }
        }
        ControlFlow::Continue(())
    });
    ServiceList {
        services: services
            .into_iter()
            .map(|(service, operations)| ServiceOperations {
                service,
                operations: operations.into_iter().collect(),
            })
            .collect(),
        scanned,
    }
}

async fn search_traces(mcp: &Mcp, args: SearchArgs) -> Result<String, ToolError> {
    let filters = Filters {
        service: args.service,
        operation: args.operation,
        attributes: args.attributes.into_iter().collect(),
        min_duration: search::parse_duration("min_duration", args.min_duration.as_deref())?,
        max_duration: search::parse_duration("max_duration", args.max_duration.as_deref())?,
        traceql: args.traceql,
    };
    let since = search::parse_duration("since", args.since.as_deref())?;
    let query = filters.to_traceql()?;
    let selector = search::parse_query(&query, &query)?;
    let start_unix_nano = since.map(|since| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        u64::try_from(now.saturating_sub(since).as_nanos()).unwrap_or(u64::MAX)
    });
    let request = SearchRequest {
        selector,
        start_unix_nano,
        end_unix_nano: None,
        limit: args.limit.unwrap_or(DEFAULT_TRACES).clamp(1, MAX_TRACES),
    };
    let store = mcp.store.clone();
    blocking(move || {
        let outcome = search::search(&store, &request);
        let traces = outcome
            .hits
            .iter()
            .map(|hit| {
                let mut line = wire::summarize(&hit.trace);
                line.matched_span_ids = Some(hit.matched.iter().take(MAX_MATCHED_IDS).copied().collect());
                line
            })
            .collect();
        to_json(&SearchResult {
            query: Cow::Borrowed(&query),
            traces,
            scanned: outcome.scanned,
            more: outcome.more,
        })
    })
    .await?
}

/// A bounded view of a trace: error spans first, then the critical path, then the rest in
/// tree order, `limit` spans at most.
fn digest(read: &TraceRead, limit: usize) -> TraceDigest<'_> {
    let trace = &read.trace;
    let view = TraceView::new(trace);
    let critical = critical_path(&view);
    let spans = view.spans();
    let mut order: Vec<usize> = Vec::with_capacity(spans.len());
    let mut taken = vec![false; spans.len()];
    let errors =
        (0..spans.len()).filter(|&index| spans[index].span().status.code == model::StatusCode::Error);
    for index in errors.chain(critical.iter().copied()).chain(0..spans.len()) {
        if !taken[index] {
            taken[index] = true;
            order.push(index);
        }
    }
    TraceDigest {
        summary: wire::summarize_view(trace, &view),
        complete: read.complete,
        warnings: read.warnings.clone(),
        critical_path: critical.iter().map(|&index| spans[index].span_id()).collect(),
        omitted_spans: order.len().saturating_sub(limit),
        spans: order.into_iter().take(limit).map(|index| SpanBrief::of(spans[index].span())).collect(),
    }
}

/// The critical path as indexes into the view's spans: from the root, at each span the
/// child that ends last (the one its end waited for).
fn critical_path(view: &TraceView<'_>) -> Vec<usize> {
    let spans = view.spans();
    let mut path = Vec::new();
    let mut at = if spans.is_empty() { None } else { Some(0) };
    while let Some(index) = at {
        path.push(index);
        let subtree = view.subtree(index);
        at = (subtree.start + 1..subtree.end)
            .filter(|&child| spans[child].parent_index() == Some(index))
            .max_by_key(|&child| spans[child].span().end_time_unix_nano);
    }
    path
}

/// Every tool, with what it returns and its limits.
static TOOLS: LazyLock<Vec<Tool>> = LazyLock::new(|| {
    let read_only = || ToolAnnotations { read_only_hint: true, open_world_hint: false };
    let trace_id = Property { name: "trace_id", kind: "string", description: "The trace ID: 32 hex digits." };
    let max_spans = Property {
        name: "max_spans",
        kind: "integer",
        description: "How many spans to return (default 100, at most 1000).",
    };
    vec![
        Tool {
            name: "list_services",
            title: "List services and operations",
            description: format!(
                "Lists the services seen in the newest traces (at most {} traces are read), each with its \
                 operations (span names), sorted. Returns {{\"services\": [{{\"service\", \"operations\"}}], \"scanned\"}}.",
                model::defaults::WEB_LIST_SCAN_BUDGET
            ),
            input_schema: InputSchema {
                properties: vec![Property {
                    name: "service",
                    kind: "string",
                    description: "Only this service's operations.",
                }],
                required: &[],
            },
            annotations: read_only(),
        },
        Tool {
            name: "search_traces",
            title: "Search traces",
            description: format!(
                "Finds traces, newest first. The filters (service, operation, attributes, durations) compile to one \
                 TraceQL query, combined with `traceql` when given; the answer shows that query. Reads at most {} \
                 traces; returns at most `limit` (default {DEFAULT_TRACES}, at most {MAX_TRACES}). Returns \
                 {{\"query\", \"traces\": [{{\"trace_id\", \"root_name\", \"service_name\", \"services\", \
                 \"span_count\", \"error_count\", \"start_time_unix_nano\", \"duration_nanos\", \
                 \"matched_span_ids\" (the first {MAX_MATCHED_IDS})}}], \"scanned\", \"more\"}}.",
                model::defaults::WEB_LIST_SCAN_BUDGET
            ),
            input_schema: InputSchema {
                properties: vec![
                    Property { name: "service", kind: "string", description: "The resource's service.name." },
                    Property { name: "operation", kind: "string", description: "A span name." },
                    Property {
                        name: "attributes",
                        kind: "object",
                        description: "Attribute values a span (or its resource) must have, e.g. {\"http.status_code\": \"500\"}.",
                    },
                    Property { name: "min_duration", kind: "string", description: "The trace lasts at least this, e.g. 250ms." },
                    Property { name: "max_duration", kind: "string", description: "The trace lasts at most this, e.g. 2s." },
                    Property {
                        name: "traceql",
                        kind: "string",
                        description: "A TraceQL query, e.g. { status = error } or { span.db.system != nil && duration > 100ms }.",
                    },
                    Property { name: "since", kind: "string", description: "Only traces from the last DURATION, e.g. 15m." },
                    Property { name: "limit", kind: "integer", description: "Most traces to return." },
                ],
                required: &[],
            },
            annotations: read_only(),
        },
        Tool {
            name: "get_trace",
            title: "Get a trace",
            description: format!(
                "Reads one trace as a bounded digest: a summary, the critical path (at each span the child that \
                 ends last), and at most `max_spans` spans (default {DEFAULT_SPANS}, at most {MAX_SPANS}): error \
                 spans first, then the critical path, then the rest in tree order; `omitted_spans` counts the rest. \
                 Each span: span_id, parent_span_id, name, service, kind, status, start_time_unix_nano, \
                 duration_nanos, attributes, event names. With `wait` (e.g. 30s, at most {}) it answers once the \
                 trace is complete, with `complete` and `warnings`.",
                humantime::format_duration(MAX_READ_WAIT)
            ),
            input_schema: InputSchema {
                properties: vec![
                    trace_id.clone(),
                    max_spans.clone(),
                    Property { name: "wait", kind: "string", description: "Wait up to this long for the trace to be complete." },
                ],
                required: &["trace_id"],
            },
            annotations: read_only(),
        },
        Tool {
            name: "select_spans",
            title: "Select spans",
            description: format!(
                "Selects spans of a trace with a Tracetest selector (span[tracetest.span.type=\"http\"]) or a \
                 TraceQL query ({{ status = error }}; one opening with {{ or ( is TraceQL), as a test spec would. \
                 Returns {{\"trace_id\", \"selector\", \"matched\" (how many), \"spans\" (the first `max_spans`, \
                 default {DEFAULT_SPANS}, at most {MAX_SPANS})}}. A bad selector is an error naming its column."
            ),
            input_schema: InputSchema {
                properties: vec![
                    trace_id.clone(),
                    Property { name: "selector", kind: "string", description: "A Tracetest selector or a TraceQL query." },
                    max_spans.clone(),
                ],
                required: &["trace_id", "selector"],
            },
            annotations: read_only(),
        },
        Tool {
            name: "analyze_trace",
            title: "Analyze a trace",
            description: "Lints a trace's instrumentation with Tracetest's analyzer and its default rules (semantic \
                          conventions, span naming, security). Returns {\"trace_id\", \"analyzer\": {\"score\", \
                          \"passed\", \"plugins\": [{\"rules\": [{\"id\", \"passed\", \"results\": [{\"span_id\", \
                          \"errors\"}]}]}]}}."
                .to_string(),
            input_schema: InputSchema { properties: vec![trace_id.clone()], required: &["trace_id"] },
            annotations: read_only(),
        },
        Tool {
            name: "wait_for_trace",
            title: "Wait for a trace",
            description: format!(
                "Waits until a trace is complete by tracecheck's rules (a root, no missing parent, no new span for \
                 500 ms; judged as it is after 5 s without spans) or `timeout` passes (default 30s, at most {}), then \
                 answers like get_trace with `complete` and `warnings` (what was missing). An error when no span \
                 of the trace arrived by then.",
                humantime::format_duration(MAX_READ_WAIT)
            ),
            input_schema: InputSchema {
                properties: vec![
                    trace_id,
                    Property { name: "timeout", kind: "string", description: "How long to wait at most, e.g. 30s." },
                    max_spans,
                ],
                required: &["trace_id"],
            },
            annotations: read_only(),
        },
        Tool {
            name: "list_runs",
            title: "List recorded runs",
            description: "Lists the test runs `tracecheck run --server` recorded, newest first (the server keeps the \
                          last --max-runs, 100 by default). Returns {\"runs\": [{\"id\", \"name\", \"kind\", \"state\", \
                          \"file\", \"duration_ms\", \"steps\": [{\"name\", \"state\", \"trace_id\"}]}], \"dropped\"}."
                .to_string(),
            input_schema: InputSchema { properties: Vec::new(), required: &[] },
            annotations: read_only(),
        },
        Tool {
            name: "get_run",
            title: "Read a recorded run",
            description: "Reads one recorded run: {\"id\", \"received_unix_ms\", \"report\"} with the whole JSON \
                          report (steps, specs, assertions with observed and expected values, outputs, analyzer)."
                .to_string(),
            input_schema: InputSchema {
                properties: vec![Property { name: "run_id", kind: "integer", description: "The run's id (from list_runs)." }],
                required: &["run_id"],
            },
            annotations: read_only(),
        },
    ]
});

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use model::{Span, SpanId, Trace};

    #[test]
    fn the_critical_path_follows_the_child_that_ends_last_and_errors_come_first() {
        let trace_id = TraceId([1; 16]);
        let span = |id: u8, parent: Option<u8>, start: u64, end: u64| {
            let mut span = Span::new(trace_id, SpanId([id; 8]), &format!("s{id}")).with_times(start, end);
            if let Some(parent) = parent {
                span = span.with_parent(SpanId([parent; 8]));
            }
            span
        };
        let failed = span(2, Some(1), 1, 3).with_status(model::StatusCode::Error, "boom");
        let trace = Trace::new(
            trace_id,
            vec![span(1, None, 0, 10), failed, span(3, Some(1), 2, 9), span(4, Some(3), 3, 8)]
                .into_iter()
                .map(Arc::new)
                .collect(),
        );
        let read = TraceRead {
            trace,
            permit: crate::reads::ReadPermit::for_test(),
            complete: None,
            warnings: Vec::new(),
        };
        let digest = digest(&read, 3);
        let path: Vec<SpanId> = [1, 3, 4].map(|id| SpanId([id; 8])).to_vec();
        assert_eq!(digest.critical_path, path);
        let ids: Vec<SpanId> = digest.spans.iter().map(|span| span.span_id).collect();
        assert_eq!(ids, [2, 1, 3].map(|id| SpanId([id; 8])).to_vec());
        assert_eq!(digest.omitted_spans, 1);
    }

    #[test]
    fn every_tool_serializes_with_an_object_schema() {
        let json = serde_json::to_value(ToolList { tools: &TOOLS }).unwrap();
        let tools = json["tools"].as_array().unwrap();
        assert_eq!(tools.len(), 8);
        for tool in tools {
            assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
            assert!(tool["description"].as_str().unwrap().len() > 80, "{tool}");
        }
    }
}
