//! `tracecheck analyze TRACE_ID`: lint one stored trace and print the verdict, as library
//! functions so `main.rs` only parses flags and maps the outcome to an exit code.
//!
//! This is the analyzer's edge: unlike the rest of `analyze`, it reads the Analyzer file,
//! fetches the trace (from a running server through [`RemoteClient`], or from an in-process
//! [`TraceStore`]) and prints. The pretty text is the console report's analyzer section
//! ([`console::render_analyzer`]), so a step and `analyze` show findings the same way.
//!
//! # Verdict
//!
//! The trace passes when both analyzer gates would pass: the analyzer passed (every enabled
//! plugin passed) and its score is at least the configured minimum. A disabled analyzer
//! passes, as it fails no gate (AQ-13).
//!
//! # JSON wire format
//!
//! `--output json` prints one object on one line: the trace ID and the analyzer result in
//! the shape of a step's `"analyzer"` field in the JSON report (design.md, "Analyzer and
//! required gates"; each span result also carries `span_name`):
//!
//! ```json
//! {"trace_id": "0af7651916cd43dd8448eb211c80319c", "analyzer": {"enabled": true,
//!   "score": 73, "minimum_score": 0, "passed": false, "plugins": [...]}}
//! ```

use std::io::Write;
use std::path::Path;

use serde_json::json;

use super::{analyze, decide_gates, AnalyzerConfig, AnalyzerResult, Gate};
use crate::api::{self, RemoteClient};
use crate::model::{Trace, TraceId};
use crate::report::console::{self, AnalyzerView};
use crate::store::TraceStore;

/// How `analyze` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnalyzeFormat {
    /// The console report's analyzer section, with a header line naming the trace.
    Pretty,
    /// One JSON object on one line, as documented in this module.
    Json,
}

/// Everything `analyze` needs besides the trace.
#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    pub format: AnalyzeFormat,
    /// Colours in pretty output (only for a terminal).
    pub colour: bool,
    /// Every failed span of every failed rule in pretty output.
    pub verbose: bool,
}

/// What can stop `analyze` from giving a verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Every problem of the Analyzer file (unreadable, or each definition error as
    /// `file:line:col: message`), one per line.
    #[error("{0}")]
    InvalidAnalyzer(crate::spec::Errors),
    #[error("trace {0} not found")]
    TraceNotFound(TraceId),
    #[error(transparent)]
    Api(#[from] api::Error),
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// True when the user's input was wrong (the Analyzer file, a bad URL, token or trace
    /// ID): exit code 2.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::InvalidAnalyzer(_) => true,
            Error::Api(error) => error.is_bad_input(),
            Error::TraceNotFound(_) | Error::Io(_) => false,
        }
    }
}

/// The analyzer configuration of `--analyzer FILE`, or Tracetest's default without one.
///
/// # Errors
/// [`Error::InvalidAnalyzer`] with every problem of the file, read as `run` reads it.
pub fn load_config(path: Option<&Path>) -> Result<AnalyzerConfig, Error> {
    let Some(path) = path else {
        return Ok(AnalyzerConfig::default());
    };
    crate::spec::load_analyzer(path).map_err(Error::InvalidAnalyzer)
}

/// The `analyze` verdict on a result: both analyzer gates pass (see the module docs).
pub fn passed(result: &AnalyzerResult) -> bool {
    decide_gates(&[Gate::AnalyzerRules, Gate::AnalyzerScore], true, Some(result)).passed
}

/// The JSON object `analyze --output json` prints.
pub fn to_json(trace_id: TraceId, result: &AnalyzerResult) -> serde_json::Value {
    json!({ "trace_id": trace_id.to_string(), "analyzer": result })
}

/// The text `analyze` prints for people: a line naming the trace, the analyzer section and
/// a closing verdict line.
pub fn render_pretty(trace: &Trace, result: &AnalyzerResult, colour: bool, verbose: bool) -> String {
    let mut out = format!("Trace {} ({} spans)\n", trace.trace_id, trace.spans.len());
    out.push_str(&console::render_analyzer(result, AnalyzerView { colour, verbose }, ""));
    let verdict = if passed(result) { "PASSED" } else { "FAILED" };
    out.push_str(&format!("analyzer {verdict}\n"));
    out
}

/// Lints `trace` with `config` and prints the verdict to `out`; returns whether it passed.
/// This is the in-process `analyze`: the trace can come from anywhere.
///
/// # Errors
/// Only a failed write.
pub fn analyze_trace(
    trace: &Trace,
    config: &AnalyzerConfig,
    options: &AnalyzeOptions,
    out: &mut dyn Write,
) -> Result<bool, Error> {
    let result = analyze(trace, config);
    match options.format {
        AnalyzeFormat::Pretty => {
            out.write_all(render_pretty(trace, &result, options.colour, options.verbose).as_bytes())?
        }
        AnalyzeFormat::Json => writeln!(out, "{}", to_json(trace.trace_id, &result))?,
    }
    out.flush()?;
    Ok(passed(&result))
}

/// [`analyze_trace`] on a trace of an in-process store.
///
/// # Errors
/// [`Error::TraceNotFound`] when the store holds no span of it, or a failed write.
pub fn analyze_stored(
    store: &TraceStore,
    trace_id: TraceId,
    config: &AnalyzerConfig,
    options: &AnalyzeOptions,
    out: &mut dyn Write,
) -> Result<bool, Error> {
    let trace = store.get(trace_id).ok_or(Error::TraceNotFound(trace_id))?;
    analyze_trace(&trace, config, options, out)
}

