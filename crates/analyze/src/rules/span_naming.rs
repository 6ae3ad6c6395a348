//! span-naming (standards): the span name must be the one the semantic conventions build
//! from the span's attributes (reference section 3 table), e.g. `GET /users` for an HTTP
//! server span. Every span gets a result; types without a naming convention pass.
//!
//! The old-convention name Tracetest expects is always accepted, so no span Tracetest passes
//! fails here. When the span carries current-convention keys (AQ-7), the names current
//! conventions prescribe are accepted too, and the expected name reported is the current
//! one when the old template's keys are missing.

use std::borrow::Cow;

use super::{RuleDef, Verdict};
use crate::result::Finding;
use crate::semconv::uses_current_names;
use crate::span_map::SpanMap;
use model::SpanKind;

pub(super) const RULE: RuleDef = RuleDef {
    plugin: "standards",
    id: "span-naming",
    name: "Span Naming",
    description: "Enforce span names that identify a class of Spans",
    error_description: "",
    default_weight: 25,
    check,
};

fn check(map: &SpanMap<'_>, findings: &mut Vec<Finding>) -> Verdict {
    // (old-convention candidates, current-convention candidates, keys of the old template)
    let (old, current, old_keys): (Candidates, Candidates, &[&str]) = match map.span_type() {
        "http" => (http_old, http_current, &["http.method"]),
        "database" if is_redis(map) => return redis(map),
        "database" => (database_old, database_current, &["db.operation", "db.name", "db.sql.table"]),
        "rpc" => (rpc_old, rpc_current, &["rpc.service"]),
        "messaging" => (messaging_old, messaging_current, &["messaging.destination", "messaging.operation"]),
        _ => return Verdict::Passed,
    };
    let mut naming = Naming { name: map.name(), matched: false, first_expected: None };
    old(map, &mut naming);
    if naming.matched {
        return Verdict::Passed;
    }
    let old_expected = naming.first_expected.take();
    current(map, &mut naming);
    if naming.matched {
        return Verdict::Passed;
    }
    let current_expected = naming.first_expected.take();
    // The current name is the better hint when the span uses current names and lacks a key
    // of the old template.
    let current_first = uses_current_names(map) && old_keys.iter().any(|key| !map.contains(key));
    let expected =
        if current_first { current_expected.or(old_expected) } else { old_expected.or(current_expected) };
    findings.push(Finding {
        value: "tracetest.span.name".to_string(),
        expected: Some(expected.unwrap_or_default()),
        description: format!("The Span name {} is not matching the naming convention", naming.name),
    });
    Verdict::Failed
}

/// Offers a naming convention's candidate names to a [`Naming`].
type Candidates = fn(&SpanMap<'_>, &mut Naming<'_>);

/// Collects candidate names; the span passes when its name equals any of them.
struct Naming<'n> {
    name: &'n str,
    matched: bool,
    /// The first candidate offered: the name reported as expected.
    first_expected: Option<String>,
}

impl Naming<'_> {
    /// Offers the candidate `prefix ++ parts` (concatenated), comparing without allocating.
    fn candidate(&mut self, prefix: &[&str], parts: &[&str]) {
        if self.matched {
            return;
        }
        let pieces = || prefix.iter().chain(parts.iter()).copied();
        let mut rest = self.name;
        let mut equal = true;
        for piece in pieces() {
            match rest.strip_prefix(piece) {
                Some(after) => rest = after,
                None => {
                    equal = false;
                    break;
                }
            }
        }
        if equal && rest.is_empty() {
            self.matched = true;
        } else if self.first_expected.is_none() {
            self.first_expected = Some(pieces().collect());
        }
    }
}

fn http_old(map: &SpanMap<'_>, naming: &mut Naming<'_>) {
    let method = map.text("http.method");
    if map.kind() == SpanKind::Client {
        naming.candidate(&[], &[&method]);
    } else {
        naming.candidate(&[], &[&method, " ", &map.text("http.route")]);
    }
}

