//! An existing backend as the trace source: Jaeger (its gRPC query API, api_v3) or Grafana
//! Tempo (its HTTP API), as a Tracetest `DataStore` names them. Neither pushes spans, so
//! the wait polls the backend every [`PolledSource::interval`] and feeds what it returns
//! into a private store of this run, where the store's own wait engine judges completeness
//! by the same rules as every other source (settle, grace, selectors, timeout).
//!
//! The trigger span is never written to the backend (it is the run's, not the
//! application's): it goes into the private store only, so selectors and reports see it
//! above the application's root as usual, and the backend's own UI never does.

use std::time::Duration;

use lang::Selector;
use model::{Span, Trace, TraceId};
use store::{StoreGuard, TraceStore, WaitOptions, WaitOutcome};

use super::source::{BoxFuture, Meanwhile, SourceError, TraceSource};

/// Which backend, and how it is reached.
#[derive(Clone, Debug)]
pub enum Backend {
    /// Jaeger's gRPC query service (`host:16685`): api_v3's `QueryService/GetTrace`, whose
    /// answer is OTLP `TracesData`.
    JaegerGrpc { url: String, tls: Option<server::tls::ClientTls>, headers: Vec<(String, String)> },
    /// Tempo's HTTP API (`http://host:3200`): `GET /api/traces/{id}` in protobuf, whose
    /// `Trace` message is wire-identical to OTLP `TracesData`.
    TempoHttp { url: String, headers: Vec<(String, String)> },
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::JaegerGrpc { url, .. } => write!(f, "Jaeger at {url}"),
            Backend::TempoHttp { url, .. } => write!(f, "Tempo at {url}"),
        }
    }
}

/// A DataStore that names a backend tracecheck cannot read traces from: Tempo over gRPC.
#[derive(Debug, thiserror::Error)]
#[error(
    "{}: DataStore `{name}` (type {kind}, {endpoint}) as the trace source is not supported: read \
     Tempo over HTTP instead (`tempo: {{type: http, http: {{url: http://tempo:3200}}}}`), or export the \
     spans to tracecheck over OTLP (`type: otlp`)",
    .path.display()
)]
pub struct UnsupportedBackend {
    path: std::path::PathBuf,
    name: String,
    kind: String,
    endpoint: String,
}

impl Backend {
    /// The backend a DataStore names for polling (Jaeger's gRPC query API, Tempo's HTTP
    /// API), or `None` when spans come to the OTLP receiver.
    ///
    /// # Errors
    /// [`UnsupportedBackend`] for Tempo over gRPC.
    pub fn of(store: &defs::DataStore) -> Result<Option<Backend>, UnsupportedBackend> {
        match &store.backend {
            defs::Backend::Receiver => Ok(None),
            defs::Backend::Jaeger(client) => {
                let tls = &client.tls;
                let scheme = if tls.insecure { "http" } else { "https" };
                let url = with_scheme(&client.endpoint, scheme);
                let tls = (!tls.insecure).then(|| server::tls::ClientTls {
                    ca_cert: tls.ca_file.clone(),
                    client_cert: tls.cert_file.clone(),
                    client_key: tls.key_file.clone(),
                });
                Ok(Some(Backend::JaegerGrpc { url, tls, headers: client.headers.clone() }))
            }
            defs::Backend::Tempo(defs::TempoClient::Http(client)) => Ok(Some(Backend::TempoHttp {
                url: with_scheme(&client.url, "http"),
                headers: client.headers.clone(),
            })),
            defs::Backend::Tempo(defs::TempoClient::Grpc(client)) => Err(UnsupportedBackend {
                path: store.path.clone(),
                name: store.name.clone(),
                kind: store.type_name.clone(),
                endpoint: client.endpoint.clone(),
            }),
        }
    }
}

/// `host:port` as a URL (DataStores write Jaeger's endpoint without a scheme).
fn with_scheme(endpoint: &str, scheme: &str) -> String {
    let endpoint = endpoint.trim();
    if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("{scheme}://{endpoint}")
    }
}

