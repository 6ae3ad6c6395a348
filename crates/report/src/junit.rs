//! The JUnit XML report (`--junit PATH` or `--output junit`), for CI systems such as
//! GitHub Actions test reporters and GitLab's `artifacts:reports:junit`.
//!
//! # Shape
//!
//! One document covers every file of the run:
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <testsuites name="tracecheck" tests="4" failures="1" errors="0" skipped="0" time="1.204">
//!   <!-- one testsuite per Test or Transaction file -->
//!   <testsuite name="create and fetch user" tests="4" failures="1" errors="0" skipped="0" time="1.204">
//!     <!-- one testcase per step: classname = the run's name -->
//!     <testcase name="create user" classname="create and fetch user" time="0.612"/>
//!     <!-- one testcase per spec: classname = run name + "." + step name -->
//!     <testcase name="all HTTP spans succeed" classname="create and fetch user.create user"/>
//!     <testcase name="get user" classname="create and fetch user" time="0.592">
//!       <failure type="FAILED" message="1 of 2 specs failed"/>
//!     </testcase>
//!     <testcase name="span[name=&quot;db&quot;]" classname="create and fetch user.get user">
//!       <failure type="ASSERTION" message="attr:db.rows = 1: span 53995c3f42cd8ad8: observed 0, expected 1">
//!         attr:db.rows = 1
//!           span 53995c3f42cd8ad8: observed 0, expected 1
//!       </failure>
//!     </testcase>
//!   </testsuite>
//! </testsuites>
//! ```
//!
//! - Each problem is counted once, where it is most precise (issue 21: one failed
//!   assertion read as three failures on CI dashboards). A step testcase: `PASSED` has no
//!   child, `FAILED` a `<failure type="FAILED">` only when none of its spec or gate testcases
//!   failed (otherwise those say what failed), `ERROR` an `<error type="ERROR">` with the
//!   step's error, `NOT_EXECUTED` `<skipped/>`. A step's warnings go into `<system-out>`.
//! - A spec testcase (named after the spec's name, else its selector): `<failure
//!   type="ASSERTION">` when comparisons were false, `<error type="error">` when a check
//!   could not be evaluated (missing attribute, bad number, no span matched); the error wins
//!   when a spec has both. `message` names the first problem with its observed and
//!   expected values; the element's text lists every failed assertion with the observed
//!   and expected values per span.
//! - A required-gate testcase per required analyzer gate of a step that has gates (one the
//!   analyzer ran on), named `required gate: <gate>`, with the specs' classname; the
//!   `test-specs` gate has none, as its verdict is the spec testcases' own. A failed gate is a
//!   `<failure type="GATE">` whose `message` says why: for `test-specs` how many specs
//!   failed, for `analyzer-rules` and `analyzer-score` the score and the failed rules as
//!   `plugin/rule (level): N of M spans`. The element's text lists each failed rule's
//!   spans with their findings.
//!
//!   ```xml
//!   <testcase name="required gate: analyzer-rules" classname="create and fetch user.get user">
//!     <failure type="GATE" message="analyzer score 50 (minimum 0); failed rules: standards/span-naming (error): 1 of 3 spans">
//!       standards/span-naming (error, weight 25)
//!         span 0202020202020202 "users": The Span name users is not matching the naming convention
//!     </failure>
//!   </testcase>
//!   ```
//! - `time` is in seconds with millisecond precision, present when the runner recorded it.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::style::count;
use super::{Reporter, RunReport, SpecReport, StepReport, StepState};
use analyze::{AnalyzerResult, Gate, GateResult};

/// Counts for one `<testsuite>` or `<testsuites>` element.
#[derive(Default, Clone, Copy)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.errors += other.errors;
        self.skipped += other.skipped;
    }

    fn of_run(report: &RunReport) -> Counts {
        let mut counts = Counts::default();
        for step in &report.steps {
            counts.tests += 1;
            match step.state {
                StepState::Passed => {}
                StepState::Failed if failed_elsewhere(step) => {}
                StepState::Failed => counts.failures += 1,
                StepState::Error => counts.errors += 1,
                StepState::NotExecuted => counts.skipped += 1,
            }
            for spec in &step.specs {
                counts.tests += 1;
                match spec_verdict(spec) {
                    SpecVerdict::Passed => {}
                    SpecVerdict::Failure => counts.failures += 1,
                    SpecVerdict::Error => counts.errors += 1,
                }
            }
            if let Some(gates) = &step.gates {
                for gate in own_gates(gates) {
                    counts.tests += 1;
                    if gate_failed(gates, gate) {
                        counts.failures += 1;
                    }
                }
            }
        }
        counts
    }
}

