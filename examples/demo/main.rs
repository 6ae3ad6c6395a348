//! The bundled example, end to end: start tracecheck's embedded ingestor, start the demo
//! users API (instrumented with the OpenTelemetry Rust SDK, exporting to that ingestor), run
//! the transaction in `examples/demo/user-flow.yaml` against it and print the report.
//!
//! `cargo run --release --example demo` exits 0 when the transaction passed.

use tracecheck_demo as service;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use report::console::ConsoleReporter;
use report::Reporter;
use server::{self, ServerConfig};
use tracecheck::run::{LocalSource, RunConfig, Runner, Variables};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt().with_env_filter("warn").with_writer(std::io::stderr).init();
    match demo().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("demo failed: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn demo() -> anyhow::Result<bool> {
    // Ephemeral ports, so the demo runs beside a `tracecheck serve` holding 4317/4318.
    let ingestor = server::start(ServerConfig::ephemeral(), |_| tonic::service::Routes::default()).await?;
    let service = service::start(&format!("http://{}", ingestor.grpc_addr())).await?;
    println!(
        "tracecheck demo: users API on {}, ingesting OTLP on {} (gRPC) and {} (HTTP)\n",
        service.url(),
        ingestor.grpc_addr(),
        ingestor.http_addr()
    );

    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("user-flow.yaml");
    let loaded = defs::load_file(&file).map_err(|errors| anyhow::anyhow!("{}", errors.render()))?;
    let variables = Variables::from([("HOST".to_string(), service.url())]);
    let runner = Runner::new(
        Arc::new(LocalSource { store: ingestor.store().clone(), listening: Vec::new() }),
        RunConfig::default(),
    );
    let mut reporter = ConsoleReporter::stdout();
    let report = runner
        .run_loaded(&loaded, &variables, &mut reporter)
        .await
        .ok_or_else(|| anyhow::anyhow!("{} is not a test or transaction", file.display()))?;
    reporter.close()?;

    service.shutdown().await;
    ingestor.shutdown().await?;
    Ok(report.report.passed())
}
