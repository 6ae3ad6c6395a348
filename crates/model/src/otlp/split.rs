//! The split half of the codec: validates an OTLP `ExportTraceServiceRequest` and splits it
//! into its valid spans' bytes, building nothing but the shared resources and scopes. That is
//! all a receiver does before the store, which keeps the bytes as `ScopeSpans.spans` fields
//! ([`append_span_field`]) and decodes them when a trace is read ([`super::decode_spans`]).
//!
//! Each check here is the one its building counterpart in [`super::decode`] makes, in the
//! same order, with the same errors (tests and the `otlp_wire` fuzz target hold it to the
//! decoder on random and mutated requests), so a request is either refused whole here or
//! every span it stores decodes later.

use std::sync::Arc;

use super::decode::Decoder;
use super::reader::{
    check_utf8, each_item, expect, is_ascii, utf8, Reader, Result, WireError, I32, I64, LEN, MAX_VALUE_DEPTH,
    VARINT,
};
use super::{check_span_ids, Error, Rejections, SpanPeek, SpanRejection};
use crate::{Resource, Scope, SpanId, SpanKind, StatusCode, TraceId};

/// Splits a request into its valid spans' wire bytes, grouped by resource and scope, without
/// building the spans: what the store keeps (it decodes a trace when it is read).
///
/// Accepts and rejects exactly what [`decode_request`] does (the tests hold it to that), so
/// a request is either refused whole here or every span it stores decodes later. Resources
/// and scopes are decoded (once per group) since they are shared by many spans.
///
/// # Errors
/// [`Error::Protobuf`] when the bytes are not a valid message; nothing is returned then.
pub fn split_request(bytes: &[u8]) -> std::result::Result<RawBatch<'_>, Error> {
    let mut decoder = Decoder::new(0, true);
    decoder.request(bytes).map_err(|err| Error::Protobuf(err.0))?;
    Ok(decoder.raw)
}

/// Checks one `Span` message's bytes as the split does: what the store runs over the spans it
/// encodes itself, so that it never holds bytes its own reader refuses.
///
/// # Errors
/// [`Error::Protobuf`] when the bytes are malformed or the span's IDs are.
pub fn check_span(bytes: &[u8]) -> std::result::Result<SpanPeek<'_>, Error> {
    match validate_span(bytes) {
        Ok(Ok((_, _, peek))) => Ok(peek),
        Ok(Err(reason)) => Err(Error::Protobuf(reason.to_string())),
        Err(err) => Err(Error::Protobuf(err.0)),
    }
}

/// Appends `span` (a `Span` message's bytes) to `out` as a `ScopeSpans.spans` field, the form
/// [`decode_spans`] reads.
pub fn append_span_field(out: &mut Vec<u8>, span: &[u8]) {
    out.push(0x12); // field 2, wire type LEN
    let mut len = span.len() as u64;
    while len >= 0x80 {
        out.push((len as u8) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(span);
}

/// The bytes [`append_span_field`] adds for a span of `len` bytes.
pub fn span_field_len(len: usize) -> usize {
    let mut varint = 1;
    let mut rest = len >> 7;
    while rest > 0 {
        varint += 1;
        rest >>= 7;
    }
    1 + varint + len
}

/// The span IDs of spans stored as [`append_span_field`] left them, appended to `out` in
/// order, without decoding anything else: the store drops a compacted trace's ID list and
/// reads it back from the block should a late span of the trace arrive (issue 23).
///
/// # Errors
/// [`Error::Protobuf`] when the bytes are not such fields.
pub fn stored_span_ids(bytes: &[u8], out: &mut Vec<SpanId>) -> std::result::Result<(), Error> {
    let mut run = || -> Result<()> {
        let mut fields = Reader::new(bytes);
        while fields.has_more() {
            let (field, wire_type) = fields.key()?;
            expect(wire_type, LEN)?;
            if field != 2 {
                return Err(WireError::new(format!("unexpected field {field} among stored spans")));
            }
            let mut span = Reader::new(fields.bytes()?);
            // The last occurrence counts, as in the split's validation.
            let mut id: &[u8] = &[];
            while span.has_more() {
                let (field, wire_type) = span.key()?;
                if field == 2 && wire_type == LEN {
                    id = span.bytes()?;
                } else {
                    span.skip(field, wire_type)?;
                }
            }
            out.push(SpanId(id.try_into().map_err(|_| WireError::new("malformed stored span ID"))?));
        }
        Ok(())
    };
    run().map_err(|err| Error::Protobuf(err.0))
}

/// A request split by [`split_request`]: its valid spans' bytes and what was rejected.
#[derive(Debug, Default)]
pub struct RawBatch<'a> {
    pub groups: Vec<RawGroup<'a>>,
    pub rejections: Rejections,
}

impl RawBatch<'_> {
    /// Valid spans in the batch.
    pub fn n_spans(&self) -> usize {
        self.groups.iter().map(|group| group.spans.len()).sum()
    }
}

