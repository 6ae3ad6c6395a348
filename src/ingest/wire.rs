//! The protobuf fast path, in two halves. [`split_request`] validates an OTLP
//! `ExportTraceServiceRequest` and splits it into its valid spans' bytes, building nothing but
//! the shared resources and scopes: that is all a receiver does before the store, which keeps
//! the bytes. [`decode_request`] and [`decode_spans`] decode wire bytes straight into model
//! spans, without building the generated structs first: the store's reads, the control API's
//! client. Both halves walk the message with the same reader and the same checks.
//!
//! It follows prost's rules so that it accepts and rejects exactly what the generated types
//! do (tests hold it to [`super::convert::decode_protobuf_generated`] on the same bytes):
//! unknown fields (groups included) are skipped, a known field with the wrong wire type or a
//! string that is not UTF-8 fails the request, repeated fields append, a resource, scope or
//! status that occurs twice is merged, and a scalar or an attribute value that occurs twice
//! keeps the last one (prost would merge two `array_value`s of one `AnyValue`; no exporter
//! writes that). Strings that repeat within the request are interned, and the
//! resource and scope are decoded once and shared by their spans through an `Arc`.
//! The split path makes the same checks without building (tests hold it to the decoder on
//! random and mutated requests). It knows the OTLP field numbers and nothing of the store or
//! the network.

use std::sync::Arc;

use super::intern::{Interner, Recent};
use super::{check_link_ids, check_span_ids, Batch, Error};
use crate::model::{
    empty_str, AttributeValue, Event, KeyValue, Link, Resource, Scope, Span, SpanExtra, SpanId, SpanKind,
    Status, StatusCode, Str, TraceId,
};

/// Deepest nesting of array and map attribute values accepted; deeper input is refused
/// rather than risking the stack (prost refuses at a similar depth).
const MAX_VALUE_DEPTH: u32 = 32;

/// Span attribute positions that get their own recent-string caches; attributes beyond go
/// straight to the interner.
const N_ATTRIBUTE_SLOTS: usize = 32;

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const I32: u8 = 5;

/// A decoding failure; the text becomes [`Error::Protobuf`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct WireError(String);

impl WireError {
    fn new(text: impl Into<String>) -> Self {
        WireError(text.into())
    }
}

impl From<std::str::Utf8Error> for WireError {
    fn from(_: std::str::Utf8Error) -> Self {
        WireError::new("invalid string value: data is not UTF-8 encoded")
    }
}

type Result<T> = std::result::Result<T, WireError>;

