//! Jaeger's api_v3 over HTTP, as its grpc-gateway answers: a trace (or a search's traces
//! together) as OTLP JSON under `result`, `{"services"}`, `{"operations"}`, and failures as
//! `{"error": {"httpCode", "message"}}` ([`V3Error`]). The trace is the stored OTLP as
//! Jaeger's query service adjusts it ([`OtlpTraces::jaeger`]). A `?wait=` read that found the trace incomplete adds
//! tracecheck's own `warnings` beside `result`.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::params::{self, Params};
use super::search::{self, Search};
use super::{blocking, json, V3Error};
use crate::error::EdgeError;
use crate::query::{read_trace, Reader, Wait};
use model::defaults::{JAEGER_SEARCH_LIMIT, MAX_JAEGER_SEARCH_LIMIT};
use store::TraceStore;
use wire::jaeger::{self as jaeger, V3Operation, V3Operations, V3Result, V3Services};
use wire::OtlpTraces;

/// `GET /api/v3/traces/{id}?wait=30s`.
pub(super) async fn trace(
    State(reader): State<Reader>,
    Path(trace_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, V3Error> {
    let params = Params::parse(query.as_deref())?;
    let trace_id = params::trace_id(&trace_id)?;
    let wait = Wait::parse(params.get("wait"))?;
    let read = read_trace(&reader.store, &reader.reads, trace_id, wait).await?;
    // Written as it is sent: a big trace's JSON is never held whole.
    Ok(crate::reads::streamed(read.permit, "application/json", move |out| {
        let result = OtlpTraces::jaeger(std::slice::from_ref(&read.trace));
        V3Result { result, warnings: read.warnings }.write_json(out)
    }))
}

/// `GET /api/v3/traces?query.service_name=&query.operation_name=&query.start_time_min=&query.start_time_max=&query.duration_min=&query.duration_max=&query.num_traces=&query.attributes=`.
pub(super) async fn search(
    State(store): State<TraceStore>,
    RawQuery(query): RawQuery,
) -> Result<Response, V3Error> {
    let params = Params::parse(query.as_deref())?;
    let search = v3_search(&params)?;
    let traces = blocking(move || search::find(&store, &search)).await?;
    if traces.is_empty() {
        // api_v3 answers an empty search as it answers an unknown trace.
        return Err(V3Error(EdgeError::TraceNotFound(model::TraceId([0; 16]))));
    }
    Ok(json(&V3Result { result: OtlpTraces::jaeger(&traces), warnings: Vec::new() })?)
}

pub(super) fn v3_search(params: &Params) -> Result<Search, EdgeError> {
    let (Some(start_min), Some(start_max)) =
        (params.get("query.start_time_min"), params.get("query.start_time_max"))
    else {
        return Err(EdgeError::Query(
            "query.start_time_min and query.start_time_max are required".to_string(),
        ));
    };
    // Jaeger names it `query.num_traces`; `query.search_depth` is the storage API's name.
    let limit = match params.count("query.num_traces", MAX_JAEGER_SEARCH_LIMIT)? {
        Some(limit) => Some(limit),
        None => params.count("query.search_depth", MAX_JAEGER_SEARCH_LIMIT)?,
    };
    Ok(Search {
        service: params.get("query.service_name").map(str::to_string),
        operation: params.get("query.operation_name").map(str::to_string),
        start_min: Some(params::rfc3339("query.start_time_min", start_min)?),
        start_max: Some(params::rfc3339("query.start_time_max", start_max)?),
        duration_min: params.duration("query.duration_min")?,
        duration_max: params.duration("query.duration_max")?,
        tags: params::tags(params.get("query.attributes"), std::iter::empty(), "query.attributes")?,
        limit: limit.unwrap_or(JAEGER_SEARCH_LIMIT),
    })
}

/// `GET /api/v3/services`.
pub(super) async fn services(State(store): State<TraceStore>) -> Result<Response, V3Error> {
    let services = search::services(&store);
    Ok(json(&V3Services { services: services.iter().map(String::as_str).collect() })?)
}

/// `GET /api/v3/operations?service=&span_kind=`: every operation of the service (none
/// without one, as Jaeger answers).
pub(super) async fn operations(
    State(store): State<TraceStore>,
    RawQuery(query): RawQuery,
) -> Result<Response, V3Error> {
    let params = Params::parse(query.as_deref())?;
    let kind = match params.get("span_kind") {
        None => None,
        Some(name) => Some(jaeger::kind_from_name(name).ok_or_else(|| {
            EdgeError::Query(format!(
                "span_kind={name:?}: expected server, client, producer, consumer, internal or unspecified"
            ))
        })?),
    };
    let operations = match params.get("service") {
        Some(service) => search::operations(&store, service, kind),
        None => Vec::new(),
    };
    let operations = operations
        .iter()
        .map(|(name, kind)| V3Operation { name, span_kind: jaeger::kind_name(*kind) })
        .collect();
    Ok(json(&V3Operations { operations })?)
}
