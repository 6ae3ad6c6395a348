//! tracecheck's command line and runner, over the workspace's layer crates.
//!
//! Data path, left to right: an exporter sends OTLP to the `server` crate's ingest, which
//! validates it and splits it with `model`'s OTLP codec for the `store`; [`run`] fires a
//! `trigger`, waits on a trace through a [`run::TraceSource`] (the in-process store, or one
//! or several remote tracechecks over the control API), evaluates the test's outputs and
//! assertions with `lang`, lints the trace with `analyze`, and prints results through
//! `report`. Definitions come from Tracetest YAML via `defs`. The command line's edge is
//! [`cli`]: one file per command, and the one mapping of outcomes and errors to exit codes.

pub mod cli;
pub mod run;