/// A cursor over one message's bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    #[inline]
    fn has_more(&self) -> bool {
        self.pos < self.buf.len()
    }

    #[inline(always)]
    fn varint(&mut self) -> Result<u64> {
        // One-byte fast path (field keys, small enums and lengths) inlined at every call;
        // the general case out of line.
        if let Some(&byte) = self.buf.get(self.pos) {
            if byte < 0x80 {
                self.pos += 1;
                return Ok(u64::from(byte));
            }
        }
        self.varint_slow()
    }

    #[inline(never)]
    fn varint_slow(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for index in 0..10 {
            let Some(&byte) = self.buf.get(self.pos + index) else {
                return Err(WireError::new("buffer underflow"));
            };
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte < 0x80 {
                if index == 9 && byte > 1 {
                    break;
                }
                self.pos += index + 1;
                return Ok(value);
            }
        }
        Err(WireError::new("invalid varint"))
    }

    /// The next field's number and wire type.
    #[inline(always)]
    fn key(&mut self) -> Result<(u32, u8)> {
        let key = self.varint()?;
        if key > u64::from(u32::MAX) {
            return Err(WireError::new(format!("invalid key value: {key}")));
        }
        let wire_type = (key & 7) as u8;
        if wire_type > I32 {
            return Err(WireError::new(format!("invalid wire type value: {wire_type}")));
        }
        let field = (key >> 3) as u32;
        if field == 0 {
            return Err(WireError::new("invalid tag value: 0"));
        }
        Ok((field, wire_type))
    }

    #[inline(always)]
    fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.varint()?;
        let remaining = (self.buf.len() - self.pos) as u64;
        if len > remaining {
            return Err(WireError::new("buffer underflow"));
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.buf[start..self.pos])
    }

    #[inline]
    fn fixed64(&mut self) -> Result<u64> {
        let bytes = self.buf.get(self.pos..self.pos + 8).ok_or_else(|| WireError::new("buffer underflow"))?;
        self.pos += 8;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(array))
    }

    #[inline]
    fn fixed32(&mut self) -> Result<u32> {
        let bytes = self.buf.get(self.pos..self.pos + 4).ok_or_else(|| WireError::new("buffer underflow"))?;
        self.pos += 4;
        let mut array = [0u8; 4];
        array.copy_from_slice(bytes);
        Ok(u32::from_le_bytes(array))
    }

    /// Skips an unknown field's value.
    fn skip(&mut self, field: u32, wire_type: u8) -> Result<()> {
        match wire_type {
            VARINT => self.varint().map(drop),
            I64 => self.fixed64().map(drop),
            LEN => self.bytes().map(drop),
            I32 => self.fixed32().map(drop),
            START_GROUP => self.skip_group(field, 0),
            _ => Err(WireError::new("unexpected end group tag")),
        }
    }

    fn skip_group(&mut self, field: u32, depth: u32) -> Result<()> {
        if depth > MAX_VALUE_DEPTH {
            return Err(WireError::new("recursion limit reached"));
        }
        loop {
            if !self.has_more() {
                return Err(WireError::new("buffer underflow"));
            }
            let (inner_field, wire_type) = self.key()?;
            match wire_type {
                END_GROUP if inner_field == field => return Ok(()),
                END_GROUP => return Err(WireError::new("unexpected end group tag")),
                START_GROUP => self.skip_group(inner_field, depth + 1)?,
                _ => self.skip(inner_field, wire_type)?,
            }
        }
    }
}

/// Calls `item` with each entry of an `ArrayValue` or `KeyValueList` (field 1, repeated),
/// skipping unknown fields: the walk the decoder and the split share for nested values.
fn each_item<'a>(bytes: &'a [u8], mut item: impl FnMut(&'a [u8]) -> Result<()>) -> Result<()> {
    let mut list = Reader::new(bytes);
    while list.has_more() {
        match list.key()? {
            (1, wire_type) => {
                expect(wire_type, LEN)?;
                item(list.bytes()?)?;
            }
            (field, wire_type) => list.skip(field, wire_type)?,
        }
    }
    Ok(())
}

#[inline]
fn expect(wire_type: u8, expected: u8) -> Result<()> {
    if wire_type == expected {
        Ok(())
    } else {
        Err(WireError::new(format!("invalid wire type: {wire_type} (expected {expected})")))
    }
}

#[inline]
fn utf8(bytes: &[u8]) -> Result<&str> {
    Ok(std::str::from_utf8(bytes)?)
}

/// Decodes a whole request into spans, rejecting spans with malformed IDs.
///
/// # Errors
/// [`Error::Protobuf`] when the bytes are not a valid message; nothing is returned then.
pub fn decode_request(bytes: &[u8]) -> std::result::Result<Batch, Error> {
    let mut decoder = Decoder::new(bytes.len(), false);
    decoder.request(bytes).map_err(|err| Error::Protobuf(err.0))?;
    Ok(decoder.batch)
}

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

