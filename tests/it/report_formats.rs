//! Each report format renders a hand-built run: the whole output is a snapshot
//! (`snapshots/it__report_formats__*.snap`; review a change with `cargo insta review`, or
//! `INSTA_UPDATE=always` and `git diff`), and JSON and JUnit are parsed back.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::json;

use crate::support::snapshot::pretty_json;

use model::{SpanId, TraceId};
use report::console::{self, ConsoleReporter};
use report::json::{self, JsonReporter};
use report::junit::{self, JunitReporter};
use report::{
    AssertionReport, Reporter, RunKind, RunReport, RunState, SpanResult, SpecReport, StepReport, StepState,
    WaitProgress,
};

fn trace_id(text: &str) -> TraceId {
    TraceId::from_hex(text).expect("trace id")
}

fn span_id(text: &str) -> SpanId {
    SpanId::from_hex(text).expect("span id")
}

fn result(span: &str, observed: &str, expected: &str, passed: bool, error: Option<&str>) -> SpanResult {
    SpanResult {
        span_id: Some(span_id(span)),
        observed: Some(observed.to_string()),
        expected: Some(expected.to_string()),
        passed,
        error: error.map(str::to_string),
        comparator: Some("=".to_string()),
    }
}

/// The design's example step: one passing spec, one output.
fn passing_step() -> StepReport {
    StepReport {
        name: "create user".into(),
        state: StepState::Passed,
        error: None,
        trace_id: Some(trace_id("0af7651916cd43dd8448eb211c80319c")),
        span_count: 7,
        specs: vec![SpecReport {
            selector: "span[tracetest.span.type=\"http\"]".into(),
            name: Some("all HTTP spans succeed".into()),
            passed: true,
            matched_spans: 3,
            assertions: vec![AssertionReport {
                assertion: "attr:http.status_code = 200".into(),
                passed: true,
                results: vec![result("b7ad6b7169203331", "200", "200", true, None)],
            }],
        }],
        outputs: BTreeMap::from([("USER_ID".to_string(), "42".to_string())]),
        warnings: Vec::new(),
        duration_ms: None,
        last_span_to_verdict_us: None,
        analyzer: None,
        gates: None,
    }
}

fn design_example() -> RunReport {
    RunReport {
        name: "create and fetch user".into(),
        kind: RunKind::Transaction,
        state: RunState::Finished,
        steps: vec![passing_step()],
        variables: BTreeMap::from([
            ("HOST".to_string(), "localhost:8080".to_string()),
            ("USER_ID".to_string(), "42".to_string()),
        ]),
        file: None,
        duration_ms: None,
    }
}

/// A run with every state: passed, failed (a false comparison and an evaluation error),
/// error, not executed.
fn mixed_run() -> RunReport {
    let mut passed = passing_step();
    passed.duration_ms = Some(612);
    let failed = StepReport {
        name: "get user".into(),
        state: StepState::Failed,
        error: None,
        trace_id: Some(trace_id("4bf92f3577b34da6a3ce929d0e0e4736")),
        span_count: 4,
        specs: vec![
            SpecReport {
                selector: "span[name=\"db\"]".into(),
                name: None,
                passed: false,
                matched_spans: 1,
                assertions: vec![AssertionReport {
                    assertion: "attr:db.rows = 1".into(),
                    passed: false,
                    results: vec![result("53995c3f42cd8ad8", "0", "1", false, None)],
                }],
            },
            SpecReport {
                selector: "span[name=\"GET /users\"]".into(),
                name: Some("has a user id".into()),
                passed: false,
                matched_spans: 1,
                assertions: vec![AssertionReport {
                    assertion: "attr:user.id = 42".into(),
                    passed: false,
                    results: vec![SpanResult {
                        span_id: Some(span_id("00f067aa0ba902b7")),
                        observed: None,
                        expected: Some("42".into()),
                        passed: false,
                        error: Some("attribute \"user.id\" not found".into()),
                        comparator: Some("=".into()),
                    }],
                }],
            },
        ],
        outputs: BTreeMap::new(),
        warnings: vec!["1 dangling parent 53995c3f42cd8ad8".into()],
        duration_ms: Some(1500),
        last_span_to_verdict_us: None,
        analyzer: Some(analyze::AnalyzerResult {
            enabled: true,
            score: 73,
            minimum_score: 0,
            passed: true,
            plugins: Vec::new(),
        }),
        gates: None,
    };
    let mut errored = StepReport::not_executed("delete user");
    errored.state = StepState::Error;
    errored.error = Some("request to http://localhost:1/ failed: connection refused".into());
    let skipped = StepReport::not_executed("list users");
    RunReport {
        name: "user flow".into(),
        kind: RunKind::Transaction,
        state: RunState::Failed,
        steps: vec![passed, failed, errored, skipped],
        variables: BTreeMap::from([("USER_ID".to_string(), "42".to_string())]),
        file: Some("tests/flow.yaml".into()),
        duration_ms: Some(2112),
    }
}

