//! A trace-ID router standing in for the OpenTelemetry Collector's `loadbalancing` exporter
//! with `routing_key: traceID` (the Collector cannot be installed here): the same
//! consistent-hash ring (ring positions by CRC32 of each endpoint and a point number, a
//! trace by CRC32 of its ID, both modulo 36,000; the trace goes to the first position at or
//! after its own), receiving OTLP/gRPC and forwarding each trace's spans to one backend.

use std::collections::HashSet;
use std::net::SocketAddr;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use tonic::transport::Channel;

/// The loadbalancing exporter's ring: 36,000 positions ("360 degrees with two decimal
/// places"), 100 points per endpoint, a point taken by an earlier endpoint skipped.
pub struct Ring {
    /// (position, endpoint index), sorted by position.
    pub items: Vec<(u32, usize)>,
}

const MAX_POSITIONS: u32 = 36_000;
const POINTS_PER_ENDPOINT: u32 = 100;

impl Ring {
    pub fn new(endpoints: &[String]) -> Ring {
        let mut taken = HashSet::new();
        let mut items = Vec::new();
        for (index, endpoint) in endpoints.iter().enumerate() {
            for point in 0..POINTS_PER_ENDPOINT {
                let mut hasher = crc32fast::Hasher::new();
                hasher.update(endpoint.as_bytes());
                hasher.update(&[point as u8]);
                let position = hasher.finalize() % MAX_POSITIONS;
                if taken.insert(position) {
                    items.push((position, index));
                }
            }
        }
        items.sort_unstable();
        Ring { items }
    }

    /// The endpoint at or after the trace's position, wrapping to the first.
    pub fn endpoint_for(&self, trace_id: &[u8]) -> usize {
        let position = crc32fast::hash(trace_id) % MAX_POSITIONS;
        let next = self.items.partition_point(|(at, _)| *at < position);
        self.items.get(next).unwrap_or(&self.items[0]).1
    }
}

/// Splits every export by trace and forwards each part to the trace's backend, keeping the
/// resource and scope around each span, as the exporter does.
struct Router {
    ring: Ring,
    backends: Vec<TraceServiceClient<Channel>>,
}

#[tonic::async_trait]
impl TraceService for Router {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut parts: Vec<Vec<ResourceSpans>> = vec![Vec::new(); self.backends.len()];
        for resource_spans in request.into_inner().resource_spans {
            for scope_spans in &resource_spans.scope_spans {
                for span in &scope_spans.spans {
                    let part = &mut parts[self.ring.endpoint_for(&span.trace_id)];
                    part.push(ResourceSpans {
                        scope_spans: vec![ScopeSpans { spans: vec![span.clone()], ..scope_spans.clone() }],
                        ..resource_spans.clone()
                    });
                }
            }
        }
        let sends = parts.into_iter().zip(&self.backends).filter(|(part, _)| !part.is_empty()).map(
            |(resource_spans, backend)| async move {
                backend.clone().export(ExportTraceServiceRequest { resource_spans }).await
            },
        );
        futures::future::try_join_all(sends).await?;
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// Starts the router on a port of its own; returns its address.
pub async fn start(endpoints: &[String]) -> SocketAddr {
    let mut backends = Vec::new();
    for endpoint in endpoints {
        let channel = Channel::from_shared(format!("http://{endpoint}")).expect("uri").connect_lazy();
        backends.push(TraceServiceClient::new(channel));
    }
    let router = Router { ring: Ring::new(endpoints), backends };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind router");
    let addr = listener.local_addr().expect("router addr");
    tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let _ = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(router))
            .serve_with_incoming(incoming)
            .await;
    });
    addr
}