/// Decodes spans stored as [`split_request`] left them: consecutive `ScopeSpans.spans`
/// fields (tag, length, `Span` message), all of `resource` and `scope`. Spans with malformed
/// IDs are skipped (the store never holds any).
///
/// # Errors
/// [`Error::Protobuf`] when the bytes are not such fields.
pub fn decode_spans(
    bytes: &[u8],
    resource: &Arc<Resource>,
    scope: &Arc<Scope>,
    out: &mut Vec<Span>,
) -> std::result::Result<(), Error> {
    let mut decoder = Decoder::new(0, false);
    let mut reader = Reader::new(bytes);
    let mut run = || -> Result<()> {
        while reader.has_more() {
            let (field, wire_type) = reader.key()?;
            expect(wire_type, LEN)?;
            if field != 2 {
                return Err(WireError::new(format!("unexpected field {field} among stored spans")));
            }
            if let Ok(span) = decoder.span(reader.bytes()?, resource, scope)? {
                out.push(span);
            }
        }
        Ok(())
    };
    run().map_err(|err| Error::Protobuf(err.0))
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

/// A request split by [`split_request`]: its valid spans' bytes and what was rejected.
#[derive(Debug, Default)]
pub struct RawBatch<'a> {
    pub groups: Vec<RawGroup<'a>>,
    pub rejections: super::Rejections,
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

/// One valid span: its IDs, checked, and its `Span` message's bytes.
#[derive(Debug, Clone, Copy)]
pub struct RawSpan<'a> {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub bytes: &'a [u8],
}

/// The state of one request's decoding; the vectors are scratch space reused per span so that
/// each span's slices are allocated once at their exact size.
struct Decoder<'a> {
    interner: Interner<'a>,
    /// Split mode ([`split_request`]): spans are validated and collected into `raw`
    /// instead of decoded into `batch`.
    split: bool,
    batch: Batch,
    raw: RawBatch<'a>,
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
    fn new(request_len: usize, split: bool) -> Self {
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

    fn request(&mut self, bytes: &'a [u8]) -> Result<()> {
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
                            Ok((trace_id, span_id)) => {
                                raw_spans.push(RawSpan { trace_id, span_id, bytes: span_bytes })
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
    ) -> Result<std::result::Result<Span, String>> {
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

// ---------------------------------------------------------------------------------------
// Validation without building (split mode). Each function checks what its building
// counterpart above checks, in the same order, with the same errors.

#[inline]
fn check_utf8(bytes: &[u8]) -> Result<()> {
    // Most strings are ASCII: a word-at-a-time check, the full validation only otherwise.
    if bytes.is_ascii() {
        Ok(())
    } else {
        utf8(bytes).map(drop)
    }
}

/// A span's IDs when they are well formed (`Ok(Err(reason))` otherwise, as
/// [`Decoder::span`]), after checking the whole message.
fn validate_span(bytes: &[u8]) -> Result<std::result::Result<(TraceId, SpanId), String>> {
    let mut trace_id: &[u8] = &[];
    let mut span_id: &[u8] = &[];
    let mut parent_span_id: &[u8] = &[];
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
            3 | 5 => {
                expect(wire_type, LEN)?;
                check_utf8(reader.bytes()?)?;
            }
            6 | 10 | 12 | 14 => {
                expect(wire_type, VARINT)?;
                reader.varint()?;
            }
            7 | 8 => {
                expect(wire_type, I64)?;
                reader.fixed64()?;
            }
            9 => {
                expect(wire_type, LEN)?;
                validate_key_value(reader.bytes()?, 0)?;
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
                validate_status(reader.bytes()?)?;
            }
            16 => {
                expect(wire_type, I32)?;
                reader.fixed32()?;
            }
            _ => reader.skip(field, wire_type)?,
        }
    }
    Ok(check_span_ids(trace_id, span_id, parent_span_id).map(|(trace_id, span_id, _)| (trace_id, span_id)))
}

fn validate_status(bytes: &[u8]) -> Result<()> {
    let mut reader = Reader::new(bytes);
    while reader.has_more() {
        match reader.key()? {
            (2, wire_type) => {
                expect(wire_type, LEN)?;
                check_utf8(reader.bytes()?)?;
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

/// Values inside arrays and maps share strings as their container's place does, without the
/// per-position caches.
fn nested(place: Place) -> Place {
    match place {
        Place::Resource => Place::Resource,
        Place::Span(_) | Place::Other => Place::Other,
    }
}
