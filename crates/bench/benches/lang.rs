//! The languages' cost per judged trace: 10 specs of 3 assertions each over a trace of
//! 1,000 spans (issue 3's target: under 1 ms per run), with the view built once per trace
//! as the runner does, and the view build on its own. TraceQL: parsing a typical query
//! (target under 50 us) and selecting with it over a trace of 10,000 spans (target under
//! 10 ms).
//!
//! `cargo bench --bench lang` (`-- traceql` for TraceQL's alone)

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, Criterion};
use lang::{evaluate_output, evaluate_spec, Assertion, Expr, Selector, TraceView, Vars};
use model::{Span, SpanId, SpanKind, StatusCode, Trace, TraceId};

const SPECS: [(&str, [&str; 3]); 10] = [
    (
        r#"span[tracetest.span.type="http"]"#,
        [
            "attr:http.status_code < 500",
            "attr:tracetest.span.duration < 1s",
            r#"attr:http.method != "DELETE""#,
        ],
    ),
    (
        r#"span[tracetest.span.type="database"]"#,
        [
            r#"attr:db.system = "postgres""#,
            r#"attr:db.statement contains "SELECT""#,
            "attr:tracetest.span.duration < 100ms",
        ],
    ),
    (
        r#"span[tracetest.span.type="general" name="Tracetest trigger"]"#,
        [
            "attr:tracetest.response.status = 201",
            "attr:tracetest.response.body | json_path '$.id' = var:USER_ID",
            r#"attr:tracetest.response.body contains '{"name": "Ada"}'"#,
        ],
    ),
    (
        r#"span[kind="server" http.route="/users/:id"]"#,
        [
            "attr:http.status_code = 200",
            r#"attr:http.route = "/users/:id""#,
            "attr:tracetest.span.duration <= 50ms",
        ],
    ),
    (
        r#"span[tracetest.span.type="messaging"]:first"#,
        [
            r#"attr:messaging.system = "kafka""#,
            "attr:messaging.destination.name contains 'orders'",
            "attr:name | length > 3",
        ],
    ),
    (
        r#"span[name="GET /users/:id"] span[tracetest.span.type="database"]"#,
        [
            "attr:tracetest.selected_spans.count >= 1",
            "attr:db.system != 'mysql'",
            "attr:tracetest.span.duration < 1s",
        ],
    ),
    (
        r#"span[service.name="inventory"]:last"#,
        [
            "attr:service.name = 'inventory'",
            "attr:tracetest.span.status_code != 'STATUS_CODE_ERROR'",
            "attr:name contains 'stock'",
        ],
    ),
    (
        r#"span[name="does not exist"]"#,
        [
            "attr:tracetest.selected_spans.count = 0",
            "attr:tracetest.selected_spans.count < 1",
            "attr:tracetest.selected_spans.count != 5",
        ],
    ),
    (
        r#"span[name="SELECT users"], span[name="SELECT stock"]"#,
        [
            r#"attr:db.system = "postgres""#,
            r#"attr:db.statement contains "WHERE""#,
            "attr:tracetest.selected_spans.count = 222",
        ],
    ),
    (
        r#"span[name contains "cache"]"#,
        [
            r#"attr:cache.hit = "true""#,
            "attr:cache.key | regex_group 'user:(\\d+)' = attr:user.id",
            "attr:tracetest.span.duration < 5ms",
        ],
    ),
];

/// A trigger span and 111 requests of 9 spans each (1,000 spans): an HTTP server span
/// with a database query, a cache lookup, an inventory call (client and server with its
/// own query and an internal step) and a Kafka publish and consume.
fn trace() -> Trace {
    trace_of_requests(111)
}

