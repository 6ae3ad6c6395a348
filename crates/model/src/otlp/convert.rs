//! OTLP (the generated `opentelemetry-proto` types) to and from the model: the reference
//! conversion, OTLP JSON decoding, and the encoding of export responses.
//!
//! This and `trace.rs` are the only files that name `opentelemetry-proto` types outside
//! service signatures. The protobuf hot path does not come through here (`split.rs` and
//! `decode.rs` walk the bytes directly); JSON requests, the store's encoding of model spans
//! and the tests that hold the wire decoder to the generated types do. It knows nothing of
//! the store or the network.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue as OtlpKeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
use opentelemetry_proto::tonic::trace::v1::{span, Span as OtlpSpan, Status as OtlpStatus};
use prost::Message;

use super::intern::Interner;
use super::reader::MAX_VALUE_DEPTH;
use super::{check_link_ids, check_span_ids, Batch, Error, ExportOutcome, Rejections, SpanRejection};
use crate::{
    AttributeValue, Event, KeyValue, Link, Resource, Scope, Span, SpanExtra, SpanKind, Status, StatusCode,
};

/// Decodes protobuf bytes with the generated types (the straightforward path, kept as the
/// reference the wire decoder is tested and benchmarked against).
///
/// # Errors
/// [`Error::Protobuf`] when prost cannot decode the bytes.
pub fn decode_protobuf_generated(bytes: &[u8]) -> Result<Batch, Error> {
    let request = ExportTraceServiceRequest::decode(bytes).map_err(|err| Error::Protobuf(err.to_string()))?;
    Ok(convert_request(&request))
}

/// Converts a decoded request into model spans, rejecting spans with malformed IDs.
pub fn convert_request(request: &ExportTraceServiceRequest) -> Batch {
    let mut interner = Interner::new();
    let mut batch = Batch::default();
    for resource_spans in &request.resource_spans {
        let resource = Arc::new(convert_resource(resource_spans.resource.as_ref(), &mut interner));
        for scope_spans in &resource_spans.scope_spans {
            let scope = Arc::new(convert_scope(scope_spans.scope.as_ref(), &mut interner));
            for otlp_span in &scope_spans.spans {
                match convert_span(otlp_span, &resource, &scope, &mut interner) {
                    Ok(span) => batch.spans.push(span),
                    Err(reason) => batch.rejections.add(reason),
                }
            }
        }
    }
    batch
}

fn convert_resource<'a>(resource: Option<&'a OtlpResource>, interner: &mut Interner<'a>) -> Resource {
    let Some(resource) = resource else { return Resource::default() };
    // Resource values (service.name, host.name, ...) repeat across batches and spans, so they
    // are interned whatever their length.
    Resource { attributes: convert_attributes(&resource.attributes, interner, true) }
}

fn convert_scope<'a>(scope: Option<&'a InstrumentationScope>, interner: &mut Interner<'a>) -> Scope {
    let Some(scope) = scope else { return Scope::default() };
    Scope {
        name: interner.name(&scope.name),
        version: interner.name(&scope.version),
        attributes: convert_attributes(&scope.attributes, interner, true),
    }
}

fn convert_span<'a>(
    otlp_span: &'a OtlpSpan,
    resource: &Arc<Resource>,
    scope: &Arc<Scope>,
    interner: &mut Interner<'a>,
) -> Result<Span, SpanRejection> {
    let (trace_id, span_id, parent_span_id) =
        check_span_ids(&otlp_span.trace_id, &otlp_span.span_id, &otlp_span.parent_span_id)?;
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        name: interner.name(&otlp_span.name),
        kind: SpanKind::from_i32(otlp_span.kind),
        status: convert_status(otlp_span.status.as_ref(), interner),
        start_time_unix_nano: otlp_span.start_time_unix_nano,
        end_time_unix_nano: otlp_span.end_time_unix_nano,
        attributes: convert_attributes(&otlp_span.attributes, interner, false),
        extra: SpanExtra::boxed(
            otlp_span
                .events
                .iter()
                .map(|event| Event {
                    time_unix_nano: event.time_unix_nano,
                    name: interner.name(&event.name),
                    attributes: convert_attributes(&event.attributes, interner, false),
                })
                .collect(),
            otlp_span
                .links
                .iter()
                .filter_map(|link| {
                    let (trace_id, span_id) = check_link_ids(&link.trace_id, &link.span_id)?;
                    Some(Link {
                        trace_id,
                        span_id,
                        attributes: convert_attributes(&link.attributes, interner, false),
                    })
                })
                .collect(),
        ),
        resource: resource.clone(),
        scope: scope.clone(),
    })
}

fn convert_status<'a>(status: Option<&'a OtlpStatus>, interner: &mut Interner<'a>) -> Status {
    match status {
        None => Status::default(),
        Some(status) => {
            Status { code: StatusCode::from_i32(status.code), message: interner.value(&status.message) }
        }
    }
}

