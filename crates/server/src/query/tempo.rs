//! Grafana Tempo's HTTP API at the root path: `/api/traces/{id}`, `/api/v2/traces/{id}`,
//! `/api/search`, the tag endpoints, `/api/echo`, `/ready`.

use axum::Router;

use crate::Handles;

/// The Tempo routes at the root path.
pub(crate) fn router(_handles: &Handles) -> Router {
    Router::new()
}
