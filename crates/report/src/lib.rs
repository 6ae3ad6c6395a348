//! Run results and the formats that print them.
//!
//! `report` owns the result types a run produces ([`RunReport`] and the step, spec,
//! assertion and per-span results under it), which serialize exactly to the JSON report of
//! `design.md`, and the [`Reporter`] trait with one implementation per output format:
//! [`console`] (pretty, for people), [`json`] (one object per file) and [`junit`] (for CI).
//! The runner fills the types and drives a reporter, much as ripgrep's searcher drives a
//! `Sink`. Besides the run report, it renders what `traces` and `analyze` print
//! ([`waterfall`], [`traces`], [`analysis`]), all with the one palette of [`style`].
//! `report` knows nothing of triggers, the store's workings or the expression languages,
//! and does no I/O but the reporters' writes: it only renders what it is given.
//!
//! # Extra fields beyond `design.md`
//!
//! - `duration_ms` on the run and on each step: wall time in milliseconds, omitted when the
//!   runner did not record it.
//! - `file` on the run: the definition file it came from, omitted when unknown.
//! - `analyzer` and `gates` on each step: present only when the analyzer ran (see the
//!   design's "Analyzer and required gates"); their contents are typed by the runner.

pub mod analysis;
pub mod console;
pub mod json;
pub mod junit;
pub mod style;
pub mod traces;
pub mod waterfall;

use std::collections::BTreeMap;
use std::io;

use serde::{Deserialize, Serialize};

use model::{SpanId, TraceId};

/// Whether a report is for a single Test or a Transaction/TestSuite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunKind {
    Test,
    Transaction,
}

/// The verdict of a whole run: `FINISHED` when every step passed, else `FAILED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunState {
    Finished,
    Failed,
}

/// The verdict of one step (one test run), as `design.md` defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepState {
    /// The trace was judged and every assertion (and required gate) passed.
    Passed,
    /// The trace was judged and an assertion failed or could not be evaluated.
    Failed,
    /// The trigger failed or no trace arrived before the timeout; `error` says why.
    Error,
    /// An earlier step ended in `ERROR`, so this one never ran.
    NotExecuted,
}

impl StepState {
    /// The state's name as it appears in JSON (`PASSED`, `NOT_EXECUTED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Passed => "PASSED",
            StepState::Failed => "FAILED",
            StepState::Error => "ERROR",
            StepState::NotExecuted => "NOT_EXECUTED",
        }
    }
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Finished => "FINISHED",
            RunState::Failed => "FAILED",
        }
    }

    /// `FINISHED` when every step passed, else `FAILED` (an empty run is `FINISHED`).
    pub fn from_steps(steps: &[StepReport]) -> Self {
        if steps.iter().all(|step| step.state == StepState::Passed) {
            RunState::Finished
        } else {
            RunState::Failed
        }
    }
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Test => "Test",
            RunKind::Transaction => "Transaction",
        }
    }
}

/// The result of running one file: a Test (one step) or a Transaction (its steps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub name: String,
    pub kind: RunKind,
    pub state: RunState,
    pub steps: Vec<StepReport>,
    /// The variable context at the end of the run (`--vars` values plus every output).
    pub variables: BTreeMap<String, String>,
    /// The definition file the run came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Wall time of the whole run in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

impl RunReport {
    /// True when the run's state is `FINISHED`.
    pub fn passed(&self) -> bool {
        self.state == RunState::Finished
    }
}

/// The result of one step: trigger, wait, outputs and specs of one test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub name: String,
    pub state: StepState,
    /// Why the step is `ERROR` (or `NOT_EXECUTED`); null otherwise.
    pub error: Option<String>,
    /// The run's trace ID; null when the step never got as far as choosing one.
    pub trace_id: Option<TraceId>,
    /// Spans in the judged trace, including the trigger span.
    pub span_count: usize,
    pub specs: Vec<SpecReport>,
    /// Output values by name (empty text for an output whose selector matched nothing).
    pub outputs: BTreeMap<String, String>,
    /// Things the user should know that did not decide the verdict: an incomplete trace
    /// judged at the grace or timeout, an output whose selector matched nothing.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Wall time of the step (trigger to verdict) in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The analyzer's result for this step's trace, when the analyzer ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyzer: Option<analyze::AnalyzerResult>,
    /// The required gates and which failed, when the analyzer ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gates: Option<analyze::GateResult>,
}

