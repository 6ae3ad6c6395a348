//! A run on the wire: the JSON report's types (`run --output json`, whose field names are
//! design.md's contract), a recorded run as the server keeps it, and a run's line in the
//! runs list. The control API's `RecordRun` carries the same fields as protobuf.
//!
//! # Extra fields beyond `design.md`
//!
//! - `duration_ms` on the run and on each step: wall time in milliseconds, omitted when the
//!   runner did not record it.
//! - `file` on the run: the definition file it came from, omitted when unknown.
//! - `analyzer` and `gates` on each step: present only when the analyzer ran (see the
//!   design's "Analyzer and required gates"); their contents are typed by the runner.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use model::{SpanId, TraceId};

/// Whether a report is for a single Test or a suite, named as its file names it: `TestSuite`,
/// or `Transaction` (Tracetest's older name for the same resource).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunKind {
    Test,
    Transaction,
    TestSuite,
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
            RunKind::TestSuite => "TestSuite",
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
    /// From the arrival of the judged trace's last span to the verdict, in microseconds: the
    /// settle window plus what judging took (load tools that fire runs by the thousand read
    /// it to see the verdicts keep up). Omitted when no span of the trace arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_span_to_verdict_us: Option<u64>,
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
            last_span_to_verdict_us: None,
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
    /// The assertion's comparator (`=`, `!=`, `<`, `contains`, ...): `expected` means
    /// "expected `< 400`", never "expected 400"; null in reports from before it was kept.
    #[serde(default)]
    pub comparator: Option<String>,
}

impl SpanResult {
    /// What was expected, with the comparator unless it is `=`: `201`, `< 400`, `!= 500`,
    /// `contains ana`; with `quoted`, the value quoted as the console quotes `observed`
    /// (`< "400"`). The one wording of every report.
    pub fn expectation(&self, quoted: bool) -> Option<String> {
        let expected = self.expected.as_deref()?;
        let value = if quoted { format!("{expected:?}") } else { expected.to_string() };
        Some(match self.comparator.as_deref() {
            None | Some("=") => value,
            Some(comparator) => format!("{comparator} {value}"),
        })
    }
}

/// A run the server recorded (`run --server` sends each file's report as it finishes): the
/// report as the runner wrote it, secrets already masked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedRun<'a> {
    /// Numbered from 1 in arrival order; never reused.
    pub id: u64,
    /// When the server received it, in Unix milliseconds.
    pub received_unix_ms: u64,
    pub report: Cow<'a, RunReport>,
}

/// A run's line in the runs list: the report without its specs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunLine<'a> {
    pub id: u64,
    pub received_unix_ms: u64,
    pub name: Cow<'a, str>,
    pub kind: RunKind,
    pub state: RunState,
    /// Null when the runner did not say.
    pub file: Option<Cow<'a, str>>,
    /// Null when the runner did not say.
    pub duration_ms: Option<u64>,
    pub steps: Vec<StepLine<'a>>,
}

/// A step in a [`RunLine`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepLine<'a> {
    pub name: Cow<'a, str>,
    pub state: StepState,
    pub trace_id: Option<TraceId>,
}

impl<'a> RunLine<'a> {
    /// The line of `run`.
    pub fn of(run: &'a RecordedRun<'_>) -> Self {
        Self::new(run.id, run.received_unix_ms, &run.report)
    }

    /// The line of run `id`'s `report`.
    pub fn new(id: u64, received_unix_ms: u64, report: &'a RunReport) -> Self {
        RunLine {
            id,
            received_unix_ms,
            name: Cow::Borrowed(&report.name),
            kind: report.kind,
            state: report.state,
            file: report.file.as_deref().map(Cow::Borrowed),
            duration_ms: report.duration_ms,
            steps: report
                .steps
                .iter()
                .map(|step| StepLine {
                    name: Cow::Borrowed(&step.name),
                    state: step.state,
                    trace_id: step.trace_id,
                })
                .collect(),
        }
    }
}

/// `GET /api/v1/runs`: the recorded runs' lines, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunList<'a> {
    pub runs: Vec<RunLine<'a>>,
    /// Runs dropped to stay within `--max-runs`.
    pub dropped: u64,
}
