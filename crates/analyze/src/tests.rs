//! Whole-analyzer tests: scoring cases of reference section 4, trace order, JSON shape.

use std::sync::Arc;

use super::*;
use model::{Span, SpanId, SpanKind, TraceId, TRIGGER_SPAN_NAME};

const TRACE: TraceId = TraceId([7; 16]);

fn trigger(body: &str) -> Span {
    Span::new(TRACE, SpanId([1; 8]), TRIGGER_SPAN_NAME)
        .with_times(0, 100)
        .with_resource_attribute("service.name", "tracetest")
        .with_attribute("tracetest.response.status", 200i64)
        .with_attribute("tracetest.response.body", body)
        .with_attribute(
            "tracetest.response.headers",
            r#"[{"key":"Content-Type","value":"application/json"}]"#,
        )
}

/// A well-instrumented old-convention HTTP server span under the trigger.
fn good_server(id: u8, start: u64) -> Span {
    Span::new(TRACE, SpanId([id; 8]), "GET /users")
        .with_parent(SpanId([1; 8]))
        .with_kind(SpanKind::Server)
        .with_times(start, start + 10)
        .with_resource_attribute("service.name", "users")
        .with_attribute("http.method", "GET")
        .with_attribute("http.route", "/users")
        .with_attribute("http.target", "/users")
        .with_attribute("http.scheme", "https")
        .with_attribute("http.url", "https://users.example.com/users")
        .with_attribute("net.host.name", "users.example.com")
}

fn trace(spans: Vec<Span>) -> Trace {
    Trace::new(TRACE, spans.into_iter().map(Arc::new).collect())
}

/// A rule entry of an Analyzer file: (id, weight, errorLevel).
type RuleEntry<'a> = (&'a str, i64, &'a str);

