//! The browser's login: a browser cannot send `Authorization: Bearer`, so opening
//! `/?token=T` once sets a cookie holding `T` and redirects to `/` (the token leaves the
//! address bar); from then on the cookie is presented with every request.
//!
//! This module only finds the token a browser presents and hands it on as
//! [`Presented`]; whether it is right is decided by the server's bearer layer
//! ([`crate::auth`]), which answers the refusal. A right `?token=` is the one thing judged
//! here, since it is answered with the redirect rather than the page.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;

use crate::auth::{Presented, RequireBearer};

/// The cookie that carries the token for a browser (hex, so any visible token fits).
const TOKEN_COOKIE: &str = "tracecheck_token";

/// `router` with the browser login in front of its routes (outside the bearer layer, which
/// must see what the login found). It acts on the web's own paths only.
/// Over TLS (`secure`) the cookie is `Secure`: never sent over plain HTTP.
pub(crate) fn with_login(router: Router, auth: RequireBearer, secure: bool) -> Router {
    router.route_layer(middleware::from_fn_with_state((auth, secure), login))
}

async fn login(
    State((auth, secure)): State<(RequireBearer, bool)>,
    mut request: Request,
    next: Next,
) -> Response {
    if !auth.is_required() || !super::serves(request.uri().path()) {
        return next.run(request).await;
    }
    if request.uri().path() == "/" {
        if let Some(token) = query_token(request.uri().query()) {
            if auth.accepts_token(Some(&token)) {
                return set_cookie_and_redirect(&token, secure);
            }
        }
    }
    if let Some(token) = cookie_token(request.headers()) {
        request.extensions_mut().insert(Presented(token));
    }
    next.run(request).await
}

/// 303 to `/`, setting the cookie.
fn set_cookie_and_redirect(token: &str, secure: bool) -> Response {
    let mut cookie = format!("{TOKEN_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", hex::encode(token));
    if secure {
        cookie.push_str("; Secure");
    }
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn query_token(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|pair| pair.strip_prefix("token=")).map(percent_decode)
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
        assert_eq!(query_token(Some("x=1&token=a%2Bb")).as_deref(), Some("a+b"));
        assert_eq!(query_token(Some("x=1")), None);
    }

    #[test]
    fn the_cookie_holds_the_token_in_hex() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=b; tracecheck_token=73336372657420"));
        assert_eq!(cookie_token(&headers).as_deref(), Some("s3cret "));
    }
}
