//! The pretty console report (`--output pretty`, the default).
//!
//! Per step one line with its state, name, duration and trace ID; under a failed step each
//! failed spec with its selector, and under it each failed assertion with the observed
//! value (or the evaluation error) per span; then the step's error and warnings. A run ends
//! with a summary line. Colours are used only when the output is a terminal, and so is the
//! live progress line shown while a step waits for its trace (spans so far, elapsed time),
//! which is erased before the step's line is printed.

use std::io::{self, IsTerminal, Write};

use super::{Reporter, RunKind, RunReport, RunState, SpecReport, StepReport, StepState, WaitProgress};

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

struct Style {
    colour: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
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
            let detail = match (&result.error, &result.observed) {
                (Some(error), _) => style.paint(RED, &format!("error: {error}")),
                (None, Some(observed)) => format!("observed {observed:?}"),
                (None, None) => "failed".to_string(),
            };
            out.push_str(&format!("          {} {detail}\n", style.paint(DIM, &span)));
        }
    }
}

fn render_step_with(style: &Style, step: &StepReport) -> String {
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
            style.paint(DIM, &format!("trace {trace_id}, {} spans", step.span_count))
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
    render_step_with(&Style { colour: false }, step)
}

/// A whole run as the console prints it, without colours or progress lines.
pub fn render(report: &RunReport) -> String {
    let style = Style { colour: false };
    let mut out = header(&style, report.kind, &report.name);
    for step in &report.steps {
        out.push_str(&render_step_with(&style, step));
    }
    out.push_str(&render_summary_with(&style, report));
    out
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
        }
    }

    /// Writes to standard output, with colours and progress when it is a terminal.
    pub fn stdout() -> Self {
        let terminal = io::stdout().is_terminal();
        ConsoleReporter::new(Box::new(io::stdout()), terminal)
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
            let _ = write!(self.out, "{}", format!("{}\n", self.style.paint(BOLD, run_name)));
            self.header_printed = true;
        }
    }

    fn on_waiting(&mut self, progress: &WaitProgress) {
        if !self.live {
            return;
        }
        let _ = write!(
            self.out,
            "\r\x1b[2K  {} waiting for trace {}: {} spans, {:.1} s",
            self.style.paint(YELLOW, "…"),
            progress.trace_id,
            progress.n_spans,
            progress.elapsed.as_secs_f64()
        );
        let _ = self.out.flush();
        self.progress_shown = true;
    }

    fn on_step_finished(&mut self, step: &StepReport) {
        self.clear_progress();
        let _ = write!(self.out, "{}", render_step_with(&self.style, step));
        let _ = self.out.flush();
        self.n_printed += 1;
    }

    fn finish(&mut self, report: &RunReport) -> io::Result<()> {
        self.clear_progress();
        if !self.header_printed && self.n_printed == 0 {
            write!(self.out, "{}", format!("{}\n", self.style.paint(BOLD, &report.name)))?;
        }
        // Steps the runner never announced (NOT_EXECUTED ones, or a runner that only
        // calls `finish`) are printed here.
        for step in report.steps.iter().skip(self.n_printed) {
            write!(self.out, "{}", render_step_with(&self.style, step))?;
        }
        write!(self.out, "{}", render_summary_with(&self.style, report))?;
        self.n_printed = 0;
        self.header_printed = false;
        self.out.flush()
    }

    fn close(&mut self) -> io::Result<()> {
        self.clear_progress();
        self.out.flush()
    }
}
