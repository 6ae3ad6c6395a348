//! `tracecheck run FILE...`: load and validate every file first, pick the trace source
//! (the embedded ingestor or `--server`), run the files (up to `--parallel` at once, each with
//! its own variables) and drive the reporters.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use futures::stream::{self, StreamExt};

use super::{LocalSource, RunConfig, Runner, TraceSource, Variables};
use crate::analyze::AnalyzerConfig;
use crate::report::{Reporter, RunReport};
use crate::server::{self, ServerConfig};
use crate::spec::{self, Loaded};

/// What `run` was asked to do.
pub struct RunFiles {
    /// The embedded ingestor's settings; unused with `remote`.
    pub server: ServerConfig,
    /// A running `tracecheck serve` to use instead of the embedded ingestor.
    pub remote: Option<Arc<dyn TraceSource>>,
    pub config: RunConfig,
    pub parallel: usize,
    /// `--report-html`: also write the runs and their traces as one self-contained page.
    pub report_html: Option<PathBuf>,
}

/// Why `run` could not start: bad input (exit code 2) or a failure to start the ingestor.
#[derive(Debug, thiserror::Error)]
pub enum RunFilesError {
    /// Invalid or unreadable definitions, rendered with `file:line:col` and carets.
    #[error("{0}")]
    Invalid(String),
    #[error(
        "cannot start the embedded ingestor: {0} (is a `tracecheck serve` running there? use --server, \
         or --grpc-addr/--http-addr for other ports)"
    )]
    Server(#[from] server::Error),
    #[error("cannot write the HTML report: {0}")]
    Html(#[from] crate::report::html::Error),
}

/// Everything `run` reads before it starts: the runnable files, the starting variables and
/// the analyzer configuration.
pub struct Inputs {
    pub files: Vec<Loaded>,
    pub variables: Variables,
    /// From `--analyzer` or an Analyzer file among the FILEs; `None` = Tracetest's default.
    pub analyzer: Option<AnalyzerConfig>,
    /// Names of the `--vars` values of `type: secret`.
    pub secret_variables: BTreeSet<String>,
}

/// Loads every file, the `--vars` file and the `--analyzer` file, reporting every problem
/// of every file before anything runs.
///
/// # Errors
/// [`RunFilesError::Invalid`] with all problems rendered.
pub fn load(
    files: &[PathBuf],
    vars: Option<&PathBuf>,
    analyzer: Option<&PathBuf>,
) -> Result<Inputs, RunFilesError> {
    let mut paths: Vec<PathBuf> = files.to_vec();
    paths.extend(vars.cloned());
    paths.extend(analyzer.cloned());
    let mut loaded =
        spec::validate_files(&paths).map_err(|errors| RunFilesError::Invalid(errors.render()))?;
    let mut inputs = Inputs {
        files: Vec::new(),
        variables: Variables::new(),
        analyzer: None,
        secret_variables: BTreeSet::new(),
    };
    let analyzer_file = analyzer.map(|_| loaded.pop().expect("one loaded file per path"));
    let vars_file = vars.map(|_| loaded.pop().expect("one loaded file per path"));
    let wrong_kind = |file: &Loaded, flag: &str, expected: &str| {
        RunFilesError::Invalid(format!(
            "{}: {flag} expects {expected} file, found a {}",
            file.path().display(),
            file.kind()
        ))
    };
    match vars_file {
        Some(Loaded::VariableSet(set)) => {
            for variable in set.values {
                if variable.secret {
                    inputs.secret_variables.insert(variable.key.clone());
                }
                inputs.variables.insert(variable.key, variable.value);
            }
        }
        Some(other) => return Err(wrong_kind(&other, "--vars", "a VariableSet or Environment")),
        None => {}
    }
    for file in loaded {
        match file {
            Loaded::Analyzer(analyzer) => inputs.analyzer = Some(analyzer.config),
            Loaded::VariableSet(set) => {
                return Err(RunFilesError::Invalid(format!(
                    "{}: a VariableSet is not runnable; pass it with --vars",
                    set.path.display()
                )))
            }
            runnable => inputs.files.push(runnable),
        }
    }
    match analyzer_file {
        Some(Loaded::Analyzer(analyzer)) => inputs.analyzer = Some(analyzer.config),
        Some(other) => return Err(wrong_kind(&other, "--analyzer", "an Analyzer")),
        None => {}
    }
    Ok(inputs)
}

/// Runs the loaded files and reports them; returns the runs in file order.
///
/// # Errors
/// When the embedded ingestor cannot start.
pub async fn run_files(
    request: RunFiles,
    files: Vec<Loaded>,
    variables: Variables,
    reporter: &mut dyn Reporter,
) -> Result<Vec<RunReport>, RunFilesError> {
    let (source, embedded): (Arc<dyn TraceSource>, _) = match request.remote {
        Some(remote) => (remote, None),
        None => {
            let ingestor = server::start(request.server, |_| tonic::service::Routes::default()).await?;
            (Arc::new(LocalSource { store: ingestor.store().clone() }), Some(ingestor))
        }
    };
    let runner = Runner::new(source.clone(), request.config);
    let runnable: Vec<&Loaded> =
        files.iter().filter(|file| matches!(file, Loaded::Test(_) | Loaded::Suite(_))).collect();
    let mut reports = Vec::with_capacity(runnable.len());
    if request.parallel <= 1 || runnable.len() <= 1 {
        // One at a time: the reporter sees every step live.
        for file in runnable {
            if let Some(report) = runner.run_loaded(file, &variables, reporter).await {
                let report = with_file(report, file);
                record(&*source, &report).await;
                reports.push(report);
            }
        }
    } else {
        // Several at once: each run reports to a silent collector, and the real reporter
        // gets the finished runs in file order, so outputs never interleave.
        let finished: Vec<Option<RunReport>> = stream::iter(runnable.iter().map(|file| {
            let runner = runner.clone();
            let variables = variables.clone();
            let source = source.clone();
            async move {
                let report = with_file(runner.run_loaded(file, &variables, &mut Collector).await?, file);
                record(&*source, &report).await;
                Some(report)
            }
        }))
        .buffered(request.parallel)
        .collect()
        .await;
        for report in finished.into_iter().flatten() {
            if let Err(error) = reporter.finish(&report) {
                tracing::warn!("cannot write the report: {error}");
            }
            reports.push(report);
        }
    }
    let html = match &request.report_html {
        Some(path) => crate::report::html::write(path, &reports, &*source).await,
        None => Ok(()),
    };
    if let Some(ingestor) = embedded {
        if let Err(error) = ingestor.shutdown().await {
            tracing::warn!("embedded ingestor: {error}");
        }
    }
    html?;
    Ok(reports)
}

/// Records the run on the server (a no-op for the embedded ingestor); a server that cannot
/// record it does not fail the run.
async fn record(source: &dyn TraceSource, report: &RunReport) {
    if let Err(error) = source.record_run(report).await {
        tracing::warn!("cannot record the run on the server: {error:#}");
    }
}

fn with_file(mut report: RunReport, file: &Loaded) -> RunReport {
    report.file = Some(file.path().display().to_string());
    report
}

/// A reporter that keeps nothing: the runs' reports are returned instead.
struct Collector;

impl Reporter for Collector {
    fn finish(&mut self, _report: &RunReport) -> std::io::Result<()> {
        Ok(())
    }
}
