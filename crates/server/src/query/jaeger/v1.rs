//! Jaeger's HTTP JSON API: every answer in the `{"data", "total", "limit", "offset",
//! "errors"}` envelope, every failure as the envelope with `data` null ([`V1Error`]).

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::params::{self, Params};
use super::search::{self, Search};
use super::{blocking, json, V1Error};
use crate::error::EdgeError;
use crate::query::{read_trace, Reader, Wait};
use model::defaults::{
    JAEGER_DEPENDENCIES_LOOKBACK, JAEGER_SEARCH_LIMIT, JAEGER_SEARCH_LOOKBACK, MAX_JAEGER_SEARCH_LIMIT,
};
use model::Trace;
use store::TraceStore;
use wire::jaeger::{self as jaeger, Dependency, Envelope, Operation};

fn now_nanos() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
}

/// `GET /api/traces/{id}?wait=30s`: one trace; with `wait`, once it is complete, with the
/// warnings of an incomplete one in the trace's `warnings`.
pub(super) async fn trace(
    State(reader): State<Reader>,
    Path(trace_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, V1Error> {
    let params = Params::parse(query.as_deref())?;
    let trace_id = params::trace_id(&trace_id)?;
    let wait = Wait::parse(params.get("wait"))?;
    let read = read_trace(&reader.store, &reader.reads, trace_id, wait).await?;
    let warnings = (!read.warnings.is_empty()).then_some(read.warnings);
    // Written as it is sent: a big trace's JSON is never held whole.
    Ok(crate::reads::streamed(read.permit, "application/json", move |out| {
        jaeger::write_traces(&[jaeger::Trace::new(&read.trace, warnings)], out)
    }))
}

/// `GET /api/traces?service=&operation=&tags=&tag=&minDuration=&maxDuration=&limit=&start=&end=`
/// (or `traceID=` for given traces): the matching traces, most recently updated first.
pub(super) async fn search(
    State(store): State<TraceStore>,
    RawQuery(query): RawQuery,
) -> Result<Response, V1Error> {
    let params = Params::parse(query.as_deref())?;
    let trace_ids: Vec<model::TraceId> =
        params.all("traceID").map(params::trace_id).collect::<Result<_, _>>()?;
    let traces: Vec<Trace> = if !trace_ids.is_empty() {
        blocking(move || trace_ids.into_iter().filter_map(|trace_id| store.get(trace_id)).collect()).await?
    } else {
        let search = v1_search(&params)?;
        blocking(move || search::find(&store, &search)).await?
    };
    let data: Vec<jaeger::Trace> = traces.iter().map(|trace| jaeger::Trace::new(trace, None)).collect();
    Ok(json(&Envelope::new(data, 0))?)
}

/// The search a v1 query string asks for, checked as Jaeger checks it.
pub(super) fn v1_search(params: &Params) -> Result<Search, EdgeError> {
    let service = params
        .get("service")
        .ok_or_else(|| EdgeError::Query("parameter 'service' is required".to_string()))?;
    let end = params
        .get("end")
        .map(|text| params::epoch("end", text, 1_000))
        .transpose()?
        .unwrap_or_else(now_nanos);
    let start = match params.get("start") {
        Some(text) => params::epoch("start", text, 1_000)?,
        None => now_nanos().saturating_sub(JAEGER_SEARCH_LOOKBACK.as_nanos() as u64),
    };
    let duration_min = params.duration("minDuration")?;
    let duration_max = params.duration("maxDuration")?;
    if let (Some(min), Some(max)) = (duration_min, duration_max) {
        if max < min {
            return Err(EdgeError::Query("'maxDuration' should be greater than 'minDuration'".to_string()));
        }
    }
    Ok(Search {
        service: Some(service.to_string()),
        operation: params.get("operation").map(str::to_string),
        start_min: Some(start),
        start_max: Some(end),
        duration_min,
        duration_max,
        tags: params::tags(params.get("tags"), params.all("tag"), "tags")?,
        limit: params.count("limit", MAX_JAEGER_SEARCH_LIMIT)?.unwrap_or(JAEGER_SEARCH_LIMIT),
    })
}

/// The window `endTs` and `lookback` (milliseconds) ask for, as Unix nanoseconds.
pub(super) fn dependencies_window(params: &Params) -> Result<(u64, u64), EdgeError> {
    let end = match params.get("endTs") {
        Some(text) => params::epoch("endTs", text, 1_000_000)?,
        None => now_nanos(),
    };
    let lookback = match params.get("lookback") {
        Some(text) => params::epoch("lookback", text, 1_000_000)?,
        None => JAEGER_DEPENDENCIES_LOOKBACK.as_nanos() as u64,
    };
    Ok((end.saturating_sub(lookback), end))
}

/// `GET /api/services`: every service, sorted.
pub(super) async fn services(State(store): State<TraceStore>) -> Result<Response, V1Error> {
    let services = search::services(&store);
    let total = services.len();
    Ok(json(&Envelope::new(services, total))?)
}

/// `GET /api/services/{service}/operations`: the service's span names, once each.
pub(super) async fn service_operations(
    State(store): State<TraceStore>,
    Path(service): Path<String>,
) -> Result<Response, V1Error> {
    let mut names: Vec<String> =
        search::operations(&store, &service, None).into_iter().map(|(name, _)| name).collect();
    names.dedup();
    let total = names.len();
    // Jaeger answers an unknown service's names with its nil list: `data` null.
    let mut envelope = Envelope::new(names, total);
    if total == 0 {
        envelope.data = None;
    }
    Ok(json(&envelope)?)
}

/// `GET /api/operations?service=&spanKind=`: the service's operations with their kinds.
pub(super) async fn operations(
    State(store): State<TraceStore>,
    RawQuery(query): RawQuery,
) -> Result<Response, V1Error> {
    let params = Params::parse(query.as_deref())?;
    let service = params
        .get("service")
        .ok_or_else(|| EdgeError::Query("parameter 'service' is required".to_string()))?;
    let kind = match params.get("spanKind") {
        None => None,
        Some(name) => Some(jaeger::kind_from_name(name).ok_or_else(|| {
            EdgeError::Query(format!(
                "spanKind={name:?}: expected server, client, producer, consumer, internal or unspecified"
            ))
        })?),
    };
    let operations = search::operations(&store, service, kind);
    let data: Vec<Operation> = operations
        .iter()
        .map(|(name, kind)| Operation { name, span_kind: jaeger::kind_name(*kind) })
        .collect();
    let total = data.len();
    Ok(json(&Envelope::new(data, total))?)
}

/// `GET /api/dependencies?endTs=&lookback=` (milliseconds): calls between services over the
/// traces in the window.
pub(super) async fn dependencies(
    State(store): State<TraceStore>,
    RawQuery(query): RawQuery,
) -> Result<Response, V1Error> {
    let (start, end) = dependencies_window(&Params::parse(query.as_deref())?)?;
    let links = blocking(move || search::dependencies(&store, start, end)).await?;
    let data: Vec<Dependency> = links
        .iter()
        .map(|(parent, child, call_count)| Dependency { parent, child, call_count: *call_count })
        .collect();
    Ok(json(&Envelope::new(data, 0))?)
}