fn convert_attributes<'a>(
    attributes: &'a [OtlpKeyValue],
    interner: &mut Interner<'a>,
    intern_all: bool,
) -> Box<[KeyValue]> {
    attributes
        .iter()
        .map(|kv| KeyValue {
            key: interner.name(&kv.key),
            value: convert_value(kv.value.as_ref(), interner, intern_all),
        })
        .collect()
}

fn convert_value<'a>(
    value: Option<&'a AnyValue>,
    interner: &mut Interner<'a>,
    intern_all: bool,
) -> AttributeValue {
    let Some(value) = value.and_then(|value| value.value.as_ref()) else { return AttributeValue::Empty };
    match value {
        any_value::Value::StringValue(text) => {
            AttributeValue::String(if intern_all { interner.intern(text) } else { interner.value(text) })
        }
        any_value::Value::BoolValue(value) => AttributeValue::Bool(*value),
        any_value::Value::IntValue(value) => AttributeValue::Int(*value),
        any_value::Value::DoubleValue(value) => AttributeValue::Double(*value),
        any_value::Value::BytesValue(bytes) => AttributeValue::bytes(bytes.as_slice()),
        any_value::Value::ArrayValue(array) => AttributeValue::array(
            array
                .values
                .iter()
                .map(|item| convert_value(Some(item), interner, intern_all))
                .collect::<Vec<_>>(),
        ),
        any_value::Value::KvlistValue(list) => {
            AttributeValue::map(convert_attributes(&list.values, interner, intern_all))
        }
        // A profiles-only string table reference: meaningless for traces, so treated as absent
        // as the OTLP spec asks.
        any_value::Value::StringValueStrindex(_) => AttributeValue::Empty,
    }
}

/// Decodes an OTLP JSON request: lowerCamelCase fields, hex trace and span IDs, 64-bit
/// integers as strings or numbers, enums (`kind`, `status.code`) by name or number.
///
/// Attribute values nest no deeper than the protobuf path allows (`MAX_VALUE_DEPTH`): the
/// store keeps these spans as protobuf and its reader would refuse them later.
///
/// # Errors
/// [`Error::Json`] when the text is not JSON, does not have the request's shape, or nests an
/// attribute value too deeply.
pub fn decode_json(bytes: &[u8]) -> Result<Batch, Error> {
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|err| Error::Json(err.to_string()))?;
    if !value.is_object() {
        return Err(Error::Json("expected a JSON object".to_string()));
    }
    // The generated serde code reads enums only as numbers; OTLP JSON allows their names too.
    normalise_enums(&mut value);
    let request: ExportTraceServiceRequest =
        serde_json::from_value(value).map_err(|err| Error::Json(err.to_string()))?;
    let batch = convert_request(&request);
    check_depth(&batch)?;
    Ok(batch)
}

/// Refuses a batch holding an attribute value nested deeper than the protobuf reader accepts.
/// Checked on the model, which is what gets encoded: every attribute, event and link value
/// and every array item becomes an `AnyValue` on the wire, each one level deeper.
fn check_depth(batch: &Batch) -> Result<(), Error> {
    fn fits(value: &AttributeValue, depth: u32) -> bool {
        depth <= MAX_VALUE_DEPTH
            && match value {
                AttributeValue::Array(items) => items.iter().all(|item| fits(item, depth + 1)),
                AttributeValue::Map(entries) => entries.iter().all(|entry| fits(&entry.value, depth + 1)),
                _ => true,
            }
    }
    let all_fit = |attributes: &[KeyValue]| attributes.iter().all(|kv| fits(&kv.value, 0));
    let mut checked: Option<(&Arc<Resource>, &Arc<Scope>)> = None;
    for span in &batch.spans {
        // Spans of one group share their resource and scope: check those once per run.
        let shared_checked = checked.is_some_and(|(resource, scope)| {
            Arc::ptr_eq(resource, &span.resource) && Arc::ptr_eq(scope, &span.scope)
        });
        let ok = (shared_checked || (all_fit(&span.resource.attributes) && all_fit(&span.scope.attributes)))
            && all_fit(&span.attributes)
            && span.events().iter().all(|event| all_fit(&event.attributes))
            && span.links().iter().all(|link| all_fit(&link.attributes));
        if !ok {
            return Err(Error::Json(format!(
                "span {}: attribute value nested more than {MAX_VALUE_DEPTH} levels deep (recursion limit reached)",
                span.span_id
            )));
        }
        checked = Some((&span.resource, &span.scope));
    }
    Ok(())
}

/// Rewrites `kind` and `status.code` enum names to their numbers in place.
fn normalise_enums(request: &mut serde_json::Value) {
    let spans = request
        .get_mut("resourceSpans")
        .and_then(serde_json::Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(|resource_spans| resource_spans.get_mut("scopeSpans")?.as_array_mut())
        .flatten()
        .filter_map(|scope_spans| scope_spans.get_mut("spans")?.as_array_mut())
        .flatten();
    for span in spans {
        if let Some(kind) = span.get_mut("kind") {
            if let Some(number) = kind.as_str().and_then(span::SpanKind::from_str_name) {
                *kind = serde_json::Value::from(number as i32);
            }
        }
        if let Some(code) = span.get_mut("status").and_then(|status| status.get_mut("code")) {
            if let Some(number) = code
                .as_str()
                .and_then(opentelemetry_proto::tonic::trace::v1::status::StatusCode::from_str_name)
            {
                *code = serde_json::Value::from(number as i32);
            }
        }
    }
}

fn response(outcome: &ExportOutcome) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse {
        partial_success: (outcome.rejections.n_spans > 0).then(|| partial_success(&outcome.rejections)),
    }
}

