//! The test runner: a test run is trigger, wait, outputs, specs; a transaction runs its
//! steps in order with one variable context.
//!
//! `run` is the glue of the data path: it takes loaded definitions from [`defs`],
//! renders trigger templates and evaluates outputs and assertions with [`lang`], fires
//! [`trigger`]s, waits on a [`TraceSource`] (the in-process store or a remote
//! tracecheck), and hands results to a [`report::Reporter`]. Failed assertions are
//! data in the report; an `Err` from a step only means the step could not go on (its state is
//! then `ERROR`).

mod files;
mod polled;
mod secrets;
mod source;
mod step;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use files::{load, run_files, Inputs, LoadError, RunFiles};
pub use polled::{Backend, BackendError, PolledSource, UnsupportedBackend};
pub use secrets::Secrets;
pub use source::{BoxFuture, LocalSource, Meanwhile, RemoteSource, ShardedSource, SourceError, TraceSource};
pub use step::{trigger_span, StepError, StepRun};

use analyze::{AnalyzerConfig, Gate, DEFAULT_REQUIRED_GATES};
use defs::{Loaded, Test};
use lang::Vars;
use report::{Reporter, RunKind, RunReport, RunState, StepReport, StepState};

/// How a run waits and judges (the `run` command's flags).
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub settle: Duration,
    pub grace: Duration,
    pub timeout: Duration,
    /// The analyzer's configuration (Tracetest's default unless an Analyzer file is given).
    pub analyzer: Arc<AnalyzerConfig>,
    /// The gates a step must pass besides being judged (`--required-gates`).
    pub required_gates: Vec<Gate>,
    /// Names of the secret variables (`type: secret`, or untyped with a secret-looking
    /// name): used as they are, their values masked in every report.
    pub secret_variables: Arc<BTreeSet<String>>,
    /// Values from the environment that the CLI's `${NAME}` substitution put into the
    /// definitions under secret-looking names, masked alike.
    pub secret_values: Arc<Vec<String>>,
    /// What the run's triggers share: what one may hold of its answer (`--max-response-body`,
    /// `--max-redirects`) and the connections they keep. Clones of a config share it.
    pub trigger_session: trigger::Session,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            settle: model::defaults::DEFAULT_SETTLE,
            grace: model::defaults::DEFAULT_GRACE,
            timeout: model::defaults::DEFAULT_TIMEOUT,
            analyzer: Arc::new(AnalyzerConfig::default()),
            required_gates: DEFAULT_REQUIRED_GATES.to_vec(),
            secret_variables: Arc::default(),
            secret_values: Arc::default(),
            trigger_session: trigger::Session::default(),
        }
    }
}

/// Runs tests and transactions against one trace source.
#[derive(Clone)]
pub struct Runner {
    source: Arc<dyn TraceSource>,
    config: RunConfig,
}

/// What a report shows instead of a secret variable's value.
pub const SECRET_MASK: &str = "******";

/// The variable context of a run: names to text values, kept sorted for reports.
pub type Variables = BTreeMap<String, String>;

/// One file's finished run: its report, and the traces its steps judged as the run saw them
/// (each with the run's trigger span, which no store holds), in step order, each once. A
/// recorded run and the HTML report keep these, not what a store may still hold.
#[derive(Debug, Clone)]
pub struct FinishedRun {
    pub report: RunReport,
    pub traces: Vec<model::Trace>,
    /// Why the run could not be recorded on the server (`run --server`), if it was not.
    pub not_recorded: Option<String>,
}

impl Runner {
    pub fn new(source: Arc<dyn TraceSource>, config: RunConfig) -> Self {
        Runner { source, config }
    }

    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// Runs a Test or a Transaction/TestSuite file starting from `variables` (never
    /// modified: each run works on its own copy) and reports to `reporter`. Other kinds of
    /// file yield `None`.
    pub async fn run_loaded(
        &self,
        loaded: &Loaded,
        variables: &Variables,
        reporter: &mut dyn Reporter,
    ) -> Option<FinishedRun> {
        match loaded {
            Loaded::Test(test) => Some(
                self.run_steps(&test.name, RunKind::Test, std::slice::from_ref(test), variables, reporter)
                    .await,
            ),
            Loaded::Suite(suite) => Some(
                self.run_steps(
                    &suite.name,
                    if suite.transaction { RunKind::Transaction } else { RunKind::TestSuite },
                    &suite.steps,
                    variables,
                    reporter,
                )
                .await,
            ),
            _ => None,
        }
    }

