//! The building half of the codec: decodes wire bytes straight into model spans without
//! building the generated structs first (the store's reads, the control API's client), and
//! walks requests for the split ([`super::split`]) too, which shares every step above a span.
//!
//! It accepts and rejects exactly what the generated types do (tests hold it to
//! [`super::decode_protobuf_generated`] on the same bytes): repeated fields append, a
//! resource, scope or status that occurs twice is merged, and a scalar or an attribute value
//! that occurs twice keeps the last one (prost would merge two `array_value`s of one
//! `AnyValue`; no exporter writes that). Strings that repeat within the request are interned,
//! and the resource and scope are decoded once and shared by their spans through an `Arc`.
//! It knows the OTLP field numbers and nothing of the store or the network.

use std::sync::Arc;

use super::intern::{Interner, Recent};
use super::reader::{
    each_item, expect, utf8, Reader, Result, WireError, I32, I64, LEN, MAX_VALUE_DEPTH, N_ATTRIBUTE_SLOTS,
    VARINT,
};
use super::split::{validate_span, RawBatch, RawGroup, RawSpan};
use super::{check_link_ids, check_span_ids, Batch, Error, SpanRejection};
use crate::{
    empty_str, AttributeValue, Event, KeyValue, Link, Resource, Scope, Span, SpanExtra, SpanKind, Status,
    StatusCode, Str,
};

/// Decodes a whole request into spans, rejecting spans with malformed IDs.
///
/// # Errors
/// [`Error::Protobuf`] when the bytes are not a valid message; nothing is returned then.
pub fn decode_protobuf(bytes: &[u8]) -> std::result::Result<Batch, Error> {
    let mut decoder = Decoder::new(bytes.len(), false);
    decoder.request(bytes).map_err(|err| Error::Protobuf(err.0))?;
    Ok(decoder.batch)
}

/// Decodes spans stored as [`split_request`] left them: consecutive `ScopeSpans.spans`
/// fields (tag, length, `Span` message), all of `resource` and `scope`. Spans with malformed
/// IDs are skipped (the store never holds any). Each span is pushed as a `T`: the store
/// reads into `Arc<Span>`s, each built where it lands rather than moved there.
///
/// # Errors
/// [`Error::Protobuf`] when the bytes are not such fields.
pub fn decode_spans<T: From<Span>>(
    bytes: &[u8],
    resource: &Arc<Resource>,
    scope: &Arc<Scope>,
    out: &mut Vec<T>,
) -> std::result::Result<(), Error> {
    decode_spans_range(bytes, resource, scope, 0..usize::MAX, out).map(|_| ())
}

/// As [`decode_spans`], for the spans at positions `range` of these bytes only: the others
/// are stepped over by their length, never decoded (a page of a huge trace costs its own
/// spans). Returns how many spans the bytes hold, so that a caller reading several runs of
/// stored spans can move its range on.
///
/// # Errors
/// [`Error::Protobuf`] when the bytes are not such fields.
pub fn decode_spans_range<T: From<Span>>(
    bytes: &[u8],
    resource: &Arc<Resource>,
    scope: &Arc<Scope>,
    range: std::ops::Range<usize>,
    out: &mut Vec<T>,
) -> std::result::Result<usize, Error> {
    let mut decoder = Decoder::new(0, false);
    let mut reader = Reader::new(bytes);
    let mut n_spans = 0;
    let mut run = || -> Result<()> {
        while reader.has_more() {
            let (field, wire_type) = reader.key()?;
            expect(wire_type, LEN)?;
            if field != 2 {
                return Err(WireError::new(format!("unexpected field {field} among stored spans")));
            }
            let span = reader.bytes()?;
            if range.contains(&n_spans) {
                if let Ok(span) = decoder.span(span, resource, scope)? {
                    out.push(T::from(span));
                }
            }
            n_spans += 1;
        }
        Ok(())
    };
    run().map_err(|err| Error::Protobuf(err.0))?;
    Ok(n_spans)
}

/// The state of one request's decoding; the vectors are scratch space reused per span so that
/// each span's slices are allocated once at their exact size.
pub(super) struct Decoder<'a> {
    interner: Interner<'a>,
    /// Split mode ([`split_request`]): spans are validated and collected into `raw`
    /// instead of decoded into `batch`.
    split: bool,
    batch: Batch,
    pub(super) raw: RawBatch<'a>,
    /// The previous span's attribute count: spans of a batch mostly have the same layout, so
    /// a vector of that capacity usually becomes the span's boxed slice without a copy.
    attributes_hint: usize,
    events: Vec<Event>,
    links: Vec<Link>,
    recent_names: Recent<'a, 8>,
    /// Per span attribute position: its recent keys and recent string values.
    recent_keys: Vec<Recent<'a, 2>>,
    recent_values: Vec<Recent<'a, 8>>,
}