/// Current HTTP conventions: client `{method}` (or `{method} {url.template}`), server
/// `{method} {http.route}` or `{method}` without a route; `_OTHER` methods name `HTTP`.
fn http_current(map: &SpanMap<'_>, naming: &mut Naming<'_>) {
    let Some(method) = map.get("http.request.method") else { return };
    let method = method.text();
    let method: &str = if method == "_OTHER" { "HTTP" } else { &method };
    if map.kind() == SpanKind::Client {
        naming.candidate(&[], &[method]);
        let template = map.text("url.template");
        if !template.is_empty() {
            naming.candidate(&[], &[method, " ", &template]);
        }
    } else {
        let route = map.text("http.route");
        if route.is_empty() {
            naming.candidate(&[], &[method]);
        } else {
            naming.candidate(&[], &[method, " ", &route]);
        }
    }
}

fn is_redis(map: &SpanMap<'_>) -> bool {
    map.text("db.system") == "redis" || map.text("db.system.name") == "redis"
}

/// Redis (AQ-6): the statement must start with the span name, case-insensitively; a failure
/// carries no finding. A current-convention redis span may also be named like any database.
fn redis(map: &SpanMap<'_>) -> Verdict {
    let name = map.name().to_lowercase();
    for key in ["db.statement", "db.query.text"] {
        let statement = map.text(key);
        if !statement.is_empty() && statement.to_lowercase().starts_with(&name) {
            return Verdict::Passed;
        }
    }
    let mut naming = Naming { name: map.name(), matched: false, first_expected: None };
    database_current(map, &mut naming);
    if naming.matched {
        Verdict::Passed
    } else {
        Verdict::Failed
    }
}

fn database_old(map: &SpanMap<'_>, naming: &mut Naming<'_>) {
    let (operation, name, table) = (map.text("db.operation"), map.text("db.name"), map.text("db.sql.table"));
    naming.candidate(&[], &[&operation, " ", &name, ".", &table]);
}

/// Current database conventions: `{db.query.summary}`, else `{db.operation.name} {target}`,
/// else `{target}`, else `{db.system.name}`; the target is the collection (also written
/// `{db.namespace}.{db.collection.name}` by v1.25/v1.26), the stored procedure, the
/// namespace or `{server.address}[:{server.port}]`. Offered only to spans with current keys.
fn database_current(map: &SpanMap<'_>, naming: &mut Naming<'_>) {
    if !uses_current_names(map) {
        return;
    }
    let summary = map.text("db.query.summary");
    if !summary.is_empty() {
        naming.candidate(&[], &[&summary]);
    }
    let operation = map.text("db.operation.name");
    let collection = map.text("db.collection.name");
    let procedure = map.text("db.stored_procedure.name");
    let namespace = map.text("db.namespace");
    let address = map.text("server.address");
    let port = map.text("server.port");
    let prefix: &[&str] = if operation.is_empty() { &[] } else { &[&operation, " "] };
    let mut has_target = false;
    let mut target = |naming: &mut Naming<'_>, parts: &[&str]| {
        has_target = true;
        naming.candidate(prefix, parts);
    };
    if !collection.is_empty() {
        target(naming, &[&collection]);
        if !namespace.is_empty() {
            target(naming, &[&namespace, ".", &collection]);
        }
    }
    if !procedure.is_empty() {
        target(naming, &[&procedure]);
    }
    if !namespace.is_empty() {
        target(naming, &[&namespace]);
    }
    if !address.is_empty() {
        if !port.is_empty() {
            target(naming, &[&address, ":", &port]);
        }
        target(naming, &[&address]);
    }
    if !has_target {
        if !operation.is_empty() {
            naming.candidate(&[], &[&operation]);
        } else {
            let system = map.get("db.system.name").or_else(|| map.get("db.system"));
            let system = system.map_or(Cow::Borrowed(""), |value| value.text());
            naming.candidate(&[], &[&system]);
        }
    }
}

fn rpc_old(map: &SpanMap<'_>, naming: &mut Naming<'_>) {
    naming.candidate(&[], &[&map.text("rpc.service"), "/", &map.text("rpc.method")]);
}

/// Current RPC conventions drop `rpc.service` and put the fully qualified method
/// (`package.Service/Method`) in `rpc.method`, which is also the span name.
fn rpc_current(map: &SpanMap<'_>, naming: &mut Naming<'_>) {
    let method = map.text("rpc.method");
    if uses_current_names(map) && !map.contains("rpc.service") && method.contains('/') {
        naming.candidate(&[], &[&method]);
    }
}

