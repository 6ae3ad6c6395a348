//! The typed JSON shapes every tracecheck surface serializes, in one place (ripgrep's
//! `printer/src/jsont.rs`): the web API (`/api/v1`), its server-sent events, the HTML report's
//! inlined data, `traces list|get --output json`, `analyze --output json` and the JSON report
//! (`run --output json`). The control API's `RecordRun` and `ListTraces` carry the same
//! fields as protobuf, and the Jaeger and Tempo adapters map from these types.
//!
//! Surfaces only fill these structs and hand them to `serde_json::to_vec`: the structs
//! borrow from the model ([`Trace::new`] copies no attribute), so a 10,000-span trace is
//! written straight to bytes, never through a `serde_json::Value` tree. Types a client reads
//! back implement `Deserialize` too (borrowed fields then come back owned).
//!
//! `wire` knows the model and the languages (for tree order and the attribute texts a
//! selector sees); it knows nothing of HTTP, gRPC, the store or how a surface is served.
//!
//! # Where a new JSON field goes
//!
//! In the struct here that the surface serializes, documented on the field; the surfaces
//! pick it up with no code of their own. A field the control API must carry also needs its
//! protobuf field (`proto/tracecheck/v1/control.proto`) and a line in `server::api`'s
//! mapping.
//!
//! # Wire format
//!
//! Common to every shape: trace and span IDs are lower-case hex text (32 and 16 digits);
//! times are integers of Unix nanoseconds (`*_unix_nano`), durations integers of
//! nanoseconds (`*_nanos`) or milliseconds (`*_ms`); an absent optional value is `null`
//! unless the field says it is left out.
//!
//! ## A trace ([`Trace`]): `GET /api/v1/traces/{id}`, `traces get --output json`
//!
//! ```json
//! {"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_count": 2,
//!  "start_time_unix_nano": 1700000000000000000, "end_time_unix_nano": 1700000000012000000,
//!  "spans": [
//!   {"span_id": "b7ad6b7169203331", "parent_span_id": null, "tree_parent_id": null,
//!    "depth": 0, "subtree_end": 2, "name": "POST /users", "service": "users",
//!    "kind": "server", "type": "http", "status": {"code": "unset", "message": ""},
//!    "start_time_unix_nano": 1700000000000000000, "end_time_unix_nano": 1700000000012000000,
//!    "duration_nanos": 12000000,
//!    "attributes": {"http.response.status_code": 201, "http.route": "/users"},
//!    "language_attributes": {"http.response.status_code": "201", "service.name": "users",
//!                            "tracetest.span.duration": "12000000", "...": "..."},
//!    "resource": {"attributes": {"service.name": "users"}},
//!    "scope": {"name": "users-http", "version": "1.0", "attributes": {}},
//!    "events": [{"name": "exception", "time_unix_nano": 1700000000001000000,
//!                "attributes": {"exception.message": "duplicate key"}}],
//!    "links": [{"trace_id": "...", "span_id": "...", "attributes": {}}]},
//!   {"span_id": "00f067aa0ba902b7", "parent_span_id": "b7ad6b7169203331", "...": "..."}]}
//! ```
//!
//! - `spans` are in the languages' tree order: depth first, children by start time, so
//!   span `i`'s subtree is `spans[i..subtree_end]`. `tree_parent_id` is the parent in that
//!   tree (the trigger span adopts orphans); `parent_span_id` is the OTLP parent.
//! - One part of a trace too large to read whole (`?offset=N&limit=M`, [`TracePart`]) adds
//!   `"part": {"offset", "limit", "total_span_count"}`: its spans are those at
//!   `offset..offset + span_count` of the order they arrived in, laid out as a tree of
//!   their own.
//! - `kind`: `server`, `client`, `producer`, `consumer`, `internal` or `unespecified`
//!   (Tracetest's spelling, which `tracetest.span.kind` compares against); `type`:
//!   `tracetest.span.type`; `status.code`: `unset`, `ok` or `error`.
//! - `attributes` (and those of the resource, scope, events and links) are objects with
//!   sorted keys and typed values ([`Attributes`]: bytes as hex, a non-finite double as
//!   `"NaN"`, `"inf"` or `"-inf"`); `language_attributes` are the texts a selector or
//!   assertion reads for each key, meta attributes included.
//!
//! ## A trace's line ([`TraceSummary`]) and lists of them
//!
//! ```json
//! {"trace_id": "0af7651916cd43dd8448eb211c80319c", "root_name": "POST /users",
//!  "service_name": "users", "services": ["db", "users"], "span_count": 7, "error_count": 1,
//!  "start_time_unix_nano": 1700000000000000000, "duration_nanos": 12000000,
//!  "matched_span_ids": ["00f067aa0ba902b7"]}
//! ```
//!
//! `matched_span_ids` is there only when a selector filtered the list. `GET /api/v1/traces`
//! answers a [`TracePage`] (`{"traces": [...], "next_cursor": 41 | null, "scanned": 50}`);
//! `traces list --output json` prints a [`TraceList`] (`{"traces": [...]}`).
//!
//! ## The JSON report ([`RunReport`]): `run --output json`
//!
//! As design.md's "JSON report" (documented field by field in `report::json`); a step's
//! `analyzer` and `gates` are the analyzer's own types ([`analyze::AnalyzerResult`],
//! [`analyze::GateResult`]).
//!
//! ## Runs: `GET /api/v1/runs` and `GET /api/v1/runs/{id}`
//!
//! ```json
//! {"runs": [{"id": 2, "received_unix_ms": 1700000000123, "name": "create and fetch user",
//!            "kind": "Transaction", "state": "FAILED", "file": "tests/user.yaml",
//!            "duration_ms": 1204,
//!            "steps": [{"name": "create user", "state": "PASSED",
//!                       "trace_id": "0af7651916cd43dd8448eb211c80319c"}]}],
//!  "dropped": 0}
//! ```
//!
//! A [`RunList`] of [`RunLine`]s; one run is a [`RecordedRun`]:
//! `{"id": 2, "received_unix_ms": 1700000000123, "report": {...the JSON report...}}`.
//!
//! ## Smaller answers
//!
//! - `GET /api/v1/traces/{id}/select`: [`Selection`],
//!   `{"selector": "span[name=\"db\"]", "matched_span_ids": ["00f067aa0ba902b7"]}`.
//! - every web API error: [`ErrorBody`], `{"error": "bad selector: ...", "column": 11}`
//!   (`column` null unless a selector's syntax is wrong).
//! - server-sent events: `trace.created` and `trace.grown` carry a [`TraceChange`]
//!   (`{"span_count", "trace_id"}`), `run.recorded` a [`RunRecorded`]
//!   (`{"id", "name", "state"}`).
//! - `analyze --output json`: [`TraceAnalysis`], `{"trace_id": ..., "analyzer": {...}}`.
//! - Jaeger's HTTP JSON API and api_v3: [`jaeger`], documented there; traces as OTLP JSON
//!   (api_v3's `result`): [`OtlpTraces`].
//! - Grafana Tempo's API (`/tempo/api/...`, `--tempo-addr`): the shapes of [`tempo`], as
//!   Tempo writes them (camelCase, base64 IDs in a trace, 64-bit integers as strings).
//! - MCP (`/mcp`): the JSON-RPC envelope and each tool's answer, in [`mcp`].
//! - trace compare, `GET /api/v1/diff?a=A&b=B` and `traces diff A B --output json`:
//!   [`TraceDiff`], `{"a": {"trace_id", "root_name", "span_count", "duration_nanos"},
//!   "b": {...}, "counts": {"matched", "added", "missing", "slower", "failed", "fixed"},
//!   "rows": [{"depth", "subtree_end", "name", "service", "change": "matched" | "added" |
//!   "missing", "slower", "failed", "fixed", "a": {"span_id", "duration_nanos", "error"} |
//!   null, "b": ... | null}]}`; how spans are matched is [`diff`]'s documentation.
//! - `run --report-html`: the page inlines a [`ReportData`],
//!   `{"runs": [recorded run...], "run_list": {run list}, "traces": {"<trace id>": trace},
//!   "diffs": [trace diff...]}`.

mod analysis;
mod attribute;
pub mod diff;
pub mod jaeger;
mod json;
pub mod mcp;
mod otlp_json;
mod run;
mod summary;
pub mod tempo;
mod trace;
mod web;

pub use analysis::TraceAnalysis;
pub use attribute::{Attributes, Value};
pub use diff::{diff, TraceDiff};
pub use otlp_json::OtlpTraces;
pub use run::{
    AssertionReport, RecordedRun, RunKind, RunLine, RunList, RunReport, RunState, SpanResult, SpecReport,
    StepLine, StepReport, StepState,
};
pub use summary::{summarize, summarize_view, TraceList, TracePage, TraceSummary};
pub use trace::{Event, Link, Resource, Scope, Span, SpanKind, Status, StatusCode, Texts, Trace, TracePart};
pub use web::{ErrorBody, ReportData, RunRecorded, Selection, TraceChange, REPORT_COMPARES_PER_STEP};

#[cfg(test)]
mod tests;
