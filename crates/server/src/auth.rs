//! Bearer tokens (`--auth-token`): the server-side check shared by the OTLP gRPC service, the
//! OTLP/HTTP route and the control API, and the client-side header the control API client
//! sends.

use std::sync::Arc;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// Server side: demands `authorization: Bearer <token>` when a token is configured and
/// answers UNAUTHENTICATED otherwise; lets everything through when none is.
#[derive(Clone, Debug, Default)]
pub struct RequireBearer {
    expected: Option<Arc<str>>,
}

impl RequireBearer {
    pub fn new(token: Option<&str>) -> Self {
        RequireBearer { expected: token.map(Arc::from) }
    }

    /// Whether an `authorization` header value carries the expected token (also used by
    /// HTTP routes).
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
}

impl Interceptor for RequireBearer {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let authorization = request.metadata().get("authorization").and_then(|value| value.to_str().ok());
        if self.accepts(authorization) {
            Ok(request)
        } else {
            Err(Status::unauthenticated("missing or wrong bearer token"))
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