/// The trigger span and `n_requests` requests of 9 spans each, as [`trace`].
fn trace_of_requests(n_requests: u64) -> Trace {
    let trace_id = TraceId([3; 16]);
    let mut next_id = 0u64;
    let mut new_id = || {
        next_id += 1;
        SpanId(next_id.to_be_bytes())
    };
    let base = 1_700_000_000_000_000_000u64;
    let ms = 1_000_000u64;
    let trigger_id = new_id();
    let mut spans = vec![Span::new(trace_id, trigger_id, "Tracetest trigger")
        .with_times(base, base + 900 * ms)
        .with_attribute("tracetest.response.status", "201")
        .with_attribute("tracetest.response.body", r#"{"id": 42, "name": "Ada", "email": "ada@example.com"}"#)
        .with_attribute(
            "tracetest.response.headers",
            r#"[{"key":"Content-Type","value":"application/json"}]"#,
        )
        .with_resource_attribute("service.name", "tracetest")];
    for request in 0..n_requests {
        let start = base + request * 7 * ms;
        let server = new_id();
        spans.push(
            Span::new(trace_id, server, "GET /users/:id")
                .with_parent(trigger_id)
                .with_kind(SpanKind::Server)
                .with_times(start, start + 6 * ms)
                .with_attribute("http.method", "GET")
                .with_attribute("http.route", "/users/:id")
                .with_attribute("http.status_code", 200i64)
                .with_attribute("user.id", request as i64)
                .with_resource_attribute("service.name", "users"),
        );
        let child = |id: SpanId, parent: SpanId, name: &str, offset: u64, length: u64| {
            Span::new(trace_id, id, name)
                .with_parent(parent)
                .with_times(start + offset, start + offset + length)
        };
        spans.push(
            child(new_id(), server, "SELECT users", 10, ms)
                .with_kind(SpanKind::Client)
                .with_attribute("db.system", "postgres")
                .with_attribute("db.statement", "SELECT * FROM users WHERE id = $1")
                .with_resource_attribute("service.name", "users"),
        );
        spans.push(
            child(new_id(), server, "cache get", 20, ms / 2)
                .with_attribute("cache.hit", "true")
                .with_attribute("cache.key", format!("user:{request}").as_str())
                .with_attribute("user.id", request as i64)
                .with_resource_attribute("service.name", "users"),
        );
        let client = new_id();
        spans.push(
            child(client, server, "GET /stock", 30, 3 * ms)
                .with_kind(SpanKind::Client)
                .with_attribute("http.method", "GET")
                .with_attribute("http.status_code", 200i64)
                .with_resource_attribute("service.name", "users"),
        );
        let stock = new_id();
        spans.push(
            child(stock, client, "GET /stock/:sku", 40, 2 * ms)
                .with_kind(SpanKind::Server)
                .with_attribute("http.method", "GET")
                .with_attribute("http.route", "/stock/:sku")
                .with_attribute("http.status_code", 200i64)
                .with_resource_attribute("service.name", "inventory"),
        );
        spans.push(
            child(new_id(), stock, "SELECT stock", 50, ms)
                .with_kind(SpanKind::Client)
                .with_attribute("db.system", "postgres")
                .with_attribute("db.statement", "SELECT count FROM stock WHERE sku = $1")
                .with_resource_attribute("service.name", "inventory"),
        );
        spans.push(
            child(new_id(), stock, "compute stock", 60, ms / 4)
                .with_status(StatusCode::Ok, "")
                .with_resource_attribute("service.name", "inventory"),
        );
        let producer = new_id();
        spans.push(
            child(producer, server, "orders publish", 70, ms / 10)
                .with_kind(SpanKind::Producer)
                .with_attribute("messaging.system", "kafka")
                .with_attribute("messaging.destination.name", "orders")
                .with_resource_attribute("service.name", "users"),
        );
        spans.push(
            child(new_id(), producer, "orders process", 80, ms)
                .with_kind(SpanKind::Consumer)
                .with_attribute("messaging.system", "kafka")
                .with_attribute("messaging.destination.name", "orders")
                .with_resource_attribute("service.name", "billing"),
        );
    }
    // Arrival order is not tree order: reverse it so the view has to sort.
    spans.reverse();
    Trace::new(trace_id, spans.into_iter().map(Arc::new).collect())
}

fn bench(c: &mut Criterion) {
    let trace = trace();
    assert_eq!(trace.spans.len(), 1_000);
    let specs: Vec<(Selector, Vec<Assertion>)> = SPECS
        .iter()
        .map(|(selector, assertions)| {
            let assertions = assertions
                .iter()
                .map(|line| Assertion::parse(line).expect("bench assertion parses"))
                .collect();
            (Selector::parse(selector).expect("bench selector parses"), assertions)
        })
        .collect();
    let output = (
        Selector::parse(r#"span[name="Tracetest trigger"]"#).unwrap(),
        Expr::parse("attr:tracetest.response.body | json_path '$.id'").unwrap(),
    );
    let vars: Vars = [("USER_ID", "42")].into_iter().collect();

    // The specs must pass on this trace, so the bench measures the ordinary path.
    let view = TraceView::new(&trace);
    for (selector, assertions) in &specs {
        let outcome = evaluate_spec(&view, selector, assertions, &vars);
        assert!(outcome.passed, "{selector}: {outcome:?}");
    }

    let mut group = c.benchmark_group("lang");
    group.bench_function("view_build_1000_spans", |b| {
        b.iter(|| black_box(TraceView::new(black_box(&trace))).len())
    });
    group.bench_function("10_specs_x_3_assertions_1000_spans", |b| {
        b.iter(|| {
            let view = black_box(&view);
            specs
                .iter()
                .map(|(selector, assertions)| evaluate_spec(view, selector, assertions, &vars).matched_spans)
                .sum::<usize>()
        })
    });
    group.bench_function("view_build_plus_10_specs_plus_output", |b| {
        b.iter(|| {
            let view = TraceView::new(black_box(&trace));
            let value = evaluate_output(&view, &output.0, &output.1, &vars).value;
            let matched: usize = specs
                .iter()
                .map(|(selector, assertions)| evaluate_spec(&view, selector, assertions, &vars).matched_spans)
                .sum();
            (value, matched)
        })
    });
    group.bench_function("parse_10_specs", |b| {
        b.iter(|| {
            SPECS
                .iter()
                .map(|(selector, assertions)| {
                    let parsed = Selector::parse(selector).map(|_| 1).unwrap_or(0);
                    parsed + assertions.iter().filter(|line| Assertion::parse(line).is_ok()).count()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

/// A typical TraceQL selector: a filter on two scopes, a structural operator, an
/// aggregate.
const TRACEQL_TYPICAL: &str = r#"{ resource.service.name = "users" && span.http.status_code >= 200 } >> { span.db.system = "postgres" && duration > 500us } | count() > 2"#;

/// TraceQL selectors over 10,000 spans, by what they exercise.
const TRACEQL_QUERIES: [(&str, &str); 6] = [
    ("filter", r#"{ span.http.route = "/users/:id" && kind = server }"#),
    (
        "regex_and_meta",
        r#"{ span.tracetest.span.type = "database" && span.db.statement =~ "SELECT.*WHERE.*" }"#,
    ),
    ("descendant", TRACEQL_TYPICAL),
    ("trace_and_sibling", r#"{ name = "cache get" } ~ { kind = client } && { status = ok }"#),
    ("negated_parent", r#"{ } !< { resource.service.name = "inventory" }"#),
    ("by_and_avg", r#"{ kind = client } | by(resource.service.name) | avg(duration) > 1ms"#),
];

fn bench_traceql(c: &mut Criterion) {
    let trace = trace_of_requests(1_111);
    assert_eq!(trace.spans.len(), 10_000);
    let view = TraceView::new(&trace);
    let mut group = c.benchmark_group("traceql");
    group.bench_function("parse_typical", |b| b.iter(|| Selector::parse(black_box(TRACEQL_TYPICAL)).is_ok()));
    for (name, query) in TRACEQL_QUERIES {
        let selector = Selector::parse(query).expect("bench query parses");
        // Every query selects something, so the bench measures a real answer.
        assert!(!selector.select(&view).is_empty(), "{query} selects nothing");
        group.bench_function(format!("select_10000_spans/{name}"), |b| {
            b.iter(|| selector.select(black_box(&view)).len())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = bench, bench_traceql
}

/// This thread's CPU time in nanoseconds (`/proc/thread-self/schedstat`, Linux only):
/// unlike wall time, it does not count the time other processes held the CPU, which on a
/// shared machine is most of the noise.
fn thread_cpu_nanos() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

/// The headline figure once more, as CPU time per run, printed beside criterion's wall
/// time.
fn cpu_time_report() {
    let trace = trace();
    let specs: Vec<(Selector, Vec<Assertion>)> = SPECS
        .iter()
        .map(|(selector, assertions)| {
            (
                Selector::parse(selector).unwrap(),
                assertions.iter().map(|line| Assertion::parse(line).unwrap()).collect(),
            )
        })
        .collect();
    let vars: Vars = [("USER_ID", "42")].into_iter().collect();
    let view = TraceView::new(&trace);
    let n_runs = 2_000u32;
    let run = || {
        specs
            .iter()
            .map(|(selector, assertions)| evaluate_spec(&view, selector, assertions, &vars).matched_spans)
            .sum::<usize>()
    };
    for _ in 0..100 {
        black_box(run());
    }
    let (Some(cpu_start), wall_start) = (thread_cpu_nanos(), std::time::Instant::now()) else {
        return;
    };
    for _ in 0..n_runs {
        black_box(run());
    }
    let wall = wall_start.elapsed() / n_runs;
    if let Some(cpu_end) = thread_cpu_nanos() {
        let cpu = std::time::Duration::from_nanos((cpu_end - cpu_start) / u64::from(n_runs));
        println!("lang/10_specs_x_3_assertions_1000_spans cpu time per run: {cpu:?} (wall {wall:?}, {n_runs} runs)");
    }
}

fn main() {
    cpu_time_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
