//! One test run: render the trigger, fire it, wait for the trace, place the run's trigger
//! span in it (never in the store: design, the trigger span), compute outputs, evaluate
//! specs.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{to_vars, Meanwhile, Runner, SourceError, TraceSource, Variables};
use analyze;
use defs::Test;
use lang::{self, Selector, Template, TraceView, Vars};
use model::{Span, SpanId, Trace, TraceId, TRIGGER_SPAN_NAME};
use report::{self, AssertionReport, Reporter, SpecReport, StepReport, StepState, WaitProgress};
use store::WaitOptions;
use trigger::TriggerResponse;

/// A finished step: its report, the trace it judged as the run saw it (its trigger span
/// placed; `None` when it got no trace), plus when the judged trace's last span arrived (the
/// latency benchmark measures from there to the printed report).
#[derive(Debug)]
pub struct StepRun {
    pub report: StepReport,
    pub trace: Option<Trace>,
    pub last_span_at: Option<Instant>,
}

/// Why a step could not go on (its state is then `ERROR`; the report shows this text).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    #[error("cannot resolve the trigger: {0}")]
    Resolve(#[source] lang::Error),
    #[error("trigger failed: {0}")]
    Trigger(#[source] trigger::Error),
    #[error("cannot wait for trace {trace_id}: {source}")]
    Wait { trace_id: TraceId, source: SourceError },
    #[error("no trace received for {trace_id} within {} ms; {meanwhile}", .timeout.as_millis())]
    NoTrace { trace_id: TraceId, timeout: Duration, meanwhile: Meanwhile },
}

pub(super) async fn run(
    runner: &Runner,
    test: &Test,
    variables: &Variables,
    reporter: &mut dyn Reporter,
) -> StepRun {
    let started = Instant::now();
    let mut report = StepReport::not_executed(&test.name);
    let mut last_span_at = None;
    let trace =
        match run_inner(runner, test, variables, reporter, started, &mut report, &mut last_span_at).await {
            Ok(trace) => Some(trace),
            Err(error) => {
                report.state = StepState::Error;
                report.error = Some(model::error_chain(&error));
                None
            }
        };
    // The verdict is in: both measures end here.
    report.duration_ms = Some(started.elapsed().as_millis() as u64);
    report.last_span_to_verdict_us = last_span_at.map(|at| at.elapsed().as_micros() as u64);
    StepRun { report, trace, last_span_at }
}

/// Fills `report` and returns the judged trace; an `Err` is the reason the step is `ERROR`.
async fn run_inner(
    runner: &Runner,
    test: &Test,
    variables: &Variables,
    reporter: &mut dyn Reporter,
    started: Instant,
    report: &mut StepReport,
    last_span_at: &mut Option<Instant>,
) -> Result<Trace, StepError> {
    let mut vars = to_vars(variables);
    let trigger =
        test.trigger.render(&mut |text: &str| render_template(text, &vars)).map_err(StepError::Resolve)?;
    let trigger_span_id = SpanId::random();
    let trace_id = TraceId::random();
    if !matches!(trigger, trigger::Trigger::TraceId(_)) {
        // Known before the request, so even a failed trigger reports the ID it propagated.
        report.trace_id = Some(trace_id);
    }
    let response = trigger
        .fire(trace_id, trigger_span_id, &runner.config().trigger_session)
        .await
        .map_err(StepError::Trigger)?;
    if let Some(kept) = response.body_truncated_at {
        report.warnings.push(format!(
            "the trigger's response body was cut at {kept} bytes (--max-response-body): what was kept is what \
             outputs and assertions see"
        ));
    }
    report.warnings.extend(response.notes.iter().cloned());
    let trace_id = response.trace_id;
    report.trace_id = Some(trace_id);

    let mut trigger_span = trigger_span(trace_id, trigger_span_id, &response, trigger.records_response());
    // A traceid trigger judges a trace someone else started, whose top spans' parent (the
    // sender's span) is normally never exported.
    let started_elsewhere = matches!(trigger, trigger::Trigger::TraceId(_));
    let trace = if test.skip_trace_collection {
        Trace::new(trace_id, vec![std::sync::Arc::new(trigger_span)])
    } else {
        let source = &runner.source;
        let selectors = completeness_selectors(test);
        let config = runner.config();
        let options = WaitOptions {
            settle: config.settle,
            grace: config.grace,
            timeout: config.timeout,
            started,
            trigger_span_id: Some(trigger_span_id),
        };
        let wait = source.wait(trace_id, &options, &selectors, &trigger_span, started_elsewhere);
        let outcome = with_progress(source.as_ref(), trace_id, started, reporter, wait)
            .await
            .map_err(|source| StepError::Wait { trace_id, source })?;
        *last_span_at = outcome.last_span_at;
        report.warnings.extend(outcome.warnings);
        let Some(mut trace) = outcome.trace else {
            let meanwhile = source.meanwhile(trace_id, started).await;
            return Err(StepError::NoTrace { trace_id, timeout: config.timeout, meanwhile });
        };
        if !outcome.complete {
            report.warnings.push(format!("trace judged incomplete: {}", outcome.missing.join("; ")));
        }
        if started_elsewhere {
            // The run fired nothing: stamped at run time, the span would stretch a trace
            // that ended long ago to reach it. It spans the trace instead, as a root does.
            if let Some((start, end)) = trace.time_range() {
                trigger_span = trigger_span.with_times(start, end);
            }
        }
        // Above the old root, or folded into the trace's own trigger span (reference 6).
        trace.place_trigger_span(trigger_span);
        trace
    };
    report.span_count = trace.spans.len();

    let view = TraceView::new(&trace);
    for output in &test.outputs {
        let outcome = lang::evaluate_output(&view, &output.selector_tree, &output.value_tree, &vars);
        if outcome.warning.is_some() {
            // Tracetest's wording, with the selector that found nothing.
            report.warnings.push(format!(
                "cannot find matching spans for output {} (selector {})",
                output.name,
                if output.selector.value.trim().is_empty() {
                    "(all spans)"
                } else {
                    output.selector.value.trim()
                }
            ));
        }
        vars.insert(output.name.clone(), outcome.value.clone());
        report.outputs.insert(output.name.clone(), outcome.value);
    }

    report.specs = test.specs.iter().map(|spec| evaluate_spec(&view, spec, &vars)).collect();
    let specs_passed = report.specs.iter().all(|spec| spec.passed);
    let config = runner.config();
    let analysis = analyze::analyze(&trace, &config.analyzer);
    let gates = analyze::decide_gates(&config.required_gates, specs_passed, Some(&analysis));
    // As Tracetest's CLI: a step passes only when its assertions and its required gates do,
    // so leaving `test-specs` out of the gates never makes a failed assertion pass.
    report.state = if specs_passed && gates.passed { StepState::Passed } else { StepState::Failed };
    report.analyzer = Some(analysis);
    report.gates = Some(gates);
    Ok(trace)
}

/// Awaits `wait`, showing its progress while it lasts when the reporter shows any: at once,
/// then, for a source that counts spans (in this process), every
/// [`model::defaults::PROGRESS_INTERVAL`] with the count, and for one that does not (a
/// server), every [`model::defaults::REMOTE_PROGRESS_INTERVAL`] with the time waited. With
/// no progress shown (off a terminal, or a JSON report), no timer runs at all.
async fn with_progress<T>(
    source: &dyn TraceSource,
    trace_id: TraceId,
    started: Instant,
    reporter: &mut dyn Reporter,
    wait: impl std::future::Future<Output = T>,
) -> T {
    if !reporter.shows_progress() {
        return wait.await;
    }
    let every = if source.counts_spans() {
        model::defaults::PROGRESS_INTERVAL
    } else {
        model::defaults::REMOTE_PROGRESS_INTERVAL
    };
    tokio::pin!(wait);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            outcome = &mut wait => return outcome,
            _ = ticks.tick() => {
                let n_spans = source.span_count(trace_id).await;
                reporter.on_waiting(&WaitProgress { trace_id, n_spans, elapsed: started.elapsed() });
            }
        }
    }
}

