//! The OTLP receivers: the gRPC `TraceService/Export` service ([`grpc`]), the `POST /v1/traces`
//! HTTP routes ([`http`]), and the OTLP codec: [`wire`] validates protobuf requests and splits
//! them into the spans' bytes the store keeps, and decodes those bytes into [`crate::model`]
//! spans when the store is read; [`convert`] handles OTLP JSON and the generated
//! `opentelemetry-proto` types.
//!
//! Like the collector's receiver, `ingest` only knows the next stage: it is handed a
//! [`TraceStore`] and calls `insert` and `record_rejected`. It knows nothing of waiting,
//! eviction or the runner. Overload is bounded here by [`Admission`]: a request that cannot
//! be taken in at once is answered with a retryable code instead of queueing.

pub mod convert;
pub mod grpc;
pub mod http;
mod intern;
pub mod wire;

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::model::{Span, SpanId, TraceId};
use crate::store::TraceStore;

/// Why a request could not be taken in. Mapped to gRPC and HTTP statuses in one place
/// ([`Error::to_status`], [`Error::http_status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("malformed protobuf request: {0}")]
    Protobuf(String),
    #[error("malformed json request: {0}")]
    Json(String),
    #[error("unsupported content type {0:?}, expected application/x-protobuf or application/json")]
    ContentType(String),
    #[error("unsupported content encoding {0:?}, expected gzip or identity")]
    ContentEncoding(String),
    #[error("malformed gzip body: {0}")]
    Gzip(String),
    #[error("failed to read request body: {0}")]
    Body(String),
    #[error("missing or invalid bearer token")]
    Unauthenticated,
    #[error("request body exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("server busy: too many export requests in progress, retry later")]
    Overloaded,
}

impl Error {
    /// The gRPC status for this error (the collector's `errors.go` mapping).
    pub fn to_status(&self) -> tonic::Status {
        let message = self.to_string();
        match self {
            Error::Protobuf(_) | Error::Json(_) | Error::Gzip(_) | Error::Body(_) => {
                tonic::Status::invalid_argument(message)
            }
            Error::Unauthenticated => tonic::Status::unauthenticated(message),
            Error::ContentType(_) | Error::ContentEncoding(_) => tonic::Status::unimplemented(message),
            Error::TooLarge { .. } => tonic::Status::resource_exhausted(message),
            Error::Overloaded => tonic::Status::unavailable(message),
        }
    }

