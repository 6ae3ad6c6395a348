//! Load generator and benchmark for the OTLP gRPC receiver (issue 2, item 9).
//!
//! `loadgen bench` pre-encodes realistic export requests (512 spans of about 370 bytes each,
//! eight mixed attributes, a resource with `service.name` and five more attributes, trees of
//! ten spans, a unique trace ID per tree), then for each run starts a fresh server process
//! (`loadgen serve`), sends every request over gRPC with several in flight, and reads the
//! server's CPU time (utime + stime from `/proc/<pid>/stat`) and peak RSS (`VmHWM`). Runs
//! alternate tracecheck and the baseline (A B A B ...) so the machine's drift hits both, and
//! the report gives their ratios. The baseline is a tonic receiver that decodes with
//! `opentelemetry-proto`'s generated types and drops the result.
//!
//! `loadgen bench --sustain 30s` measures the steady state instead (issue 23): each run first
//! sends `--fill-spans`, enough to bring tracecheck's store to its bound, then reads the CPU
//! over a window of sending while the store evicts (its counters are printed at both ends of
//! the window); the requests are stamped out as they are sent.
//!
//! `loadgen send --addr HOST:PORT` sends the same load to any running OTLP gRPC receiver.
//!
//! `loadgen overload --tracecheck PATH` runs the real `tracecheck serve --max-memory` and
//! sends it far more spans than the bound holds, with more requests in flight than the
//! server admits (issue 12, item 1), sampling its RSS throughout; at the end it reads the
//! server's `/metrics` and checks that every span sent is held or counted as evicted.
//!
//! `loadgen grow --tracecheck PATH` runs the real `tracecheck serve --max-memory` and sends
//! it one trace growing by many small exports (issue 22, item 4), printing the ingest rate
//! and peak RSS per tenth of the run: flat when compaction stays linear and the trace is held
//! to its share of the store.
//!
//! `loadgen attack stall|slowloris --addr HOST:PORT` holds hostile connections against an
//! OTLP/HTTP receiver (issue 13, defect 2), for reading the server's peak RSS meanwhile:
//! `stall` declares a body, sends most of it and goes silent; `slowloris` sends a request
//! line and then one header line every few seconds, never finishing.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use server::ingest::grpc::RawCodec;
use tonic::codec::CompressionEncoding;

#[path = "../../benches/support/workload.rs"]
mod workload;
use workload::Workload;

#[derive(Parser)]
#[command(about = "OTLP gRPC load generator and receiver benchmark")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// tracecheck's server: wire decoding into the store.
    Tracecheck,
    /// tonic + generated opentelemetry-proto types, decoded and dropped.
    Baseline,
}