/// Renders one trigger field: literal text with `${...}` expressions.
fn render_template(text: &str, vars: &Vars) -> Result<String, lang::Error> {
    if !text.contains("${") {
        return Ok(text.to_string());
    }
    Template::parse(text)?.render(vars)
}

/// Rule 3's selectors: every output's, and every spec's that asserts more than the span count.
fn completeness_selectors(test: &Test) -> Vec<Selector> {
    let outputs = test.outputs.iter().map(|output| &output.selector_tree);
    let specs = test
        .specs
        .iter()
        .filter(|spec| !lang::only_counts_spans(&spec.assertion_trees))
        .map(|spec| &spec.selector_tree);
    outputs.chain(specs).cloned().collect()
}

fn evaluate_spec(view: &TraceView<'_>, spec: &defs::Spec, vars: &Vars) -> SpecReport {
    let outcome = lang::evaluate_spec(view, &spec.selector_tree, &spec.assertion_trees, vars);
    let assertions: Vec<AssertionReport> = spec
        .assertions
        .iter()
        .zip(&spec.assertion_trees)
        .zip(outcome.assertions)
        .map(|((text, tree), result)| AssertionReport {
            // The user's text, not a reprint of the parsed tree.
            assertion: text.value.clone(),
            passed: result.passed,
            results: result
                .results
                .into_iter()
                .map(|span| report::SpanResult {
                    comparator: Some(tree.comparator.symbol().to_string()),
                    span_id: span.span_id,
                    observed: if span.observed.is_empty() && span.error.is_some() {
                        None
                    } else {
                        Some(span.observed)
                    },
                    expected: span.expected,
                    passed: span.passed,
                    error: span.error,
                })
                .collect(),
        })
        .collect();
    SpecReport {
        selector: spec.selector.value.clone(),
        name: spec.name.clone(),
        passed: outcome.passed,
        matched_spans: outcome.matched_spans,
        assertions,
    }
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos() as u64)
}

