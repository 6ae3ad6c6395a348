//! The pretty console report (`--output pretty`, the default).
//!
//! Per step one line with its state, name, duration and trace ID; under a failed step each
//! failed spec with its selector, and under it each failed assertion with the observed
//! and expected values (`observed "ana-1", expected "ANA-1"`), or the evaluation error,
//! per span; then the step's error and warnings; then, only when a required gate is the
//! analyzer's or with `--verbose`, the analyzer's section (see [`render_analyzer`]) and, for
//! a failed step, Tracetest's "Required gates" block with each required gate marked ✔ or ✘.
//! A run ends with a summary line, several files with a closing total. Colours are used only when the output is a terminal and `NO_COLOR` is unset; the
//! live progress line (only on a terminal) shown while a step waits for its trace (spans so far, elapsed time),
//! which is erased before the step's line is printed.

use std::io::{self, IsTerminal, Write};

use super::style::{self, count, terminal_safe, Style, BOLD, DIM, GREEN, RED, YELLOW};
use super::{Reporter, RunKind, RunReport, RunState, SpecReport, StepReport, StepState, WaitProgress};
use analyze::{AnalyzerResult, GateResult, RuleResult};

pub use model::defaults::DEFAULT_SPANS_PER_RULE;

/// How [`render_analyzer`] prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnalyzerView {
    /// ANSI colours (only for a terminal).
    pub colour: bool,
    /// Every failed span of every failed rule, not just the first [`DEFAULT_SPANS_PER_RULE`].
    pub verbose: bool,
}

fn step_mark(state: StepState) -> (&'static str, &'static str) {
    match state {
        StepState::Passed => ("✔", GREEN),
        StepState::Failed => ("✘", RED),
        StepState::Error => ("✘", RED),
        StepState::NotExecuted => ("-", YELLOW),
    }
}

fn format_duration_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.2} s", ms as f64 / 1000.0)
    }
}

fn render_spec(out: &mut String, style: &Style, spec: &SpecReport) {
    let mark = if spec.passed { style.paint(GREEN, "✔") } else { style.paint(RED, "✘") };
    out.push_str(&format!("    {mark} {}\n", spec.title()));
    if spec.passed {
        return;
    }
    if spec.name.as_deref().is_some_and(|name| !name.is_empty()) {
        out.push_str(&format!("      {} {}\n", style.paint(DIM, "selector:"), spec.selector));
    }
    out.push_str(&format!("      {} {}\n", style.paint(DIM, "matched spans:"), spec.matched_spans));
    for assertion in &spec.assertions {
        if assertion.passed {
            out.push_str(&format!("      {} {}\n", style.paint(GREEN, "✔"), assertion.assertion));
            continue;
        }
        out.push_str(&format!("      {} {}\n", style.paint(RED, "✘"), assertion.assertion));
        for result in assertion.results.iter().filter(|result| !result.passed) {
            let span = match result.span_id {
                Some(span_id) => format!("#{span_id}"),
                None => "#meta".to_string(),
            };
            let detail = match (&result.error, &result.observed, result.expectation(true)) {
                (Some(error), _, _) => style.paint(RED, &format!("error: {error}")),
                (None, Some(observed), Some(expected)) => {
                    format!("observed {observed:?}, expected {expected}")
                }
                (None, Some(observed), None) => format!("observed {observed:?}"),
                (None, None, _) => "failed".to_string(),
            };
            out.push_str(&format!("          {} {detail}\n", style.paint(DIM, &span)));
        }
    }
}

/// The analyzer's verdict, as the console prints it under a step and as `tracecheck analyze`
/// prints it, every line starting with `indent`:
///
/// ```text
/// ✘ analyzer: score 50 (minimum 0), 1 of 4 rules failed
///   ✘ Span Naming (standards/span-naming, error, weight 25): 1 of 3 spans failed
///       #0202020202020202 "users"
///         The Span name users is not matching the naming convention (expected "GET /users")
///       ... 2 more spans (use --verbose)
/// ```
///
/// Failed rules come in result order (error level first), their spans in trace order; each
/// span shows every finding's description (findings hold secrets masked already).
pub fn render_analyzer(result: &AnalyzerResult, view: AnalyzerView, indent: &str) -> String {
    let mut out = String::new();
    render_analyzer_with(&mut out, &Style { colour: view.colour }, result, view.verbose, true, indent);
    out
}

