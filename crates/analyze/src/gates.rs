//! Required gates (analyzer reference section 5): `test-specs`, `analyzer-rules` and
//! `analyzer-score`. A run lists the gates it requires (`--required-gates`, default
//! `test-specs`); each gate that failed is recorded, and the gate result passes when no
//! required gate failed. This module decides gates from verdicts it is handed and knows
//! nothing of how specs are evaluated or how steps are reported.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::result::AnalyzerResult;

/// One gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Gate {
    /// Every spec's assertions passed.
    TestSpecs,
    /// The analyzer passed (every enabled plugin passed).
    AnalyzerRules,
    /// The analyzer's score is at least its minimum score.
    AnalyzerScore,
}

/// The gates required when none are given.
pub const DEFAULT_REQUIRED_GATES: &[Gate] = &[Gate::TestSpecs];

impl Gate {
    /// Every gate, in the order Tracetest's error message lists them.
    pub const ALL: [Gate; 3] = [Gate::AnalyzerScore, Gate::AnalyzerRules, Gate::TestSpecs];

    pub fn name(self) -> &'static str {
        match self {
            Gate::TestSpecs => "test-specs",
            Gate::AnalyzerRules => "analyzer-rules",
            Gate::AnalyzerScore => "analyzer-score",
        }
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A gate name that is not one of the three (Tracetest's message, verbatim).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid option '{name}'. valid options: analyzer-score, analyzer-rules, test-specs")]
#[non_exhaustive]
pub struct GateError {
    pub name: String,
}

impl FromStr for Gate {
    type Err = GateError;

    fn from_str(text: &str) -> Result<Self, GateError> {
        Gate::ALL
            .into_iter()
            .find(|gate| gate.name() == text)
            .ok_or_else(|| GateError { name: text.to_string() })
    }
}

/// Parses a comma-separated gate list such as `test-specs,analyzer-score`. Names are
/// trimmed, empty items skipped and repeats kept once, in first-seen order. A list with no
/// names means the default ([`DEFAULT_REQUIRED_GATES`]), as Tracetest's empty flag does.
///
/// # Errors
/// The first name that is not a gate.
pub fn parse_gates(list: &str) -> Result<Vec<Gate>, GateError> {
    let mut gates = Vec::new();
    for name in list.split(',').map(str::trim).filter(|name| !name.is_empty()) {
        let gate: Gate = name.parse()?;
        if !gates.contains(&gate) {
            gates.push(gate);
        }
    }
    if gates.is_empty() {
        gates.extend_from_slice(DEFAULT_REQUIRED_GATES);
    }
    Ok(gates)
}

/// The gates of one step, serialized as the step's `"gates"` object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateResult {
    /// The required gates' names, in the order given.
    pub required: Vec<String>,
    /// Every gate that failed, required or not, each once, in the order it was marked.
    pub failed: Vec<String>,
    /// No required gate failed.
    pub passed: bool,
}

impl GateResult {
    /// Nothing failed yet.
    pub fn new(required: &[Gate]) -> Self {
        GateResult {
            required: required.iter().map(|gate| gate.name().to_string()).collect(),
            failed: Vec::new(),
            passed: true,
        }
    }

    /// Records `gate` as failed; the result fails only when the gate is required.
    pub fn mark_failed(&mut self, gate: Gate) {
        let name = gate.name();
        if !self.failed.iter().any(|failed| failed == name) {
            self.failed.push(name.to_string());
        }
        if self.required.iter().any(|required| required == name) {
            self.passed = false;
        }
    }
}

/// Decides the gates of one step as Tracetest does: after the analysis, `analyzer-rules`
/// when the analyzer did not pass, then `analyzer-score` when its score is below the
/// minimum (equal passes); after the assertions, `test-specs` when a spec failed. A disabled
/// analyzer, or none (`None`: the step never got to the analysis), marks nothing, so
/// required analyzer gates pass (AQ-13).
pub fn decide_gates(required: &[Gate], specs_passed: bool, analyzer: Option<&AnalyzerResult>) -> GateResult {
    let mut gates = GateResult::new(required);
    if let Some(analyzer) = analyzer.filter(|analyzer| analyzer.enabled) {
        if !analyzer.passed {
            gates.mark_failed(Gate::AnalyzerRules);
        }
        if analyzer.score < analyzer.minimum_score {
            gates.mark_failed(Gate::AnalyzerScore);
        }
    }
    if !specs_passed {
        gates.mark_failed(Gate::TestSpecs);
    }
    gates
}

/// The verdict of `tracecheck analyze` on a result: both analyzer gates pass (the analyzer
/// passed and its score reaches the minimum). A disabled analyzer passes, as it fails no
/// gate (AQ-13).
pub fn analyzer_gates_pass(result: &AnalyzerResult) -> bool {
    decide_gates(&[Gate::AnalyzerRules, Gate::AnalyzerScore], true, Some(result)).passed
}

#[cfg(test)]
mod tests {
    use super::*;
    use Gate::{AnalyzerRules, AnalyzerScore, TestSpecs};

