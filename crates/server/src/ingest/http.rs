//! The OTLP/HTTP receiver: `POST /v1/traces` with protobuf or JSON bodies, optionally gzip.
//!
//! `Content-Type` picks the decoder and the reply uses the same encoding, as in the
//! collector's `otlphttp.go`: an unknown type gets 415 with the supported list, a body that
//! will not decode gets 400 with a `google.rpc.Status` saying why, a body above the limit
//! (before or after inflating) gets 413, and a request that finds every admission slot taken
//! gets 503 with `Retry-After`. Each connection is its own task, so a slow or broken sender
//! holds up only itself. Protobuf bodies are split into wire bytes as on gRPC
//! ([`super::export_protobuf`]); JSON bodies are decoded ([`super::export_json`]).

use std::io::Read;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http::{header, HeaderMap, HeaderValue};

use super::{Admission, Error};
use crate::auth::RequireBearer;
use model::otlp;
use store::TraceStore;

/// The OTLP/HTTP traces path.
pub const TRACES_PATH: &str = "/v1/traces";
/// Seconds a refused sender is asked to wait before retrying.
const RETRY_AFTER_SECONDS: &str = "1";

#[derive(Clone)]
struct Receiver {
    store: TraceStore,
    admission: Admission,
    max_message_size: usize,
    auth: RequireBearer,
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

/// The router serving `POST /v1/traces` into `store`. When `auth` holds a token, a request must
/// carry `Authorization: Bearer <token>` or gets 401.
pub fn router(
    store: TraceStore,
    admission: Admission,
    max_message_size: usize,
    auth: RequireBearer,
) -> Router {
    let receiver = Receiver { store, admission, max_message_size, auth };
    Router::new()
        .route(TRACES_PATH, post(export))
        // The handler enforces its own limit while streaming the body.
        .layer(DefaultBodyLimit::disable())
        .with_state(receiver)
}

async fn export(State(receiver): State<Receiver>, headers: HeaderMap, body: Body) -> Response {
    if !receiver.auth.accepts(headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok())) {
        let err = Error::Unauthenticated;
        return (err.http_status(), [(header::WWW_AUTHENTICATE, "Bearer")], err.to_string()).into_response();
    }
    let encoding = match request_encoding(&headers) {
        Ok(encoding) => encoding,
        Err(err) => return plain_error(&err),
    };
    // The slot is taken before the body is read and held until it is stored, so senders
    // still uploading count against the limit (a stalled one until the body timeout).
    let _slot = match receiver.admission.try_admit() {
        Ok(slot) => slot,
        Err(err) => {
            receiver.store.record_refused(1);
            return encoded_error(&err, encoding);
        }
    };
    match take_in(&receiver, &headers, body, encoding).await {
        Ok(reply) => ([(header::CONTENT_TYPE, HeaderValue::from_static(encoding.content_type()))], reply)
            .into_response(),
        Err(err) => encoded_error(&err, encoding),
    }
}

/// Reads (within the body timeout, holding its bytes of the receive budget), inflates,
/// decodes and stores the body; the encoded response on success.
async fn take_in(
    receiver: &Receiver,
    headers: &HeaderMap,
    body: Body,
    encoding: Encoding,
) -> Result<Vec<u8>, Error> {
    let gzip = match headers.get(header::CONTENT_ENCODING).map(HeaderValue::as_bytes) {
        None => false,
        Some(value) if value.eq_ignore_ascii_case(b"identity") => false,
        Some(value) if value.eq_ignore_ascii_case(b"gzip") => true,
        Some(value) => return Err(Error::ContentEncoding(String::from_utf8_lossy(value).into_owned())),
    };
    let limit = receiver.max_message_size;
    let declared_len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    if declared_len.is_some_and(|len| len > limit as u64) {
        discard(body.into_data_stream(), limit).await;
        return Err(Error::TooLarge { limit });
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
        .map_err(|_| Error::BodyTimeout(body_timeout))?
        .inspect_err(|err| {
            if err.is_overload() {
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

fn request_encoding(headers: &HeaderMap) -> Result<Encoding, Error> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        _ => Err(Error::ContentType),
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

/// The body, refused with [`Error::TooLarge`] as soon as it passes `limit` bytes, and with
/// [`Error::ReceiveBudget`] when `lease` cannot grow to hold the next chunk.
async fn read_body(body: Body, limit: usize, lease: &mut super::Lease) -> Result<Bytes, Error> {
    let mut stream = body.into_data_stream();
    let mut collected = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| Error::Body(err.to_string()))?;
        if collected.len() + chunk.len() > limit {
            discard(stream, limit).await;
            return Err(Error::TooLarge { limit });
        }
        lease.ensure(collected.len() + chunk.len())?;
        if collected.is_empty() {
            // A body in one chunk (the common case) is used without a copy.
            if let Some(next) = stream.next().await {
                let next = next.map_err(|err| Error::Body(err.to_string()))?;
                collected.reserve(chunk.len() + next.len());
                collected.extend_from_slice(&chunk);
                if collected.len() + next.len() > limit {
                    discard(stream, limit).await;
                    return Err(Error::TooLarge { limit });
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
fn gunzip(compressed: &[u8], limit: usize) -> Result<Bytes, Error> {
    let mut inflated = Vec::with_capacity((compressed.len() * 4).min(limit));
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed).take(limit as u64 + 1);
    decoder.read_to_end(&mut inflated).map_err(|err| Error::Gzip(err.to_string()))?;
    if inflated.len() > limit {
        return Err(Error::TooLarge { limit });
    }
    Ok(Bytes::from(inflated))
}

/// An error before the encoding is known (415): plain text.
fn plain_error(err: &Error) -> Response {
    (err.http_status(), err.to_string()).into_response()
}

/// An error as a `google.rpc.Status` in the request's encoding, with `Retry-After` when the
/// sender should try again.
fn encoded_error(err: &Error, encoding: Encoding) -> Response {
    let status = err.to_status();
    let body = match encoding {
        Encoding::Protobuf => otlp::encode_error_protobuf(status.code(), status.message()),
        Encoding::Json => otlp::encode_error_json(status.code(), status.message()),
    };
    let mut response = (
        err.http_status(),
        [(header::CONTENT_TYPE, HeaderValue::from_static(encoding.content_type()))],
        body,
    )
        .into_response();
    if err.is_overload() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
    }
    response
}
