//! The command line's flags (clap), each also `TRACECHECK_<FLAG>`. Values clap cannot
//! judge by type alone (durations, counts with bounds) are checked here, so an absurd value
//! is a clear bad-input error (exit code 2) instead of a panic deep inside.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

use model::defaults;

#[derive(Parser)]
#[command(
    name = "tracecheck",
    version,
    about = "Trace-based tests on OpenTelemetry traces, with an embedded OTLP ingestor"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the largest variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Command {
    /// Run the OTLP ingestor (gRPC and HTTP) and the control API until Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// Run Tracetest test and transaction files.
    Run(RunArgs),
    /// Check definition files without running them.
    Validate(ValidateArgs),
    /// Inspect stored traces.
    Traces {
        #[command(subcommand)]
        command: TracesCommand,
    },
    /// Lint a stored trace's instrumentation with the analyzer.
    Analyze(AnalyzeArgs),
}

#[derive(ClapArgs)]
pub struct IngestArgs {
    /// Address of the OTLP/gRPC receiver and the control API.
    #[arg(long, env = "TRACECHECK_GRPC_ADDR", default_value = defaults::DEFAULT_GRPC_ADDR)]
    pub grpc_addr: SocketAddr,
    /// Address of the OTLP/HTTP receiver.
    #[arg(long, env = "TRACECHECK_HTTP_ADDR", default_value = defaults::DEFAULT_HTTP_ADDR)]
    pub http_addr: SocketAddr,
    /// Evict the least recently updated traces above this much memory held by stored spans
    /// and their index (e.g. 512MiB, 2GiB, or plain bytes). `serve` holds its whole process
    /// to it: the store gives up what the rest of the process is seen to use, down to half.
    #[arg(long, env = "TRACECHECK_MAX_MEMORY", default_value = defaults::DEFAULT_MAX_MEMORY_TEXT,
          value_parser = memory_size)]
    pub max_memory: usize,
    /// Also evict the least recently updated traces above this many stored spans.
    #[arg(long, env = "TRACECHECK_MAX_SPANS", value_parser = at_least_one)]
    pub max_spans: Option<usize>,
    /// The most one trace may hold, in percent of --max-memory (and of --max-spans), e.g. 25%;
    /// its spans past that are refused, counted and reported to the exporter as partial
    /// success. An awaited trace may hold less (an eighth), awaited traces together half.
    #[arg(long, env = "TRACECHECK_MAX_TRACE_SHARE", default_value_t = defaults::DEFAULT_MAX_TRACE_SHARE,
          value_parser = percent)]
    pub max_trace_share: u8,
    /// Evict traces not updated for this long (e.g. 10m, 90s).
    #[arg(long, env = "TRACECHECK_TRACE_TTL", default_value_t = defaults::DEFAULT_TRACE_TTL.into(),
          value_parser = positive_duration)]
    pub trace_ttl: humantime::Duration,
    /// Largest accepted OTLP request in bytes.
    #[arg(long, env = "TRACECHECK_MAX_MESSAGE_SIZE", default_value_t = defaults::DEFAULT_MAX_MESSAGE_SIZE)]
    pub max_message_size: usize,
    /// Export requests taken in at once; more are refused with a retryable status.
    #[arg(long, env = "TRACECHECK_MAX_CONCURRENT_EXPORTS",
          default_value_t = defaults::DEFAULT_MAX_CONCURRENT_EXPORTS, value_parser = export_slots)]
    pub max_concurrent_exports: usize,
    /// Bytes of request bodies being received at once; past it requests are refused with a
    /// retryable status (at least --max-message-size).
    #[arg(long, env = "TRACECHECK_MAX_RECEIVE_BYTES", default_value_t = defaults::DEFAULT_MAX_RECEIVE_BYTES)]
    pub max_receive_bytes: usize,
    /// Close an HTTP/1 connection whose request headers take longer than this.
    #[arg(long, env = "TRACECHECK_HEADER_READ_TIMEOUT",
          default_value_t = defaults::DEFAULT_HEADER_READ_TIMEOUT.into(), value_parser = positive_duration)]
    pub header_read_timeout: humantime::Duration,
    /// Refuse a request whose body takes longer than this to arrive (408 / DEADLINE_EXCEEDED).
    #[arg(long, env = "TRACECHECK_BODY_READ_TIMEOUT",
          default_value_t = defaults::DEFAULT_BODY_READ_TIMEOUT.into(), value_parser = positive_duration)]
    pub body_read_timeout: humantime::Duration,
    /// Close a connection with no request in progress and no traffic for this long.
    #[arg(long, env = "TRACECHECK_IDLE_TIMEOUT",
          default_value_t = defaults::DEFAULT_IDLE_TIMEOUT.into(), value_parser = positive_duration)]
    pub idle_timeout: humantime::Duration,
    /// Page origins whose scripts may export to OTLP/HTTP (CORS on /v1/traces only), comma-
    /// separated: scheme://host[:port], scheme://host:* (any port), or *; empty for none. The
    /// default allows pages served from this machine, so a browser app under test exports
    /// with no flag; it is safe because an origin can only add spans (the bearer token
    /// still applies, and the UI and API keep their same-origin policy), and a page from
    /// elsewhere cannot forge spans into the traces a run judges.
    #[arg(long, env = "TRACECHECK_CORS_ALLOWED_ORIGINS",
          default_value = defaults::DEFAULT_CORS_ALLOWED_ORIGINS, value_parser = cors_origins)]
    pub cors_allowed_origins: server::ingest::cors::AllowedOrigins,
}

