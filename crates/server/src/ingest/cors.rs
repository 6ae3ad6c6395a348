//! CORS for the OTLP/HTTP receiver (`POST /v1/traces` only): a browser-instrumented page
//! (OpenTelemetry's web SDK, under Playwright or Cypress) first sends a preflight
//! `OPTIONS /v1/traces` and exports only if the answer allows its origin. The web UI and
//! its API keep their own policy (same origin only): this layer is on the OTLP route alone.
//!
//! Allowing an origin lets that origin's pages write spans into the store, nothing more:
//! the bearer token (with `--auth-token`) is still required, and reading needs the UI's own
//! routes. The default ([`defaults::DEFAULT_CORS_ALLOWED_ORIGINS`]) allows pages served from
//! this machine, so an app under test exports with no flag while a page from elsewhere that
//! the tester happens to open cannot forge spans into the traces a run judges.

use std::time::Duration;

use http::{HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// The origins allowed to export, as given to `--cors-allowed-origins`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedOrigins {
    patterns: Vec<Pattern>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    /// `*`: every origin.
    Any,
    /// `https://app.example.com:8443`, matched as written (case-insensitively).
    Exact(String),
    /// `http://localhost:*`: that scheme and host on any port, or on none.
    AnyPort(String),
}

/// An entry of `--cors-allowed-origins` that is not an origin.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "{0:?} is not an origin: write scheme://host[:port], scheme://host:* for any port, or * for any origin"
)]
pub struct OriginError(String);

impl AllowedOrigins {
    /// No origin: no CORS headers, and a preflight is answered as any unknown method.
    pub fn none() -> Self {
        AllowedOrigins { patterns: Vec::new() }
    }

    /// Parses a comma-separated list; an empty list allows none.
    ///
    /// # Errors
    /// An entry without a scheme and host, or with a path.
    pub fn parse(list: &str) -> Result<Self, OriginError> {
        let mut patterns = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            let pattern = if entry == "*" {
                Pattern::Any
            } else {
                let lower = entry.trim_end_matches('/').to_ascii_lowercase();
                let Some((scheme, rest)) = lower.split_once("://") else {
                    return Err(OriginError(entry.to_string()));
                };
                if scheme.is_empty() || rest.is_empty() || rest.contains(['/', '?', '#', ' ']) {
                    return Err(OriginError(entry.to_string()));
                }
                match lower.strip_suffix(":*") {
                    Some(base) => Pattern::AnyPort(base.to_string()),
                    None => Pattern::Exact(lower),
                }
            };
            patterns.push(pattern);
        }
        Ok(AllowedOrigins { patterns })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether a request's `Origin` may export.
    pub fn allows(&self, origin: &[u8]) -> bool {
        let Ok(origin) = std::str::from_utf8(origin) else { return false };
        let origin = origin.to_ascii_lowercase();
        self.patterns.iter().any(|pattern| match pattern {
            Pattern::Any => true,
            Pattern::Exact(exact) => *exact == origin,
            Pattern::AnyPort(base) => origin.strip_prefix(base.as_str()).is_some_and(|rest| {
                rest.is_empty()
                    || rest.strip_prefix(':').is_some_and(|port| {
                        !port.is_empty() && port.bytes().all(|byte| byte.is_ascii_digit())
                    })
            }),
        })
    }

    /// The layer answering preflights and adding the CORS headers to exports, or `None`
    /// when no origin is allowed.
    pub(crate) fn layer(&self) -> Option<CorsLayer> {
        if self.is_empty() {
            return None;
        }
        let origins = self.clone();
        Some(
            CorsLayer::new()
                .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
                    origins.allows(origin.as_bytes())
                }))
                .allow_methods([Method::POST])
                // Exporters send Content-Type and Content-Encoding, and whatever
                // OTEL_EXPORTER_OTLP_HEADERS adds (an Authorization for --auth-token).
                .allow_headers(AllowHeaders::mirror_request())
                .max_age(Duration::from_secs(600)),
        )
    }
}

impl Default for AllowedOrigins {
    fn default() -> Self {
        AllowedOrigins::parse(model::defaults::DEFAULT_CORS_ALLOWED_ORIGINS)
            .expect("the default origins parse (tested)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_as_documented() {
        let default = AllowedOrigins::default();
        for allowed in
            ["http://localhost:3000", "http://localhost", "https://127.0.0.1:8443", "http://[::1]:5173"]
        {
            assert!(default.allows(allowed.as_bytes()), "{allowed}");
        }
        for refused in
            ["http://localhost.evil.com", "http://localhost:3000x", "https://example.com", "null", ""]
        {
            assert!(!default.allows(refused.as_bytes()), "{refused}");
        }
        let exact = AllowedOrigins::parse("https://App.example.com:8443/").unwrap();
        assert!(exact.allows(b"https://app.example.com:8443"));
        assert!(!exact.allows(b"https://app.example.com"));
        assert!(AllowedOrigins::parse("*").unwrap().allows(b"https://anything.example"));
        assert!(AllowedOrigins::parse("").unwrap().is_empty());
        assert!(AllowedOrigins::parse("localhost:3000").is_err());
        assert!(AllowedOrigins::parse("http://a/b").is_err());
    }
}