fn partial_success(rejections: &Rejections) -> ExportTracePartialSuccess {
    ExportTracePartialSuccess {
        rejected_spans: i64::try_from(rejections.n_spans).unwrap_or(i64::MAX),
        error_message: rejections.message(),
    }
}

/// The protobuf `ExportTraceServiceResponse` for an export.
pub fn encode_response_protobuf(outcome: &ExportOutcome) -> Vec<u8> {
    response(outcome).encode_to_vec()
}

/// The OTLP JSON `ExportTraceServiceResponse` for an export.
pub fn encode_response_json(outcome: &ExportOutcome) -> Vec<u8> {
    // Serialising plain generated structs cannot fail.
    serde_json::to_vec(&response(outcome)).unwrap_or_else(|_| b"{}".to_vec())
}

/// `google.rpc.Status`, the body OTLP/HTTP puts in error responses.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// An error response body (`google.rpc.Status`) in protobuf.
pub fn encode_error_protobuf(code: tonic::Code, message: &str) -> Vec<u8> {
    RpcStatus { code: code as i32, message: message.to_string() }.encode_to_vec()
}

/// An error response body (`google.rpc.Status`) in JSON.
pub fn encode_error_json(code: tonic::Code, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "code": code as i32, "message": message }))
        .unwrap_or_else(|_| b"{}".to_vec())
}

/// Decodes an `ExportTraceServiceResponse` (for clients and tests).
///
/// # Errors
/// [`Error::Protobuf`] when the bytes are not a response.
pub fn decode_response_protobuf(bytes: &[u8]) -> Result<(i64, String), Error> {
    let response =
        ExportTraceServiceResponse::decode(bytes).map_err(|err| Error::Protobuf(err.to_string()))?;
    Ok(response
        .partial_success
        .map_or((0, String::new()), |partial| (partial.rejected_spans, partial.error_message)))
}

/// A model span as the generated OTLP type (the inverse of the conversion above).
pub fn span_to_otlp(span: &Span) -> OtlpSpan {
    OtlpSpan {
        trace_id: span.trace_id.0.to_vec(),
        span_id: span.span_id.0.to_vec(),
        parent_span_id: span.parent_span_id.map(|id| id.0.to_vec()).unwrap_or_default(),
        name: span.name.to_string(),
        kind: span.kind as i32,
        start_time_unix_nano: span.start_time_unix_nano,
        end_time_unix_nano: span.end_time_unix_nano,
        attributes: attributes_to_otlp(&span.attributes),
        events: span
            .events()
            .iter()
            .map(|event| span::Event {
                time_unix_nano: event.time_unix_nano,
                name: event.name.to_string(),
                attributes: attributes_to_otlp(&event.attributes),
                dropped_attributes_count: 0,
            })
            .collect(),
        links: span
            .links()
            .iter()
            .map(|link| span::Link {
                trace_id: link.trace_id.0.to_vec(),
                span_id: link.span_id.0.to_vec(),
                attributes: attributes_to_otlp(&link.attributes),
                ..Default::default()
            })
            .collect(),
        status: Some(OtlpStatus { message: span.status.message.to_string(), code: span.status.code as i32 }),
        ..Default::default()
    }
}

/// Model attributes as the generated OTLP type.
pub fn attributes_to_otlp(attributes: &[KeyValue]) -> Vec<OtlpKeyValue> {
    attributes
        .iter()
        .map(|kv| OtlpKeyValue {
            key: kv.key.to_string(),
            value: Some(value_to_otlp(&kv.value)),
            ..Default::default()
        })
        .collect()
}

fn value_to_otlp(value: &AttributeValue) -> AnyValue {
    use any_value::Value;
    let value = match value {
        AttributeValue::String(text) => Some(Value::StringValue(text.to_string())),
        AttributeValue::Bool(flag) => Some(Value::BoolValue(*flag)),
        AttributeValue::Int(number) => Some(Value::IntValue(*number)),
        AttributeValue::Double(number) => Some(Value::DoubleValue(*number)),
        AttributeValue::Bytes(bytes) => Some(Value::BytesValue(bytes.to_vec())),
        AttributeValue::Array(items) => {
            Some(Value::ArrayValue(ArrayValue { values: items.iter().map(value_to_otlp).collect() }))
        }
        AttributeValue::Map(entries) => {
            Some(Value::KvlistValue(KeyValueList { values: attributes_to_otlp(entries) }))
        }
        AttributeValue::Empty => None,
    };
    AnyValue { value }
}
