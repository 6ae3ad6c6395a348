//! Triggers: the operation a test starts, which the system under test traces.
//!
//! Each kind lives in its own file with a type that has the same `fire` method: [`http`]
//! (an HTTP request), [`grpc`] (a unary gRPC call built at run time from a proto file),
//! [`kafka`] (one record produced to a topic), [`graphql`] (an HTTP POST of a GraphQL
//! request), [`playwright`] (a Playwright script in Chromium) and [`traceid`] (nothing is sent; the trace was started by something else). [`Trigger`] is
//! the enum over them with one dispatch match. A new trigger is a file, a variant, its
//! YAML shape in `spec` and an integration test.
//!
//! The definitions here hold plain text: `spec` has already checked their `${...}`
//! templates, and the runner resolves them with [`Trigger::render`] before firing.
//! `trigger` knows nothing of variables, traces or reports; it only sends the request with
//! the run's trace context and hands back the response.

pub mod graphql;
pub mod grpc;
pub mod http;
pub mod kafka;
pub mod playwright;
pub mod traceid;

use std::time::SystemTime;

use model::{SpanId, TraceId};

pub use graphql::{GraphqlBody, GraphqlTrigger};
pub use grpc::GrpcTrigger;
pub use http::HttpTrigger;
pub use kafka::{KafkaAuth, KafkaTrigger, SaslMechanism};
pub use playwright::PlaywrightTrigger;
pub use traceid::TraceIdTrigger;

/// A cause kept as it was (reqwest's, tonic's, protox's), for `#[source]`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a trigger could not produce a response. An HTTP 4xx/5xx or a non-OK gRPC status is
/// a response, not an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid url {url:?}: {}", model::error_chain(.source.as_ref()))]
    InvalidUrl { url: String, source: BoxError },
    #[error("invalid http method {0:?}")]
    InvalidMethod(String),
    #[error("invalid header {name:?}: {reason}")]
    InvalidHeader { name: String, reason: String },
    /// The message quotes the whole chain of causes (a refused connection must not hide
    /// behind "error sending request"); `source` keeps them for callers.
    #[error("request to {target} failed: {}", model::error_chain(.source.as_ref()))]
    Request { target: String, source: BoxError },
    #[error("request to {target} timed out after {seconds} s")]
    Timeout { target: String, seconds: u64 },
    /// No connection within the connect timeout: a host that does not answer, or an app
    /// whose listen backlog is full (the kernel drops the SYN; its retry comes after 1 s).
    #[error("cannot connect to {target} within {seconds} s")]
    ConnectTimeout { target: String, seconds: u64 },
    #[error("invalid proto file {name}: {source}")]
    Proto { name: String, source: BoxError },
    #[error("grpc method {method:?} not found in {name}: {reason}")]
    MethodNotFound { method: String, name: String, reason: String },
    #[error("invalid grpc request for {message}: {source}")]
    RequestBody { message: String, source: BoxError },
    #[error("invalid trace id {0:?}: expected 32 hex characters")]
    TraceId(String),
    /// `reason` starts with what went wrong: broker unreachable, TLS failure,
    /// authentication refused, unknown topic, or which call timed out.
    #[error("{target}: {reason}")]
    Kafka { target: String, reason: String },
    /// `reason` names what to install when node, playwright-core or Chromium is missing,
    /// else what failed, with the script's own error message.
    #[error("playwrightEngine {script}: {reason}")]
    Playwright { script: String, reason: String },
}

/// A key/value pair as Tracetest writes headers and metadata (`{key, value}`), in order,
/// repeats allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub key: String,
    pub value: String,
}

