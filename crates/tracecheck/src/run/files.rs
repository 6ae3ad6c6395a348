//! `tracecheck run FILE...` in the library: load and validate every file first, then run
//! the files against a trace source (up to `parallel` at once, each with its own variables)
//! and drive the reporters. Which source (the embedded ingestor or `--server`) is the
//! command line's choice (`cli::run`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::stream::{self, StreamExt};

use super::{FinishedRun, RunConfig, Runner, TraceSource, Variables};
use analyze::AnalyzerConfig;
use defs::{DataStore, Loaded, NoEffect, PollingProfile, TestRunner};
use report::Reporter;

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

/// Everything `run` reads before it starts: the runnable files, the starting variables, the
/// analyzer configuration and the provisioning resources.
pub struct Inputs {
    pub files: Vec<Loaded>,
    pub variables: Variables,
    /// From `--analyzer` or an Analyzer file among the FILEs; `None` = Tracetest's default.
    pub analyzer: Option<AnalyzerConfig>,
    /// Names of the secret `--vars` values: `type: secret`, or untyped under a
    /// secret-looking name.
    pub secret_variables: BTreeSet<String>,
    /// Values of the environment variables whose names look secret that the CLI's
    /// `${NAME}` substitution put into any file read (steps' files included).
    pub secret_values: Vec<String>,
    pub provisioning: Provisioning,
    /// What the run should say once about how it read the files (tests left to a suite,
    /// resources that change nothing), for the command line to print.
    pub notes: Vec<String>,
}

/// The provisioning resources among the FILEs and `--config` files, one of each type: the
/// one marked `default: true` (the last such), else the last one given.
#[derive(Debug, Default)]
pub struct Provisioning {
    pub polling_profile: Option<PollingProfile>,
    pub test_runner: Option<TestRunner>,
    pub data_store: Option<DataStore>,
    /// `Config` and `Demo` resources: accepted, no effect.
    pub no_effect: Vec<NoEffect>,
}

/// Keeps `new` in `slot` unless `slot` holds a default and `new` is not one.
fn keep<T>(slot: &mut Option<T>, new: T, is_default: fn(&T) -> bool) {
    if slot.as_ref().is_none_or(|old| !is_default(old) || is_default(&new)) {
        *slot = Some(new);
    }
}

/// What a file given to `run` is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A FILE: tests and suites run; other resources configure the run.
    Run,
    /// `--config`: resources configure the run; tests only lend their IDs to suites.
    Config,
    Vars,
    Analyzer,
}

/// Loads every file, the `--config` files, the `--vars` file and the `--analyzer` file,
/// reporting every problem of every file before anything runs.
///
/// # Errors
/// [`LoadError::Invalid`] with all problems, or a file of the wrong kind.
pub fn load(
    files: &[PathBuf],
    config: &[PathBuf],
    vars: Option<&PathBuf>,
    analyzer: Option<&PathBuf>,
) -> Result<Inputs, LoadError> {
    let mut paths: Vec<PathBuf> = files.to_vec();
    paths.extend(config.iter().cloned());
    paths.extend(vars.cloned());
    paths.extend(analyzer.cloned());
    let loaded = defs::validate_files(&paths).map_err(LoadError::Invalid)?;
    let role = |path: &Path| {
        if analyzer.is_some_and(|analyzer| analyzer == path) {
            Role::Analyzer
        } else if vars.is_some_and(|vars| vars == path) {
            Role::Vars
        } else if config.iter().any(|config| config == path) && !files.iter().any(|file| file == path) {
            Role::Config
        } else {
            Role::Run
        }
    };
    let mut inputs = Inputs {
        files: Vec::new(),
        variables: Variables::new(),
        analyzer: None,
        secret_variables: BTreeSet::new(),
        secret_values: secret_env_values(&paths, &loaded),
        provisioning: Provisioning::default(),
        notes: Vec::new(),
    };
    let wrong_kind = |file: &Loaded, flag: &'static str, expected: &'static str| LoadError::WrongKind {
        path: file.path().to_path_buf(),
        flag,
        expected,
        found: file.kind(),
    };
    let mut flag_analyzer = None;
    for file in loaded {
        let settings = &mut inputs.provisioning;
        match (role(file.path()), file) {
            (Role::Vars, Loaded::VariableSet(set)) => {
                for variable in set.values {
                    if variable.secret {
                        inputs.secret_variables.insert(variable.key.clone());
                    }
                    inputs.variables.insert(variable.key, variable.value);
                }
            }
            (Role::Vars, other) => return Err(wrong_kind(&other, "--vars", "a VariableSet or Environment")),
            (Role::Analyzer, Loaded::Analyzer(file)) => flag_analyzer = Some(file.config),
            (Role::Analyzer, other) => return Err(wrong_kind(&other, "--analyzer", "an Analyzer")),
            (_, Loaded::Analyzer(file)) => inputs.analyzer = Some(file.config),
            (_, Loaded::PollingProfile(profile)) => {
                keep(&mut settings.polling_profile, profile, |profile| profile.default)
            }
            (_, Loaded::TestRunner(runner)) => keep(&mut settings.test_runner, runner, |_| false),
            (_, Loaded::DataStore(store)) => keep(&mut settings.data_store, store, |store| store.default),
            (_, Loaded::NoEffect(resource)) => settings.no_effect.push(resource),
            (Role::Run, Loaded::VariableSet(set)) => return Err(LoadError::NotRunnable { path: set.path }),
            (Role::Config, Loaded::VariableSet(set)) => inputs.notes.push(format!(
                "{}: the VariableSet `{}` in --config is not used; pass its file with --vars",
                set.path.display(),
                set.name
            )),
            // Tests and suites in --config files only lend their IDs to suites' steps.
            (Role::Config, _) => {}
            (Role::Run, runnable) => inputs.files.push(runnable),
        }
    }
    if flag_analyzer.is_some() {
        inputs.analyzer = flag_analyzer;
    }
    leave_steps_to_their_suites(&mut inputs);
    Ok(inputs)
}