#[test]
fn json_matches_the_design_schema_exactly() {
    let line = json::render(&design_example());
    assert!(!line.contains('\n'));
    let value: serde_json::Value = serde_json::from_str(&line).expect("valid json");
    let expected = json!({
      "name": "create and fetch user", "kind": "Transaction", "state": "FINISHED",
      "steps": [
        { "name": "create user", "state": "PASSED", "error": null,
          "trace_id": "0af7651916cd43dd8448eb211c80319c", "span_count": 7,
          "specs": [
            { "selector": "span[tracetest.span.type=\"http\"]", "name": "all HTTP spans succeed",
              "passed": true, "matched_spans": 3,
              "assertions": [
                { "assertion": "attr:http.status_code = 200", "passed": true,
                  "results": [ { "span_id": "b7ad6b7169203331", "observed": "200",
                                 "expected": "200", "passed": true, "error": null,
                                 "comparator": "=" } ] } ] } ],
          "outputs": { "USER_ID": "42" }, "warnings": [] }
      ],
      "variables": { "HOST": "localhost:8080", "USER_ID": "42" }
    });
    assert_eq!(value, expected);
}

#[test]
fn json_round_trips_every_state_and_extra_field() {
    let report = mixed_run();
    let line = json::render(&report);
    let value: serde_json::Value = serde_json::from_str(&line).expect("valid json");
    let states: Vec<&str> =
        value["steps"].as_array().expect("steps").iter().map(|s| s["state"].as_str().unwrap_or("")).collect();
    assert_eq!(states, ["PASSED", "FAILED", "ERROR", "NOT_EXECUTED"]);
    assert_eq!(value["state"], "FAILED");
    assert_eq!(value["duration_ms"], 2112);
    assert_eq!(value["steps"][1]["analyzer"]["score"], 73);
    assert!(value["steps"][1].get("gates").is_none());
    assert_eq!(value["steps"][3]["trace_id"], serde_json::Value::Null);
    let back: RunReport = serde_json::from_str(&line).expect("deserializes");
    assert_eq!(back, report);
    insta::assert_snapshot!("mixed_run_json", pretty_json(&line));
}

/// A Write that tests can read after the reporter is done with it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("utf-8")
    }
}

#[test]
fn json_reporter_prints_one_line_per_file() {
    let out = Captured::default();
    let mut reporter = JsonReporter::new(Box::new(out.clone()));
    reporter.finish(&design_example()).expect("write");
    reporter.finish(&mixed_run()).expect("write");
    reporter.close().expect("close");
    let text = out.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    for line in lines {
        let _: RunReport = serde_json::from_str(line).expect("each line is a report");
    }
}