#[derive(ClapArgs)]
pub struct ServeArgs {
    #[command(flatten)]
    pub ingest: IngestArgs,
    /// Demand `authorization: Bearer TOKEN` on OTLP, the control API and the web UI.
    #[arg(long, env = "TRACECHECK_AUTH_TOKEN")]
    pub auth_token: Option<String>,
    /// Keep the last N runs recorded by `run --server` for the web UI (and no more of them
    /// than a quarter of --max-memory, measured as JSON; the newest is always kept).
    #[arg(long, env = "TRACECHECK_MAX_RUNS", default_value_t = defaults::DEFAULT_MAX_RUNS)]
    pub max_runs: usize,
    /// Serve OTLP gRPC, OTLP/HTTP and the control API over TLS with this PEM certificate
    /// chain (with --tls-key).
    #[arg(long, env = "TRACECHECK_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "TRACECHECK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Demand client certificates signed by these PEM CA certificates (mTLS).
    #[arg(long, env = "TRACECHECK_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Also serve Jaeger's APIs at the root of this address (for clients that assume
    /// Jaeger's 16686, e.g. 127.0.0.1:16686); they are always under /jaeger on the HTTP port.
    #[arg(long, env = "TRACECHECK_JAEGER_ADDR")]
    pub jaeger_addr: Option<SocketAddr>,
    /// The path Jaeger's APIs answer under on --jaeger-addr (Jaeger's query.base-path).
    #[arg(long, env = "TRACECHECK_JAEGER_BASE_PATH", default_value = "/", requires = "jaeger_addr",
          value_parser = base_path)]
    pub jaeger_base_path: String,
    /// Also serve Tempo's API at the root of this address (for clients that assume Tempo's
    /// 3200, e.g. 127.0.0.1:3200); it is always under /tempo on the HTTP port.
    #[arg(long, env = "TRACECHECK_TEMPO_ADDR")]
    pub tempo_addr: Option<SocketAddr>,
    /// Names the web UI and the HTTP APIs answer to besides IP addresses and localhost, comma
    /// separated (`.example.com` admits its subdomains, `*` any name). A guard against DNS
    /// rebinding: on loopback, a request naming another host is refused (403). On other
    /// interfaces every name is answered unless this is given; guard those with --auth-token.
    /// OTLP's POST /v1/traces is never checked.
    #[arg(long, env = "TRACECHECK_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
}

impl ServeArgs {
    /// The query APIs' own listeners these flags ask for.
    pub fn api_listeners(&self) -> (Option<server::ApiListener>, Option<server::ApiListener>) {
        let jaeger = self
            .jaeger_addr
            .map(|addr| server::ApiListener { addr, base_path: self.jaeger_base_path.clone() });
        let tempo = self.tempo_addr.map(|addr| server::ApiListener { addr, base_path: "/".to_string() });
        (jaeger, tempo)
    }

    /// The TLS files of the listeners, when --tls-cert and --tls-key are given (clap makes
    /// them come together).
    pub fn server_tls(&self) -> Option<server::tls::ServerTls> {
        Some(server::tls::ServerTls {
            cert: self.tls_cert.clone()?,
            key: self.tls_key.clone()?,
            client_ca: self.tls_client_ca.clone(),
        })
    }
}

