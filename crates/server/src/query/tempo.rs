//! Grafana Tempo's HTTP API at the root path: `/api/traces/{id}`, `/api/v2/traces/{id}`,
//! `/api/search`, the tag endpoints, `/api/echo`, `/ready`. What Grafana's Tempo data
//! source and Tempo's API clients call, answered from the store in Tempo's shapes
//! (`wire::tempo`); COMPATIBILITY.md lists where they differ.
//!
//! A trace by ID is protobuf when the client sends `Accept: application/protobuf`
//! (Tempo's `Trace` is wire-identical to OTLP `TracesData`, so the model's OTLP encoder
//! writes it; v2 wraps it in Tempo's `TraceByIDResponse`), JSON otherwise. Every read takes
//! tracecheck's completeness wait, `?wait=30s`.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::ops::ControlFlow;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::search::{self, Filters, SearchRequest};
use super::{blocking, json, read_trace, Reader, TraceRead, Wait};
use crate::error::{EdgeError, Path, Query};
use crate::Handles;
use model::{KeyValue, TraceId};
use store::TraceStore;
use wire::tempo::{
    NoMetrics, PartialStatus, SearchMetrics, SearchResponse, SearchSpan, SpanSet, TagNames, TagScope,
    TagScopes, TagValues, TagValuesV2, TempoTrace, TraceByIdV2, TraceSearchMetadata, TypedValue,
};

/// Tempo's defaults: 20 traces, 3 spans per spanset.
const DEFAULT_LIMIT: usize = 20;
const DEFAULT_SPSS: usize = 3;
/// The most traces one search answers.
const MAX_LIMIT: usize = 1_000;
/// The protobuf media type Tempo's clients ask for and are answered in.
const PROTOBUF: &str = "application/protobuf";
/// The intrinsics `/api/v2/search/tags` lists, as Tempo names them.
const INTRINSICS: [&str; 8] =
    ["duration", "kind", "name", "rootName", "rootServiceName", "status", "statusMessage", "traceDuration"];

/// The Tempo routes at the root path.
pub(crate) fn router(handles: &Handles) -> Router {
    Router::new()
        .route("/api/traces/{id}", get(trace_v1))
        .route("/api/v2/traces/{id}", get(trace_v2))
        .route("/api/search", get(search_traces))
        .route("/api/search/tags", get(tags_v1))
        .route("/api/v2/search/tags", get(tags_v2))
        .route("/api/search/tag/{tag}/values", get(tag_values_v1))
        .route("/api/v2/search/tag/{tag}/values", get(tag_values_v2))
        .route("/api/echo", get(|| async { "echo" }))
        .route("/ready", get(|| async { "ready" }))
        .with_state(handles.reader())
}

/// A trace ID as Tempo takes it: hex, left-padded with zeros to 32 digits.
fn trace_id(text: &str) -> Result<TraceId, EdgeError> {
    let text = text.trim();
    if !text.is_empty() && text.len() < 32 && text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return TraceId::from_hex(&format!("{text:0>32}")).map_err(EdgeError::TraceId);
    }
    TraceId::from_hex(text).map_err(EdgeError::TraceId)
}

fn wants_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .any(|value| value.to_str().is_ok_and(|text| text.contains(PROTOBUF)))
}

fn protobuf(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, PROTOBUF)], bytes).into_response()
}

#[derive(Deserialize)]
struct TraceQuery {
    wait: Option<String>,
}

async fn read(reader: &Reader, id: &str, wait: Option<&str>) -> Result<TraceRead, EdgeError> {
    read_trace(&reader.store, &reader.reads, trace_id(id)?, Wait::parse(wait)?).await
}

/// `GET /api/traces/{id}`: Tempo's `Trace` (`{"batches": [...]}`, or `TracesData` bytes).
async fn trace_v1(
    State(reader): State<Reader>,
    Path(id): Path<String>,
    Query(query): Query<TraceQuery>,
    headers: HeaderMap,
) -> Result<Response, EdgeError> {
    let read = read(&reader, &id, query.wait.as_deref()).await?;
    if wants_protobuf(&headers) {
        return Ok(protobuf(blocking(move || model::otlp::encode_trace_bytes(&read.trace)).await?));
    }
    blocking(move || json(&TempoTrace(&read.trace))).await?
}

