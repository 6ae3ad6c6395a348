//! MCP (the Model Context Protocol) over Streamable HTTP at `/mcp`: the JSON-RPC 2.0
//! envelope the endpoint answers with, the results of `initialize`, `tools/list` and
//! `tools/call`, and the JSON each tool returns as its text content.
//!
//! ```json
//! {"jsonrpc": "2.0", "id": 3, "result": {"content": [{"type": "text",
//!   "text": "{\"query\":\"{ resource.service.name = \\\"users\\\" }\",\"traces\":[...],\"scanned\":40}"}],
//!   "isError": false}}
//! ```
//!
//! A tool that fails on its input (an unknown trace, a bad selector) answers a result with
//! `"isError": true` and the reason as text, as MCP asks, so the agent reads why; a request
//! the endpoint cannot take at all is a JSON-RPC `error` (`-32700` parse error, `-32600`
//! invalid request, `-32601` unknown method, `-32602` bad params).

use std::borrow::Cow;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::{Attributes, SpanKind, StatusCode, TraceSummary};
use model::{SpanId, TraceId};

/// A JSON-RPC request ID, echoed back as it came.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RpcId {
    Number(i64),
    Text(String),
}

/// A successful JSON-RPC answer.
#[derive(Serialize)]
pub struct RpcResult<'a, T> {
    pub jsonrpc: &'static str,
    pub id: &'a RpcId,
    pub result: T,
}

/// A failed JSON-RPC request.
#[derive(Serialize)]
pub struct RpcError<'a> {
    pub jsonrpc: &'static str,
    /// Null when the request's ID could not be read.
    pub id: Option<&'a RpcId>,
    pub error: RpcErrorBody,
}

#[derive(Serialize)]
pub struct RpcErrorBody {
    pub code: i32,
    pub message: String,
}

/// The answer to `initialize`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult<'a> {
    pub protocol_version: &'a str,
    pub capabilities: Capabilities,
    pub server_info: ServerInfo,
    pub instructions: &'static str,
}

/// Tools only, and a list that never changes.
#[derive(Serialize)]
pub struct Capabilities {
    pub tools: ToolsCapability,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolsCapability {
    pub list_changed: bool,
}

#[derive(Serialize)]
pub struct ServerInfo {
    pub name: &'static str,
    pub version: &'static str,
}

/// The answer to `ping` and other requests with nothing to say: `{}`.
#[derive(Serialize)]
pub struct Empty {}

/// The answer to `tools/list`.
#[derive(Serialize)]
pub struct ToolList<'a> {
    pub tools: &'a [Tool],
}

/// One tool: its name, what it returns and its limits, and its arguments.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    pub name: &'static str,
    pub title: &'static str,
    pub description: String,
    pub input_schema: InputSchema,
    pub annotations: ToolAnnotations,
}

/// Every tool reads; none writes or reaches outside the server.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolAnnotations {
    pub read_only_hint: bool,
    pub open_world_hint: bool,
}

/// A tool's arguments as a JSON Schema object: `{"type": "object", "properties": {...},
/// "required": [...]}`.
pub struct InputSchema {
    pub properties: Vec<Property>,
    pub required: &'static [&'static str],
}

/// One argument.
#[derive(Clone)]
pub struct Property {
    pub name: &'static str,
    /// `string`, `integer`, or `object` (an object of string values: attributes).
    pub kind: &'static str,
    pub description: &'static str,
}

impl Serialize for InputSchema {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Properties<'a>(&'a [Property]);
        impl Serialize for Properties<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for property in self.0 {
                    map.serialize_entry(property.name, property)?;
                }
                map.end()
            }
        }
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("type", "object")?;
        map.serialize_entry("properties", &Properties(&self.properties))?;
        map.serialize_entry("required", self.required)?;
        map.end()
    }
}

impl Serialize for Property {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct StringValues {
            #[serde(rename = "type")]
            kind: &'static str,
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", self.kind)?;
        map.serialize_entry("description", self.description)?;
        if self.kind == "object" {
            map.serialize_entry("additionalProperties", &StringValues { kind: "string" })?;
        }
        map.end()
    }
}

/// The answer to `tools/call`: one text content holding the tool's JSON (or, with
/// `is_error`, why it failed).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToolResult {
    pub content: [TextContent; 1],
    pub is_error: bool,
}

#[derive(Serialize)]
pub struct TextContent {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: String,
}

impl CallToolResult {
    pub fn text(text: String, is_error: bool) -> Self {
        CallToolResult { content: [TextContent { kind: "text", text }], is_error }
    }
}

/// `list_services`: each service seen in the newest traces, with its operations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceList {
    pub services: Vec<ServiceOperations>,
    /// Traces read (the newest first, up to the scan budget).
    pub scanned: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceOperations {
    pub service: String,
    /// Span names, sorted, each once.
    pub operations: Vec<String>,
}

/// `search_traces`: the TraceQL query the filters compiled to, and the traces found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchResult<'a> {
    pub query: Cow<'a, str>,
    /// Newest first, each with the span IDs the query matched.
    pub traces: Vec<TraceSummary>,
    pub scanned: usize,
    /// Whether the scan stopped at its budget or the limit before the store's end.
    pub more: bool,
}

/// `get_trace` and `wait_for_trace`: a bounded view of one trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceDigest<'a> {
    pub summary: TraceSummary,
    /// With a wait: whether the trace was judged complete; null without one.
    pub complete: Option<bool>,
    /// Why the trace may be incomplete.
    pub warnings: Vec<String>,
    /// The critical path from the root: at each span, the child that ends last.
    pub critical_path: Vec<SpanId>,
    /// How many spans the answer leaves out (past `max_spans`).
    pub omitted_spans: usize,
    /// Error spans first, then the critical path, then the rest in tree order.
    pub spans: Vec<SpanBrief<'a>>,
}

/// `select_spans`: the spans a selector or TraceQL query selects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpanSelection<'a> {
    pub trace_id: TraceId,
    pub selector: Cow<'a, str>,
    /// How many spans it selects.
    pub matched: usize,
    /// The first `max_spans` of them, in the languages' order.
    pub spans: Vec<SpanBrief<'a>>,
}

/// One span, compact: what an agent needs to reason about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpanBrief<'a> {
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub name: Cow<'a, str>,
    pub service: Cow<'a, str>,
    pub kind: SpanKind,
    pub status: StatusCode,
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub status_message: Cow<'a, str>,
    pub start_time_unix_nano: u64,
    pub duration_nanos: u64,
    pub attributes: Attributes<'a>,
    /// Event names (`exception`, ...), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Cow<'a, str>>,
}

impl<'a> SpanBrief<'a> {
    pub fn of(span: &'a model::Span) -> Self {
        SpanBrief {
            span_id: span.span_id,
            parent_span_id: span.parent_span_id,
            name: Cow::Borrowed(&span.name),
            service: Cow::Borrowed(span.service_name().unwrap_or("")),
            kind: span.kind.into(),
            status: span.status.code.into(),
            status_message: Cow::Borrowed(&span.status.message),
            start_time_unix_nano: span.start_time_unix_nano,
            duration_nanos: span.duration_nanos(),
            attributes: Attributes::borrowed(&span.attributes),
            events: span.events().iter().map(|event| Cow::Borrowed(&*event.name)).collect(),
        }
    }
}
