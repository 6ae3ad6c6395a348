//! The JSON report (`--output json`): one object per run, one line per object.
//!
//! # Wire format
//!
//! Each file given to `tracecheck run` prints exactly one line holding one JSON object,
//! the serialization of [`RunReport`](super::RunReport):
//!
//! ```json
//! {"name":"create and fetch user","kind":"Transaction","state":"FINISHED",
//!  "steps":[{"name":"create user","state":"PASSED","error":null,
//!            "trace_id":"0af7651916cd43dd8448eb211c80319c","span_count":7,
//!            "specs":[{"selector":"span[tracetest.span.type=\"http\"]",
//!                      "name":"all HTTP spans succeed","passed":true,"matched_spans":3,
//!                      "assertions":[{"assertion":"attr:http.status_code = 200","passed":true,
//!                                     "results":[{"span_id":"b7ad6b7169203331","observed":"200",
//!                                                 "expected":"200","passed":true,"error":null}]}]}],
//!            "outputs":{"USER_ID":"42"},"warnings":[],"duration_ms":612}],
//!  "variables":{"HOST":"localhost:8080","USER_ID":"42"},"file":"tests/user.yaml","duration_ms":1204}
//! ```
//! (shown wrapped; the real output is a single line).
//!
//! - `kind`: `Test` or `Transaction`; `state`: `FINISHED` or `FAILED`.
//! - step `state`: `PASSED`, `FAILED`, `ERROR` or `NOT_EXECUTED`; `error` is null unless
//!   `ERROR`; `trace_id` is null when the step never chose one.
//! - per-span results: `span_id` is null when the selector matched nothing; `observed` (the
//!   left side) and `expected` (the right side as resolved for that span, in the same
//!   display form: `25ms` in a duration comparison) are null when they could not be computed; `error` is set when the check could not be
//!   evaluated (as opposed to a comparison that was false).
//! - `outputs` and `variables` are objects of text values with keys in sorted order.
//! - Fields beyond `design.md`: `file`, `duration_ms` (run and step; omitted when unknown),
//!   `last_span_to_verdict_us` on steps (from the judged trace's last span arriving to the
//!   verdict, the settle included; omitted when no span arrived), and `analyzer`/`gates` on
//!   steps (omitted when the analyzer did not run).

use std::io::{self, Write};

use super::{Reporter, RunReport};

/// The report as one line of JSON (no trailing newline).
pub fn render(report: &RunReport) -> String {
    // Serializing these plain structs to a String cannot fail: every map key is a string.
    serde_json::to_string(report).unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
}

/// Prints one JSON line per finished run.
pub struct JsonReporter {
    out: Box<dyn Write + Send>,
}

impl JsonReporter {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        JsonReporter { out }
    }

    /// Writes to standard output.
    pub fn stdout() -> Self {
        JsonReporter::new(Box::new(io::stdout()))
    }
}

impl Reporter for JsonReporter {
    fn finish(&mut self, report: &RunReport) -> io::Result<()> {
        writeln!(self.out, "{}", render(report))?;
        self.out.flush()
    }

    fn close(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
