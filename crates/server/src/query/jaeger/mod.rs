//! Jaeger's HTTP JSON API (what the Jaeger UI and Grafana's Jaeger data source call) and
//! its api_v3 over HTTP, at the root path: `/api/traces/{id}`, `/api/services`, ...,
//! `/api/v3/...`.
//!
//! - `v1.rs`: the HTTP JSON API in Jaeger's `{"data", "total", "limit", "offset", "errors"}`
//!   envelope.
//! - `v3.rs`: api_v3's HTTP gateway (`{"result": TracesData}` as OTLP JSON).
//! - `search.rs`: the one search both answer from (the store's digests pick the traces
//!   that may match, and only those are decoded and checked span by span, as Jaeger's
//!   memory store checks), and the dependency links.
//! - `params.rs`: Jaeger's parameter forms (trace IDs, Go durations, tags).
//! - `grpc.rs`: api_v3's gRPC `QueryService`, on the gRPC port beside OTLP.
//!
//! Every failure is an [`EdgeError`], whose status is the one mapping's; only the body
//! takes Jaeger's form ([`V1Error`], [`V3Error`]).

pub mod grpc;
mod params;
mod search;
mod v1;
mod v3;

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::error::EdgeError;
use crate::Handles;

pub use search::Search;

/// `GET /api/traces`'s query string (without `?`) as the search it asks for, checked as the
/// route checks it; `traceID=` lookups aside. For the fuzz target (`fuzz/`), which feeds the
/// routes' parameter parsing without a server.
///
/// # Errors
/// What the route answers 400 with.
pub fn v1_search_params(raw: Option<&str>) -> Result<Search, EdgeError> {
    v1::v1_search(&params::Params::parse(raw)?)
}

/// `GET /api/v3/traces`'s query string (`query.*`) as its search, as [`v1_search_params`].
///
/// # Errors
/// What the route answers 400 with.
pub fn v3_search_params(raw: Option<&str>) -> Result<Search, EdgeError> {
    v3::v3_search(&params::Params::parse(raw)?)
}

/// `GET /api/dependencies`'s query string (`endTs`, `lookback`) as the window it reads, in
/// Unix nanoseconds, as [`v1_search_params`].
///
/// # Errors
/// What the route answers 400 with.
pub fn v1_dependencies_params(raw: Option<&str>) -> Result<(u64, u64), EdgeError> {
    v1::dependencies_window(&params::Params::parse(raw)?)
}

/// A gRPC `FindTracesRequest`'s bytes as its search, as the `FindTraces` method checks it.
///
/// # Errors
/// The status the method answers with.
pub fn grpc_search_params(request: &[u8]) -> Result<Search, tonic::Status> {
    grpc::search_params(request)
}

/// The Jaeger routes at the root path.
pub(crate) fn router(handles: &Handles) -> Router {
    Router::new()
        .route("/api/traces/{trace_id}", get(v1::trace))
        .route("/api/traces", get(v1::search))
        .route("/api/services", get(v1::services))
        .route("/api/services/{service}/operations", get(v1::service_operations))
        .route("/api/operations", get(v1::operations))
        .route("/api/dependencies", get(v1::dependencies))
        .route("/api/v3/traces/{trace_id}", get(v3::trace))
        .route("/api/v3/traces", get(v3::search))
        .route("/api/v3/services", get(v3::services))
        .route("/api/v3/operations", get(v3::operations))
        .with_state(handles.reader())
}

/// `value` as a JSON response body.
fn json<T: Serialize>(value: &T) -> Result<Response, EdgeError> {
    let bytes = serde_json::to_vec(value).map_err(|error| EdgeError::Internal(error.to_string()))?;
    Ok(([(http::header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, EdgeError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| EdgeError::Internal(error.to_string()))
}

/// The text Jaeger answers for an error: its own words for an unknown trace, the edge's
/// otherwise.
fn message(error: &EdgeError, not_found: &str) -> String {
    match error {
        EdgeError::TraceNotFound(_) => not_found.to_string(),
        other => other.to_string(),
    }
}

/// An error of the HTTP JSON API: the envelope with `data` null and one error.
pub(crate) struct V1Error(EdgeError);

impl From<EdgeError> for V1Error {
    fn from(error: EdgeError) -> Self {
        V1Error(error)
    }
}

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        let code = self.0.http_status().as_u16();
        let body = wire::jaeger::Envelope::error(code, message(&self.0, "trace not found"));
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        self.0.response_with("application/json", bytes)
    }
}

/// An error of api_v3: `{"error": {"httpCode", "message"}}`.
pub(crate) struct V3Error(EdgeError);

impl From<EdgeError> for V3Error {
    fn from(error: EdgeError) -> Self {
        V3Error(error)
    }
}

impl IntoResponse for V3Error {
    fn into_response(self) -> Response {
        let http_code = self.0.http_status().as_u16();
        let body = wire::jaeger::V3Error {
            error: wire::jaeger::V3ErrorDetails { http_code, message: message(&self.0, "No traces found") },
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        self.0.response_with("application/json", bytes)
    }
}