/// The `Tracetest trigger` root span of a run (design: the trigger span): the propagated
/// span ID, the trigger's start and end, `service.name = tracetest`, and for http and grpc
/// the response as `tracetest.response.status`, `.body` and `.headers`. The judged trace
/// gets it through [`Trace::place_trigger_span`].
pub fn trigger_span(
    trace_id: TraceId,
    span_id: SpanId,
    response: &TriggerResponse,
    with_response: bool,
) -> Span {
    let mut span = Span::new(trace_id, span_id, TRIGGER_SPAN_NAME)
        .with_times(unix_nanos(response.started), unix_nanos(response.finished))
        .with_resource_attribute("service.name", "tracetest");
    if with_response {
        let headers: Vec<serde_json::Value> = response
            .headers
            .iter()
            .map(|(key, value)| serde_json::json!({ "key": key, "value": value }))
            .collect();
        span = span
            .with_attribute("tracetest.response.status", response.status)
            .with_attribute("tracetest.response.body", response.body.as_str())
            .with_attribute(
                "tracetest.response.headers",
                serde_json::Value::Array(headers).to_string().as_str(),
            );
    }
    for (key, value) in &response.attributes {
        span = span.with_attribute(key, *value);
    }
    span
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::run::{BoxFuture, RunConfig};
    use store::WaitOutcome;

    /// A server-like source: its wait ends after `wait` with no trace, and it counts spans
    /// only when `counts` (counting how often it is asked).
    struct SlowSource {
        wait: Duration,
        counts: bool,
        asked: AtomicUsize,
    }

    impl TraceSource for SlowSource {
        fn wait<'a>(
            &'a self,
            _trace_id: TraceId,
            _options: &'a WaitOptions,
            _selectors: &'a [Selector],
            _trigger_span: &'a Span,
            _started_elsewhere: bool,
        ) -> BoxFuture<'a, Result<WaitOutcome, SourceError>> {
            Box::pin(async move {
                tokio::time::sleep(self.wait).await;
                let nothing = WaitOutcome {
                    trace: None,
                    complete: false,
                    missing: Vec::new(),
                    last_span_at: None,
                    warnings: Vec::new(),
                };
                Ok(nothing)
            })
        }

        fn span_count(&self, _trace_id: TraceId) -> BoxFuture<'_, Option<usize>> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            let count = self.counts.then_some(0);
            Box::pin(async move { count })
        }

        fn counts_spans(&self) -> bool {
            self.counts
        }

        fn get(&self, _trace_id: TraceId) -> BoxFuture<'_, Result<Option<Trace>, SourceError>> {
            Box::pin(async { Ok(None) })
        }

        fn meanwhile(&self, _awaited: TraceId, _started: Instant) -> BoxFuture<'_, Meanwhile> {
            Box::pin(async { Meanwhile::default() })
        }
    }

    /// Counts the progress lines it is given.
    struct Progress {
        shown: bool,
        lines: Vec<WaitProgress>,
    }

    impl Reporter for Progress {
        fn on_waiting(&mut self, progress: &WaitProgress) {
            self.lines.push(*progress);
        }

        fn shows_progress(&self) -> bool {
            self.shown
        }

        fn finish(&mut self, _report: &report::RunReport) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// One step waiting `wait` on `source` with a reporter that shows progress or not: the
    /// progress lines it was given.
    async fn progress_of(source: Arc<SlowSource>, shown: bool) -> Vec<WaitProgress> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("test.yaml");
        std::fs::write(
            &path,
            "type: Test\nspec:\n  name: waits\n  trigger:\n    type: traceid\n    traceid:\n      id: \
             0af7651916cd43dd8448eb211c80319c\n",
        )
        .expect("write");
        let Ok(defs::Loaded::Test(test)) = defs::load_file(&path) else { panic!("a test") };
        let runner = Runner::new(source, RunConfig::default());
        let mut reporter = Progress { shown, lines: Vec::new() };
        let run = runner.run_test(&test, &Variables::new(), &mut reporter).await;
        assert_eq!(run.report.state, StepState::Error, "no trace came: {:?}", run.report);
        reporter.lines
    }

    /// A step waiting on a server (`--server`) refreshes its progress line once a second,
    /// with the time waited, not ten times a second; off a terminal it runs no timer and
    /// asks nothing.
    #[tokio::test(start_paused = true)]
    async fn a_wait_on_a_server_shows_its_progress_once_a_second() {
        let source = Arc::new(SlowSource {
            wait: Duration::from_millis(5_500),
            counts: false,
            asked: AtomicUsize::new(0),
        });
        let lines = progress_of(Arc::clone(&source), true).await;
        assert_eq!(lines.len(), 6, "at once, then at 1 s to 5 s: {lines:?}");
        assert!(lines.iter().all(|line| line.n_spans.is_none()), "{lines:?}");

        let lines = progress_of(Arc::clone(&source), false).await;
        assert!(lines.is_empty(), "{lines:?}");
        assert_eq!(source.asked.load(Ordering::SeqCst), 6, "only the lines shown asked");
    }

    /// A wait in this process still shows its span count ten times a second.
    #[tokio::test(start_paused = true)]
    async fn a_wait_in_this_process_shows_its_span_count_ten_times_a_second() {
        let source = Arc::new(SlowSource {
            wait: Duration::from_millis(1_050),
            counts: true,
            asked: AtomicUsize::new(0),
        });
        let lines = progress_of(source, true).await;
        assert_eq!(lines.len(), 11, "at once, then every 100 ms: {lines:?}");
        assert!(lines.iter().all(|line| line.n_spans == Some(0)), "{lines:?}");
    }
}
