//! The web UI and its JSON API, served on the OTLP/HTTP port beside `POST /v1/traces`.
//!
//! - `/`: the single-page UI (assets in `src/ui/`, embedded in the binary).
//! - `/api/v1/traces`, `/api/v1/traces/{id}`, `/api/v1/traces/{id}/select`,
//!   `/api/v1/traces/{id}/analysis`, `/api/v1/runs`, `/api/v1/runs/{id}`,
//!   `/api/v1/events` (server-sent events): see README's "Web UI and JSON API".
//!
//! Every route, page and asset alike, is behind the server's `--auth-token`: a request
//! carries `Authorization: Bearer T`, or the cookie that visiting `/?token=T` sets. Whether
//! a token is right is decided by [`crate::auth`] alone. Selectors are parsed and matched by
//! [`lang`], so what the UI highlights is what a spec selects. Every body is a `wire` type
//! serialized straight to bytes.

mod api;
mod events;
mod runs;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub use runs::RunStore;

use crate::auth::RequireBearer;
use store::TraceStore;

/// The cookie that carries the token for a browser (hex, so any visible token fits).
const TOKEN_COOKIE: &str = "tracecheck_token";

#[derive(Clone)]
struct Web {
    store: TraceStore,
    runs: RunStore,
    auth: RequireBearer,
}

/// The UI and API routes over `store` and `runs`, guarded by `auth`.
pub fn router(store: TraceStore, runs: RunStore, auth: RequireBearer) -> Router {
    let web = Web { store, runs, auth };
    Router::new()
        .route("/", get(index))
        .route("/api/v1/traces", get(api::list_traces))
        .route("/api/v1/traces/{trace_id}", get(api::get_trace))
        .route("/api/v1/traces/{trace_id}/select", get(api::select))
        .route("/api/v1/traces/{trace_id}/analysis", get(api::analysis))
        .route("/api/v1/runs", get(api::list_runs))
        .route("/api/v1/runs/{run_id}", get(api::get_run))
        .route("/api/v1/events", get(events::stream))
        .route_layer(middleware::from_fn_with_state(web.clone(), require_token))
        .with_state(web)
}

async fn index() -> Response {
    let page = crate::ui::page(&crate::ui::Mode::Server);
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// The token of the `Authorization: Bearer` header, the cookie, or `?token=` (on `/` only,
/// which then sets the cookie and redirects to a URL without the token).
async fn require_token(State(web): State<Web>, request: Request, next: Next) -> Response {
    if !web.auth.is_required() {
        return next.run(request).await;
    }
    let headers = request.headers();
    let bearer = headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
    if bearer.is_some() && web.auth.accepts(bearer) {
        return next.run(request).await;
    }
    if web.auth.accepts_token(cookie_token(headers).as_deref()) {
        return next.run(request).await;
    }
    if request.uri().path() == "/" {
        let query_token = request.uri().query().and_then(|query| {
            query.split('&').find_map(|pair| pair.strip_prefix("token=")).map(percent_decode)
        });
        if query_token.is_some() && web.auth.accepts_token(query_token.as_deref()) {
            let token = query_token.unwrap_or_default();
            let cookie = format!("{TOKEN_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", hex::encode(token));
            let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            return response;
        }
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "missing or wrong token: send `Authorization: Bearer TOKEN`, or open /?token=TOKEN once in the browser\n",
    )
        .into_response()
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|value| value.to_str().ok()).find_map(|cookies| {
        cookies.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == TOKEN_COOKIE)
                .then(|| hex::decode(value).ok().and_then(|bytes| String::from_utf8(bytes).ok()))?
        })
    })
}

/// `%XX` and `+` of a query value.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| bytes.get(at + 1..at + 3))
            .flatten()
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[at], escaped) {
            (_, Some(byte)) => {
                out.push(byte);
                at += 3;
                continue;
            }
            (b'+', None) => out.push(b' '),
            (byte, None) => out.push(byte),
        }
        at += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_decode() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b c%2");
        assert_eq!(percent_decode("s3cret"), "s3cret");
    }
}
