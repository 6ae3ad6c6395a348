//! Secret masking in everything a run writes. A secret's value is what a trigger and the
//! languages use; every report (console, JSON, JUnit, HTML), the recorded run and the traces
//! kept with it show `******` wherever that value occurs: in the variables, outputs,
//! errors, warnings, assertions (their text after the CLI's `${NAME}` substitution, their
//! observed and expected values), the analyzer's findings, and the string attributes,
//! names and status messages of the judged traces (the trigger span's response body may
//! echo a token). Which values are secrets is decided at load ([`defs::looks_secret`],
//! `type: secret`); this module only replaces them.

use std::sync::Arc;

use model::{AttributeValue, Str, Trace};
use report::{RunReport, StepReport};

use super::SECRET_MASK;

/// Values shorter than this are not masked where they occur (a variable's own entry in the
/// report's variables still is, by name): `AUTH_ENABLED: true` or `API_KEY_VERSION: 1` would
/// otherwise blank every `true` or `1` of the report, and a secret that short protects
/// nothing. GitLab CI refuses to mask variables under 8 characters for the same reason.
pub const MIN_MASKED_LEN: usize = 8;

/// The values to mask, longest first so that a secret containing another is masked whole.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    /// The `values` of at least [`MIN_MASKED_LEN`] characters, each once.
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> =
            values.into_iter().filter(|value| value.chars().count() >= MIN_MASKED_LEN).collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Secrets { values }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn find_in(&self, text: &str) -> bool {
        self.values.iter().any(|value| text.contains(value.as_str()))
    }

    /// `text` with every secret replaced by the mask.
    pub fn mask(&self, text: &str) -> String {
        let mut text = text.to_string();
        self.mask_in_place(&mut text);
        text
    }

    fn mask_in_place(&self, text: &mut String) {
        for value in &self.values {
            if text.contains(value.as_str()) {
                *text = text.replace(value.as_str(), SECRET_MASK);
            }
        }
    }

    fn mask_str(&self, text: &mut Str) {
        if self.find_in(text) {
            *text = Str::new(&self.mask(text));
        }
    }

    /// A step's report as it may be shown: every text that can hold a value masked.
    pub fn step(&self, report: &mut StepReport) {
        if self.is_empty() {
            return;
        }
        let each = |text: &mut String| self.mask_in_place(text);
        each(&mut report.name);
        report.error.iter_mut().for_each(each);
        report.warnings.iter_mut().for_each(each);
        report.outputs.values_mut().for_each(each);
        for spec in &mut report.specs {
            each(&mut spec.selector);
            spec.name.iter_mut().for_each(each);
            for assertion in &mut spec.assertions {
                each(&mut assertion.assertion);
                for result in &mut assertion.results {
                    result.observed.iter_mut().for_each(each);
                    result.expected.iter_mut().for_each(each);
                    result.error.iter_mut().for_each(each);
                }
            }
        }
        let findings = report.analyzer.iter_mut().flat_map(|analysis| &mut analysis.plugins);
        for rule in findings.flat_map(|plugin| &mut plugin.rules) {
            for span in &mut rule.results {
                self.mask_str(&mut span.span_name);
                for finding in &mut span.errors {
                    each(&mut finding.value);
                    finding.expected.iter_mut().for_each(each);
                    each(&mut finding.description);
                }
            }
        }
    }

    /// A run's report: its steps (see [`Secrets::step`]) and its variables' values.
    pub fn run(&self, report: &mut RunReport) {
        if self.is_empty() {
            return;
        }
        self.mask_in_place(&mut report.name);
        report.steps.iter_mut().for_each(|step| self.step(step));
        report.variables.values_mut().for_each(|value| self.mask_in_place(value));
    }

    /// A judged trace as the HTML report and the recorded run keep it: a span holding a
    /// secret is copied with it masked; the others stay shared.
    pub fn trace(&self, trace: &mut Trace) {
        if self.is_empty() {
            return;
        }
        for span in &mut trace.spans {
            let holds = self.find_in(&span.name)
                || self.find_in(&span.status.message)
                || span.attributes.iter().any(|attribute| self.value_holds(&attribute.value));
            if !holds {
                continue;
            }
            let span = Arc::make_mut(span);
            self.mask_str(&mut span.name);
            self.mask_str(&mut span.status.message);
            for attribute in span.attributes.iter_mut() {
                self.mask_value(&mut attribute.value);
            }
        }
    }

    fn value_holds(&self, value: &AttributeValue) -> bool {
        match value {
            AttributeValue::String(text) => self.find_in(text),
            AttributeValue::Array(items) => items.iter().any(|item| self.value_holds(item)),
            AttributeValue::Map(entries) => entries.iter().any(|entry| self.value_holds(&entry.value)),
            _ => false,
        }
    }

    fn mask_value(&self, value: &mut AttributeValue) {
        match value {
            AttributeValue::String(text) => self.mask_str(text),
            AttributeValue::Array(items) => items.iter_mut().for_each(|item| self.mask_value(item)),
            AttributeValue::Map(entries) => {
                entries.iter_mut().for_each(|entry| self.mask_value(&mut entry.value))
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Span, SpanId, TraceId};

    #[test]
    fn every_occurrence_is_masked_longest_first() {
        let secrets = Secrets::new(["abcdefgh".to_string(), "abcdefghij".to_string(), "true".to_string()]);
        assert_eq!(secrets.mask("x abcdefghij y abcdefgh z"), "x ****** y ****** z");
        assert_eq!(secrets.mask("true stays: too short to mask"), "true stays: too short to mask");
    }

    #[test]
    fn a_trace_span_holding_a_secret_is_masked_and_the_others_shared() {
        let trace_id = TraceId::random();
        let holding = Span::new(trace_id, SpanId::random(), "GET /x")
            .with_attribute("tracetest.response.body", "{\"echo\": \"Bearer tok-12345\"}");
        let clean = Arc::new(Span::new(trace_id, SpanId::random(), "clean"));
        let mut trace = Trace::new(trace_id, vec![Arc::new(holding), clean.clone()]);
        Secrets::new(["tok-12345".to_string()]).trace(&mut trace);
        let body = trace.spans[0].attributes[0].value.clone();
        assert_eq!(body, AttributeValue::String(Str::new("{\"echo\": \"Bearer ******\"}")));
        assert!(Arc::ptr_eq(&trace.spans[1], &clean), "a clean span is not copied");
    }
}
