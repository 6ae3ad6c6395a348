//! The `tracecheck` command line: parse flags, call the library, map outcomes to exit codes
//! (0 all passed, 1 a test or step failed, 2 bad input). Nothing else lives here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tracecheck::defaults;

#[derive(Parser)]
#[command(
    name = "tracecheck",
    version,
    about = "Trace-based tests on OpenTelemetry traces, with an embedded OTLP ingestor"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the OTLP ingestor (gRPC and HTTP) and the control API until Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// Run Tracetest test and transaction files.
    Run(RunArgs),
    /// Check definition files without running them.
    Validate {
        /// Test, Transaction/TestSuite, VariableSet/Environment or Analyzer files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Inspect stored traces.
    Traces {
        #[command(subcommand)]
        command: TracesCommand,
    },
    /// Lint a stored trace's instrumentation with the analyzer.
    Analyze(AnalyzeArgs),
}

#[derive(Args)]
struct IngestArgs {
    /// Address of the OTLP/gRPC receiver and the control API.
    #[arg(long, env = "TRACECHECK_GRPC_ADDR", default_value = defaults::DEFAULT_GRPC_ADDR)]
    grpc_addr: SocketAddr,
    /// Address of the OTLP/HTTP receiver.
    #[arg(long, env = "TRACECHECK_HTTP_ADDR", default_value = defaults::DEFAULT_HTTP_ADDR)]
    http_addr: SocketAddr,
    /// Evict the least recently updated traces above this many stored spans.
    #[arg(long, env = "TRACECHECK_MAX_SPANS", default_value_t = defaults::DEFAULT_MAX_SPANS)]
    max_spans: usize,
    /// Evict traces not updated for this long (e.g. 10m, 90s).
    #[arg(long, env = "TRACECHECK_TRACE_TTL", default_value_t = defaults::DEFAULT_TRACE_TTL.into())]
    trace_ttl: humantime::Duration,
    /// Largest accepted OTLP request in bytes.
    #[arg(long, env = "TRACECHECK_MAX_MESSAGE_SIZE", default_value_t = defaults::DEFAULT_MAX_MESSAGE_SIZE)]
    max_message_size: usize,
    /// Export requests taken in at once; more are refused with a retryable status.
    #[arg(long, env = "TRACECHECK_MAX_CONCURRENT_EXPORTS", default_value_t = defaults::DEFAULT_MAX_CONCURRENT_EXPORTS)]
    max_concurrent_exports: usize,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    ingest: IngestArgs,
    /// Demand `authorization: Bearer TOKEN` on OTLP, the control API and the web UI.
    #[arg(long, env = "TRACECHECK_AUTH_TOKEN")]
    auth_token: Option<String>,
    /// Keep the last N runs recorded by `run --server` for the web UI.
    #[arg(long, env = "TRACECHECK_MAX_RUNS", default_value_t = defaults::DEFAULT_MAX_RUNS)]
    max_runs: usize,
}

#[derive(Args)]
struct ClientArgs {
    /// A running `tracecheck serve` (its gRPC address).
    #[arg(long, env = "TRACECHECK_SERVER", default_value = defaults::DEFAULT_SERVER_URL)]
    server: String,
    /// Bearer token for a server started with --auth-token.
    #[arg(long, env = "TRACECHECK_AUTH_TOKEN")]
    auth_token: Option<String>,
}

#[derive(Args)]
struct RunArgs {
    /// Test and Transaction/TestSuite files (an Analyzer file configures the analyzer).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// A VariableSet/Environment file with the starting variables.
    #[arg(long, env = "TRACECHECK_VARS")]
    vars: Option<PathBuf>,
    /// Use a running `tracecheck serve` instead of the embedded ingestor.
    #[arg(long, env = "TRACECHECK_SERVER")]
    server: Option<String>,
    /// Bearer token for --server.
    #[arg(long, env = "TRACECHECK_AUTH_TOKEN")]
    auth_token: Option<String>,
    /// Report format on stdout.
    #[arg(long, short, env = "TRACECHECK_OUTPUT", value_enum, default_value_t = OutputFormat::Pretty)]
    output: OutputFormat,
    /// Also write a JUnit XML report here.
    #[arg(long, env = "TRACECHECK_JUNIT")]
    junit: Option<PathBuf>,
    /// Also write one self-contained HTML page with the runs and their traces here.
    #[arg(long, env = "TRACECHECK_REPORT_HTML")]
    report_html: Option<PathBuf>,
    /// Give up on a trace this long after the trigger.
    #[arg(long, env = "TRACECHECK_TIMEOUT", default_value_t = defaults::DEFAULT_TIMEOUT.into())]
    timeout: humantime::Duration,
    /// A trace is complete once no span arrived for this long.
    #[arg(long, env = "TRACECHECK_SETTLE", default_value_t = defaults::DEFAULT_SETTLE.into())]
    settle: humantime::Duration,
    /// Judge an incomplete trace after this long without a new span.
    #[arg(long, env = "TRACECHECK_GRACE", default_value_t = defaults::DEFAULT_GRACE.into())]
    grace: humantime::Duration,
    /// Run up to N files at once (each with its own variables).
    #[arg(long, env = "TRACECHECK_PARALLEL", default_value_t = 1)]
    parallel: usize,
    /// An Analyzer file configuring the trace analyzer.
    #[arg(long, env = "TRACECHECK_ANALYZER")]
    analyzer: Option<PathBuf>,
    /// Gates a step must pass: test-specs, analyzer-rules, analyzer-score (comma-separated).
    #[arg(long, env = "TRACECHECK_REQUIRED_GATES", default_value = "test-specs")]
    required_gates: String,
    /// Show every analyzer finding, not just the first few.
    #[arg(long, short, env = "TRACECHECK_VERBOSE")]
    verbose: bool,
    #[command(flatten)]
    ingest: IngestArgs,
}

