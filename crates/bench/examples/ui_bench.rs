//! Web UI figures for BENCHMARKS.md (a benchmark, not a test): API latency of the traces
//! list and of one trace with 100,000 stored traces and a 10,000-span trace, and the time
//! from navigation to a drawn waterfall for that trace in headless Chromium.
//!
//! `cargo run --release --example ui_bench` (needs /usr/bin/chromium).

use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions};
use model::{Span, SpanId, SpanKind, TraceId};
use server::{self, ServerConfig};
use store::StoreConfig;

const TRACES: usize = 100_000;
const BIG_SPANS: usize = 10_000;
const ROUNDS: usize = 20;

fn small_trace(index: usize) -> Vec<Span> {
    let trace_id = TraceId::random();
    let root = SpanId::random();
    let start = 1_700_000_000_000_000_000 + index as u64 * 1_000_000;
    vec![
        Span::new(trace_id, root, "GET /users")
            .with_kind(SpanKind::Server)
            .with_times(start, start + 900_000)
            .with_attribute("http.method", "GET")
            .with_resource_attribute("service.name", if index % 2 == 0 { "api" } else { "web" }),
        Span::new(trace_id, SpanId::random(), "SELECT users")
            .with_parent(root)
            .with_times(start + 100_000, start + 500_000)
            .with_attribute("db.system", "postgresql")
            .with_resource_attribute("service.name", "api"),
        Span::new(trace_id, SpanId::random(), "cache get")
            .with_parent(root)
            .with_times(start + 600_000, start + 700_000)
            .with_resource_attribute("service.name", "api"),
    ]
}

/// A 10,000-span trace: a root, 100 children, 98 grandchildren each, and one more.
fn big_trace() -> (TraceId, Vec<Span>) {
    let trace_id = TraceId::random();
    let root = SpanId::random();
    let start = 1_800_000_000_000_000_000u64;
    let mut spans = vec![Span::new(trace_id, root, "batch")
        .with_times(start, start + 10_000_000_000)
        .with_resource_attribute("service.name", "worker")];
    for parent_index in 0..100u64 {
        let parent = SpanId::random();
        let parent_start = start + parent_index * 100_000_000;
        spans.push(
            Span::new(trace_id, parent, &format!("item {parent_index}"))
                .with_parent(root)
                .with_times(parent_start, parent_start + 90_000_000)
                .with_resource_attribute("service.name", "worker"),
        );
        for child_index in 0..98u64 {
            let child_start = parent_start + child_index * 900_000;
            spans.push(
                Span::new(trace_id, SpanId::random(), "SELECT item")
                    .with_parent(parent)
                    .with_times(child_start, child_start + 800_000)
                    .with_attribute("db.system", "postgresql")
                    .with_resource_attribute("service.name", "db"),
            );
        }
    }
    while spans.len() < BIG_SPANS {
        spans.push(
            Span::new(trace_id, SpanId::random(), "flush")
                .with_parent(root)
                .with_times(start + 9_999_000_000, start + 10_000_000_000)
                .with_resource_attribute("service.name", "worker"),
        );
    }
    assert_eq!(spans.len(), BIG_SPANS);
    (trace_id, spans)
}

async fn median_ms(client: &reqwest::Client, url: &str) -> (f64, usize) {
    let mut times = Vec::with_capacity(ROUNDS);
    let mut size = 0;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let answer = client.get(url).send().await.expect("request");
        assert!(answer.status().is_success(), "{url}: {}", answer.status());
        size = answer.bytes().await.expect("body").len();
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[ROUNDS / 2], size)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = ServerConfig {
        store: StoreConfig { max_spans: 10_000_000, ..StoreConfig::default() },
        ..ServerConfig::ephemeral()
    };
    let server = server::start(config, |_| tonic::service::Routes::default()).await?;
    let (big_id, big) = big_trace();
    server.store().insert(big);
    for index in 0..TRACES {
        server.store().insert(small_trace(index));
    }
    let base = format!("http://{}", server.http_addr());
    let client = reqwest::Client::new();
    println!("{} traces + one {BIG_SPANS}-span trace stored; median of {ROUNDS} requests:", TRACES);
    for (label, path) in [
        ("list, first page (50)", "/api/v1/traces".to_string()),
        ("list, service=web", "/api/v1/traces?service=web".to_string()),
        (
            "list, selector matching every trace",
            "/api/v1/traces?selector=span%5Btracetest.span.type%3D%22database%22%5D".to_string(),
        ),
        (
            "list, selector matching none (scan budget)",
            "/api/v1/traces?selector=span%5Bname%3D%22x%22%5D".to_string(),
        ),
        ("get, 10,000-span trace", format!("/api/v1/traces/{big_id}")),
        (
            "select in the 10,000-span trace",
            format!("/api/v1/traces/{big_id}/select?selector=span%5Bname%3D%22SELECT%20item%22%5D"),
        ),
    ] {
        let (ms, bytes) = median_ms(&client, &format!("{base}{path}")).await;
        println!("  {label:45} {ms:8.2} ms  ({bytes} bytes)");
    }

    let args: Vec<&OsStr> = [
        "--headless",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    let browser = Browser::new(
        LaunchOptions::default_builder()
            .path(Some(PathBuf::from("/usr/bin/chromium")))
            .sandbox(false)
            .window_size(Some((1280, 800)))
            .args(args)
            .build()?,
    )?;
    let mut drawn = Vec::new();
    for _ in 0..5 {
        let tab = browser.new_tab()?;
        tab.set_default_timeout(Duration::from_secs(60));
        tab.navigate_to(&format!("{base}/#/trace/{big_id}"))?.wait_until_navigated()?;
        let value = tab
            .evaluate(
                "new Promise(resolve => { const check = () => { if (document.querySelectorAll('#waterfall .row').length > 0) { resolve(performance.now()); return true; } return false; }; if (!check()) new MutationObserver(check).observe(document, { subtree: true, childList: true }); })",
                true,
            )?
            .value
            .and_then(|value| value.as_f64())
            .unwrap_or(f64::NAN);
        drawn.push(value);
        let rows = tab.evaluate("document.querySelectorAll('#waterfall .row').length", false)?.value;
        let scrolled = tab
            .evaluate(
                "(() => { const w = document.getElementById('waterfall'); const t = performance.now(); for (let i = 1; i <= 100; i++) { w.scrollTop = i * 2400; w.dispatchEvent(new Event('scroll')); } return new Promise(r => requestAnimationFrame(() => r((performance.now() - t) + ' ms for 100 scroll jumps, ' + document.querySelectorAll('#waterfall .row').length + ' rows in the DOM'))); })()",
                true,
            )?
            .value;
        if drawn.len() == 1 {
            println!("  waterfall rows in the DOM after drawing: {rows:?}; {scrolled:?}");
            let png = tab.capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)?;
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots");
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("bench-10k-trace.png"), png)?;
        }
        tab.close(true)?;
    }
    drawn.sort_by(f64::total_cmp);
    println!("  navigation to drawn waterfall, 10,000 spans (median of 5): {:.0} ms", drawn[2]);
    server.shutdown().await?;
    Ok(())
}