/// An analyzer named `test` with minimum score 60 and these plugins, as an Analyzer file
/// would list them.
fn config(plugins: &[(&str, &[RuleEntry<'_>])]) -> AnalyzerConfig {
    AnalyzerConfig {
        name: "test".to_string(),
        enabled: true,
        minimum_score: 60,
        plugins: plugins
            .iter()
            .map(|(id, rules)| PluginConfig {
                id: id.to_string(),
                enabled: true,
                rules: rules
                    .iter()
                    .map(|(id, weight, level)| RuleConfig {
                        id: id.to_string(),
                        weight: *weight,
                        error_level: level.to_string(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn plugin<'r>(result: &'r AnalyzerResult, id: &str) -> &'r PluginResult {
    result.plugins.iter().find(|plugin| plugin.id == id).unwrap()
}

#[test]
fn trigger_only_trace_with_empty_body_scores_91() {
    // AQ-2: the empty body fails no-empty-attributes; standards 75, common 100, security 100.
    let result = analyze(&trace(vec![trigger("")]), &AnalyzerConfig::default());
    assert_eq!(result.score, 91);
    assert!(!result.passed);
    assert_eq!(
        result
            .plugins
            .iter()
            .map(|plugin| (plugin.id.as_str(), plugin.score, plugin.passed))
            .collect::<Vec<_>>(),
        [("standards", 75, false), ("common", 100, true), ("security", 100, true)]
    );
    let empty = &plugin(&result, "standards").rules[3];
    assert_eq!(empty.id, "no-empty-attributes");
    assert_eq!(empty.results[0].errors[0].value, "tracetest.response.body");
    // Security rules examine only http spans: no results at all.
    assert!(plugin(&result, "security").rules.iter().all(|rule| rule.passed && rule.results.is_empty()));
}

#[test]
fn clean_trace_scores_100() {
    let result = analyze(&trace(vec![trigger("{}"), good_server(2, 10)]), &AnalyzerConfig::default());
    assert_eq!((result.score, result.passed, result.minimum_score), (100, true, 0));
    for plugin in &result.plugins {
        for rule in &plugin.rules {
            assert!(rule.passed, "{} {:?}", rule.id, rule.results);
        }
    }
    assert_eq!(plugin(&result, "standards").rules[0].results.len(), 2);
    assert_eq!(plugin(&result, "security").rules[0].results.len(), 1);
}

#[test]
fn reference_example_50_100_70_scores_73() {
    // span-naming and required-attributes fail (standards 50), nothing for common (100),
    // secure-https-protocol fails (security 70).
    let mut span = Span::new(TRACE, SpanId([2; 8]), "handler")
        .with_kind(SpanKind::Server)
        .with_resource_attribute("service.name", "users")
        .with_attribute("http.method", "GET")
        .with_attribute("http.route", "/users")
        .with_attribute("http.target", "/users")
        .with_attribute("http.scheme", "http")
        .with_attribute("http.url", "https://users.example.com/users");
    span.name = "handler".into();
    let result = analyze(&trace(vec![span]), &AnalyzerConfig::default());
    assert_eq!(result.plugins.iter().map(|plugin| plugin.score).collect::<Vec<_>>(), [50, 100, 70]);
    assert_eq!((result.score, result.passed), (73, false));
}

#[test]
fn plugin_score_is_truncated_weighted_share() {
    // span-naming fails (weight 25 of 100): 75. prefer-dns fails: 0. secure-https fails (30 of
    // 100): 70. Mean (75 + 0 + 70) / 3 = 48.
    let bad = good_server(2, 10)
        .with_attribute("http.scheme", "http")
        .with_attribute("net.peer.name", "10.0.0.1")
        .with_attribute("http.url", "https://10.0.0.1/users");
    let mut bad = bad;
    bad.name = "users".into();
    let result = analyze(&trace(vec![trigger("{}"), bad]), &AnalyzerConfig::default());
    let scores: Vec<i64> = result.plugins.iter().map(|plugin| plugin.score).collect();
    assert_eq!(scores, [75, 0, 70]);
    assert_eq!(result.score, 48);
    // Integer division truncates: weights 1 and 2 with only the first passing give 33.
    let result = analyze(
        &trace(vec![good_server(2, 10).with_attribute("http.scheme", "http")]),
        &config(&[("security", &[("no-api-key-leak", 1, "error"), ("secure-https-protocol", 2, "error")])]),
    );
    assert_eq!((result.score, result.passed, result.minimum_score), (33, false, 60));
}

#[test]
fn levels_order_rules_and_only_errors_score() {
    let failing = {
        let mut span = good_server(2, 10);
        span.name = "wrong".into();
        span.with_attribute("http.request.header.authorization", "Bearer secret")
    };
    let result = analyze(
        &trace(vec![failing.clone()]),
        &config(&[
            (
                "standards",
                &[
                    ("span-naming", 25, "warning"),
                    ("required-attributes", 25, "disabled"),
                    ("attribute-naming", 25, ""),
                    ("no-empty-attributes", 25, "error"),
                ],
            ),
            ("security", &[("no-api-key-leak", 0, "error"), ("secure-https-protocol", 0, "error")]),
        ]),
    );
    let standards = plugin(&result, "standards");
    let order: Vec<(&str, &str, bool, usize)> = standards
        .rules
        .iter()
        .map(|rule| (rule.id.as_str(), rule.level.as_str(), rule.passed, rule.results.len()))
        .collect();
    assert_eq!(
        order,
        [
            ("no-empty-attributes", "error", true, 1),
            ("span-naming", "warning", false, 1),
            ("required-attributes", "disabled", true, 0),
            ("attribute-naming", "", true, 1),
        ]
    );
    // A failing warning neither lowers the score nor fails the plugin.
    assert_eq!((standards.score, standards.passed), (100, true));
    // AQ-12: zero total error weight scores 100 even with a failing error rule.
    let security = plugin(&result, "security");
    assert_eq!((security.score, security.passed), (100, false));
    assert_eq!((result.score, result.passed), (100, false));
    let leak = &security.rules[0].results[0].errors[0];
    assert_eq!(
        leak.description,
        "Leaked request API Key found for attribute: authorization. Value: Bearer ****"
    );
}

#[test]
fn unknown_error_level_runs_but_does_not_score() {
    let result = analyze(
        &trace(vec![good_server(2, 10).with_attribute("http.scheme", "http")]),
        &config(&[("security", &[("secure-https-protocol", 30, "Error"), ("no-api-key-leak", 70, "error")])]),
    );
    let security = plugin(&result, "security");
    assert_eq!(security.rules[1].id, "secure-https-protocol");
    assert!(!security.rules[1].passed);
    assert_eq!((security.score, security.passed), (100, true));
}

#[test]
fn duplicate_entries_count_twice() {
    // AQ-4: the failing prefer-dns entry twice against one passing copy of secure-https.
    let span = good_server(2, 10).with_attribute("http.url", "https://10.1.1.1/");
    let result = analyze(
        &trace(vec![span]),
        &config(&[
            ("common", &[("prefer-dns", 10, "error")]),
            ("common", &[("prefer-dns", 10, "error")]),
            ("security", &[("no-api-key-leak", 10, "error"), ("no-api-key-leak", 10, "error")]),
        ]),
    );
    assert_eq!(result.plugins.len(), 3);
    assert_eq!(plugin(&result, "security").rules.len(), 2);
    assert_eq!(result.score, 33);
}

#[test]
fn empty_cases() {
    // No spans: every rule passes with no results.
    let result = analyze(&trace(vec![]), &AnalyzerConfig::default());
    assert_eq!((result.score, result.passed), (100, true));
    assert!(result
        .plugins
        .iter()
        .all(|plugin| plugin.score == 100 && plugin.rules.iter().all(|r| r.results.is_empty())));
    // No plugins (AQ-3: a file without `plugins` scores 100) and disabled plugins.
    let no_plugins =
        AnalyzerConfig { name: "x".to_string(), enabled: true, minimum_score: 0, plugins: vec![] };
    let result = analyze(&trace(vec![trigger("")]), &no_plugins);
    assert_eq!((result.enabled, result.score, result.passed, result.plugins.len()), (true, 100, true, 0));
    let mut all_disabled = AnalyzerConfig::default();
    all_disabled.plugins.iter_mut().for_each(|plugin| plugin.enabled = false);
    let result = analyze(&trace(vec![trigger("")]), &all_disabled);
    assert_eq!((result.score, result.passed, result.plugins.len()), (100, true, 0));
    // A disabled analyzer keeps Tracetest's zero value.
    let disabled = AnalyzerConfig { enabled: false, minimum_score: 50, ..AnalyzerConfig::default() };
    assert_eq!(analyze(&trace(vec![trigger("")]), &disabled), AnalyzerResult::disabled());
}

#[test]
fn overflowing_weights_do_not_panic() {
    let result = analyze(
        &trace(vec![good_server(2, 10).with_attribute("http.url", "https://10.1.1.1/")]),
        &config(&[("common", &[("prefer-dns", -9223372036854775808, "error")])]),
    );
    assert!(!result.passed);
}

#[test]
fn results_follow_trace_order() {
    let late = good_server(3, 50);
    let early = good_server(2, 20);
    let child = good_server(4, 25).with_parent(SpanId([2; 8]));
    let spans = vec![late, child, trigger("{}"), early];
    let result = analyze(&trace(spans), &AnalyzerConfig::default());
    let ids: Vec<String> =
        plugin(&result, "standards").rules[0].results.iter().map(|r| r.span_id.to_string()).collect();
    assert_eq!(ids, ["0101010101010101", "0202020202020202", "0404040404040404", "0303030303030303"]);
}

#[test]
fn current_convention_app_is_not_flagged() {
    let server = Span::new(TRACE, SpanId([2; 8]), "POST /users")
        .with_parent(SpanId([1; 8]))
        .with_kind(SpanKind::Server)
        .with_resource_attribute("service.name", "users")
        .with_attribute("http.request.method", "POST")
        .with_attribute("http.route", "/users")
        .with_attribute("url.path", "/users")
        .with_attribute("url.scheme", "https")
        .with_attribute("server.address", "users.example.com")
        .with_attribute("http.response.status_code", 201i64);
    let client = Span::new(TRACE, SpanId([3; 8]), "INSERT users")
        .with_parent(SpanId([2; 8]))
        .with_kind(SpanKind::Client)
        .with_resource_attribute("service.name", "users")
        .with_attribute("db.system.name", "postgresql")
        .with_attribute("db.operation.name", "INSERT")
        .with_attribute("db.collection.name", "users")
        .with_attribute("server.address", "db.example.com");
    let http_client = Span::new(TRACE, SpanId([4; 8]), "GET")
        .with_parent(SpanId([2; 8]))
        .with_kind(SpanKind::Client)
        .with_resource_attribute("service.name", "users")
        .with_attribute("http.request.method", "GET")
        .with_attribute("url.full", "https://mail.example.com/send")
        .with_attribute("server.address", "mail.example.com");
    let producer = Span::new(TRACE, SpanId([5; 8]), "send user-events")
        .with_parent(SpanId([2; 8]))
        .with_kind(SpanKind::Producer)
        .with_resource_attribute("service.name", "users")
        .with_attribute("messaging.system", "kafka")
        .with_attribute("messaging.operation.type", "send")
        .with_attribute("messaging.operation.name", "send")
        .with_attribute("messaging.destination.name", "user-events");
    let result = analyze(
        &trace(vec![trigger("{}"), server, client, http_client, producer]),
        &AnalyzerConfig::default(),
    );
    let failed: Vec<_> = result.failed_rules().map(|(_, rule)| (&rule.id, &rule.results)).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(result.score, 100);
}

#[test]
fn serializes_as_the_design_says() {
    let mut span = good_server(2, 10);
    span.name = "users".into();
    let result = analyze(
        &trace(vec![span]),
        &config(&[(
            "standards",
            &[
                ("span-naming", 25, "error"),
                ("required-attributes", 25, "disabled"),
                ("attribute-naming", 25, "disabled"),
                ("no-empty-attributes", 25, "disabled"),
            ],
        )]),
    );
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "enabled": true, "score": 0, "minimum_score": 60, "passed": false,
            "plugins": [{
                "id": "standards", "name": "OTel Semantic Conventions", "score": 0, "passed": false,
                "rules": [
                    {"id": "span-naming", "name": "Span Naming", "level": "error", "weight": 25, "passed": false,
                     "results": [{"span_id": "0202020202020202", "span_name": "users", "passed": false, "errors": [{
                         "value": "tracetest.span.name", "expected": "GET /users",
                         "description": "The Span name users is not matching the naming convention"}]}]},
                    {"id": "required-attributes", "name": "Required Attributes", "level": "disabled", "weight": 25, "passed": true, "results": []},
                    {"id": "attribute-naming", "name": "Attribute Naming", "level": "disabled", "weight": 25, "passed": true, "results": []},
                    {"id": "no-empty-attributes", "name": "No Empty Attributes", "level": "disabled", "weight": 25, "passed": true, "results": []}
                ]
            }]
        })
    );
    let back: AnalyzerResult = serde_json::from_value(json).unwrap();
    assert_eq!(back, result);
}

mod properties {
    use proptest::prelude::*;

    use super::*;
    use model::AttributeValue;

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("http.method".to_string()),
            Just("http.url".to_string()),
            Just("http.scheme".to_string()),
            Just("http.request.method".to_string()),
            Just("db.system".to_string()),
            Just("db.system.name".to_string()),
            Just("rpc.method".to_string()),
            Just("messaging.operation".to_string()),
            Just("net.peer.name".to_string()),
            Just("http.request.header.authorization".to_string()),
            "[a-zA-Z0-9_.-]{0,12}",
        ]
    }

    fn value() -> impl Strategy<Value = AttributeValue> {
        prop_oneof![
            "[a-zA-Z0-9:/. @=?&_-]{0,16}".prop_map(|text| AttributeValue::from(text.as_str())),
            Just(AttributeValue::from("redis")),
            Just(AttributeValue::from("10.0.0.1")),
            any::<i64>().prop_map(AttributeValue::Int),
            any::<f64>().prop_map(AttributeValue::Double),
            any::<bool>().prop_map(AttributeValue::Bool),
            Just(AttributeValue::array([])),
            Just(AttributeValue::Empty),
        ]
    }

    /// (id, parent, start, kind, name, attributes) of one generated span.
    type SpanParts = (u8, Option<u8>, u64, u8, String, Vec<(String, AttributeValue)>);

    fn span_strategy() -> impl Strategy<Value = SpanParts> {
        (
            1u8..20,
            proptest::option::of(1u8..25),
            0u64..100,
            0u8..6,
            "[a-zA-Z /]{0,10}",
            proptest::collection::vec((key(), value()), 0..8),
        )
    }

    proptest! {
        #[test]
        fn any_trace_analyzes_without_panicking(
            spans in proptest::collection::vec(span_strategy(), 0..12),
            weights in proptest::collection::vec(-5i64..50, 7),
        ) {
            let spans: Vec<Span> = spans
                .into_iter()
                .map(|(id, parent, start, kind, name, attributes)| {
                    let mut span = Span::new(TRACE, SpanId([id; 8]), &name)
                        .with_kind(SpanKind::from_i32(i32::from(kind)))
                        .with_times(start, start + 1);
                    if let Some(parent) = parent {
                        span = span.with_parent(SpanId([parent; 8]));
                    }
                    for (key, value) in attributes {
                        span = span.with_attribute(&key, value);
                    }
                    span
                })
                .collect();
            // Span IDs are unique within a trace.
            let mut seen = std::collections::HashSet::new();
            let spans: Vec<Span> = spans.into_iter().filter(|span| seen.insert(span.span_id)).collect();
            let n_spans = spans.len();
            let mut config = AnalyzerConfig::default();
            for (rule, weight) in config.plugins.iter_mut().flat_map(|plugin| plugin.rules.iter_mut()).zip(&weights) {
                rule.weight = *weight;
            }
            let result = analyze(&trace(spans), &config);
            for plugin in &result.plugins {
                for rule in &plugin.rules {
                    let examines_all = !matches!(rule.id.as_str(), "secure-https-protocol" | "no-api-key-leak");
                    if examines_all {
                        prop_assert_eq!(rule.results.len(), n_spans);
                    }
                    prop_assert_eq!(rule.passed, rule.results.iter().all(|r| r.passed));
                    for span_result in &rule.results {
                        // Only redis span-naming fails without a finding.
                        prop_assert!(span_result.passed == span_result.errors.is_empty() || rule.id == "span-naming");
                    }
                }
                if plugin.rules.iter().all(|rule| rule.weight >= 0) {
                    prop_assert!((0..=100).contains(&plugin.score));
                }
            }
            let json = serde_json::to_string(&result).unwrap();
            prop_assert_eq!(serde_json::from_str::<AnalyzerResult>(&json).unwrap(), result);
        }
    }
}
