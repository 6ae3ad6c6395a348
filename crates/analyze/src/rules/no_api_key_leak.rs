//! no-api-key-leak (security): HTTP spans must not carry an `authorization` or `x-api-key`
//! request or response header (reference section 3). Keys are exact and lower-case. The
//! finding's value is the header name, as in Tracetest, but its description shows the
//! secret masked (AQ-11): `Bearer ****`, not the token. Other span types get no result.
//!
//! Besides Tracetest's `x-api-key`, the old conventions' spelling `x_api_key` (before
//! v1.21 captured header names had `-` replaced by `_`) is checked too (AQ-7).

use super::{RuleDef, Verdict};
use crate::mask::mask_secret;
use crate::result::Finding;
use crate::span_map::SpanMap;

pub(super) const RULE: RuleDef = RuleDef {
    plugin: "security",
    id: "no-api-key-leak",
    name: "No API Key Leak",
    description: "Disallow leaked API keys for HTTP spans",
    error_description: "The following attributes are exposing API keys:",
    default_weight: 70,
    check,
};

/// (header, request key, response key), in the order Tracetest checks them.
const HEADERS: [(&str, &str, &str); 3] = [
    ("authorization", "http.request.header.authorization", "http.response.header.authorization"),
    ("x-api-key", "http.request.header.x-api-key", "http.response.header.x-api-key"),
    ("x_api_key", "http.request.header.x_api_key", "http.response.header.x_api_key"),
];

fn check(map: &SpanMap<'_>, findings: &mut Vec<Finding>) -> Verdict {
    if map.span_type() != "http" {
        return Verdict::NotExamined;
    }
    for (header, request_key, response_key) in HEADERS {
        for (direction, key) in [("request", request_key), ("response", response_key)] {
            let value = map.text(key);
            if !value.is_empty() {
                let shown = mask_secret(&value);
                findings.push(Finding::new(
                    header,
                    format!("Leaked {direction} API Key found for attribute: {header}. Value: {shown}"),
                ));
            }
        }
    }
    Verdict::from_findings(findings)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{self, run, span};
    use super::*;
    use model::SpanKind::{Client, Server};

    fn flagged(attributes: &[(&str, &str)]) -> Vec<String> {
        test_support::flagged(&RULE, Server, attributes)
    }

    #[test]
    fn leaks_are_reported_masked() {
        assert_eq!(
            flagged(&[
                ("http.method", "GET"),
                ("http.response.header.x-api-key", "k-123"),
                ("http.request.header.authorization", "Bearer abc.def"),
                ("http.request.header.x_api_key", "k-456"),
            ]),
            [
                "authorization | Leaked request API Key found for attribute: authorization. Value: Bearer ****",
                "x-api-key | Leaked response API Key found for attribute: x-api-key. Value: ****",
                "x_api_key | Leaked request API Key found for attribute: x_api_key. Value: ****",
            ]
        );
        assert_eq!(
            flagged(&[
                ("http.method", "GET"),
                ("http.request.header.Authorization", "x"),
                ("http.request.header.authorization", "")
            ]),
            Vec::<String>::new()
        );
        let (verdict, _) = run(
            &RULE,
            &span("x", Client, &[("rpc.system", "grpc"), ("http.request.header.authorization", "x")]),
        );
        // An `http.` key makes the span http-typed even with rpc keys (format 5.4 table order).
        assert_eq!(verdict, Verdict::Failed);
        let (verdict, _) = run(&RULE, &span("x", Client, &[("rpc.system", "grpc")]));
        assert_eq!(verdict, Verdict::NotExamined);
    }
}