    #[test]
    fn parses_lists() {
        assert_eq!(parse_gates("test-specs"), Ok(vec![TestSpecs]));
        assert_eq!(
            parse_gates(" analyzer-score, test-specs,,analyzer-score,analyzer-rules "),
            Ok(vec![AnalyzerScore, TestSpecs, AnalyzerRules])
        );
        assert_eq!(parse_gates(""), Ok(vec![TestSpecs]));
        assert_eq!(
            parse_gates("test-specs,analyser-rules").unwrap_err().to_string(),
            "invalid option 'analyser-rules'. valid options: analyzer-score, analyzer-rules, test-specs"
        );
        assert_eq!(serde_json::to_string(&AnalyzerScore).unwrap(), "\"analyzer-score\"");
    }

    fn analyzer(enabled: bool, passed: bool, score: i64, minimum_score: i64) -> AnalyzerResult {
        AnalyzerResult { enabled, score, minimum_score, passed, plugins: Vec::new() }
    }

    #[test]
    fn decides_gates() {
        /// (required, specs passed, analyzer, failed, passed)
        type Case = (&'static [Gate], bool, Option<AnalyzerResult>, &'static [&'static str], bool);
        let cases: Vec<Case> = vec![
            (&[TestSpecs], true, Some(analyzer(true, true, 100, 0)), &[], true),
            (&[TestSpecs], false, Some(analyzer(true, true, 100, 0)), &["test-specs"], false),
            (
                &[TestSpecs],
                true,
                Some(analyzer(true, false, 73, 80)),
                &["analyzer-rules", "analyzer-score"],
                true,
            ),
            (
                &[AnalyzerScore, TestSpecs],
                true,
                Some(analyzer(true, false, 73, 80)),
                &["analyzer-rules", "analyzer-score"],
                false,
            ),
            (&[AnalyzerRules], false, Some(analyzer(true, true, 80, 80)), &["test-specs"], true),
            (&[AnalyzerScore], true, Some(analyzer(true, true, 79, 80)), &["analyzer-score"], false),
            (&[AnalyzerRules, AnalyzerScore], true, Some(AnalyzerResult::disabled()), &[], true),
            (&[AnalyzerRules, AnalyzerScore], true, None, &[], true),
            (
                &[AnalyzerRules, TestSpecs],
                false,
                Some(analyzer(true, false, 100, 0)),
                &["analyzer-rules", "test-specs"],
                false,
            ),
        ];
        for (required, specs_passed, analyzer, failed, passed) in cases {
            let gates = decide_gates(required, specs_passed, analyzer.as_ref());
            assert_eq!(gates.failed, failed, "{required:?} {specs_passed} {analyzer:?}");
            assert_eq!(gates.passed, passed, "{required:?} {specs_passed} {analyzer:?}");
            assert_eq!(gates.required, required.iter().map(|gate| gate.name()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn serializes_as_the_design_says() {
        let gates = decide_gates(&[TestSpecs], true, Some(&analyzer(true, false, 50, 0)));
        assert_eq!(
            serde_json::to_string(&gates).unwrap(),
            r#"{"required":["test-specs"],"failed":["analyzer-rules"],"passed":true}"#
        );
    }

    #[test]
    fn verdict_needs_both_analyzer_gates() {
        let result = |passed, score, minimum_score| AnalyzerResult {
            enabled: true,
            score,
            minimum_score,
            passed,
            plugins: Vec::new(),
        };
        assert!(analyzer_gates_pass(&result(true, 80, 80)));
        assert!(!analyzer_gates_pass(&result(true, 79, 80)));
        assert!(!analyzer_gates_pass(&result(false, 100, 0)));
        assert!(analyzer_gates_pass(&AnalyzerResult::disabled()));
    }
}