/// Spans of one resource and scope, in request order.
#[derive(Debug)]
pub struct RawGroup<'a> {
    pub resource: Arc<Resource>,
    pub scope: Arc<Scope>,
    pub spans: Vec<RawSpan<'a>>,
}

/// One valid span: its IDs, checked, its `Span` message's bytes, and what the store
/// indexes of it.
#[derive(Debug, Clone, Copy)]
pub struct RawSpan<'a> {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub bytes: &'a [u8],
    pub peek: SpanPeek<'a>,
}

/// A span's IDs when they are well formed (`Ok(Err(reason))` otherwise, as
/// [`Decoder::span`]), after checking the whole message.
/// What the store indexes of the span ([`SpanPeek`]) is read on the way, so that it need
/// not parse the span again (issue 23).
pub(super) fn validate_span(
    bytes: &[u8],
) -> Result<std::result::Result<(TraceId, SpanId, SpanPeek<'_>), SpanRejection>> {
    let mut trace_id: &[u8] = &[];
    let mut span_id: &[u8] = &[];
    let mut parent_span_id: &[u8] = &[];
    let mut peek = SpanPeek::default();
    let mut reader = Reader::new(bytes);
    while reader.has_more() {
        let (field, wire_type) = reader.key()?;
        match field {
            1 => {
                expect(wire_type, LEN)?;
                trace_id = reader.bytes()?;
            }
            2 => {
                expect(wire_type, LEN)?;
                span_id = reader.bytes()?;
            }
            4 => {
                expect(wire_type, LEN)?;
                parent_span_id = reader.bytes()?;
            }
            3 => {
                expect(wire_type, LEN)?;
                check_utf8(reader.bytes()?)?;
            }
            5 => {
                expect(wire_type, LEN)?;
                peek.name = utf8(reader.bytes()?)?;
            }
            6 => {
                expect(wire_type, VARINT)?;
                peek.kind = SpanKind::from_i32(reader.varint()? as i32);
            }
            10 | 12 | 14 => {
                expect(wire_type, VARINT)?;
                reader.varint()?;
            }
            7 => {
                expect(wire_type, I64)?;
                peek.start_time_unix_nano = reader.fixed64()?;
            }
            8 => {
                expect(wire_type, I64)?;
                peek.end_time_unix_nano = reader.fixed64()?;
            }
            9 => {
                expect(wire_type, LEN)?;
                let attribute = reader.bytes()?;
                if !plain_key_value(attribute) {
                    validate_key_value(attribute, 0)?;
                }
            }
            11 => {
                expect(wire_type, LEN)?;
                validate_event(reader.bytes()?)?;
            }
            13 => {
                expect(wire_type, LEN)?;
                validate_link(reader.bytes()?)?;
            }
            15 => {
                expect(wire_type, LEN)?;
                peek.status = validate_status(reader.bytes()?)?;
            }
            16 => {
                expect(wire_type, I32)?;
                reader.fixed32()?;
            }
            _ => reader.skip(field, wire_type)?,
        }
    }
    peek.has_parent = parent_span_id.iter().any(|&byte| byte != 0);
    Ok(check_span_ids(trace_id, span_id, parent_span_id)
        .map(|(trace_id, span_id, _)| (trace_id, span_id, peek)))
}

