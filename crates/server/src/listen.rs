//! The accept and connection path of both listeners, apart from the wiring in `lib.rs`: an
//! accept loop that backs off on errors ([`Acceptor`], the only backoff), the TLS handshakes
//! ([`incoming`]), a connection wrapper that closes idle connections ([`IdleIo`]), the
//! per-request marker that keeps a busy connection from counting as idle ([`TrackInFlight`]),
//! the one wrapper of gRPC request bodies that checks them as they arrive ([`GuardLayer`]:
//! their deadline here, the receive budget in `ingest::grpc`), and the OTLP/HTTP listener's own serve loop ([`serve_http`], for hyper's header-read
//! timeout, which `axum::serve` does not expose). As in mini-redis, the listener accepts and
//! each connection is served by a task of its own, whose errors are logged, not passed up.
//!
//! TLS sits between the two: accepted TCP streams go through [`incoming`] (plain when no
//! certificate is configured, else a handshake with a deadline, in a task of its own, so a
//! client that connects and says nothing, or speaks plaintext, neither stalls the accept loop
//! nor holds a connection for ever), and the resulting [`Conn`] is what [`IdleIo`] wraps.
//! The certificates are [`crate::tls`]'s configuration.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};
use tokio_rustls::rustls;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::Connected;

use model::defaults::{ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_MIN};

use super::ConnectionTimeouts;

/// How long a client may take to finish the TLS handshake after connecting.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes finished but not yet taken by the server: a small buffer, since the server
/// takes them as fast as it accepts.
const READY_QUEUE: usize = 64;

/// A listener whose accept waits after a failure instead of retrying at once: at the
/// open-files limit every accept fails until a descriptor is freed, and retrying at once
/// burns a core (and floods the log). The wait doubles from [`ACCEPT_BACKOFF_MIN`] up to
/// [`ACCEPT_BACKOFF_MAX`] and resets on the next success; one warning per wait.
pub(super) struct Acceptor {
    listener: TcpListener,
    backoff: Option<Duration>,
}

impl Acceptor {
    pub(super) fn new(listener: TcpListener) -> Self {
        Acceptor { listener, backoff: None }
    }

    /// The next connection (with `TCP_NODELAY`: OTLP answers are small and latency-bound).
    pub(super) async fn next(&mut self) -> TcpStream {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    self.backoff = None;
                    let _ = stream.set_nodelay(true);
                    return stream;
                }
                Err(err) => {
                    let wait =
                        self.backoff.map_or(ACCEPT_BACKOFF_MIN, |wait| (wait * 2).min(ACCEPT_BACKOFF_MAX));
                    self.backoff = Some(wait);
                    tracing::warn!(error = %err, ?wait, "cannot accept a connection; waiting before the next try");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// Accepted TCP connections, for [`incoming`]; accept failures are waited out by the
/// [`Acceptor`], so the stream never yields an error.
fn accepted(listener: TcpListener) -> impl Stream<Item = io::Result<TcpStream>> + Send + 'static {
    futures::stream::unfold(Acceptor::new(listener), |mut acceptor| async move {
        let stream = acceptor.next().await;
        Some((Ok(stream), acceptor))
    })
}

/// An accepted connection, in the clear or after a finished TLS handshake.
pub(super) enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(tcp) => tcp.is_write_vectored(),
            Conn::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Wraps the TCP streams `accepted` yields in TLS when `tls` is set, and passes them through
/// in the clear when it is not. Accept errors pass through; a failed or overdue handshake
/// drops that connection only.
fn incoming<S>(accepted: S, tls: Option<Arc<rustls::ServerConfig>>) -> BoxStream<'static, io::Result<Conn>>
where
    S: Stream<Item = io::Result<TcpStream>> + Send + 'static,
{
    match tls {
        None => accepted.map(|tcp| tcp.map(Conn::Plain)).boxed(),
        Some(config) => handshakes(accepted, TlsAcceptor::from(config)).boxed(),
    }
}

/// One task accepts and starts a task per handshake; finished handshakes come back through a
/// channel. When the server drops the receiver, the accepting task stops (closing the port).
fn handshakes<S>(accepted: S, acceptor: TlsAcceptor) -> impl Stream<Item = io::Result<Conn>>
where
    S: Stream<Item = io::Result<TcpStream>> + Send + 'static,
{
    let (ready, receiver) = tokio::sync::mpsc::channel(READY_QUEUE);
    tokio::spawn(async move {
        let mut accepted = std::pin::pin!(accepted);
        loop {
            let next = tokio::select! {
                next = accepted.next() => next,
                () = ready.closed() => return,
            };
            let tcp = match next {
                None => return,
                Some(Ok(tcp)) => tcp,
                Some(Err(error)) => {
                    if ready.send(Err(error)).await.is_err() {
                        return;
                    }
                    continue;
                }
            };
            let acceptor = acceptor.clone();
            let ready = ready.clone();
            tokio::spawn(async move {
                let peer = tcp.peer_addr().ok();
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let _ = ready.send(Ok(Conn::Tls(Box::new(tls)))).await;
                    }
                    Ok(Err(error)) => tracing::debug!(?peer, "TLS handshake failed: {error}"),
                    Err(_) => tracing::debug!(?peer, "TLS handshake not finished in {HANDSHAKE_TIMEOUT:?}"),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(receiver)
}

/// The gRPC listener's connections (in TLS when `tls` is set), for tonic's
/// `serve_with_incoming_shutdown`.
pub(super) fn grpc_incoming(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    idle: Duration,
) -> impl Stream<Item = io::Result<IdleIo<Conn>>> {
    incoming(accepted(listener), tls).map(move |conn| conn.map(|conn| IdleIo::new(conn, idle)))
}

/// Serves `router` on every connection of `listener` until `stop` resolves, then stops
/// accepting and waits for the open connections to finish their requests (the caller
/// bounds that wait with the drain deadline).
pub(super) async fn serve_http(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: axum::Router,
    timeouts: ConnectionTimeouts,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut incoming = incoming(accepted(listener), tls);
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(timeouts.header_read);
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            stream = incoming.next() => match stream {
                Some(Ok(stream)) => stream,
                // The accept side never fails (the acceptor waits failures out) and a failed
                // handshake drops only its connection, so this is not reached; go on anyway.
                Some(Err(_)) => continue,
                None => break,
            },
            () = &mut stop => break,
        };
        let io = IdleIo::new(stream, timeouts.idle);
        let service = TrackInFlight { inner: router.clone(), activity: Some(io.activity.clone()) };
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "http connection closed with an error");
            }
        });
    }
    drop(incoming);
    graceful.shutdown().await;
    Ok(())
}

