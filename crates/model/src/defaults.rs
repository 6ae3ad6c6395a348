//! Every default in one place, used by the CLI flags, the library and the tests, so no
//! literal port or duration is scattered through the code.

use std::time::Duration;

pub const DEFAULT_GRPC_ADDR: &str = "127.0.0.1:4317";
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:4318";

/// The page origins whose scripts may export to the OTLP/HTTP receiver (CORS): pages served
/// from this machine, on any port, so a local browser app exports with no flag. A page from
/// elsewhere cannot write spans into the traces a run judges.
pub const DEFAULT_CORS_ALLOWED_ORIGINS: &str =
    "http://localhost:*,https://localhost:*,http://127.0.0.1:*,https://127.0.0.1:*,http://[::1]:*,https://[::1]:*";
pub const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:4317";
/// Largest accepted OTLP request (gRPC message or HTTP body, after decompression).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;
/// The store's memory bound (`serve --max-memory`): stored spans and their index.
pub const DEFAULT_MAX_MEMORY: usize = 512 * 1024 * 1024;
/// [`DEFAULT_MAX_MEMORY`] as the flag shows it (a test holds the two together).
pub const DEFAULT_MAX_MEMORY_TEXT: &str = "512MiB";
/// `--max-memory` below this cannot hold a useful store; above the other, a typo.
pub const MIN_MAX_MEMORY: usize = 1024 * 1024;
pub const MAX_MAX_MEMORY: usize = 64 << 40;
/// An awaited trace is never evicted, so it may hold at most this fraction (1/N) of the
/// store's bounds; spans past that are refused and counted (issue 13, defect 5).
pub const AWAITED_TRACE_SHARE: usize = 8;
/// ... but never less than this many spans and bytes, so that a store bounded very tightly
/// still lets a test's trace arrive whole.
pub const AWAITED_TRACE_MIN_SPANS: usize = 1_000;
pub const AWAITED_TRACE_MIN_BYTES: usize = 1024 * 1024;
/// All awaited traces together may hold at most this fraction (1/N) of `--max-memory` (but
/// never less than [`AWAITED_TRACE_MIN_BYTES`]): each is capped, but forty waits at once
/// reached 3.8x the bound (issue 22, item 3). Spans past it are refused and counted.
pub const AWAITED_TRACES_SHARE: usize = 2;
/// `--max-trace-share`: one trace may hold at most this percentage of `--max-memory` (and of
/// `--max-spans`), never less than the awaited minimums above; past it its spans are
/// refused and counted, so a single growing trace cannot take the whole store (issue 22,
/// item 4). A quarter holds a 1 M-span trace at the default bound once compacted.
pub const DEFAULT_MAX_TRACE_SHARE: u8 = 25;
/// At most this fraction (1/N) of `--max-memory` is held as open (uncompressed) spans: past
/// it, compaction stops waiting for a trace's quiet window and takes the least recently
/// updated traces first. The window alone lets the open bytes grow with the ingest rate
/// (at 1.6 M spans/s, half a second holds ~300 MB); this keeps them a fixed share, 2 MiB at
/// the default bound. It was a 16th: open spans are the fill's transient peak, and a 256th
/// took 23 MiB off a 1 M-span fill's peak RSS at no CPU cost (issue 23, BENCHMARKS.md).
/// The price, at high rates only: a trace whose spans come in several exports is compacted
/// in pieces, each merged into its newest block.
pub const OPEN_BYTES_SHARE: usize = 256;
pub const DEFAULT_TRACE_TTL: Duration = Duration::from_secs(10 * 60);
/// Completeness rule 4: no new span for this long.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(500);
/// Judge an incomplete trace after this much quiet (the OpenTelemetry SDKs' batch delay).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// Give up on a trace this long after the trigger.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the server logs its counters.
pub const STATS_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// A trigger's HTTP or gRPC connection must be up within this long (as Tracetest).
pub const TRIGGER_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// A trigger's whole request/response exchange must finish within this long (as Tracetest).
pub const TRIGGER_TIMEOUT: Duration = Duration::from_secs(30);
/// A trigger's pooled connection idle longer than this is not reused: under the 5 s after
/// which Node's servers close an idle connection, so a request never races that close (the
/// request would fail with the connection reset, not be retried).
pub const TRIGGER_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// Export requests decoded and stored at once, across both receivers, before further ones
/// are refused with a retryable status. Decoding is CPU work, so a small multiple of the
/// core count keeps every core busy without letting work pile up.
pub const DEFAULT_MAX_CONCURRENT_EXPORTS: usize = 64;
/// How long shutdown lets in-flight requests finish, on both listeners together, before
/// cutting the connections that are left (a sender stalled mid-body must not hold the
/// process up forever).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of request bodies being received at once, across both receivers (wire bytes, plus
/// the inflated bytes of a gzip body while it is decoded). Taken before a body is read (its
/// declared length, or chunk by chunk as it arrives), so stalled uploads cannot hold more;
/// past it requests are refused with a retryable status. Eight largest messages.
pub const DEFAULT_MAX_RECEIVE_BYTES: usize = 8 * DEFAULT_MAX_MESSAGE_SIZE;
/// An HTTP/1 request's headers must arrive within this long (slowloris).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's whole body must arrive within this long, on either receiver: at the default
/// 16 MiB limit that is about 550 KiB/s, far below any real exporter's link.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection with no request in progress and no byte read or written for this long is
/// closed (exporters reconnect; an idle descriptor is one less for everyone else).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// After a failed accept (out of file descriptors, say), the listener waits this long
/// before the next, doubling up to [`ACCEPT_BACKOFF_MAX`] while failures continue.
pub const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// How many connections each listener of `serve` queues before it accepts them (the kernel
/// caps it at `net.core.somaxconn`, 4096 on Linux since 5.4). std's and tokio's 128 was too
/// few for a burst: past it the kernel drops the SYN and the client retries only after 1 s,
/// as 200 runs at once against an app showed (issue 23).
pub const LISTEN_BACKLOG: u32 = 1024;
/// `ListTraces` with `limit = 0` (and `traces list`) answers this many traces.
pub const DEFAULT_LIST_LIMIT: usize = 100;
/// The most traces one `ListTraces` answers.
pub const MAX_LIST_LIMIT: usize = 10_000;
/// A control API client (`--server`) must be connected within this long.
pub const CONTROL_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// `run --parallel`: files run one at a time, so the reporter shows every step live.
pub const DEFAULT_PARALLEL: usize = 1;
/// `run --required-gates`: as Tracetest's CLI, only the test specs gate a step.
pub const DEFAULT_REQUIRED_GATES: &str = "test-specs";
/// The longest duration a flag accepts (`--timeout`, `--settle`, `--grace`,
/// `--trace-ttl`): far beyond any real wait, and far below where adding it to a clock
/// reading would overflow.
pub const MAX_FLAG_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// Failed spans listed per failed analyzer rule unless `--verbose` asks for all of them.
pub const DEFAULT_SPANS_PER_RULE: usize = 3;
/// Largest Test, TestSuite or VariableSet file loaded: parsed YAML takes about 55 times
/// the file's size in memory, and real definition files are a few KiB.
pub const MAX_DEFINITION_FILE_SIZE: u64 = 1024 * 1024;
/// Runs recorded by `run --server` that the server keeps (`--max-runs`); older ones are dropped.
pub const DEFAULT_MAX_RUNS: usize = 100;
/// The largest control-API request a server takes (uncompressed): a `RecordRun` carries a
/// run's report and the traces it judged, a 10,000-span trace being a few MiB of OTLP, and a
/// run's report reached 7.1 MB; tonic's default of 4 MiB refused such runs. Above this, the
/// run says it was not recorded and `run` exits 1. While it arrives, its body is held on the
/// server's receive budget (`--max-receive-bytes`, 128 MiB by default), which is then the
/// lower limit.
pub const MAX_CONTROL_REQUEST_SIZE: usize = 256 * 1024 * 1024;
/// Traces one page of the web API's list answers unless asked otherwise, and at most.
pub const DEFAULT_WEB_LIST_LIMIT: usize = 50;
pub const MAX_WEB_LIST_LIMIT: usize = 1_000;
/// Traces one filtered list request decodes at most before answering with a cursor, so a
/// selector that matches nothing never makes a request decode the whole store.
pub const WEB_LIST_SCAN_BUDGET: usize = 2_000;

