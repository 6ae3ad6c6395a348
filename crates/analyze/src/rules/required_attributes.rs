//! required-attributes (standards): the attributes each span type (and kind) must carry,
//! reference section 3. A key counts as present when it exists, even empty.
//!
//! Each requirement is an old-convention key with its current-convention replacements
//! (AQ-7): either satisfies it. A missing requirement is reported under the old name, as
//! Tracetest does, unless the span uses current names; then under the current one.

use super::{RuleDef, Verdict};
use crate::result::Finding;
use crate::semconv::uses_current_names;
use crate::span_map::SpanMap;
use model::SpanKind;

pub(super) const RULE: RuleDef = RuleDef {
    plugin: "standards",
    id: "required-attributes",
    name: "Required Attributes",
    description: "Enforce required attributes by span type",
    error_description: "This span is missing the following required attributes:",
    default_weight: 25,
    check,
};

/// An old-convention key and the current keys that replace it.
type Requirement = (&'static str, &'static [&'static str]);

const HTTP_ALWAYS: &[Requirement] = &[("http.method", &["http.request.method"])];
const HTTP_CLIENT: &[Requirement] = &[("http.url", &["url.full"]), ("net.peer.name", &["server.address"])];
const HTTP_SERVER: &[Requirement] = &[
    ("http.target", &["url.path"]),
    ("http.scheme", &["url.scheme"]),
    ("net.host.name", &["server.address"]),
];
const DATABASE: &[Requirement] = &[("db.system", &["db.system.name"])];
const RPC: &[Requirement] = &[("rpc.system", &["rpc.system.name"]), ("net.peer.name", &["server.address"])];
const MESSAGING: &[Requirement] = &[
    ("messaging.system", &[]),
    ("messaging.operation", &["messaging.operation.type", "messaging.operation.name"]),
];
const FAAS_CLIENT: &[Requirement] = &[("faas.invoked_name", &[]), ("faas.invoked_provider", &[])];
const FAAS_SERVER: &[Requirement] = &[("faas.trigger", &[])];

fn requirements(span_type: &str, kind: SpanKind) -> [&'static [Requirement]; 2] {
    let client = kind == SpanKind::Client;
    let server = kind == SpanKind::Server;
    match span_type {
        "http" if client => [HTTP_ALWAYS, HTTP_CLIENT],
        "http" if server => [HTTP_ALWAYS, HTTP_SERVER],
        "http" => [HTTP_ALWAYS, &[]],
        "database" => [DATABASE, &[]],
        "rpc" => [RPC, &[]],
        "messaging" => [MESSAGING, &[]],
        "faas" if client => [FAAS_CLIENT, &[]],
        "faas" if server => [FAAS_SERVER, &[]],
        _ => [&[], &[]],
    }
}

fn check(map: &SpanMap<'_>, findings: &mut Vec<Finding>) -> Verdict {
    let span_type = map.span_type();
    let mut current = None;
    for (old, replacements) in requirements(span_type, map.kind()).into_iter().flatten() {
        if map.contains(old) || replacements.iter().any(|key| map.contains(key)) {
            continue;
        }
        let current = *current.get_or_insert_with(|| uses_current_names(map));
        let key = match replacements.first() {
            Some(replacement) if current => replacement,
            _ => old,
        };
        findings.push(Finding::new(
            *key,
            format!("Attribute \"{key}\" is missing from span of type \"{span_type}\""),
        ));
    }
    Verdict::from_findings(findings)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{run, span};
    use super::*;
    use model::SpanKind::{Client, Consumer, Internal, Producer, Server};

    /// (kind, attributes, the keys reported missing)
    type Case = (SpanKind, &'static [(&'static str, &'static str)], &'static [&'static str]);

    fn missing(kind: SpanKind, attributes: &[(&str, &str)]) -> Vec<String> {
        let (verdict, findings) = run(&RULE, &span("x", kind, attributes));
        assert_eq!(verdict == Verdict::Passed, findings.is_empty());
        findings
            .into_iter()
            .map(|(value, expected, description)| {
                assert_eq!(expected, None);
                assert!(description
                    .starts_with(&format!("Attribute \"{value}\" is missing from span of type \"")));
                value
            })
            .collect()
    }

    #[test]
    fn old_conventions_as_tracetest() {
        let cases: &[Case] = &[
            (Client, &[("http.status_code", "200")], &["http.method", "http.url", "net.peer.name"]),
            (
                Server,
                &[("http.status_code", "200")],
                &["http.method", "http.target", "http.scheme", "net.host.name"],
            ),
            (Internal, &[("http.status_code", "200")], &["http.method"]),
            (Client, &[("http.method", ""), ("http.url", "https://x"), ("net.peer.name", "x")], &[]),
            (Client, &[("db.name", "shop")], &["db.system"]),
            (Server, &[("rpc.service", "s")], &["rpc.system", "net.peer.name"]),
            (Consumer, &[("messaging.destination", "q")], &["messaging.system", "messaging.operation"]),
            (Client, &[("faas.x", "1")], &["faas.invoked_name", "faas.invoked_provider"]),
            (Server, &[("faas.x", "1")], &["faas.trigger"]),
            (Internal, &[("faas.x", "1")], &[]),
            (Internal, &[("exception.message", "x")], &[]),
            (Internal, &[("custom", "x")], &[]),
        ];
        for (kind, attributes, expected) in cases {
            assert_eq!(missing(*kind, attributes), *expected, "{kind:?} {attributes:?}");
        }
        let (_, findings) = run(&RULE, &span("x", Client, &[("db.name", "shop")]));
        assert_eq!(findings[0].2, "Attribute \"db.system\" is missing from span of type \"database\"");
    }

    #[test]
    fn current_conventions_satisfy_and_name_the_findings() {
        let cases: &[Case] = &[
            (
                Client,
                &[("http.request.method", "GET"), ("url.full", "https://x/"), ("server.address", "x")],
                &[],
            ),
            (
                Server,
                &[
                    ("http.request.method", "GET"),
                    ("url.path", "/"),
                    ("url.scheme", "https"),
                    ("server.address", "x"),
                ],
                &[],
            ),
            (Client, &[("http.request.method", "GET")], &["url.full", "server.address"]),
            (Client, &[("db.system.name", "postgresql")], &[]),
            (Client, &[("db.operation.name", "SELECT")], &["db.system.name"]),
            (Client, &[("rpc.system.name", "grpc"), ("server.address", "x")], &[]),
            (Producer, &[("messaging.system", "kafka"), ("messaging.operation.type", "send")], &[]),
            (
                Producer,
                &[("messaging.destination.name", "q")],
                &["messaging.system", "messaging.operation.type"],
            ),
        ];
        for (kind, attributes, expected) in cases {
            assert_eq!(missing(*kind, attributes), *expected, "{kind:?} {attributes:?}");
        }
    }
}
