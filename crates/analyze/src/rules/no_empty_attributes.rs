//! no-empty-attributes (standards): no key of the span's map may have the value `""`
//! (reference section 3). Only strings can be empty: arrays, 0.0 and other values Tracetest
//! cannot print read as `unsupported value type`, and whitespace is not empty. The
//! trigger span fails when the response body was empty (AQ-2), as in Tracetest.

use super::{RuleDef, Verdict};
use crate::result::Finding;
use crate::span_map::SpanMap;

pub(super) const RULE: RuleDef = RuleDef {
    plugin: "standards",
    id: "no-empty-attributes",
    name: "No Empty Attributes",
    description: "Disallow empty attribute values",
    error_description: "The following attributes are empty:",
    default_weight: 25,
    check,
};

fn check(map: &SpanMap<'_>, findings: &mut Vec<Finding>) -> Verdict {
    for entry in map.entries() {
        if entry.value.is_empty() {
            let key = entry.key;
            findings.push(Finding::new(key, format!("Attribute \"{key}\" is empty")));
        }
    }
    Verdict::from_findings(findings)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{run, span};
    use super::*;
    use model::SpanKind::Internal;
    use model::{AttributeValue, Scope};

    #[test]
    fn flags_exactly_empty_strings_in_key_order() {
        let mut span = span("x", Internal, &[("b.empty", ""), ("a.empty", ""), ("c.space", " ")])
            .with_attribute("d.zero", 0.0f64)
            .with_attribute("e.array", AttributeValue::array([]));
        span.scope = std::sync::Arc::new(Scope { name: "scope".into(), ..Scope::default() });
        let (verdict, findings) = run(&RULE, &span);
        assert_eq!(verdict, Verdict::Failed);
        assert_eq!(
            findings,
            vec![
                ("a.empty".to_string(), None, "Attribute \"a.empty\" is empty".to_string()),
                ("b.empty".to_string(), None, "Attribute \"b.empty\" is empty".to_string()),
            ]
        );
    }

    #[test]
    fn unnamed_span_has_an_empty_name() {
        let mut span = span("", Internal, &[]);
        span.scope = std::sync::Arc::new(Scope { name: "scope".into(), ..Scope::default() });
        let (_, findings) = run(&RULE, &span);
        assert_eq!(findings.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["tracetest.span.name"]);
    }
}
