//! tracecheck: trace-based testing with an embedded OTLP ingestor.
//!
//! Data path, left to right: an exporter sends OTLP to [`ingest`], which validates it and
//! splits it into spans' wire bytes with the [`otlp`] codec for the [`store`]; [`run`] fires
//! a [`trigger`], waits on a trace through a [`run::TraceSource`] (the in-process store, or
//! one or several remote tracechecks over the control [`api`]), evaluates the test's outputs
//! and assertions with [`lang`], lints the trace with [`analyze`], and prints results through
//! [`report`]; [`web`] and [`ui`] show traces and runs in a browser. Definitions come from
//! Tracetest YAML via [`spec`]. The command line's edge is [`cli`]: one file per command,
//! and the one mapping of outcomes and errors to exit codes.

pub mod analyze;
pub mod api;
pub mod auth;
pub mod cli;
pub mod defaults;
pub mod ingest;
pub mod lang;
pub mod model;
pub mod otlp;
pub mod report;
pub mod run;
pub mod serve;
pub mod server;
pub mod spec;
pub mod store;
pub mod tls;
pub mod trigger;
pub mod ui;
pub mod web;

/// An error and its sources on one line, without repeating a cause its parent already
/// quotes: "connection refused" must not hide behind "error sending request".
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
