//! What the server answers when a request fails: one [`EdgeError`], mapped once to a gRPC
//! status, an HTTP status and a body, as the collector's `internal/errors` maps its errors.
//!
//! Every receiver and API handler returns an `EdgeError` and never builds a status itself:
//! the gRPC services turn it into a [`tonic::Status`] ([`EdgeError::grpc_status`], or `?`
//! through `From`), the web API and the routes behind the bearer layer answer it as JSON
//! (`{"error": ..., "column": ...}`, through [`IntoResponse`]), and OTLP/HTTP answers it in
//! the request's own encoding with the same status ([`EdgeError::response_with`]). axum's
//! rejections of a bad query string, path or JSON body come here too ([`Query`], [`Path`]).
//!
//! The split the collector makes between retryable and permanent refusals is kept: only
//! overload is retryable (503 with `Retry-After`, UNAVAILABLE); everything the client sent
//! wrong is permanent (400, 404, 413, 415). Bad input is not logged as a server fault; an
//! internal failure is.

use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{header, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use tonic::Code;

use model::{IdError, TraceId};

/// The text of a refused token over HTTP: the web UI's user reads it in the browser, so it
/// says how to log in there too. (Over gRPC it is the error's own text.)
const HTTP_UNAUTHENTICATED: &str =
    "missing or wrong token: send `Authorization: Bearer TOKEN`, or open /?token=TOKEN once in the browser";

/// Seconds a refused sender is asked to wait before retrying.
const RETRY_AFTER_SECONDS: &str = "1";

/// Why the server refused or failed a request (any receiver, the control API or the web API).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeError {
    /// The body is not a valid OTLP request (protobuf or JSON).
    #[error(transparent)]
    Decode(#[from] model::otlp::Error),
    /// The sent type is not quoted back: the answer would reflect whatever a client put there.
    #[error("unsupported content type, expected application/x-protobuf or application/json")]
    ContentType,
    #[error("unsupported content encoding {0:?}, expected gzip or identity")]
    ContentEncoding(String),
    #[error("malformed gzip body: {0}")]
    Gzip(String),
    #[error("failed to read request body: {0}")]
    Body(String),
    #[error("request body exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("request body not received within {0:?}")]
    BodyTimeout(Duration),
    #[error("a unary Export call carries more than one message")]
    TooManyMessages,
    #[error("missing request message")]
    NoMessage,
    #[error("unknown method {0}")]
    UnknownMethod(String),
    #[error("server busy: too many export requests in progress, retry later")]
    Overloaded,
    #[error("server busy: {limit} live event streams are open, retry later")]
    TooManyStreams { limit: usize },
    #[error("server busy: request bodies being received exceed the budget of {limit} bytes, retry later")]
    ReceiveBudget { limit: usize },
    /// No token, or not the server's (`--auth-token`), on any protocol.
    #[error("missing or wrong bearer token")]
    Unauthenticated,
    #[error("bad trace id: {0}")]
    TraceId(IdError),
    #[error("bad assumed span id: {0}")]
    AssumedSpanId(IdError),
    #[error("at most one assumed span id (the trigger span) is supported")]
    TooManyAssumedSpans,
    #[error("bad selector {text:?}: {source}")]
    Selector { text: String, source: lang::Error },
    #[error("bad run report: {0}")]
    RunReport(String),
    #[error("bad query string: {0}")]
    Query(String),
    #[error("bad path: {0}")]
    Path(String),
    #[error("bad json body: {0}")]
    JsonBody(String),
    #[error("unsupported content type, expected application/json")]
    JsonContentType,
    #[error("trace {0} not found")]
    TraceNotFound(TraceId),
    #[error("run {0} not found")]
    RunNotFound(u64),
    #[error("this server does not record runs")]
    NotRecording,
    /// DNS rebinding protection ([`crate::hosts`]).
    #[error("host {host:?} is not allowed: start the server with --allowed-hosts NAME to answer to it (a guard against DNS rebinding)")]
    HostNotAllowed { host: String },
    #[error("origin {origin:?} is not allowed: start the server with --allowed-hosts NAME to answer pages from it (a guard against DNS rebinding)")]
    OriginNotAllowed { origin: String },
    #[error("server busy: reading this trace ({spans} spans) takes about {} and the reads in flight hold {} of the {} read budget, retry later", mib(*needed), mib(*in_use), mib(*budget))]
    ReadsBusy { spans: usize, needed: u64, in_use: u64, budget: u64 },
    #[error("trace too large to read whole: {spans} spans take about {} to read, more than the read budget of {} (a quarter of --max-memory); raise --max-memory, or read it in parts (/api/v1/traces/ID?offset=N&limit=M, as the UI does)", mib(*needed), mib(*budget))]
    TraceTooLarge { spans: usize, needed: u64, budget: u64 },
    #[error("the server failed to answer: {0}")]
    Internal(String),
}

/// Bytes as MiB with one decimal, for messages.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

impl EdgeError {
    /// The one mapping: the gRPC code and the HTTP status of each error (the collector's
    /// `errors.go`, with HTTP statuses as grpc-gateway gives them, but 415 for a content
    /// type and 408 for a slow body, as OTLP/HTTP answers).
    fn codes(&self) -> (Code, StatusCode) {
        use EdgeError::*;
        match self {
            Decode(_) | Gzip(_) | Body(_) | TooManyMessages => {
                (Code::InvalidArgument, StatusCode::BAD_REQUEST)
            }
            TraceId(_) | AssumedSpanId(_) | TooManyAssumedSpans | Selector { .. } | RunReport(_) => {
                (Code::InvalidArgument, StatusCode::BAD_REQUEST)
            }
            Query(_) | Path(_) | JsonBody(_) => (Code::InvalidArgument, StatusCode::BAD_REQUEST),
            ContentType | ContentEncoding(_) | JsonContentType => {
                (Code::Unimplemented, StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            UnknownMethod(_) => (Code::Unimplemented, StatusCode::NOT_FOUND),
            TooLarge { .. } => (Code::ResourceExhausted, StatusCode::PAYLOAD_TOO_LARGE),
            BodyTimeout(_) => (Code::DeadlineExceeded, StatusCode::REQUEST_TIMEOUT),
            Overloaded | ReceiveBudget { .. } | TooManyStreams { .. } | ReadsBusy { .. } => {
                (Code::Unavailable, StatusCode::SERVICE_UNAVAILABLE)
            }
            TraceTooLarge { .. } => (Code::ResourceExhausted, StatusCode::INSUFFICIENT_STORAGE),
            Unauthenticated => (Code::Unauthenticated, StatusCode::UNAUTHORIZED),
            TraceNotFound(_) | RunNotFound(_) => (Code::NotFound, StatusCode::NOT_FOUND),
            NotRecording => (Code::FailedPrecondition, StatusCode::BAD_REQUEST),
            HostNotAllowed { .. } | OriginNotAllowed { .. } => {
                (Code::PermissionDenied, StatusCode::FORBIDDEN)
            }
            NoMessage | Internal(_) => (Code::Internal, StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// The gRPC code of this error.
    pub fn grpc_code(&self) -> Code {
        self.codes().0
    }

    /// The gRPC status: the code and this error's text.
    pub fn grpc_status(&self) -> tonic::Status {
        tonic::Status::new(self.grpc_code(), self.to_string())
    }

    /// The HTTP status of this error.
    pub fn http_status(&self) -> StatusCode {
        self.codes().1
    }

    /// Whether the sender should retry later (the collector's retryable class: answered
    /// with `Retry-After` over HTTP). Everything else is permanent.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            EdgeError::Overloaded
                | EdgeError::ReceiveBudget { .. }
                | EdgeError::TooManyStreams { .. }
                | EdgeError::ReadsBusy { .. }
        )
    }

    /// The error behind a status tonic answered itself, before the service saw the request:
    /// tonic says OUT_OF_RANGE for a message above `max_message_size`, which OTLP exporters
    /// (and the HTTP route) expect as too large, RESOURCE_EXHAUSTED. tonic already says that
    /// when a gzip body inflates past the limit.
    pub fn from_tonic_refusal(code: Code, max_message_size: usize) -> Option<EdgeError> {
        (code == Code::OutOfRange).then_some(EdgeError::TooLarge { limit: max_message_size })
    }

    /// The text an HTTP client is given.
    fn http_message(&self) -> String {
        match self {
            EdgeError::Unauthenticated => HTTP_UNAUTHENTICATED.to_string(),
            _ => self.to_string(),
        }
    }

    /// The HTTP answer with this error's status and headers (`Retry-After` when retryable,
    /// `WWW-Authenticate` when unauthenticated) around `body` of `content_type`: the OTLP
    /// receiver answers in the request's encoding this way.
    pub fn response_with(&self, content_type: &'static str, body: impl Into<axum::body::Body>) -> Response {
        let status = self.http_status();
        if status.is_server_error() && !self.is_retryable() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response =
            (status, [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body.into())
                .into_response();
        let headers = response.headers_mut();
        if self.is_retryable() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        if matches!(self, EdgeError::Unauthenticated) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }

    /// The error as plain text (an OTLP/HTTP request whose encoding is not known).
    pub fn plain_response(&self) -> Response {
        self.response_with("text/plain; charset=utf-8", self.http_message())
    }

    /// The column of a selector's syntax error, for the web UI to point at.
    fn column(&self) -> Option<usize> {
        match self {
            EdgeError::Selector { source: lang::Error::Syntax { column, .. }, .. } => Some(*column),
            _ => None,
        }
    }
}

impl From<EdgeError> for tonic::Status {
    fn from(error: EdgeError) -> Self {
        error.grpc_status()
    }
}

/// The web API's error body: `{"error": "...", "column": N | null}`.
impl IntoResponse for EdgeError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.http_message(), "column": self.column() });
        self.response_with("application/json", body.to_string())
    }
}

impl From<QueryRejection> for EdgeError {
    fn from(rejection: QueryRejection) -> Self {
        EdgeError::Query(rejection.body_text())
    }
}

impl From<PathRejection> for EdgeError {
    fn from(rejection: PathRejection) -> Self {
        EdgeError::Path(rejection.body_text())
    }
}

impl From<JsonRejection> for EdgeError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => EdgeError::JsonContentType,
            other => EdgeError::JsonBody(other.body_text()),
        }
    }
}