/// When a connection last read or wrote a byte, and how many of its requests are in
/// progress (a request waiting on the server, such as `WaitTrace`, moves no bytes but is
/// not idle).
#[derive(Debug)]
pub(super) struct Activity {
    origin: Instant,
    last_millis: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn touch(&self) {
        self.last_millis.store(self.origin.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// When the connection becomes idle, or `None` while a request is in progress.
    fn idle_at(&self, idle: Duration) -> Option<Instant> {
        (self.in_flight.load(Ordering::Acquire) == 0)
            .then(|| self.origin + Duration::from_millis(self.last_millis.load(Ordering::Relaxed)) + idle)
    }
}

/// One request in progress on a connection; the idle clock restarts when it ends.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A connection that fails its reads and writes with `TimedOut` once it has had no request
/// in progress and moved no byte for `idle`, so the server closes it: idle and silent
/// connections (a half-sent request included) do not hold descriptors for ever.
pub(super) struct IdleIo<T> {
    inner: T,
    activity: Arc<Activity>,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
}

impl<T> IdleIo<T> {
    pub(super) fn new(inner: T, idle: Duration) -> Self {
        let now = Instant::now();
        let activity = Arc::new(Activity {
            origin: now,
            last_millis: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        });
        IdleIo { inner, activity, idle, timer: Box::pin(tokio::time::sleep_until(now + idle)) }
    }

    /// Ready with an error once the connection is idle; otherwise pending, with the timer
    /// armed for the earliest moment it could be.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let now = Instant::now();
            match self.activity.idle_at(self.idle) {
                Some(at) if at <= now => {
                    return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "idle connection closed"))
                }
                Some(at) => self.timer.as_mut().reset(at),
                None => self.timer.as_mut().reset(now + self.idle),
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.activity.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => self.poll_idle(cx).map(Err),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.activity.touch();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            // A peer that stops reading our answers is as idle as one that stops writing.
            Poll::Pending => self.poll_idle(cx).map(Err),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.activity.touch();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => self.poll_idle(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// What tonic puts in each request's extensions for an [`IdleIo`] connection: its activity,
/// for [`TrackInFlight`]. (Nothing reads the peer's address, so it is not kept.)
#[derive(Clone, Debug)]
pub(super) struct ConnInfo {
    activity: Arc<Activity>,
}

impl Connected for IdleIo<Conn> {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        ConnInfo { activity: self.activity.clone() }
    }
}

/// Marks a request in progress on its connection for as long as its answer is pending. The
/// connection's activity is given (HTTP, one service per connection) or found in the
/// request's [`ConnInfo`] (gRPC, where tonic puts it).
#[derive(Clone)]
pub(super) struct TrackInFlight<S> {
    inner: S,
    activity: Option<Arc<Activity>>,
}

/// [`TrackInFlight`] for a tonic server, where the activity comes with each request.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct TrackInFlightLayer;

impl<S> tower::Layer<S> for TrackInFlightLayer {
    type Service = TrackInFlight<S>;

    fn layer(&self, inner: S) -> TrackInFlight<S> {
        TrackInFlight { inner, activity: None }
    }
}

impl<S, B> tower::Service<http::Request<B>> for TrackInFlight<S>
where
    S: tower::Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let activity = self
            .activity
            .clone()
            .or_else(|| request.extensions().get::<ConnInfo>().map(|info| info.activity.clone()));
        let in_flight = activity.map(|activity| activity.begin());
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await;
            drop(in_flight);
            answer
        })
    }
}