/// How a client verifies an `https://` server and proves itself to it.
#[derive(ClapArgs, Clone, Debug, Default)]
pub struct ClientTlsArgs {
    /// Verify an https:// server against these PEM CA certificates instead of the system roots.
    #[arg(long, env = "TRACECHECK_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// A PEM client certificate for a server that demands one (mTLS; with --client-key).
    #[arg(long, env = "TRACECHECK_CLIENT_CERT", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The PEM private key of --client-cert.
    #[arg(long, env = "TRACECHECK_CLIENT_KEY", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
}

impl ClientTlsArgs {
    pub fn client_tls(&self) -> server::tls::ClientTls {
        server::tls::ClientTls {
            ca_cert: self.ca_cert.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
        }
    }
}

#[derive(ClapArgs, Clone, Debug)]
pub struct ClientArgs {
    /// A running `tracecheck serve` (its gRPC address; https:// means TLS); several (repeated or comma-separated)
    /// are all asked, as the instances behind a trace-ID load balancer.
    #[arg(long, env = "TRACECHECK_SERVER", default_value = defaults::DEFAULT_SERVER_URL, value_delimiter = ',')]
    pub server: Vec<String>,
    /// Bearer token for a server started with --auth-token.
    #[arg(long, env = "TRACECHECK_AUTH_TOKEN")]
    pub auth_token: Option<String>,
    #[command(flatten)]
    pub tls: ClientTlsArgs,
    /// Tracetest provisioning files: a DataStore of type jaeger or tempo there is read
    /// instead of --server (`traces get` and `analyze`; `traces list` reads servers only).
    #[arg(long, env = "TRACECHECK_CONFIG", value_delimiter = ',')]
    pub config: Vec<PathBuf>,
}

impl ClientArgs {
    /// `--server URL` with no token and no TLS files.
    pub fn new(server: impl Into<String>) -> Self {
        ClientArgs {
            server: vec![server.into()],
            auth_token: None,
            tls: ClientTlsArgs::default(),
            config: Vec::new(),
        }
    }

    /// Connects to every instance these flags name.
    ///
    /// # Errors
    /// See [`server::api::RemoteClient::connect_all`].
    pub async fn connect_all(&self) -> Result<Vec<server::api::RemoteClient>, server::api::Error> {
        server::api::RemoteClient::connect_all(
            &self.server,
            self.auth_token.as_deref(),
            &self.tls.client_tls(),
        )
        .await
    }
}

