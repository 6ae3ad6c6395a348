//! Every default in one place, used by the CLI flags, the library and the tests, so no
//! literal port or duration is scattered through the code.

use std::time::Duration;

pub const DEFAULT_GRPC_ADDR: &str = "127.0.0.1:4317";
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:4318";
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
/// Export requests decoded and stored at once, across both receivers, before further ones
/// are refused with a retryable status. Decoding is CPU work, so a small multiple of the
/// core count keeps every core busy without letting work pile up.
pub const DEFAULT_MAX_CONCURRENT_EXPORTS: usize = 64;
/// How long shutdown lets in-flight requests finish before cutting the connections that
/// are left (a sender stalled mid-body must not hold the process up forever).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
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
