//! The web API's smaller answers, its server-sent events and the HTML report's inlined data.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use model::{SpanId, TraceId};

use crate::run::{RecordedRun, RunList, RunState};
use crate::trace::Trace;

/// `GET /api/v1/traces/{id}/select?selector=S`: the spans a spec with that selector selects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection<'a> {
    pub selector: Cow<'a, str>,
    /// In the languages' order, each once.
    pub matched_span_ids: Vec<SpanId>,
}

/// The body of every web API error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody<'a> {
    /// What was wrong, in words.
    pub error: Cow<'a, str>,
    /// For a selector syntax error, the column (from 1) where it is; null otherwise.
    pub column: Option<usize>,
}

/// The data of the events `trace.created` and `trace.grown`: what the store's index knows
/// without decoding the trace, so a burst of inserts costs no decoding per listener.
/// (Fields in the order the events have always had: clients match the text.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceChange {
    pub span_count: usize,
    pub trace_id: TraceId,
}

/// The data of the event `run.recorded`: enough to name the run; its line is one
/// `GET /api/v1/runs` away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecorded<'a> {
    pub id: u64,
    pub name: Cow<'a, str>,
    pub state: RunState,
}

/// What `run --report-html` inlines in the page: the runs (each as `GET /api/v1/runs/{id}`
/// answers), their list (as `GET /api/v1/runs` answers), every judged trace (as
/// `GET /api/v1/traces/{id}` answers) and the comparisons its run pages offer (as
/// `GET /api/v1/diff` answers), so the page reads the API's own shapes offline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportData<'a> {
    pub runs: Vec<RecordedRun<'a>>,
    pub run_list: RunList<'a>,
    /// By trace ID; a step without a trace (a timeout) has none here.
    pub traces: BTreeMap<TraceId, Trace<'a>>,
    /// Trace compare without a server: for each run's step, its trace (B) against the same
    /// step's trace in each of the newest other runs of the same test (A), at most
    /// [`REPORT_COMPARES_PER_STEP`] of them, each computed by [`crate::diff`] when the
    /// report is written, as the server would answer it (the page draws, never merges).
    #[serde(default)]
    pub diffs: Vec<crate::TraceDiff>,
}

/// How many other runs a report's step is compared with (the run page links as many).
pub const REPORT_COMPARES_PER_STEP: usize = 5;