// Kafka triggers.

/// Connecting (TCP, TLS, SASL and the first metadata request) must finish in this time.
/// Longer than the HTTP connect timeout: it is several round trips, and a wrong SASL
/// mechanism can leave the broker silent.
pub const KAFKA_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long rskafka keeps retrying a failing request (it retries forever by default, so
/// a refused connection would only end at the outer timeout).
pub const KAFKA_RETRY_DEADLINE: Duration = Duration::from_secs(3);

/// How often the progress line is refreshed while a trace is awaited in this process (its
/// span count is read from the store). Display only: the wait itself is woken by inserts,
/// never by this timer, and there is no timer when no progress is shown (off a terminal).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
/// How often the progress line of a step waiting on a server (`--server`) is refreshed: it
/// shows the time waited only (the server is not asked for the span count just to draw it),
/// so once a second is enough to show the wait going on.
pub const REMOTE_PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
/// What reading one span whole takes at the server, estimated before a read decodes
/// anything: the decoded span with its attributes, its place in the tree the web API lays
/// out and its share of the JSON being written (measured: BENCHMARKS.md, "Big-trace
/// reads").
pub const READ_BYTES_PER_SPAN: u64 = 4 * 1024;
/// The most spans one part of a trace holds (`GET /api/v1/traces/{id}?offset=&limit=`, how
/// the UI opens a trace too large to read whole): the UI's target is a 10,000-span
/// waterfall drawn in under 500 ms. A part is smaller still when the read budget cannot
/// hold this many.
pub const MAX_TRACE_PART_SPANS: usize = 10_000;
/// The share of `--max-memory` whole-trace reads in flight may hold together (1/N).
pub const READ_MEMORY_DIVISOR: u64 = 4;

/// The most of a trigger's response body a run keeps (`run --max-response-body`): the body
/// is held in memory, matched by expressions and written to reports; the rest is not read
/// and the step says so.
pub const DEFAULT_MAX_RESPONSE_BODY: usize = 16 * 1024 * 1024;
pub const DEFAULT_MAX_RESPONSE_BODY_TEXT: &str = "16MiB";
/// How many redirects an HTTP trigger follows (`run --max-redirects`; 0 = none, the 3xx is
/// the answer): Go's `http.Client`, which Tracetest's trigger uses, stops after 10.
pub const DEFAULT_MAX_REDIRECTS: usize = 10;
/// The most values one `json_path` may produce: `$..*..*` multiplies matches with each
/// descendant segment (3.9 million from 200 bytes), and a run holds every one.
pub const MAX_JSON_PATH_RESULTS: usize = 100_000;
/// HTTP/2 streams one gRPC connection may have open at once.
pub const MAX_CONCURRENT_STREAMS: u32 = 256;
/// Live event streams (`/api/v1/events`) served at once; more are refused (503, counted):
/// each holds a connection and remembers the traces it has announced.
pub const MAX_EVENT_STREAMS: usize = 64;
/// The longest completeness wait a trace-by-ID read may ask for (`?wait=`): a read that
/// waits pins its trace, so a client cannot hold one for longer than a run's own timeout.
pub const MAX_READ_WAIT: Duration = Duration::from_secs(5 * 60);
/// The prefixes of the field's query APIs on the HTTP port (each also served at the root
/// of its own listener: `--jaeger-addr`, `--tempo-addr`).
pub const JAEGER_PREFIX: &str = "/jaeger";
pub const TEMPO_PREFIX: &str = "/tempo";
/// The MCP endpoint (Streamable HTTP) on the HTTP port.
pub const MCP_PATH: &str = "/mcp";

/// Traces a Jaeger search answers when it names no `limit` (Jaeger's own default).
pub const JAEGER_SEARCH_LIMIT: usize = 100;
/// The most traces one Jaeger search may ask for.
pub const MAX_JAEGER_SEARCH_LIMIT: usize = 10_000;
/// How far back a Jaeger search looks without `start` (Jaeger's default: two days).
pub const JAEGER_SEARCH_LOOKBACK: Duration = Duration::from_secs(2 * 24 * 3600);
/// How far back `/api/dependencies` looks without `lookback` (Jaeger's default: a day).
pub const JAEGER_DEPENDENCIES_LOOKBACK: Duration = Duration::from_secs(24 * 3600);
