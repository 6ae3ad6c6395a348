//! The one search behind both Jaeger APIs, the catalogue reads and the dependency links.
//!
//! A search asks the store which traces may hold a matching span ([`TraceStore::find_traces`]:
//! from each trace's digest, decoding nothing), decodes those newest first and keeps a trace
//! when one of its spans meets every condition, as Jaeger's memory store checks: the
//! service, operation, start and duration of that span, and each tag among the span's,
//! its scope's, its resource's or one of its events' attributes (compared as text), `error`
//! standing for the span's status. It asks for more candidates only when some did not hold.

use std::collections::{BTreeMap, HashMap, HashSet};

use model::{Span, SpanKind, StatusCode, Trace, TraceId};
use store::{SpanQuery, TraceStore};
use wire::jaeger::{resource_service, service_label, value_text, EMPTY_SERVICE_NAME, MISSING_SERVICE_NAME};

/// A search, in Jaeger's terms (the service as Jaeger names it). Public only so that the
/// parameters' parsing can be fuzzed ([`super::v1_search_params`] and its kin).
#[derive(Clone, Debug, Default)]
pub struct Search {
    pub service: Option<String>,
    pub operation: Option<String>,
    /// A span's start at or after this, in Unix nanoseconds.
    pub start_min: Option<u64>,
    pub start_max: Option<u64>,
    /// Nanoseconds.
    pub duration_min: Option<u64>,
    pub duration_max: Option<u64>,
    pub tags: BTreeMap<String, String>,
    pub limit: usize,
}

/// A Jaeger service name as the store's `service.name` (see [`service_label`]).
fn store_service(label: &str) -> Option<&str> {
    match label {
        MISSING_SERVICE_NAME => None,
        EMPTY_SERVICE_NAME => Some(""),
        name => Some(name),
    }
}

impl Search {
    fn span_query(&self) -> SpanQuery<'_> {
        SpanQuery {
            service: self.service.as_deref().map(store_service),
            operation: self.operation.as_deref(),
            kind: None,
            start_min: self.start_min,
            start_max: self.start_max,
            duration_min: self.duration_min,
            duration_max: self.duration_max,
            error: self.tags.get("error").map(|value| value == "true"),
        }
    }

    fn matches(&self, span: &Span) -> bool {
        let start = span.start_time_unix_nano;
        let duration = span.end_time_unix_nano.saturating_sub(start);
        let service_ok = self
            .service
            .as_deref()
            .is_none_or(|service| service_label(resource_service(&span.resource)) == service);
        service_ok
            && self.operation.as_deref().is_none_or(|name| *span.name == *name)
            && self.start_min.is_none_or(|min| start >= min)
            && self.start_max.is_none_or(|max| start <= max)
            && self.duration_min.is_none_or(|min| duration >= min)
            && self.duration_max.is_none_or(|max| duration <= max)
            && self.tags.iter().all(|(key, value)| tag_matches(span, key, value))
    }
}

fn tag_matches(span: &Span, key: &str, value: &str) -> bool {
    if key == "error" {
        let wanted = if value == "true" { StatusCode::Error } else { StatusCode::Ok };
        return span.status.code == wanted;
    }
    let found = |attributes: &[model::KeyValue]| {
        model::find_attribute(attributes, key).is_some_and(|found| value_text(found) == value)
    };
    found(&span.attributes)
        || found(&span.scope.attributes)
        || found(&span.resource.attributes)
        || span.events().iter().any(|event| found(&event.attributes))
}

/// The traces matching `search`, most recently updated first, at most `search.limit`.
/// Decodes traces: call on the blocking pool.
pub(super) fn find(store: &TraceStore, search: &Search) -> Vec<Trace> {
    let query = search.span_query();
    let mut found = Vec::new();
    let mut checked: HashSet<TraceId> = HashSet::new();
    let mut ask = search.limit;
    while found.len() < search.limit {
        let candidates = store.find_traces(&query, ask);
        let exhausted = candidates.len() < ask;
        for candidate in candidates {
            if found.len() == search.limit {
                break;
            }
            if !checked.insert(candidate.trace_id) {
                continue;
            }
            if let Some(trace) = store.get(candidate.trace_id) {
                if trace.spans.iter().any(|span| search.matches(span)) {
                    found.push(trace);
                }
            }
        }
        if exhausted {
            break;
        }
        ask = ask.saturating_mul(2);
    }
    found
}

/// Every service of the held traces as Jaeger names them, sorted.
pub(super) fn services(store: &TraceStore) -> Vec<String> {
    let mut services: Vec<String> =
        store.operations().iter().map(|op| service_label(op.service.as_deref()).to_string()).collect();
    services.sort();
    services.dedup();
    services
}

/// The operations of `service` (as Jaeger names it), of `kind` when given, sorted by name.
pub(super) fn operations(
    store: &TraceStore,
    service: &str,
    kind: Option<SpanKind>,
) -> Vec<(String, SpanKind)> {
    let wanted = store_service(service);
    store
        .operations()
        .into_iter()
        .filter(|op| op.service.as_deref() == wanted && kind.is_none_or(|kind| op.kind == kind))
        .map(|op| (op.name.to_string(), op.kind))
        .collect()
}

/// Calls from one service to another: for every span with a parent in its trace, the
/// parent's service to the span's, counted over the traces that started after `start` and
/// ended before `end` (Unix nanoseconds), as Jaeger's memory store counts them. Decodes
/// traces: call on the blocking pool.
pub(super) fn dependencies(store: &TraceStore, start: u64, end: u64) -> Vec<(String, String, u64)> {
    let mut counts: HashMap<(String, String), u64> = HashMap::new();
    for trace_id in store.traces_between(start, Some(end)) {
        let Some(trace) = store.get(trace_id) else { continue };
        let services: HashMap<model::SpanId, &str> = trace
            .spans
            .iter()
            .map(|span| (span.span_id, service_label(resource_service(&span.resource))))
            .collect();
        for span in &trace.spans {
            let Some(parent) = span.parent_span_id.and_then(|parent| services.get(&parent)) else { continue };
            let child = service_label(resource_service(&span.resource));
            *counts.entry((parent.to_string(), child.to_string())).or_default() += 1;
        }
    }
    let mut links: Vec<(String, String, u64)> =
        counts.into_iter().map(|((parent, child), count)| (parent, child, count)).collect();
    links.sort();
    links
}