#[derive(ClapArgs)]
pub struct RunArgs {
    /// Test and Transaction/TestSuite files (Analyzer, PollingProfile, TestRunner, DataStore,
    /// Config and Demo resources configure the run); several to a file with `---`.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Provisioning files, as `tracetest apply` takes them (PollingProfile, TestRunner,
    /// DataStore, Analyzer, Config, Demo); their Tests are not run, only found by suites'
    /// steps that name their IDs. Repeated or comma-separated.
    #[arg(long, env = "TRACECHECK_CONFIG", value_delimiter = ',')]
    pub config: Vec<PathBuf>,
    /// A VariableSet/Environment file with the starting variables.
    #[arg(long, env = "TRACECHECK_VARS")]
    pub vars: Option<PathBuf>,
    /// Use a running `tracecheck serve` instead of the embedded ingestor (https:// means TLS); several (repeated
    /// or comma-separated) are all asked, as the instances behind a trace-ID load balancer.
    #[arg(long, env = "TRACECHECK_SERVER", value_delimiter = ',')]
    pub server: Vec<String>,
    /// Bearer token for --server.
    #[arg(long, env = "TRACECHECK_AUTH_TOKEN")]
    pub auth_token: Option<String>,
    #[command(flatten)]
    pub tls: ClientTlsArgs,
    /// Report format on stdout.
    #[arg(long, short, env = "TRACECHECK_OUTPUT", value_enum, default_value_t = OutputFormat::Pretty)]
    pub output: OutputFormat,
    /// Also write a JUnit XML report here.
    #[arg(long, env = "TRACECHECK_JUNIT")]
    pub junit: Option<PathBuf>,
    /// Also write one self-contained HTML page with the runs and their traces here.
    #[arg(long, env = "TRACECHECK_REPORT_HTML")]
    pub report_html: Option<PathBuf>,
    /// How often a DataStore's Jaeger or Tempo is asked for the trace while a run waits for
    /// it (those backends cannot tell when spans arrive).
    #[arg(long, env = "TRACECHECK_POLL_INTERVAL", default_value = "250ms", value_parser = positive_duration)]
    pub poll_interval: humantime::Duration,
    /// Keep at most this much of a trigger's response body (e.g. 16MiB); the rest is not
    /// read and the step warns. Outputs and assertions see what was kept.
    #[arg(long, env = "TRACECHECK_MAX_RESPONSE_BODY", default_value = defaults::DEFAULT_MAX_RESPONSE_BODY_TEXT,
          value_parser = memory_size)]
    pub max_response_body: usize,
    /// Follow at most this many redirects of an HTTP or GraphQL trigger, to any host or port
    /// (0 = follow none: the redirect is the answer); a step whose trigger was redirected
    /// says where its answer came from.
    #[arg(long, env = "TRACECHECK_MAX_REDIRECTS", default_value_t = defaults::DEFAULT_MAX_REDIRECTS)]
    pub max_redirects: usize,
    /// Give up on a trace this long after the trigger [default: a PollingProfile's timeout,
    /// else 30s].
    #[arg(long, env = "TRACECHECK_TIMEOUT", value_parser = duration)]
    pub timeout: Option<humantime::Duration>,
    /// A trace is complete once no span arrived for this long.
    #[arg(long, env = "TRACECHECK_SETTLE", default_value_t = defaults::DEFAULT_SETTLE.into(),
          value_parser = duration)]
    pub settle: humantime::Duration,
    /// Judge an incomplete trace after this long without a new span.
    #[arg(long, env = "TRACECHECK_GRACE", default_value_t = defaults::DEFAULT_GRACE.into(),
          value_parser = duration)]
    pub grace: humantime::Duration,
    /// Run up to N files at once (each with its own variables).
    #[arg(long, env = "TRACECHECK_PARALLEL", default_value_t = defaults::DEFAULT_PARALLEL,
          value_parser = at_least_one)]
    pub parallel: usize,
    /// An Analyzer file configuring the trace analyzer.
    #[arg(long, env = "TRACECHECK_ANALYZER")]
    pub analyzer: Option<PathBuf>,
    /// Gates a step must pass: test-specs, analyzer-rules, analyzer-score (comma-separated)
    /// [default: a TestRunner's requiredGates, else test-specs].
    #[arg(long, env = "TRACECHECK_REQUIRED_GATES")]
    pub required_gates: Option<String>,
    /// Show every analyzer finding, not just the first few.
    #[arg(long, short, env = "TRACECHECK_VERBOSE")]
    pub verbose: bool,
    #[command(flatten)]
    pub ingest: IngestArgs,
}

#[derive(ClapArgs)]
pub struct ValidateArgs {
    /// Test, Transaction/TestSuite, VariableSet/Environment, Analyzer and provisioning
    /// (PollingProfile, TestRunner, DataStore, Config, Demo) files; several to a file with `---`.
    #[arg(required_unless_present = "config")]
    pub files: Vec<PathBuf>,
    /// Provisioning files, checked like the FILEs (suites' step IDs are found in them too).
    #[arg(long, env = "TRACECHECK_CONFIG", value_delimiter = ',')]
    pub config: Vec<PathBuf>,
}

#[derive(Subcommand)]
pub enum TracesCommand {
    /// The most recently updated traces.
    List {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long, short, env = "TRACECHECK_OUTPUT", value_enum, default_value_t = ViewFormat::Pretty)]
        output: ViewFormat,
    },
    /// One trace: a span waterfall, or every span as JSON.
    Get {
        trace_id: String,
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long, short, env = "TRACECHECK_OUTPUT", value_enum, default_value_t = ViewFormat::Pretty)]
        output: ViewFormat,
    },
    /// Two traces as one merged tree: spans added in B, missing from B, slower, failed or
    /// fixed, matched by service, name and path from the root.
    Diff {
        /// The trace compared against (e.g. the passing run's).
        a: String,
        /// The trace compared (e.g. the failing run's).
        b: String,
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long, short, env = "TRACECHECK_OUTPUT", value_enum, default_value_t = ViewFormat::Pretty)]
        output: ViewFormat,
    },
}