/// `GET /api/v2/traces/{id}`: Tempo's `TraceByIDResponse`, `PARTIAL` when a wait ran out
/// before the trace was complete.
async fn trace_v2(
    State(reader): State<Reader>,
    Path(id): Path<String>,
    Query(query): Query<TraceQuery>,
    headers: HeaderMap,
) -> Result<Response, EdgeError> {
    let read = read(&reader, &id, query.wait.as_deref()).await?;
    let partial = read.complete == Some(false);
    if wants_protobuf(&headers) {
        return Ok(protobuf(blocking(move || encode_v2(&read, partial)).await?));
    }
    blocking(move || {
        json(&TraceByIdV2 {
            trace: TempoTrace(&read.trace),
            metrics: NoMetrics {},
            status: if partial { PartialStatus::Partial } else { PartialStatus::Complete },
            message: Cow::Owned(read.warnings.join("; ")),
        })
    })
    .await?
}

/// `TraceByIDResponse` in protobuf: `trace = 1` (the `TracesData` message), `metrics = 2`
/// (empty), `status = 3` (`PARTIAL = 1`, left out when complete), `message = 4`.
fn encode_v2(read: &TraceRead, partial: bool) -> Vec<u8> {
    let trace = model::otlp::encode_trace_bytes(&read.trace);
    let mut out = Vec::with_capacity(trace.len() + 16);
    // A message field is written as its bytes are: key, length, body.
    prost::encoding::bytes::encode(1, &trace, &mut out);
    prost::encoding::message::encode(2, &(), &mut out);
    if partial {
        prost::encoding::int32::encode(3, &1, &mut out);
        prost::encoding::string::encode(4, &read.warnings.join("; "), &mut out);
    }
    out
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    tags: Option<String>,
    #[serde(rename = "minDuration")]
    min_duration: Option<String>,
    #[serde(rename = "maxDuration")]
    max_duration: Option<String>,
    limit: Option<usize>,
    /// Unix seconds.
    start: Option<u64>,
    end: Option<u64>,
    /// Spans per spanset.
    spss: Option<usize>,
}

/// What a `/api/search` asks for: the search, the TraceQL it compiled to (its named
/// attributes are shown with each span), and the spans shown per spanset.
#[derive(Debug)]
pub struct TempoSearch {
    pub request: SearchRequest,
    pub text: String,
    pub spss: usize,
}

fn search_of(query: &SearchQuery) -> Result<TempoSearch, EdgeError> {
    let mut filters = Filters {
        min_duration: search::parse_duration("minDuration", query.min_duration.as_deref())?,
        max_duration: search::parse_duration("maxDuration", query.max_duration.as_deref())?,
        traceql: query.q.clone(),
        ..Filters::default()
    };
    if let Some(tags) = query.tags.as_deref() {
        search::parse_logfmt(tags, &mut filters)?;
    }
    let text = filters.to_traceql()?;
    // The error names what the client sent (its `q`), whose columns match the query's when
    // nothing else was added.
    let selector = search::parse_query(&text, query.q.as_deref().unwrap_or(&text))?;
    let request = SearchRequest {
        selector,
        start_unix_nano: query.start.map(|seconds| seconds.saturating_mul(1_000_000_000)),
        end_unix_nano: query
            .end
            .map(|seconds| seconds.saturating_mul(1_000_000_000).saturating_add(999_999_999)),
        limit: query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
    };
    Ok(TempoSearch { request, text, spss: query.spss.unwrap_or(DEFAULT_SPSS).max(1) })
}

/// `GET /api/search`'s query string (without `?`) as what it asks for, read as the route
/// reads it (axum's `Query`, which is `serde_urlencoded`); for the fuzz target (`fuzz/`).
///
/// # Errors
/// What the route answers 400 with.
pub fn search_params(raw: &str) -> Result<TempoSearch, EdgeError> {
    let query: SearchQuery = serde_urlencoded::from_str(raw)
        .map_err(|error| EdgeError::Query(format!("bad query string: {error}")))?;
    search_of(&query)
}

/// `GET /api/search`: TraceQL in `q` (or the older `tags`, `minDuration`, `maxDuration`),
/// newest traces first, each with the spans the query matched (at most `spss`).
async fn search_traces(
    State(store): State<TraceStore>,
    Query(query): Query<SearchQuery>,
) -> Result<Response, EdgeError> {
    let TempoSearch { request, text, spss } = search_of(&query)?;
    blocking(move || {
        let outcome = search::search(&store, &request);
        let traces = outcome.hits.iter().map(|hit| metadata(hit, &text, spss)).collect();
        let metrics = SearchMetrics {
            inspected_traces: u32::try_from(outcome.scanned).unwrap_or(u32::MAX),
            inspected_bytes: "0".to_string(),
            total_jobs: 1,
            completed_jobs: 1,
        };
        json(&SearchResponse { traces, metrics })
    })
    .await?
}

