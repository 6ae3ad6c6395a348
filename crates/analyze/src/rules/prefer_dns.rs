//! prefer-dns (common): endpoints should be host names, not IPv4 addresses (reference
//! section 3). The IPv4 pattern is searched anywhere in the value, unanchored, so versions
//! in paths and out-of-range octets match and IPv6 never does (AQ-9, kept).
//!
//! Tracetest checks `http.url` and `db.connection_string` on every span, then
//! `net.peer.name` on client spans. tracecheck also checks their current names (AQ-7):
//! `url.full` after `http.url`, and `server.address` after `net.peer.name` on client spans.
//! Credentials embedded in a reported value are masked (AQ-11).

use std::sync::LazyLock;

use regex::Regex;

use super::{RuleDef, Verdict};
use crate::mask::mask_credentials;
use crate::result::Finding;
use crate::span_map::SpanMap;
use model::SpanKind;

pub(super) const RULE: RuleDef = RuleDef {
    plugin: "common",
    id: "prefer-dns",
    name: "Prefer DNS",
    description: "Enforce usage of DNS instead of IP addresses",
    error_description: "The following attributes are using IP addresses instead of DNS:",
    default_weight: 100,
    check,
};

static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)(\.(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)){3}")
        .expect("the IPv4 pattern is valid")
});

const EVERY_SPAN: &[&str] = &["http.url", "url.full", "db.connection_string"];
const CLIENT_SPANS: &[&str] = &["net.peer.name", "server.address"];

fn check(map: &SpanMap<'_>, findings: &mut Vec<Finding>) -> Verdict {
    let client: &[&str] = if map.kind() == SpanKind::Client { CLIENT_SPANS } else { &[] };
    for key in EVERY_SPAN.iter().chain(client) {
        let value = map.text(key);
        if !value.is_empty() && IPV4.is_match(&value) {
            let shown = mask_credentials(&value);
            findings.push(Finding::new(
                *key,
                format!("Usage of a IP endpoint instead of DNS found for attribute: {key}. Value: {shown}"),
            ));
        }
    }
    Verdict::from_findings(findings)
}

#[cfg(test)]
mod tests {
    use super::super::test_support;
    use super::*;
    use model::SpanKind::{Client, Server};

    fn flagged(kind: SpanKind, attributes: &[(&str, &str)]) -> Vec<String> {
        test_support::flagged(&RULE, kind, attributes)
    }

    #[test]
    fn ipv4_anywhere_in_checked_keys() {
        assert_eq!(
            flagged(Client, &[("net.peer.name", "10.0.0.7"), ("http.url", "http://192.168.1.10:8080/users")]),
            [
                "http.url | Usage of a IP endpoint instead of DNS found for attribute: http.url. Value: http://192.168.1.10:8080/users",
                "net.peer.name | Usage of a IP endpoint instead of DNS found for attribute: net.peer.name. Value: 10.0.0.7",
            ]
        );
        assert_eq!(flagged(Server, &[("net.peer.name", "10.0.0.7")]), Vec::<String>::new());
        let order: Vec<String> = flagged(
            Client,
            &[
                ("net.peer.name", "10.0.0.7"),
                ("db.connection_string", "10.0.0.8"),
                ("http.url", "10.0.0.9"),
                ("url.full", ""),
            ],
        )
        .into_iter()
        .map(|finding| finding.split(" | ").next().unwrap_or_default().to_string())
        .collect();
        assert_eq!(order, ["http.url", "db.connection_string", "net.peer.name"]);
        assert_eq!(flagged(Server, &[("http.url", "https://h/v1.2.3.4/x")]).len(), 1);
        assert_eq!(flagged(Server, &[("http.url", "999.1.1.1")]).len(), 1);
        assert_eq!(flagged(Server, &[("db.connection_string", "Server=10.1.2.3;Password=pw")]).len(), 1);
        assert_eq!(
            flagged(Client, &[("net.peer.name", "::1"), ("http.url", "http://[2001:db8::1]/")]),
            Vec::<String>::new()
        );
        assert_eq!(flagged(Client, &[("http.url", "https://users.internal/")]), Vec::<String>::new());
        // Not typed: prefer-dns looks at every span whatever its type.
        assert_eq!(
            flagged(Server, &[("custom.url", "http://10.0.0.1/"), ("db.connection_string", "10.0.0.1")])
                .len(),
            1
        );
    }

    #[test]
    fn current_names_and_masking() {
        assert_eq!(
            flagged(Client, &[("url.full", "https://bob:pw@10.0.0.1/x?token=t"), ("server.address", "10.0.0.1")]),
            [
                "url.full | Usage of a IP endpoint instead of DNS found for attribute: url.full. Value: https://bob:****@10.0.0.1/x?token=****",
                "server.address | Usage of a IP endpoint instead of DNS found for attribute: server.address. Value: 10.0.0.1",
            ]
        );
        assert_eq!(flagged(Server, &[("server.address", "10.0.0.1")]), Vec::<String>::new());
    }
}