#[derive(clap::Args, Clone)]
struct Load {
    /// Spans to send per run (rounded up to whole requests).
    #[arg(long, default_value_t = 1_000_000)]
    spans: usize,
    /// Spans per export request.
    #[arg(long, default_value_t = 512)]
    batch: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 8)]
    in_flight: usize,
    /// gRPC connections the requests are spread over.
    #[arg(long, default_value_t = 2)]
    connections: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Attack {
    Stall,
    Slowloris,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve OTLP gRPC on --grpc-addr; prints `READY <addr>` once listening.
    Serve {
        #[arg(long, value_enum)]
        kind: Kind,
        #[arg(long, default_value = "127.0.0.1:0")]
        grpc_addr: SocketAddr,
        /// The store's memory bound in bytes (default: the server's).
        #[arg(long)]
        max_memory: Option<usize>,
    },
    /// A B A B runs against fresh server processes, with ratios.
    Bench {
        #[command(flatten)]
        load: Load,
        /// Pairs of runs (tracecheck then baseline).
        #[arg(long, default_value_t = 2)]
        pairs: usize,
        /// Pairs run first and not counted.
        #[arg(long, default_value_t = 1)]
        warmup: usize,
        /// tracecheck's memory bound in bytes (default: the server's).
        #[arg(long)]
        max_memory: Option<usize>,
        /// The steady state instead of a fill (issue 23): each run first sends
        /// --fill-spans (enough to bring the store to its bound, evicting), then measures
        /// while sending for this long, the store evicting throughout. --spans is ignored.
        #[arg(long)]
        sustain: Option<humantime::Duration>,
        /// Spans sent before a sustained run's measured window.
        #[arg(long, default_value_t = 6_000_000)]
        fill_spans: usize,
    },
    /// In-process decode costs, alternating the variants round by round, as ratios to prost.
    Micro {
        /// Rounds per variant.
        #[arg(long, default_value_t = 40)]
        rounds: usize,
    },
    /// Hold hostile connections against an OTLP/HTTP receiver for --hold, then report how
    /// many the server answered or closed.
    Attack {
        #[arg(value_enum)]
        kind: Attack,
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long, default_value_t = 100)]
        connections: usize,
        /// `stall`: the declared body length; 90% of it is sent.
        #[arg(long, default_value_t = 15 * 1024 * 1024)]
        size: usize,
        #[arg(long, default_value = "20s")]
        hold: humantime::Duration,
    },
    /// Overload a real `tracecheck serve`: print its RSS over the run against the bound
    /// and check its counters account for every span.
    Overload {
        #[command(flatten)]
        load: Load,
        /// The tracecheck binary to run.
        #[arg(long, default_value = "target/release/tracecheck")]
        tracecheck: std::path::PathBuf,
        /// Passed to `serve --max-memory`.
        #[arg(long, default_value = "256MiB")]
        max_memory: String,
        /// Passed to `serve --max-concurrent-exports` (the load sends twice this many).
        #[arg(long, default_value_t = model::defaults::DEFAULT_MAX_CONCURRENT_EXPORTS)]
        max_concurrent_exports: usize,
    },
    /// One trace growing by many small exports into a real `tracecheck serve`: the ingest
    /// rate and peak RSS per tenth of the run, then the server's counters.
    Grow {
        /// The tracecheck binary to run.
        #[arg(long, default_value = "target/release/tracecheck")]
        tracecheck: std::path::PathBuf,
        /// Passed to `serve --max-memory`.
        #[arg(long, default_value = "128MiB")]
        max_memory: String,
        /// Spans to send (rounded up to whole requests).
        #[arg(long, default_value_t = 500_000)]
        spans: usize,
        /// Spans per export request.
        #[arg(long, default_value_t = 50)]
        batch: usize,
        /// Requests in flight.
        #[arg(long, default_value_t = 4)]
        in_flight: usize,
    },
    /// Send the load to a running receiver.
    Send {
        #[command(flatten)]
        load: Load,
        #[arg(long)]
        addr: SocketAddr,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Cmd::Serve { kind, grpc_addr, max_memory } => runtime.block_on(serve(kind, grpc_addr, max_memory)),
        Cmd::Bench { load, pairs, warmup, max_memory, sustain, fill_spans } => {
            let mode = match sustain {
                Some(window) => Mode::Sustain { fill_spans, window: window.into() },
                None => Mode::Fill,
            };
            runtime.block_on(bench(load, pairs, warmup, max_memory, mode))
        }
        Cmd::Micro { rounds } => runtime.block_on(micro(rounds)),
        Cmd::Attack { kind, addr, connections, size, hold } => {
            runtime.block_on(attack(kind, addr, connections, size, hold.into()))
        }
        Cmd::Overload { load, tracecheck, max_memory, max_concurrent_exports } => {
            runtime.block_on(overload(load, &tracecheck, &max_memory, max_concurrent_exports))
        }
        Cmd::Grow { tracecheck, max_memory, spans, batch, in_flight } => {
            let load = Load { spans, batch, in_flight, connections: 1 };
            runtime.block_on(grow(load, &tracecheck, &max_memory))
        }
        Cmd::Send { load, addr } => runtime.block_on(async {
            let requests = encode_requests(&load);
            let report = send(addr, &requests, &load).await?;
            println!(
                "sent {} spans in {:.2}s: {:.0} spans/s",
                report.n_spans,
                report.secs,
                report.n_spans as f64 / report.secs
            );
            Ok(())
        }),
    }
}

// ---------------------------------------------------------------------------------------
// Attacks

