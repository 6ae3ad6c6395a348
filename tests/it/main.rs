//! The integration tests: one crate (tests/it/), one module per area, one `support` module
//! (a test server builder, the binary as a `TestCommand`, exporters, fixtures, the demo
//! app). They drive the real binary and the real libraries over real sockets bound to port
//! 0, with the real OpenTelemetry exporters and real peers (Chromium, Kafka-protocol
//! brokers) provisioned through `support::tools::tool`. Whole definitions live as files in
//! `tests/fixtures/`; whole outputs are snapshots in `tests/it/snapshots/`. No test asserts
//! on how fast something was (that is `crates/bench`), and none sleeps where it can wait
//! for an event.

mod support;

mod analyze_cli;
mod api_control;
mod cli_flags;
mod ingest_cors;
mod ingest_decode;
mod ingest_edges;
mod ingest_exporters;
mod multi_server;
mod query_jaeger;
mod query_mcp;
mod query_reads;
mod query_tempo;
mod report_formats;
mod run_cli;
mod run_remote_trigger;
mod serve_guards;
mod serve_limits;
mod serve_process;
mod source_backends;
mod spec_load;
mod store_server;
mod tidy;
mod tls;
mod traces_diff;
mod tracetest_corpus;
mod tracetest_setups;
mod trigger_graphql;
mod trigger_grpc;
mod trigger_http;
mod trigger_kafka;
mod trigger_playwright;
mod ui_api;
mod ui_browser;
mod ui_js;
mod ui_report_html;