    /// The HTTP status for this error: 400 permanent, 413 too large, 415 content type,
    /// 401 unauthenticated, 503 retryable.
    pub fn http_status(&self) -> ::http::StatusCode {
        use ::http::StatusCode;
        match self {
            Error::Protobuf(_) | Error::Json(_) | Error::Gzip(_) | Error::Body(_) => StatusCode::BAD_REQUEST,
            Error::Unauthenticated => StatusCode::UNAUTHORIZED,
            Error::ContentType(_) | Error::ContentEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Spans rejected from an otherwise good request, and why (OTLP partial success).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rejections {
    /// Number of spans rejected.
    pub n_spans: u64,
    /// Distinct reasons with their counts, at most [`Rejections::MAX_REASONS`].
    pub reasons: Vec<(String, u64)>,
}

impl Rejections {
    pub const MAX_REASONS: usize = 4;

    pub(crate) fn add(&mut self, reason: String) {
        self.n_spans += 1;
        if let Some(entry) = self.reasons.iter_mut().find(|(text, _)| *text == reason) {
            entry.1 += 1;
        } else if self.reasons.len() < Self::MAX_REASONS {
            self.reasons.push((reason, 1));
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

/// Decodes an OTLP protobuf `ExportTraceServiceRequest` straight into model spans.
///
/// # Errors
/// [`Error::Protobuf`] when the bytes are not a valid message.
pub fn decode_protobuf(bytes: &[u8]) -> Result<Batch, Error> {
    wire::decode_request(bytes)
}

/// Decodes an OTLP JSON `ExportTraceServiceRequest` into model spans.
///
/// # Errors
/// [`Error::Json`] when the text is not a valid OTLP JSON request.
pub fn decode_json(bytes: &[u8]) -> Result<Batch, Error> {
    convert::decode_json(bytes)
}

/// Hands a decoded batch to the store and counts its rejections there.
pub fn store_batch(store: &TraceStore, batch: Batch) -> ExportOutcome {
    let n_accepted = batch.spans.len();
    if batch.rejections.n_spans > 0 {
        store.record_rejected(batch.rejections.n_spans);
    }
    if n_accepted > 0 {
        store.insert(batch.spans);
    }
    ExportOutcome { n_accepted, rejections: batch.rejections }
}

/// Bounds how many export requests are decoded and stored at once, across both receivers.
///
/// A request that finds no free slot is refused at once with a retryable status (gRPC
/// UNAVAILABLE, HTTP 503 with `Retry-After`), so senders back off instead of the server
/// queueing work without limit. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Admission {
    slots: Arc<Semaphore>,
    capacity: usize,
}

impl Admission {
    /// At most `capacity` requests in progress (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Admission { slots: Arc::new(Semaphore::new(capacity)), capacity }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// A slot, or [`Error::Overloaded`] when all are taken.
    ///
    /// # Errors
    /// [`Error::Overloaded`] when `capacity` requests are already in progress.
    pub fn try_admit(&self) -> Result<OwnedSemaphorePermit, Error> {
        self.slots.clone().try_acquire_owned().map_err(|_| Error::Overloaded)
    }

    /// Waits for and takes every slot, so that each new request is refused until the
    /// returned permit drops (for tests and maintenance).
    pub async fn hold_all(&self) -> OwnedSemaphorePermit {
        // The semaphore is never closed, so acquiring cannot fail.
        self.slots.clone().acquire_many_owned(self.capacity as u32).await.expect("admission semaphore closed")
    }
}

/// Validates and stores one protobuf request body (the caller holds an admission slot); the
/// work shared by the gRPC service and the HTTP route, public for the benchmarks. The spans
/// are not built here: the store keeps their wire bytes ([`wire::split_request`]).
///
/// # Errors
/// [`Error::Protobuf`] when the bytes are not a valid message; nothing is stored then.
pub fn export_protobuf(store: &TraceStore, body: &[u8]) -> Result<ExportOutcome, Error> {
    let batch = wire::split_request(body)?;
    if batch.rejections.n_spans > 0 {
        store.record_rejected(batch.rejections.n_spans);
    }
    store.insert_raw(&batch);
    Ok(ExportOutcome { n_accepted: batch.n_spans(), rejections: batch.rejections })
}

/// Checks a span's IDs as OTLP requires: a 16-byte non-zero trace ID, an 8-byte non-zero
/// span ID, and a parent that is empty, all zero (no parent) or 8 bytes. The error names the
/// problem for the partial-success message.
pub(crate) fn check_span_ids(
    trace_id: &[u8],
    span_id: &[u8],
    parent_span_id: &[u8],
) -> Result<(TraceId, SpanId, Option<SpanId>), String> {
    let trace_id = TraceId::from_bytes(trace_id).map_err(|err| format!("invalid trace id ({err})"))?;
    let span_id = SpanId::from_bytes(span_id).map_err(|err| format!("invalid span id ({err})"))?;
    let parent_span_id = match SpanId::from_bytes(parent_span_id) {
        Ok(parent) => Some(parent),
        Err(_) if parent_span_id.is_empty() || parent_span_id == [0; 8] => None,
        Err(err) => return Err(format!("invalid parent span id ({err})")),
    };
    Ok((trace_id, span_id, parent_span_id))
}

/// A link's IDs, or `None` when either is malformed (the link is dropped, the span kept).
pub(crate) fn check_link_ids(trace_id: &[u8], span_id: &[u8]) -> Option<(TraceId, SpanId)> {
    Some((TraceId::from_bytes(trace_id).ok()?, SpanId::from_bytes(span_id).ok()?))
}
