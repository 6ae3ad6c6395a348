//! What the store indexes of a span without decoding it: name, kind, times, status and
//! parent, read straight off the `Span` message's bytes (the store's digest of a trace,
//! which lets searches skip traces that cannot match).

use super::reader::{expect, utf8, Reader, Result, I64, LEN, VARINT};
use crate::{SpanKind, StatusCode};

/// The fields of one span that searches filter on, borrowed from its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpanPeek<'a> {
    pub name: &'a str,
    pub kind: SpanKind,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub status: StatusCode,
    /// Whether the span names a parent (a non-empty, non-zero parent span ID).
    pub has_parent: bool,
}

/// Reads a `Span` message's searchable fields; the rest is skipped.
///
/// # Errors
/// [`super::Error::Protobuf`] when the bytes are malformed (never for bytes the split or
/// `check_span` accepted).
pub fn peek_span(bytes: &[u8]) -> std::result::Result<SpanPeek<'_>, super::Error> {
    read(bytes).map_err(|err| super::Error::Protobuf(err.0))
}

fn read(bytes: &[u8]) -> Result<SpanPeek<'_>> {
    let mut peek = SpanPeek::default();
    let mut reader = Reader::new(bytes);
    while reader.has_more() {
        let (field, wire_type) = reader.key()?;
        match field {
            4 => {
                expect(wire_type, LEN)?;
                let parent = reader.bytes()?;
                peek.has_parent = parent.iter().any(|&byte| byte != 0);
            }
            5 => {
                expect(wire_type, LEN)?;
                peek.name = utf8(reader.bytes()?)?;
            }
            6 => {
                expect(wire_type, VARINT)?;
                peek.kind = SpanKind::from_i32(reader.varint()? as i32);
            }
            7 => {
                expect(wire_type, I64)?;
                peek.start_time_unix_nano = reader.fixed64()?;
            }
            8 => {
                expect(wire_type, I64)?;
                peek.end_time_unix_nano = reader.fixed64()?;
            }
            15 => {
                expect(wire_type, LEN)?;
                peek.status = status_code(reader.bytes()?)?;
            }
            _ => reader.skip(field, wire_type)?,
        }
    }
    Ok(peek)
}

fn status_code(bytes: &[u8]) -> Result<StatusCode> {
    let mut code = StatusCode::Unset;
    let mut reader = Reader::new(bytes);
    while reader.has_more() {
        match reader.key()? {
            (3, wire_type) => {
                expect(wire_type, VARINT)?;
                code = StatusCode::from_i32(reader.varint()? as i32);
            }
            (field, wire_type) => reader.skip(field, wire_type)?,
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::{Span, SpanId, TraceId};

    #[test]
    fn peeks_what_the_decoder_reads() {
        let span = Span::new(TraceId([1; 16]), SpanId([2; 8]), "GET /cart")
            .with_parent(SpanId([3; 8]))
            .with_kind(SpanKind::Client)
            .with_times(10, 25)
            .with_status(StatusCode::Error, "boom")
            .with_attribute("http.route", "/cart");
        let bytes = super::super::span_to_otlp(&span).encode_to_vec();
        let peek = peek_span(&bytes).unwrap();
        assert_eq!(
            peek,
            SpanPeek {
                name: "GET /cart",
                kind: SpanKind::Client,
                start_time_unix_nano: 10,
                end_time_unix_nano: 25,
                status: StatusCode::Error,
                has_parent: true,
            }
        );
        assert!(peek_span(&bytes[..bytes.len() - 3]).is_err());
    }
}