/// The required gates with a testcase of their own: all but `test-specs`, whose verdict is
/// the spec testcases'.
fn own_gates(gates: &GateResult) -> impl Iterator<Item = &String> {
    gates.required.iter().filter(|gate| gate.as_str() != Gate::TestSpecs.name())
}

/// Whether a failed step's failure is already a failed spec or gate testcase.
fn failed_elsewhere(step: &StepReport) -> bool {
    step.specs.iter().any(|spec| !matches!(spec_verdict(spec), SpecVerdict::Passed))
        || step.gates.as_ref().is_some_and(|gates| own_gates(gates).any(|gate| gate_failed(gates, gate)))
}

enum SpecVerdict {
    Passed,
    Failure,
    Error,
}

fn spec_verdict(spec: &SpecReport) -> SpecVerdict {
    let results = spec.assertions.iter().flat_map(|assertion| &assertion.results);
    let mut verdict = if spec.passed { SpecVerdict::Passed } else { SpecVerdict::Failure };
    for result in results {
        if result.error.is_some() {
            return SpecVerdict::Error;
        }
        if !result.passed {
            verdict = SpecVerdict::Failure;
        }
    }
    verdict
}

fn seconds(duration_ms: Option<u64>) -> Option<String> {
    duration_ms.map(|ms| format!("{}.{:03}", ms / 1000, ms % 1000))
}

/// The failed assertions of a spec, one block per assertion, and the first problem's
/// one-line summary.
fn spec_problems(spec: &SpecReport) -> (String, String) {
    let mut text = String::new();
    let mut first = None;
    for assertion in spec.assertions.iter().filter(|assertion| !assertion.passed) {
        text.push_str(&assertion.assertion);
        text.push('\n');
        for result in assertion.results.iter().filter(|result| !result.passed) {
            let span = match result.span_id {
                Some(span_id) => format!("span {span_id}"),
                None => "no span".to_string(),
            };
            let line = match (&result.error, &result.observed, result.expectation(false)) {
                (Some(error), _, _) => format!("{span}: error: {error}"),
                (None, Some(observed), Some(expected)) => {
                    format!("{span}: observed {observed}, expected {expected}")
                }
                (None, Some(observed), None) => format!("{span}: observed {observed}"),
                (None, None, _) => format!("{span}: failed"),
            };
            text.push_str("  ");
            text.push_str(&line);
            text.push('\n');
            // Prefer an evaluation error for the message, as the element is then <error>.
            let better = result.error.is_some() && !matches!(first, Some((true, _)));
            if first.is_none() || better {
                first = Some((result.error.is_some(), format!("{}: {line}", assertion.assertion)));
            }
        }
        if assertion.results.is_empty() {
            first.get_or_insert((false, format!("{}: failed", assertion.assertion)));
        }
    }
    let message = first.map(|(_, message)| message).unwrap_or_else(|| "spec failed".to_string());
    (message, text)
}

fn gate_failed(gates: &GateResult, gate: &str) -> bool {
    gates.failed.iter().any(|failed| failed == gate)
}

/// Why a required gate failed, as a one-line message and a longer text.
fn gate_problems(step: &StepReport, gate: &str) -> (String, String) {
    let analyzer_gate = gate == Gate::AnalyzerRules.name() || gate == Gate::AnalyzerScore.name();
    match &step.analyzer {
        Some(analyzer) if analyzer_gate => analyzer_problems(analyzer),
        _ => {
            let n_failed = step.specs.iter().filter(|spec| !spec.passed).count();
            let message = format!("{n_failed} of {} specs failed", step.specs.len());
            let text = step
                .specs
                .iter()
                .filter(|spec| !spec.passed)
                .map(|spec| format!("{}\n", spec.title()))
                .collect();
            (message, text)
        }
    }
}