/// What a [`Guarded`] body checks while it arrives: the receive budget's lease
/// (`ingest::grpc::Budget`) or a deadline ([`BodyDeadline`]). A status returned fails the
/// body with it, which tonic answers with (it finds a `tonic::Status` in the error's chain).
pub(crate) trait BodyGuard: Unpin {
    /// A data frame of `len` bytes arrived.
    fn on_data(&mut self, _len: usize) -> Result<(), tonic::Status> {
        Ok(())
    }

    /// The body has no frame ready: `Ready` fails it with the status; `Pending` leaves the
    /// guard registered with `cx` to wake the body when that changes.
    fn poll_pending(&mut self, _cx: &mut Context<'_>) -> Poll<tonic::Status> {
        Poll::Pending
    }

    /// The body's end was seen.
    fn on_end(&mut self) {}
}

/// No guard: the body as it is.
impl<G: BodyGuard> BodyGuard for Option<G> {
    fn on_data(&mut self, len: usize) -> Result<(), tonic::Status> {
        self.as_mut().map_or(Ok(()), |guard| guard.on_data(len))
    }

    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<tonic::Status> {
        self.as_mut().map_or(Poll::Pending, |guard| guard.poll_pending(cx))
    }

    fn on_end(&mut self) {
        if let Some(guard) = self {
            guard.on_end();
        }
    }
}

/// Makes the [`BodyGuard`] of each request, from its path.
pub(crate) trait GuardBodies: Clone {
    type Guard: BodyGuard;

    fn guard(&self, path: &str) -> Self::Guard;
}

/// Puts every request's body of the service it wraps in a [`Guarded`] body, with the guard
/// its [`GuardBodies`] makes for the request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GuardLayer<M>(pub(crate) M);

impl<S, M: Clone> tower::Layer<S> for GuardLayer<M> {
    type Service = GuardService<S, M>;

    fn layer(&self, inner: S) -> GuardService<S, M> {
        GuardService { inner, guards: self.0.clone() }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct GuardService<S, M> {
    inner: S,
    guards: M,
}

impl<S, M, B> tower::Service<http::Request<B>> for GuardService<S, M>
where
    M: GuardBodies,
    S: tower::Service<http::Request<Guarded<B, M::Guard>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let guard = self.guards.guard(request.uri().path());
        self.inner.call(request.map(|inner| Guarded::new(inner, guard)))
    }
}

/// A request body that its guard checks frame by frame, failing it with the guard's status.
pub(crate) struct Guarded<B, G> {
    inner: B,
    guard: G,
}

impl<B, G> Guarded<B, G> {
    pub(crate) fn new(inner: B, guard: G) -> Self {
        Guarded { inner, guard }
    }
}

impl<B, G> http_body::Body for Guarded<B, G>
where
    B: http_body::Body + Unpin,
    B::Error: Into<tonic::codegen::StdError>,
    G: BodyGuard,
{
    type Data = B::Data;
    type Error = tonic::codegen::StdError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, Self::Error>>> {
        let this = &mut *self;
        let failed = |status: tonic::Status| -> Poll<Option<Result<_, Self::Error>>> {
            Poll::Ready(Some(Err(Box::new(status))))
        };
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.guard.on_end();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err.into()))),
            Poll::Ready(Some(Ok(frame))) => {
                let len = frame.data_ref().map(bytes::Buf::remaining);
                match len.map_or(Ok(()), |len| this.guard.on_data(len)) {
                    Ok(()) => Poll::Ready(Some(Ok(frame))),
                    Err(status) => failed(status),
                }
            }
            Poll::Pending => match this.guard.poll_pending(cx) {
                Poll::Ready(status) => failed(status),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Gives every gRPC request's body `timeout` to arrive, on every service of the port (put on
/// with [`GuardLayer`]): the OTLP receiver checks its own, but a control-API call whose body
/// never came would hold its stream (and keep its connection from idling, and shutdown
/// waiting) for ever. The body fails with DEADLINE_EXCEEDED when it is late; a body complete
/// in time is untouched.
#[derive(Clone, Copy, Debug)]
pub(super) struct BodyDeadline(pub Duration);

impl GuardBodies for BodyDeadline {
    type Guard = Deadline;

    fn guard(&self, _path: &str) -> Deadline {
        Deadline { sleep: Box::pin(tokio::time::sleep(self.0)), timeout: self.0, done: false }
    }
}

/// One body's deadline.
pub(super) struct Deadline {
    sleep: Pin<Box<Sleep>>,
    timeout: Duration,
    /// The end was seen, or the deadline passed: it no longer applies.
    done: bool,
}

impl BodyGuard for Deadline {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<tonic::Status> {
        if self.done || self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.done = true;
        Poll::Ready(crate::error::EdgeError::BodyTimeout(self.timeout).grpc_status())
    }

    fn on_end(&mut self) {
        self.done = true;
    }
}
