//! Bearer tokens (`--auth-token`), per protocol: on the server, one check ([`RequireBearer`])
//! applied once per listener, as the gRPC interceptor in front of every gRPC service (OTLP and
//! the control API) and as the HTTP layer ([`HttpBearerLayer`]) in front of every HTTP route
//! (OTLP/HTTP, `/metrics`, the web UI and its API); on the client, the header the control API
//! client sends ([`BearerToken`]).
//!
//! A refusal is [`EdgeError::Unauthenticated`], answered as every other error is. The web UI's
//! browser login (a cookie set by opening `/?token=T`) is the web's business: it hands the
//! token it finds to the HTTP layer as [`Presented`], and the layer judges it like a header.

use std::future::Ready;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use futures::future::Either;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::error::EdgeError;

/// Server side: demands `authorization: Bearer <token>` when a token is configured and
/// answers UNAUTHENTICATED (gRPC) or 401 (HTTP) otherwise; lets everything through when none is.
#[derive(Clone, Debug, Default)]
pub struct RequireBearer {
    expected: Option<Arc<str>>,
}

impl RequireBearer {
    pub fn new(token: Option<&str>) -> Self {
        RequireBearer { expected: token.map(Arc::from) }
    }

    /// Whether an `authorization` header value carries the expected token.
    pub fn accepts(&self, authorization: Option<&str>) -> bool {
        let Some(expected) = &self.expected else { return true };
        let Some(presented) = authorization.and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
        }) else {
            return false;
        };
        constant_time_eq(presented.as_bytes(), expected.as_bytes())
    }

    /// Whether a bare token (the web UI's cookie or `?token=`) is the expected one.
    pub fn accepts_token(&self, presented: Option<&str>) -> bool {
        let Some(expected) = &self.expected else { return true };
        presented.is_some_and(|token| constant_time_eq(token.as_bytes(), expected.as_bytes()))
    }

    /// True when a token is configured.
    pub fn is_required(&self) -> bool {
        self.expected.is_some()
    }

    /// The HTTP layer applying this check to every route it wraps.
    pub fn http_layer(&self) -> HttpBearerLayer {
        HttpBearerLayer { auth: self.clone() }
    }

    /// Whether an HTTP request carries the token: in its `Authorization` header, or
    /// [`Presented`] another way.
    fn admits<B>(&self, request: &http::Request<B>) -> bool {
        let header = request.headers().get(http::header::AUTHORIZATION).and_then(|value| value.to_str().ok());
        self.accepts(header)
            || request
                .extensions()
                .get::<Presented>()
                .is_some_and(|presented| self.accepts_token(Some(&presented.0)))
    }
}

impl Interceptor for RequireBearer {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let authorization = request.metadata().get("authorization").and_then(|value| value.to_str().ok());
        if self.accepts(authorization) {
            Ok(request)
        } else {
            Err(EdgeError::Unauthenticated.grpc_status())
        }
    }
}

/// A token an HTTP request presents other than in its `Authorization` header (the web UI's
/// cookie or `?token=`), put in the request's extensions by whoever found it, in front of
/// [`HttpBearerLayer`], which judges it.
#[derive(Clone, Debug)]
pub struct Presented(pub String);

/// The HTTP side of [`RequireBearer`]: a tower layer answering 401 (with
/// `WWW-Authenticate: Bearer`) to a request that carries no right token.
#[derive(Clone, Debug)]
pub struct HttpBearerLayer {
    auth: RequireBearer,
}

impl<S> tower::Layer<S> for HttpBearerLayer {
    type Service = HttpBearer<S>;

    fn layer(&self, inner: S) -> HttpBearer<S> {
        HttpBearer { inner, auth: self.auth.clone() }
    }
}

/// A service behind [`HttpBearerLayer`].
#[derive(Clone, Debug)]
pub struct HttpBearer<S> {
    inner: S,
    auth: RequireBearer,
}

impl<S, B> tower::Service<http::Request<B>> for HttpBearer<S>
where
    S: tower::Service<http::Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if self.auth.admits(&request) {
            Either::Left(self.inner.call(request))
        } else {
            Either::Right(std::future::ready(Ok(EdgeError::Unauthenticated.into_response())))
        }
    }
}

/// Compares SHA-256 digests of both sides, byte for byte without an early exit: the digests
/// have a fixed length, so neither the position of the first wrong byte nor the length of
/// the expected token shows in the response time.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (left, right) = (Sha256::digest(left), Sha256::digest(right));
    left.iter().zip(right.iter()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// Client side: adds `authorization: Bearer <token>` to every call when a token is set.
#[derive(Clone, Debug, Default)]
pub struct BearerToken {
    header: Option<MetadataValue<Ascii>>,
}

impl BearerToken {
    /// `None` when the token cannot be sent as a header (non-visible-ASCII characters).
    pub fn new(token: Option<&str>) -> Option<Self> {
        let header = match token {
            Some(token) => Some(format!("Bearer {token}").parse().ok()?),
            None => None,
        };
        Some(BearerToken { header })
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(header) = &self.header {
            request.metadata_mut().insert("authorization", header.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_check() {
        let check = RequireBearer::new(Some("s3cret"));
        assert!(check.accepts(Some("Bearer s3cret")));
        assert!(check.accepts(Some("bearer  s3cret ")));
        assert!(!check.accepts(Some("Bearer s3cre")));
        assert!(!check.accepts(Some("Basic s3cret")));
        assert!(!check.accepts(None));
        assert!(RequireBearer::new(None).accepts(None));
    }

    #[tokio::test]
    async fn http_layer_takes_the_header_or_a_presented_token() {
        use axum::routing::get;
        use tower::ServiceExt;
        let router = axum::Router::new()
            .route("/", get(|| async { "in" }))
            .route_layer(RequireBearer::new(Some("s3cret")).http_layer());
        let status = |authorization: Option<&str>, presented: Option<&str>| {
            let router = router.clone();
            let mut request = http::Request::get("/");
            if let Some(value) = authorization {
                request = request.header("authorization", value);
            }
            let mut request = request.body(axum::body::Body::empty()).unwrap();
            if let Some(token) = presented {
                request.extensions_mut().insert(Presented(token.to_string()));
            }
            async move { router.oneshot(request).await.unwrap() }
        };
        assert_eq!(status(Some("Bearer s3cret"), None).await.status(), 200);
        assert_eq!(status(None, Some("s3cret")).await.status(), 200);
        assert_eq!(status(Some("Bearer nope"), Some("s3cret")).await.status(), 200);
        let refused = status(Some("Bearer nope"), Some("nope")).await;
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.headers()["www-authenticate"], "Bearer");
        assert_eq!(status(None, None).await.status(), 401);
    }

    #[test]
    fn comparison_covers_length_and_content() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(!constant_time_eq(b"s3cret", b"s3cret-and-more"));
        assert!(!constant_time_eq(b"s3cret", b"S3cret"));
        assert!(!constant_time_eq(b"", b"s3cret"));
        assert!(constant_time_eq(b"", b""));
    }
}