/// `decides`: a gate requires the analyzer (or `analyze` itself asked for its verdict). Where
/// it decides nothing, a failing verdict is advice and is marked in yellow, never red, so it
/// cannot read as the step's failure (issue 21).
fn render_analyzer_with(
    out: &mut String,
    style: &Style,
    result: &AnalyzerResult,
    verbose: bool,
    decides: bool,
    indent: &str,
) {
    if !result.enabled {
        out.push_str(&format!("{indent}{} analyzer: disabled\n", style.paint(DIM, "-")));
        return;
    }
    let n_rules: usize = result.plugins.iter().map(|plugin| plugin.rules.len()).sum();
    let n_failed = result.failed_rules().filter(|(_, rule)| rule.level == "error").count();
    let n_warned = result.failed_rules().count() - n_failed;
    let below_minimum = result.score < result.minimum_score;
    let fail_colour = if decides { RED } else { YELLOW };
    let (mark, colour) = if result.passed && !below_minimum { ("✔", GREEN) } else { ("✘", fail_colour) };
    let mut line = format!(
        "{indent}{} analyzer: score {} (minimum {})",
        style.paint(colour, mark),
        style.paint(BOLD, &result.score.to_string()),
        result.minimum_score
    );
    if below_minimum {
        line.push_str(&style.paint(fail_colour, " below the minimum"));
    }
    // Rules at any level but `error` neither score nor fail the analyzer: they only warn.
    line.push_str(&match (n_rules, n_failed, n_warned) {
        (0, _, _) => ", no rules ran".to_string(),
        (_, 0, 0) => format!(", {n_rules} rules passed"),
        (_, 0, _) => format!(", {n_warned} of {n_rules} rules warned"),
        (_, _, 0) => format!(", {n_failed} of {n_rules} rules failed"),
        (_, _, _) => format!(", {n_failed} of {n_rules} rules failed, {n_warned} warned"),
    });
    line.push('\n');
    out.push_str(&line);
    for (plugin, rule) in result.failed_rules() {
        render_failed_rule(out, style, &plugin.id, rule, verbose, decides, indent);
    }
}

fn render_failed_rule(
    out: &mut String,
    style: &Style,
    plugin_id: &str,
    rule: &RuleResult,
    verbose: bool,
    decides: bool,
    indent: &str,
) {
    // Only error-level rules fail the analyzer; a failed warning is shown, but in yellow, as
    // is every failed rule of an analyzer that decides nothing.
    let colour = if rule.level == "error" && decides { RED } else { YELLOW };
    let failed: Vec<_> = rule.results.iter().filter(|result| !result.passed).collect();
    out.push_str(&format!(
        "{indent}  {} {} ({plugin_id}/{}, {}, weight {}): {} of {} failed\n",
        style.paint(colour, "✘"),
        style.paint(BOLD, &rule.name),
        rule.id,
        rule.level,
        rule.weight,
        failed.len(),
        count(rule.results.len(), "span")
    ));
    let shown = if verbose { failed.len() } else { failed.len().min(DEFAULT_SPANS_PER_RULE) };
    for result in &failed[..shown] {
        out.push_str(&format!(
            "{indent}      {} {:?}\n",
            style.paint(DIM, &format!("#{}", result.span_id)),
            &*result.span_name
        ));
        if result.errors.is_empty() {
            out.push_str(&format!("{indent}        failed without a finding\n"));
        }
        for finding in &result.errors {
            match &finding.expected {
                Some(expected) => out.push_str(&format!(
                    "{indent}        {} {}\n",
                    finding.description,
                    style.paint(DIM, &format!("(expected {expected:?})"))
                )),
                None => out.push_str(&format!("{indent}        {}\n", finding.description)),
            }
        }
    }
    let n_hidden = failed.len() - shown;
    if n_hidden > 0 {
        out.push_str(&format!(
            "{indent}      {}\n",
            style.paint(
                DIM,
                &format!(
                    "... {n_hidden} more {} (use --verbose)",
                    if n_hidden == 1 { "span" } else { "spans" }
                )
            )
        ));
    }
}