#[derive(ClapArgs)]
pub struct AnalyzeArgs {
    pub trace_id: String,
    #[command(flatten)]
    pub client: ClientArgs,
    /// An Analyzer file configuring the analyzer.
    #[arg(long, env = "TRACECHECK_ANALYZER")]
    pub analyzer: Option<PathBuf>,
    #[arg(long, short, env = "TRACECHECK_OUTPUT", value_enum, default_value_t = ViewFormat::Pretty)]
    pub output: ViewFormat,
    /// Show every finding.
    #[arg(long, short, env = "TRACECHECK_VERBOSE")]
    pub verbose: bool,
}

/// The report formats of `run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Pretty,
    Json,
    Junit,
}

/// How `traces` and `analyze` print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ViewFormat {
    /// For people: a table, a span waterfall, or the analyzer's findings.
    Pretty,
    /// One JSON object on one line (formats in `report::traces` and `report::analysis`).
    Json,
}

impl IngestArgs {
    /// The ingestor these flags describe.
    pub fn server_config(&self, auth_token: Option<String>) -> server::ServerConfig {
        server::ServerConfig {
            grpc_addr: self.grpc_addr,
            http_addr: self.http_addr,
            max_message_size: self.max_message_size,
            auth_token,
            store: store::StoreConfig {
                max_memory: self.max_memory,
                max_spans: self.max_spans.unwrap_or(usize::MAX),
                trace_ttl: self.trace_ttl.into(),
                max_trace_share: self.max_trace_share,
                ..store::StoreConfig::default()
            },
            max_concurrent_exports: self.max_concurrent_exports,
            runs: Default::default(),
            tls: None,
            max_receive_bytes: self.max_receive_bytes,
            timeouts: server::ConnectionTimeouts {
                header_read: self.header_read_timeout.into(),
                body_read: self.body_read_timeout.into(),
                idle: self.idle_timeout.into(),
            },
            jaeger: None,
            tempo: None,
            allowed_hosts: server::hosts::AllowedHosts::Default,
            cors: self.cors_allowed_origins.clone(),
        }
    }
}

