//! The analyzer's catalogue: its plugins and rules, one file per rule and one row per rule in
//! [`RULES`] (analyzer reference section 3 and the catalogue table of section 2).
//!
//! A rule is a function from one span's flat map to a verdict plus findings; it knows nothing
//! of configuration, levels, weights or scoring, which live in [`crate::analyze`]. Adding a rule
//! is a file here and a row in [`RULES`]: the default configuration, the validation of
//! `Analyzer` files and the analysis all read this table.

mod attribute_naming;
mod no_api_key_leak;
mod no_empty_attributes;
mod prefer_dns;
mod required_attributes;
mod secure_https_protocol;
mod span_naming;

use super::result::Finding;
use super::span_map::SpanMap;

/// What a rule made of one span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The rule does not look at this kind of span: no result is listed for it.
    NotExamined,
    Passed,
    Failed,
}

impl Verdict {
    /// `Passed` when the rule found nothing, else `Failed`.
    pub fn from_findings(findings: &[Finding]) -> Self {
        if findings.is_empty() {
            Verdict::Passed
        } else {
            Verdict::Failed
        }
    }
}

/// A rule's check: reads one span's map and pushes its findings.
pub type CheckFn = for<'a> fn(&SpanMap<'a>, &mut Vec<Finding>) -> Verdict;

/// One row of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct RuleDef {
    /// The id of the plugin the rule belongs to.
    pub plugin: &'static str,
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// The text Tracetest shows above a failed rule's findings (`errorDescription`).
    pub error_description: &'static str,
    /// The weight in the built-in default configuration.
    pub default_weight: i64,
    pub check: CheckFn,
}

/// A plugin of the catalogue; its rules are the rows of [`RULES`] naming it, in table order.
#[derive(Clone, Copy, Debug)]
pub struct PluginDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

/// The plugins, in the order of the default configuration.
pub static PLUGINS: &[PluginDef] = &[
    PluginDef {
        id: "standards",
        name: "OTel Semantic Conventions",
        description: "Enforce trace standards following OTel Semantic Conventions",
    },
    PluginDef {
        id: "common",
        name: "Common Problems",
        description: "Help you find common mistakes with your application",
    },
    PluginDef {
        id: "security",
        name: "Security",
        description: "Help you find security problems with your application",
    },
];

/// The rules, grouped by plugin in [`PLUGINS`] order.
pub static RULES: &[RuleDef] = &[
    span_naming::RULE,
    required_attributes::RULE,
    attribute_naming::RULE,
    no_empty_attributes::RULE,
    prefer_dns::RULE,
    secure_https_protocol::RULE,
    no_api_key_leak::RULE,
];

pub fn plugin(id: &str) -> Option<&'static PluginDef> {
    PLUGINS.iter().find(|plugin| plugin.id == id)
}

/// The rule `rule_id` of plugin `plugin_id`.
pub fn rule(plugin_id: &str, rule_id: &str) -> Option<&'static RuleDef> {
    RULES.iter().find(|rule| rule.plugin == plugin_id && rule.id == rule_id)
}

/// The rules of a plugin, in catalogue order.
pub fn plugin_rules(plugin_id: &str) -> impl Iterator<Item = &'static RuleDef> + '_ {
    RULES.iter().filter(move |rule| rule.plugin == plugin_id)
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Builds one span's map and runs one rule on it.

    use super::*;
    use model::{Span, SpanId, SpanKind, TraceId};

    pub fn span(name: &str, kind: SpanKind, attributes: &[(&str, &str)]) -> Span {
        let mut span = Span::new(TraceId([1; 16]), SpanId([2; 8]), name).with_kind(kind);
        for (key, value) in attributes {
            span = span.with_attribute(key, *value);
        }
        span
    }

    /// The verdict and findings as `(value, expected, description)`.
    pub fn run(rule: &RuleDef, span: &Span) -> (Verdict, Vec<(String, Option<String>, String)>) {
        let map = SpanMap::new(span);
        let mut findings = Vec::new();
        let verdict = (rule.check)(&map, &mut findings);
        (verdict, findings.into_iter().map(|f| (f.value, f.expected, f.description)).collect())
    }

    /// `value | description` of each finding of `rule` on one span, checking that the
    /// verdict agrees with the findings.
    pub fn flagged(rule: &RuleDef, kind: SpanKind, attributes: &[(&str, &str)]) -> Vec<String> {
        let (verdict, findings) = run(rule, &span("x", kind, attributes));
        assert_eq!(verdict == Verdict::Passed, findings.is_empty());
        findings.into_iter().map(|(value, _, description)| format!("{value} | {description}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_matches_the_reference() {
        let rows: Vec<(&str, &str, &str, i64)> =
            RULES.iter().map(|rule| (rule.plugin, rule.id, rule.name, rule.default_weight)).collect();
        assert_eq!(
            rows,
            [
                ("standards", "span-naming", "Span Naming", 25),
                ("standards", "required-attributes", "Required Attributes", 25),
                ("standards", "attribute-naming", "Attribute Naming", 25),
                ("standards", "no-empty-attributes", "No Empty Attributes", 25),
                ("common", "prefer-dns", "Prefer DNS", 100),
                ("security", "secure-https-protocol", "Secure HTTPS Protocol", 30),
                ("security", "no-api-key-leak", "No API Key Leak", 70),
            ]
        );
        for rule in RULES {
            assert!(plugin(rule.plugin).is_some(), "{} names an unknown plugin", rule.id);
        }
    }
}