#[derive(Subcommand)]
enum TracesCommand {
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
}

#[derive(Args)]
struct AnalyzeArgs {
    trace_id: String,
    #[command(flatten)]
    client: ClientArgs,
    /// An Analyzer file configuring the analyzer.
    #[arg(long, env = "TRACECHECK_ANALYZER")]
    analyzer: Option<PathBuf>,
    #[arg(long, short, env = "TRACECHECK_OUTPUT", value_enum, default_value_t = ViewFormat::Pretty)]
    output: ViewFormat,
    /// Show every finding.
    #[arg(long, short, env = "TRACECHECK_VERBOSE")]
    verbose: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Pretty,
    Json,
    Junit,
}

#[derive(Clone, Copy, ValueEnum)]
enum ViewFormat {
    Pretty,
    Json,
}

/// Exit codes of the contract in design.md.
const PASSED: u8 = 0;
const FAILED: u8 = 1;
const BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("TRACECHECK_LOG").unwrap_or_else(|_| {
            // `serve` narrates its work; the other commands keep stderr for problems.
            let level = if matches!(cli.command, Command::Serve(_)) { "info" } else { "warn" };
            tracing_subscriber::EnvFilter::new(level)
        }))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(FAILED);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Run(args) => run(args).await,
            Command::Validate { files } => validate(&files),
            Command::Traces { command } => traces(command).await,
            Command::Analyze(args) => analyze(args).await,
        }
    });
    ExitCode::from(code)
}

impl IngestArgs {
    fn server_config(&self, auth_token: Option<String>) -> tracecheck::server::ServerConfig {
        tracecheck::server::ServerConfig {
            grpc_addr: self.grpc_addr,
            http_addr: self.http_addr,
            max_message_size: self.max_message_size,
            auth_token,
            store: tracecheck::store::StoreConfig {
                max_spans: self.max_spans,
                trace_ttl: self.trace_ttl.into(),
            },
            max_concurrent_exports: self.max_concurrent_exports.max(1),
            runs: Default::default(),
        }
    }
}

async fn serve(args: ServeArgs) -> u8 {
    let config = tracecheck::server::ServerConfig {
        runs: tracecheck::web::RunStore::new(args.max_runs),
        ..args.ingest.server_config(args.auth_token)
    };
    match tracecheck::serve::serve_until_signal(config).await {
        Ok(()) => PASSED,
        Err(error) => {
            eprintln!("error: {error:#}");
            BAD_INPUT
        }
    }
}