fn analyzer_problems(analyzer: &AnalyzerResult) -> (String, String) {
    let mut rules = Vec::new();
    let mut text = String::new();
    for (plugin, rule) in analyzer.failed_rules() {
        let failed: Vec<_> = rule.results.iter().filter(|result| !result.passed).collect();
        rules.push(format!(
            "{}/{} ({}): {} of {}",
            plugin.id,
            rule.id,
            rule.level,
            failed.len(),
            count(rule.results.len(), "span")
        ));
        text.push_str(&format!("{}/{} ({}, weight {})\n", plugin.id, rule.id, rule.level, rule.weight));
        for result in failed {
            let descriptions: Vec<&str> =
                result.errors.iter().map(|finding| finding.description.as_str()).collect();
            text.push_str(&format!(
                "  span {} {:?}: {}\n",
                result.span_id,
                &*result.span_name,
                if descriptions.is_empty() { "failed".to_string() } else { descriptions.join("; ") }
            ));
        }
    }
    let mut message = format!("analyzer score {} (minimum {})", analyzer.score, analyzer.minimum_score);
    if !rules.is_empty() {
        message.push_str("; failed rules: ");
        message.push_str(&rules.join(", "));
    }
    (message, text)
}

fn write_gates<W: Write>(writer: &mut Writer<W>, classname: &str, step: &StepReport) -> io::Result<()> {
    let Some(gates) = &step.gates else {
        return Ok(());
    };
    for gate in own_gates(gates) {
        let name = format!("required gate: {gate}");
        let element = writer
            .create_element("testcase")
            .with_attribute(("name", name.as_str()))
            .with_attribute(("classname", classname));
        if !gate_failed(gates, gate) {
            element.write_empty()?;
            continue;
        }
        let (message, text) = gate_problems(step, gate);
        element.write_inner_content(|writer| {
            writer
                .create_element("failure")
                .with_attribute(("type", "GATE"))
                .with_attribute(("message", message.as_str()))
                .write_text_content(BytesText::new(&text))?;
            Ok(())
        })?;
    }
    Ok(())
}

fn write_step<W: Write>(writer: &mut Writer<W>, run_name: &str, step: &StepReport) -> io::Result<()> {
    let mut element = writer
        .create_element("testcase")
        .with_attribute(("name", step.name.as_str()))
        .with_attribute(("classname", run_name));
    let time = seconds(step.duration_ms);
    if let Some(time) = &time {
        element = element.with_attribute(("time", time.as_str()));
    }
    let counted_here = match step.state {
        StepState::Passed => false,
        StepState::Failed => !failed_elsewhere(step),
        StepState::Error | StepState::NotExecuted => true,
    };
    let has_body = counted_here || !step.warnings.is_empty();
    if !has_body {
        element.write_empty()?;
    } else {
        element.write_inner_content(|writer| {
            match step.state {
                StepState::Passed => {}
                StepState::Failed if !counted_here => {}
                StepState::Failed => {
                    let n_failed = step.specs.iter().filter(|spec| !spec.passed).count();
                    let failed_gates: Vec<&str> = step
                        .gates
                        .iter()
                        .flat_map(|gates| gates.required.iter().filter(|gate| gate_failed(gates, gate)))
                        .map(String::as_str)
                        .collect();
                    let message = if n_failed == 0 && !failed_gates.is_empty() {
                        format!("required gates failed: {}", failed_gates.join(", "))
                    } else if step.specs.is_empty() || n_failed == 0 {
                        step.error.clone().unwrap_or_else(|| "step failed".to_string())
                    } else {
                        format!("{n_failed} of {} specs failed", step.specs.len())
                    };
                    writer
                        .create_element("failure")
                        .with_attribute(("type", "FAILED"))
                        .with_attribute(("message", message.as_str()))
                        .write_empty()?;
                }
                StepState::Error => {
                    let message = step.error.as_deref().unwrap_or("step error");
                    writer
                        .create_element("error")
                        .with_attribute(("type", "ERROR"))
                        .with_attribute(("message", message))
                        .write_empty()?;
                }
                StepState::NotExecuted => {
                    let message = step.error.as_deref().unwrap_or("an earlier step ended in ERROR");
                    writer.create_element("skipped").with_attribute(("message", message)).write_empty()?;
                }
            }
            if !step.warnings.is_empty() {
                let text =
                    step.warnings.iter().map(|warning| format!("warning: {warning}\n")).collect::<String>();
                writer.create_element("system-out").write_text_content(BytesText::new(&text))?;
            }
            Ok(())
        })?;
    }
    let classname = format!("{run_name}.{}", step.name);
    for spec in &step.specs {
        let element = writer
            .create_element("testcase")
            .with_attribute(("name", spec.title()))
            .with_attribute(("classname", classname.as_str()));
        let (tag, kind) = match spec_verdict(spec) {
            SpecVerdict::Passed => {
                element.write_empty()?;
                continue;
            }
            SpecVerdict::Failure => ("failure", "ASSERTION"),
            SpecVerdict::Error => ("error", "error"),
        };
        let (message, text) = spec_problems(spec);
        element.write_inner_content(|writer| {
            writer
                .create_element(tag)
                .with_attribute(("type", kind))
                .with_attribute(("message", message.as_str()))
                .write_text_content(BytesText::new(&text))?;
            Ok(())
        })?;
    }
    write_gates(writer, &classname, step)
}