/// `tracecheck analyze TRACE_ID --server URL`: loads the Analyzer file (if any), fetches
/// the trace from a running `tracecheck serve`, lints it and prints the verdict; returns
/// whether it passed. The Analyzer file is checked before the server is contacted.
///
/// # Errors
/// A bad Analyzer file or trace ID, an unreachable server or refused call
/// ([`Error::is_bad_input`] tells which are the user's), a trace the server does not hold,
/// or a failed write.
pub async fn analyze_remote(
    server: &str,
    auth_token: Option<&str>,
    trace_id: &str,
    analyzer_file: Option<&Path>,
    options: &AnalyzeOptions,
    out: &mut dyn Write,
) -> Result<bool, Error> {
    let trace_id = api::cli::parse_trace_id(trace_id)?;
    let config = load_config(analyzer_file)?;
    let client = RemoteClient::connect(server, auth_token).await?;
    let trace = client.get(trace_id).await?.ok_or(Error::TraceNotFound(trace_id))?;
    analyze_trace(&trace, &config, options, out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Span, SpanId, SpanKind};

    fn trace(spans: Vec<Span>) -> Trace {
        Trace::new(TraceId([1; 16]), spans.into_iter().map(Arc::new).collect())
    }

    fn options(format: AnalyzeFormat, verbose: bool) -> AnalyzeOptions {
        AnalyzeOptions { format, colour: false, verbose }
    }

    /// A server span named against the convention, with a leaked key.
    fn bad_span(n: u8) -> Span {
        Span::new(TraceId([1; 16]), SpanId([n; 8]), &format!("handler {n}"))
            .with_kind(SpanKind::Server)
            .with_times(1_000 + u64::from(n), 2_000)
            .with_attribute("http.method", "GET")
            .with_attribute("http.route", "/users")
            .with_attribute("http.request.header.authorization", "Bearer abcdefghijklmnop")
    }

    #[test]
    fn json_has_the_trace_id_and_the_analyzer() {
        let mut out = Vec::new();
        let passed = analyze_trace(
            &trace(vec![bad_span(2)]),
            &AnalyzerConfig::default(),
            &options(AnalyzeFormat::Json, false),
            &mut out,
        )
        .unwrap();
        assert!(!passed);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["trace_id"], "01010101010101010101010101010101");
        assert_eq!(value["analyzer"]["enabled"], true);
        assert_eq!(value["analyzer"]["passed"], false);
        let back: AnalyzerResult = serde_json::from_value(value["analyzer"].clone()).unwrap();
        assert_eq!(back.plugins.len(), 3);
        assert!(!text.contains("abcdefghijklmnop"), "the secret is masked: {text}");
    }

    #[test]
    fn pretty_limits_spans_per_rule_unless_verbose() {
        let spans: Vec<Span> = (2..8).map(bad_span).collect();
        let trace = trace(spans);
        let config = AnalyzerConfig::default();
        let render = |verbose| {
            let mut out = Vec::new();
            analyze_trace(&trace, &config, &options(AnalyzeFormat::Pretty, verbose), &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        let short = render(false);
        assert!(short.starts_with("Trace 01010101010101010101010101010101 (6 spans)\n"), "{short}");
        assert!(short.contains("Span Naming (standards/span-naming, error, weight 25): 6 of 6 spans failed"));
        assert!(short.contains("... 3 more spans (use --verbose)"), "{short}");
        assert!(short.contains("#0202020202020202 \"handler 2\""), "{short}");
        assert!(!short.contains("#0505050505050505"), "{short}");
        assert!(short.ends_with("analyzer FAILED\n"), "{short}");
        let long = render(true);
        assert!(!long.contains("more spans"), "{long}");
        assert!(long.contains("#0707070707070707 \"handler 7\""), "{long}");
    }

    #[test]
    fn verdict_needs_both_analyzer_gates() {
        let result = |passed, score, minimum_score| AnalyzerResult {
            enabled: true,
            score,
            minimum_score,
            passed,
            plugins: Vec::new(),
        };
        assert!(super::passed(&result(true, 80, 80)));
        assert!(!super::passed(&result(true, 79, 80)));
        assert!(!super::passed(&result(false, 100, 0)));
        assert!(super::passed(&AnalyzerResult::disabled()));
    }

    #[tokio::test]
    async fn stored_traces_and_missing_ones() {
        let (store, _guard) = TraceStore::new(crate::store::StoreConfig::default());
        let span = Span::new(TraceId([1; 16]), SpanId([2; 8]), "work")
            .with_kind(SpanKind::Internal)
            .with_resource_attribute("service.name", "users");
        store.insert(vec![span]);
        let config = AnalyzerConfig::default();
        let mut out = Vec::new();
        let passed = analyze_stored(
            &store,
            TraceId([1; 16]),
            &config,
            &options(AnalyzeFormat::Pretty, false),
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(passed, "{text}");
        assert!(text.contains("✔ analyzer: score 100 (minimum 0), 7 rules passed"), "{text}");
        let missing = analyze_stored(
            &store,
            TraceId([9; 16]),
            &config,
            &options(AnalyzeFormat::Json, false),
            &mut Vec::new(),
        );
        assert!(matches!(missing, Err(Error::TraceNotFound(_))));
    }

    #[test]
    fn analyzer_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("analyzer.yaml");
        std::fs::write(&path, "type: Analyzer\nspec:\n  name: ''\n  enabled: true\n").unwrap();
        let error = load_config(Some(&path)).unwrap_err();
        assert!(error.is_bad_input());
        let text = error.to_string();
        assert!(text.starts_with(&format!("{}:", path.display())), "{text}");
        let missing = load_config(Some(&dir.path().join("nope.yaml"))).unwrap_err();
        assert!(missing.is_bad_input());
        assert!(missing.to_string().contains("cannot read file"), "{missing}");
        assert_eq!(load_config(None).unwrap(), AnalyzerConfig::default());
    }
}
