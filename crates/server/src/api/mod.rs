//! tracecheck's control API (`proto/tracecheck/v1/control.proto`): list, get, wait, stats and
//! record a run, served on the OTLP gRPC port.
//!
//! - `service.rs`: [`ControlService`], the server over a [`store::TraceStore`].
//! - `client.rs`: [`RemoteClient`], the same operations from another process, returning
//!   model and store types (a remote runner's `TraceSource` builds on it).
//! - spans travel as OTLP `TracesData` bytes, encoded and decoded by [`model::otlp`]; list
//!   lines and run reports as messages that mirror `wire`'s types (`convert.rs`).
//! - `Stats` carries the server's registry ([`crate::telemetry`]) as named samples.
//! - the optional bearer token, server and client side, is [`crate::auth`]'s; refusals are
//!   [`crate::error::EdgeError`]s.
//!
//! The API knows the store's types and the wire; it knows nothing of tests, selectors'
//! meaning (it hands selector text to `lang`), the web UI or how the server is started.

mod client;
mod convert;
mod service;

pub use crate::auth::{BearerToken, RequireBearer};
pub use client::RemoteClient;
pub use service::{ControlService, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};

/// Code generated from `proto/tracecheck/v1/control.proto`.
pub mod pb {
    tonic::include_proto!("tracecheck.v1");
}

/// What can go wrong talking to a remote tracecheck.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid server url {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("the auth token cannot be sent as a header (it must be visible ascii)")]
    InvalidToken,
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("{url} answered {}: {}", .status.code(), .status.message())]
    Status { url: String, status: tonic::Status },
    #[error("malformed answer from the server: {0}")]
    Decode(String),
    #[error(transparent)]
    Tls(#[from] crate::tls::Error),
}

impl Error {
    /// True when the user's input was wrong (a bad URL, token or TLS file): exit code 2.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Error::InvalidUrl { .. } | Error::InvalidToken | Error::Tls(_))
    }
}