/// Renders every run as one JUnit XML document.
pub fn render(reports: &[RunReport]) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail; the io::Result only matters for real files.
    let _ = write_document(&mut writer, reports);
    let mut xml = String::from_utf8_lossy(&writer.into_inner()).into_owned();
    xml.push('\n');
    xml
}

fn write_document<W: Write>(writer: &mut Writer<W>, reports: &[RunReport]) -> io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut total = Counts::default();
    let mut total_ms = 0u64;
    let mut all_timed = true;
    for report in reports {
        total.add(Counts::of_run(report));
        match report.duration_ms {
            Some(ms) => total_ms += ms,
            None => all_timed = false,
        }
    }
    let numbers = |counts: Counts| {
        [
            counts.tests.to_string(),
            counts.failures.to_string(),
            counts.errors.to_string(),
            counts.skipped.to_string(),
        ]
    };
    let [tests, failures, errors, skipped] = numbers(total);
    let mut element = writer
        .create_element("testsuites")
        .with_attribute(("name", "tracecheck"))
        .with_attribute(("tests", tests.as_str()))
        .with_attribute(("failures", failures.as_str()))
        .with_attribute(("errors", errors.as_str()))
        .with_attribute(("skipped", skipped.as_str()));
    let time = if all_timed && !reports.is_empty() { seconds(Some(total_ms)) } else { None };
    if let Some(time) = &time {
        element = element.with_attribute(("time", time.as_str()));
    }
    element.write_inner_content(|writer| {
        for report in reports {
            let [tests, failures, errors, skipped] = numbers(Counts::of_run(report));
            let mut element = writer
                .create_element("testsuite")
                .with_attribute(("name", report.name.as_str()))
                .with_attribute(("tests", tests.as_str()))
                .with_attribute(("failures", failures.as_str()))
                .with_attribute(("errors", errors.as_str()))
                .with_attribute(("skipped", skipped.as_str()));
            let time = seconds(report.duration_ms);
            if let Some(time) = &time {
                element = element.with_attribute(("time", time.as_str()));
            }
            if let Some(file) = &report.file {
                element = element.with_attribute(("file", file.as_str()));
            }
            element.write_inner_content(|writer| {
                for step in &report.steps {
                    write_step(writer, &report.name, step)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Collects every run and writes one JUnit document on `close`.
pub struct JunitReporter {
    out: Option<Box<dyn Write + Send>>,
    path: Option<PathBuf>,
    reports: Vec<RunReport>,
}

impl JunitReporter {
    /// Writes the document to `out` on close.
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        JunitReporter { out: Some(out), path: None, reports: Vec::new() }
    }

    /// Creates (or truncates) the file at `path` on close.
    pub fn to_path(path: impl Into<PathBuf>) -> Self {
        JunitReporter { out: None, path: Some(path.into()), reports: Vec::new() }
    }
}

impl Reporter for JunitReporter {
    fn finish(&mut self, report: &RunReport) -> io::Result<()> {
        self.reports.push(report.clone());
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        let xml = render(&self.reports);
        if let Some(path) = &self.path {
            let mut file = BufWriter::new(File::create(path)?);
            file.write_all(xml.as_bytes())?;
            file.flush()
        } else if let Some(out) = &mut self.out {
            out.write_all(xml.as_bytes())?;
            out.flush()
        } else {
            Ok(())
        }
    }
}
