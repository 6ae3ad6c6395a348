//! The protobuf wire decoder (`otlp::decode_protobuf`) against the reference path that
//! decodes with `opentelemetry-proto`'s generated prost types and converts
//! (`otlp::decode_protobuf_generated`): on the same bytes both must accept or refuse
//! alike and produce the same spans and rejections. The split path the receivers store from
//! (`otlp::split_request`, then `otlp::decode_spans` when read) is held to the same: it
//! refuses what they refuse, rejects what they reject, and its stored bytes decode to the
//! same spans. Also OTLP JSON decoding.

use model::otlp::{self, Batch};
use model::{AttributeValue, SpanKind, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.to_string(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn string(text: &str) -> any_value::Value {
    any_value::Value::StringValue(text.to_string())
}

/// A request exercising every field the model keeps.
fn rich_request() -> ExportTraceServiceRequest {
    let trace_id = vec![7u8; 16];
    let root = Span {
        trace_id: trace_id.clone(),
        span_id: vec![1; 8],
        trace_state: "k=v".into(),
        parent_span_id: vec![],
        flags: 1,
        name: "GET /users".into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_050_000_000,
        attributes: vec![
            kv("http.method", string("GET")),
            kv("http.status_code", any_value::Value::IntValue(200)),
            kv("ratio", any_value::Value::DoubleValue(0.25)),
            kv("cached", any_value::Value::BoolValue(true)),
            kv("blob", any_value::Value::BytesValue(vec![0, 1, 2, 255])),
            kv(
                "tags",
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue { value: Some(string("a")) },
                        AnyValue { value: Some(any_value::Value::IntValue(-3)) },
                        AnyValue { value: None },
                    ],
                }),
            ),
            kv(
                "nested",
                any_value::Value::KvlistValue(KeyValueList {
                    values: vec![
                        kv("inner", string("x")),
                        KeyValue { key: "none".into(), value: None, ..Default::default() },
                    ],
                }),
            ),
            kv("long", string(&"y".repeat(300))),
            kv("strindex", any_value::Value::StringValueStrindex(4)),
        ],
        dropped_attributes_count: 2,
        events: vec![span::Event {
            time_unix_nano: 1_700_000_000_010_000_000,
            name: "exception".into(),
            attributes: vec![kv("exception.message", string("boom"))],
            dropped_attributes_count: 0,
        }],
        dropped_events_count: 0,
        links: vec![
            span::Link {
                trace_id: vec![9; 16],
                span_id: vec![9; 8],
                trace_state: String::new(),
                attributes: vec![kv("link.kind", string("follows"))],
                dropped_attributes_count: 0,
                flags: 0,
            },
            // Malformed: dropped by both paths, the span kept.
            span::Link { trace_id: vec![9; 3], span_id: vec![9; 8], ..Default::default() },
        ],
        dropped_links_count: 0,
        status: Some(Status { message: "bad things".into(), code: 2 }),
    };
    let child = Span {
        trace_id: trace_id.clone(),
        span_id: vec![2; 8],
        parent_span_id: vec![1; 8],
        name: "SELECT users".into(),
        kind: span::SpanKind::Client as i32,
        attributes: vec![kv("db.system", string("postgresql"))],
        ..Default::default()
    };
    let zero_parent = Span { span_id: vec![3; 8], parent_span_id: vec![0; 8], ..child.clone() };
    let bad_trace = Span { trace_id: vec![1; 3], span_id: vec![4; 8], ..child.clone() };
    let zero_trace = Span { trace_id: vec![0; 16], span_id: vec![5; 8], ..child.clone() };
    let bad_span = Span { span_id: vec![6; 9], ..child.clone() };
    let bad_parent = Span { span_id: vec![8; 8], parent_span_id: vec![1; 2], ..child.clone() };
    ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", string("users")),
                        kv("host.name", string("box-1")),
                        kv("process.pid", any_value::Value::IntValue(42)),
                    ],
                    dropped_attributes_count: 0,
                    entity_refs: vec![],
                }),
                scope_spans: vec![
                    ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "tracer".into(),
                            version: "1.0".into(),
                            attributes: vec![kv("scope.attr", string("s"))],
                            dropped_attributes_count: 0,
                        }),
                        spans: vec![root, child, zero_parent, bad_trace, zero_trace, bad_span, bad_parent],
                        schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
                    },
                    ScopeSpans { scope: None, spans: vec![], schema_url: String::new() },
                ],
                schema_url: String::new(),
            },
            ResourceSpans {
                resource: None,
                scope_spans: vec![ScopeSpans {
                    scope: None,
                    spans: vec![Span {
                        trace_id: vec![8; 16],
                        span_id: vec![1; 8],
                        name: "orphan".into(),
                        ..Default::default()
                    }],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            },
        ],
    }
}

