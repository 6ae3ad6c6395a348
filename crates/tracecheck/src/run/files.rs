//! `tracecheck run FILE...` in the library: load and validate every file first, then run
//! the files against a trace source (up to `parallel` at once, each with its own variables)
//! and drive the reporters. Which source (the embedded ingestor or `--server`) is the
//! command line's choice (`cli::run`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use futures::stream::{self, StreamExt};

use super::{RunConfig, Runner, TraceSource, Variables};
use analyze::AnalyzerConfig;
use defs::Loaded;
use report::{Reporter, RunReport};

/// What `run` was asked to do.
pub struct RunFiles {
    /// Where traces come from: the embedded ingestor's store or a running `tracecheck serve`.
    pub source: Arc<dyn TraceSource>,
    pub config: RunConfig,
    /// Files run at once (at least 1).
    pub parallel: usize,
}

/// Why the files cannot run: all of it is bad input (exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Invalid or unreadable definitions, rendered with `file:line:col` and carets.
    #[error("{}", .0.render())]
    Invalid(defs::Errors),
    #[error("{}: {flag} expects {expected} file, found a {found}", .path.display())]
    WrongKind { path: PathBuf, flag: &'static str, expected: &'static str, found: &'static str },
    #[error("{}: a VariableSet is not runnable; pass it with --vars", .path.display())]
    NotRunnable { path: PathBuf },
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
/// [`LoadError::Invalid`] with all problems, or a file of the wrong kind.
pub fn load(
    files: &[PathBuf],
    vars: Option<&PathBuf>,
    analyzer: Option<&PathBuf>,
) -> Result<Inputs, LoadError> {
    let mut paths: Vec<PathBuf> = files.to_vec();
    paths.extend(vars.cloned());
    paths.extend(analyzer.cloned());
    let mut loaded = defs::validate_files(&paths).map_err(LoadError::Invalid)?;
    let mut inputs = Inputs {
        files: Vec::new(),
        variables: Variables::new(),
        analyzer: None,
        secret_variables: BTreeSet::new(),
    };
    let analyzer_file = analyzer.map(|_| loaded.pop().expect("one loaded file per path"));
    let vars_file = vars.map(|_| loaded.pop().expect("one loaded file per path"));
    let wrong_kind = |file: &Loaded, flag: &'static str, expected: &'static str| LoadError::WrongKind {
        path: file.path().to_path_buf(),
        flag,
        expected,
        found: file.kind(),
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
            Loaded::VariableSet(set) => return Err(LoadError::NotRunnable { path: set.path }),
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

/// Runs the loaded files against `request.source` and reports them; returns the runs in
/// file order.
pub async fn run_files(
    request: RunFiles,
    files: Vec<Loaded>,
    variables: Variables,
    reporter: &mut dyn Reporter,
) -> Vec<RunReport> {
    let source = request.source;
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
    reports
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
