//! The formats that print a run's results, and what `traces` and `analyze` print: pure
//! rendering from `wire`'s types.
//!
//! The result types a run produces ([`RunReport`] and the step, spec, assertion and per-span
//! results under it) are `wire`'s, since the web API and the control API carry them too;
//! they serialize exactly to the JSON report of `design.md`, and are re-exported here for the
//! runner and the reporters' users, who fill them. `report` owns the
//! [`Reporter`] trait with one implementation per output format: [`console`] (pretty, for
//! people), [`json`] (one object per file) and [`junit`] (for CI). The runner fills the
//! types and drives a reporter, much as ripgrep's searcher drives a `Sink`. Besides the run
//! report, it renders what `traces` and `analyze` print ([`waterfall`], [`traces`],
//! [`diff`], [`analysis`]), all with the one palette of [`style`]. `report` knows nothing of
//! triggers, the store's workings or the expression languages, and does no I/O but the
//! reporters' writes: it only renders what it is given.

pub mod analysis;
pub mod console;
pub mod diff;
pub mod json;
pub mod junit;
pub mod style;
pub mod traces;
pub mod waterfall;

use std::io;

use model::TraceId;
pub use wire::{
    AssertionReport, RunKind, RunReport, RunState, SpanResult, SpecReport, StepReport, StepState,
};

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

    /// The step is waiting for its trace; called when it starts to, and then as the count
    /// of spans or the time waited moves on, only if [`Reporter::shows_progress`].
    fn on_waiting(&mut self, _progress: &WaitProgress) {}

    /// Whether [`Reporter::on_waiting`] shows anything: when none does, a step waits without
    /// a timer (and does not ask its source for span counts).
    fn shows_progress(&self) -> bool {
        false
    }

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

    fn shows_progress(&self) -> bool {
        self.iter().any(|reporter| reporter.shows_progress())
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