/// Both decoders and the split path on the same bytes agree; returns the wire decoder's result.
fn check_same(bytes: &[u8]) -> Result<Batch, otlp::Error> {
    let wire = otlp::decode_protobuf(bytes);
    let generated = otlp::decode_protobuf_generated(bytes);
    match (&wire, &generated) {
        (Ok(wire), Ok(generated)) => {
            assert_eq!(wire.spans, generated.spans, "spans differ");
            assert_eq!(wire.rejections, generated.rejections, "rejections differ");
        }
        (Err(_), Err(_)) => {}
        _ => panic!("decoders disagree on {bytes:02x?}: wire {wire:?}, generated {generated:?}"),
    }
    match (&wire, otlp::split_request(bytes)) {
        (Ok(wire), Ok(split)) => {
            assert_eq!(wire.rejections, split.rejections, "split rejections differ");
            let mut stored: Vec<model::Span> = Vec::new();
            for group in &split.groups {
                let mut bytes = Vec::new();
                for span in &group.spans {
                    otlp::append_span_field(&mut bytes, span.bytes);
                }
                let before = stored.len();
                otlp::decode_spans(&bytes, &group.resource, &group.scope, &mut stored)
                    .expect("stored spans decode");
                let ids: Vec<_> = group.spans.iter().map(|span| (span.trace_id, span.span_id)).collect();
                let decoded: Vec<_> =
                    stored[before..].iter().map(|span| (span.trace_id, span.span_id)).collect();
                assert_eq!(ids, decoded, "split IDs differ from the decoded ones");
            }
            assert_eq!(wire.spans, stored, "split spans decode differently");
        }
        (Err(_), Err(_)) => {}
        (wire, split) => panic!("split disagrees on {bytes:02x?}: wire {wire:?}, split {split:?}"),
    }
    wire
}

#[test]
fn rich_request_decodes_the_same_both_ways() {
    let bytes = rich_request().encode_to_vec();
    let batch = check_same(&bytes).expect("valid request");
    assert_eq!(batch.spans.len(), 4);
    assert_eq!(batch.rejections.n_spans, 4);
    let message = batch.rejections.message();
    assert!(message.starts_with("rejected 4 spans: "), "{message}");
    assert!(message.contains("1 with invalid trace id (expected 16 bytes, found 3)"), "{message}");
    assert!(message.contains("1 with invalid trace id (id is all zeros)"), "{message}");
    assert!(message.contains("1 with invalid span id (expected 8 bytes, found 9)"), "{message}");
    assert!(message.contains("1 with invalid parent span id (expected 8 bytes, found 2)"), "{message}");

    let root = &batch.spans[0];
    assert_eq!(root.name.as_ref(), "GET /users");
    assert_eq!(root.kind, SpanKind::Server);
    assert_eq!(root.status.code, StatusCode::Error);
    assert_eq!(root.service_name(), Some("users"));
    assert_eq!(root.scope.name.as_ref(), "tracer");
    assert_eq!(root.attribute("http.status_code"), Some(&AttributeValue::Int(200)));
    assert_eq!(root.attribute("strindex"), Some(&AttributeValue::Empty));
    assert!(matches!(root.attribute("tags"), Some(AttributeValue::Array(items)) if items.len() == 3));
    assert!(matches!(root.attribute("nested"), Some(AttributeValue::Map(entries)) if entries.len() == 2));
    assert_eq!(root.links().len(), 1);
    assert_eq!(root.events().len(), 1);
    assert_eq!(batch.spans[1].parent_span_id, Some(model::SpanId([1; 8])));
    assert_eq!(batch.spans[2].parent_span_id, None, "an all-zero parent means no parent");
    // Resource and scope are shared by the spans of a batch, not copied.
    assert!(std::sync::Arc::ptr_eq(&batch.spans[0].resource, &batch.spans[1].resource));
    // Repeated names and keys are interned: one allocation each per batch.
    assert!(model::Str::ptr_eq(&batch.spans[1].name, &batch.spans[2].name));
    assert!(model::Str::ptr_eq(&batch.spans[1].attributes[0].key, &batch.spans[2].attributes[0].key));
}