/// Opens `connections` hostile connections, holds them for `hold`, and prints how many the
/// server ended (an answer or a close) by then.
async fn attack(
    kind: Attack,
    addr: SocketAddr,
    connections: usize,
    size: usize,
    hold: Duration,
) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ended = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let body = Bytes::from(vec![0u8; size / 10 * 9]);
    for _ in 0..connections {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let (mut reader, mut writer) = stream.into_split();
        let body = body.clone();
        tokio::spawn(async move {
            let head = match kind {
                Attack::Stall => format!(
                    "POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\ncontent-length: {size}\r\n\r\n"
                ),
                Attack::Slowloris => "POST /v1/traces HTTP/1.1\r\nhost: x\r\n".to_string(),
            };
            if writer.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            match kind {
                Attack::Stall => {
                    let _ = writer.write_all(&body).await;
                    std::future::pending::<()>().await;
                }
                Attack::Slowloris => {
                    for index in 0u64.. {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        if writer.write_all(format!("x-{index}: y\r\n").as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let ended = ended.clone();
        tokio::spawn(async move {
            let mut byte = [0u8; 1];
            let _ = reader.read(&mut byte).await;
            ended.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
    }
    tokio::time::sleep(hold).await;
    println!(
        "{connections} {kind:?} connections held {hold:?}: {} answered or closed by the server",
        ended.load(std::sync::atomic::Ordering::Relaxed)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Servers

struct DropService;

#[tonic::async_trait]
impl TraceService for DropService {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        drop(request);
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

async fn serve(kind: Kind, grpc_addr: SocketAddr, max_memory: Option<usize>) -> anyhow::Result<()> {
    let mut lines = stdin_lines();
    match kind {
        Kind::Tracecheck => {
            let mut config = server::ServerConfig {
                grpc_addr,
                http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                ..server::ServerConfig::default()
            };
            if let Some(max_memory) = max_memory {
                config.store.max_memory = max_memory;
            }
            let server = server::start(config, |_| tonic::service::Routes::default()).await?;
            println!("READY {}", server.grpc_addr());
            // `DRAIN`: answer once every stored trace is compacted, so the parent's CPU
            // reading includes compaction; `STATS`: the counters now; end of input: stop.
            while let Some(line) = lines.recv().await {
                if line.trim() == "STATS" {
                    let stats = server.store().stats();
                    println!(
                        "STATS spans_held={} spans_evicted={} memory_bytes={} traces_compacted={}",
                        stats.spans_held, stats.spans_evicted, stats.memory_bytes, stats.traces_compacted
                    );
                }
                if line.trim() == "DRAIN" {
                    while server.store().compaction_pending() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    let stats = server.store().stats();
                    println!(
                        "DRAINED spans_held={} spans_evicted={} memory_bytes={} traces_compacted={}",
                        stats.spans_held, stats.spans_evicted, stats.memory_bytes, stats.traces_compacted
                    );
                }
            }
            let stats = server.store().stats();
            eprintln!("store: {stats:?}");
            server.shutdown().await?;
        }
        Kind::Baseline => {
            let listener = tokio::net::TcpListener::bind(grpc_addr).await?;
            println!("READY {}", listener.local_addr()?);
            let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(async move {
                while let Some(line) = lines.recv().await {
                    match line.trim() {
                        "DRAIN" => println!("DRAINED"),
                        "STATS" => println!("STATS"),
                        _ => {}
                    }
                }
                let _ = closed_tx.send(());
            });
            let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            let service = TraceServiceServer::new(DropService)
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(model::defaults::DEFAULT_MAX_MESSAGE_SIZE);
            // The same HTTP/2 windows as tracecheck's server, so only the work differs.
            tonic::transport::Server::builder()
                .initial_stream_window_size(1024 * 1024)
                .initial_connection_window_size(4 * 1024 * 1024)
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = closed_rx.await;
                })
                .await?;
        }
    }
    Ok(())
}

/// The parent's commands, line by line; the channel closes when the parent closes stdin,
/// which ends a run.
fn stdin_lines() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if tx.send(std::mem::take(&mut line)).is_err() {
                break;
            }
        }
    });
    rx
}

// ---------------------------------------------------------------------------------------
// Load

/// Every request of a run, encoded up front.
fn encode_requests(load: &Load) -> Vec<Bytes> {
    let workload = Workload::new(load.batch);
    let n_requests = load.spans.div_ceil(load.batch);
    let per_span = workload.encoded.len() as f64 / load.batch as f64;
    eprintln!(
        "{n_requests} requests of {} spans, {} bytes each ({per_span:.0} bytes per span)",
        load.batch,
        workload.encoded.len()
    );
    (0..n_requests as u64).map(|request| workload.request(request)).collect()
}

struct SendReport {
    n_spans: usize,
    secs: f64,
}

async fn send(addr: SocketAddr, requests: &[Bytes], load: &Load) -> anyhow::Result<SendReport> {
    send_with(addr, requests.len(), |index| requests[index].clone(), load).await
}

/// Sends `n_requests` requests made by `request` (by index).
async fn send_with(
    addr: SocketAddr,
    n_requests: usize,
    request: impl Fn(usize) -> Bytes,
    load: &Load,
) -> anyhow::Result<SendReport> {
    send_until(addr, n_requests, None, request, load).await
}

/// Sends up to `n_requests` requests made by `request` (by index), starting none after
/// `deadline`; the report counts the requests sent.
async fn send_until(
    addr: SocketAddr,
    n_requests: usize,
    deadline: Option<Instant>,
    request: impl Fn(usize) -> Bytes,
    load: &Load,
) -> anyhow::Result<SendReport> {
    let mut channels = Vec::new();
    for _ in 0..load.connections.max(1) {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .initial_stream_window_size(1024 * 1024)
            .initial_connection_window_size(4 * 1024 * 1024)
            .tcp_nodelay(true)
            .connect()
            .await?;
        channels.push(channel);
    }
    let path =
        http::uri::PathAndQuery::from_static("/opentelemetry.proto.collector.trace.v1.TraceService/Export");
    let started = Instant::now();
    let request = &request;
    let mut sent = 0usize;
    let mut responses = futures::stream::iter(0..n_requests)
        .take_while(|_| std::future::ready(deadline.is_none_or(|deadline| Instant::now() < deadline)))
        .map(|index| {
            let bytes = request(index);
            let mut grpc = tonic::client::Grpc::new(channels[index % channels.len()].clone())
                .max_decoding_message_size(usize::MAX);
            let path = path.clone();
            async move {
                // A refusal (overload) is retried, as an exporter would.
                loop {
                    grpc.ready().await.map_err(|err| anyhow::anyhow!("not ready: {err}"))?;
                    match grpc.unary(tonic::Request::new(bytes.clone()), path.clone(), RawCodec).await {
                        Ok(_) => return anyhow::Ok(()),
                        Err(status) if status.code() == tonic::Code::Unavailable => {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        Err(status) => anyhow::bail!("export failed: {status:?}"),
                    }
                }
            }
        })
        .buffer_unordered(load.in_flight.max(1));
    while let Some(result) = responses.next().await {
        result?;
        sent += 1;
    }
    Ok(SendReport { n_spans: sent * load.batch, secs: started.elapsed().as_secs_f64() })
}

// ---------------------------------------------------------------------------------------
// Bench

struct Run {
    kind: Kind,
    spans_per_sec: f64,
    cpu_secs_per_million: f64,
    peak_rss_mib: f64,
}

/// utime + stime of a process, in seconds.
fn cpu_secs(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is parenthesised and may contain spaces.
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11).and_then(|text| text.parse().ok()).unwrap_or(0.0);
    let stime: f64 = fields.get(12).and_then(|text| text.parse().ok()).unwrap_or(0.0);
    Ok((utime + stime) / clock_ticks_per_sec())
}

fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

fn peak_rss_mib(pid: u32) -> anyhow::Result<f64> {
    status_mib(pid, "VmHWM:")
}

fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    status_mib(pid, "VmRSS:")
}

/// A `/proc/<pid>/status` field given in kB, in MiB.
fn status_mib(pid: u32, field: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    Ok(kib / 1024.0)
}

fn spawn_server(
    kind: Kind,
    max_memory: Option<usize>,
) -> anyhow::Result<(Child, SocketAddr, BufReader<std::process::ChildStdout>)> {
    let kind_name = match kind {
        Kind::Tracecheck => "tracecheck",
        Kind::Baseline => "baseline",
    };
    let mut command = Command::new(std::env::current_exe()?);
    command.args(["serve", "--kind", kind_name]);
    if let (Kind::Tracecheck, Some(max_memory)) = (kind, max_memory) {
        command.args(["--max-memory", &max_memory.to_string()]);
    }
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut line = String::new();
    let mut stdout = BufReader::new(stdout);
    stdout.read_line(&mut line)?;
    let addr =
        line.trim().strip_prefix("READY ").ok_or_else(|| anyhow::anyhow!("server said {line:?}"))?.parse()?;
    Ok((child, addr, stdout))
}

/// What a bench run measures.
#[derive(Clone, Copy)]
enum Mode {
    /// Sending `--spans` into an empty store, compaction included.
    Fill,
    /// `window` of sending into a store already at its bound, after `fill_spans`.
    Sustain { fill_spans: usize, window: Duration },
}

async fn bench(
    load: Load,
    pairs: usize,
    warmup: usize,
    max_memory: Option<usize>,
    mode: Mode,
) -> anyhow::Result<()> {
    // A sustained run sends far more than fits in memory pre-encoded: its requests are
    // stamped out as they are sent (in this process, outside the server's CPU reading).
    let requests = match mode {
        Mode::Fill => Requests::Encoded(encode_requests(&load)),
        Mode::Sustain { .. } => Requests::Made(Workload::new(load.batch)),
    };
    eprintln!(
        "model sizes: Span {} B, KeyValue {} B, AttributeValue {} B",
        std::mem::size_of::<model::Span>(),
        std::mem::size_of::<model::KeyValue>(),
        std::mem::size_of::<model::AttributeValue>()
    );
    // The first server after the machine sat idle pays for memory the hypervisor had taken
    // back (seen as a 30-70 % slower first run here), which says nothing about either
    // receiver: warm-up pairs run first and are shown but not counted.
    for _ in 0..warmup {
        for kind in [Kind::Tracecheck, Kind::Baseline] {
            run_once(kind, &requests, &load, max_memory, mode).await?.print("(warm-up, not counted)");
        }
    }
    let mut runs = Vec::new();
    for _ in 0..pairs {
        for kind in [Kind::Tracecheck, Kind::Baseline] {
            let run = run_once(kind, &requests, &load, max_memory, mode).await?;
            run.print("");
            runs.push(run);
        }
    }
    let pair_ratios: Vec<(f64, f64)> = runs
        .chunks(2)
        .filter(|pair| pair.len() == 2)
        .map(|pair| {
            (
                pair[0].cpu_secs_per_million / pair[1].cpu_secs_per_million,
                pair[0].spans_per_sec / pair[1].spans_per_sec,
            )
        })
        .collect();
    for (index, (cpu_ratio, rate_ratio)) in pair_ratios.iter().enumerate() {
        println!(
            "pair {}: tracecheck/baseline CPU per span {cpu_ratio:.3}x, throughput {rate_ratio:.3}x",
            index + 1
        );
    }
    let mean = |values: Vec<f64>| values.iter().sum::<f64>() / values.len().max(1) as f64;
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let cpu: Vec<f64> = pair_ratios.iter().map(|pair| pair.0).collect();
    let rate: Vec<f64> = pair_ratios.iter().map(|pair| pair.1).collect();
    println!(
        "mean: CPU per span {:.3}x baseline (median {:.3}x), throughput {:.3}x baseline",
        mean(cpu.clone()),
        median(cpu),
        mean(rate)
    );
    Ok(())
}

/// A run's requests: encoded up front, or made as they are sent.
enum Requests {
    Encoded(Vec<Bytes>),
    Made(Workload),
}

/// Sends `line` to a `loadgen serve` child and returns its one-line answer.
fn ask(
    child: &mut Child,
    stdout: &mut BufReader<std::process::ChildStdout>,
    line: &str,
) -> anyhow::Result<String> {
    use std::io::Write as _;
    let stdin = child.stdin.as_mut().ok_or_else(|| anyhow::anyhow!("no stdin"))?;
    writeln!(stdin, "{line}")?;
    stdin.flush()?;
    let mut answer = String::new();
    stdout.read_line(&mut answer)?;
    Ok(answer.trim().to_string())
}

/// One run against a fresh server process.
async fn run_once(
    kind: Kind,
    requests: &Requests,
    load: &Load,
    max_memory: Option<usize>,
    mode: Mode,
) -> anyhow::Result<Run> {
    let (mut child, addr, mut stdout) = spawn_server(kind, max_memory)?;
    if let (Requests::Made(workload), Mode::Sustain { fill_spans, window }) = (requests, mode) {
        let fill = fill_spans.div_ceil(load.batch);
        send_until(addr, fill, None, |index| workload.request(index as u64), load).await?;
        let before = ask(&mut child, &mut stdout, "STATS")?;
        let cpu_before = cpu_secs(child.id())?;
        let deadline = Instant::now() + window;
        let report = send_until(
            addr,
            usize::MAX - fill,
            Some(deadline),
            |index| workload.request((fill + index) as u64),
            load,
        )
        .await?;
        let cpu = cpu_secs(child.id())? - cpu_before;
        let after = ask(&mut child, &mut stdout, "STATS")?;
        if kind == Kind::Tracecheck {
            eprintln!("  window start: {before}\n  window end:   {after}");
        }
        let rss = peak_rss_mib(child.id())?;
        drop(child.stdin.take());
        let _ = child.wait();
        return Ok(Run {
            kind,
            spans_per_sec: report.n_spans as f64 / report.secs,
            cpu_secs_per_million: cpu / (report.n_spans as f64 / 1e6),
            peak_rss_mib: rss,
        });
    }
    let Requests::Encoded(requests) = requests else { anyhow::bail!("a fill needs its requests encoded") };
    let cpu_before = cpu_secs(child.id())?;
    let report = send(addr, requests, load).await?;
    // The CPU reading includes the compaction of what was sent (the server answers once
    // every trace is compacted; the wait for the quiet window itself costs no CPU).
    let drained = ask(&mut child, &mut stdout, "DRAIN")?;
    let cpu = cpu_secs(child.id())? - cpu_before;
    if kind == Kind::Tracecheck {
        eprintln!("  {drained}");
    }
    let rss = peak_rss_mib(child.id())?;
    drop(child.stdin.take());
    let _ = child.wait();
    Ok(Run {
        kind,
        spans_per_sec: report.n_spans as f64 / report.secs,
        cpu_secs_per_million: cpu / (report.n_spans as f64 / 1e6),
        peak_rss_mib: rss,
    })
}

impl Run {
    fn print(&self, note: &str) {
        println!(
            "{:<10} {:>10.0} spans/s  {:>6.3} CPU-s/M spans  {:>7.1} MiB peak RSS {note}",
            format!("{:?}", self.kind).to_lowercase(),
            self.spans_per_sec,
            self.cpu_secs_per_million,
            self.peak_rss_mib
        );
    }
}

// ---------------------------------------------------------------------------------------
// Overload

/// Runs `tracecheck serve --max-memory`, sends `load.spans` spans with twice the server's
/// admission limit in flight (requests are made as they are sent: a run of millions of
/// spans would not fit pre-encoded), samples the server's RSS every 10 ms, and checks the
/// server's own counters at the end.
async fn overload(
    mut load: Load,
    tracecheck: &std::path::Path,
    max_memory: &str,
    max_concurrent_exports: usize,
) -> anyhow::Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    load.in_flight = 2 * max_concurrent_exports;
    let concurrent = max_concurrent_exports.to_string();
    let (mut child, pid, grpc, http) =
        tracecheck_serve(tracecheck, &["--max-memory", max_memory, "--max-concurrent-exports", &concurrent])
            .await?;
    let workload = Workload::new(load.batch);
    let n_requests = load.spans.div_ceil(load.batch);
    eprintln!(
        "overload: {} spans in {n_requests} requests, {} in flight over {} connections, server --max-memory {max_memory} --max-concurrent-exports {max_concurrent_exports}",
        n_requests * load.batch,
        load.in_flight,
        load.connections
    );
    // RSS sampled while sending; `sent` lets the sampler say how far the run was.
    let done = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, sent) = (done.clone(), sent.clone());
        tokio::spawn(async move {
            let mut samples: Vec<(u64, f64)> = Vec::new();
            while !done.load(Ordering::Relaxed) {
                if let Ok(rss) = rss_mib(pid) {
                    samples.push((sent.load(Ordering::Relaxed), rss));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            samples
        })
    };
    let report = send_with(
        grpc,
        n_requests,
        |index| {
            sent.fetch_add(1, Ordering::Relaxed);
            workload.request(index as u64)
        },
        &load,
    )
    .await?;
    done.store(true, Ordering::Relaxed);
    let samples = sampler.await?;
    println!(
        "sent {} spans in {:.1}s ({:.0} spans/s)",
        report.n_spans,
        report.secs,
        report.n_spans as f64 / report.secs
    );
    // Peak RSS per fifth of the run: flat when the bound holds, rising when it does not.
    for fifth in 0..5u64 {
        let (from, to) = (fifth * n_requests as u64 / 5, (fifth + 1) * n_requests as u64 / 5);
        let peak =
            samples.iter().filter(|(at, _)| (from..to).contains(at)).map(|&(_, rss)| rss).fold(0.0, f64::max);
        println!("  requests {from:>6}-{to:<6} peak RSS {peak:>6.1} MiB");
    }
    println!("peak RSS over the run (VmHWM): {:.1} MiB", peak_rss_mib(pid)?);
    let metrics = fetch_metrics(http).await?;
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<f64>().ok())
            .unwrap_or(0.0) as u64
    };
    let received = value("tracecheck_spans_received_total");
    let held = value("tracecheck_spans_held");
    let evicted = value("tracecheck_spans_evicted_total");
    let duplicates = value("tracecheck_spans_duplicate_total");
    println!(
        "server: {received} spans received, {held} held, {evicted} evicted ({} traces), {duplicates} duplicates, {} bytes held, {} export requests refused and retried",
        value("tracecheck_traces_evicted_total"),
        value("tracecheck_memory_bytes"),
        metrics
            .lines()
            .filter(|line| line.starts_with("tracecheck_export_requests_total{") && !line.contains("outcome=\"ok\""))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum::<u64>()
    );
    let accounted = received == report.n_spans as u64 && received == held + evicted + duplicates;
    println!(
        "every span accounted for (sent = received = held + evicted + duplicates): {}",
        if accounted { "yes" } else { "NO" }
    );
    child.kill().await?;
    anyhow::ensure!(accounted, "spans unaccounted for");
    Ok(())
}

