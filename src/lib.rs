//! tracecheck: trace-based testing with an embedded OTLP ingestor.
//!
//! Data path, left to right: an exporter sends OTLP to [`ingest`], which converts it to
//! [`model`] spans and hands them to the [`store`]; [`run`] fires a [`trigger`], waits on a
//! trace through a [`run::TraceSource`] (the in-process store or a remote tracecheck over
//! the control [`api`]), evaluates the test's outputs and assertions with [`lang`], lints the
//! trace with [`analyze`], and prints results through [`report`]. Definitions come from
//! Tracetest YAML via [`spec`].

pub mod analyze;
pub mod api;
pub mod defaults;
pub mod ingest;
pub mod lang;
pub mod model;
pub mod report;
pub mod run;
pub mod serve;
pub mod server;
pub mod spec;
pub mod store;
pub mod trigger;
