//! The field's query interfaces over the store, so that the tools people already have can
//! read it: Jaeger's HTTP JSON API and api_v3 ([`jaeger`]), Grafana Tempo's HTTP API
//! ([`tempo`]) and MCP for agents ([`mcp`]). Tempo's search and MCP's share one search
//! ([`search`]): their filters compile to a TraceQL query run over the newest traces.
//!
//! Each API is a router answering at its own root path (`/api/traces/{id}`, ...);
//! [`crate::routes`] mounts it under a prefix on the HTTP port (`/jaeger`, `/tempo`, `/mcp`)
//! and at the root of its own listener (`--jaeger-addr`, `--tempo-addr`), behind the same
//! bearer layer as every other route. Every trace-by-ID read goes through [`read_trace`],
//! which takes the completeness wait (`?wait=30s`) that none of the originals has. The
//! shapes each API answers with are `wire` types (`wire::jaeger`, `wire::tempo`): this
//! module only parses requests, reads the store and picks the status.

pub mod jaeger;
pub mod mcp;
mod read;
pub mod search;
pub mod tempo;

pub(crate) use read::Reader;
pub use read::{read_part, read_trace, PartRead, TraceRead, Wait};

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::Serialize;

use crate::error::EdgeError;
use crate::Handles;

/// `value` as a JSON response body, written straight to bytes.
pub(crate) fn json<T: Serialize>(value: &T) -> Result<Response, EdgeError> {
    let bytes = serde_json::to_vec(value).map_err(|error| EdgeError::Internal(error.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// Runs `work` on the blocking pool: decoding, searching and encoding traces never stall
/// the receivers that share the runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, EdgeError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| EdgeError::Internal(error.to_string()))
}

/// Every query API under its prefix, for the HTTP port.
pub(crate) fn router(handles: &Handles) -> Router {
    use model::defaults::{JAEGER_PREFIX, MCP_PATH, TEMPO_PREFIX};
    Router::new()
        .nest(JAEGER_PREFIX, jaeger::router(handles))
        .nest(TEMPO_PREFIX, tempo::router(handles))
        .merge(mcp::router(handles, MCP_PATH))
}