/// Why a backend could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    #[error("cannot reach {backend}: {source}")]
    Connect { backend: String, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("{backend} answered {status} for trace {trace_id}")]
    Status { backend: String, status: String, trace_id: TraceId },
    #[error("{backend} sent a trace that is not OTLP: {source}")]
    Decode { backend: String, source: model::otlp::Error },
}

/// A backend polled during waits, over a private store of this run.
pub struct PolledSource {
    backend: Backend,
    client: Client,
    local: TraceStore,
    _guard: StoreGuard,
    /// How often the backend is asked while a wait is on (well under Tracetest's 5 s).
    pub interval: Duration,
}

enum Client {
    Jaeger(tonic::client::Grpc<tonic::transport::Channel>),
    Tempo(reqwest::Client),
}

/// The gRPC method Jaeger v2 answers a trace by ID on (api_v3).
const JAEGER_GET_TRACE: &str = "/jaeger.api_v3.QueryService/GetTrace";

impl PolledSource {
    /// A source over `backend`, polled every `interval`. The connection is made lazily: a
    /// backend that is down is named when a wait first asks it.
    ///
    /// # Errors
    /// [`BackendError::Connect`] when the URL or the TLS files cannot be used.
    pub fn new(backend: Backend, interval: Duration) -> Result<PolledSource, BackendError> {
        let connect_error = |source: Box<dyn std::error::Error + Send + Sync>| BackendError::Connect {
            backend: backend.to_string(),
            source,
        };
        let client = match &backend {
            Backend::JaegerGrpc { url, tls, .. } => {
                let mut endpoint = tonic::transport::Endpoint::from_shared(url.clone())
                    .map_err(|error| connect_error(error.into()))?
                    .connect_timeout(model::defaults::CONTROL_CONNECT_TIMEOUT);
                if let Some(tls) = tls {
                    let config = tls.tonic_config().map_err(|error| connect_error(error.into()))?;
                    endpoint = endpoint.tls_config(config).map_err(|error| connect_error(error.into()))?;
                }
                Client::Jaeger(tonic::client::Grpc::new(endpoint.connect_lazy()))
            }
            Backend::TempoHttp { .. } => Client::Tempo(
                reqwest::Client::builder()
                    .connect_timeout(model::defaults::CONTROL_CONNECT_TIMEOUT)
                    .build()
                    .map_err(|error| connect_error(error.into()))?,
            ),
        };
        let (local, guard) = TraceStore::new(store::StoreConfig::default());
        Ok(PolledSource { backend, client, local, _guard: guard, interval })
    }

