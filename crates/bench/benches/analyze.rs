//! Analyzer speed: lint a 1,000-span trace with the default `Analyzer` configuration.
//! Target (issue 5): under 1 ms. Run with `cargo bench --bench analyze`.
//!
//! The trace mimics a microservice request fan-out: the trigger span, then per request an
//! HTTP server span with HTTP client, database (SQL and redis), gRPC, messaging and
//! internal spans below it, across five services with realistic resources; about one span
//! in ten has a problem (IP endpoint, plain http, missing attribute, bad name).

use std::hint::black_box;
use std::sync::Arc;

use analyze::{analyze, AnalyzerConfig};
use criterion::{criterion_group, Criterion};
use model::{
    KeyValue, Resource, Scope, Span, SpanId, SpanKind, StatusCode, Trace, TraceId, TRIGGER_SPAN_NAME,
};

fn resource(service: &str) -> Arc<Resource> {
    Arc::new(Resource {
        attributes: vec![
            KeyValue::new("service.name", service),
            KeyValue::new("service.version", "1.4.2"),
            KeyValue::new("deployment.environment", "ci"),
            KeyValue::new("host.name", "worker-7"),
            KeyValue::new("telemetry.sdk.language", "rust"),
            KeyValue::new("telemetry.sdk.name", "opentelemetry"),
            KeyValue::new("telemetry.sdk.version", "0.31.0"),
        ]
        .into(),
    })
}

fn scope(name: &str) -> Arc<Scope> {
    Arc::new(Scope { name: name.into(), version: "0.1.0".into(), attributes: Box::new([]) })
}

struct Builder {
    trace_id: TraceId,
    spans: Vec<Arc<Span>>,
    next_id: u64,
    clock: u64,
}

impl Builder {
    fn span(
        &mut self,
        parent: SpanId,
        name: &str,
        kind: SpanKind,
        attributes: Vec<KeyValue>,
        service: usize,
    ) -> SpanId {
        self.next_id += 1;
        self.clock += 1_000;
        let span_id = SpanId(self.next_id.to_be_bytes());
        let mut span = Span::new(self.trace_id, span_id, name)
            .with_parent(parent)
            .with_kind(kind)
            .with_times(self.clock, self.clock + 50_000)
            .with_status(StatusCode::Unset, "");
        span.attributes = attributes.into();
        span.resource = RESOURCES.with(|resources| resources[service].clone());
        span.scope = SCOPES.with(|scopes| scopes[service].clone());
        self.spans.push(Arc::new(span));
        span_id
    }
}

thread_local! {
    static RESOURCES: Vec<Arc<Resource>> =
        ["frontend", "users", "orders", "payments", "mailer"].iter().map(|s| resource(s)).collect();
    static SCOPES: Vec<Arc<Scope>> =
        ["axum", "reqwest", "sqlx", "tonic", "rdkafka"].iter().map(|s| scope(s)).collect();
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue::new(key, value)
}

