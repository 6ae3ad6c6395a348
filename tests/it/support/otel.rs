//! The real `opentelemetry-otlp` exporters and SDK providers. The SDK's batch processor
//! exports from its own thread and blocks on the result, and the tonic channel spawns onto
//! the test's runtime, so the SDK side runs on a blocking thread with the runtime entered
//! ([`blocking`]); [`export`] returns once the exporter has had its answer (force_flush
//! waits for it), so the spans are stored when it returns: nothing sleeps.

use std::collections::HashMap;
use std::net::SocketAddr;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{
    Compression, Protocol, SpanExporter, WithExportConfig, WithHttpConfig, WithTonicConfig,
};
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

/// How an exporter reaches the receivers.
#[derive(Clone, Copy, Debug)]
pub enum Transport {
    Grpc,
    GrpcGzip,
    HttpProtobuf,
    HttpJson,
}

/// TLS for an exporter: the CA it trusts and, for mTLS, its certificate and key (PEM).
#[derive(Clone)]
pub struct Tls {
    pub ca_pem: String,
    pub identity: Option<(String, String)>,
}

/// What an exporter is built from; [`Exporter::build`] makes it on a blocking thread.
#[derive(Clone)]
pub struct Exporter {
    transport: Transport,
    grpc: SocketAddr,
    http: SocketAddr,
    token: Option<String>,
    tls: Option<Tls>,
}

impl Exporter {
    /// An exporter over `transport` to a server with these listeners.
    pub fn new(transport: Transport, grpc: SocketAddr, http: SocketAddr) -> Self {
        Exporter { transport, grpc, http, token: None, tls: None }
    }

    /// OTLP/gRPC to `grpc`.
    pub fn grpc(grpc: SocketAddr) -> Self {
        Self::new(Transport::Grpc, grpc, grpc)
    }

    /// Sends `authorization: Bearer TOKEN`.
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    /// Speaks TLS (`https://127.0.0.1:PORT`).
    pub fn tls(mut self, tls: Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The exporter; call on a blocking thread with the runtime entered ([`blocking`]).
    pub fn build(&self) -> SpanExporter {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        match self.transport {
            Transport::Grpc | Transport::GrpcGzip => {
                let mut metadata = tonic::metadata::MetadataMap::new();
                if let Some(token) = &self.token {
                    metadata.insert("authorization", format!("Bearer {token}").parse().expect("ascii token"));
                }
                let mut builder = SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(format!("{scheme}://127.0.0.1:{}", self.grpc.port()))
                    .with_metadata(metadata);
                if matches!(self.transport, Transport::GrpcGzip) {
                    builder = builder.with_compression(Compression::Gzip);
                }
                if let Some(tls) = &self.tls {
                    let mut config = tonic::transport::ClientTlsConfig::new()
                        .ca_certificate(tonic::transport::Certificate::from_pem(&tls.ca_pem));
                    if let Some((cert, key)) = &tls.identity {
                        config = config.identity(tonic::transport::Identity::from_pem(cert, key));
                    }
                    builder = builder.with_tls_config(config);
                }
                builder.build().expect("grpc exporter")
            }
            Transport::HttpProtobuf | Transport::HttpJson => {
                let protocol = if matches!(self.transport, Transport::HttpJson) {
                    Protocol::HttpJson
                } else {
                    Protocol::HttpBinary
                };
                let mut headers = HashMap::new();
                if let Some(token) = &self.token {
                    headers.insert("authorization".to_string(), format!("Bearer {token}"));
                }
                let mut client = reqwest::blocking::Client::builder();
                if let Some(tls) = &self.tls {
                    client = client.add_root_certificate(
                        reqwest::Certificate::from_pem(tls.ca_pem.as_bytes()).expect("CA certificate"),
                    );
                    if let Some((cert, key)) = &tls.identity {
                        client = client.identity(
                            reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).expect("identity"),
                        );
                    }
                }
                SpanExporter::builder()
                    .with_http()
                    .with_http_client(client.build().expect("http client"))
                    .with_protocol(protocol)
                    .with_endpoint(format!("{scheme}://127.0.0.1:{}/v1/traces", self.http.port()))
                    .with_headers(headers)
                    .build()
                    .expect("http exporter")
            }
        }
    }

    /// A provider with a batch processor over this exporter; on a blocking thread.
    pub fn provider(&self, resource: Resource) -> SdkTracerProvider {
        SdkTracerProvider::builder().with_batch_exporter(self.build()).with_resource(resource).build()
    }
}

/// The SDK's default resource with `service.name`.
pub fn service(name: &str) -> Resource {
    Resource::builder().with_service_name(name.to_string()).build()
}

/// Runs `work` on a blocking thread with the test's runtime entered.
pub async fn blocking<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> R {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let _runtime = handle.enter();
        work()
    })
    .await
    .expect("the SDK's thread")
}

/// Flushes `provider` (waiting for the export's answer) and shuts it down; on a blocking
/// thread. The flush's result says whether the export was accepted.
pub fn flush(provider: &SdkTracerProvider) -> Result<(), OTelSdkError> {
    let flushed = provider.force_flush();
    let _ = provider.shutdown();
    flushed
}

/// Emits spans with `emit` on the tracer `tracer_name` of a fresh provider for `resource`
/// through `exporter`, flushes and shuts it down: `emit`'s value once the export was
/// answered, or the export's error.
pub async fn export<R: Send + 'static>(
    exporter: Exporter,
    resource: Resource,
    tracer_name: &str,
    emit: impl FnOnce(&SdkTracer) -> R + Send + 'static,
) -> Result<R, OTelSdkError> {
    let tracer_name = tracer_name.to_string();
    blocking(move || {
        let provider = exporter.provider(resource);
        let value = emit(&provider.tracer(tracer_name));
        flush(&provider).map(|()| value)
    })
    .await
}

/// Shuts `provider` down (flushing what it holds) off the async workers.
pub async fn shutdown(provider: SdkTracerProvider) {
    let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
}
