//! The `traceid` trigger: nothing is sent; the system under test was started by something
//! else (a browser test, a load generator) and the test names the trace it made.

use std::time::SystemTime;

use super::{Error, TriggerResponse};
use model::{SpanId, TraceId};

/// `trigger: {type: traceid, traceid: {id: ${var:TRACE_ID}}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceIdTrigger {
    /// The trace ID text; 32 hex characters once rendered.
    pub id: String,
}

impl TraceIdTrigger {
    pub fn render<E>(&self, render: &mut impl FnMut(&str) -> Result<String, E>) -> Result<Self, E> {
        Ok(TraceIdTrigger { id: render(&self.id)? })
    }

    /// The trace ID this trigger names.
    ///
    /// # Errors
    /// When `id` is not 32 hex characters (or is all zeros).
    pub fn trace_id(&self) -> Result<TraceId, Error> {
        let text = self.id.trim();
        if text.len() != 32 {
            return Err(Error::TraceId(self.id.clone()));
        }
        TraceId::from_hex(text).map_err(|_| Error::TraceId(self.id.clone()))
    }

    /// Answers at once with the named trace ID; the run's own IDs are not used.
    ///
    /// # Errors
    /// When `id` is not a valid trace ID.
    pub async fn fire(&self, _trace_id: TraceId, _span_id: SpanId) -> Result<TriggerResponse, Error> {
        let trace_id = self.trace_id()?;
        let now = SystemTime::now();
        Ok(TriggerResponse {
            trace_id,
            status: 0,
            status_text: String::new(),
            headers: Vec::new(),
            body: String::new(),
            attributes: Vec::new(),
            body_truncated_at: None,
            notes: Vec::new(),
            started: now,
            finished: now,
        })
    }
}