/// Checks a `Status` message; returns its code.
fn validate_status(bytes: &[u8]) -> Result<StatusCode> {
    let mut code = StatusCode::Unset;
    let mut reader = Reader::new(bytes);
    while reader.has_more() {
        match reader.key()? {
            (2, wire_type) => {
                expect(wire_type, LEN)?;
                check_utf8(reader.bytes()?)?;
            }
            (3, wire_type) => {
                expect(wire_type, VARINT)?;
                code = StatusCode::from_i32(reader.varint()? as i32);
            }
            (field, wire_type) => reader.skip(field, wire_type)?,
        }
    }
    Ok(code)
}

fn validate_event(bytes: &[u8]) -> Result<()> {
    let mut reader = Reader::new(bytes);
    while reader.has_more() {
        match reader.key()? {
            (1, wire_type) => {
                expect(wire_type, I64)?;
                reader.fixed64()?;
            }
            (2, wire_type) => {
                expect(wire_type, LEN)?;
                check_utf8(reader.bytes()?)?;
            }
            (3, wire_type) => {
                expect(wire_type, LEN)?;
                validate_key_value(reader.bytes()?, 0)?;
            }
            (4, wire_type) => {
                expect(wire_type, VARINT)?;
                reader.varint()?;
            }
            (field, wire_type) => reader.skip(field, wire_type)?,
        }
    }
    Ok(())
}

fn validate_link(bytes: &[u8]) -> Result<()> {
    let mut reader = Reader::new(bytes);
    while reader.has_more() {
        match reader.key()? {
            (1 | 2, wire_type) => {
                expect(wire_type, LEN)?;
                reader.bytes()?;
            }
            (3, wire_type) => {
                expect(wire_type, LEN)?;
                check_utf8(reader.bytes()?)?;
            }
            (4, wire_type) => {
                expect(wire_type, LEN)?;
                validate_key_value(reader.bytes()?, 0)?;
            }
            (5, wire_type) => {
                expect(wire_type, VARINT)?;
                reader.varint()?;
            }
            (6, wire_type) => {
                expect(wire_type, I32)?;
                reader.fixed32()?;
            }
            (field, wire_type) => reader.skip(field, wire_type)?,
        }
    }
    Ok(())
}

/// Whether `bytes` is a `KeyValue` of the shape nearly every attribute has, valid: an ASCII
/// key of under 128 bytes, then a value of under 128 bytes holding one ASCII string of under
/// 128 bytes, a bool, an int or a double, fields in that order and nothing else. Checked
/// byte by byte without the general walk (issue 23: validation was a fifth of the server's
/// time); `false` says nothing, and [`validate_key_value`] decides.
#[inline(always)]
fn plain_key_value(bytes: &[u8]) -> bool {
    let [0x0a, key_len, rest @ ..] = bytes else { return false };
    let Some((key, rest)) = rest.split_at_checked(usize::from(*key_len)) else { return false };
    let [0x12, value_len, value @ ..] = rest else { return false };
    if *key_len >= 0x80 || *value_len >= 0x80 || value.len() != usize::from(*value_len) || !is_ascii(key) {
        return false;
    }
    match value {
        [] => true,
        [0x0a, len, string @ ..] => *len < 0x80 && string.len() == usize::from(*len) && is_ascii(string),
        // bool_value, int_value: one varint (at most 10 bytes, the 10th 0 or 1), ending the value.
        [0x10 | 0x18, varint @ ..] => match varint.split_last() {
            Some((&last, high)) => {
                last < 0x80
                    && high.iter().all(|&byte| byte >= 0x80)
                    && (high.len() < 9 || (high.len() == 9 && last <= 1))
            }
            None => false,
        },
        // double_value: fixed 8 bytes.
        [0x21, double @ ..] => double.len() == 8,
        _ => false,
    }
}

fn validate_key_value(bytes: &[u8], depth: u32) -> Result<()> {
    let mut reader = Reader::new(bytes);
    while reader.has_more() {
        match reader.key()? {
            (1, wire_type) => {
                expect(wire_type, LEN)?;
                check_utf8(reader.bytes()?)?;
            }
            (2, wire_type) => {
                expect(wire_type, LEN)?;
                validate_any_value(reader.bytes()?, depth)?;
            }
            (3, wire_type) => {
                expect(wire_type, VARINT)?;
                reader.varint()?;
            }
            (field, wire_type) => reader.skip(field, wire_type)?,
        }
    }
    Ok(())
}