/// A hit as Tempo's `TraceSearchMetadata`, with one spanset of the matched spans.
fn metadata<'a>(hit: &'a search::Hit, query: &str, spss: usize) -> TraceSearchMetadata<'a> {
    let summary = wire::summarize(&hit.trace);
    let spans = hit
        .matched
        .iter()
        .filter_map(|span_id| hit.trace.span(*span_id))
        .take(spss)
        .map(|span| SearchSpan {
            span_id: span.span_id,
            name: Cow::Borrowed(&span.name),
            start_time_unix_nano: span.start_time_unix_nano.to_string(),
            duration_nanos: span.duration_nanos().to_string(),
            attributes: named_attributes(span, query),
        })
        .collect();
    let span_set = SpanSet { spans, matched: u32::try_from(hit.matched.len()).unwrap_or(u32::MAX) };
    TraceSearchMetadata {
        trace_id: hit.trace.trace_id,
        root_service_name: Cow::Owned(summary.service_name),
        root_trace_name: Cow::Owned(summary.root_name),
        start_time_unix_nano: summary.start_time_unix_nano.to_string(),
        duration_ms: summary.duration_nanos / 1_000_000,
        span_set: Some(span_set.clone()),
        span_sets: vec![span_set],
    }
}

/// The attributes a search result shows of a span: `service.name`, and those whose key
/// the query names (Tempo returns the attributes its conditions read).
fn named_attributes(span: &model::Span, query: &str) -> Vec<KeyValue> {
    let mut out: Vec<KeyValue> = Vec::new();
    if let Some(service) = span.service_name() {
        out.push(KeyValue::new("service.name", service));
    }
    for kv in span.attributes.iter().chain(span.resource.attributes.iter()) {
        if &*kv.key != "service.name"
            && query.contains(&*kv.key)
            && !out.iter().any(|seen| seen.key == kv.key)
        {
            out.push(kv.clone());
        }
    }
    out
}

/// Collects over the newest traces (the search's scan budget).
fn collect_tags(store: &TraceStore, mut visit: impl FnMut(&model::Trace)) {
    search::scan_newest(store, |trace| {
        visit(&trace);
        ControlFlow::Continue(())
    });
}

/// `GET /api/search/tags`: every span and resource attribute name.
async fn tags_v1(State(store): State<TraceStore>) -> Result<Response, EdgeError> {
    blocking(move || {
        let mut names = BTreeSet::new();
        collect_tags(&store, |trace| {
            for span in &trace.spans {
                names.extend(span.attributes.iter().map(|kv| kv.key.to_string()));
                names.extend(span.resource.attributes.iter().map(|kv| kv.key.to_string()));
            }
        });
        json(&TagNames { tag_names: names.into_iter().collect(), metrics: NoMetrics {} })
    })
    .await?
}

#[derive(Deserialize)]
struct TagsQuery {
    scope: Option<String>,
}

/// `GET /api/v2/search/tags[?scope=resource|span|intrinsic]`: attribute names per scope.
async fn tags_v2(
    State(store): State<TraceStore>,
    Query(query): Query<TagsQuery>,
) -> Result<Response, EdgeError> {
    let scope = query.scope.filter(|scope| !scope.is_empty() && scope != "all");
    if let Some(scope) = scope.as_deref() {
        if !matches!(scope, "resource" | "span" | "intrinsic") {
            return Err(EdgeError::Query(format!(
                "scope={scope:?}: expected resource, span, intrinsic or all"
            )));
        }
    }
    blocking(move || {
        let (mut resource, mut span_names) = (BTreeSet::new(), BTreeSet::new());
        collect_tags(&store, |trace| {
            for span in &trace.spans {
                span_names.extend(span.attributes.iter().map(|kv| kv.key.to_string()));
                resource.extend(span.resource.attributes.iter().map(|kv| kv.key.to_string()));
            }
        });
        let all = [
            ("resource", resource.into_iter().collect()),
            ("span", span_names.into_iter().collect()),
            ("intrinsic", INTRINSICS.iter().map(|name| name.to_string()).collect()),
        ];
        let scopes = all
            .into_iter()
            .filter(|(name, _)| scope.as_deref().is_none_or(|wanted| wanted == *name))
            .map(|(name, tags)| TagScope { name: name.to_string(), tags })
            .collect();
        json(&TagScopes { scopes, metrics: NoMetrics {} })
    })
    .await?
}

