//! The one trace-by-ID read of every query API, with the completeness wait: `?wait=30s`
//! answers once the trace is complete by the rules `run` applies (settle, grace, the wait as
//! timeout; the store's engine), with the warnings of an incomplete trace; without it the
//! read answers with what is stored now, as the originals do.

use std::time::Duration;

use axum::extract::FromRef;
use store::{TraceStore, WaitOptions};

use crate::error::EdgeError;
use crate::reads::{ReadBudget, ReadPermit};
use model::defaults::{DEFAULT_GRACE, DEFAULT_SETTLE, MAX_READ_WAIT, MAX_TRACE_PART_SPANS};
use model::{Trace, TraceId};

/// How long a read may wait for its trace to be complete (`None`: answer at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wait(pub Option<Duration>);

impl Wait {
    /// The `wait` query parameter: a duration such as `30s`, `500ms` or `2m`, at most
    /// [`MAX_READ_WAIT`]; absent or empty means no wait.
    ///
    /// # Errors
    /// [`EdgeError::Query`] naming the parameter, the value and why.
    pub fn parse(text: Option<&str>) -> Result<Wait, EdgeError> {
        let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
            return Ok(Wait(None));
        };
        let duration = humantime::parse_duration(text).map_err(|error| {
            EdgeError::Query(format!("wait={text:?}: {error} (expected a duration such as 30s or 500ms)"))
        })?;
        if duration > MAX_READ_WAIT {
            return Err(EdgeError::Query(format!(
                "wait={text:?}: at most {} may be waited",
                humantime::format_duration(MAX_READ_WAIT)
            )));
        }
        Ok(Wait((!duration.is_zero()).then_some(duration)))
    }
}

/// What the query APIs' routes read from: the store, and the budget every whole-trace read
/// takes its share of. Handlers take either part as their `State`.
#[derive(Clone)]
pub(crate) struct Reader {
    pub store: TraceStore,
    pub reads: ReadBudget,
}

impl FromRef<Reader> for TraceStore {
    fn from_ref(reader: &Reader) -> TraceStore {
        reader.store.clone()
    }
}

impl FromRef<Reader> for ReadBudget {
    fn from_ref(reader: &Reader) -> ReadBudget {
        reader.reads.clone()
    }
}

/// A trace as read, with what the wait found (for the formats that have room for it, such
/// as Jaeger's `warnings`).
pub struct TraceRead {
    pub trace: Trace,
    /// The read's share of the read budget: hold it until the answer is written.
    pub permit: ReadPermit,
    /// Whether the wait judged the trace complete; `None` when the read did not wait.
    pub complete: Option<bool>,
    /// Why the trace may be incomplete (empty when complete or not waited for).
    pub warnings: Vec<String>,
}

/// Reads one trace within the read budget, waiting for it to be complete when `wait` says
/// so.
///
/// # Errors
/// [`EdgeError::TraceNotFound`] when no span of the trace is stored (after the wait, when
/// there is one), as the originals answer 404; [`EdgeError::ReadsBusy`] or
/// [`EdgeError::TraceTooLarge`] when the budget has no room for it.
pub async fn read_trace(
    store: &TraceStore,
    reads: &ReadBudget,
    trace_id: TraceId,
    wait: Wait,
) -> Result<TraceRead, EdgeError> {
    let Wait(Some(timeout)) = wait else {
        // The share is taken from the span count before anything is decoded.
        let spans = store.span_count(trace_id).ok_or(EdgeError::TraceNotFound(trace_id))?;
        let permit = reads.admit(spans)?;
        let store = store.clone();
        let trace = tokio::task::spawn_blocking(move || store.get(trace_id))
            .await
            .map_err(|error| EdgeError::Internal(error.to_string()))?;
        let trace = trace.ok_or(EdgeError::TraceNotFound(trace_id))?;
        return Ok(TraceRead { trace, permit, complete: None, warnings: Vec::new() });
    };
    let options = WaitOptions {
        settle: DEFAULT_SETTLE,
        grace: DEFAULT_GRACE,
        timeout,
        started: tokio::time::Instant::now().into_std(),
        trigger_span_id: None,
    };
    // No selectors: rules 1, 2 and 4 only. A client that goes away drops this future,
    // which unpins the trace.
    let outcome = store.wait(trace_id, &options, &|_| Vec::new()).await;
    let trace = outcome.trace.ok_or(EdgeError::TraceNotFound(trace_id))?;
    // The wait judged a decoded trace (as `run` does); its share is taken now, before the
    // answer, the larger part of a read, is written.
    let permit = reads.admit(trace.spans.len())?;
    let mut warnings = outcome.warnings;
    warnings.extend(outcome.missing);
    Ok(TraceRead { trace, permit, complete: Some(outcome.complete), warnings })
}

/// One part of a trace, as [`read_part`] read it.
pub struct PartRead {
    /// The part's spans, a trace of their own.
    pub trace: Trace,
    pub part: wire::TracePart,
    /// The part's share of the read budget: hold it until the answer is written.
    pub permit: ReadPermit,
}

/// Reads the spans `offset..offset + limit` of a trace, in the order they arrived, within
/// the read budget: the way to open a trace too large to read whole. Only the part's spans
/// are decoded and charged to the budget, and `limit` is lowered to what the budget can
/// ever hold (and to [`MAX_TRACE_PART_SPANS`]), so every part of any trace can be read.
///
/// # Errors
/// [`EdgeError::TraceNotFound`] when no span of the trace is stored; [`EdgeError::Query`]
/// for a `limit` of 0; [`EdgeError::ReadsBusy`] when the reads in flight leave no room.
pub async fn read_part(
    store: &TraceStore,
    reads: &ReadBudget,
    trace_id: TraceId,
    offset: usize,
    limit: usize,
) -> Result<PartRead, EdgeError> {
    if limit == 0 {
        return Err(EdgeError::Query("limit=0: a part holds one span at least".to_string()));
    }
    let limit = limit.min(MAX_TRACE_PART_SPANS).min(reads.max_spans()).max(1);
    let total = store.span_count(trace_id).ok_or(EdgeError::TraceNotFound(trace_id))?;
    let permit = reads.admit(total.saturating_sub(offset).min(limit))?;
    let store = store.clone();
    let read =
        tokio::task::spawn_blocking(move || store.get_range(trace_id, offset..offset.saturating_add(limit)))
            .await
            .map_err(|error| EdgeError::Internal(error.to_string()))?;
    let (trace, total_span_count) = read.ok_or(EdgeError::TraceNotFound(trace_id))?;
    Ok(PartRead { trace, part: wire::TracePart { offset, limit, total_span_count }, permit })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_parses_durations_and_refuses_the_rest() {
        assert_eq!(Wait::parse(None).unwrap(), Wait(None));
        assert_eq!(Wait::parse(Some("")).unwrap(), Wait(None));
        assert_eq!(Wait::parse(Some("0s")).unwrap(), Wait(None));
        assert_eq!(Wait::parse(Some("30s")).unwrap(), Wait(Some(Duration::from_secs(30))));
        assert_eq!(Wait::parse(Some("250ms")).unwrap(), Wait(Some(Duration::from_millis(250))));
        let error = Wait::parse(Some("soon")).unwrap_err().to_string();
        assert!(error.contains("wait=\"soon\""), "{error}");
        let error = Wait::parse(Some("1h")).unwrap_err().to_string();
        assert!(error.contains("at most 5m"), "{error}");
    }
}
