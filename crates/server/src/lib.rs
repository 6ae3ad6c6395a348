//! The server edge: the ingestor as a running server, the OTLP gRPC service (with any extra
//! gRPC services, such as the control API, on the same port) and every HTTP route (OTLP/HTTP,
//! `/metrics`, the web UI and its API), over one store. [`serve_until`] is `tracecheck serve`.
//!
//! The modules, from the wire inwards:
//!
//! - `listen`: accept loops with backoff, TLS handshakes, idle and header-read timeouts.
//! - [`routes`]: which routes each port serves and what stands in front of them.
//! - [`auth`]: the bearer token, one check per protocol (gRPC interceptor, HTTP layer).
//! - [`error`]: [`error::EdgeError`], the one mapping to gRPC and HTTP statuses and bodies.
//! - [`telemetry`]: the counters, one registry for `/metrics` and the control API's `Stats`.
//! - `governor`: holds the process to `--max-memory`.
//! - [`ingest`], [`api`], [`web`], [`ui`]: the OTLP receivers, the control API (and its
//!   client), the web API, the UI's assets.
//! - [`query`]: the field's query APIs (Jaeger, Tempo, MCP), on the HTTP port and on their
//!   own listeners.
//! - [`runs`]: the recorded runs, written by the control API and read by the web.
//! - [`tls`]: the certificates' configuration.
//!
//! Startup and shutdown are symmetric, as in the collector's receiver: gRPC binds and starts
//! first, then HTTP; when HTTP cannot bind, gRPC is stopped before the error is returned.
//! [`RunningServer::shutdown`] stops accepting, lets in-flight requests finish and waits for
//! both, within one drain deadline for the two. This module wires the listeners together; it
//! knows neither the control API's internals (it takes any tonic [`Routes`]) nor how the store
//! works inside.

pub mod api;
pub mod auth;
pub mod error;
mod governor;
pub mod hosts;
pub mod ingest;
mod listen;
pub mod query;
pub mod reads;
pub mod routes;
pub mod runs;
pub mod telemetry;
pub mod tls;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tonic::service::{InterceptorLayer, Routes};

use crate::auth::RequireBearer;
use crate::ingest::Admission;
use crate::runs::RunStore;
use crate::telemetry::{Telemetry, Transport};
use model::defaults;
use store::{StoreConfig, StoreGuard, TraceStore};

/// HTTP/2 flow-control windows: OTLP requests run to megabytes, and the 64 KiB default
/// would cost a round trip per 64 KiB.
const STREAM_WINDOW: u32 = 1024 * 1024;
const CONNECTION_WINDOW: u32 = 4 * 1024 * 1024;

/// How the server listens and what it accepts.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// OTLP gRPC and the control API; port 0 picks a free port.
    pub grpc_addr: SocketAddr,
    /// OTLP/HTTP; port 0 picks a free port.
    pub http_addr: SocketAddr,
    /// Largest accepted request in bytes (gRPC message or HTTP body, after decompression).
    pub max_message_size: usize,
    /// When set, every request must carry `authorization: Bearer <token>`.
    pub auth_token: Option<String>,
    /// Bounds of the store [`start`] creates.
    pub store: StoreConfig,
    /// See [`defaults::DEFAULT_MAX_CONCURRENT_EXPORTS`].
    pub max_concurrent_exports: usize,
    /// The runs the web UI shows (recorded over the control API by `run --server`).
    pub runs: RunStore,
    /// When set, both listeners speak TLS only (and demand client certificates when
    /// `client_ca` is set).
    pub tls: Option<tls::ServerTls>,
    /// Bytes of request bodies being received at once, across both listeners; see
    /// [`defaults::DEFAULT_MAX_RECEIVE_BYTES`]. Raised to `max_message_size` when below it,
    /// so that one largest request always fits.
    pub max_receive_bytes: usize,
    /// How long a connection may take over its parts before it is closed.
    pub timeouts: ConnectionTimeouts,
    /// Jaeger's APIs at the root of their own listener too (`--jaeger-addr`, for clients
    /// that assume Jaeger's 16686), under `base_path` (Jaeger's `query.base-path`).
    pub jaeger: Option<ApiListener>,
    /// Tempo's API at the root of its own listener too (`--tempo-addr`, Tempo's 3200).
    pub tempo: Option<ApiListener>,
    /// The names the HTTP routes answer to besides IP literals and localhost
    /// (`--allowed-hosts`; [`hosts`]).
    pub allowed_hosts: hosts::AllowedHosts,
    /// The page origins whose scripts may export to OTLP/HTTP (`--cors-allowed-origins`).
    pub cors: ingest::cors::AllowedOrigins,
}

