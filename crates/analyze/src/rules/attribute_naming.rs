//! attribute-naming (standards): every key of the span's map, metadata included, must match
//! `^([a-z0-9_]+\.)+[a-z0-9_]+$`, and no key may equal the namespace (the part before the
//! last dot) of another well-formed key (reference section 3, AQ-8: one finding per sibling).
//! Findings come in two passes over the keys in key order, as Tracetest's two loops.
//!
//! Kept as Tracetest has it: captured headers with `-` in their name
//! (`http.request.header.x-api-key`) fail, and old and current names side by side
//! (`db.system` with `db.system.name`) collide.

use super::{RuleDef, Verdict};
use crate::result::Finding;
use crate::span_map::SpanMap;

pub(super) const RULE: RuleDef = RuleDef {
    plugin: "standards",
    id: "attribute-naming",
    name: "Attribute Naming",
    description: "Enforce attribute keys to follow common specifications",
    error_description: "The following attributes do not follow the naming convention:",
    default_weight: 25,
    check,
};

fn check(map: &SpanMap<'_>, findings: &mut Vec<Finding>) -> Verdict {
    let entries = map.entries();
    for entry in entries {
        let key = entry.key;
        if !entry.follows_convention() {
            findings.push(Finding::new(
                key,
                format!("Attribute \"{key}\" does not follow the naming convention"),
            ));
        }
    }
    for (at, entry) in entries.iter().enumerate() {
        let key = entry.key;
        if key.is_empty() {
            // No well-formed key has an empty namespace.
            continue;
        }
        // Keys are sorted, so the keys that start with `key` directly follow it; usually the
        // next key does not, and the check ends there.
        let n_children = entries[at + 1..]
            .iter()
            // The byte test rejects most keys without a string comparison.
            .take_while(|candidate| {
                candidate.key.len() > key.len()
                    && candidate.key.as_bytes()[key.len() - 1] == key.as_bytes()[key.len() - 1]
                    && candidate.key.starts_with(key)
            })
            .filter(|candidate| {
                let rest = &candidate.key[key.len()..];
                rest.len() > 1
                    && rest.as_bytes()[0] == b'.'
                    && !rest[1..].contains('.')
                    && candidate.follows_convention()
            })
            .count();
        for _ in 0..n_children {
            findings.push(Finding::new(
                key,
                format!("Attribute \"{key}\" uses the same name as an existing namespace in the same span"),
            ));
        }
    }
    Verdict::from_findings(findings)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::test_support::{run, span};
    use super::*;
    use crate::span_map::key_follows_convention as follows_convention;
    use model::SpanKind::Internal;

    #[test]
    fn key_pattern_cases() {
        for key in ["http.method", "1.2", "_._", "a.b.c", "http.status_code", "x9.y_z"] {
            assert!(follows_convention(key), "{key}");
        }
        for key in [
            "method",
            "http.statusCode",
            "App.name",
            "a..b",
            "a.b.",
            ".a.b",
            "http.request.header.x-api-key",
            "é.b",
            "",
        ] {
            assert!(!follows_convention(key), "{key}");
        }
    }

    proptest! {
        #[test]
        fn matches_the_reference_regex(key in "[a-zA-Z0-9_.\\-é]{0,12}") {
            let regex = regex::Regex::new(r"^([a-z0-9_]+\.)+[a-z0-9_]+$").unwrap();
            prop_assert_eq!(follows_convention(&key), regex.is_match(&key));
        }
    }

    fn findings(attributes: &[(&str, &str)]) -> Vec<(String, String)> {
        let (verdict, findings) = run(&RULE, &span("x", Internal, attributes));
        assert_eq!(verdict == Verdict::Passed, findings.is_empty());
        findings.into_iter().map(|(value, _, description)| (value, description)).collect()
    }

    fn bad(key: &str) -> (String, String) {
        (key.to_string(), format!("Attribute \"{key}\" does not follow the naming convention"))
    }

    fn collides(key: &str) -> (String, String) {
        (
            key.to_string(),
            format!("Attribute \"{key}\" uses the same name as an existing namespace in the same span"),
        )
    }

    #[test]
    fn metadata_keys_pass() {
        assert_eq!(findings(&[("http.method", "GET"), ("http.url", "https://x")]), vec![]);
    }

    #[test]
    fn bad_keys_in_key_order() {
        assert_eq!(
            findings(&[
                ("method", "GET"),
                ("http.statusCode", "200"),
                ("http.request.header.x-api-key", "k")
            ]),
            vec![bad("http.request.header.x-api-key"), bad("http.statusCode"), bad("method")]
        );
    }

    #[test]
    fn namespace_collisions_once_per_sibling() {
        // AQ-8: `app` fails the pattern and also collides with `app.a` and `app.b`.
        assert_eq!(
            findings(&[("app", "1"), ("app.a", "2"), ("app.b", "3")]),
            vec![bad("app"), collides("app"), collides("app")]
        );
        // Only the direct parent namespace counts, and only well-formed children count.
        assert_eq!(findings(&[("a.b", "1"), ("a.b.c.d", "2")]), vec![]);
        assert_eq!(findings(&[("a.b", "1"), ("a.b.C", "2")]), vec![bad("a.b.C")]);
        // Old and current conventions side by side collide, as in Tracetest.
        assert_eq!(
            findings(&[("messaging.destination", "q"), ("messaging.destination.name", "q")]),
            vec![collides("messaging.destination")]
        );
        // `a.b-x` sorts between `a.b` and `a.b.c` and must not hide the child.
        assert_eq!(
            findings(&[("a.b", "1"), ("a.b-x", "2"), ("a.b.c", "3")]),
            vec![bad("a.b-x"), collides("a.b")]
        );
    }
}
