//! The demo "users" API: an axum HTTP service instrumented with the OpenTelemetry Rust SDK,
//! exporting spans over OTLP/gRPC and continuing the caller's W3C trace context.
//!
//! `POST /users` validates the body (a `validate user` span) and inserts it (an `INSERT users`
//! database span); `GET /users/{id}` reads it back (a `SELECT users` span). Shared by the
//! `demo` example and the integration tests (`#[path]`-included), so both run the same app.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{FutureExt, Span as _, SpanKind, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider};
use serde_json::{json, Value};

/// A running demo service. `shutdown` flushes its spans and stops it.
pub struct DemoService {
    pub addr: SocketAddr,
    pub provider: SdkTracerProvider,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl DemoService {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        let provider = self.provider.clone();
        // The SDK's shutdown blocks while it flushes; keep it off the async workers.
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
}

#[derive(Clone)]
struct App {
    tracer: Arc<SdkTracer>,
    users: Arc<Mutex<HashMap<u64, Value>>>,
    next_id: Arc<Mutex<u64>>,
}

/// The tracer provider exporting to `otlp_grpc_endpoint` (e.g. `http://127.0.0.1:4317`).
/// A short batch delay keeps the demo snappy; real apps keep the SDK's 5 s default.
pub fn tracer_provider(otlp_grpc_endpoint: &str, service_name: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter =
        opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(otlp_grpc_endpoint).build()?;
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default().with_scheduled_delay(Duration::from_millis(100)).build(),
        )
        .build();
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name.to_string())
        .with_attributes([KeyValue::new("deployment.environment.name", "demo")])
        .build();
    Ok(SdkTracerProvider::builder().with_span_processor(processor).with_resource(resource).build())
}

/// Starts the users API on `127.0.0.1:0`, exporting spans to `otlp_grpc_endpoint`.
pub async fn start(otlp_grpc_endpoint: &str) -> anyhow::Result<DemoService> {
    let provider = tracer_provider(otlp_grpc_endpoint, "users-api")?;
    let app = App {
        tracer: Arc::new(provider.tracer("users-api")),
        users: Arc::default(),
        next_id: Arc::new(Mutex::new(1)),
    };
    let router =
        Router::new().route("/users", post(create_user)).route("/users/{id}", get(get_user)).with_state(app);
    // A backlog of 1,024 as servers take in production (Go's takes the kernel's somaxconn):
    // tokio's `bind` takes 128, and a load test's first wave of 200 connections overflowed it
    // while the process was busy (the kernel drops the SYNs past it).
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let listener = socket.listen(1024)?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(DemoService { addr, provider, stop: Some(stop), task })
}

/// Reads W3C trace context from HTTP headers.
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|key| key.as_str()).collect()
    }
}

/// The server span for one request, continuing the caller's `traceparent`.
fn server_span(app: &App, headers: &HeaderMap, method: &str, route: &str, path: &str) -> Context {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    let span = app
        .tracer
        .span_builder(format!("{method} {route}"))
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", method.to_string()),
            KeyValue::new("http.route", route.to_string()),
            KeyValue::new("url.path", path.to_string()),
            KeyValue::new("url.scheme", "http"),
            KeyValue::new("server.address", "localhost"),
        ])
        .start_with_context(&*app.tracer, &parent);
    parent.with_span(span)
}

/// A client-side database span around `work`.
async fn db_call<T>(
    app: &App,
    cx: &Context,
    operation: &str,
    statement: &str,
    work: impl FnOnce() -> T,
) -> T {
    let mut span = app
        .tracer
        .span_builder(format!("{operation} users"))
        .with_kind(SpanKind::Client)
        .with_attributes([
            // Current semantic conventions only; the analyzer accepts them (COMPATIBILITY.md).
            KeyValue::new("db.system.name", "sqlite"),
            KeyValue::new("db.operation.name", operation.to_string()),
            KeyValue::new("db.collection.name", "users"),
            KeyValue::new("db.query.text", statement.to_string()),
        ])
        .start_with_context(&*app.tracer, cx);
    // Stands in for the round trip to a database.
    tokio::time::sleep(Duration::from_millis(2)).await;
    let result = work();
    span.end();
    result
}

async fn create_user(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let cx = server_span(&app, &headers, "POST", "/users", "/users");
    let result = async {
        let mut validate = app.tracer.start_with_context("validate user", &cx);
        let name = body.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let email = body.get("email").and_then(Value::as_str).unwrap_or_default().to_string();
        let valid = !name.is_empty() && email.contains('@');
        validate.set_attribute(KeyValue::new("validation.passed", valid));
        validate.end();
        if !valid {
            return (StatusCode::BAD_REQUEST, Json(json!({"error": "name and a valid email are required"})));
        }
        let id = {
            let mut next_id = app.next_id.lock().unwrap();
            let id = *next_id;
            *next_id += 1;
            id
        };
        let user = json!({"id": id, "name": name, "email": email});
        db_call(&app, &cx, "INSERT", "INSERT INTO users (id, name, email) VALUES (?, ?, ?)", || {
            app.users.lock().unwrap().insert(id, user.clone());
        })
        .await;
        (StatusCode::CREATED, Json(user))
    }
    .with_context(cx.clone())
    .await;
    finish(&cx, result.0);
    result
}

async fn get_user(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> (StatusCode, Json<Value>) {
    let cx = server_span(&app, &headers, "GET", "/users/{id}", &format!("/users/{id}"));
    let user = db_call(&app, &cx, "SELECT", "SELECT id, name, email FROM users WHERE id = ?", || {
        app.users.lock().unwrap().get(&id).cloned()
    })
    .await;
    let result = match user {
        Some(user) => (StatusCode::OK, Json(user)),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "no such user"}))),
    };
    finish(&cx, result.0);
    result
}

/// Records the response status on the server span and ends it.
fn finish(cx: &Context, status: StatusCode) {
    let span = cx.span();
    span.set_attribute(KeyValue::new("http.response.status_code", i64::from(status.as_u16())));
    if status.is_server_error() {
        span.set_status(opentelemetry::trace::Status::error("server error"));
    }
    span.end();
}
