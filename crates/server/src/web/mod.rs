//! The web UI and its JSON API, served on the OTLP/HTTP port beside `POST /v1/traces`.
//!
//! - `/`: the single-page UI (the `ui` crate's page, embedded in the binary).
//! - `/api/v1/traces`, `/api/v1/traces/{id}`, `/api/v1/traces/{id}/select`,
//!   `/api/v1/traces/{id}/analysis`, `/api/v1/diff`, `/api/v1/runs`, `/api/v1/runs/{id}`,
//!   `/api/v1/events` (server-sent events): see README's "Web UI and JSON API".
//!
//! Answers are gzipped when the request accepts it (`Accept-Encoding: gzip`), the event
//! stream excepted.
//!
//! Every route, page and asset alike, is behind the server's `--auth-token`, which the
//! server's bearer layer checks ([`crate::auth`]): a request carries `Authorization: Bearer T`,
//! or the cookie that visiting `/?token=T` sets ([`login`]). Selectors are parsed and matched
//! by [`lang`], so what the UI highlights is what a spec selects. Errors are
//! [`crate::error::EdgeError`]s; the recorded runs are [`crate::runs`]'. Every body is a
//! `wire` type serialized straight to bytes.

mod api;
mod events;
mod login;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::compression::{CompressionLayer, CompressionLevel};

pub(crate) use login::with_login;

use std::sync::Arc;

use crate::reads::ReadBudget;
use crate::runs::RunStore;
use crate::telemetry::Telemetry;
use crate::Handles;
use store::TraceStore;

#[derive(Clone)]
struct Web {
    store: TraceStore,
    reads: ReadBudget,
    runs: RunStore,
    telemetry: Telemetry,
    /// One permit per live event stream.
    streams: Arc<tokio::sync::Semaphore>,
}

/// The UI and API routes over the store and the recorded runs, reading within the read
/// budget and counting refusals in the telemetry (the server puts its bearer layer and
/// [`with_login`] in front of them).
pub fn router(handles: &Handles) -> Router {
    let streams = Arc::new(tokio::sync::Semaphore::new(model::defaults::MAX_EVENT_STREAMS));
    let web = Web {
        store: handles.store.clone(),
        reads: handles.reads.clone(),
        runs: handles.runs.clone(),
        telemetry: handles.telemetry.clone(),
        streams,
    };
    Router::new()
        .route("/", get(index))
        .route("/api/v1/traces", get(api::list_traces))
        .route("/api/v1/traces/{trace_id}", get(api::get_trace))
        .route("/api/v1/traces/{trace_id}/select", get(api::select))
        .route("/api/v1/traces/{trace_id}/analysis", get(api::analysis))
        .route("/api/v1/diff", get(api::diff))
        .route("/api/v1/runs", get(api::list_runs))
        .route("/api/v1/runs/{run_id}", get(api::get_run))
        .route("/api/v1/events", get(events::stream))
        .with_state(web)
        // Gzip for whoever asks (every browser): a 10,000-span trace is 17.7 MB of JSON
        // (1.5 MB gzipped) and the page 100 KB. The fastest level: over loopback even it
        // costs about what it saves (BENCHMARKS.md, issue 21); a slower one would cost more. The event stream is left alone (the default predicate spares
        // `text/event-stream`, whose events must not wait in a compressor's buffer).
        .layer(CompressionLayer::new().gzip(true).quality(CompressionLevel::Fastest))
}

/// Whether the web serves `path` (its page and API; not OTLP's or `/metrics`).
fn serves(path: &str) -> bool {
    path == "/" || path.starts_with("/api/")
}

/// The page, built once, and the headers that confine it: a Content-Security-Policy that
/// runs only the page's own inline script and style (by hash), connects only to this
/// server and may not be framed; no MIME sniffing; no referrer (URLs carry trace IDs).
async fn index() -> Response {
    static PAGE: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (page, policy) = PAGE.get_or_init(|| {
        let page = ui::page(&ui::Mode::Server);
        let policy = content_security_policy(&page);
        (page, policy)
    });
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, policy.as_str()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        page.clone(),
    )
        .into_response()
}

/// The policy for `page`: the SHA-256 of each inline `<script>` and `<style>` element's
/// text (the JSON data block is not run, so it needs none).
fn content_security_policy(page: &str) -> String {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let hashes = |open: &str, close: &str| -> String {
        let mut out = String::new();
        let mut rest = page;
        while let Some(start) = rest.find(open) {
            let body = &rest[start + open.len()..];
            let Some(end) = body.find(close) else { break };
            let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&body[..end]));
            out.push_str(&format!(" 'sha256-{digest}'"));
            rest = &body[end..];
        }
        out
    };
    format!(
        "default-src 'none'; script-src{}; style-src{}; img-src 'self' data:; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hashes("<script>", "</script>"),
        hashes("<style>", "</style>")
    )
}
