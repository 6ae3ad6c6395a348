//! Jaeger's HTTP JSON API (what the Jaeger UI and Grafana's Jaeger data source call) and
//! its api_v3, at the root path: `/api/traces/{id}`, `/api/services`, ..., `/api/v3/...`.

use axum::Router;

use crate::Handles;

/// The Jaeger routes at the root path.
pub(crate) fn router(_handles: &Handles) -> Router {
    Router::new()
}
