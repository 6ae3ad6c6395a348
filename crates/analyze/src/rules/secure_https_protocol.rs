//! secure-https-protocol (security): HTTP spans of any kind must use `https` in
//! `http.scheme` and in `http.url` (reference section 3). A missing key reads as `""` and is
//! flagged; the check is case-sensitive (AQ-10, kept). Other span types get no result.
//!
//! Current names (AQ-7): `url.scheme` stands in for a missing `http.scheme` and `url.full`
//! for a missing `http.url`. A span that has neither old key but a current one is judged on
//! the current keys it has: current conventions put `url.full` on clients and `url.scheme`
//! on servers, so requiring both would flag every current span. A span with none of the
//! four keys is flagged under the current names when it uses current names elsewhere.
//! Credentials in a reported URL are masked (AQ-11).

use super::{RuleDef, Verdict};
use crate::mask::mask_credentials;
use crate::result::Finding;
use crate::semconv::uses_current_names;
use crate::span_map::SpanMap;

pub(super) const RULE: RuleDef = RuleDef {
    plugin: "security",
    id: "secure-https-protocol",
    name: "Secure HTTPS Protocol",
    description: "Enforce usage of secure protocol for HTTP server spans",
    error_description: "The following attributes are using insecure http protocol:",
    default_weight: 30,
    check,
};

/// (old key, current key), in the order Tracetest checks them.
const KEYS: [(&str, &str); 2] = [("http.scheme", "url.scheme"), ("http.url", "url.full")];

fn check(map: &SpanMap<'_>, findings: &mut Vec<Finding>) -> Verdict {
    if map.span_type() != "http" {
        return Verdict::NotExamined;
    }
    let has_old = KEYS.iter().any(|(old, _)| map.contains(old));
    let current_only = !has_old && KEYS.iter().any(|(_, current)| map.contains(current));
    for (old, current) in KEYS {
        let key = if map.contains(old) {
            old
        } else if map.contains(current) {
            current
        } else if current_only {
            continue;
        } else if uses_current_names(map) {
            current
        } else {
            old
        };
        let value = map.text(key);
        if !value.starts_with("https") {
            let shown = mask_credentials(&value);
            findings.push(Finding::new(
                key,
                format!("Insecure http schema found for attribute: {key}. Value: {shown}"),
            ));
        }
    }
    Verdict::from_findings(findings)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{self, run, span};
    use super::*;
    use model::SpanKind::{self, Client, Server};

    fn flagged(kind: SpanKind, attributes: &[(&str, &str)]) -> Vec<String> {
        test_support::flagged(&RULE, kind, attributes)
    }

    #[test]
    fn old_conventions_as_tracetest() {
        assert_eq!(
            flagged(Server, &[("http.scheme", "https"), ("http.url", "https://x/")]),
            Vec::<String>::new()
        );
        assert_eq!(
            flagged(Client, &[("http.method", "GET"), ("http.url", "https://x/")]),
            ["http.scheme | Insecure http schema found for attribute: http.scheme. Value: "]
        );
        assert_eq!(
            flagged(Server, &[("http.scheme", "HTTPS"), ("http.url", "http://x/")]),
            [
                "http.scheme | Insecure http schema found for attribute: http.scheme. Value: HTTPS",
                "http.url | Insecure http schema found for attribute: http.url. Value: http://x/",
            ]
        );
        let (verdict, findings) = run(&RULE, &span("x", Client, &[("db.system", "redis")]));
        assert_eq!((verdict, findings), (Verdict::NotExamined, vec![]));
    }

    #[test]
    fn current_conventions() {
        assert_eq!(
            flagged(Client, &[("http.request.method", "GET"), ("url.full", "https://x/")]),
            Vec::<String>::new()
        );
        assert_eq!(
            flagged(Server, &[("http.request.method", "GET"), ("url.scheme", "https")]),
            Vec::<String>::new()
        );
        assert_eq!(
            flagged(Client, &[("http.request.method", "GET"), ("url.full", "http://u:p@x/")]),
            ["url.full | Insecure http schema found for attribute: url.full. Value: http://u:****@x/"]
        );
        // Mixed: an old key present keeps Tracetest's both-keys requirement; the missing one
        // is named as current conventions name it.
        assert_eq!(
            flagged(Server, &[("http.scheme", "https"), ("http.request.method", "GET")]),
            ["url.full | Insecure http schema found for attribute: url.full. Value: "]
        );
        assert_eq!(
            flagged(Server, &[("http.scheme", "https"), ("url.full", "https://x/")]),
            Vec::<String>::new()
        );
    }
}
