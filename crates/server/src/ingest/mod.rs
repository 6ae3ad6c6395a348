//! The OTLP receivers: the gRPC `TraceService/Export` service ([`grpc`]) and the
//! `POST /v1/traces` HTTP routes ([`http`]). Both hand protobuf bodies to
//! [`export_protobuf`], which splits them into the spans' wire bytes the store keeps
//! ([`model::otlp::split_request`]); OTLP/JSON bodies go through [`export_json`]. The codec
//! itself is [`model::otlp`]; this module adds the transport: bodies and limits. What a
//! refusal is answered with is [`crate::error`]'s.
//!
//! Like the collector's receiver, `ingest` only knows the next stage: it is handed a
//! [`TraceStore`] and calls `insert` and `record_rejected`. It knows nothing of waiting,
//! eviction or the runner. Overload is bounded here by [`Admission`]: a request that cannot
//! be taken in at once is answered with a retryable code instead of queueing.

pub mod cors;
pub mod grpc;
pub mod http;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::EdgeError;
use model::otlp::{self, ExportOutcome, Rejections, SpanRejection};
use store::TraceStore;

/// Decodes and stores one OTLP/JSON request body (the caller holds an admission slot). The
/// only path through model spans: the store encodes them back to the bytes it keeps
/// ([`TraceStore::insert`]); protobuf bodies are split instead ([`export_protobuf`]).
///
/// # Errors
/// [`otlp::Error::Json`] when the text is not a valid OTLP JSON request (an attribute value
/// nested deeper than the protobuf path allows included); nothing is stored then.
pub fn export_json(store: &TraceStore, body: &[u8]) -> Result<ExportOutcome, EdgeError> {
    let batch = otlp::decode_json(body)?;
    let n_valid = batch.spans.len();
    if batch.rejections.n_spans > 0 {
        store.record_rejected(batch.rejections.n_spans);
    }
    let mut rejections = batch.rejections;
    let refused = if n_valid > 0 { store.insert(batch.spans).refused } else { 0 };
    Ok(outcome(n_valid, refused, rejections_with(&mut rejections, refused)))
}

/// Adds the spans the store refused over a trace's share (or an awaited trace's cap) to what
/// decoding rejected: a span acknowledged is stored or reported, never silently dropped.
fn rejections_with(rejections: &mut Rejections, refused: usize) -> Rejections {
    rejections.add_many(SpanRejection::OverTraceCap, refused as u64);
    std::mem::take(rejections)
}

fn outcome(n_valid: usize, refused: usize, rejections: Rejections) -> ExportOutcome {
    ExportOutcome { n_accepted: n_valid - refused, rejections }
}

/// Bounds what the receivers take in at once, across both: requests in progress (from
/// before their body is read until they are stored), bytes of bodies being received, and
/// the time a body may take to arrive.
///
/// A request that finds no free slot, or whose body finds the byte budget spent, is refused
/// at once with a retryable status (gRPC UNAVAILABLE, HTTP 503 with `Retry-After`), so
/// senders back off instead of the server queueing work or memory without limit. Cheap to
/// clone.
#[derive(Clone, Debug)]
pub struct Admission {
    slots: Arc<Semaphore>,
    capacity: usize,
    budget: Arc<ByteBudget>,
    body_timeout: Duration,
}

#[derive(Debug)]
struct ByteBudget {
    limit: usize,
    used: AtomicUsize,
}

/// Bytes of the receive budget held for one request, released when it drops.
#[derive(Debug)]
pub struct Lease {
    budget: Arc<ByteBudget>,
    held: usize,
}

impl Lease {
    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Grows the lease to at least `total` bytes.
    ///
    /// # Errors
    /// [`EdgeError::ReceiveBudget`] when the budget has not that much left; the lease keeps
    /// what it held.
    pub fn ensure(&mut self, total: usize) -> Result<(), EdgeError> {
        let Some(more) = total.checked_sub(self.held).filter(|&more| more > 0) else { return Ok(()) };
        let limit = self.budget.limit;
        self.budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(more).filter(|&after| after <= limit)
            })
            .map_err(|_| EdgeError::ReceiveBudget { limit })?;
        self.held = total;
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::AcqRel);
    }
}

impl Admission {
    /// At most `capacity` requests in progress (at least 1), `receive_bytes` bytes of bodies
    /// held while they arrive and are stored, and `body_timeout` for a body to arrive.
    pub fn new(capacity: usize, receive_bytes: usize, body_timeout: Duration) -> Self {
        let capacity = capacity.max(1);
        let budget = Arc::new(ByteBudget { limit: receive_bytes, used: AtomicUsize::new(0) });
        Admission { slots: Arc::new(Semaphore::new(capacity)), capacity, budget, body_timeout }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes of the receive budget held right now.
    pub fn bytes_held(&self) -> usize {
        self.budget.used.load(Ordering::Acquire)
    }

    /// How long a request's body may take to arrive.
    pub fn body_timeout(&self) -> Duration {
        self.body_timeout
    }

    /// A slot, or [`EdgeError::Overloaded`] when all are taken. Taken before the body is read
    /// and held until the request is stored, so a slow sender counts against the limit.
    ///
    /// # Errors
    /// [`EdgeError::Overloaded`] when `capacity` requests are already in progress.
    pub fn try_admit(&self) -> Result<OwnedSemaphorePermit, EdgeError> {
        self.slots.clone().try_acquire_owned().map_err(|_| EdgeError::Overloaded)
    }

    /// An empty lease on the receive budget, grown with [`Lease::ensure`] as a body arrives.
    pub fn lease(&self) -> Lease {
        Lease { budget: self.budget.clone(), held: 0 }
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
/// are not built here: the store keeps their wire bytes ([`otlp::split_request`]).
///
/// # Errors
/// [`otlp::Error::Protobuf`] when the bytes are not a valid message; nothing is stored then.
pub fn export_protobuf(store: &TraceStore, body: &[u8]) -> Result<ExportOutcome, EdgeError> {
    let mut batch = otlp::split_request(body)?;
    if batch.rejections.n_spans > 0 {
        store.record_rejected(batch.rejections.n_spans);
    }
    let refused = store.insert_raw(&batch).refused;
    Ok(outcome(batch.n_spans(), refused, rejections_with(&mut batch.rejections, refused)))
}