/// Tracetest's gate block: `✘ Required gates`, then each required gate with ✔ or ✘.
fn render_gates(out: &mut String, style: &Style, gates: &GateResult, indent: &str) {
    if gates.required.is_empty() {
        return;
    }
    let (mark, colour) = if gates.passed { ("✔", GREEN) } else { ("✘", RED) };
    out.push_str(&format!("{indent}{} Required gates\n", style.paint(colour, mark)));
    for gate in &gates.required {
        let (mark, colour) =
            if gates.failed.iter().any(|failed| failed == gate) { ("✘", RED) } else { ("✔", GREEN) };
        out.push_str(&format!("{indent}    {} {gate}\n", style.paint(colour, mark)));
    }
}

fn render_step_with(style: &Style, step: &StepReport, verbose: bool) -> String {
    let (mark, colour) = step_mark(step.state);
    let mut line = format!(
        "  {} {} {}",
        style.paint(colour, mark),
        style.paint(colour, step.state.as_str()),
        style.paint(BOLD, &step.name)
    );
    if let Some(ms) = step.duration_ms {
        line.push_str(&format!(" ({})", format_duration_ms(ms)));
    }
    if let Some(trace_id) = step.trace_id {
        line.push_str(&format!(
            " {}",
            style.paint(DIM, &format!("trace {trace_id}, {}", count(step.span_count, "span")))
        ));
    }
    let mut out = line;
    out.push('\n');
    if let Some(error) = &step.error {
        out.push_str(&format!("    {} {error}\n", style.paint(RED, "error:")));
    }
    if step.state == StepState::Failed {
        for spec in &step.specs {
            render_spec(&mut out, style, spec);
        }
    }
    for warning in &step.warnings {
        out.push_str(&format!("    {} {warning}\n", style.paint(YELLOW, "warning:")));
    }
    if let Some(analyzer) = &step.analyzer {
        // The analyzer decides a step only when a gate requires it: otherwise its line and
        // findings are advice, printed with --verbose only, so that a red "✘ analyzer" never
        // sits under a passing step or buries an assertion's failure (issue 21).
        let gated = step
            .gates
            .as_ref()
            .is_some_and(|gates| gates.required.iter().any(|gate| gate.starts_with("analyzer")));
        if verbose || gated {
            render_analyzer_with(&mut out, style, analyzer, verbose, gated, "    ");
        }
    }
    // As Tracetest's CLI: the gate block only explains a failure; a passing step needs none.
    if let (Some(gates), StepState::Failed) = (&step.gates, step.state) {
        render_gates(&mut out, style, gates, "    ");
    }
    out
}

fn render_summary_with(style: &Style, report: &RunReport) -> String {
    let n_passed = report.steps.iter().filter(|step| step.state == StepState::Passed).count();
    let (mark, colour) = match report.state {
        RunState::Finished => ("✔", GREEN),
        RunState::Failed => ("✘", RED),
    };
    let mut line = format!(
        "{} {} {} {}: {n_passed}/{} steps passed",
        style.paint(colour, mark),
        style.paint(colour, report.state.as_str()),
        report.kind.as_str(),
        style.paint(BOLD, &report.name),
        report.steps.len()
    );
    if let Some(ms) = report.duration_ms {
        line.push_str(&format!(" in {}", format_duration_ms(ms)));
    }
    line.push('\n');
    line
}

/// One step as the console prints it, without colours.
pub fn render_step(step: &StepReport) -> String {
    terminal_safe(&render_step_with(&Style { colour: false }, step, false)).into_owned()
}

/// A whole run as the console prints it, without colours or progress lines.
pub fn render(report: &RunReport) -> String {
    render_with(report, false)
}

/// A whole run as [`render`] does, with every analyzer finding when `verbose`.
pub fn render_with(report: &RunReport, verbose: bool) -> String {
    let style = Style { colour: false };
    let mut out = header(&style, report.kind, &report.name);
    for step in &report.steps {
        out.push_str(&render_step_with(&style, step, verbose));
    }
    out.push_str(&render_summary_with(&style, report));
    terminal_safe(&out).into_owned()
}

fn header(style: &Style, kind: RunKind, name: &str) -> String {
    format!("{} {}\n", kind.as_str(), style.paint(BOLD, name))
}

/// Prints steps as they finish and a summary per run.
pub struct ConsoleReporter {
    out: Box<dyn Write + Send>,
    style: Style,
    /// Show the live progress line (only on a terminal, where `\r` can redraw it).
    live: bool,
    progress_shown: bool,
    /// Steps of the current run already printed by `on_step_finished`.
    n_printed: usize,
    header_printed: bool,
    /// Every analyzer finding (`--verbose`), not just the first few per rule.
    verbose: bool,
    /// Files finished and how many of them passed, for the closing total.
    n_runs: usize,
    n_runs_passed: usize,
}