impl StepReport {
    /// A step that never ran because an earlier one ended in `ERROR`.
    pub fn not_executed(name: impl Into<String>) -> Self {
        StepReport {
            name: name.into(),
            state: StepState::NotExecuted,
            error: None,
            trace_id: None,
            span_count: 0,
            specs: Vec::new(),
            outputs: BTreeMap::new(),
            warnings: Vec::new(),
            duration_ms: None,
            analyzer: None,
            gates: None,
        }
    }
}

/// One spec of a test: a selector and its assertions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecReport {
    pub selector: String,
    /// The spec's label from the test file, if it has one.
    pub name: Option<String>,
    /// True when every assertion passed.
    pub passed: bool,
    pub matched_spans: usize,
    pub assertions: Vec<AssertionReport>,
}

impl SpecReport {
    /// The spec's label, falling back to its selector.
    pub fn title(&self) -> &str {
        match &self.name {
            Some(name) if !name.is_empty() => name,
            _ => &self.selector,
        }
    }
}

/// One assertion of a spec, evaluated on every selected span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssertionReport {
    pub assertion: String,
    /// True when every per-span result passed.
    pub passed: bool,
    pub results: Vec<SpanResult>,
}

/// An assertion's outcome on one span.
///
/// `passed: false` with `error: null` is a comparison that was false (JUnit `<failure>`);
/// `error` set means the check could not be evaluated (JUnit `<error>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanResult {
    /// The span the assertion was evaluated on; null when the selector matched no span.
    pub span_id: Option<SpanId>,
    /// The observed value (the left side's text); null when it could not be computed.
    pub observed: Option<String>,
    /// What it was compared with: the right side as resolved for this span, in the same
    /// display form as `observed`; null when it could not be computed.
    #[serde(default)]
    pub expected: Option<String>,
    pub passed: bool,
    pub error: Option<String>,
}

/// How far waiting for a trace has got, for live progress output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitProgress {
    pub trace_id: TraceId,
    /// Spans received so far (the trigger span included), when the source can tell cheaply
    /// (a remote server is not asked just to draw this line).
    pub n_spans: Option<usize>,
    /// Time since the trigger fired.
    pub elapsed: std::time::Duration,
}

/// Receives a run's events and prints them in one format.
///
/// The runner calls, per file, `on_step_started` / `on_waiting` (any number of times) /
/// `on_step_finished` for each step, then `finish` with the whole report; after every file
/// it calls `close` once. Only `finish` and `close` must do anything.
pub trait Reporter: Send {
    /// A step is about to fire its trigger.
    fn on_step_started(&mut self, _run_name: &str, _step_index: usize, _step_name: &str) {}

    /// The step is waiting for its trace; called whenever a span arrives and now and then.
    fn on_waiting(&mut self, _progress: &WaitProgress) {}

    /// A step has its verdict.
    fn on_step_finished(&mut self, _step: &StepReport) {}

    /// One file's run is done.
    ///
    /// # Errors
    /// When the output cannot be written.
    fn finish(&mut self, report: &RunReport) -> io::Result<()>;

    /// Every file is done: flush, or write a report that covers all files.
    ///
    /// # Errors
    /// When the output cannot be written.
    fn close(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Several reporters at once (e.g. pretty output on stdout plus `--junit PATH`).
impl Reporter for Vec<Box<dyn Reporter>> {
    fn on_step_started(&mut self, run_name: &str, step_index: usize, step_name: &str) {
        for reporter in self.iter_mut() {
            reporter.on_step_started(run_name, step_index, step_name);
        }
    }

    fn on_waiting(&mut self, progress: &WaitProgress) {
        for reporter in self.iter_mut() {
            reporter.on_waiting(progress);
        }
    }

    fn on_step_finished(&mut self, step: &StepReport) {
        for reporter in self.iter_mut() {
            reporter.on_step_finished(step);
        }
    }

    fn finish(&mut self, report: &RunReport) -> io::Result<()> {
        for reporter in self.iter_mut() {
            reporter.finish(report)?;
        }
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        for reporter in self.iter_mut() {
            reporter.close()?;
        }
        Ok(())
    }
}
