//! Jaeger's api_v3 over HTTP, as its grpc-gateway answers: a trace (or a search's traces
//! together) as OTLP JSON under `result`, `{"services"}`, `{"operations"}`, and failures as
//! `{"error": {"httpCode", "message"}}` ([`V3Error`]). The trace is the stored OTLP with
//! what Jaeger's query service does to it: a resource without a text `service.name` gets
//! `missing-service-name` (`empty-service-name` for an empty one), and attributes are sorted
//! by key and events by name. A `?wait=` read that found the trace incomplete adds
//! tracecheck's own `warnings` beside `result`.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::TracesData;

use super::params::{self, Params};
use super::search::{self, Search};
use super::{blocking, json, V3Error};
use crate::error::EdgeError;
use crate::query::{read_trace, Wait};
use model::defaults::{JAEGER_SEARCH_LIMIT, MAX_JAEGER_SEARCH_LIMIT};
use model::Trace;
use store::TraceStore;
use wire::jaeger::{self as jaeger, V3Operation, V3Operations, V3Result, V3Services};

/// The trace as api_v3 answers it.
fn traces_data(traces: &[Trace]) -> TracesData {
    let mut data = TracesData::default();
    for trace in traces {
        data.resource_spans.extend(model::otlp::encode_trace(trace).resource_spans);
    }
    for resource_spans in &mut data.resource_spans {
        let resource = resource_spans.resource.get_or_insert_with(Default::default);
        name_service(&mut resource.attributes);
        sort(&mut resource.attributes);
        for scope_spans in &mut resource_spans.scope_spans {
            if let Some(scope) = &mut scope_spans.scope {
                sort(&mut scope.attributes);
            }
            for span in &mut scope_spans.spans {
                sort(&mut span.attributes);
                span.events.sort_by(|a, b| a.name.cmp(&b.name));
                for event in &mut span.events {
                    sort(&mut event.attributes);
                }
                for link in &mut span.links {
                    sort(&mut link.attributes);
                }
            }
        }
    }
    data
}

fn sort(attributes: &mut [KeyValue]) {
    attributes.sort_by(|a, b| a.key.cmp(&b.key));
}

/// Jaeger's empty-service-name sanitizer.
fn name_service(attributes: &mut Vec<KeyValue>) {
    let text = |name: &str| Some(AnyValue { value: Some(any_value::Value::StringValue(name.to_string())) });
    match attributes.iter_mut().find(|attribute| attribute.key == "service.name") {
        Some(attribute) => match &attribute.value {
            Some(AnyValue { value: Some(any_value::Value::StringValue(name)) }) if !name.is_empty() => {}
            Some(AnyValue { value: Some(any_value::Value::StringValue(_)) }) => {
                attribute.value = text(jaeger::EMPTY_SERVICE_NAME)
            }
            _ => attribute.value = text(jaeger::MISSING_SERVICE_NAME),
        },
        None => attributes.push(KeyValue {
            key: "service.name".to_string(),
            value: text(jaeger::MISSING_SERVICE_NAME),
            ..Default::default()
        }),
    }
}

/// `GET /api/v3/traces/{id}?wait=30s`.
pub(super) async fn trace(
    State(store): State<TraceStore>,
    Path(trace_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, V3Error> {
    let params = Params::parse(query.as_deref())?;
    let trace_id = params::trace_id(&trace_id)?;
    let wait = Wait::parse(params.get("wait"))?;
    let read = read_trace(&store, trace_id, wait).await?;
    let result = traces_data(std::slice::from_ref(&read.trace));
    Ok(json(&V3Result { result, warnings: read.warnings })?)
}

/// `GET /api/v3/traces?query.service_name=&query.operation_name=&query.start_time_min=&query.start_time_max=&query.duration_min=&query.duration_max=&query.num_traces=&query.attributes=`.
pub(super) async fn search(State(store): State<TraceStore>, RawQuery(query): RawQuery) -> Result<Response, V3Error> {
    let params = Params::parse(query.as_deref())?;
    let search = v3_search(&params)?;
    let traces = blocking(move || search::find(&store, &search)).await?;
    if traces.is_empty() {
        // api_v3 answers an empty search as it answers an unknown trace.
        return Err(V3Error(EdgeError::TraceNotFound(model::TraceId([0; 16]))));
    }
    Ok(json(&V3Result { result: traces_data(&traces), warnings: Vec::new() })?)
}

fn v3_search(params: &Params) -> Result<Search, EdgeError> {
    let (Some(start_min), Some(start_max)) = (params.get("query.start_time_min"), params.get("query.start_time_max"))
    else {
        return Err(EdgeError::Query("query.start_time_min and query.start_time_max are required".to_string()));
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
pub(super) async fn operations(State(store): State<TraceStore>, RawQuery(query): RawQuery) -> Result<Response, V3Error> {
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
    let operations =
        operations.iter().map(|(name, kind)| V3Operation { name, span_kind: jaeger::kind_name(*kind) }).collect();
    Ok(json(&V3Operations { operations })?)
}