/// A query API's own listener: where, and under which path its routes answer (`/` for the
/// root, as the original serves them).
#[derive(Clone, Debug)]
pub struct ApiListener {
    pub addr: SocketAddr,
    pub base_path: String,
}

/// The time limits of a connection (defaults in [`defaults`]).
#[derive(Clone, Copy, Debug)]
pub struct ConnectionTimeouts {
    /// An HTTP/1 request's headers must arrive within this long.
    pub header_read: Duration,
    /// A request's body must arrive within this long (either listener); answered 408 or
    /// DEADLINE_EXCEEDED.
    pub body_read: Duration,
    /// A connection with no request in progress and no byte moved for this long is closed.
    pub idle: Duration,
}

impl Default for ConnectionTimeouts {
    fn default() -> Self {
        ConnectionTimeouts {
            header_read: defaults::DEFAULT_HEADER_READ_TIMEOUT,
            body_read: defaults::DEFAULT_BODY_READ_TIMEOUT,
            idle: defaults::DEFAULT_IDLE_TIMEOUT,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            grpc_addr: parse_default_addr(defaults::DEFAULT_GRPC_ADDR),
            http_addr: parse_default_addr(defaults::DEFAULT_HTTP_ADDR),
            max_message_size: defaults::DEFAULT_MAX_MESSAGE_SIZE,
            auth_token: None,
            store: StoreConfig::default(),
            max_concurrent_exports: defaults::DEFAULT_MAX_CONCURRENT_EXPORTS,
            runs: RunStore::default(),
            tls: None,
            max_receive_bytes: defaults::DEFAULT_MAX_RECEIVE_BYTES,
            timeouts: ConnectionTimeouts::default(),
            jaeger: None,
            tempo: None,
            allowed_hosts: hosts::AllowedHosts::Default,
            cors: ingest::cors::AllowedOrigins::default(),
        }
    }
}

impl ServerConfig {
    /// Both listeners on free ports of 127.0.0.1 (for tests and embedded use).
    pub fn ephemeral() -> Self {
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        ServerConfig { grpc_addr: any_port, http_addr: any_port, ..ServerConfig::default() }
    }
}