// Hand-assembled wire bytes, for what prost never writes itself.

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn key(field: u32, wire_type: u8, out: &mut Vec<u8>) {
    varint(u64::from(field) << 3 | u64::from(wire_type), out);
}

fn len_field(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
    key(field, 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// Every kind of unknown field: varint, fixed64, length-delimited, fixed32, and a group
/// with a nested group.
fn unknown_fields() -> Vec<u8> {
    let mut out = Vec::new();
    key(90, 0, &mut out);
    varint(300, &mut out);
    key(91, 1, &mut out);
    out.extend_from_slice(&[1; 8]);
    len_field(92, b"ignored", &mut out);
    key(93, 5, &mut out);
    out.extend_from_slice(&[2; 4]);
    key(94, 3, &mut out);
    key(1, 0, &mut out);
    varint(5, &mut out);
    key(95, 3, &mut out);
    key(95, 4, &mut out);
    key(94, 4, &mut out);
    out
}

#[test]
fn unknown_fields_are_skipped_at_every_level() {
    let request = rich_request();
    let resource_spans = &request.resource_spans[0];
    let scope_spans = &resource_spans.scope_spans[0];
    let mut span_bytes = unknown_fields();
    span_bytes.extend(scope_spans.spans[0].encode_to_vec());
    span_bytes.extend(unknown_fields());

    let mut scope_bytes = Vec::new();
    // Spans before the scope: the decoder must still give them the scope.
    len_field(2, &span_bytes, &mut scope_bytes);
    scope_bytes.extend(unknown_fields());
    len_field(1, &scope_spans.scope.as_ref().unwrap().encode_to_vec(), &mut scope_bytes);
    len_field(2, &scope_spans.spans[1].encode_to_vec(), &mut scope_bytes);

    let mut resource_bytes = Vec::new();
    len_field(2, &scope_bytes, &mut resource_bytes);
    let mut resource = resource_spans.resource.as_ref().unwrap().encode_to_vec();
    resource.extend(unknown_fields());
    len_field(1, &resource, &mut resource_bytes);

    let mut request_bytes = unknown_fields();
    len_field(1, &resource_bytes, &mut request_bytes);
    request_bytes.extend(unknown_fields());

    let batch = check_same(&request_bytes).expect("unknown fields are fine");
    assert_eq!(batch.spans.len(), 2);
    assert_eq!(batch.spans[0].scope.name.as_ref(), "tracer");
    assert_eq!(batch.spans[0].service_name(), Some("users"));
}

#[test]
fn malformed_bytes_are_refused_by_both() {
    let bytes = rich_request().encode_to_vec();
    // Every truncation: both decoders refuse or agree on what they got.
    for len in 0..bytes.len() {
        let _ = check_same(&bytes[..len]);
    }
    let mut cases: Vec<Vec<u8>> = vec![
        vec![0x0a, 0x05, 0x01], // length past the end
        vec![0x0a],             // missing length
        vec![0x00, 0x01],       // field 0
        vec![0x0f],             // wire type 7
        vec![0x08, 0x01],       // resource_spans as a varint
        vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // 11-byte varint
        vec![0x1c],             // stray end group
    ];
    // A span name that is not UTF-8.
    let mut span = Vec::new();
    len_field(1, &[7; 16], &mut span);
    len_field(2, &[1; 8], &mut span);
    len_field(5, &[0xff, 0xfe], &mut span);
    let mut scope = Vec::new();
    len_field(2, &span, &mut scope);
    let mut resource = Vec::new();
    len_field(2, &scope, &mut resource);
    let mut request = Vec::new();
    len_field(1, &resource, &mut request);
    cases.push(request);
    for case in cases {
        let result = check_same(&case);
        assert!(result.is_err(), "accepted malformed {case:02x?}");
    }
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let mut value = AnyValue { value: Some(string("leaf")) };
    for _ in 0..2000 {
        value = AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![value] })) };
    }
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue { key: "deep".into(), value: Some(value), ..Default::default() }],
                ..Default::default()
            }),
            scope_spans: vec![],
            schema_url: String::new(),
        }],
    };
    let bytes = request.encode_to_vec();
    assert!(otlp::decode_protobuf(&bytes).is_err());
    assert!(otlp::split_request(&bytes).is_err());
    std::mem::forget(request); // dropping 2000 nested boxes recursively is the test's problem, not ours
}