fn thousand_span_trace() -> Trace {
    let trace_id = TraceId([0x42; 16]);
    let mut builder = Builder { trace_id, spans: Vec::new(), next_id: 0, clock: 1_700_000_000_000_000_000 };
    let trigger = {
        builder.next_id += 1;
        let id = SpanId(builder.next_id.to_be_bytes());
        let span = Span::new(trace_id, id, TRIGGER_SPAN_NAME)
            .with_times(builder.clock, builder.clock + 90_000_000)
            .with_resource_attribute("service.name", "tracetest")
            .with_attribute("tracetest.response.status", 200i64)
            .with_attribute("tracetest.response.body", r#"{"id":42,"name":"Ada"}"#)
            .with_attribute(
                "tracetest.response.headers",
                r#"[{"key":"Content-Type","value":"application/json"}]"#,
            );
        builder.spans.push(Arc::new(span));
        id
    };
    let mut request = 0;
    while builder.spans.len() < 1_000 {
        request += 1;
        let flawed = request % 10 == 0;
        let scheme = if flawed { "http" } else { "https" };
        let server = builder.span(
            trigger,
            "POST /orders",
            SpanKind::Server,
            vec![
                kv("http.method", "POST"),
                kv("http.route", "/orders"),
                kv("http.target", "/orders?x=1"),
                kv("http.scheme", scheme),
                kv("net.host.name", "orders.example.com"),
                kv("http.url", "https://orders.example.com/orders?x=1"),
                KeyValue::new("http.status_code", 201i64),
                kv("http.user_agent", "curl/8.5.0"),
            ],
            2,
        );
        builder.span(server, "validate order", SpanKind::Internal, vec![kv("order.items", "3")], 2);
        builder.span(
            server,
            "POST",
            SpanKind::Client,
            vec![
                kv("http.method", "POST"),
                kv(
                    "http.url",
                    if flawed {
                        "http://10.0.3.7:8080/charge"
                    } else {
                        "https://payments.example.com/charge"
                    },
                ),
                kv("net.peer.name", if flawed { "10.0.3.7" } else { "payments.example.com" }),
                kv("http.scheme", "https"),
                KeyValue::new("http.status_code", 200i64),
            ],
            1,
        );
        builder.span(
            server,
            "INSERT shop.orders",
            SpanKind::Client,
            vec![
                kv("db.system", "postgresql"),
                kv("db.operation", "INSERT"),
                kv("db.name", "shop"),
                kv("db.sql.table", "orders"),
                kv("db.statement", "INSERT INTO orders (id, user_id) VALUES ($1, $2)"),
                kv("net.peer.name", "db.example.com"),
            ],
            2,
        );
        builder.span(
            server,
            "GET",
            SpanKind::Client,
            vec![
                kv("db.system", "redis"),
                kv("db.statement", "GET user:42"),
                kv("net.peer.name", "cache.example.com"),
            ],
            2,
        );
        builder.span(
            server,
            if flawed { "GetUser" } else { "users.Users/GetUser" },
            SpanKind::Client,
            vec![
                kv("rpc.system", "grpc"),
                kv("rpc.service", "users.Users"),
                kv("rpc.method", "GetUser"),
                KeyValue::new("rpc.grpc.status_code", 0i64),
                kv("net.peer.name", "users.example.com"),
            ],
            3,
        );
        builder.span(
            server,
            "order-events publish",
            SpanKind::Producer,
            vec![
                kv("messaging.system", "kafka"),
                kv("messaging.destination", "order-events"),
                kv("messaging.operation", "publish"),
                kv("messaging.message_id", "m-1"),
            ],
            4,
        );
        builder.span(
            server,
            "SELECT users",
            SpanKind::Client,
            vec![
                kv("db.system.name", "postgresql"),
                kv("db.operation.name", "SELECT"),
                kv("db.collection.name", "users"),
                kv("db.query.text", "SELECT * FROM users WHERE id = $1"),
                kv("server.address", "db.example.com"),
            ],
            1,
        );
        builder.span(
            server,
            "GET",
            SpanKind::Client,
            vec![
                kv("http.request.method", "GET"),
                kv("url.full", "https://mailer.example.com/templates/7"),
                kv("server.address", "mailer.example.com"),
                KeyValue::new("http.response.status_code", 200i64),
            ],
            4,
        );
        builder.span(server, "render receipt", SpanKind::Internal, vec![kv("receipt.format", "html")], 4);
    }
    builder.spans.truncate(1_000);
    Trace::new(trace_id, builder.spans)
}

fn bench(c: &mut Criterion) {
    let trace = thousand_span_trace();
    assert_eq!(trace.spans.len(), 1_000);
    let config = AnalyzerConfig::default();
    let result = analyze(&trace, &config);
    assert!(
        result.score < 100 && result.score > 0,
        "the bench trace should have some findings: {}",
        result.score
    );
    c.bench_function("analyze 1000-span trace (default config)", |b| {
        b.iter(|| analyze(black_box(&trace), black_box(&config)))
    });
}

criterion_group!(benches, bench);

/// `ANALYZE_ITERATIONS=N` runs the analysis N times without criterion and prints the best
/// time per call: with `perf stat -e instructions:u` it gives a count that a loaded machine
/// does not skew.
fn main() {
    if let Some(n_iterations) = std::env::var("ANALYZE_ITERATIONS").ok().and_then(|n| n.parse::<u32>().ok()) {
        let trace = thousand_span_trace();
        let config = AnalyzerConfig::default();
        let mut best = std::time::Duration::MAX;
        for _ in 0..n_iterations {
            let started = std::time::Instant::now();
            black_box(analyze(black_box(&trace), black_box(&config)));
            best = best.min(started.elapsed());
        }
        println!("best of {n_iterations}: {best:?}");
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