/// The values of the secret-looking environment variables that `${NAME}` put into the files
/// read: `paths` and every suite's step files. Read again here, as the loader keeps no text.
fn secret_env_values(paths: &[PathBuf], loaded: &[Loaded]) -> Vec<String> {
    let steps = loaded.iter().filter_map(|file| match file {
        Loaded::Suite(suite) => Some(suite.steps.iter().map(|step| step.path.clone())),
        _ => None,
    });
    let mut read: BTreeSet<PathBuf> = paths.iter().cloned().collect();
    read.extend(steps.flatten());
    let mut values = Vec::new();
    for path in read {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        for name in defs::env_references(&text).into_iter().filter(|name| defs::looks_secret(name)) {
            values.extend(std::env::var(name).ok().filter(|value| !value.is_empty()));
        }
    }
    values
}

/// A Test given among the FILEs only for a suite to find it by its ID runs in the suite
/// only (as `tracetest run testsuite` runs it), not on its own as well. (A test a suite
/// names by its file, given too, is meant to run on its own as well.)
fn leave_steps_to_their_suites(inputs: &mut Inputs) {
    // The same file may be written `tests/a.yaml` on the command line and `./a.yaml` in the suite.
    let canonical = |path: &Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let steps: Vec<(PathBuf, Option<String>)> = inputs
        .files
        .iter()
        .filter_map(|file| match file {
            Loaded::Suite(suite) => Some(
                suite
                    .steps
                    .iter()
                    .zip(&suite.by_id)
                    .filter(|(_, by_id)| **by_id)
                    .map(|(step, _)| (canonical(&step.path), step.id.clone())),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    let is_step = |file: &Loaded| match file {
        Loaded::Test(test) => {
            let path = canonical(&test.path);
            steps.iter().any(|(step_path, id)| *step_path == path && *id == test.id)
        }
        _ => false,
    };
    let (left, kept): (Vec<Loaded>, Vec<Loaded>) = inputs.files.drain(..).partition(is_step);
    inputs.files = kept;
    for file in left {
        inputs.notes.push(format!(
            "{}: runs as a step of the suite that names its ID only, not on its own as well",
            file.path().display()
        ));
    }
}

/// Runs the loaded files against `request.source` and reports them; returns the runs in
/// file order, each recorded on the server (`FinishedRun::not_recorded` says why not).
pub async fn run_files(
    request: RunFiles,
    files: Vec<Loaded>,
    variables: Variables,
    reporter: &mut dyn Reporter,
) -> Vec<FinishedRun> {
    let source = request.source;
    let runner = Runner::new(source.clone(), request.config);
    let runnable: Vec<Arc<Loaded>> = files
        .into_iter()
        .filter(|file| matches!(file, Loaded::Test(_) | Loaded::Suite(_)))
        .map(Arc::new)
        .collect();
    let mut reports = Vec::with_capacity(runnable.len());
    if request.parallel <= 1 || runnable.len() <= 1 {
        // One at a time: the reporter sees every step live.
        for file in &runnable {
            if let Some(run) = runner.run_loaded(file, &variables, reporter).await {
                let mut run = with_file(run, file);
                record(&*source, &mut run).await;
                reports.push(run);
            }
        }
    } else {
        // Several at once: each run reports to a silent collector, and the real reporter
        // gets the finished runs in file order, so outputs never interleave. Each run is a
        // task of its own: polled together in this one (the command's, on the thread that
        // blocks on the runtime), 200 runs judged their traces one after another on one
        // core, and a verdict waited for the judging of every trace that settled with it.
        let finished: Vec<Option<FinishedRun>> = stream::iter(runnable.iter().map(|file| {
            let (runner, variables, source, file) =
                (runner.clone(), variables.clone(), source.clone(), file.clone());
            // Spawned only as `buffered` pulls it: at most `parallel` runs at once.
            tokio::spawn(async move {
                let mut run = with_file(runner.run_loaded(&file, &variables, &mut Collector).await?, &file);
                record(&*source, &mut run).await;
                Some(run)
            })
        }))
        .buffered(request.parallel)
        .map(|joined| joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic())))
        .collect()
        .await;
        for run in finished.into_iter().flatten() {
            if let Err(error) = reporter.finish(&run.report) {
                tracing::warn!("cannot write the report: {error}");
            }
            reports.push(run);
        }
    }
    reports
}

/// Records the run, with the traces it judged, on the server (a no-op for the embedded
/// ingestor). A run the server did not take keeps its verdict and says why in
/// `not_recorded`: the command reports it and fails, as a missing record is what the user
/// asked `--server` for.
async fn record(source: &dyn TraceSource, run: &mut FinishedRun) {
    if let Err(error) = source.record_run(&run.report, &run.traces).await {
        run.not_recorded = Some(model::error_chain(&error));
    }
}

fn with_file(mut run: FinishedRun, file: &Loaded) -> FinishedRun {
    run.report.file = Some(file.path().display().to_string());
    run
}

/// A reporter that keeps nothing: the runs' reports are returned instead.
struct Collector;

impl Reporter for Collector {
    fn finish(&mut self, _report: &report::RunReport) -> std::io::Result<()> {
        Ok(())
    }
}
