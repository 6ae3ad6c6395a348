//! `run --report-html PATH`: one self-contained HTML file with the web UI's Runs and Trace
//! views for this run: the same page and script as `serve`'s UI, with the reports and every
//! judged trace inlined as JSON instead of read from the API, so it opens from disk with no
//! network access.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{json, Map, Value};

use crate::run::TraceSource;
use report::RunReport;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot fetch trace {trace_id}: {reason}")]
    Trace { trace_id: model::TraceId, reason: String },
    #[error("{path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// The page's data: `{"runs": [{"id", "received_unix_ms", "report"}], "traces": {id: trace}}`.
pub async fn data(reports: &[RunReport], source: &dyn TraceSource) -> Result<Value, Error> {
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX));
    let mut traces = Map::new();
    for trace_id in reports.iter().flat_map(|report| &report.steps).filter_map(|step| step.trace_id) {
        if traces.contains_key(&trace_id.to_string()) {
            continue;
        }
        let trace = source
            .get(trace_id)
            .await
            .map_err(|error| Error::Trace { trace_id, reason: format!("{error:#}") })?;
        // A step that never got a trace (timeout) simply has none to show.
        if let Some(trace) = trace {
            traces.insert(trace_id.to_string(), server::web::json::trace_json(&trace));
        }
    }
    let runs: Vec<Value> = reports
        .iter()
        .enumerate()
        .map(|(index, report)| json!({ "id": index + 1, "received_unix_ms": now_ms, "report": report }))
        .collect();
    Ok(json!({ "runs": runs, "traces": traces }))
}

/// Writes the page for `reports` to `path`, fetching their traces from `source`.
pub async fn write(path: &Path, reports: &[RunReport], source: &dyn TraceSource) -> Result<(), Error> {
    let data = data(reports, source).await?;
    let page = ui::page(&ui::Mode::Inline(&data));
    std::fs::write(path, page).map_err(|source| Error::Write { path: path.to_path_buf(), source })
}