/// Request `index` of the growing trace: `batch` spans of the workload's shape, all of one
/// trace, with span IDs unique across the run, children of its first span.
fn growing_request(template: &ExportTraceServiceRequest, index: usize, batch: usize) -> Bytes {
    use prost::Message;
    let mut request = template.clone();
    for (position, span) in request.resource_spans[0].scope_spans[0].spans.iter_mut().enumerate() {
        let global = (index * batch + position) as u64;
        span.trace_id = vec![0x42; 16];
        span.span_id = (global + 1).to_be_bytes().to_vec();
        span.parent_span_id = if global == 0 { Vec::new() } else { 1u64.to_be_bytes().to_vec() };
    }
    Bytes::from(request.encode_to_vec())
}

/// Runs `tracecheck serve --max-memory` and sends it one trace in `load.batch`-span requests,
/// a tenth of the run at a time, sampling its RSS every 10 ms.
async fn grow(load: Load, tracecheck: &std::path::Path, max_memory: &str) -> anyhow::Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let (mut child, pid, grpc, http) = tracecheck_serve(tracecheck, &["--max-memory", max_memory]).await?;
    let template = workload::template(load.batch);
    let n_requests = load.spans.div_ceil(load.batch);
    eprintln!(
        "grow: one trace of {} spans in {n_requests} requests of {}, {} in flight, server --max-memory {max_memory}",
        n_requests * load.batch,
        load.batch,
        load.in_flight
    );
    let cpu_before = cpu_secs(pid)?;
    for tenth in 0..10 {
        let (from, to) = (tenth * n_requests / 10, (tenth + 1) * n_requests / 10);
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let done = done.clone();
            tokio::spawn(async move {
                let mut peak: f64 = 0.0;
                while !done.load(Ordering::Relaxed) {
                    peak = peak.max(rss_mib(pid).unwrap_or(0.0));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                peak
            })
        };
        let cpu = cpu_secs(pid)?;
        let report =
            send_with(grpc, to - from, |index| growing_request(&template, from + index, load.batch), &load)
                .await?;
        done.store(true, Ordering::Relaxed);
        let peak = sampler.await?;
        println!(
            "  spans {:>8}-{:<8} {:>8.0} spans/s  {:>6.2} CPU-s per M spans  peak RSS {peak:>7.1} MiB",
            from * load.batch,
            to * load.batch,
            report.n_spans as f64 / report.secs,
            (cpu_secs(pid)? - cpu) / report.n_spans as f64 * 1e6
        );
    }
    let metrics = fetch_metrics(http).await?;
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<f64>().ok())
            .unwrap_or(0.0) as u64
    };
    println!(
        "server: {:.1} CPU-s, peak RSS (VmHWM) {:.1} MiB; {} spans received, {} held, {} refused over the trace's share, {} evicted, {} bytes held, {} compactions",
        cpu_secs(pid)? - cpu_before,
        peak_rss_mib(pid)?,
        value("tracecheck_spans_received_total"),
        value("tracecheck_spans_held"),
        value("tracecheck_spans_refused_total{reason=\"trace_cap\"}"),
        value("tracecheck_spans_evicted_total"),
        value("tracecheck_memory_bytes"),
        value("tracecheck_traces_compacted_total"),
    );
    child.kill().await?;
    Ok(())
}

