//! Latency benchmark of the runner: from the last span of a trace arriving in the store to
//! the step's report being printed, over many runs of the demo's `create-user` test.
//!
//! The design's target is the settle window plus at most 5 ms. Run it with
//! `cargo run --release --example latency -- [RUNS] [SETTLE_MS]` (defaults 100 and 500); it
//! prints p50/p90/p99/max of (printed − last span) − settle.

use demo as service;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use defs::Loaded;
use report::console;
use report::Reporter;
use server::{self, ServerConfig};
use tracecheck::run::{LocalSource, RunConfig, Runner, Variables};

/// Records nothing: the benchmark prints the step itself, to time the printing.
struct Quiet;

impl Reporter for Quiet {
    fn finish(&mut self, _report: &report::RunReport) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().map(|text| text.parse()).transpose()?.unwrap_or(100);
    let settle = Duration::from_millis(args.next().map(|text| text.parse()).transpose()?.unwrap_or(500));

    let ingestor = server::start(ServerConfig::ephemeral(), |_| tonic::service::Routes::default()).await?;
    let service = service::start(&format!("http://{}", ingestor.grpc_addr())).await?;
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo/create-user.yaml");
    let Loaded::Test(test) = defs::load_file(&file).map_err(|errors| anyhow::anyhow!("{errors}"))? else {
        anyhow::bail!("{} is not a test", file.display());
    };
    let config = RunConfig { settle, ..RunConfig::default() };
    let runner =
        Runner::new(Arc::new(LocalSource { store: ingestor.store().clone(), listening: Vec::new() }), config);
    let variables = Variables::from([("HOST".to_string(), service.url())]);

    let mut latencies = Vec::with_capacity(runs);
    let mut sink = std::io::sink();
    for _ in 0..runs {
        let step = runner.run_test(&test, &variables, &mut Quiet).await;
        sink.write_all(console::render_step(&step.report).as_bytes())?;
        let printed = Instant::now();
        let Some(last_span) = step.last_span_at else {
            anyhow::bail!("step without a trace: {:?}", step.report.error);
        };
        anyhow::ensure!(step.report.warnings.is_empty(), "incomplete trace: {:?}", step.report.warnings);
        latencies.push(printed.duration_since(last_span).saturating_sub(settle));
    }
    latencies.sort();
    let at = |quantile: f64| {
        latencies[((latencies.len() as f64 * quantile).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    println!(
        "{runs} runs, settle {} ms: beyond the settle, last span -> report printed: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        settle.as_millis(),
        ms(at(0.50)),
        ms(at(0.90)),
        ms(at(0.99)),
        ms(*latencies.last().expect("at least one run"))
    );
    service.shutdown().await;
    ingestor.shutdown().await?;
    Ok(())
}
