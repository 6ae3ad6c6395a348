//! The OTLP/HTTP receiver: `POST /v1/traces` with protobuf or JSON bodies, optionally gzip.
//!
//! `Content-Type` picks the decoder and the reply uses the same encoding, as in the
//! collector's `otlphttp.go`: an unknown type gets 415 with the supported list, a body that
//! will not decode gets 400 with a `google.rpc.Status` saying why, a body above the limit
//! (before or after inflating) gets 413, and a request that finds every admission slot taken
//! gets 503 with `Retry-After`: the statuses are [`EdgeError`]'s, the body is in the
//! request's encoding. The bearer token is checked in front of the route, by the server's
//! HTTP layer. Each connection is its own task, so a slow or broken sender holds up only
//! itself. Protobuf bodies are split into wire bytes as on gRPC ([`super::export_protobuf`]);
//! JSON bodies are decoded ([`super::export_json`]).

use std::io::Read;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http::{header, HeaderMap, HeaderValue};

use super::Admission;
use crate::error::EdgeError;
use model::otlp;
use store::TraceStore;

/// The OTLP/HTTP traces path.
pub const TRACES_PATH: &str = "/v1/traces";

#[derive(Clone)]
struct Receiver {
    store: TraceStore,
    admission: Admission,
    max_message_size: usize,
}

/// The request encodings OTLP/HTTP defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// A refused export: the error, answered in the request's encoding once it is known.
struct Refusal {
    error: EdgeError,
    encoding: Option<Encoding>,
}

impl IntoResponse for Refusal {
    /// A `google.rpc.Status` in the request's encoding; plain text before the encoding is
    /// known (the 415 of an unknown content type).
    fn into_response(self) -> Response {
        let Refusal { error, encoding } = self;
        let code = error.grpc_code();
        match encoding {
            None => error.plain_response(),
            Some(Encoding::Protobuf) => error.response_with(
                Encoding::Protobuf.content_type(),
                otlp::encode_error_protobuf(code, &error.to_string()),
            ),
            Some(Encoding::Json) => error.response_with(
                Encoding::Json.content_type(),
                otlp::encode_error_json(code, &error.to_string()),
            ),
        }
    }
}

/// The router serving `POST /v1/traces` into `store` (the server's bearer layer goes in
/// front of it).
pub fn router(store: TraceStore, admission: Admission, max_message_size: usize) -> Router {
    let receiver = Receiver { store, admission, max_message_size };
    Router::new()
        .route(TRACES_PATH, post(export))
        // The handler enforces its own limit while streaming the body.
        .layer(DefaultBodyLimit::disable())
        .with_state(receiver)
}

async fn export(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let encoding = request_encoding(&headers).map_err(|error| Refusal { error, encoding: None })?;
    let refused = |error| Refusal { error, encoding: Some(encoding) };
    // The slot is taken before the body is read and held until it is stored, so senders
    // still uploading count against the limit (a stalled one until the body timeout).
    let _slot =
        receiver.admission.try_admit().inspect_err(|_| receiver.store.record_refused(1)).map_err(refused)?;
    let reply = take_in(&receiver, &headers, body, encoding).await.map_err(refused)?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(encoding.content_type()))], reply).into_response())
}