/// Where an attribute sits, which decides how its strings are shared.
#[derive(Clone, Copy)]
enum Place {
    /// Resource and scope attributes: every string interned (they repeat across batches).
    Resource,
    /// A span's own attribute at this position: recent-string caches, keys interned.
    Span(usize),
    /// Anything else (events, links, nested values): keys and short values interned.
    Other,
}

impl<'a> Decoder<'a> {
    pub(super) fn new(request_len: usize, split: bool) -> Self {
        Decoder {
            interner: Interner::new(),
            split,
            // Spans are about 300-400 bytes on the wire; reserve for that once.
            batch: Batch { spans: Vec::with_capacity(request_len / 320 + 1), ..Batch::default() },
            raw: RawBatch::default(),
            attributes_hint: 0,
            events: Vec::new(),
            links: Vec::new(),
            recent_names: Recent::default(),
            recent_keys: Vec::new(),
            recent_values: Vec::new(),
        }
    }

    pub(super) fn request(&mut self, bytes: &'a [u8]) -> Result<()> {
        let mut reader = Reader::new(bytes);
        while reader.has_more() {
            match reader.key()? {
                (1, wire_type) => {
                    expect(wire_type, LEN)?;
                    self.resource_spans(reader.bytes()?)?;
                }
                (field, wire_type) => reader.skip(field, wire_type)?,
            }
        }
        Ok(())
    }

    fn resource_spans(&mut self, bytes: &'a [u8]) -> Result<()> {
        // First pass: the resource (which may follow the spans on the wire, and merges when
        // repeated); second pass: the scopes and their spans.
        let mut attributes = Vec::new();
        let mut reader = Reader::new(bytes);
        while reader.has_more() {
            match reader.key()? {
                (1, wire_type) => {
                    expect(wire_type, LEN)?;
                    self.resource(reader.bytes()?, &mut attributes)?;
                }
                (2, wire_type) => {
                    expect(wire_type, LEN)?;
                    reader.bytes()?;
                }
                (3, wire_type) => {
                    expect(wire_type, LEN)?;
                    utf8(reader.bytes()?)?;
                }
                (field, wire_type) => reader.skip(field, wire_type)?,
            }
        }
        let resource = Arc::new(Resource { attributes: attributes.into_boxed_slice() });
        let mut reader = Reader::new(bytes);
        while reader.has_more() {
            match reader.key()? {
                (2, _) => self.scope_spans(reader.bytes()?, &resource)?,
                (field, wire_type) => reader.skip(field, wire_type)?,
            }
        }
        Ok(())
    }

    fn resource(&mut self, bytes: &'a [u8], attributes: &mut Vec<KeyValue>) -> Result<()> {
        let mut reader = Reader::new(bytes);
        while reader.has_more() {
            match reader.key()? {
                (1, wire_type) => {
                    expect(wire_type, LEN)?;
                    // Resource values repeat across every batch of a service: intern them all.
                    attributes.push(self.key_value(reader.bytes()?, Place::Resource, 0)?);
                }
                (2, wire_type) => {
                    expect(wire_type, VARINT)?;
                    reader.varint()?;
                }
                (field, wire_type) => reader.skip(field, wire_type)?,
            }
        }
        Ok(())
    }

    fn scope_spans(&mut self, bytes: &'a [u8], resource: &Arc<Resource>) -> Result<()> {
        let mut scope: Option<Scope> = None;
        let mut reader = Reader::new(bytes);
        while reader.has_more() {
            match reader.key()? {
                (1, wire_type) => {
                    expect(wire_type, LEN)?;
                    let merged = self.scope(reader.bytes()?, scope.take().unwrap_or_default())?;
                    scope = Some(merged);
                }
                (2, wire_type) => {
                    expect(wire_type, LEN)?;
                    reader.bytes()?;
                }
                (3, wire_type) => {
                    expect(wire_type, LEN)?;
                    utf8(reader.bytes()?)?;
                }
                (field, wire_type) => reader.skip(field, wire_type)?,
            }
        }
        let scope = Arc::new(scope.unwrap_or_default());
        let mut raw_spans = Vec::new();
        let mut reader = Reader::new(bytes);
        while reader.has_more() {
            match reader.key()? {
                (2, _) => {
                    let span_bytes = reader.bytes()?;
                    if self.split {
                        match validate_span(span_bytes)? {
                            Ok((trace_id, span_id, peek)) => {
                                raw_spans.push(RawSpan { trace_id, span_id, bytes: span_bytes, peek })
                            }
                            Err(reason) => self.raw.rejections.add(reason),
                        }
                        continue;
                    }
                    match self.span(span_bytes, resource, &scope)? {
                        Ok(span) => self.batch.spans.push(span),
                        Err(reason) => self.batch.rejections.add(reason),
                    }
                }
                (field, wire_type) => reader.skip(field, wire_type)?,
            }
        }
        if !raw_spans.is_empty() {
            self.raw.groups.push(RawGroup { resource: resource.clone(), scope, spans: raw_spans });
        }
        Ok(())
    }

