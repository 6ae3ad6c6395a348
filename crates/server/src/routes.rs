//! Which routes the server answers and what stands in front of them: the HTTP router (the
//! OTLP/HTTP receiver, `/metrics`, the web UI and its API behind one bearer layer and the
//! export timing) and the control API served beside OTLP on the gRPC port. The gRPC port's
//! own layers are put on in [`crate::start_with_store`], where tonic's server is built.

use axum::middleware;
use axum::Router;

use crate::hosts::{self, HostCheck};
use crate::ingest::cors::AllowedOrigins;
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

/// How the HTTP routes are guarded: the token, the names they answer to, and whether they
/// are served over TLS (the login cookie is then `Secure`).
#[derive(Clone)]
pub(crate) struct HttpGuards {
    pub auth: RequireBearer,
    pub hosts: HostCheck,
    pub tls: bool,
    /// The page origins whose scripts may export to OTLP/HTTP.
    pub cors: AllowedOrigins,
}

/// Every HTTP route of the server, behind `auth` applied once. Outermost, the Host check
/// (every route but OTLP's, [`crate::hosts`]); then the timing of OTLP/HTTP exports, so that
/// refusals by the token check are timed and counted too; then the web's browser login,
/// which hands a cookie's or `?token=`'s token to the bearer layer (and only for the web's
/// own pages: OTLP and `/metrics` take the header alone). The OTLP route alone has CORS, in
/// front of the token check: a browser's preflight carries no token.
pub(crate) fn http_router(
    handles: &Handles,
    admission: Admission,
    max_message_size: usize,
    guards: &HttpGuards,
) -> Router {
    let auth = &guards.auth;
    let otlp = ingest::http::router(handles.store.clone(), admission, max_message_size)
        .route_layer(auth.http_layer());
    let otlp = match guards.cors.layer() {
        Some(layer) => otlp.route_layer(layer),
        None => otlp,
    };
    let router = Router::new()
        .merge(handles.telemetry.router())
        .merge(web::router(handles))
        .merge(crate::query::router(handles))
        // A route layer, so that a path nobody serves is still 404 (a wrong method on a
        // served path is 405 once the token is right).
        .route_layer(auth.http_layer())
        .merge(otlp);
    let router = web::with_login(router, auth.clone(), guards.tls)
        .layer(handles.telemetry.layer(Transport::Http, ingest::http::TRACES_PATH));
    with_host_check(router, &guards.hosts)
}

/// `router` behind the Host check, which spares OTLP's path.
fn with_host_check(router: Router, check: &HostCheck) -> Router {
    router.layer(middleware::from_fn_with_state((check.clone(), ingest::http::TRACES_PATH), hosts::check))
}

/// A query API that can have a listener of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryApi {
    Jaeger,
    Tempo,
}

impl QueryApi {
    /// Its name in the `listening on` line and in logs.
    pub fn name(self) -> &'static str {
        match self {
            QueryApi::Jaeger => "jaeger",
            QueryApi::Tempo => "tempo",
        }
    }
}

/// The routes of `api`'s own listener: the API at `base_path` (`/` for the root), behind
/// the same bearer layer as the HTTP port.
pub(crate) fn api_router(api: QueryApi, handles: &Handles, base_path: &str, guards: &HttpGuards) -> Router {
    let routes = match api {
        QueryApi::Jaeger => crate::query::jaeger::router(handles),
        QueryApi::Tempo => crate::query::tempo::router(handles),
    };
    let base_path = base_path.trim_end_matches('/');
    let router = if base_path.is_empty() { routes } else { Router::new().nest(base_path, routes) };
    with_host_check(router.route_layer(guards.auth.http_layer()), &guards.hosts)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tower::ServiceExt;

    use super::*;
    use crate::runs::RunStore;

    #[tokio::test]
    async fn one_bearer_layer_guards_every_http_route() {
        let (store, _guard) = store::TraceStore::new(store::StoreConfig::default());
        let handles = Handles::new(store, RunStore::default());
        let admission = Admission::new(4, 1 << 20, Duration::from_secs(5));
        let guards = HttpGuards {
            auth: RequireBearer::new(Some("s3cret")),
            hosts: HostCheck::new(hosts::AllowedHosts::Default, &["127.0.0.1:4318".parse().unwrap()]),
            tls: false,
            cors: AllowedOrigins::default(),
        };
        let router = http_router(&handles, admission, 1 << 20, &guards);
        let cookie = format!("tracecheck_token={}", hex::encode("s3cret"));
        let (bearer, wrong) = (Some("Bearer s3cret"), Some("Bearer nope"));
        // Method, path, Authorization, Cookie, status.
        let table = [
            ("GET", "/metrics", None, None, 401),
            ("GET", "/metrics", bearer, None, 200),
            // The browser's cookie logs in to the web's pages only.
            ("GET", "/metrics", None, Some(&cookie), 401),
            ("POST", "/v1/traces", None, Some(&cookie), 401),
            ("POST", "/v1/traces", wrong, None, 401),
            ("POST", "/v1/traces", bearer, None, 415),
            // Nobody's path is answered as without a token; a wrong method needs the token.
            ("GET", "/nowhere", None, None, 404),
            ("GET", "/v1/traces", None, None, 401),
            ("GET", "/v1/traces", bearer, None, 405),
            ("GET", "/api/v1/runs", None, None, 401),
            ("GET", "/api/v1/runs", wrong, None, 401),
            ("GET", "/api/v1/runs", bearer, None, 200),
            ("GET", "/api/v1/runs", None, Some(&cookie), 200),
            ("GET", "/", None, Some(&cookie), 200),
            ("GET", "/?token=s3cret", None, None, 303),
            ("GET", "/?token=wrong", None, None, 401),
        ];
        for (method, path, authorization, sent_cookie, status) in table {
            let mut request = http::Request::builder().method(method).uri(path);
            if let Some(value) = authorization {
                request = request.header(http::header::AUTHORIZATION, value);
            }
            if let Some(value) = sent_cookie {
                request = request.header(http::header::COOKIE, value.as_str());
            }
            let request = request.body(axum::body::Body::empty()).unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            assert_eq!(
                response.status().as_u16(),
                status,
                "{method} {path} {authorization:?} {sent_cookie:?}"
            );
            if status == 401 {
                assert_eq!(response.headers()[http::header::WWW_AUTHENTICATE], "Bearer");
            }
            if status == 303 {
                let set_cookie = response.headers()[http::header::SET_COOKIE].to_str().unwrap();
                assert!(set_cookie.starts_with(&cookie), "{set_cookie}");
            }
        }
        // The timing is outside the bearer layer: refused exports are counted.
        let text = handles.telemetry.render();
        let line = "tracecheck_export_requests_total{transport=\"http\",outcome=\"unauthenticated\"} 3\n";
        assert!(text.contains(line), "{text}");
    }
}