/// Reads (within the body timeout, holding its bytes of the receive budget), inflates,
/// decodes and stores the body; the encoded response on success.
async fn take_in(
    receiver: &Receiver,
    headers: &HeaderMap,
    body: Body,
    encoding: Encoding,
) -> Result<Vec<u8>, EdgeError> {
    let gzip = match headers.get(header::CONTENT_ENCODING).map(HeaderValue::as_bytes) {
        None => false,
        Some(value) if value.eq_ignore_ascii_case(b"identity") => false,
        Some(value) if value.eq_ignore_ascii_case(b"gzip") => true,
        Some(value) => return Err(EdgeError::ContentEncoding(String::from_utf8_lossy(value).into_owned())),
    };
    let limit = receiver.max_message_size;
    let declared_len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    if declared_len.is_some_and(|len| len > limit as u64) {
        discard(body.into_data_stream(), limit).await;
        return Err(EdgeError::TooLarge { limit });
    }
    let mut lease = receiver.admission.lease();
    // A declared length is taken whole before reading: a stalled upload already holds what
    // it will need, and one that cannot fit is refused before a byte is buffered. (Refused
    // without reading the body: the sender retries either way, and reading would let it
    // hold the connection until the body timeout.)
    if let Some(len) = declared_len {
        lease.ensure(len as usize).inspect_err(|_| receiver.store.record_refused(1))?;
    }
    let body_timeout = receiver.admission.body_timeout();
    let raw = tokio::time::timeout(body_timeout, read_body(body, limit, &mut lease))
        .await
        .map_err(|_| EdgeError::BodyTimeout(body_timeout))?
        .inspect_err(|err| {
            if err.is_retryable() {
                receiver.store.record_refused(1);
            }
        })?;
    let payload = if gzip {
        let inflated = gunzip(&raw, limit)?;
        lease.ensure(raw.len() + inflated.len()).inspect_err(|_| receiver.store.record_refused(1))?;
        inflated
    } else {
        raw
    };
    Ok(match encoding {
        Encoding::Protobuf => {
            otlp::encode_response_protobuf(&super::export_protobuf(&receiver.store, &payload)?)
        }
        Encoding::Json => otlp::encode_response_json(&super::export_json(&receiver.store, &payload)?),
    })
}

fn request_encoding(headers: &HeaderMap) -> Result<Encoding, EdgeError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        _ => Err(EdgeError::ContentType),
    }
}

/// Reads and drops up to `cap` more bytes of a refused body before the answer goes out.
/// Closing a connection with unread data makes the kernel reset it, and the client then
/// sees a connection error instead of the 413, which an exporter would retry forever; like
/// Go's HTTP server, read a bounded amount so the answer arrives.
async fn discard(mut stream: axum::body::BodyDataStream, cap: usize) {
    let mut n_read = 0;
    while n_read < cap {
        match stream.next().await {
            Some(Ok(chunk)) => n_read += chunk.len(),
            _ => return,
        }
    }
}

/// The body, refused with [`EdgeError::TooLarge`] as soon as it passes `limit` bytes, and with
/// [`EdgeError::ReceiveBudget`] when `lease` cannot grow to hold the next chunk.
async fn read_body(body: Body, limit: usize, lease: &mut super::Lease) -> Result<Bytes, EdgeError> {
    let mut stream = body.into_data_stream();
    let mut collected = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| EdgeError::Body(err.to_string()))?;
        if collected.len() + chunk.len() > limit {
            discard(stream, limit).await;
            return Err(EdgeError::TooLarge { limit });
        }
        lease.ensure(collected.len() + chunk.len())?;
        if collected.is_empty() {
            // A body in one chunk (the common case) is used without a copy.
            if let Some(next) = stream.next().await {
                let next = next.map_err(|err| EdgeError::Body(err.to_string()))?;
                collected.reserve(chunk.len() + next.len());
                collected.extend_from_slice(&chunk);
                if collected.len() + next.len() > limit {
                    discard(stream, limit).await;
                    return Err(EdgeError::TooLarge { limit });
                }
                lease.ensure(collected.len() + next.len())?;
                collected.extend_from_slice(&next);
                continue;
            }
            return Ok(chunk);
        }
        collected.extend_from_slice(&chunk);
    }
    Ok(collected.freeze())
}

/// Inflates a gzip body, refusing output beyond `limit` bytes (a small bomb stays small).
fn gunzip(compressed: &[u8], limit: usize) -> Result<Bytes, EdgeError> {
    let mut inflated = Vec::with_capacity((compressed.len() * 4).min(limit));
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed).take(limit as u64 + 1);
    decoder.read_to_end(&mut inflated).map_err(|err| EdgeError::Gzip(err.to_string()))?;
    if inflated.len() > limit {
        return Err(EdgeError::TooLarge { limit });
    }
    Ok(Bytes::from(inflated))
}
