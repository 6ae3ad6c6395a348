//! The OTLP codec, below everything that uses it (`ingest`, `store`, `api`): protobuf and JSON
//! requests in, model spans and wire bytes out, and model spans back to OTLP.
//!
//! - `reader.rs`: the protobuf cursor and the checks both protobuf halves share.
//! - `split.rs`: [`split_request`] validates a request and splits it into its valid spans'
//!   bytes, what the store keeps; [`append_span_field`] frames them for the store.
//! - `decode.rs`: [`decode_protobuf`] and [`decode_spans`] decode wire bytes straight into
//!   model spans (the store's reads, the control API's client).
//! - `convert.rs`: the generated `opentelemetry-proto` types to and from the model: OTLP JSON
//!   requests, export responses, and the reference decoder the wire decoder is held to.
//! - `trace.rs`: a whole trace as OTLP `TracesData` and back (the control API's payload).
//! - `intern.rs`: the per-request string interner.
//! - `peek.rs`: [`SpanPeek`], the fields a search filters on, which the split reads off each
//!   span's bytes as it validates them (the store's per-trace digest).
//!
//! It uses only [`crate`]: it knows nothing of the store, the network or the runner.

mod convert;
mod decode;
mod intern;
mod peek;
mod reader;
mod split;
mod trace;
mod write;

pub use convert::{
    attributes_to_otlp, convert_request, decode_json, decode_protobuf_generated, decode_response_protobuf,
    encode_error_json, encode_error_protobuf, encode_response_json, encode_response_protobuf, span_to_otlp,
};
pub use decode::{decode_protobuf, decode_spans, decode_spans_range};
pub use peek::SpanPeek;
pub use split::{
    append_span_field, check_span, span_field_len, split_request, stored_span_ids, RawBatch, RawGroup,
    RawSpan,
};
pub use trace::{decode_trace, encode_trace, group_by_resource, ResourceGroup, ScopeGroup, TraceDecodeError};
pub use write::encode_trace_bytes;

use crate::{IdError, Span, SpanId, TraceId};

/// Why bytes could not be decoded as an OTLP request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("malformed protobuf request: {0}")]
    Protobuf(String),
    #[error("malformed json request: {0}")]
    Json(String),
}

/// Spans rejected from an otherwise good request, and why (OTLP partial success).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rejections {
    /// Number of spans rejected.
    pub n_spans: u64,
    /// Distinct reasons with their counts, at most [`Rejections::MAX_REASONS`].
    pub reasons: Vec<(SpanRejection, u64)>,
}

impl Rejections {
    pub const MAX_REASONS: usize = 4;

    pub(crate) fn add(&mut self, reason: SpanRejection) {
        self.add_many(reason, 1);
    }

    /// Counts `count` spans rejected for `reason` (the store's refusals, after decoding).
    pub fn add_many(&mut self, reason: SpanRejection, count: u64) {
        if count == 0 {
            return;
        }
        self.n_spans += count;
        if let Some(entry) = self.reasons.iter_mut().find(|(known, _)| *known == reason) {
            entry.1 += count;
        } else if self.reasons.len() < Self::MAX_REASONS {
            self.reasons.push((reason, count));
        }
    }

    /// The partial-success `error_message`, e.g.
    /// `rejected 2 spans: 1 with invalid trace id (expected 16 bytes, found 3), ...`.
    pub fn message(&self) -> String {
        if self.n_spans == 0 {
            return String::new();
        }
        let reasons: Vec<String> =
            self.reasons.iter().map(|(reason, count)| format!("{count} with {reason}")).collect();
        let noun = if self.n_spans == 1 { "span" } else { "spans" };
        format!("rejected {} {noun}: {}", self.n_spans, reasons.join(", "))
    }
}

/// One decoded export request: the valid spans, in request order, and what was rejected.
#[derive(Debug, Default)]
pub struct Batch {
    pub spans: Vec<Span>,
    pub rejections: Rejections,
}

/// What an export did, for the response.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExportOutcome {
    pub n_accepted: usize,
    pub rejections: Rejections,
}

/// Why one span of a request was rejected (the rest are kept): the partial success
/// `error_message` says it, counted per reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpanRejection {
    #[error("invalid trace id ({0})")]
    TraceId(IdError),
    #[error("invalid span id ({0})")]
    SpanId(IdError),
    #[error("invalid parent span id ({0})")]
    ParentSpanId(IdError),
    /// Valid, but refused by the store: the span's trace already holds its share of the
    /// store (`--max-trace-share`), or, being waited on (so it cannot be evicted), its
    /// smaller share as an awaited trace, or awaited traces hold theirs together.
    #[error(
        "a trace over its share of the server's store (--max-trace-share of --max-memory/--max-spans; \
         less while awaited)"
    )]
    OverTraceCap,
}

/// Checks a span's IDs as OTLP requires: a 16-byte non-zero trace ID, an 8-byte non-zero
/// span ID, and a parent that is empty, all zero (no parent) or 8 bytes. The error names the
/// problem for the partial-success message.
pub(crate) fn check_span_ids(
    trace_id: &[u8],
    span_id: &[u8],
    parent_span_id: &[u8],
) -> Result<(TraceId, SpanId, Option<SpanId>), SpanRejection> {
    let trace_id = TraceId::from_bytes(trace_id).map_err(SpanRejection::TraceId)?;
    let span_id = SpanId::from_bytes(span_id).map_err(SpanRejection::SpanId)?;
    let parent_span_id = match SpanId::from_bytes(parent_span_id) {
        Ok(parent) => Some(parent),
        Err(_) if parent_span_id.is_empty() || parent_span_id == [0; 8] => None,
        Err(err) => return Err(SpanRejection::ParentSpanId(err)),
    };
    Ok((trace_id, span_id, parent_span_id))
}

/// A link's IDs, or `None` when either is malformed (the link is dropped, the span kept).
pub(crate) fn check_link_ids(trace_id: &[u8], span_id: &[u8]) -> Option<(TraceId, SpanId)> {
    Some((TraceId::from_bytes(trace_id).ok()?, SpanId::from_bytes(span_id).ok()?))
}
