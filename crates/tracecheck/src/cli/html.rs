//! `run --report-html PATH`: one self-contained HTML file with the web UI's Runs and Trace
//! views for this run: the same page and script as `serve`'s UI, with the reports and every
//! judged trace inlined as JSON (a [`wire::ReportData`], the API's own shapes) instead of
//! read from the API, so it opens from disk with no network access. Trace compare, which
//! needs the server's merge, comes precomputed for the pairs the run pages offer.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::run::FinishedRun;
use model::{Trace, TraceId};
use wire::{RecordedRun, ReportData, RunLine, RunList, RunReport};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot write the report's data: {0}")]
    Data(#[from] serde_json::Error),
    #[error("{path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Every trace the runs' steps judged, by ID, as the runs judged them (with their trigger
/// spans); a step that never got a trace (a timeout) simply has none to show.
pub fn traces(runs: &[FinishedRun]) -> BTreeMap<TraceId, Trace> {
    runs.iter().flat_map(|run| &run.traces).map(|trace| (trace.trace_id, trace.clone())).collect()
}

/// The page's data for `reports` and their `traces`, numbering the runs from 1.
pub fn data<'a>(reports: &'a [RunReport], traces: &'a BTreeMap<TraceId, Trace>) -> ReportData<'a> {
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX));
    let numbered = || reports.iter().enumerate().map(|(index, report)| (index as u64 + 1, report));
    let runs: Vec<RecordedRun<'a>> = numbered()
        .map(|(id, report)| RecordedRun { id, received_unix_ms: now_ms, report: Cow::Borrowed(report) })
        .collect();
    // Newest first, as `GET /api/v1/runs` lists them.
    let lines = numbered().rev().map(|(id, report)| RunLine::new(id, now_ms, report));
    let run_list = RunList { runs: lines.collect(), dropped: 0 };
    let diffs = compares(reports)
        .into_iter()
        .filter_map(|(a, b)| Some(wire::diff(traces.get(&a)?, traces.get(&b)?)))
        .collect();
    let traces = traces.iter().map(|(trace_id, trace)| (*trace_id, wire::Trace::new(trace))).collect();
    ReportData { runs, run_list, traces, diffs }
}

/// The (A, B) trace pairs the report's run pages offer to compare (`compare.js`'s
/// `comparableRuns`): each step's trace as B against the same step's in each of the newest
/// [`wire::REPORT_COMPARES_PER_STEP`] other runs of the same test as A; each pair once.
fn compares(reports: &[RunReport]) -> Vec<(TraceId, TraceId)> {
    let mut pairs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (index, report) in reports.iter().enumerate() {
        for (step_index, step) in report.steps.iter().enumerate() {
            let Some(b) = step.trace_id else { continue };
            // Newest first, as the run list the page reads.
            let others = reports
                .iter()
                .enumerate()
                .rev()
                .filter(|&(other, earlier)| other != index && earlier.name == report.name);
            let partners = others
                .filter_map(|(_, other)| other.steps.get(step_index).and_then(|step| step.trace_id))
                .take(wire::REPORT_COMPARES_PER_STEP);
            for a in partners {
                if a != b && seen.insert((a, b)) {
                    pairs.push((a, b));
                }
            }
        }
    }
    pairs
}

/// Writes the page for `runs` to `path`, with the traces they judged.
pub fn write(path: &Path, runs: &[FinishedRun]) -> Result<(), Error> {
    let traces = traces(runs);
    let reports: Vec<RunReport> = runs.iter().map(|run| run.report.clone()).collect();
    let reports = reports.as_slice();
    // `ui::page` takes a `serde_json::Value` (it escapes every `<` in the text it makes of
    // it): one conversion of the typed data, once per run, off any hot path.
    let data = serde_json::to_value(data(reports, &traces))?;
    let page = ui::page(&ui::Mode::Inline(&data));
    std::fs::write(path, page).map_err(|source| Error::Write { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use wire::{RunKind, RunState, StepReport};

    /// A run of test `name` whose steps judged the traces `trace_ids` (0: no trace).
    fn run(name: &str, trace_ids: &[u8]) -> RunReport {
        let steps = trace_ids
            .iter()
            .map(|&id| StepReport {
                trace_id: (id != 0).then_some(TraceId([id; 16])),
                ..StepReport::not_executed("step")
            })
            .collect();
        RunReport {
            name: name.into(),
            kind: RunKind::Test,
            state: RunState::Finished,
            steps,
            variables: BTreeMap::new(),
            file: None,
            duration_ms: None,
        }
    }

    /// The pairs the run pages offer: the same test's same step, the newest other runs
    /// first and at most [`wire::REPORT_COMPARES_PER_STEP`] of them; never another test's, a
    /// step without a trace, or a trace against itself.
    #[test]
    fn a_report_compares_each_step_with_the_same_step_of_the_tests_other_runs() {
        let t = |id: u8| TraceId([id; 16]);
        let reports = [run("a", &[1, 2]), run("b", &[3]), run("a", &[4, 0]), run("a", &[1, 5])];
        // Run 1's first step against run 4's (the same trace: none) and run 3's, its second
        // against run 4's; run 3's against run 4's (run 1's is the same pair again); run 4's
        // second against run 1's.
        assert_eq!(compares(&reports), [(t(4), t(1)), (t(5), t(2)), (t(1), t(4)), (t(2), t(5))]);
        let many: Vec<RunReport> = (1..=8).map(|id| run("a", &[id])).collect();
        let pairs = compares(&many);
        let of_newest: Vec<TraceId> = pairs.iter().filter(|(_, b)| *b == t(8)).map(|(a, _)| *a).collect();
        assert_eq!(of_newest, [t(7), t(6), t(5), t(4), t(3)]);
        assert_eq!(pairs.len(), 8 * wire::REPORT_COMPARES_PER_STEP);
    }
}