/// Why a flag's value was refused; clap prints it after the flag's name (exit code 2).
#[derive(Debug, thiserror::Error)]
enum FlagError {
    #[error(transparent)]
    Duration(#[from] humantime::DurationError),
    #[error(transparent)]
    Number(#[from] std::num::ParseIntError),
    #[error("longer than the longest allowed duration, {days} days")]
    TooLong { days: u64 },
    #[error("must be longer than 0")]
    Zero,
    #[error("must be at least 1")]
    BelowOne,
    #[error("must be at most {0}")]
    AboveMax(usize),
    #[error("{0:?} is not a size (e.g. 512MiB, 2GiB, 1000000)")]
    NotASize(String),
    #[error("unknown unit {unit:?} in {text:?}: use bytes or KiB, MiB, GiB, TiB (e.g. 512MiB)")]
    UnknownUnit { unit: String, text: String },
    #[error("{text:?} is more than the largest allowed, {tib} TiB")]
    TooLarge { text: String, tib: usize },
    #[error("{0:?} is less than the smallest useful store, 1MiB")]
    TooSmall(String),
    #[error("{0:?} is not a URL path: it must start with / (e.g. /jaeger)")]
    NotAPath(String),
    #[error(transparent)]
    Origin(#[from] server::ingest::cors::OriginError),
}

/// `--cors-allowed-origins`: a comma-separated list of origins.
fn cors_origins(text: &str) -> Result<server::ingest::cors::AllowedOrigins, FlagError> {
    Ok(server::ingest::cors::AllowedOrigins::parse(text)?)
}

/// A URL path to serve under: starts with `/`, no query or fragment.
fn base_path(text: &str) -> Result<String, FlagError> {
    let path = text.trim();
    if !path.starts_with('/') || path.contains(['?', '#', ' ']) {
        return Err(FlagError::NotAPath(text.to_string()));
    }
    Ok(path.to_string())
}

/// A duration up to [`defaults::MAX_FLAG_DURATION`]: waits add it to clock readings, which
/// overflow (and panic) for durations of billions of years.
fn duration(text: &str) -> Result<humantime::Duration, FlagError> {
    let parsed: humantime::Duration = text.parse()?;
    if *parsed > defaults::MAX_FLAG_DURATION {
        return Err(FlagError::TooLong { days: defaults::MAX_FLAG_DURATION.as_secs() / 86_400 });
    }
    Ok(parsed)
}

/// A [`duration`] above zero (a zero time-to-live would evict every trace as it arrives).
fn positive_duration(text: &str) -> Result<humantime::Duration, FlagError> {
    let parsed = duration(text)?;
    if *parsed == Duration::ZERO {
        return Err(FlagError::Zero);
    }
    Ok(parsed)
}

fn at_least_one(text: &str) -> Result<usize, FlagError> {
    match text.parse::<usize>()? {
        0 => Err(FlagError::BelowOne),
        n => Ok(n),
    }
}

/// A percentage from 1 to 100, with or without `%`.
fn percent(text: &str) -> Result<u8, FlagError> {
    let n = at_least_one(text.trim().trim_end_matches('%'))?;
    if n > 100 {
        return Err(FlagError::AboveMax(100));
    }
    Ok(n as u8)
}

/// A byte size: plain bytes or a number with a unit (KiB, MiB, GiB, TiB; KB, MB, GB, TB
/// in powers of ten), between [`defaults::MIN_MAX_MEMORY`] and [`defaults::MAX_MAX_MEMORY`].
fn memory_size(text: &str) -> Result<usize, FlagError> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    if digits.is_empty() {
        return Err(FlagError::NotASize(text.to_string()));
    }
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        other => return Err(FlagError::UnknownUnit { unit: other.to_string(), text: text.to_string() }),
    };
    let number: u64 = digits.parse().map_err(|_| FlagError::NotASize(text.to_string()))?;
    let bytes = number.checked_mul(multiplier).filter(|&bytes| bytes <= defaults::MAX_MAX_MEMORY as u64);
    let Some(bytes) = bytes else {
        return Err(FlagError::TooLarge { text: text.to_string(), tib: defaults::MAX_MAX_MEMORY >> 40 });
    };
    if bytes < defaults::MIN_MAX_MEMORY as u64 {
        return Err(FlagError::TooSmall(text.to_string()));
    }
    Ok(bytes as usize)
}

/// Admission slots: at least one, and at most what tokio's semaphore can count.
fn export_slots(text: &str) -> Result<usize, FlagError> {
    let n = at_least_one(text)?;
    if n > tokio::sync::Semaphore::MAX_PERMITS {
        return Err(FlagError::AboveMax(tokio::sync::Semaphore::MAX_PERMITS));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_gates_flag_is_the_default_gates() {
        let gates = analyze::parse_gates(defaults::DEFAULT_REQUIRED_GATES).unwrap();
        assert_eq!(gates, analyze::DEFAULT_REQUIRED_GATES);
    }

    #[test]
    fn flag_bounds() {
        assert!(duration("365days").is_ok());
        assert!(duration("366days").unwrap_err().to_string().contains("365 days"));
        assert_eq!(*duration("0s").unwrap(), Duration::ZERO);
        assert!(positive_duration("0s").is_err());
        assert!(at_least_one("0").is_err());
        assert_eq!(memory_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(memory_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(memory_size("300000000").unwrap(), 300_000_000);
        assert_eq!(memory_size("1 GB").unwrap(), 1_000_000_000);
        assert!(memory_size("0").unwrap_err().to_string().contains("smallest"));
        assert!(memory_size("1000").unwrap_err().to_string().contains("smallest"));
        assert!(memory_size("99999999999TiB").unwrap_err().to_string().contains("largest"));
        assert!(memory_size("512 furlongs").unwrap_err().to_string().contains("unknown unit"));
        assert!(memory_size("lots").unwrap_err().to_string().contains("not a size"));
        assert_eq!(memory_size(defaults::DEFAULT_MAX_MEMORY_TEXT).unwrap(), defaults::DEFAULT_MAX_MEMORY);
        assert_eq!((percent("25%").unwrap(), percent("100").unwrap()), (25, 100));
        assert!(percent("0%").unwrap_err().to_string().contains("at least 1"));
        assert!(percent("101%").unwrap_err().to_string().contains("at most 100"));
        assert!(percent("half").is_err());
        assert_eq!(
            export_slots(&tokio::sync::Semaphore::MAX_PERMITS.to_string()).unwrap(),
            tokio::sync::Semaphore::MAX_PERMITS
        );
    }
}
