//! A whole trace as OTLP, for the control API and Tempo's trace by ID: `GetTrace` and `WaitTrace` answer with the
//! trace's spans as an OTLP `TracesData` message, grouped by resource and scope the way they
//! arrived, so any OTLP tool can read them.
//!
//! The reverse direction (what the control API's client needs) is the ingest path's own
//! protobuf decoder ([`super::decode_protobuf`]), so there is one OTLP -> model conversion
//! in the crate.

use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1 as otlp_common;
use opentelemetry_proto::tonic::resource::v1 as otlp_resource;
use opentelemetry_proto::tonic::trace::v1 as otlp_trace;

use super::{attributes_to_otlp, span_to_otlp};
use crate::{Resource, Scope, Span, Trace, TraceId};

/// One resource's spans, grouped by scope, in trace order.
pub type ResourceGroup<'a> = (&'a Arc<Resource>, Vec<ScopeGroup<'a>>);
/// One scope's spans within a resource, in trace order.
pub type ScopeGroup<'a> = (&'a Arc<Scope>, Vec<&'a Span>);

/// The trace's spans grouped the way OTLP nests them: one group per distinct resource and
/// within it one per distinct scope, in the order they first appear. Every OTLP-shaped
/// rendering (the protobuf here, Tempo's JSON in `wire`) nests spans this one way.
pub fn group_by_resource(trace: &Trace) -> Vec<ResourceGroup<'_>> {
    let mut groups: Vec<ResourceGroup<'_>> = Vec::new();
    for span in &trace.spans {
        let resource_idx = match groups
            .iter()
            .position(|(resource, _)| Arc::ptr_eq(resource, &span.resource) || ***resource == *span.resource)
        {
            Some(idx) => idx,
            None => {
                groups.push((&span.resource, Vec::new()));
                groups.len() - 1
            }
        };
        let scopes = &mut groups[resource_idx].1;
        let scope_idx = match scopes
            .iter()
            .position(|(scope, _)| Arc::ptr_eq(scope, &span.scope) || ***scope == *span.scope)
        {
            Some(idx) => idx,
            None => {
                scopes.push((&span.scope, Vec::new()));
                scopes.len() - 1
            }
        };
        scopes[scope_idx].1.push(span);
    }
    groups
}

/// The trace as OTLP `TracesData`: one `ResourceSpans` per distinct resource and one
/// `ScopeSpans` per distinct scope within it, spans in trace order.
pub fn encode_trace(trace: &Trace) -> otlp_trace::TracesData {
    otlp_trace::TracesData {
        resource_spans: group_by_resource(trace)
            .into_iter()
            .map(|(resource, scopes)| otlp_trace::ResourceSpans {
                resource: Some(otlp_resource::Resource {
                    attributes: attributes_to_otlp(&resource.attributes),
                    ..Default::default()
                }),
                scope_spans: scopes
                    .into_iter()
                    .map(|(scope, spans)| otlp_trace::ScopeSpans {
                        scope: Some(otlp_common::InstrumentationScope {
                            name: scope.name.to_string(),
                            version: scope.version.to_string(),
                            attributes: attributes_to_otlp(&scope.attributes),
                            dropped_attributes_count: 0,
                        }),
                        spans: spans.into_iter().map(span_to_otlp).collect(),
                        schema_url: String::new(),
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect(),
    }
}

/// Why OTLP bytes from a server could not be turned back into spans.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceDecodeError {
    #[error("{0}")]
    Protobuf(super::Error),
    #[error("{0}")]
    Rejected(String),
}

/// Decodes `TracesData` bytes into model spans (the client side of `GetTrace`/`WaitTrace`)
/// with the ingest path's decoder: `TracesData` and `ExportTraceServiceRequest` have the same
/// wire layout (field 1, repeated `ResourceSpans`).
pub fn decode_trace(trace_id: TraceId, bytes: &[u8]) -> Result<Trace, TraceDecodeError> {
    let batch = super::decode_protobuf(bytes).map_err(TraceDecodeError::Protobuf)?;
    if batch.rejections.n_spans > 0 {
        return Err(TraceDecodeError::Rejected(batch.rejections.message()));
    }
    Ok(Trace::new(trace_id, batch.spans.into_iter().map(Arc::new).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::encode_trace_bytes;
    use crate::{AttributeValue, Event, KeyValue, Link, Span, SpanId, SpanKind, StatusCode, Str};

    #[test]
    fn round_trip_keeps_every_field() {
        let trace_id = TraceId([7; 16]);
        let root = Span::new(trace_id, SpanId([1; 8]), "POST /users")
            .with_kind(SpanKind::Server)
            .with_times(100, 900)
            .with_attribute("http.status_code", 201i64)
            .with_attribute("ratio", 0.5)
            .with_attribute("ok", true)
            .with_resource_attribute("service.name", "api");
        let mut child = Span::new(trace_id, SpanId([2; 8]), "db")
            .with_parent(SpanId([1; 8]))
            .with_status(StatusCode::Error, "boom")
            .with_attribute("list", AttributeValue::array([1i64.into(), "x".into()]));
        child = child
            .with_events([Event {
                time_unix_nano: 5,
                name: Str::from("exception"),
                attributes: Box::new([]),
            }])
            .with_links([Link { trace_id, span_id: SpanId([3; 8]), attributes: Box::new([]) }]);
        child.resource = root.resource.clone();
        let map = Span::new(trace_id, SpanId([4; 8]), "other")
            .with_attribute("m", AttributeValue::map([KeyValue::new("k", "v")]))
            .with_attribute("b", AttributeValue::bytes([1, 2]));
        let trace = Trace::new(trace_id, vec![Arc::new(root), Arc::new(child), Arc::new(map)]);
        let data = encode_trace(&trace);
        assert_eq!(data.resource_spans.len(), 2, "two distinct resources");
        let decoded = decode_trace(trace_id, &encode_trace_bytes(&trace)).unwrap();
        let original: Vec<&Span> = trace.spans.iter().map(|span| &**span).collect();
        let back: Vec<&Span> = decoded.spans.iter().map(|span| &**span).collect();
        assert_eq!(original, back);
    }

    #[test]
    fn rejects_bad_bytes() {
        assert!(decode_trace(TraceId([1; 16]), b"\xff\xff\xff").is_err());
    }
}
