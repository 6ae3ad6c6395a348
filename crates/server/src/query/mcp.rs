//! MCP for agents over Streamable HTTP at `path`.

use axum::Router;

use crate::Handles;

/// The MCP endpoint at `path`.
pub(crate) fn router(_handles: &Handles, _path: &str) -> Router {
    Router::new()
}