/// axum's `Query`, refused with an [`EdgeError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = EdgeError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, EdgeError> {
        let axum::extract::Query(value) = axum::extract::Query::from_request_parts(parts, state).await?;
        Ok(Query(value))
    }
}

/// axum's `Path`, refused with an [`EdgeError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = EdgeError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, EdgeError> {
        let axum::extract::Path(value) = axum::extract::Path::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax_error() -> lang::Error {
        lang::Selector::parse("span[name=").expect_err("not a selector")
    }

    #[test]
    fn each_error_has_one_grpc_code_and_one_http_status() {
        let id_error = model::IdError::Zero;
        let table: Vec<(EdgeError, Code, u16)> = vec![
            (EdgeError::Decode(model::otlp::Error::Json("x".into())), Code::InvalidArgument, 400),
            (EdgeError::ContentType, Code::Unimplemented, 415),
            (EdgeError::ContentEncoding("br".into()), Code::Unimplemented, 415),
            (EdgeError::Gzip("x".into()), Code::InvalidArgument, 400),
            (EdgeError::Body("x".into()), Code::InvalidArgument, 400),
            (EdgeError::TooLarge { limit: 1 }, Code::ResourceExhausted, 413),
            (EdgeError::BodyTimeout(Duration::from_secs(1)), Code::DeadlineExceeded, 408),
            (EdgeError::TooManyMessages, Code::InvalidArgument, 400),
            (EdgeError::NoMessage, Code::Internal, 500),
            (EdgeError::UnknownMethod("/x".into()), Code::Unimplemented, 404),
            (EdgeError::Overloaded, Code::Unavailable, 503),
            (EdgeError::ReceiveBudget { limit: 1 }, Code::Unavailable, 503),
            (EdgeError::Unauthenticated, Code::Unauthenticated, 401),
            (EdgeError::TraceId(id_error.clone()), Code::InvalidArgument, 400),
            (EdgeError::AssumedSpanId(id_error), Code::InvalidArgument, 400),
            (EdgeError::TooManyAssumedSpans, Code::InvalidArgument, 400),
            (
                EdgeError::Selector { text: "span[".into(), source: syntax_error() },
                Code::InvalidArgument,
                400,
            ),
            (EdgeError::RunReport("x".into()), Code::InvalidArgument, 400),
            (EdgeError::Query("x".into()), Code::InvalidArgument, 400),
            (EdgeError::Path("x".into()), Code::InvalidArgument, 400),
            (EdgeError::JsonBody("x".into()), Code::InvalidArgument, 400),
            (EdgeError::JsonContentType, Code::Unimplemented, 415),
            (EdgeError::TraceNotFound(TraceId([1; 16])), Code::NotFound, 404),
            (EdgeError::RunNotFound(7), Code::NotFound, 404),
            (EdgeError::NotRecording, Code::FailedPrecondition, 400),
            (EdgeError::Internal("x".into()), Code::Internal, 500),
        ];
        for (error, code, status) in table {
            assert_eq!(error.grpc_status().code(), code, "{error:?}");
            assert_eq!(error.grpc_status().message(), error.to_string(), "{error:?}");
            assert_eq!(error.http_status().as_u16(), status, "{error:?}");
            let response = error.plain_response();
            assert_eq!(response.status().as_u16(), status, "{error:?}");
            // Only overload is retryable: 503, UNAVAILABLE, Retry-After.
            let retryable = status == 503;
            assert_eq!(error.is_retryable(), retryable, "{error:?}");
            assert_eq!(response.headers().contains_key(header::RETRY_AFTER), retryable, "{error:?}");
            assert_eq!(response.headers().contains_key(header::WWW_AUTHENTICATE), status == 401, "{error:?}");
        }
    }

    #[tokio::test]
    async fn json_body_carries_the_error_and_the_column() {
        let error = EdgeError::Selector { text: "span[name=".into(), source: syntax_error() };
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(
            body["error"].as_str().unwrap().starts_with("bad selector \"span[name=\": expected"),
            "{body}"
        );
        assert_eq!(body["column"], 11);

        let body = EdgeError::Unauthenticated.into_response().into_body();
        let body: serde_json::Value =
            serde_json::from_slice(&axum::body::to_bytes(body, usize::MAX).await.unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({ "error": HTTP_UNAUTHENTICATED, "column": null }));
    }

    #[tokio::test]
    async fn rejections_answer_through_the_edge_error() {
        use axum::routing::get;
        use tower::ServiceExt;
        #[derive(serde::Deserialize)]
        struct Limit {
            #[allow(dead_code)]
            limit: usize,
        }
        let router = axum::Router::new()
            .route("/runs/{id}", get(|Path(_id): Path<u64>| async { "ok" }))
            .route("/list", get(|Query(_limit): Query<Limit>| async { "ok" }));
        for (uri, start) in [("/runs/x", "bad path: "), ("/list?limit=many", "bad query string: ")] {
            let request = http::Request::get(uri).body(axum::body::Body::empty()).unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(body["error"].as_str().unwrap().starts_with(start), "{uri}: {body}");
        }
    }
}