/// Credentials for an HTTP trigger (accepted but unused by gRPC, as in Tracetest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// A standard `Authorization: Basic ...` header.
    Basic { username: String, password: String },
    /// A header or query parameter named `key` with `value`.
    ApiKey { key: String, value: String, location: ApiKeyLocation },
    /// `Authorization` set to the token exactly as given: no `Bearer ` prefix is added
    /// (Tracetest Q-9; users write `token: Bearer abc`).
    Bearer { token: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyLocation {
    Header,
    Query,
}

/// What the system under test answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerResponse {
    /// The trace the run waits for: the run's own, or the one a `traceid` trigger names.
    pub trace_id: TraceId,
    /// HTTP status, or the numeric gRPC code (0 = OK); 0 for `traceid`.
    pub status: i64,
    /// `201 Created` for HTTP, the gRPC code's name (`OK`, `NotFound`) for gRPC.
    pub status_text: String,
    /// Every value of every response header (gRPC: response metadata), in order.
    pub headers: Vec<(String, String)>,
    /// Response body text (gRPC: the message as indented JSON).
    pub body: String,
    /// More attributes for the trigger span (kafka: the partition and offset;
    /// playwrightengine: success).
    pub attributes: Vec<(&'static str, i64)>,
    /// Set when the body was longer than [`Session::max_body`]: the bytes kept (the rest was
    /// not read); the step warns.
    pub body_truncated_at: Option<usize>,
    /// What the step's report should say about how the answer was got (a redirect
    /// followed, or one not followed); the runner adds them to the step's warnings.
    pub notes: Vec<String>,
    pub started: SystemTime,
    pub finished: SystemTime,
}

/// What the triggers of one run share: the limits on what a trigger may hold of its answer,
/// and the connections they keep between fires ([`Connections`]). A clone is the same
/// session (its connections are shared); a new one connects afresh.
#[derive(Clone, Debug)]
pub struct Session {
    /// The most of a response body kept, in bytes.
    pub max_body: usize,
    /// The most redirects an HTTP trigger follows; 0 answers with the redirect itself.
    pub max_redirects: usize,
    pub connections: Connections,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            max_body: model::defaults::DEFAULT_MAX_RESPONSE_BODY,
            max_redirects: model::defaults::DEFAULT_MAX_REDIRECTS,
            connections: Connections::default(),
        }
    }
}

tokio::task_local! {
    /// The redirects one HTTP request followed: the shared client's redirect policy runs
    /// within the request's own future, so it counts them here for the step's note.
    pub(crate) static REDIRECTS: std::cell::Cell<usize>;
}

/// The HTTP clients (and so the connection pools) that the http and graphql triggers of one
/// run share, one per certificate policy and redirect limit, the gRPC channels its grpc
/// triggers share, one per address, and the kafka clients its kafka triggers share, one per
/// broker list, TLS setting and credentials (`kafka::KafkaClients`): runs against one app reuse its connections, as a load
/// tool or a browser would. With a client per trigger, 200 runs at once opened 200
/// connections at once; past the app's listen backlog (128 in tokio and std) the kernel
/// dropped the SYNs, whose retry after 1 s met the connect timeout, and steps failed (issue
/// 23, item 3). Built on first use, on the run's runtime, whose tasks drive the connections.
#[derive(Clone, Debug, Default)]
pub struct Connections {
    /// By certificate policy (whether certificates are checked) and redirect limit.
    http: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<(bool, usize), reqwest::Client>>>,
    /// By address (URI); a channel reconnects by itself when its connection breaks.
    grpc: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, tonic::transport::Channel>>>,
    /// By brokers, TLS and credentials: a kafka client and its partition clients.
    kafka: std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<kafka::ClientKey, std::sync::Arc<kafka::KafkaClients>>>,
    >,
}

