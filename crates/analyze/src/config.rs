//! The `Analyzer` resource (analyzer reference section 2): which plugins and rules run, with
//! which weight and level, and the minimum score. `spec` reads it from a Tracetest
//! `Analyzer` YAML file (`spec::load_analyzer`), like every other definition; the built-in
//! default is [`AnalyzerConfig::default`]. This module knows nothing of traces or YAML.

use super::rules::{self, PLUGINS};

/// How a rule's findings count (`errorLevel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorLevel {
    /// Runs, counts toward the score and can fail the analyzer.
    Error,
    /// Runs and reports; affects neither score nor pass.
    Warning,
    /// Does not run: passed, no results, not scored.
    Disabled,
    /// Any other text, `""` included: behaves like `Warning` (AQ-5).
    Other,
}

impl ErrorLevel {
    /// The level of an `errorLevel` text (exact, case-sensitive, as Tracetest compares it).
    pub fn parse(text: &str) -> Self {
        match text {
            "error" => ErrorLevel::Error,
            "warning" => ErrorLevel::Warning,
            "disabled" => ErrorLevel::Disabled,
            _ => ErrorLevel::Other,
        }
    }
}

/// The analyzer's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnalyzerConfig {
    /// Must be non-empty (Tracetest's only check on the analyzer itself).
    pub name: String,
    /// `false`: nothing is analyzed and gates ignore the analyzer (AQ-13).
    pub enabled: bool,
    /// Only the `analyzer-score` gate reads it: it fails when `score < minimum_score`.
    pub minimum_score: i64,
    /// In the order they run and are listed; duplicates run twice (AQ-4).
    pub plugins: Vec<PluginConfig>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginConfig {
    pub id: String,
    pub enabled: bool,
    pub rules: Vec<RuleConfig>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleConfig {
    pub id: String,
    pub weight: i64,
    /// The `errorLevel` text as written; see [`RuleConfig::level`].
    pub error_level: String,
}

impl RuleConfig {
    pub fn level(&self) -> ErrorLevel {
        ErrorLevel::parse(&self.error_level)
    }
}

impl Default for AnalyzerConfig {
    /// Tracetest's built-in analyzer (`GetDefaultLinter`): every plugin and rule of the
    /// catalogue enabled, at error level, with the catalogue weights; minimum score 0.
    fn default() -> Self {
        AnalyzerConfig {
            name: "analyzer".to_string(),
            enabled: true,
            minimum_score: 0,
            plugins: PLUGINS
                .iter()
                .map(|plugin| PluginConfig {
                    id: plugin.id.to_string(),
                    enabled: true,
                    rules: rules::plugin_rules(plugin.id)
                        .map(|rule| RuleConfig {
                            id: rule.id.to_string(),
                            weight: rule.default_weight,
                            error_level: "error".to_string(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}