/// A real `tracecheck serve` on port 0 with `flags`, once it listens: the child, its pid,
/// and its gRPC and HTTP addresses.
async fn tracecheck_serve(
    tracecheck: &std::path::Path,
    flags: &[&str],
) -> anyhow::Result<(tokio::process::Child, u32, SocketAddr, SocketAddr)> {
    let mut child = tokio::process::Command::new(tracecheck)
        .args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
        .args(flags)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| anyhow::anyhow!("cannot run {}: {err}", tracecheck.display()))?;
    let pid = child.id().ok_or_else(|| anyhow::anyhow!("server exited"))?;
    let (grpc, http) = serve_addrs(child.stderr.take().ok_or_else(|| anyhow::anyhow!("no stderr"))?).await?;
    Ok((child, pid, grpc, http))
}

/// Reads `tracecheck serve`'s log until it says where it serves; keeps draining it after.
async fn serve_addrs(stderr: tokio::process::ChildStderr) -> anyhow::Result<(SocketAddr, SocketAddr)> {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    while let Some(line) = lines.next_line().await? {
        if !line.contains("tracecheck serving") {
            continue;
        }
        let field = |name: &str| -> anyhow::Result<SocketAddr> {
            let text = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix(name))
                .ok_or_else(|| anyhow::anyhow!("no {name} in {line:?}"))?;
            Ok(text.trim_matches(|c: char| !c.is_ascii_digit() && c != '.' && c != ':').parse()?)
        };
        let addrs = (field("grpc=")?, field("http=")?);
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        return Ok(addrs);
    }
    anyhow::bail!("tracecheck serve exited before serving")
}