impl Connections {
    /// The shared client that checks certificates when `verify` and follows at most
    /// `max_redirects` redirects, counting them in [`REDIRECTS`] when the request runs
    /// within its scope.
    pub(crate) fn client(
        &self,
        verify: bool,
        max_redirects: usize,
    ) -> Result<reqwest::Client, reqwest::Error> {
        let mut clients = self.http.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(&(verify, max_redirects)) {
            return Ok(client.clone());
        }
        // Redirects are followed up to the limit, wherever they lead (another port of
        // loopback included, as Go's client does); reqwest drops `Authorization` and
        // cookies when one leaves the host.
        let policy = if max_redirects == 0 {
            reqwest::redirect::Policy::none()
        } else {
            reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > max_redirects {
                    return attempt
                        .error(format!("stopped after {max_redirects} redirects (--max-redirects)"));
                }
                let _ = REDIRECTS.try_with(|hops| hops.set(hops.get() + 1));
                attempt.follow()
            })
        };
        let client = reqwest::Client::builder()
            .redirect(policy)
            .connect_timeout(model::defaults::TRIGGER_CONNECT_TIMEOUT)
            .timeout(model::defaults::TRIGGER_TIMEOUT)
            .pool_idle_timeout(model::defaults::TRIGGER_POOL_IDLE_TIMEOUT)
            .danger_accept_invalid_certs(!verify)
            .build()?;
        clients.insert((verify, max_redirects), client.clone());
        Ok(client)
    }

    /// The channel kept for `uri`, if a trigger of this run connected there.
    pub(crate) fn grpc_channel(&self, uri: &str) -> Option<tonic::transport::Channel> {
        self.grpc.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(uri).cloned()
    }

    /// Keeps `channel` for `uri` unless one is kept already (two first uses at once), and
    /// returns the one kept.
    pub(crate) fn keep_grpc_channel(
        &self,
        uri: &str,
        channel: tonic::transport::Channel,
    ) -> tonic::transport::Channel {
        let mut channels = self.grpc.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        channels.entry(uri.to_string()).or_insert(channel).clone()
    }

    /// The kafka clients kept for `key`, if a trigger of this run connected so.
    pub(crate) fn kafka_clients(
        &self,
        key: &kafka::ClientKey,
    ) -> Option<std::sync::Arc<kafka::KafkaClients>> {
        self.kafka.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).cloned()
    }

    /// Keeps `clients` for `key` unless some are kept already (two first uses at once), and
    /// returns those kept.
    pub(crate) fn keep_kafka_clients(
        &self,
        key: kafka::ClientKey,
        clients: std::sync::Arc<kafka::KafkaClients>,
    ) -> std::sync::Arc<kafka::KafkaClients> {
        let mut kept = self.kafka.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.entry(key).or_insert(clients).clone()
    }

    /// Forgets the kafka clients kept for `key` if they are still `failed` (not new ones
    /// another step made meanwhile).
    pub(crate) fn forget_kafka_clients(
        &self,
        key: &kafka::ClientKey,
        failed: &std::sync::Arc<kafka::KafkaClients>,
    ) {
        let mut kept = self.kafka.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.get(key).is_some_and(|clients| std::sync::Arc::ptr_eq(clients, failed)) {
            kept.remove(key);
        }
    }
}

/// A trigger definition, one variant per kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    Http(HttpTrigger),
    Grpc(GrpcTrigger),
    TraceId(TraceIdTrigger),
    Kafka(KafkaTrigger),
    Graphql(GraphqlTrigger),
    Playwright(PlaywrightTrigger),
}

