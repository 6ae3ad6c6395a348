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
