//! The mapping between `wire`'s types and the control API's protobuf messages, both ways:
//! a trace's list line (`ListTraces`) and a run's report (`RecordRun`). The messages mirror
//! the wire types field for field, so what a remote server records or lists is what the
//! JSON surfaces would write.

use std::collections::BTreeMap;

use super::pb;
use model::{IdError, SpanId, TraceId};
use wire::{
    AssertionReport, RunKind, RunReport, RunState, SpanResult, SpecReport, StepReport, StepState,
    TraceSummary,
};

/// A message that does not hold a valid report or summary: which field, and why.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Error {
    field: &'static str,
    reason: String,
}

fn bad(field: &'static str, reason: impl ToString) -> Error {
    Error { field, reason: reason.to_string() }
}

fn count(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

fn size(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// An empty ID is the JSON's null.
fn optional_id<T>(
    bytes: &[u8],
    parse: impl Fn(&[u8]) -> Result<T, IdError>,
    field: &'static str,
) -> Result<Option<T>, Error> {
    if bytes.is_empty() {
        return Ok(None);
    }
    parse(bytes).map(Some).map_err(|error| bad(field, error))
}

pub(crate) fn summary_to_pb(summary: &TraceSummary, last_update_unix_nano: u64) -> pb::TraceSummary {
    pb::TraceSummary {
        trace_id: summary.trace_id.0.to_vec(),
        root_name: summary.root_name.clone(),
        service_name: summary.service_name.clone(),
        span_count: u32::try_from(summary.span_count).unwrap_or(u32::MAX),
        start_time_unix_nano: summary.start_time_unix_nano,
        duration_nanos: summary.duration_nanos,
        last_update_unix_nano,
        services: summary.services.clone(),
        error_count: u32::try_from(summary.error_count).unwrap_or(u32::MAX),
    }
}

pub(crate) fn summary_from_pb(summary: pb::TraceSummary) -> Result<TraceSummary, Error> {
    Ok(TraceSummary {
        trace_id: TraceId::from_bytes(&summary.trace_id).map_err(|error| bad("trace_id", error))?,
        root_name: summary.root_name,
        service_name: summary.service_name,
        services: summary.services,
        span_count: summary.span_count as usize,
        error_count: summary.error_count as usize,
        start_time_unix_nano: summary.start_time_unix_nano,
        duration_nanos: summary.duration_nanos,
        matched_span_ids: None,
    })
}

pub(crate) fn report_to_pb(report: &RunReport) -> pb::RunReport {
    pb::RunReport {
        name: report.name.clone(),
        kind: match report.kind {
            RunKind::Test => pb::RunKind::Test,
            RunKind::Transaction => pb::RunKind::Transaction,
            RunKind::TestSuite => pb::RunKind::TestSuite,
        } as i32,
        state: match report.state {
            RunState::Finished => pb::RunState::Finished,
            RunState::Failed => pb::RunState::Failed,
        } as i32,
        steps: report.steps.iter().map(step_to_pb).collect(),
        variables: report.variables.clone().into_iter().collect(),
        file: report.file.clone(),
        duration_ms: report.duration_ms,
    }
}

fn step_to_pb(step: &StepReport) -> pb::StepReport {
    pb::StepReport {
        name: step.name.clone(),
        state: match step.state {
            StepState::Passed => pb::StepState::Passed,
            StepState::Failed => pb::StepState::Failed,
            StepState::Error => pb::StepState::Error,
            StepState::NotExecuted => pb::StepState::NotExecuted,
        } as i32,
        error: step.error.clone(),
        trace_id: step.trace_id.map(|id| id.0.to_vec()).unwrap_or_default(),
        span_count: count(step.span_count),
        specs: step.specs.iter().map(spec_to_pb).collect(),
        outputs: step.outputs.clone().into_iter().collect(),
        warnings: step.warnings.clone(),
        duration_ms: step.duration_ms,
        last_span_to_verdict_us: step.last_span_to_verdict_us,
        analyzer: step.analyzer.as_ref().map(analyzer_to_pb),
        gates: step.gates.as_ref().map(|gates| pb::GateResult {
            required: gates.required.clone(),
            failed: gates.failed.clone(),
            passed: gates.passed,
        }),
    }
}

fn spec_to_pb(spec: &SpecReport) -> pb::SpecReport {
    pb::SpecReport {
        selector: spec.selector.clone(),
        name: spec.name.clone(),
        passed: spec.passed,
        matched_spans: count(spec.matched_spans),
        assertions: spec
            .assertions
            .iter()
            .map(|assertion| pb::AssertionReport {
                assertion: assertion.assertion.clone(),
                passed: assertion.passed,
                results: assertion
                    .results
                    .iter()
                    .map(|result| pb::AssertionResult {
                        span_id: result.span_id.map(|id| id.0.to_vec()).unwrap_or_default(),
                        observed: result.observed.clone(),
                        expected: result.expected.clone(),
                        passed: result.passed,
                        error: result.error.clone(),
                        comparator: result.comparator.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn analyzer_to_pb(result: &analyze::AnalyzerResult) -> pb::AnalyzerResult {
    pb::AnalyzerResult {
        enabled: result.enabled,
        score: result.score,
        minimum_score: result.minimum_score,
        passed: result.passed,
        plugins: result
            .plugins
            .iter()
            .map(|plugin| pb::AnalyzerPlugin {
                id: plugin.id.clone(),
                name: plugin.name.clone(),
                score: plugin.score,
                passed: plugin.passed,
                rules: plugin
                    .rules
                    .iter()
                    .map(|rule| pb::AnalyzerRule {
                        id: rule.id.clone(),
                        name: rule.name.clone(),
                        level: rule.level.clone(),
                        weight: rule.weight,
                        passed: rule.passed,
                        results: rule
                            .results
                            .iter()
                            .map(|span| pb::AnalyzerSpanResult {
                                span_id: span.span_id.0.to_vec(),
                                span_name: span.span_name.to_string(),
                                passed: span.passed,
                                errors: span
                                    .errors
                                    .iter()
                                    .map(|finding| pb::AnalyzerFinding {
                                        value: finding.value.clone(),
                                        expected: finding.expected.clone(),
                                        description: finding.description.clone(),
                                    })
                                    .collect(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// # Errors
/// A field that holds no valid value: an ID of the wrong length, an unknown enum number.
pub(crate) fn report_from_pb(report: pb::RunReport) -> Result<RunReport, Error> {
    Ok(RunReport {
        name: report.name,
        kind: match pb::RunKind::try_from(report.kind) {
            Ok(pb::RunKind::Test) => RunKind::Test,
            Ok(pb::RunKind::Transaction) => RunKind::Transaction,
            Ok(pb::RunKind::TestSuite) => RunKind::TestSuite,
            _ => return Err(bad("kind", format!("expected Test or Transaction, found {}", report.kind))),
        },
        state: match pb::RunState::try_from(report.state) {
            Ok(pb::RunState::Finished) => RunState::Finished,
            Ok(pb::RunState::Failed) => RunState::Failed,
            _ => return Err(bad("state", format!("expected FINISHED or FAILED, found {}", report.state))),
        },
        steps: report.steps.into_iter().map(step_from_pb).collect::<Result<_, _>>()?,
        variables: report.variables.into_iter().collect(),
        file: report.file,
        duration_ms: report.duration_ms,
    })
}

fn step_from_pb(step: pb::StepReport) -> Result<StepReport, Error> {
    Ok(StepReport {
        name: step.name,
        state: match pb::StepState::try_from(step.state) {
            Ok(pb::StepState::Passed) => StepState::Passed,
            Ok(pb::StepState::Failed) => StepState::Failed,
            Ok(pb::StepState::Error) => StepState::Error,
            Ok(pb::StepState::NotExecuted) => StepState::NotExecuted,
            _ => return Err(bad("step state", format!("expected a step state, found {}", step.state))),
        },
        error: step.error,
        trace_id: optional_id(&step.trace_id, TraceId::from_bytes, "step trace_id")?,
        span_count: size(step.span_count),
        specs: step.specs.into_iter().map(spec_from_pb).collect::<Result<_, _>>()?,
        outputs: step.outputs.into_iter().collect::<BTreeMap<_, _>>(),
        warnings: step.warnings,
        duration_ms: step.duration_ms,
        last_span_to_verdict_us: step.last_span_to_verdict_us,
        analyzer: step.analyzer.map(analyzer_from_pb).transpose()?,
        gates: step.gates.map(|gates| analyze::GateResult {
            required: gates.required,
            failed: gates.failed,
            passed: gates.passed,
        }),
    })
}

fn spec_from_pb(spec: pb::SpecReport) -> Result<SpecReport, Error> {
    let assertions = spec
        .assertions
        .into_iter()
        .map(|assertion| {
            let results = assertion
                .results
                .into_iter()
                .map(|result| {
                    Ok(SpanResult {
                        span_id: optional_id(&result.span_id, SpanId::from_bytes, "assertion span_id")?,
                        observed: result.observed,
                        expected: result.expected,
                        passed: result.passed,
                        error: result.error,
                        comparator: result.comparator,
                    })
                })
                .collect::<Result<_, Error>>()?;
            Ok(AssertionReport { assertion: assertion.assertion, passed: assertion.passed, results })
        })
        .collect::<Result<_, Error>>()?;
    Ok(SpecReport {
        selector: spec.selector,
        name: spec.name,
        passed: spec.passed,
        matched_spans: size(spec.matched_spans),
        assertions,
    })
}

fn analyzer_from_pb(result: pb::AnalyzerResult) -> Result<analyze::AnalyzerResult, Error> {
    let mut plugins = Vec::with_capacity(result.plugins.len());
    for plugin in result.plugins {
        let mut rules = Vec::with_capacity(plugin.rules.len());
        for rule in plugin.rules {
            let mut results = Vec::with_capacity(rule.results.len());
            for span in rule.results {
                results.push(analyze::SpanResult {
                    span_id: SpanId::from_bytes(&span.span_id)
                        .map_err(|error| bad("analyzer span_id", error))?,
                    span_name: span.span_name.into(),
                    passed: span.passed,
                    errors: span
                        .errors
                        .into_iter()
                        .map(|finding| analyze::Finding {
                            value: finding.value,
                            expected: finding.expected,
                            description: finding.description,
                        })
                        .collect(),
                });
            }
            rules.push(analyze::RuleResult {
                id: rule.id,
                name: rule.name,
                level: rule.level,
                weight: rule.weight,
                passed: rule.passed,
                results,
            });
        }
        plugins.push(analyze::PluginResult {
            id: plugin.id,
            name: plugin.name,
            score: plugin.score,
            passed: plugin.passed,
            rules,
        });
    }
    Ok(analyze::AnalyzerResult {
        enabled: result.enabled,
        score: result.score,
        minimum_score: result.minimum_score,
        passed: result.passed,
        plugins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_survives_protobuf() {
        let finding =
            analyze::Finding { value: "k".into(), expected: Some("e".into()), description: "d".into() };
        let analyzer = analyze::AnalyzerResult {
            enabled: true,
            score: 73,
            minimum_score: 10,
            passed: false,
            plugins: vec![analyze::PluginResult {
                id: "standards".into(),
                name: "OTel".into(),
                score: 50,
                passed: false,
                rules: vec![analyze::RuleResult {
                    id: "span-naming".into(),
                    name: "Span Naming".into(),
                    level: "error".into(),
                    weight: 25,
                    passed: false,
                    results: vec![analyze::SpanResult {
                        span_id: SpanId([2; 8]),
                        span_name: "GET".into(),
                        passed: false,
                        errors: vec![finding],
                    }],
                }],
            }],
        };
        let step = StepReport {
            name: "create".into(),
            state: StepState::Failed,
            error: Some("why".into()),
            trace_id: Some(TraceId([1; 16])),
            span_count: 3,
            specs: vec![SpecReport {
                selector: "span".into(),
                name: None,
                passed: false,
                matched_spans: 0,
                assertions: vec![AssertionReport {
                    assertion: "attr:x = 1".into(),
                    passed: false,
                    results: vec![SpanResult {
                        span_id: None,
                        observed: None,
                        expected: Some("1".into()),
                        passed: false,
                        error: Some("no span".into()),
                        comparator: Some("=".into()),
                    }],
                }],
            }],
            outputs: [("A".to_string(), String::new())].into(),
            warnings: vec!["w".into()],
            duration_ms: None,
            last_span_to_verdict_us: Some(501_234),
            analyzer: Some(analyzer),
            gates: Some(analyze::GateResult {
                required: vec!["test-specs".into()],
                failed: vec![],
                passed: true,
            }),
        };
        let report = RunReport {
            name: "user".into(),
            kind: RunKind::Transaction,
            state: RunState::Failed,
            steps: vec![step, StepReport::not_executed("next")],
            variables: [("HOST".to_string(), "h".to_string())].into(),
            file: Some("t.yaml".into()),
            duration_ms: Some(9),
        };
        assert_eq!(report_from_pb(report_to_pb(&report)).expect("valid"), report);
        let mut broken = report_to_pb(&report);
        broken.steps[0].trace_id = vec![1; 3];
        let error = report_from_pb(broken).expect_err("a 3-byte trace id");
        assert!(error.to_string().starts_with("step trace_id: "), "{error}");
    }

    #[test]
    fn a_summary_survives_protobuf() {
        let summary = TraceSummary {
            trace_id: TraceId([1; 16]),
            root_name: "GET".into(),
            service_name: "api".into(),
            services: vec!["api".into(), "db".into()],
            span_count: 3,
            error_count: 1,
            start_time_unix_nano: 10,
            duration_nanos: 40,
            matched_span_ids: None,
        };
        assert_eq!(summary_from_pb(summary_to_pb(&summary, 5)).expect("valid"), summary);
    }
}
