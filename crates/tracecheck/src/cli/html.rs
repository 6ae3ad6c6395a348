//! `run --report-html PATH`: one self-contained HTML file with the web UI's Runs and Trace
//! views for this run: the same page and script as `serve`'s UI, with the reports and every
//! judged trace inlined as JSON (a [`wire::ReportData`], the API's own shapes) instead of
//! read from the API, so it opens from disk with no network access.

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
    let traces = traces.iter().map(|(trace_id, trace)| (*trace_id, wire::Trace::new(trace))).collect();
    ReportData { runs, run_list, traces }
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