fn parse_default_addr(text: &str) -> SocketAddr {
    // The defaults are constants of this crate, checked by a test below.
    text.parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// Why the server could not start or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Tls(#[from] tls::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("grpc server failed: {0}")]
    Grpc(#[source] tonic::transport::Error),
    #[error("http server failed: {0}")]
    Http(#[source] std::io::Error),
    #[error("{listener} server task failed: {source}")]
    Task { listener: &'static str, source: tokio::task::JoinError },
}

/// What the server holds that extra gRPC services may serve (cheap handles): its store, its
/// recorded runs and its counters.
#[derive(Clone)]
pub struct Handles {
    pub store: TraceStore,
    pub runs: RunStore,
    pub telemetry: Telemetry,
    /// What whole-trace reads in flight may hold ([`reads`]).
    pub reads: reads::ReadBudget,
}

impl Handles {
    /// The handles over `store`, the read budget a quarter of its memory bound.
    pub fn new(store: TraceStore, runs: RunStore) -> Self {
        let telemetry = Telemetry::new(store.clone());
        let budget = store.config().max_memory as u64 / model::defaults::READ_MEMORY_DIVISOR;
        let reads = reads::ReadBudget::new(budget, telemetry.reads_refused_counter(), Some(store.clone()));
        Handles { store, runs, telemetry, reads }
    }

    /// What the query APIs read from.
    pub(crate) fn reader(&self) -> query::Reader {
        query::Reader { store: self.store.clone(), reads: self.reads.clone() }
    }
}

/// A server that is accepting requests. Dropping it without [`RunningServer::shutdown`]
/// aborts both listeners.
pub struct RunningServer {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    handles: Handles,
    admission: Admission,
    grpc: Listener,
    http: Listener,
    /// The query APIs' own listeners (`--jaeger-addr`, `--tempo-addr`), with their bound
    /// addresses.
    apis: Vec<(routes::QueryApi, SocketAddr, Listener)>,
    /// Held for a store created by [`start`]; dropped last, stopping its background task.
    _store_guard: Option<StoreGuard>,
}

struct Listener {
    name: &'static str,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), Error>>>,
}

pub use defaults::DRAIN_TIMEOUT;

impl Listener {
    /// Tells the listener to stop accepting and drain.
    fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits for the listener to drain until `deadline`, then cuts what is left.
    async fn join(&mut self, deadline: Instant) -> Result<(), Error> {
        let Some(mut task) = self.task.take() else { return Ok(()) };
        match tokio::time::timeout_at(deadline, &mut task).await {
            Ok(joined) => joined.map_err(|source| Error::Task { listener: self.name, source })?,
            Err(_) => {
                tracing::warn!(
                    listener = self.name,
                    "connections still open after {DRAIN_TIMEOUT:?}; closing them"
                );
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl RunningServer {
    /// The bound gRPC address (the real port when configured with port 0).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The bound address of a query API's own listener, when it has one.
    pub fn api_addr(&self, api: routes::QueryApi) -> Option<SocketAddr> {
        self.apis.iter().find(|(kind, _, _)| *kind == api).map(|(_, addr, _)| *addr)
    }

    /// The store the receivers write to.
    pub fn store(&self) -> &TraceStore {
        &self.handles.store
    }

    /// The server's counters (what `/metrics` and `Stats` render).
    pub fn telemetry(&self) -> &Telemetry {
        &self.handles.telemetry
    }

    /// The admission bound shared by both receivers.
    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for both
    /// listeners (HTTP first, then gRPC: the reverse of startup). Both drain at once, within
    /// one [`DRAIN_TIMEOUT`] for the whole shutdown.
    ///
    /// # Errors
    /// When a listener had failed while serving.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        self.http.signal_stop();
        self.grpc.signal_stop();
        for (_, _, listener) in &mut self.apis {
            listener.signal_stop();
        }
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        let mut apis = Ok(());
        for (_, _, listener) in &mut self.apis {
            apis = apis.and(listener.join(deadline).await);
        }
        let http = self.http.join(deadline).await.and(apis);
        let grpc = self.grpc.join(deadline).await;
        http.and(grpc)
    }
}

/// Serves OTLP, the control API, `/metrics` and the web UI until `shutdown` resolves, with
/// the memory governor holding the process to `--max-memory`, then drains: `tracecheck
/// serve` (which signal stops it is the command line's business).
///
/// # Errors
/// When a listener cannot bind or fails while serving.
pub async fn serve_until(config: ServerConfig, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let running = start(config, routes::control_routes).await?;
    let governor = tokio::spawn(governor::govern_memory(running.store().clone()));
    // One stable line whatever the log filter: scripts and tests bind port 0 and read the
    // bound ports here (`jaeger=` and `tempo=` follow when those listeners are on).
    let mut line =
        format!("tracecheck serve: listening on grpc={} http={}", running.grpc_addr(), running.http_addr());
    for (api, addr, _) in &running.apis {
        line.push_str(&format!(" {}={addr}", api.name()));
    }
    eprintln!("{line}");
    tracing::info!(
        grpc = %running.grpc_addr(),
        http = %running.http_addr(),
        "tracecheck serving: OTLP/gRPC and the control API on grpc, OTLP/HTTP and the web UI on http; Ctrl-C to stop"
    );
    shutdown.await;
    governor.abort();
    tracing::info!("shutting down: draining in-flight requests");
    running.shutdown().await
}

/// Starts the ingestor with a new store made from `config.store`. `extra` returns further
/// gRPC services to serve on the OTLP port, given the server's [`Handles`], e.g.
/// [`routes::control_routes`], or `|_| Routes::default()` for none.
///
/// # Errors
/// [`Error::Bind`] when either address cannot be bound (nothing is left running).
pub async fn start(
    config: ServerConfig,
    extra: impl FnOnce(&Handles) -> Routes,
) -> Result<RunningServer, Error> {
    let (store, guard) = TraceStore::new(config.store.clone());
    let mut server = start_with_store(config, store, extra).await?;
    server._store_guard = Some(guard);
    Ok(server)
}

/// Starts the ingestor over an existing store (whose guard the caller keeps), serving the
/// gRPC services `extra` returns beside OTLP on the gRPC port.
///
/// # Errors
/// [`Error::Bind`] when either address cannot be bound, [`Error::Tls`] when the TLS files
/// cannot be used (nothing is left running).
pub async fn start_with_store(
    config: ServerConfig,
    store: TraceStore,
    extra: impl FnOnce(&Handles) -> Routes,
) -> Result<RunningServer, Error> {
    let admission = Admission::new(
        config.max_concurrent_exports,
        config.max_receive_bytes.max(config.max_message_size),
        config.timeouts.body_read,
    );
    let handles = Handles::new(store, config.runs.clone());
    let auth = RequireBearer::new(config.auth_token.as_deref());
    let (grpc_tls, http_tls) = tls::listener_configs(config.tls.as_ref())?;

    let grpc_listener = bind(config.grpc_addr)?;
    let grpc_addr = local_addr(&grpc_listener, config.grpc_addr)?;
    let trace_service =
        ingest::grpc::TraceService::new(handles.store.clone(), admission.clone(), config.max_message_size);
    let routes = extra(&handles)
        .add_service(trace_service)
        .add_service(query::jaeger::grpc::QueryService::new(handles.reader()));
    let (grpc_stop, grpc_stopped) = oneshot::channel::<()>();
    let incoming = listen::grpc_incoming(grpc_listener, grpc_tls, config.timeouts.idle);
    let grpc_server = tonic::transport::Server::builder()
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        // Streams a connection may open at once: exports are bounded by admission, but a
        // control-API call costs a stream each (25,000 were opened on one connection).
        .max_concurrent_streams(Some(defaults::MAX_CONCURRENT_STREAMS))
        // A request waiting on the server (WaitTrace) keeps its connection from going idle.
        .layer(listen::TrackInFlightLayer)
        .layer(listen::GuardLayer(listen::BodyDeadline(config.timeouts.body_read)))
        .layer(listen::GuardLayer(ingest::grpc::Budget(admission.clone())))
        // Outermost, so that refusals by the token check are timed and counted too.
        .layer(handles.telemetry.layer(Transport::Grpc, ingest::grpc::EXPORT_PATH))
        // One check guards every service on the port, the control API included.
        .layer(InterceptorLayer::new(auth.clone()))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, async {
            let _ = grpc_stopped.await;
        });
    let grpc_task = tokio::spawn(async move { grpc_server.await.map_err(Error::Grpc) });
    let mut grpc = Listener { name: "grpc", stop: Some(grpc_stop), task: Some(grpc_task) };

    let http_listener = match bind(config.http_addr) {
        Ok(listener) => listener,
        Err(err) => {
            grpc.signal_stop();
            let _ = grpc.join(Instant::now() + DRAIN_TIMEOUT).await;
            return Err(err);
        }
    };
    let http_addr = local_addr(&http_listener, config.http_addr)?;
    let served: Vec<SocketAddr> = [Some(config.http_addr)]
        .into_iter()
        .chain([&config.jaeger, &config.tempo].map(|api| api.as_ref().map(|api| api.addr)))
        .flatten()
        .collect();
    let guards = routes::HttpGuards {
        auth: auth.clone(),
        hosts: hosts::HostCheck::new(config.allowed_hosts.clone(), &served),
        tls: http_tls.is_some(),
        cors: config.cors.clone(),
    };
    let router = routes::http_router(&handles, admission.clone(), config.max_message_size, &guards);
    let (http_stop, http_stopped) = oneshot::channel::<()>();
    let http_server = listen::serve_http(http_listener, http_tls.clone(), router, config.timeouts, async {
        let _ = http_stopped.await;
    });
    let http_task = tokio::spawn(async move { http_server.await.map_err(Error::Http) });
    let mut http = Listener { name: "http", stop: Some(http_stop), task: Some(http_task) };

    let mut apis = Vec::new();
    let wanted = [(routes::QueryApi::Jaeger, &config.jaeger), (routes::QueryApi::Tempo, &config.tempo)];
    for (api, listener) in wanted {
        let Some(ApiListener { addr, base_path }) = listener else { continue };
        let bound = match bind(*addr) {
            Ok(bound) => bound,
            Err(err) => {
                // Nothing is left running: stop what started, in reverse.
                let deadline = Instant::now() + DRAIN_TIMEOUT;
                for (_, _, listener) in &mut apis {
                    let listener: &mut Listener = listener;
                    listener.signal_stop();
                    let _ = listener.join(deadline).await;
                }
                http.signal_stop();
                let _ = http.join(deadline).await;
                grpc.signal_stop();
                let _ = grpc.join(deadline).await;
                return Err(err);
            }
        };
        let bound_addr = local_addr(&bound, *addr)?;
        let router = routes::api_router(api, &handles, base_path, &guards);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = listen::serve_http(bound, http_tls.clone(), router, config.timeouts, async {
            let _ = stopped.await;
        });
        let task = tokio::spawn(async move { server.await.map_err(Error::Http) });
        apis.push((api, bound_addr, Listener { name: api.name(), stop: Some(stop), task: Some(task) }));
    }

    tracing::info!(%grpc_addr, %http_addr, "ingesting OTLP traces");
    Ok(RunningServer { grpc_addr, http_addr, handles, admission, grpc, http, apis, _store_guard: None })
}

/// Binds one of `serve`'s listeners, every one of them through here: as tokio's
/// `TcpListener::bind` does (`SO_REUSEADDR` on Unix, so a restart need not wait out the old
/// connections' `TIME_WAIT`), but with a backlog of [`defaults::LISTEN_BACKLOG`], not 128.
fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    let listen = || {
        let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        #[cfg(not(windows))]
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(defaults::LISTEN_BACKLOG)
    };
    listen().map_err(|source| Error::Bind { addr, source })
}

fn local_addr(listener: &TcpListener, addr: SocketAddr) -> Result<SocketAddr, Error> {
    listener.local_addr().map_err(|source| Error::Bind { addr, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        let config = ServerConfig::default();
        assert_eq!(config.grpc_addr.to_string(), defaults::DEFAULT_GRPC_ADDR);
        assert_eq!(config.http_addr.to_string(), defaults::DEFAULT_HTTP_ADDR);
    }

    /// A burst of connections that nothing accepts yet is queued whole: with tokio's backlog
    /// of 128 the 130th connect hears nothing (the kernel drops its SYN; the retry comes
    /// after 1 s), and this test fails.
    #[tokio::test]
    async fn a_listener_queues_a_burst_of_300_connections_before_accepting() {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        let addr = listener.local_addr().expect("address");
        let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok())
            .unwrap_or(4096);
        let n_connections = 300.min(somaxconn);
        let mut connections = Vec::with_capacity(n_connections);
        for idx in 0..n_connections {
            let connect = tokio::net::TcpStream::connect(addr);
            let connection = tokio::time::timeout(Duration::from_millis(900), connect)
                .await
                .unwrap_or_else(|_| panic!("connection {idx} was not queued"))
                .expect("connect");
            connections.push(connection);
        }
        drop(listener);
    }
}