    /// Asks the backend for the trace once and stores what it has (spans already held are
    /// duplicates, dropped by the store).
    async fn poll(&self, trace_id: TraceId) -> Result<(), BackendError> {
        let backend = || self.backend.to_string();
        let messages: Vec<bytes::Bytes> = match &self.client {
            Client::Jaeger(grpc) => {
                let mut grpc = grpc.clone();
                grpc.ready()
                    .await
                    .map_err(|error| BackendError::Connect { backend: backend(), source: error.into() })?;
                // GetTraceRequest { string trace_id = 1; }: encoded by hand, the one field.
                let hex = trace_id.to_string();
                let mut request = vec![0x0a, hex.len() as u8];
                request.extend_from_slice(hex.as_bytes());
                let path = tonic::codegen::http::uri::PathAndQuery::from_static(JAEGER_GET_TRACE);
                let mut request = tonic::Request::new(bytes::Bytes::from(request));
                if let Backend::JaegerGrpc { headers, .. } = &self.backend {
                    for (name, value) in headers {
                        // The DataStore's headers (an API key, a tenant) as gRPC metadata; a
                        // name or value gRPC cannot carry is left out.
                        if let (Ok(name), Ok(value)) = (
                            tonic::metadata::MetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes()),
                            value.parse(),
                        ) {
                            request.metadata_mut().insert(name, value);
                        }
                    }
                }
                let answer = grpc.server_streaming(request, path, server::ingest::grpc::RawCodec).await;
                let mut stream = match answer {
                    Ok(response) => response.into_inner(),
                    Err(status) if status.code() == tonic::Code::NotFound => return Ok(()),
                    Err(status) => return Err(jaeger_status(backend(), status, trace_id)),
                };
                let mut messages = Vec::new();
                loop {
                    match stream.message().await {
                        Ok(Some(message)) => messages.push(message),
                        Ok(None) => break,
                        Err(status) if status.code() == tonic::Code::NotFound => break,
                        Err(status) => return Err(jaeger_status(backend(), status, trace_id)),
                    }
                }
                messages
            }
            Client::Tempo(client) => {
                let Backend::TempoHttp { url, headers } = &self.backend else {
                    unreachable!("a Tempo client")
                };
                let url = format!("{}/api/traces/{trace_id}", url.trim_end_matches('/'));
                let mut request = client.get(&url).header(reqwest::header::ACCEPT, "application/protobuf");
                for (name, value) in headers {
                    request = request.header(name.as_str(), value.as_str());
                }
                let response = request
                    .send()
                    .await
                    .map_err(|error| BackendError::Connect { backend: backend(), source: error.into() })?;
                if response.status() == reqwest::StatusCode::NOT_FOUND {
                    return Ok(());
                }
                if !response.status().is_success() {
                    let status = response.status().to_string();
                    return Err(BackendError::Status { backend: backend(), status, trace_id });
                }
                let body = response
                    .bytes()
                    .await
                    .map_err(|error| BackendError::Connect { backend: backend(), source: error.into() })?;
                vec![body]
            }
        };
        for message in &messages {
            let batch = model::otlp::split_request(message)
                .map_err(|source| BackendError::Decode { backend: backend(), source })?;
            // Spans of other traces (a backend answering more than asked) are not this run's.
            let mut batch = batch;
            for group in &mut batch.groups {
                group.spans.retain(|span| span.trace_id == trace_id);
            }
            self.local.insert_raw(&batch);
        }
        Ok(())
    }
}

fn jaeger_status(backend: String, status: tonic::Status, trace_id: TraceId) -> BackendError {
    match status.code() {
        tonic::Code::Unavailable | tonic::Code::Unknown => {
            BackendError::Connect { backend, source: Box::new(status) }
        }
        _ => BackendError::Status {
            backend,
            status: format!("{:?}: {}", status.code(), status.message()),
            trace_id,
        },
    }
}

impl TraceSource for PolledSource {
    fn wait<'a>(
        &'a self,
        trace_id: TraceId,
        options: &'a WaitOptions,
        selectors: &'a [Selector],
        trigger_span: &'a Span,
        started_elsewhere: bool,
    ) -> BoxFuture<'a, Result<WaitOutcome, SourceError>> {
        Box::pin(async move {
            let wait = super::source::wait_in(
                &self.local,
                trace_id,
                options,
                selectors,
                trigger_span,
                started_elsewhere,
            );
            tokio::pin!(wait);
            let mut ticks = tokio::time::interval(self.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    outcome = &mut wait => return Ok(outcome),
                    _ = ticks.tick() => self.poll(trace_id).await?,
                }
            }
        })
    }

    fn span_count(&self, trace_id: TraceId) -> BoxFuture<'_, Option<usize>> {
        let count = self.local.span_count(trace_id);
        Box::pin(async move { count })
    }

    fn meanwhile(&self, _awaited: TraceId, _started: std::time::Instant) -> BoxFuture<'_, Meanwhile> {
        // The backend is asked for one trace at a time: what else it holds is not known here.
        let listening = vec![format!("polling {} every {:?}", self.backend, self.interval)];
        Box::pin(async move { Meanwhile { listening, ..Meanwhile::default() } })
    }

    fn get(&self, trace_id: TraceId) -> BoxFuture<'_, Result<Option<Trace>, SourceError>> {
        Box::pin(async move {
            if self.local.span_count(trace_id).is_none() {
                self.poll(trace_id).await?;
            }
            Ok(self.local.get(trace_id))
        })
    }
}
