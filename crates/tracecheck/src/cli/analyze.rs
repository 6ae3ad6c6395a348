//! `tracecheck analyze TRACE_ID`: read the Analyzer file, fetch the trace from a running
//! server, lint it ([`analyze::analyze`]) and print the verdict
//! ([`report::analysis`]). The trace passes when both analyzer gates would
//! ([`analyze::analyzer_gates_pass`]).

use std::io::Write;
use std::path::Path;

use super::args::{AnalyzeArgs, ClientArgs, ViewFormat};
use super::traces;
use super::{Error as CliError, Outcome};
use analyze::{analyze as lint, analyzer_gates_pass, AnalyzerConfig};
use model::{Trace, TraceId};
use report::{analysis, style};
use store::TraceStore;

/// Everything `analyze` needs besides the trace.
#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    pub format: ViewFormat,
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
    InvalidAnalyzer(defs::Errors),
    /// A bad trace ID, an unreachable server, a trace it does not hold, a failed write.
    #[error(transparent)]
    Fetch(#[from] traces::Error),
}

impl Error {
    /// True when the user's input was wrong (the Analyzer file, a bad URL, token or trace
    /// ID): exit code 2.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::InvalidAnalyzer(_) => true,
            Error::Fetch(error) => error.is_bad_input(),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Error::Fetch(traces::Error::Io(error))
    }
}

/// Runs `analyze` on stdout: [`Outcome::Failed`] when the trace fails the analyzer gates.
/// The Analyzer file is checked before the server is contacted.
///
/// # Errors
/// See [`Error`]; [`Error::is_bad_input`] picks the exit code.
pub async fn analyze(args: AnalyzeArgs) -> Result<Outcome, CliError> {
    let options = AnalyzeOptions {
        format: args.output,
        colour: style::use_colour(&std::io::stdout()),
        verbose: args.verbose,
    };
    let passed = analyze_remote(
        &args.client,
        &args.trace_id,
        args.analyzer.as_deref(),
        &options,
        &mut std::io::stdout(),
    )
    .await
    .map_err(|error| match error {
        // Already `file:line:col: message` lines, as `run` and `validate` print them.
        Error::InvalidAnalyzer(_) => CliError::Definitions(error.into()),
        error => CliError::classify(error.is_bad_input(), error),
    })?;
    Ok(Outcome::from_passed(passed))
}

/// The analyzer configuration of `--analyzer FILE`, or Tracetest's default without one.
///
/// # Errors
/// [`Error::InvalidAnalyzer`] with every problem of the file, read as `run` reads it.
pub fn load_config(path: Option<&Path>) -> Result<AnalyzerConfig, Error> {
    let Some(path) = path else {
        return Ok(AnalyzerConfig::default());
    };
    defs::load_analyzer(path).map_err(Error::InvalidAnalyzer)
}

/// Lints `trace` with `config` and prints the verdict to `out`; returns whether it passed.
///
/// # Errors
/// Only a failed write.
pub fn analyze_trace(
    trace: &Trace,
    config: &AnalyzerConfig,
    options: &AnalyzeOptions,
    out: &mut dyn Write,
) -> Result<bool, Error> {
    let result = lint(trace, config);
    match options.format {
        ViewFormat::Pretty => out
            .write_all(analysis::render_pretty(trace, &result, options.colour, options.verbose).as_bytes())?,
        ViewFormat::Json => writeln!(out, "{}", analysis::to_json(trace.trace_id, &result))?,
    }
    out.flush()?;
    Ok(analyzer_gates_pass(&result))
}

/// [`analyze_trace`] on a trace of an in-process store.
///
/// # Errors
/// [`traces::Error::TraceNotFound`] when the store holds no span of it, or a failed write.
pub fn analyze_stored(
    store: &TraceStore,
    trace_id: TraceId,
    config: &AnalyzerConfig,
    options: &AnalyzeOptions,
    out: &mut dyn Write,
) -> Result<bool, Error> {
    let trace = store.get(trace_id).ok_or(traces::Error::TraceNotFound(trace_id))?;
    analyze_trace(&trace, config, options, out)
}

/// `tracecheck analyze TRACE_ID --server URL[,URL...]`: loads the Analyzer file (if any),
/// fetches the trace from the running `tracecheck serve` that holds it, lints it and prints the verdict; returns
/// whether it passed.
///
/// # Errors
/// See [`Error`].
pub async fn analyze_remote(
    server: &ClientArgs,
    trace_id: &str,
    analyzer_file: Option<&Path>,
    options: &AnalyzeOptions,
    out: &mut dyn Write,
) -> Result<bool, Error> {
    let trace_id = traces::parse_trace_id(trace_id)?;
    let config = load_config(analyzer_file)?;
    let trace = traces::fetch(server, trace_id).await?;
    analyze_trace(&trace, &config, options, out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use analyze::AnalyzerResult;
    use model::{Span, SpanId, SpanKind};

    fn trace(spans: Vec<Span>) -> Trace {
        Trace::new(TraceId([1; 16]), spans.into_iter().map(Arc::new).collect())
    }

    fn options(format: ViewFormat, verbose: bool) -> AnalyzeOptions {
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
            &options(ViewFormat::Json, false),
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
            analyze_trace(&trace, &config, &options(ViewFormat::Pretty, verbose), &mut out).unwrap();
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

    #[tokio::test]
    async fn stored_traces_and_missing_ones() {
        let (store, _guard) = TraceStore::new(store::StoreConfig::default());
        let span = Span::new(TraceId([1; 16]), SpanId([2; 8]), "work")
            .with_kind(SpanKind::Internal)
            .with_resource_attribute("service.name", "users");
        store.insert(vec![span]);
        let config = AnalyzerConfig::default();
        let mut out = Vec::new();
        let passed =
            analyze_stored(&store, TraceId([1; 16]), &config, &options(ViewFormat::Pretty, false), &mut out)
                .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(passed, "{text}");
        assert!(text.contains("✔ analyzer: score 100 (minimum 0), 7 rules passed"), "{text}");
        let missing = analyze_stored(
            &store,
            TraceId([9; 16]),
            &config,
            &options(ViewFormat::Json, false),
            &mut Vec::new(),
        );
        assert!(matches!(missing, Err(Error::Fetch(traces::Error::TraceNotFound(_)))));
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