impl ConsoleReporter {
    /// `terminal` turns on colours and the live progress line.
    pub fn new(out: Box<dyn Write + Send>, terminal: bool) -> Self {
        ConsoleReporter {
            out,
            style: Style { colour: terminal },
            live: terminal,
            progress_shown: false,
            n_printed: 0,
            header_printed: false,
            verbose: false,
            n_runs: 0,
            n_runs_passed: 0,
        }
    }

    /// Lists every failed span of every failed analyzer rule (`--verbose`); by default only
    /// the first [`DEFAULT_SPANS_PER_RULE`] of each.
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// Writes to standard output, with progress when it is a terminal and colours when
    /// [`style::use_colour`] says so.
    pub fn stdout() -> Self {
        let mut reporter = ConsoleReporter::new(Box::new(io::stdout()), io::stdout().is_terminal());
        reporter.style = Style { colour: style::use_colour(&io::stdout()) };
        reporter
    }

    fn clear_progress(&mut self) {
        if self.progress_shown {
            let _ = write!(self.out, "\r\x1b[2K");
            self.progress_shown = false;
        }
    }
}

impl Reporter for ConsoleReporter {
    fn on_step_started(&mut self, run_name: &str, step_index: usize, _step_name: &str) {
        if step_index == 0 && !self.header_printed {
            self.clear_progress();
            let _ = writeln!(self.out, "{}", terminal_safe(&self.style.paint(BOLD, run_name)));
            self.header_printed = true;
        }
    }

    fn on_waiting(&mut self, progress: &WaitProgress) {
        if !self.live {
            return;
        }
        let spans =
            progress.n_spans.map(|n_spans| format!("{}, ", count(n_spans, "span"))).unwrap_or_default();
        let _ = write!(
            self.out,
            "\r\x1b[2K  {} waiting for trace {}: {spans}{:.1} s",
            self.style.paint(YELLOW, "…"),
            progress.trace_id,
            progress.elapsed.as_secs_f64()
        );
        let _ = self.out.flush();
        self.progress_shown = true;
    }

    fn shows_progress(&self) -> bool {
        self.live
    }

    fn on_step_finished(&mut self, step: &StepReport) {
        self.clear_progress();
        let _ = write!(self.out, "{}", terminal_safe(&render_step_with(&self.style, step, self.verbose)));
        let _ = self.out.flush();
        self.n_printed += 1;
    }

    fn finish(&mut self, report: &RunReport) -> io::Result<()> {
        self.clear_progress();
        if !self.header_printed && self.n_printed == 0 {
            writeln!(self.out, "{}", terminal_safe(&self.style.paint(BOLD, &report.name)))?;
        }
        // Steps the runner never announced (NOT_EXECUTED ones, or a runner that only
        // calls `finish`) are printed here.
        for step in report.steps.iter().skip(self.n_printed) {
            write!(self.out, "{}", terminal_safe(&render_step_with(&self.style, step, self.verbose)))?;
        }
        write!(self.out, "{}", terminal_safe(&render_summary_with(&self.style, report)))?;
        self.n_runs += 1;
        self.n_runs_passed += usize::from(report.passed());
        self.n_printed = 0;
        self.header_printed = false;
        self.out.flush()
    }

    fn close(&mut self) -> io::Result<()> {
        self.clear_progress();
        // Several files: one closing line, so a long run's verdict needs no scrolling.
        if self.n_runs > 1 {
            write!(
                self.out,
                "{}",
                render_total_with(&self.style, self.n_runs_passed, self.n_runs - self.n_runs_passed)
            )?;
        }
        self.out.flush()
    }
}

/// The closing total across files: `✘ 2 passed, 1 failed (3 files)`.
fn render_total_with(style: &Style, n_passed: usize, n_failed: usize) -> String {
    let (mark, colour) = if n_failed == 0 { ("✔", GREEN) } else { ("✘", RED) };
    format!(
        "\n{} {n_passed} passed, {n_failed} failed {}\n",
        style.paint(colour, mark),
        style.paint(DIM, &format!("({})", count(n_passed + n_failed, "file")))
    )
}

/// The closing total [`ConsoleReporter`] prints after several files, without colours.
pub fn render_total(n_passed: usize, n_failed: usize) -> String {
    render_total_with(&Style { colour: false }, n_passed, n_failed)
}