fn messaging_old(map: &SpanMap<'_>, naming: &mut Naming<'_>) {
    naming.candidate(&[], &[&map.text("messaging.destination"), " ", &map.text("messaging.operation")]);
}

/// v1.17-v1.23 `{destination.name} {operation}`, v1.24-v1.25 `{operation} {destination.name}`,
/// v1.26+ `{operation.name} {destination}` or `{operation.name}` without a destination.
fn messaging_current(map: &SpanMap<'_>, naming: &mut Naming<'_>) {
    let old_operation = map.text("messaging.operation");
    let operation_name = map.text("messaging.operation.name");
    let operation_type = map.text("messaging.operation.type");
    let mut has_destination = false;
    for key in ["messaging.destination.name", "messaging.destination.template"] {
        let destination = map.text(key);
        if destination.is_empty() {
            continue;
        }
        has_destination = true;
        if !old_operation.is_empty() {
            naming.candidate(&[], &[&destination, " ", &old_operation]);
            naming.candidate(&[], &[&old_operation, " ", &destination]);
        }
        for operation in [&operation_name, &operation_type] {
            if !operation.is_empty() {
                naming.candidate(&[], &[operation, " ", &destination]);
            }
        }
    }
    if !has_destination {
        for operation in [&operation_name, &operation_type] {
            if !operation.is_empty() {
                naming.candidate(&[], &[operation]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{run, span};
    use super::*;
    use model::SpanKind::{Client, Consumer, Internal, Producer, Server, Unspecified};

    /// (name, kind, attributes, expected: None = passes, Some(expected name) = fails).
    type Case<'a> = (&'a str, SpanKind, &'a [(&'a str, &'a str)], Option<&'a str>);

    fn check_cases(cases: &[Case<'_>]) {
        for (name, kind, attributes, expected) in cases {
            let (verdict, findings) = run(&RULE, &span(name, *kind, attributes));
            match expected {
                None => assert_eq!((verdict, findings), (Verdict::Passed, vec![]), "{name:?} {attributes:?}"),
                Some(expected) => {
                    assert_eq!(verdict, Verdict::Failed, "{name:?} {attributes:?}");
                    assert_eq!(
                        findings,
                        vec![(
                            "tracetest.span.name".to_string(),
                            Some(expected.to_string()),
                            format!("The Span name {name} is not matching the naming convention"),
                        )],
                        "{name:?} {attributes:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn old_conventions_as_tracetest() {
        check_cases(&[
            ("GET", Client, &[("http.method", "GET")], None),
            ("GET /users", Client, &[("http.method", "GET"), ("http.route", "/users")], Some("GET")),
            ("GET /users", Server, &[("http.method", "GET"), ("http.route", "/users")], None),
            ("GET /users", Internal, &[("http.method", "GET"), ("http.route", "/users")], None),
            ("GET /users", Unspecified, &[("http.method", "GET"), ("http.route", "/users")], None),
            ("GET", Server, &[("http.method", "GET")], Some("GET ")),
            ("GET ", Server, &[("http.method", "GET")], None),
            ("GET /users ", Server, &[("http.method", "GET"), ("http.route", "/users")], Some("GET /users")),
            ("get /users", Server, &[("http.method", "GET"), ("http.route", "/users")], Some("GET /users")),
            ("", Client, &[("http.status_code", "200")], None),
            (
                "SELECT shop.users",
                Client,
                &[
                    ("db.system", "postgresql"),
                    ("db.operation", "SELECT"),
                    ("db.name", "shop"),
                    ("db.sql.table", "users"),
                ],
                None,
            ),
            (
                "SELECT shop",
                Client,
                &[("db.system", "mysql"), ("db.operation", "SELECT"), ("db.name", "shop")],
                Some("SELECT shop."),
            ),
            (
                "users.Users/Get",
                Client,
                &[("rpc.system", "grpc"), ("rpc.service", "users.Users"), ("rpc.method", "Get")],
                None,
            ),
            (
                "Get",
                Server,
                &[("rpc.service", "users.Users"), ("rpc.method", "Get")],
                Some("users.Users/Get"),
            ),
            (
                "orders publish",
                Producer,
                &[("messaging.destination", "orders"), ("messaging.operation", "publish")],
                None,
            ),
            (
                "orders process",
                Consumer,
                &[
                    ("messaging.destination.name", "orders"),
                    ("messaging.destination", "x"),
                    ("messaging.operation", "process"),
                ],
                None,
            ),
            ("anything", Internal, &[("custom.key", "x")], None),
            ("anything", Internal, &[("exception.message", "x")], None),
        ]);
    }

    #[test]
    fn redis_statement_prefix_without_findings() {
        let redis = |name: &str, statement: Option<&str>| {
            let mut attributes = vec![("db.system", "redis")];
            if let Some(statement) = statement {
                attributes.push(("db.statement", statement));
            }
            run(&RULE, &span(name, Client, &attributes))
        };
        assert_eq!(redis("HGET", Some("hget user:1 name")), (Verdict::Passed, vec![]));
        assert_eq!(redis("", Some("GET k")), (Verdict::Passed, vec![]));
        assert_eq!(redis("SET", Some("GET k")), (Verdict::Failed, vec![]));
        assert_eq!(redis("GET", None), (Verdict::Failed, vec![]));
        assert_eq!(redis("", None), (Verdict::Failed, vec![]));
    }

    #[test]
    fn current_conventions_are_accepted() {
        check_cases(&[
            ("GET", Client, &[("http.request.method", "GET"), ("url.full", "https://x/u")], None),
            (
                "GET /users/{id}",
                Client,
                &[("http.request.method", "GET"), ("url.template", "/users/{id}")],
                None,
            ),
            ("HTTP", Client, &[("http.request.method", "_OTHER")], None),
            ("GET /users", Server, &[("http.request.method", "GET"), ("http.route", "/users")], None),
            ("GET", Server, &[("http.request.method", "GET"), ("url.path", "/users")], None),
            ("POST", Server, &[("http.request.method", "GET")], Some("GET")),
            (
                "GET /x",
                Server,
                &[("http.request.method", "GET"), ("http.route", "/users")],
                Some("GET /users"),
            ),
            (
                "SELECT users",
                Client,
                &[
                    ("db.system.name", "postgresql"),
                    ("db.operation.name", "SELECT"),
                    ("db.collection.name", "users"),
                ],
                None,
            ),
            (
                "SELECT shop.users",
                Client,
                &[
                    ("db.system", "postgresql"),
                    ("db.operation.name", "SELECT"),
                    ("db.namespace", "shop"),
                    ("db.collection.name", "users"),
                ],
                None,
            ),
            (
                "SELECT users",
                Client,
                &[("db.system.name", "postgresql"), ("db.query.summary", "SELECT users")],
                None,
            ),
            ("shop", Client, &[("db.system.name", "postgresql"), ("db.namespace", "shop")], None),
            ("postgresql", Client, &[("db.system.name", "postgresql")], None),
            ("SELECT", Client, &[("db.system.name", "postgresql"), ("db.operation.name", "SELECT")], None),
            (
                "select",
                Client,
                &[
                    ("db.system.name", "postgresql"),
                    ("db.operation.name", "SELECT"),
                    ("db.collection.name", "users"),
                ],
                Some("SELECT users"),
            ),
            (
                "users.Users/Get",
                Client,
                &[("rpc.system.name", "grpc"), ("rpc.method", "users.Users/Get")],
                None,
            ),
            (
                "send orders",
                Producer,
                &[("messaging.operation.name", "send"), ("messaging.destination.name", "orders")],
                None,
            ),
            (
                "publish orders",
                Producer,
                &[("messaging.operation", "publish"), ("messaging.destination.name", "orders")],
                None,
            ),
            (
                "orders publish",
                Producer,
                &[("messaging.operation", "publish"), ("messaging.destination.name", "orders")],
                None,
            ),
            (
                "receive",
                Consumer,
                &[("messaging.operation.type", "receive"), ("messaging.system", "kafka")],
                None,
            ),
            (
                "orders send",
                Producer,
                &[("messaging.operation.name", "send"), ("messaging.destination.name", "orders")],
                Some("send orders"),
            ),
        ]);
        let current_redis = span("GET", Client, &[("db.system.name", "redis"), ("db.operation.name", "GET")]);
        assert_eq!(run(&RULE, &current_redis), (Verdict::Passed, vec![]));
    }
}