fn validate_any_value(bytes: &[u8], depth: u32) -> Result<()> {
    if depth > MAX_VALUE_DEPTH {
        return Err(WireError::new("recursion limit reached"));
    }
    let mut reader = Reader::new(bytes);
    while reader.has_more() {
        let (field, wire_type) = reader.key()?;
        match field {
            1 => {
                expect(wire_type, LEN)?;
                check_utf8(reader.bytes()?)?;
            }
            2 | 3 | 8 => {
                expect(wire_type, VARINT)?;
                reader.varint()?;
            }
            4 => {
                expect(wire_type, I64)?;
                reader.fixed64()?;
            }
            5 => {
                expect(wire_type, LEN)?;
                each_item(reader.bytes()?, |item| validate_any_value(item, depth + 1))?;
            }
            6 => {
                expect(wire_type, LEN)?;
                each_item(reader.bytes()?, |item| validate_key_value(item, depth + 1))?;
            }
            7 => {
                expect(wire_type, LEN)?;
                reader.bytes()?;
            }
            _ => reader.skip(field, wire_type)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
    use prost::Message;

    fn encoded(key: &str, value: Option<Value>) -> Vec<u8> {
        KeyValue { key: key.to_string(), value: Some(AnyValue { value }), ..Default::default() }
            .encode_to_vec()
    }

    #[test]
    fn plain_attributes_take_the_short_check_and_others_the_walk() {
        for value in [
            Value::StringValue("GET".into()),
            Value::IntValue(0),
            Value::IntValue(200),
            Value::IntValue(i64::MAX),
            Value::IntValue(-1),
            Value::BoolValue(true),
            Value::DoubleValue(0.25),
        ] {
            let bytes = encoded("http.request.method", Some(value.clone()));
            assert!(plain_key_value(&bytes), "{value:?}");
        }
        assert!(plain_key_value(&encoded("empty", None)));
        // Not the plain shape: the general walk decides.
        for bytes in [
            encoded("clé", Some(Value::StringValue("x".into()))),
            encoded("k", Some(Value::StringValue("é".into()))),
            encoded("k", Some(Value::StringValue("x".repeat(200)))),
            encoded("k", Some(Value::BytesValue(vec![1, 2]))),
        ] {
            assert!(!plain_key_value(&bytes));
            assert!(validate_key_value(&bytes, 0).is_ok());
        }
        // A varint running past 10 bytes, a truncated value, a trailing field: refused by
        // the walk, never accepted by the short check.
        let too_long =
            [0x0a, 1, b'k', 0x12, 12, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        let truncated = [0x0a, 1, b'k', 0x12, 3, 0x0a, 5, b'a'];
        let mut trailing = encoded("k", Some(Value::IntValue(1)));
        trailing.extend([0x1a, 0x01]);
        for bytes in [&too_long[..], &truncated[..], &trailing[..]] {
            assert!(!plain_key_value(bytes));
            assert_eq!(validate_key_value(bytes, 0).is_ok(), KeyValue::decode(bytes).is_ok(), "{bytes:?}");
        }
    }

    proptest::proptest! {
        /// Whatever the short check accepts, the walk and prost accept too.
        #[test]
        fn the_short_check_accepts_nothing_the_walk_refuses(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
            key_len in 0u8..6,
            tag in proptest::sample::select(vec![0x0au8, 0x10, 0x18, 0x21, 0x2a, 0x12]),
        ) {
            // Biased towards the plain shape: a key, then a value's header, then anything.
            let mut kv = vec![0x0a, key_len];
            kv.extend(std::iter::repeat_n(b'k', usize::from(key_len)));
            kv.extend([0x12, bytes.len() as u8 + 1, tag]);
            kv.extend(&bytes);
            for candidate in [&kv[..], &bytes[..]] {
                if plain_key_value(candidate) {
                    proptest::prop_assert!(validate_key_value(candidate, 0).is_ok(), "{candidate:?}");
                    proptest::prop_assert!(KeyValue::decode(candidate).is_ok(), "{candidate:?}");
                }
            }
        }
    }
}
