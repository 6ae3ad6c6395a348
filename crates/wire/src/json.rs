//! The pieces of a hand-written JSON writer, for the answers that can be a megabyte: a trace
//! by ID in Jaeger's model and as OTLP JSON (issue 19, item 8).
//!
//! Through serde_json every string, object keys included, is scanned for escapes a byte at
//! a time and every object and array goes through the serializer's state: for a 1,000-span
//! trace that was about half of the handler's time (BENCHMARKS.md, Jaeger). Here keys and
//! punctuation are literals and a string is checked in one pass without early exit, which
//! the compiler vectorizes. Whatever is rare or subtle (floats, escaped strings, logs, links,
//! composite values) is still written by serde_json into the same writer, so the bytes are
//! the serde impls' (tests hold the two to each other).

use std::io::{self, Write};

use serde::Serialize;

/// `value` as serde_json writes it.
#[inline]
pub(crate) fn serde<W: Write, T: Serialize + ?Sized>(out: &mut W, value: &T) -> io::Result<()> {
    serde_json::to_writer(out, value).map_err(io::Error::from)
}

/// `text` as a JSON string, escaped exactly as serde_json escapes it.
#[inline]
pub(crate) fn str<W: Write>(out: &mut W, text: &str) -> io::Result<()> {
    // serde_json escapes control characters, `"` and `\` only. A fold with no early exit
    // vectorizes; the rare string that needs escaping is handed to serde_json.
    let plain =
        text.bytes().fold(true, |plain, byte| plain & (byte >= 0x20 && byte != b'"' && byte != b'\\'));
    if !plain {
        return serde(out, text);
    }
    out.write_all(b"\"")?;
    out.write_all(text.as_bytes())?;
    out.write_all(b"\"")
}

/// An ID as lower-case hex in a JSON string (as the IDs' `Serialize` writes them).
#[inline]
pub(crate) fn hex_id<W: Write>(out: &mut W, id: &[u8]) -> io::Result<()> {
    // Quotes and hex in one buffer on the stack: the longest ID is a trace's 16 bytes.
    let mut text = [b'"'; 2 + 2 * 16];
    let len = 2 * id.len();
    let Some(digits) = text.get_mut(1..1 + len) else { return serde(out, &hex::encode(id)) };
    if hex::encode_to_slice(id, digits).is_err() {
        return serde(out, &hex::encode(id));
    }
    out.write_all(&text[..len + 2])
}

/// An unsigned integer (itoa through serde_json, without its serializer state).
#[inline]
pub(crate) fn u64<W: Write>(out: &mut W, value: u64) -> io::Result<()> {
    serde(out, &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_ids_are_written_as_serde_json_writes_them() {
        for text in ["", "plain", "quote \" and \\ and \n\t\u{1}", "héllo \u{7f} ✓", "/a/b?c=d&e"] {
            let mut out = Vec::new();
            str(&mut out, text).unwrap();
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
        let trace_id = model::TraceId([0xab; 16]);
        let mut out = Vec::new();
        hex_id(&mut out, trace_id.as_bytes()).unwrap();
        assert_eq!(out, serde_json::to_vec(&trace_id).unwrap());
        let span_id = model::SpanId([0x01; 8]);
        let mut out = Vec::new();
        hex_id(&mut out, span_id.as_bytes()).unwrap();
        assert_eq!(out, serde_json::to_vec(&span_id).unwrap());
    }
}
