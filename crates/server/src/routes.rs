//! Which routes the server answers and what stands in front of them: the HTTP router (the
//! OTLP/HTTP receiver, `/metrics`, the web UI and its API behind one bearer layer and the
//! export timing) and the control API served beside OTLP on the gRPC port. The gRPC port's
//! own layers are put on in [`crate::start_with_store`], where tonic's server is built.

use axum::Router;

use crate::ingest::{self, Admission};
use crate::telemetry::Transport;
use crate::{auth::RequireBearer, web, Handles};

/// The control API, served beside OTLP on the gRPC port, recording runs into `handles.runs`
/// and rendering `handles.telemetry` for `Stats`. (The server's bearer-token interceptor
/// guards it together with OTLP.)
pub fn control_routes(handles: &Handles) -> tonic::service::Routes {
    tonic::service::Routes::new(
        crate::api::ControlService::new(handles.store.clone())
            .with_runs(handles.runs.clone())
            .with_telemetry(handles.telemetry.clone())
            .into_server(),
    )
}

/// Every HTTP route of the server, behind `auth` applied once. Outermost, the timing of
/// OTLP/HTTP exports, so that refusals by the token check are timed and counted too; then
/// the web's browser login, which hands a cookie's or `?token=`'s token to the bearer layer
/// (and only for the web's own pages: OTLP and `/metrics` take the header alone).
pub(crate) fn http_router(
    handles: &Handles,
    admission: Admission,
    max_message_size: usize,
    auth: &RequireBearer,
) -> Router {
    let router = Router::new()
        .merge(ingest::http::router(handles.store.clone(), admission, max_message_size))
        .merge(handles.telemetry.router())
        .merge(web::router(handles.store.clone(), handles.runs.clone()))
        // A route layer, so that a path nobody serves is still 404 and a wrong method 405.
        .route_layer(auth.http_layer());
    web::with_login(router, auth.clone())
        .layer(handles.telemetry.layer(Transport::Http, ingest::http::TRACES_PATH))
}
