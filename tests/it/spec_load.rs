//! Loading Tracetest definition files: every shape the reference lists, and every error
//! named with file, line and column.

use std::path::PathBuf;

use defs::{ErrorKind, Loaded};
use trigger::{Auth, GraphqlBody, Header, KafkaAuth, SaslMechanism, Trigger};

/// `tests/fixtures/spec/<name>`.
fn fixture(name: &str) -> PathBuf {
    crate::support::fixture("spec").join(name)
}

fn load_test(name: &str) -> defs::Test {
    match defs::load_file(fixture(name)) {
        Ok(Loaded::Test(test)) => test,
        Ok(other) => panic!("{name}: expected a Test, got {}", other.kind()),
        Err(errors) => panic!("{name}:\n{}", errors.render()),
    }
}

#[test]
fn loads_a_full_http_test() {
    let test = load_test("create_user.yaml");
    assert_eq!(test.id.as_deref(), Some("create-user"));
    assert_eq!(test.name, "Create user");
    assert_eq!(test.polling_profile.as_deref(), Some("current"));
    assert!(!test.skip_trace_collection);
    let Trigger::Http(http) = &test.trigger else { panic!("expected http trigger") };
    assert_eq!(http.method, "POST");
    assert_eq!(http.url, "${var:HOST}/users");
    assert_eq!(http.headers.len(), 3);
    assert_eq!(http.headers[2], Header { key: "X-Tag".into(), value: "b".into() });
    assert_eq!(http.body, r#"{"name": "ana"}"#);
    assert!(http.ssl_verification);
    assert_eq!(http.auth, Some(Auth::Bearer { token: "Bearer ${var:TOKEN}".into() }));

    assert_eq!(test.specs.len(), 2);
    let first = &test.specs[0];
    assert_eq!(first.selector.value, r#"span[tracetest.span.type="http" name="POST /users"]"#);
    assert_eq!((first.selector.line, first.selector.col), (32, 17));
    assert_eq!(first.name.as_deref(), Some("Create endpoint works"));
    assert_eq!(first.assertions[1].value, "attr:tracetest.span.duration < 500ms");
    assert_eq!((first.assertions[1].line, first.assertions[1].col), (36, 11));
    // A folded block scalar joins its lines with a space.
    assert_eq!(test.specs[1].assertions[0].value, r#"attr:tracetest.response.body | json_path '$.id' != """#);

    assert_eq!(test.outputs.len(), 1);
    assert_eq!(test.outputs[0].name, "USER_ID");
    assert_eq!(test.outputs[0].value.value, "attr:tracetest.response.body | json_path '$.id'");
}

#[test]
fn loads_a_transaction_with_path_and_id_steps() {
    let suite = match defs::load_file(fixture("suite.yaml")) {
        Ok(Loaded::Suite(suite)) => suite,
        Ok(other) => panic!("expected a suite, got {}", other.kind()),
        Err(errors) => panic!("{}", errors.render()),
    };
    assert_eq!(suite.name, "User flow");
    let names: Vec<&str> = suite.steps.iter().map(|step| step.name.as_str()).collect();
    assert_eq!(names, ["Create user", "Get user"]);
    // The second step came by id; its body file was inlined relative to its own file.
    let Trigger::Http(http) = &suite.steps[1].trigger else { panic!("expected http trigger") };
    assert_eq!(http.method, "GET");
    assert_eq!(http.body, "{\"id\": \"${var:USER_ID}\"}\n");
    assert!(suite.steps[1].path.ends_with("get_user.yaml"));
}

#[test]
fn loads_variable_sets_under_both_names() {
    let Ok(Loaded::VariableSet(vars)) = defs::load_file(fixture("vars.yaml")) else {
        panic!("expected vars")
    };
    let pairs: Vec<(&str, &str, bool)> =
        vars.values.iter().map(|var| (var.key.as_str(), var.value.as_str(), var.secret)).collect();
    assert_eq!(
        pairs,
        [
            ("HOST", "http://localhost:8080", false),
            ("PORT", "8080", false),
            ("TOKEN", "s3cret", true),
            ("EMPTY", "", false)
        ]
    );
}

#[test]
fn loads_grpc_and_traceid_tests_and_recognises_analyzers() {
    let test = load_test("grpc_test.yaml");
    let Trigger::Grpc(grpc) = &test.trigger else { panic!("expected grpc trigger") };
    assert!(grpc.proto.contains("service Greeter"));
    assert_eq!(grpc.proto_name, "greeter.proto");
    assert_eq!(grpc.method, "test.v1.Greeter.SayHello");
    assert_eq!(grpc.metadata, [Header { key: "x-tenant".into(), value: "acme".into() }]);

    let test = load_test("traceid_test.yaml");
    assert_eq!(test.trigger.kind(), "traceid");
    assert!(!test.trigger.records_response());

    let Ok(Loaded::Analyzer(analyzer)) = defs::load_file(fixture("analyzer.yaml")) else {
        panic!("expected analyzer")
    };
    assert_eq!(analyzer.config.minimum_score, 0);
    assert!(analyzer.config.enabled);
}

#[test]
fn validate_files_returns_every_file() {
    let paths = [fixture("suite.yaml"), fixture("vars.yaml"), fixture("analyzer.yaml")];
    let loaded = defs::validate_files(&paths).unwrap_or_else(|errors| panic!("{}", errors.render()));
    let kinds: Vec<&str> = loaded.iter().map(Loaded::kind).collect();
    assert_eq!(kinds, ["TestSuite", "VariableSet", "Analyzer"]);
}

/// Writes `yaml` to a temporary file, loads it and returns `line:col: message` per error.
fn errors_of(yaml: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, yaml).expect("write");
    match defs::load_file(&path) {
        Ok(_) => Vec::new(),
        Err(errors) => {
            errors.iter().map(|error| format!("{}:{}: {}", error.line, error.col, error.kind)).collect()
        }
    }
}

#[test]
fn reports_every_error_with_its_position() {
    let cases: &[(&str, &[&str])] = &[
        ("", &["1:1: missing required field `type` in the file", "1:1: missing required field `spec`"]),
        ("type: Test\n", &["1:1: missing required field `spec` in the file"]),
        ("type: Widget\nspec: {}\n", &["1:7: unsupported resource type `Widget`"]),
        ("type: Test\nspec: [1]\n", &["2:7: expected a mapping for `spec`, found a list"]),
        ("type: Test\nspec:\n  name: t\n  trigger: {type: http, httpRequest: {url: x}}\n  extra: 1\n", &["5:3: unknown field `extra` in the Test spec"]),
        (
            "type: Test\nspec:\n  nmae: t\n  trigger: {type: http, httpRequest: {url: x}}\n",
            &["3:3: unknown field `nmae` in the Test spec; did you mean `name`?", "3:3: missing required field `name`"],
        ),
        ("type: Test\nspec:\n  name: t\n", &["3:3: missing required field `trigger` in the Test spec"]),
        (
            // Several errors in one file are all reported.
            "type: Test\nspec:\n  name: t\n  skipTraceCollection: maybe\n  trigger:\n    type: http\n    httpRequest:\n      url: [x]\n      sslVerification: \"no\"\n",
            &[
                "4:24: expected true or false for `skipTraceCollection`, found the string \"maybe\"",
                "8:12: expected a string for `url`, found a list",
                "9:24: expected true or false for `sslVerification`",
            ],
        ),
        (
            "type: Test\nspec:\n  name: t\n  trigger: {type: playwrightengine}\n",
            &["4:13: missing required field `playwrightEngine` in the trigger"],
        ),
        (
            "type: Test\nspec:\n  name: t\n  trigger: {type: playwrightengine, playwrightEngine: {script: ./nope.js}}\n",
            &["4:56: missing required field `method` in playwrightEngine", "4:64: cannot read playwright script"],
        ),
        (
            "type: Test\nspec:\n  name: t\n  trigger: {type: playwright-engine}\n",
            &["4:19: unknown trigger type `playwright-engine`; expected http, grpc, traceid, kafka, graphql or playwrightengine"],
        ),
        ("type: Test\nspec:\n  name: t\n  trigger: {type: kafka}\n", &["4:13: missing required field `kafka` in the trigger"]),
        (
            "type: Test\nspec:\n  name: t\n  trigger: {type: kafka, kafka: {topic: t, brokerUrls: []}}\n",
            &["4:56: `brokerUrls` in kafka must name at least one broker"],
        ),
        (
            "type: Test\nspec:\n  name: t\n  trigger: {type: kafka, kafka: {brokerUrls: [b], topic: t, authentication: {type: oauth}}}\n",
            &["4:84: unknown kafka authentication type `oauth`"],
        ),
        (
            "type: Test\nspec:\n  name: t\n  trigger: {type: kafka, kafka: {brokerUrls: ['${var:A +}'], topic: t}}\n",
            &["4:57: invalid template"],
        ),
        (
            "type: Test\nspec:\n  name: t\n  trigger: {type: graphql, graphql: {url: x, body: {variables: {}}}}\n",
            &["4:53: missing required field `query` in the graphql body"],
        ),
        ("type: Test\nspec:\n  name: t\n  trigger: {type: ftp}\n", &["4:19: unknown trigger type `ftp`"]),
        (
            "type: Test\nspec:\n  name: t\n  trigger: {type: traceid, traceid: {id: xyz}}\n",
            &["4:42: trace id `xyz` must be 32 hex characters"],
        ),
        (
            "type: Test\nspec:\n  name: t\n  trigger: {type: http, httpRequest: {url: 'http://x/${var:A +}'}}\n",
            &["4:63: invalid template: expected a value after '+', found end of input"],
        ),
        (
            // Every bad selector, assertion and output value, at the offending character:
            // plain, double-quoted, single-quoted and folded block scalars.
            concat!(
                "type: Test\nspec:\n  name: t\n  trigger: {type: http, httpRequest: {url: x}}\n",
                "  specs:\n",
                "    - selector: span[name=\"a\"\n",
                "      assertions:\n",
                "        - attr:a = 1\n",
                "        - attr:http.status_code 200\n",
                "        - \"attr:b = \\\"x\\\" =\"\n",
                "        - >-\n",
                "          attr:c =\n",
                "          'y' !\n",
                "  outputs:\n",
                "    - name: A\n",
                "      value: attr:x | nosuchfilter\n",
                "    - name: B\n",
                "      selector: 'span[name=\"b\"'\n",
                "      value: attr:x\n",
            ),
            &[
                "6:30: invalid selector: expected a filter (property = value) or ']', found end of input",
                "9:33: invalid assertion: expected an operator, '|' or a comparator",
                "10:27: invalid assertion: expected an operator, '|' or the end of the assertion, found '='",
                "13:15: invalid assertion: expected a value, operator or comparator, found '!'",
                "16:23: invalid expression: expected a filter name after '|'",
                "18:31: invalid selector: expected",
            ],
        ),
        (
            "type: Test\nspec:\n  name: t\n  trigger: {type: http, httpRequest: {url: x, auth: {type: digest}}}\n",
            &["4:60: unknown auth type `digest`"],
        ),
        (
            "type: Test\nspec:\n  name: t\n  trigger: {type: http, httpRequest: {url: x}}\n  specs:\n    - selector: ''\n  outputs:\n    - name: A\n      expression: attr:x\n",
            &[
                "6:7: a spec with an empty selector must have assertions",
                "9:7: unknown field `expression` in an output",
                "8:7: missing required field `value` in an output",
            ],
        ),
        ("type: Test\nspec:\n  name: a\n  name: b\n", &["4:3: invalid yaml: duplicate key `name`"]),
        ("type: Test\nspec: {name: [}\n", &["invalid yaml"]),
        (
            "type: TestSuite\nspec:\n  name: s\n  steps:\n    - ./missing.yaml\n    - no-such-id\n",
            &["5:7: step file", "6:7: no Test with id `no-such-id`"],
        ),
        (
            "type: Environment\nspec:\n  id: prod\n  name: prod\n  resources: []\n",
            &["5:3: this is a Tracetest Cloud Environment (a workspace with `resources`), not a variable set"],
        ),
        (
            "type: Environment\nspec:\n  name: prod\n  agentConfiguration:\n    serverless: true\n",
            &["4:3: this is a Tracetest Cloud Environment (a workspace with `agentConfiguration`), not a variable set"],
        ),
        (
            "type: VariableSet\nspec:\n  name: v\n  values:\n    - value: 1\n    - key: A\n      type: hidden\n",
            &["5:7: missing required field `key` in a variable", "7:13: variable `type` must be `raw` or `secret`"],
        ),
    ];
    let mut failures = Vec::new();
    for (yaml, expected) in cases {
        let errors = errors_of(yaml);
        let matches = errors.len() == expected.len()
            && errors.iter().zip(expected.iter()).all(|(error, want)| error.contains(want));
        if !matches {
            failures.push(format!("for\n{yaml}\nexpected {expected:#?}\ngot {errors:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn grpc_proto_and_method_are_checked_at_load() {
    let errors = defs::load_file(fixture("unknown-method.yaml")).expect_err("unknown method");
    let error = errors.iter().next().expect("one error");
    assert_eq!((error.line, error.col), (9, 15));
    assert!(error.to_string().contains("has no method \"SayBye\""), "{error}");
}

#[test]
fn render_shows_the_source_line_and_a_caret() {
    let errors = defs::load_file(fixture("bad-trigger-type.yaml")).expect_err("bad trigger type");
    let rendered = errors.render();
    let lines: Vec<&str> = rendered.lines().collect();
    assert!(
        lines[0].ends_with(
            "bad-trigger-type.yaml:4:19: unknown trigger type `ftp`; expected http, grpc, traceid, kafka, graphql or \
             playwrightengine"
        ),
        "{rendered}"
    );
    assert_eq!(lines[1], " 4 |   trigger: {type: ftp}");
    assert_eq!(lines[2], "   |                   ^");
    assert!(matches!(errors.iter().next().map(|e| &e.kind), Some(ErrorKind::Invalid(_))));
}

#[test]
fn environment_names_are_substituted_before_parsing() {
    // SAFETY: this test binary sets this variable and nothing reads it concurrently.
    unsafe { std::env::set_var("TRACECHECK_SPEC_TEST_HOST", "example.test") };
    let errors = defs::load_file(fixture("env-host-extra-field.yaml")).expect_err("unknown field");
    assert_eq!(errors.len(), 1);
    let Ok(Loaded::Test(test)) = defs::load_file(fixture("env-host.yaml")) else { panic!("expected a test") };
    let Trigger::Http(http) = test.trigger else { panic!("expected http") };
    assert_eq!(http.url, "http://example.test/${var:P}");
}

#[test]
fn errors_in_step_and_body_files_name_those_files() {
    let paths = [fixture("errors-in-files/suite.yaml"), fixture("errors-in-files/other.yaml")];
    let errors = defs::validate_files(&paths).expect_err("three files with errors");
    let located: Vec<String> = errors
        .iter()
        .map(|error| {
            let file =
                error.path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            format!("{file}:{}:{}", error.line, error.col)
        })
        .collect();
    assert_eq!(
        located,
        ["suite.yaml:5:3", "body.json:2:20", "step.yaml:6:20", "other.yaml:2:42"],
        "{}",
        errors.render()
    );
}

#[test]
fn a_step_id_may_name_a_test_given_alongside() {
    let test_path = fixture("step-by-id-far/far-away.yaml");
    let suite_path = fixture("step-by-id/suite.yaml");
    assert!(defs::load_file(&suite_path).is_err(), "not in the suite's directory");
    let loaded =
        defs::validate_files(&[suite_path, test_path]).unwrap_or_else(|errors| panic!("{}", errors.render()));
    let Loaded::Suite(suite) = &loaded[0] else { panic!("suite") };
    assert_eq!(suite.steps[0].name, "far");
}

#[test]
fn loads_kafka_and_graphql_triggers_with_every_field() {
    let test = load_test("kafka.yaml");
    let Trigger::Kafka(kafka) = &test.trigger else { panic!("expected kafka trigger") };
    assert_eq!(kafka.broker_urls, ["${env:KAFKA_BROKER}", "localhost:9093"]);
    assert_eq!(kafka.topic, "users");
    assert_eq!(kafka.headers, [Header { key: "source".into(), value: "${var:SOURCE}".into() }]);
    assert_eq!((kafka.message_key.as_str(), kafka.message_value.as_str()), ("user-1", r#"{"id": 1}"#));
    assert!(kafka.ssl_verification);
    assert_eq!(
        kafka.authentication,
        Some(KafkaAuth {
            mechanism: SaslMechanism::Plain,
            username: "${var:USER}".into(),
            password: "secret".into()
        })
    );

    let test = load_test("graphql.yaml");
    let Trigger::Graphql(graphql) = &test.trigger else { panic!("expected graphql trigger") };
    assert_eq!(graphql.url, "${var:HOST}/graphql");
    assert_eq!(graphql.headers, [Header { key: "x-tenant".into(), value: "acme".into() }]);
    assert_eq!(graphql.auth, Some(Auth::Basic { username: "u".into(), password: "p".into() }));
    assert!(!graphql.ssl_verification);
    assert_eq!(graphql.schema, "type Query { user(id: ID!): User }");
    assert_eq!(
        graphql.body,
        GraphqlBody {
            query: "query GetUser($id: ID!) { user(id: $id) { name } }".into(),
            variables: vec![("id".into(), "1".into())],
            operation_name: "GetUser".into(),
        }
    );
    assert_eq!(
        graphql.body_json(),
        r#"{"operationName":"GetUser","query":"query GetUser($id: ID!) { user(id: $id) { name } }","variables":{"id":"1"}}"#
    );
}

/// Issue 13: a 10 MB YAML file took 550 MB to load. Definition files are capped at
/// `MAX_DEFINITION_FILE_SIZE`, with an error naming the file; a file at the limit loads.
#[test]
fn definition_files_larger_than_the_limit_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let limit = model::defaults::MAX_DEFINITION_FILE_SIZE as usize;
    let vars = "type: VariableSet\nspec:\n  name: v\n  values:\n    - key: A\n      value: x\n";
    let padded = |size: usize| format!("{vars}#{}\n", "x".repeat(size - vars.len() - 2));
    let at_limit = dir.path().join("at_limit.yaml");
    std::fs::write(&at_limit, padded(limit)).expect("write");
    assert!(matches!(defs::load_file(&at_limit), Ok(Loaded::VariableSet(_))));

    let big = dir.path().join("big.yaml");
    std::fs::write(&big, padded(limit + 1)).expect("write");
    let errors = defs::load_file(&big).expect_err("too big");
    let message = errors.iter().map(|error| error.to_string()).collect::<Vec<_>>().join("\n");
    assert!(message.contains("big.yaml"), "{message}");
    assert!(message.contains("larger than 1 MiB, the limit for a definition file"), "{message}");
    let validated = defs::validate_files(&[&at_limit, &big]).expect_err("one too big");
    assert_eq!(validated.iter().count(), 1);
}

/// Issue 10: `${1s}` in a test file is a duration interpolated as nanoseconds, not an
/// environment variable named `1s`, and a literal keeps its escapes for `json_path`.
#[test]
fn durations_and_escaped_json_survive_loading_and_evaluate() {
    use lang::{self, TraceView, Vars};
    use model::{Span, SpanId, Trace, TraceId};
    use std::sync::Arc;

    let Ok(Loaded::Test(test)) = defs::load_file(fixture("durations-and-escapes.yaml")) else {
        panic!("expected a test")
    };
    let trace_id = TraceId::random();
    let trace = Trace::new(trace_id, vec![Arc::new(Span::new(trace_id, SpanId::random(), "root"))]);
    let view = TraceView::new(&trace);
    let spec = &test.specs[0];
    let outcome = lang::evaluate_spec(&view, &spec.selector_tree, &spec.assertion_trees, &Vars::new());
    let observed: Vec<(&str, bool)> = outcome
        .assertions
        .iter()
        .map(|assertion| (assertion.results[0].observed.as_str(), assertion.passed))
        .collect();
    assert_eq!(
        observed,
        [("took 1000000000", true), ("1000001", true), ("this should \"work\"", true), ("it\\'s", true)],
        "{:?}",
        spec.assertions
    );
}

/// A Test file may use TraceQL wherever it uses a selector: the queries are parsed when the
/// file loads (a metrics query is refused there, with its line and column), and the specs
/// evaluate through the same `evaluate_spec` as Tracetest's selectors (issue 18).
#[test]
fn a_test_file_with_traceql_selectors_loads_and_evaluates() {
    let test = load_test("traceql.yaml");
    assert_eq!(test.specs.len(), 2);
    assert!(test.specs.iter().all(|spec| spec.selector_tree.traceql().is_some()));

    use model::{Span, SpanId, StatusCode, Trace, TraceId};
    let trace_id = TraceId([7; 16]);
    let span = |n: u8, name: &str| Span::new(trace_id, SpanId([n; 8]), name).with_times(u64::from(n), 100);
    let api = |span: Span| span.with_resource_attribute("service.name", "api");
    let spans = vec![
        api(span(1, "GET /cart")).with_attribute("http.status_code", 200i64),
        api(span(2, "cart").with_parent(SpanId([1; 8]))).with_attribute("http.status_code", 201i64),
        api(span(3, "redis GET").with_parent(SpanId([2; 8])))
            .with_attribute("db.system", "redis")
            .with_attribute("http.status_code", 204i64)
            .with_status(StatusCode::Error, "miss"),
    ];
    let trace = Trace::new(trace_id, spans.into_iter().map(std::sync::Arc::new).collect());
    let view = lang::TraceView::new(&trace);
    let outcomes: Vec<(bool, usize)> = test
        .specs
        .iter()
        .map(|spec| {
            let outcome =
                lang::evaluate_spec(&view, &spec.selector_tree, &spec.assertion_trees, &lang::Vars::new());
            (outcome.passed, outcome.matched_spans)
        })
        .collect();
    assert_eq!(outcomes, [(true, 1), (true, 3)]);

    let message =
        defs::load_file(fixture("traceql_bad.yaml")).expect_err("a metrics query loads").to_string();
    assert!(message.contains("traceql_bad.yaml:9:"), "{message}");
    assert!(message.contains("TraceQL metrics are not supported here"), "{message}");
}

/// A file with thousands of errors reports the first hundred and says more follow, each
/// with its own position (found from a line index, not a scan of the file per error).
#[test]
fn a_file_of_many_errors_reports_the_first_hundred() {
    let mut yaml = String::from("type: Test\nspec:\n  id: many\n  name: many\n  trigger:\n    type: http\n    httpRequest:\n      url: x\n  specs:\n");
    for n in 0..5_000 {
        yaml.push_str(&format!("  - selector: span[name=\"x\"]\n    unknown{n}: 1\n"));
    }
    let errors = errors_of(&yaml);
    assert_eq!(errors.len(), 101, "{:?}", &errors[..3.min(errors.len())]);
    assert!(errors[0].starts_with("11:5: unknown field `unknown0`"), "{}", errors[0]);
    assert!(errors[99].starts_with("209:5: unknown field `unknown99`"), "{}", errors[99]);
    assert!(errors[100].contains("at most 100 are shown per file"), "{}", errors[100]);
}