/// A random but valid request (seeded, so failures reproduce).
fn random_request(rng: &mut StdRng) -> ExportTraceServiceRequest {
    fn random_value(rng: &mut StdRng, depth: u32) -> AnyValue {
        let pick = rng.random_range(0..if depth > 2 { 6 } else { 8 });
        let value = match pick {
            0 => Some(string(
                ["GET", "POST", "a much longer value that will not be interned by the decoder at all, no"]
                    [rng.random_range(0..3)],
            )),
            1 => Some(any_value::Value::BoolValue(rng.random())),
            2 => Some(any_value::Value::IntValue(rng.random())),
            3 => Some(any_value::Value::DoubleValue(rng.random())),
            4 => Some(any_value::Value::BytesValue(
                (0..rng.random_range(0..5)).map(|_| rng.random()).collect(),
            )),
            5 => None,
            6 => Some(any_value::Value::ArrayValue(ArrayValue {
                values: (0..rng.random_range(0..4)).map(|_| random_value(rng, depth + 1)).collect(),
            })),
            _ => Some(any_value::Value::KvlistValue(KeyValueList {
                values: (0..rng.random_range(0..4))
                    .map(|i| KeyValue {
                        key: format!("k{i}"),
                        value: Some(random_value(rng, depth + 1)),
                        ..Default::default()
                    })
                    .collect(),
            })),
        };
        AnyValue { value }
    }
    fn attributes(rng: &mut StdRng) -> Vec<KeyValue> {
        (0..rng.random_range(0..6))
            .map(|i| KeyValue {
                key: format!("attr.{i}"),
                value: Some(random_value(rng, 0)),
                ..Default::default()
            })
            .collect()
    }
    fn id(rng: &mut StdRng, len: usize) -> Vec<u8> {
        // Mostly valid, sometimes the wrong length or zero.
        match rng.random_range(0..20) {
            0 => vec![0; len],
            1 => vec![1; len + 1],
            _ => (0..len).map(|_| rng.random_range(1..=255)).collect(),
        }
    }
    ExportTraceServiceRequest {
        resource_spans: (0..rng.random_range(1..3))
            .map(|_| ResourceSpans {
                resource: rng
                    .random_bool(0.8)
                    .then(|| Resource { attributes: attributes(rng), ..Default::default() }),
                scope_spans: (0..rng.random_range(1..3))
                    .map(|_| ScopeSpans {
                        scope: rng.random_bool(0.5).then(|| InstrumentationScope {
                            name: "scope".into(),
                            version: "v".into(),
                            attributes: attributes(rng),
                            dropped_attributes_count: 0,
                        }),
                        spans: (0..rng.random_range(0..6))
                            .map(|i| Span {
                                trace_id: id(rng, 16),
                                span_id: id(rng, 8),
                                parent_span_id: if rng.random() { id(rng, 8) } else { vec![] },
                                name: format!("span {}", i % 3),
                                kind: rng.random_range(0..7),
                                start_time_unix_nano: rng.random(),
                                end_time_unix_nano: rng.random(),
                                attributes: attributes(rng),
                                events: (0..rng.random_range(0..2))
                                    .map(|_| span::Event {
                                        time_unix_nano: rng.random(),
                                        name: "event".into(),
                                        attributes: attributes(rng),
                                        dropped_attributes_count: 0,
                                    })
                                    .collect(),
                                links: (0..rng.random_range(0..2))
                                    .map(|_| span::Link {
                                        trace_id: id(rng, 16),
                                        span_id: id(rng, 8),
                                        attributes: attributes(rng),
                                        ..Default::default()
                                    })
                                    .collect(),
                                status: rng
                                    .random_bool(0.5)
                                    .then(|| Status { message: "m".into(), code: rng.random_range(0..4) }),
                                ..Default::default()
                            })
                            .collect(),
                        schema_url: String::new(),
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect(),
    }
}

#[test]
fn random_requests_and_mutations_decode_the_same_both_ways() {
    let mut rng = StdRng::seed_from_u64(0x7ace_c4ec);
    for _ in 0..300 {
        let bytes = random_request(&mut rng).encode_to_vec();
        check_same(&bytes).expect("valid request");
        if bytes.is_empty() {
            continue;
        }
        // Flip a few random bytes: both must refuse alike or produce the same spans.
        for _ in 0..10 {
            let mut mutated = bytes.clone();
            for _ in 0..rng.random_range(1..4) {
                let index = rng.random_range(0..mutated.len());
                mutated[index] = rng.random();
            }
            let _ = check_same(&mutated);
        }
    }
}

#[test]
fn otlp_json_with_hex_ids_string_ints_and_enum_names() {
    // Hex IDs in either case, 64-bit integers as strings or numbers, enum names or numbers,
    // an unknown field, and a span with an all-zero trace ID (rejected).
    let json = crate::support::read_fixture("otlp/hex-ids-string-ints-enum-names.json");
    let batch = otlp::decode_json(json.as_bytes()).expect("valid OTLP JSON");
    assert_eq!(batch.spans.len(), 2);
    assert_eq!(batch.rejections.n_spans, 1);
    let root = &batch.spans[0];
    assert_eq!(root.trace_id.to_string(), "5b8efff798038103d269b633813fc60c");
    assert_eq!(root.kind, SpanKind::Server);
    assert_eq!(root.status.code, StatusCode::Error);
    assert_eq!(root.start_time_unix_nano, 1_544_712_660_000_000_000);
    assert_eq!(root.end_time_unix_nano, 1_544_712_661_000_000_000);
    assert_eq!(root.attribute("n"), Some(&AttributeValue::Int(42)));
    assert_eq!(root.attribute("m"), Some(&AttributeValue::Int(7)));
    assert_eq!(root.attribute("d"), Some(&AttributeValue::Double(1.5)));
    assert_eq!(root.attribute("b"), Some(&AttributeValue::Bool(true)));
    assert_eq!(root.service_name(), Some("checkout"));
    let child = &batch.spans[1];
    assert_eq!(child.kind, SpanKind::Client);
    assert_eq!(child.status.code, StatusCode::Ok);
    assert_eq!(child.parent_span_id, Some(root.span_id));

    for bad in [&b"{"[..], b"[]", br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}"#] {
        assert!(matches!(otlp::decode_json(bad), Err(otlp::Error::Json(_))), "{bad:?}");
    }
}