async fn run(args: RunArgs) -> u8 {
    use tracecheck::report::{console::ConsoleReporter, json::JsonReporter, junit::JunitReporter, Reporter};
    use tracecheck::run::{RunConfig, RunFiles, RunFilesError};

    let required_gates = match tracecheck::analyze::parse_gates(&args.required_gates) {
        Ok(gates) => gates,
        Err(error) => {
            eprintln!("error: --required-gates: {error}");
            return BAD_INPUT;
        }
    };
    let inputs = match tracecheck::run::load(&args.files, args.vars.as_ref(), args.analyzer.as_ref()) {
        Ok(inputs) => inputs,
        Err(error) => {
            eprintln!("{error}");
            return BAD_INPUT;
        }
    };
    let remote = match &args.server {
        None => None,
        Some(url) => match tracecheck::api::RemoteClient::connect(url, args.auth_token.as_deref()).await {
            Ok(client) => Some(std::sync::Arc::new(tracecheck::run::RemoteSource { client })
                as std::sync::Arc<dyn tracecheck::run::TraceSource>),
            Err(error) => {
                eprintln!("error: {error}");
                return if error.is_bad_input() { BAD_INPUT } else { FAILED };
            }
        },
    };
    let mut reporters: Vec<Box<dyn Reporter>> = vec![match args.output {
        OutputFormat::Pretty => Box::new(ConsoleReporter::stdout().verbose(args.verbose)),
        OutputFormat::Json => Box::new(JsonReporter::stdout()),
        OutputFormat::Junit => Box::new(JunitReporter::new(Box::new(std::io::stdout()))),
    }];
    if let Some(path) = &args.junit {
        reporters.push(Box::new(JunitReporter::to_path(path)));
    }
    let config = RunConfig {
        settle: args.settle.into(),
        grace: args.grace.into(),
        timeout: args.timeout.into(),
        analyzer: std::sync::Arc::new(inputs.analyzer.unwrap_or_default()),
        required_gates,
        secret_variables: std::sync::Arc::new(inputs.secret_variables),
    };
    let request = RunFiles {
        server: args.ingest.server_config(None),
        remote,
        config,
        parallel: args.parallel,
        report_html: args.report_html,
    };
    let reports =
        match tracecheck::run::run_files(request, inputs.files, inputs.variables, &mut reporters).await {
            Ok(reports) => reports,
            Err(error @ RunFilesError::Invalid(_)) => {
                eprintln!("{error}");
                return BAD_INPUT;
            }
            Err(error) => {
                eprintln!("error: {error}");
                return FAILED;
            }
        };
    if let Err(error) = reporters.close() {
        eprintln!("error: cannot write the report: {error}");
        return FAILED;
    }
    if reports.iter().all(|report| report.passed()) {
        PASSED
    } else {
        FAILED
    }
}

fn validate(files: &[PathBuf]) -> u8 {
    match tracecheck::spec::validate_files(files) {
        Ok(loaded) => {
            for file in &loaded {
                println!("{}: valid {}", file.path().display(), file.kind());
            }
            PASSED
        }
        Err(errors) => {
            eprintln!("{}", errors.render());
            BAD_INPUT
        }
    }
}

impl From<ViewFormat> for tracecheck::api::cli::ViewFormat {
    fn from(format: ViewFormat) -> Self {
        match format {
            ViewFormat::Pretty => tracecheck::api::cli::ViewFormat::Pretty,
            ViewFormat::Json => tracecheck::api::cli::ViewFormat::Json,
        }
    }
}

async fn traces(command: TracesCommand) -> u8 {
    use tracecheck::api::cli;
    let mut out = std::io::stdout();
    let result = match command {
        TracesCommand::List { client, output } => {
            cli::traces_list(&client.server, client.auth_token.as_deref(), 0, output.into(), &mut out).await
        }
        TracesCommand::Get { trace_id, client, output } => {
            let colour = tracecheck::report::waterfall::use_colour();
            cli::traces_get(
                &client.server,
                client.auth_token.as_deref(),
                &trace_id,
                output.into(),
                colour,
                &mut out,
            )
            .await
        }
    };
    match result {
        Ok(()) => PASSED,
        Err(error) => {
            eprintln!("error: {error}");
            if error.is_bad_input() {
                BAD_INPUT
            } else {
                FAILED
            }
        }
    }
}

async fn analyze(args: AnalyzeArgs) -> u8 {
    use tracecheck::analyze::cli::{self, AnalyzeFormat, AnalyzeOptions};
    let options = AnalyzeOptions {
        format: match args.output {
            ViewFormat::Pretty => AnalyzeFormat::Pretty,
            ViewFormat::Json => AnalyzeFormat::Json,
        },
        colour: tracecheck::report::waterfall::use_colour(),
        verbose: args.verbose,
    };
    let result = cli::analyze_remote(
        &args.client.server,
        args.client.auth_token.as_deref(),
        &args.trace_id,
        args.analyzer.as_deref(),
        &options,
        &mut std::io::stdout(),
    )
    .await;
    match result {
        Ok(true) => PASSED,
        Ok(false) => FAILED,
        Err(error @ cli::Error::InvalidAnalyzer(_)) => {
            // Already `file:line:col: message` lines, as `run` and `validate` print them.
            eprintln!("{error}");
            BAD_INPUT
        }
        Err(error) => {
            eprintln!("error: {error}");
            if error.is_bad_input() {
                BAD_INPUT
            } else {
                FAILED
            }
        }
    }
}
