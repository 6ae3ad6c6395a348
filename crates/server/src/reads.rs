//! The memory whole-trace reads may take. A read decodes the trace (and the web API lays
//! it out along its tree) before a byte is sent, so a 100,000-span trace held in 4 MiB
//! costs a hundred times that while it is read; a few at once would pass any bound. Every
//! whole-trace read takes a share of one budget of bytes (a quarter of `--max-memory`),
//! estimated from its span count before anything is decoded, and holds it until its answer
//! is written. A read that does not fit beside those in flight is refused as retryable
//! (503, `Retry-After`), one that could never fit says so (507); both are counted in
//! `tracecheck_reads_refused_total`. A trace that could never fit is read in parts instead
//! (`query::read_part`), each part taking the share of its own spans.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header;

use crate::error::EdgeError;
use model::defaults::READ_BYTES_PER_SPAN;

/// The bytes every whole-trace read in flight may hold together.
#[derive(Clone, Debug)]
pub struct ReadBudget {
    inner: Arc<Inner>,
}

struct Inner {
    capacity: u64,
    in_use: AtomicU64,
    /// The store a read's share is reserved from ([`store::TraceStore::reserve`]): the reads'
    /// memory comes out of the store's share of `--max-memory`.
    store: Option<store::TraceStore>,
    /// Refusals, counted where `/metrics` reads them (`Telemetry::reads_refused_counter`).
    refused: Arc<AtomicU64>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadBudget")
            .field("capacity", &self.capacity)
            .field("in_use", &self.in_use.load(Ordering::Relaxed))
            .finish()
    }
}

/// A read's share of the budget, given back when dropped (when its answer is written).
#[derive(Debug)]
pub struct ReadPermit {
    inner: Arc<Inner>,
    bytes: u64,
    _reserved: Option<store::Reservation>,
}

#[cfg(test)]
impl ReadPermit {
    /// A permit of no budget, for a test that builds a read by hand.
    pub(crate) fn for_test() -> ReadPermit {
        ReadBudget::new(0, Arc::default(), None).admit(0).expect("an empty read fits")
    }
}

impl Drop for ReadPermit {
    fn drop(&mut self) {
        self.inner.in_use.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

impl ReadBudget {
    /// A budget of `capacity` bytes, counting refusals in `refused`, each share reserved
    /// from `store`'s memory limit while it is held.
    pub fn new(capacity: u64, refused: Arc<AtomicU64>, store: Option<store::TraceStore>) -> Self {
        ReadBudget { inner: Arc::new(Inner { capacity, in_use: AtomicU64::new(0), store, refused }) }
    }

    /// The budget's size in bytes.
    pub fn capacity(&self) -> u64 {
        self.inner.capacity
    }

    /// The most spans one read can ever hold: a part of a trace asks for no more.
    pub fn max_spans(&self) -> usize {
        usize::try_from(self.inner.capacity / READ_BYTES_PER_SPAN).unwrap_or(usize::MAX)
    }

    /// A share for reading a trace of `spans` spans whole.
    ///
    /// # Errors
    /// [`EdgeError::ReadsBusy`] when it does not fit beside the reads in flight (retry
    /// later), [`EdgeError::TraceTooLarge`] when it could never fit.
    pub fn admit(&self, spans: usize) -> Result<ReadPermit, EdgeError> {
        let bytes = (spans as u64).saturating_mul(READ_BYTES_PER_SPAN);
        let capacity = self.inner.capacity;
        if bytes > capacity {
            self.inner.refused.fetch_add(1, Ordering::Relaxed);
            return Err(EdgeError::TraceTooLarge { spans, needed: bytes, budget: capacity });
        }
        let admitted = self.inner.in_use.fetch_update(Ordering::AcqRel, Ordering::Acquire, |in_use| {
            (in_use + bytes <= capacity).then_some(in_use + bytes)
        });
        match admitted {
            Ok(_) => Ok(ReadPermit {
                inner: self.inner.clone(),
                bytes,
                _reserved: self.inner.store.as_ref().filter(|_| bytes > 0).map(|store| store.reserve(bytes)),
            }),
            Err(in_use) => {
                self.inner.refused.fetch_add(1, Ordering::Relaxed);
                Err(EdgeError::ReadsBusy { spans, needed: bytes, in_use, budget: capacity })
            }
        }
    }
}

/// How much of an answer is written before it is sent on: big enough that a megabyte is a
/// handful of sends, small enough that a read holds little of its answer at once.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks written ahead of the client.
const CHUNKS_AHEAD: usize = 4;

/// A JSON answer written by `write` on a blocking thread and sent chunk by chunk as it is
/// written, so a big answer is never held whole; `permit` is given back once the last
/// chunk is handed over (or the client has gone away).
pub(crate) fn streamed<W>(permit: ReadPermit, content_type: &'static str, write: W) -> Response
where
    W: FnOnce(&mut ChunkWriter) -> std::io::Result<()> + Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_AHEAD);
    tokio::task::spawn_blocking(move || {
        let mut writer = ChunkWriter { sender, buffer: Vec::with_capacity(CHUNK_BYTES) };
        // `write` owns what it writes from (the decoded trace): both are gone, and the share
        // given back, before the last chunk goes out, so a client that has the whole answer
        // finds the budget free again.
        let written = write(&mut writer);
        drop(permit);
        if let Err(error) = written.and_then(|()| writer.send()) {
            // A client that went away is not an error; anything else ends the body with
            // it, so the client sees a cut answer rather than a short one that parses.
            let _ = writer.sender.blocking_send(Err(error));
        }
    });
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(receiver));
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The writer [`streamed`] hands its `write`: a chunk buffer in front of the body.
pub(crate) struct ChunkWriter {
    sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buffer: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.sender
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_share_the_budget_and_give_it_back() {
        let refused = Arc::new(AtomicU64::new(0));
        let budget = ReadBudget::new(10 * READ_BYTES_PER_SPAN, refused.clone(), None);
        let first = budget.admit(6).unwrap();
        let error = budget.admit(6).unwrap_err();
        assert!(error.is_retryable(), "{error}");
        let _second = budget.admit(4).unwrap();
        drop(first);
        let _third = budget.admit(6).unwrap();
        let error = budget.admit(11).unwrap_err();
        assert!(!error.is_retryable(), "{error}");
        assert!(error.to_string().contains("11 spans"), "{error}");
        assert_eq!(refused.load(Ordering::Relaxed), 2);
    }
}