/// Elements of an XML document as (name, attributes), with text folded into the previous
/// element's `#text` attribute.
fn parse_xml(xml: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut reader = Reader::from_str(xml);
    let mut elements: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    loop {
        match reader.read_event().expect("well-formed xml") {
            Event::Start(element) | Event::Empty(element) => {
                let name = String::from_utf8_lossy(element.name().as_ref()).into_owned();
                let attributes = element
                    .attributes()
                    .map(|attribute| {
                        let attribute = attribute.expect("attribute");
                        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
                        let value = attribute.unescape_value().expect("value").into_owned();
                        (key, value)
                    })
                    .collect();
                elements.push((name, attributes));
            }
            Event::Text(text) => {
                let text = text.decode().expect("text").into_owned();
                if let Some((_, attributes)) = elements.last_mut() {
                    attributes.entry("#text".into()).or_default().push_str(&text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    elements
}

#[test]
fn junit_has_a_suite_per_run_and_a_case_per_step_and_spec() {
    let xml = junit::render(&[design_example(), mixed_run()]);
    let elements = parse_xml(&xml);
    let (_, root) = elements.iter().find(|(name, _)| name == "testsuites").expect("testsuites");
    // design: 1 step + 1 spec; mixed: 4 steps + 1 + 2 specs.
    assert_eq!(
        (
            root["tests"].as_str(),
            root["failures"].as_str(),
            root["errors"].as_str(),
            root["skipped"].as_str()
        ),
        ("9", "1", "2", "1")
    );
    // A suite per run, a case per step and spec; a false comparison is a failure with the
    // observed and expected values, an evaluation problem and a trigger error are errors,
    // warnings go to system-out.
    insta::assert_snapshot!("design_and_mixed_junit", xml);
}

#[test]
fn junit_reporter_writes_one_document_on_close() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("junit.xml");
    let mut reporter = JunitReporter::to_path(&path);
    reporter.finish(&design_example()).expect("finish");
    reporter.finish(&mixed_run()).expect("finish");
    assert!(!path.exists());
    reporter.close().expect("close");
    let xml = std::fs::read_to_string(&path).expect("written");
    assert_eq!(parse_xml(&xml).iter().filter(|(name, _)| name == "testsuite").count(), 2);
}

#[test]
fn console_shows_states_durations_traces_and_observed_values() {
    let text = console::render(&mixed_run());
    assert!(!text.contains('\x1b'), "no colours off a terminal");
    insta::assert_snapshot!("mixed_run_console", text);
}

#[test]
fn console_reporter_colours_and_progress_only_on_a_terminal() {
    let progress = WaitProgress {
        trace_id: trace_id("0af7651916cd43dd8448eb211c80319c"),
        n_spans: Some(3),
        elapsed: Duration::from_millis(1200),
    };
    for terminal in [false, true] {
        let out = Captured::default();
        let mut reporter = ConsoleReporter::new(Box::new(out.clone()), terminal);
        let report = mixed_run();
        reporter.on_step_started(&report.name, 0, "create user");
        reporter.on_waiting(&progress);
        reporter.on_step_finished(&report.steps[0]);
        reporter.on_step_started(&report.name, 1, "get user");
        reporter.on_step_finished(&report.steps[1]);
        reporter.finish(&report).expect("finish");
        reporter.close().expect("close");
        let text = out.text();
        assert_eq!(text.contains('\x1b'), terminal, "{text}");
        assert_eq!(
            text.contains("waiting for trace 0af7651916cd43dd8448eb211c80319c: 3 spans, 1.2 s"),
            terminal,
            "{text}"
        );
        // Every step printed exactly once: two as they finished, two at the end.
        for name in ["create user", "get user", "delete user", "list users"] {
            let n = text
                .lines()
                .filter(|line| {
                    line.contains("PASSED")
                        || line.contains("FAILED")
                        || line.contains("ERROR")
                        || line.contains("NOT_EXECUTED")
                })
                .filter(|line| line.contains(name))
                .count();
            assert_eq!(n, 1, "{name} in\n{text}");
        }
    }
}

/// A failed analyzer rule with `n_failed` failed spans (and one that passed).
fn analyzer_with_failures(n_failed: u8, score: i64, minimum_score: i64) -> analyze::AnalyzerResult {
    use analyze::{AnalyzerResult, Finding, PluginResult, RuleResult, SpanResult as Lint};
    let mut results: Vec<Lint> = (1..=n_failed)
        .map(|n| Lint {
            span_id: SpanId([n; 8]),
            span_name: format!("handler {n}").into(),
            passed: false,
            errors: vec![Finding {
                value: "tracetest.span.name".into(),
                expected: Some("GET /users".into()),
                description: format!("The Span name handler {n} is not matching the naming convention"),
            }],
        })
        .collect();
    results.push(Lint {
        span_id: SpanId([0xff; 8]),
        span_name: "GET /ok".into(),
        passed: true,
        errors: vec![],
    });
    let leak = RuleResult {
        id: "no-api-key-leak".into(),
        name: "No API Key Leak".into(),
        level: "error".into(),
        weight: 100,
        passed: false,
        results: vec![Lint {
            span_id: SpanId([1; 8]),
            span_name: "handler 1".into(),
            passed: false,
            errors: vec![Finding::new(
                "authorization",
                "Leaked request API Key found for attribute: authorization. Value: Bea***".into(),
            )],
        }],
    };
    AnalyzerResult {
        enabled: true,
        score,
        minimum_score,
        passed: false,
        plugins: vec![
            PluginResult {
                id: "standards".into(),
                name: "OTel Semantic Conventions".into(),
                score: 0,
                passed: false,
                rules: vec![RuleResult {
                    id: "span-naming".into(),
                    name: "Span Naming".into(),
                    level: "error".into(),
                    weight: 25,
                    passed: false,
                    results,
                }],
            },
            PluginResult {
                id: "security".into(),
                name: "Security".into(),
                score: 0,
                passed: false,
                rules: vec![leak],
            },
        ],
    }
}

/// A step whose assertions passed but whose required gates failed.
fn gated_run() -> RunReport {
    let mut step = passing_step();
    step.name = "lint user".into();
    step.state = StepState::Failed;
    step.analyzer = Some(analyzer_with_failures(5, 40, 50));
    step.gates = Some(analyze::GateResult {
        required: vec!["test-specs".into(), "analyzer-rules".into(), "analyzer-score".into()],
        failed: vec!["analyzer-rules".into(), "analyzer-score".into()],
        passed: false,
    });
    let mut passed = passing_step();
    passed.analyzer = Some(analyze::AnalyzerResult {
        enabled: true,
        score: 100,
        minimum_score: 0,
        passed: true,
        plugins: Vec::new(),
    });
    passed.gates =
        Some(analyze::GateResult { required: vec!["test-specs".into()], failed: vec![], passed: true });
    RunReport {
        name: "gated".into(),
        kind: RunKind::Transaction,
        state: RunState::Failed,
        steps: vec![passed, step],
        variables: BTreeMap::new(),
        file: None,
        duration_ms: None,
    }
}

#[test]
fn console_shows_the_analyzer_and_the_gate_block() {
    let text = console::render(&gated_run());
    insta::assert_snapshot!("gated_run_console", text);
    assert!(!text.contains("#0404040404040404"), "only three spans per rule by default:\n{text}");
    // A passing step gets no gate block (as Tracetest's CLI).
    assert_eq!(text.matches("Required gates").count(), 1, "{text}");

    let verbose = console::render_with(&gated_run(), true);
    assert!(verbose.contains("          #0505050505050505 \"handler 5\""), "{verbose}");
    assert!(!verbose.contains("more spans"), "{verbose}");

    // The reporter's builder turns the full list on too, and colours stay off a terminal.
    for verbose in [false, true] {
        let out = Captured::default();
        let mut reporter = ConsoleReporter::new(Box::new(out.clone()), false).verbose(verbose);
        reporter.finish(&gated_run()).expect("finish");
        let text = out.text();
        assert_eq!(text.contains("#0505050505050505"), verbose, "{text}");
        assert!(!text.contains('\x1b'));
    }
}

/// Issue 21: where no gate requires the analyzer it decides nothing, so a passing step keeps
/// its failing analyzer's line and findings for `--verbose`, and even there in yellow: only
/// a gate's analyzer is red.
#[test]
fn console_keeps_an_analyzer_no_gate_requires_for_verbose_and_out_of_red() {
    let mut step = passing_step();
    step.analyzer = Some(analyzer_with_failures(5, 40, 50));
    step.gates =
        Some(analyze::GateResult { required: vec!["test-specs".into()], failed: vec![], passed: true });
    let run = RunReport {
        name: "advice".into(),
        kind: RunKind::Test,
        state: RunState::Finished,
        steps: vec![step],
        variables: BTreeMap::new(),
        file: None,
        duration_ms: None,
    };
    let text = console::render(&run);
    assert!(!text.contains("analyzer") && !text.contains("handler 1"), "{text}");
    let verbose = console::render_with(&run, true);
    assert!(verbose.contains("    ✘ analyzer: score 40 (minimum 50) below the minimum"), "{verbose}");
    assert!(verbose.contains("#0505050505050505"), "{verbose}");

    let colour = |run: &RunReport| {
        let out = Captured::default();
        let mut reporter = ConsoleReporter::new(Box::new(out.clone()), true).verbose(true);
        reporter.finish(run).expect("finish");
        out.text()
    };
    let text = colour(&run);
    let line = text.lines().find(|line| line.contains("analyzer:")).expect("the analyzer's line");
    assert!(line.starts_with("    \x1b[33m✘"), "yellow where it decides nothing: {line:?}");
    assert!(!text.contains("\x1b[31m✘"), "nothing red under a passing step: {text:?}");
    // The same analyzer under a gate that requires it is red.
    let text = colour(&gated_run());
    let line = text
        .lines()
        .find(|line| line.contains("analyzer:") && line.contains("40"))
        .expect("the analyzer's line");
    assert!(line.starts_with("    \x1b[31m✘"), "{line:?}");
}

#[test]
fn console_marks_a_disabled_analyzer() {
    let mut run = gated_run();
    run.steps[0].analyzer = Some(analyze::AnalyzerResult::disabled());
    // Issue 21: the analyzer's line shows with -v, or when a gate is the analyzer's.
    assert!(console::render_with(&run, true).lines().any(|line| line == "    - analyzer: disabled"));
}

#[test]
fn junit_has_a_case_per_required_gate() {
    let xml = junit::render(&[gated_run()]);
    let elements = parse_xml(&xml);
    let (_, root) = elements.iter().find(|(name, _)| name == "testsuites").expect("testsuites");
    assert_eq!((root["tests"].as_str(), root["failures"].as_str(), root["errors"].as_str()), ("6", "2", "0"));
    // A case per required gate under each step; a failed gate explains the analyzer's
    // score and its failed rules, with the findings in the text.
    insta::assert_snapshot!("gated_run_junit", xml);
}

/// Issue 21: one failed assertion was three JUnit failures (its spec, its step and the
/// `test-specs` gate). The spec's testcase alone fails; the gate has no testcase of its own.
#[test]
fn junit_counts_a_failed_assertion_once() {
    let mut run = mixed_run();
    run.steps[1].gates = Some(analyze::GateResult {
        required: vec!["test-specs".into()],
        failed: vec!["test-specs".into()],
        passed: false,
    });
    let xml = junit::render(&[run.clone()]);
    let elements = parse_xml(&xml);
    assert!(!xml.contains("required gate: test-specs"), "{xml}");
    let (_, root) = elements.iter().find(|(name, _)| name == "testsuites").expect("testsuites");
    let failed_specs = run.steps.iter().flat_map(|step| &step.specs).filter(|spec| !spec.passed);
    let n_failed_by_assertion = failed_specs
        .filter(|spec| spec.assertions.iter().flat_map(|a| &a.results).all(|result| result.error.is_none()))
        .count();
    assert_eq!(root["failures"].parse::<usize>().ok(), Some(n_failed_by_assertion), "{xml}");
    let step_failures = elements.iter().filter(|(name, attributes)| {
        name == "failure" && attributes.get("type").map(String::as_str) == Some("FAILED")
    });
    assert_eq!(step_failures.count(), 0, "the steps' failures are their specs': {xml}");
}

#[test]
fn json_carries_span_names_and_gates() {
    let report = gated_run();
    let line = json::render(&report);
    let value: serde_json::Value = serde_json::from_str(&line).expect("valid json");
    let step = &value["steps"][1];
    assert_eq!(
        step["gates"],
        json!({"required": ["test-specs", "analyzer-rules", "analyzer-score"],
        "failed": ["analyzer-rules", "analyzer-score"], "passed": false})
    );
    let result = &step["analyzer"]["plugins"][0]["rules"][0]["results"][0];
    assert_eq!(result["span_id"], "0101010101010101");
    assert_eq!(result["span_name"], "handler 1");
    let back: RunReport = serde_json::from_str(&line).expect("deserializes");
    assert_eq!(back, report);
    insta::assert_snapshot!("gated_run_json", pretty_json(&line));
}

#[test]
fn console_tells_warnings_from_failures() {
    let mut analyzer = analyzer_with_failures(1, 40, 0);
    analyzer.plugins[1].rules[0].level = "warning".into();
    let text = console::render_analyzer(&analyzer, console::AnalyzerView::default(), "");
    assert!(text.starts_with("✘ analyzer: score 40 (minimum 0), 1 of 2 rules failed, 1 warned\n"), "{text}");
    assert!(text.contains(
        "  ✘ No API Key Leak (security/no-api-key-leak, warning, weight 100): 1 of 1 span failed\n"
    ));
    analyzer.plugins[0].rules[0].level = "warning".into();
    analyzer.passed = true;
    let text =
        console::render_analyzer(&analyzer, console::AnalyzerView { colour: true, verbose: false }, "");
    assert!(text.contains("analyzer: score \x1b[1m40\x1b[0m (minimum 0), 2 of 2 rules warned"), "{text:?}");
    assert!(text.contains("\x1b[33m✘\x1b[0m"), "warned rules are yellow: {text:?}");
}