    /// Runs `steps` in order with one variable context: each step's outputs join the context
    /// after it finishes. A step in `ERROR` stops the run; the rest are `NOT_EXECUTED`.
    pub async fn run_steps(
        &self,
        name: &str,
        kind: RunKind,
        steps: &[Test],
        variables: &Variables,
        reporter: &mut dyn Reporter,
    ) -> FinishedRun {
        let started = Instant::now();
        let mut context = variables.clone();
        let mut reports = Vec::with_capacity(steps.len());
        let mut traces: Vec<model::Trace> = Vec::new();
        let mut stopped = false;
        for (step_index, test) in steps.iter().enumerate() {
            if stopped {
                let mut report = StepReport::not_executed(&test.name);
                report.error = Some("an earlier step ended in ERROR".to_string());
                self.secrets(&context).step(&mut report);
                reporter.on_step_finished(&report);
                reports.push(report);
                continue;
            }
            reporter.on_step_started(name, step_index, &test.name);
            let mut step = self.run_test(test, &context, reporter).await;
            context.extend(step.report.outputs.iter().map(|(key, value)| (key.clone(), value.clone())));
            stopped = step.report.state == StepState::Error;
            // Masked before any reporter sees the step: the console prints it now.
            let secrets = self.secrets(&context);
            secrets.step(&mut step.report);
            reporter.on_step_finished(&step.report);
            reports.push(step.report);
            // Two steps of one suite may judge one trace (a traceid step after the step that
            // made it): the later judgement is kept.
            if let Some(mut trace) = step.trace {
                secrets.trace(&mut trace);
                traces.retain(|kept| kept.trace_id != trace.trace_id);
                traces.push(trace);
            }
        }
        let secrets = self.secrets(&context);
        let mut report = RunReport {
            name: name.to_string(),
            kind,
            state: RunState::from_steps(&reports),
            steps: reports,
            variables: self.masked(context),
            file: None,
            duration_ms: Some(started.elapsed().as_millis() as u64),
        };
        // The steps are masked already; the variables' other values may embed a secret.
        secrets.run(&mut report);
        if let Err(error) = reporter.finish(&report) {
            tracing::warn!("cannot write the report: {error}");
        }
        FinishedRun { report, traces, not_recorded: None }
    }

    /// The variables as reports show them: secret values masked.
    fn masked(&self, mut variables: Variables) -> Variables {
        for (key, value) in variables.iter_mut() {
            if self.config.secret_variables.contains(key) {
                *value = SECRET_MASK.to_string();
            }
        }
        variables
    }

    /// The values masked in what the run writes: the secret variables' current values (an
    /// output may replace one) and the secret environment values.
    fn secrets(&self, context: &Variables) -> Secrets {
        let variables = context
            .iter()
            .filter(|(key, _)| self.config.secret_variables.contains(*key))
            .map(|(_, value)| value.clone());
        Secrets::new(variables.chain(self.config.secret_values.iter().cloned()))
    }

    /// One test run: trigger, wait, outputs, specs. `variables` are visible to its
    /// templates, outputs and assertions (its own outputs are added as they are computed).
    pub async fn run_test(&self, test: &Test, variables: &Variables, reporter: &mut dyn Reporter) -> StepRun {
        step::run(self, test, variables, reporter).await
    }
}

/// The run's variables as the languages see them.
pub(crate) fn to_vars(variables: &Variables) -> Vars {
    let mut vars = Vars::new();
    for (key, value) in variables {
        vars.insert(key.clone(), value.clone());
    }
    vars
}