/// `GET /metrics` over a plain HTTP/1.1 connection.
async fn fetch_metrics(http: SocketAddr) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(http).await?;
    // The Host must be one the server answers (DNS rebinding check): its own address.
    let head = format!("GET /metrics HTTP/1.1\r\nhost: {http}\r\nconnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default())
}

// ---------------------------------------------------------------------------------------
// Micro

/// Times the decode variants on the same requests, interleaved round by round so that the
/// machine's drift affects each alike, and prints medians per span and ratios to prost.
async fn micro(rounds: usize) -> anyhow::Result<()> {
    use model::otlp;
    use prost::Message;
    use server::ingest;
    const PER_ROUND: u64 = 16;
    let workload = Workload::new(512);
    let (store, _guard) = store::TraceStore::new(store::StoreConfig::default());
    let names = [
        "prost decode + drop",
        "generated decode + convert + drop",
        "wire decode into spans + drop (reads)",
        "split (validate) + drop",
        "split + store (the receiver)",
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut next_request = 0u64;
    for _ in 0..rounds {
        let requests: Vec<Bytes> = (0..PER_ROUND)
            .map(|_| {
                next_request += 1;
                workload.request(next_request)
            })
            .collect();
        for (variant, samples) in times.iter_mut().enumerate() {
            let started = Instant::now();
            for request in &requests {
                match variant {
                    0 => drop(ExportTraceServiceRequest::decode(&request[..])?),
                    1 => drop(otlp::decode_protobuf_generated(request)?),
                    2 => drop(otlp::decode_protobuf(request)?),
                    3 => drop(otlp::split_request(request)?),
                    _ => drop(ingest::export_protobuf(&store, request)?),
                }
            }
            samples.push(started.elapsed().as_secs_f64() / (PER_ROUND as f64 * 512.0));
        }
    }
    let median = |samples: &mut Vec<f64>| {
        samples.sort_by(f64::total_cmp);
        samples[samples.len() / 2]
    };
    let medians: Vec<f64> = times.iter_mut().map(median).collect();
    for (name, value) in names.iter().zip(&medians) {
        println!("{name:<40} {:>7.1} ns/span  {:.3}x prost", value * 1e9, value / medians[0]);
    }
    println!("store after micro: {} spans held", store.stats().spans_held);
    Ok(())
}