/// `GET /api/search/tag/{tag}/values`: the values of an attribute (span or resource), as text.
async fn tag_values_v1(
    State(store): State<TraceStore>,
    Path(tag): Path<String>,
) -> Result<Response, EdgeError> {
    blocking(move || {
        let mut values = BTreeSet::new();
        collect_tags(&store, |trace| {
            for span in &trace.spans {
                let found = span.attributes.iter().chain(span.resource.attributes.iter());
                for kv in found.filter(|kv| *kv.key == *tag) {
                    values.extend(TypedValue::of(&kv.value).map(|typed| typed.value));
                }
            }
        });
        json(&TagValues { tag_values: values.into_iter().collect(), metrics: NoMetrics {} })
    })
    .await?
}

/// Where a v2 tag's values come from.
enum TagSource {
    Span(String),
    Resource(String),
    /// The span's, else the resource's (`.key`).
    Any(String),
    Intrinsic(&'static str),
}

impl TagSource {
    fn parse(tag: &str) -> Result<TagSource, EdgeError> {
        if let Some(key) = tag.strip_prefix("span.") {
            return Ok(TagSource::Span(key.to_string()));
        }
        if let Some(key) = tag.strip_prefix("resource.") {
            return Ok(TagSource::Resource(key.to_string()));
        }
        if let Some(key) = tag.strip_prefix('.') {
            return Ok(TagSource::Any(key.to_string()));
        }
        let intrinsic = tag.strip_prefix("span:").unwrap_or(tag);
        match INTRINSICS.iter().find(|name| **name == intrinsic) {
            Some(name) => Ok(TagSource::Intrinsic(name)),
            None => Err(EdgeError::Path(format!(
                "tag {tag:?}: expected span.NAME, resource.NAME, .NAME or an intrinsic ({})",
                INTRINSICS.join(", ")
            ))),
        }
    }
}

fn text_value(value_type: &'static str, value: impl Into<String>) -> TypedValue {
    TypedValue { value_type: Cow::Borrowed(value_type), value: value.into() }
}

/// `GET /api/v2/search/tag/{tag}/values`: typed values of `span.KEY`, `resource.KEY`,
/// `.KEY` or an intrinsic (`name`, `status`, `kind`, ...).
async fn tag_values_v2(
    State(store): State<TraceStore>,
    Path(tag): Path<String>,
) -> Result<Response, EdgeError> {
    let source = TagSource::parse(&tag)?;
    blocking(move || {
        let mut values = BTreeSet::new();
        collect_tags(&store, |trace| {
            let root = wire::summarize(trace);
            for span in &trace.spans {
                let value: Option<TypedValue> = match &source {
                    TagSource::Span(key) => find(&span.attributes, key),
                    TagSource::Resource(key) => find(&span.resource.attributes, key),
                    TagSource::Any(key) => {
                        find(&span.attributes, key).or_else(|| find(&span.resource.attributes, key))
                    }
                    TagSource::Intrinsic("name") => Some(text_value("string", span.name.to_string())),
                    TagSource::Intrinsic("status") => {
                        Some(text_value("keyword", wire::StatusCode::from(span.status.code).as_str()))
                    }
                    TagSource::Intrinsic("statusMessage") if !span.status.message.is_empty() => {
                        Some(text_value("string", span.status.message.to_string()))
                    }
                    TagSource::Intrinsic("kind") => Some(text_value("keyword", kind_keyword(span.kind))),
                    TagSource::Intrinsic("rootName") if !root.root_name.is_empty() => {
                        Some(text_value("string", root.root_name.clone()))
                    }
                    TagSource::Intrinsic("rootServiceName") if !root.service_name.is_empty() => {
                        Some(text_value("string", root.service_name.clone()))
                    }
                    // Durations are not enumerated, as in Tempo.
                    TagSource::Intrinsic(_) => None,
                };
                values.extend(value);
            }
        });
        json(&TagValuesV2 { tag_values: values.into_iter().collect(), metrics: NoMetrics {} })
    })
    .await?
}

fn find(attributes: &[KeyValue], key: &str) -> Option<TypedValue> {
    attributes.iter().find(|kv| *kv.key == *key).and_then(|kv| TypedValue::of(&kv.value))
}

/// A span kind as TraceQL spells it.
fn kind_keyword(kind: model::SpanKind) -> &'static str {
    match kind {
        model::SpanKind::Unspecified => "unspecified",
        other => other.tracetest_name(),
    }
}
