//! The analyzer's result, serialized as the `"analyzer"` object of a step in the JSON report
//! (design.md, "Analyzer and required gates"). Every field is always present, unlike
//! Tracetest's API, which omits zero values; `expected` is `null` for rules that have no
//! expected value (every rule but span-naming).

use serde::{Deserialize, Serialize};

use model::{SpanId, Str};

/// The verdict of the analyzer on one trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzerResult {
    /// `false` when the configuration disabled the analyzer: then nothing ran and the rest
    /// is Tracetest's zero value (score 0, not passed, no plugins), which gates ignore.
    pub enabled: bool,
    /// Mean of the enabled plugins' scores, truncated; 100 with no enabled plugin.
    pub score: i64,
    /// Copied from the configuration; only the `analyzer-score` gate reads it.
    pub minimum_score: i64,
    /// Every enabled plugin passed.
    pub passed: bool,
    /// The enabled plugins, in configured order.
    pub plugins: Vec<PluginResult>,
}

impl AnalyzerResult {
    /// The result of a disabled analyzer (Tracetest's zero value, AQ-13).
    pub fn disabled() -> Self {
        AnalyzerResult { enabled: false, score: 0, minimum_score: 0, passed: false, plugins: Vec::new() }
    }

    /// The rules that failed, with their plugin, in result order (any level).
    pub fn failed_rules(&self) -> impl Iterator<Item = (&PluginResult, &RuleResult)> {
        self.plugins.iter().flat_map(|plugin| {
            plugin.rules.iter().filter(|rule| !rule.passed).map(move |rule| (plugin, rule))
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginResult {
    pub id: String,
    pub name: String,
    /// `100 * earned / total` over error-level rules, truncated; 100 when total is 0.
    pub score: i64,
    /// Every error-level rule passed (warnings never fail a plugin).
    pub passed: bool,
    /// Error-level rules first, then warnings, then the rest, each group in configured order.
    pub rules: Vec<RuleResult>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    pub id: String,
    pub name: String,
    /// The configured `errorLevel`, as written (`error`, `warning`, `disabled`, or anything).
    pub level: String,
    pub weight: i64,
    /// Every examined span passed (always true for a disabled rule).
    pub passed: bool,
    /// One entry per examined span, in trace order.
    pub results: Vec<SpanResult>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanResult {
    pub span_id: SpanId,
    /// The span's name, so a reader of the report need not look the ID up (an addition to
    /// the design's JSON; empty when a report written without it is read back).
    #[serde(default, serialize_with = "serialize_str", deserialize_with = "deserialize_str")]
    pub span_name: Str,
    pub passed: bool,
    pub errors: Vec<Finding>,
}

/// One problem a rule found on a span (serialized in the `errors` list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The attribute key (or, for no-api-key-leak, the header name) the finding is about.
    pub value: String,
    /// What span-naming expected the name to be; `None` for every other rule.
    pub expected: Option<String>,
    pub description: String,
}

impl Finding {
    pub fn new(value: impl Into<String>, description: String) -> Self {
        Finding { value: value.into(), expected: None, description }
    }
}

// Span names are shared `Str`s (cloning one per result costs no allocation); serde
// does not know the type, so these two do it by hand.
fn serialize_str<S: serde::Serializer>(text: &Str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(text)
}

fn deserialize_str<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Str, D::Error> {
    String::deserialize(deserializer).map(Str::from)
}
