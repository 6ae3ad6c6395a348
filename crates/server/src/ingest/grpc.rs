//! The OTLP gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
//!
//! The service is written out by hand rather than generated so that its codec can hand the
//! request's raw bytes to [`super::export_protobuf`], which splits them into the spans' wire
//! bytes (the generated server would first build the `opentelemetry-proto` structs).
//! Everything else is tonic's: gzip, the message size limit, the HTTP/2 framing. It knows the
//! store only through [`super::export_protobuf`] and nothing of the control API beside it on
//! the server.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes};
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{ClientStreamingService, NamedService};
use tonic::Streaming;

use super::{Admission, Lease};
use crate::error::EdgeError;
use crate::listen::{BodyGuard, GuardBodies, Guarded};
use model::otlp;
use store::TraceStore;

/// The gRPC service name of OTLP trace export.
pub const SERVICE_NAME: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
/// The path of its one method.
pub const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The OTLP trace service; add it to a tonic server (or `tonic::service::Routes`).
#[derive(Clone)]
pub struct TraceService {
    shared: Arc<Shared>,
}

struct Shared {
    store: TraceStore,
    admission: Admission,
    max_message_size: usize,
}

impl TraceService {
    /// A service storing into `store`, refusing requests above `max_message_size` bytes
    /// (after decompression) and while `admission` has no free slot.
    pub fn new(store: TraceStore, admission: Admission, max_message_size: usize) -> Self {
        TraceService { shared: Arc::new(Shared { store, admission, max_message_size }) }
    }
}

impl NamedService for TraceService {
    const NAME: &'static str = SERVICE_NAME;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<B> tower::Service<http::Request<B>> for TraceService
where
    B: tonic::codegen::Body + Send + Unpin + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != EXPORT_PATH {
            let error = EdgeError::UnknownMethod(request.uri().path().to_string());
            return Box::pin(async move { Ok(error.grpc_status().into_http()) });
        }
        let shared = self.shared.clone();
        Box::pin(async move {
            // The slot is taken before the body is read and held (in `_slot`) until the
            // request is stored, so a sender still uploading counts against the limit.
            let _slot = match shared.admission.try_admit() {
                Ok(slot) => slot,
                Err(err) => {
                    shared.store.record_refused(1);
                    return Ok(err.grpc_status().into_http());
                }
            };
            let (parts, body) = request.into_parts();
            let body = Guarded::new(body, shared.admission.lease());
            let request = http::Request::from_parts(parts, body);
            let max_message_size = shared.max_message_size;
            let mut grpc = tonic::server::Grpc::new(RawCodec)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max_message_size);
            // Served as client streaming so that a second message is seen and refused;
            // tonic's unary path would read it and drop it.
            let response = grpc.client_streaming(Export(shared), request).await;
            let code = response
                .headers()
                .get(tonic::Status::GRPC_STATUS)
                .and_then(|code| std::str::from_utf8(code.as_bytes()).ok()?.parse::<i32>().ok())
                .map(tonic::Code::from);
            if let Some(err) = code.and_then(|code| EdgeError::from_tonic_refusal(code, max_message_size)) {
                return Ok(err.grpc_status().into_http());
            }
            Ok(response)
        })
    }
}

/// The `Export` method: read the one message (within the body timeout), decode, store,
/// answer with partial success.
struct Export(Arc<Shared>);

impl ClientStreamingService<Bytes> for Export {
    type Response = Bytes;
    type Future = BoxFuture<Result<tonic::Response<Bytes>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<Streaming<Bytes>>) -> Self::Future {
        let shared = self.0.clone();
        Box::pin(async move {
            let compressed = request
                .metadata()
                .get("grpc-encoding")
                .is_some_and(|encoding| encoding.as_bytes() != b"identity");
            let body_timeout = shared.admission.body_timeout();
            let deadline = tokio::time::Instant::now() + body_timeout;
            let timed_out = |_| EdgeError::BodyTimeout(body_timeout).grpc_status();
            // The stream holds the body, and with it the body's lease, until this returns.
            let mut messages = request.into_inner();
            let refused = |status: tonic::Status| {
                if status.code() == tonic::Code::Unavailable {
                    shared.store.record_refused(1);
                }
                status
            };
            let message = tokio::time::timeout_at(deadline, messages.message())
                .await
                .map_err(timed_out)?
                .map_err(refused)?
                .ok_or_else(|| EdgeError::NoMessage.grpc_status())?;
            if tokio::time::timeout_at(deadline, messages.message())
                .await
                .map_err(timed_out)?
                .map_err(refused)?
                .is_some()
            {
                return Err(EdgeError::TooManyMessages.into());
            }
            // An inflated message is counted too while it is stored.
            let mut inflated = shared.admission.lease();
            if compressed {
                inflated.ensure(message.len()).map_err(|err| refused(err.grpc_status()))?;
            }
            let outcome = super::export_protobuf(&shared.store, &message)?;
            Ok(tonic::Response::new(Bytes::from(otlp::encode_response_protobuf(&outcome))))
        })
    }
}

/// Puts the bodies of every gRPC call but OTLP's `Export` (which holds its own lease, with
/// its admission slot) on the receive budget, through `listen::GuardLayer`: a control-API
/// call may carry up to [`model::defaults::MAX_CONTROL_REQUEST_SIZE`], and 4,000 stalled
/// `RecordRun` streams of 64 KiB each once held 250 MiB outside `--max-memory` (issue 22).
#[derive(Clone)]
pub(crate) struct Budget(pub(crate) Admission);

impl GuardBodies for Budget {
    type Guard = Option<Lease>;

    fn guard(&self, path: &str) -> Option<Lease> {
        (path != EXPORT_PATH).then(|| self.0.lease())
    }
}

/// A body's lease holds each data frame's bytes on the receive budget as it arrives,
/// failing the body with UNAVAILABLE (a retryable refusal) when the budget is spent.
impl BodyGuard for Lease {
    fn on_data(&mut self, len: usize) -> Result<(), tonic::Status> {
        let total = self.held() + len;
        self.ensure(total).map_err(|err| err.grpc_status())
    }
}

/// A codec that hands over a message's bytes undecoded and sends pre-encoded bytes: the
/// receiver decodes requests itself, and the load generator and tests send raw bytes with it.
#[derive(Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        // The message is already whole in tonic's buffer; this splits it off without copying.
        use bytes::Buf;
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