    fn scope(&mut self, bytes: &'a [u8], mut scope: Scope) -> Result<Scope> {
        let mut attributes = std::mem::take(&mut scope.attributes).into_vec();
        let mut reader = Reader::new(bytes);
        while reader.has_more() {
            match reader.key()? {
                (1, wire_type) => {
                    expect(wire_type, LEN)?;
                    scope.name = self.interner.name_utf8(reader.bytes()?)?;
                }
                (2, wire_type) => {
                    expect(wire_type, LEN)?;
                    scope.version = self.interner.name_utf8(reader.bytes()?)?;
                }
                (3, wire_type) => {
                    expect(wire_type, LEN)?;
                    attributes.push(self.key_value(reader.bytes()?, Place::Resource, 0)?);
                }
                (4, wire_type) => {
                    expect(wire_type, VARINT)?;
                    reader.varint()?;
                }
                (field, wire_type) => reader.skip(field, wire_type)?,
            }
        }
        scope.attributes = attributes.into_boxed_slice();
        Ok(scope)
    }

    /// One span: `Ok(Err(reason))` when its IDs are malformed (the span is rejected, the
    /// request goes on), `Err` when its bytes are (the request fails).
    fn span(
        &mut self,
        bytes: &'a [u8],
        resource: &Arc<Resource>,
        scope: &Arc<Scope>,
    ) -> Result<std::result::Result<Span, SpanRejection>> {
        let mut trace_id: &[u8] = &[];
        let mut span_id: &[u8] = &[];
        let mut parent_span_id: &[u8] = &[];
        let mut name: Option<Str> = None;
        let mut status_code = StatusCode::Unset;
        let mut status_message: Option<Str> = None;
        let mut kind = 0i32;
        let mut start_time_unix_nano = 0u64;
        let mut end_time_unix_nano = 0u64;
        let mut attributes: Vec<KeyValue> = Vec::with_capacity(self.attributes_hint);
        self.events.clear();
        self.links.clear();

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
                3 => {
                    expect(wire_type, LEN)?;
                    utf8(reader.bytes()?)?;
                }
                4 => {
                    expect(wire_type, LEN)?;
                    parent_span_id = reader.bytes()?;
                }
                5 => {
                    expect(wire_type, LEN)?;
                    name = Some(self.span_name(reader.bytes()?)?);
                }
                6 => {
                    expect(wire_type, VARINT)?;
                    kind = reader.varint()? as i32;
                }
                7 => {
                    expect(wire_type, I64)?;
                    start_time_unix_nano = reader.fixed64()?;
                }
                8 => {
                    expect(wire_type, I64)?;
                    end_time_unix_nano = reader.fixed64()?;
                }
                9 => {
                    expect(wire_type, LEN)?;
                    let place = Place::Span(attributes.len());
                    let attribute = self.key_value(reader.bytes()?, place, 0)?;
                    attributes.push(attribute);
                }
                11 => {
                    expect(wire_type, LEN)?;
                    let event = self.event(reader.bytes()?)?;
                    self.events.push(event);
                }
                13 => {
                    expect(wire_type, LEN)?;
                    if let Some(link) = self.link(reader.bytes()?)? {
                        self.links.push(link);
                    }
                }
                10 | 12 | 14 => {
                    expect(wire_type, VARINT)?;
                    reader.varint()?;
                }
                15 => {
                    expect(wire_type, LEN)?;
                    self.status(reader.bytes()?, &mut status_code, &mut status_message)?;
                }
                16 => {
                    expect(wire_type, I32)?;
                    reader.fixed32()?;
                }
                _ => reader.skip(field, wire_type)?,
            }
        }

        self.attributes_hint = attributes.len();
        let (trace_id, span_id, parent_span_id) = match check_span_ids(trace_id, span_id, parent_span_id) {
            Ok(ids) => ids,
            Err(reason) => return Ok(Err(reason)),
        };
        Ok(Ok(Span {
            trace_id,
            span_id,
            parent_span_id,
            name: name.unwrap_or_else(empty_str),
            kind: SpanKind::from_i32(kind),
            status: Status { code: status_code, message: status_message.unwrap_or_else(empty_str) },
            start_time_unix_nano,
            end_time_unix_nano,
            // Exact when the hint was right (no copy); otherwise one shrink.
            attributes: attributes.into_boxed_slice(),
            // Draining an exact-size iterator allocates each slice once at its final size.
            extra: SpanExtra::boxed(self.events.drain(..).collect(), self.links.drain(..).collect()),
            resource: resource.clone(),
            scope: scope.clone(),
        }))
    }

    fn status(&mut self, bytes: &'a [u8], code: &mut StatusCode, message: &mut Option<Str>) -> Result<()> {
        let mut reader = Reader::new(bytes);
        while reader.has_more() {
            match reader.key()? {
                (2, wire_type) => {
                    expect(wire_type, LEN)?;
                    *message = Some(self.interner.value_utf8(reader.bytes()?)?);
                }
                (3, wire_type) => {
                    expect(wire_type, VARINT)?;
                    *code = StatusCode::from_i32(reader.varint()? as i32);
                }
                (field, wire_type) => reader.skip(field, wire_type)?,
            }
        }
        Ok(())
    }

    fn event(&mut self, bytes: &'a [u8]) -> Result<Event> {
        let mut time_unix_nano = 0u64;
        let mut name: Option<Str> = None;
        let mut attributes = Vec::new();
        let mut reader = Reader::new(bytes);
        while reader.has_more() {
            match reader.key()? {
                (1, wire_type) => {
                    expect(wire_type, I64)?;
                    time_unix_nano = reader.fixed64()?;
                }
                (2, wire_type) => {
                    expect(wire_type, LEN)?;
                    name = Some(self.interner.name_utf8(reader.bytes()?)?);
                }
                (3, wire_type) => {
                    expect(wire_type, LEN)?;
                    attributes.push(self.key_value(reader.bytes()?, Place::Other, 0)?);
                }
                (4, wire_type) => {
                    expect(wire_type, VARINT)?;
                    reader.varint()?;
                }
                (field, wire_type) => reader.skip(field, wire_type)?,
            }
        }
        let name = name.unwrap_or_else(empty_str);
        Ok(Event { time_unix_nano, name, attributes: attributes.into_boxed_slice() })
    }

    /// A link, or `None` when its IDs are malformed (it is dropped; the span is kept).
    fn link(&mut self, bytes: &'a [u8]) -> Result<Option<Link>> {
        let mut trace_id: &[u8] = &[];
        let mut span_id: &[u8] = &[];
        let mut attributes = Vec::new();
        let mut reader = Reader::new(bytes);
        while reader.has_more() {
            match reader.key()? {
                (1, wire_type) => {
                    expect(wire_type, LEN)?;
                    trace_id = reader.bytes()?;
                }
                (2, wire_type) => {
                    expect(wire_type, LEN)?;
                    span_id = reader.bytes()?;
                }
                (3, wire_type) => {
                    expect(wire_type, LEN)?;
                    utf8(reader.bytes()?)?;
                }
                (4, wire_type) => {
                    expect(wire_type, LEN)?;
                    attributes.push(self.key_value(reader.bytes()?, Place::Other, 0)?);
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
        Ok(check_link_ids(trace_id, span_id).map(|(trace_id, span_id)| Link {
            trace_id,
            span_id,
            attributes: attributes.into_boxed_slice(),
        }))
    }

    fn span_name(&mut self, bytes: &'a [u8]) -> Result<Str> {
        if let Some(name) = self.recent_names.find(bytes) {
            return Ok(name);
        }
        let name = self.interner.name_utf8(bytes)?;
        self.recent_names.remember(bytes, name.clone());
        Ok(name)
    }

    fn key(&mut self, bytes: &'a [u8], place: Place) -> Result<Str> {
        let Place::Span(slot) = place else { return Ok(self.interner.name_utf8(bytes)?) };
        if slot >= N_ATTRIBUTE_SLOTS {
            return Ok(self.interner.name_utf8(bytes)?);
        }
        if slot >= self.recent_keys.len() {
            self.recent_keys.resize_with(slot + 1, Recent::default);
        }
        if let Some(key) = self.recent_keys[slot].find(bytes) {
            return Ok(key);
        }
        let key = self.interner.name_utf8(bytes)?;
        self.recent_keys[slot].remember(bytes, key.clone());
        Ok(key)
    }

    fn string_value(&mut self, bytes: &'a [u8], place: Place) -> Result<Str> {
        match place {
            Place::Resource => Ok(self.interner.intern_utf8(bytes)?),
            Place::Other => Ok(self.interner.value_utf8(bytes)?),
            Place::Span(slot) if slot >= N_ATTRIBUTE_SLOTS => Ok(self.interner.value_utf8(bytes)?),
            Place::Span(slot) => {
                if slot >= self.recent_values.len() {
                    self.recent_values.resize_with(slot + 1, Recent::default);
                }
                if let Some(value) = self.recent_values[slot].find(bytes) {
                    return Ok(value);
                }
                // Not among the recent values at this position: most likely unique (an ID,
                // a URL), so it gets its own allocation without a hash-table round trip.
                let value: Str = if bytes.is_empty() { empty_str() } else { Str::new(utf8(bytes)?) };
                self.recent_values[slot].remember(bytes, value.clone());
                Ok(value)
            }
        }
    }

    fn key_value(&mut self, bytes: &'a [u8], place: Place, depth: u32) -> Result<KeyValue> {
        let mut key: Option<Str> = None;
        let mut value = AttributeValue::Empty;
        let mut reader = Reader::new(bytes);
        while reader.has_more() {
            match reader.key()? {
                (1, wire_type) => {
                    expect(wire_type, LEN)?;
                    key = Some(self.key(reader.bytes()?, place)?);
                }
                (2, wire_type) => {
                    expect(wire_type, LEN)?;
                    value = self.any_value(reader.bytes()?, place, depth)?;
                }
                (3, wire_type) => {
                    // key_strindex: a profiles-only string table reference, ignored as in
                    // convert, but still type-checked as prost does.
                    expect(wire_type, VARINT)?;
                    reader.varint()?;
                }
                (field, wire_type) => reader.skip(field, wire_type)?,
            }
        }
        Ok(KeyValue { key: key.unwrap_or_else(empty_str), value })
    }

    fn any_value(&mut self, bytes: &'a [u8], place: Place, depth: u32) -> Result<AttributeValue> {
        if depth > MAX_VALUE_DEPTH {
            return Err(WireError::new("recursion limit reached"));
        }
        // A oneof: the last member on the wire wins.
        let mut value = AttributeValue::Empty;
        let mut reader = Reader::new(bytes);
        while reader.has_more() {
            let (field, wire_type) = reader.key()?;
            match field {
                1 => {
                    expect(wire_type, LEN)?;
                    value = AttributeValue::String(self.string_value(reader.bytes()?, place)?);
                }
                2 => {
                    expect(wire_type, VARINT)?;
                    value = AttributeValue::Bool(reader.varint()? != 0);
                }
                3 => {
                    expect(wire_type, VARINT)?;
                    value = AttributeValue::Int(reader.varint()? as i64);
                }
                4 => {
                    expect(wire_type, I64)?;
                    value = AttributeValue::Double(f64::from_bits(reader.fixed64()?));
                }
                5 => {
                    expect(wire_type, LEN)?;
                    let mut items = Vec::new();
                    each_item(reader.bytes()?, |item| {
                        items.push(self.any_value(item, nested(place), depth + 1)?);
                        Ok(())
                    })?;
                    value = AttributeValue::array(items);
                }
                6 => {
                    expect(wire_type, LEN)?;
                    let mut entries = Vec::new();
                    each_item(reader.bytes()?, |item| {
                        entries.push(self.key_value(item, nested(place), depth + 1)?);
                        Ok(())
                    })?;
                    value = AttributeValue::map(entries);
                }
                7 => {
                    expect(wire_type, LEN)?;
                    value = AttributeValue::bytes(reader.bytes()?);
                }
                8 => {
                    expect(wire_type, VARINT)?;
                    reader.varint()?;
                    // A profiles-only string table reference: treated as absent, as in convert.
                    value = AttributeValue::Empty;
                }
                _ => reader.skip(field, wire_type)?,
            }
        }
        Ok(value)
    }
}

/// Values inside arrays and maps share strings as their container's place does, without the
/// per-position caches.
fn nested(place: Place) -> Place {
    match place {
        Place::Resource => Place::Resource,
        Place::Span(_) | Place::Other => Place::Other,
    }
}
