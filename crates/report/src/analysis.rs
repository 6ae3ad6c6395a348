//! What `tracecheck analyze TRACE_ID` prints: a line naming the trace, the console
//! report's analyzer section ([`super::console::render_analyzer`], so a step and `analyze`
//! show findings the same way) and a verdict line; or one JSON object.
//!
//! # JSON wire format
//!
//! `--output json` prints one object on one line, a [`wire::TraceAnalysis`]: the trace ID and
//! the analyzer result in the shape of a step's `"analyzer"` field in the JSON report
//! (design.md, "Analyzer and required gates"; each span result also carries `span_name`):
//!
//! ```json
//! {"trace_id": "0af7651916cd43dd8448eb211c80319c", "analyzer": {"enabled": true,
//!   "score": 73, "minimum_score": 0, "passed": false, "plugins": [...]}}
//! ```

use std::borrow::Cow;

use super::console::{self, AnalyzerView};
use analyze::{analyzer_gates_pass, AnalyzerResult};
use model::{Trace, TraceId};

/// The JSON object `analyze --output json` prints, on one line.
pub fn to_json(trace_id: TraceId, result: &AnalyzerResult) -> String {
    let analysis = wire::TraceAnalysis { trace_id, analyzer: Cow::Borrowed(result) };
    // Plain structs with string keys: serializing to a String cannot fail.
    serde_json::to_string(&analysis).unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
}

/// The text `analyze` prints for people: a line naming the trace, the analyzer section and
/// a closing verdict line.
pub fn render_pretty(trace: &Trace, result: &AnalyzerResult, colour: bool, verbose: bool) -> String {
    let mut out = format!("Trace {} ({})\n", trace.trace_id, super::style::count(trace.spans.len(), "span"));
    out.push_str(&console::render_analyzer(result, AnalyzerView { colour, verbose }, ""));
    let verdict = if analyzer_gates_pass(result) { "PASSED" } else { "FAILED" };
    out.push_str(&format!("analyzer {verdict}\n"));
    super::style::terminal_safe(&out).into_owned()
}