impl Trigger {
    /// The kind as Tracetest's `trigger.type` spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Http(_) => "http",
            Trigger::Grpc(_) => "grpc",
            Trigger::TraceId(_) => "traceid",
            Trigger::Kafka(_) => "kafka",
            Trigger::Graphql(_) => "graphql",
            Trigger::Playwright(_) => "playwrightengine",
        }
    }

    /// Whether the response belongs on the trigger span as `tracetest.response.*`
    /// (http, grpc and graphql; a `traceid` trigger sent nothing, a `kafka` one has no
    /// response beyond its partition and offset, a `playwrightengine` one only succeeded).
    pub fn records_response(&self) -> bool {
        match self {
            Trigger::Http(_) | Trigger::Grpc(_) | Trigger::Graphql(_) => true,
            Trigger::TraceId(_) | Trigger::Kafka(_) | Trigger::Playwright(_) => false,
        }
    }

    /// A copy with every template field (reference 4.6) passed through `render`; the
    /// runner resolves `${...}` this way before firing.
    ///
    /// # Errors
    /// The first error `render` returns.
    pub fn render<E>(&self, render: &mut impl FnMut(&str) -> Result<String, E>) -> Result<Self, E> {
        Ok(match self {
            Trigger::Http(http) => Trigger::Http(http.render(render)?),
            Trigger::Grpc(grpc) => Trigger::Grpc(grpc.render(render)?),
            Trigger::TraceId(traceid) => Trigger::TraceId(traceid.render(render)?),
            Trigger::Kafka(kafka) => Trigger::Kafka(kafka.render(render)?),
            Trigger::Graphql(graphql) => Trigger::Graphql(graphql.render(render)?),
            Trigger::Playwright(playwright) => Trigger::Playwright(playwright.render(render)?),
        })
    }

    /// Sends the request with the run's trace context (`trace_id`, and `span_id` as the
    /// parent: the trigger span the runner will insert).
    ///
    /// # Errors
    /// When no response could be obtained: bad URL, connection refused, DNS, TLS, timeout,
    /// an unusable proto file, an invalid trace ID.
    pub async fn fire(
        &self,
        trace_id: TraceId,
        span_id: SpanId,
        session: &Session,
    ) -> Result<TriggerResponse, Error> {
        match self {
            Trigger::Http(http) => http.fire(trace_id, span_id, session).await,
            Trigger::Grpc(grpc) => grpc.fire(trace_id, span_id, &session.connections).await,
            Trigger::TraceId(traceid) => traceid.fire(trace_id, span_id).await,
            Trigger::Kafka(kafka) => kafka.fire(trace_id, span_id, &session.connections).await,
            Trigger::Graphql(graphql) => graphql.fire(trace_id, span_id, session).await,
            Trigger::Playwright(playwright) => playwright.fire(trace_id, span_id).await,
        }
    }
}

fn render_headers<E>(
    headers: &[Header],
    render: &mut impl FnMut(&str) -> Result<String, E>,
) -> Result<Vec<Header>, E> {
    headers
        .iter()
        .map(|header| Ok(Header { key: render(&header.key)?, value: render(&header.value)? }))
        .collect()
}

impl Auth {
    fn render<E>(&self, render: &mut impl FnMut(&str) -> Result<String, E>) -> Result<Self, E> {
        Ok(match self {
            Auth::Basic { username, password } => {
                Auth::Basic { username: render(username)?, password: render(password)? }
            }
            Auth::ApiKey { key, value, location } => {
                Auth::ApiKey { key: render(key)?, value: render(value)?, location: *location }
            }
            Auth::Bearer { token } => Auth::Bearer { token: render(token)? },
        })
    }
}

/// The trace context headers Tracetest sends with every trigger (reference 4.7), with
/// every propagator at once and the sampled flag set: HTTP and GraphQL headers, gRPC
/// metadata and Kafka record headers alike. Names are lower case (HTTP/2 and gRPC
/// metadata require it).
pub fn propagation_headers(trace_id: TraceId, span_id: SpanId) -> Vec<(&'static str, String)> {
    let trace = trace_id.to_hex();
    let span = span_id.to_hex();
    vec![
        ("traceparent", format!("00-{trace}-{span}-01")),
        ("tracestate", "tracetest=true".to_string()),
        ("b3", format!("{trace}-{span}-1")),
        ("uber-trace-id", format!("{trace}:{span}:0:1")),
        // The OT propagator carries 64-bit trace IDs: the low half of ours.
        ("ot-tracer-traceid", trace[16..].to_string()),
        ("ot-tracer-spanid", span.clone()),
        ("ot-tracer-sampled", "true".to_string()),
        ("x-amzn-trace-id", format!("Root=1-{}-{};Parent={span};Sampled=1", &trace[..8], &trace[8..])),
    ]
}
