//! The span model every part of tracecheck shares: IDs as fixed byte arrays, compact owned
//! spans with typed attributes, the trace they form and its one span tree.
//!
//! `model` knows nothing of OTLP (the conversion lives in `otlp`), of the store or of the
//! languages. Strings that repeat across spans (attribute keys, span names, service names,
//! short attribute values) are `Str` (a thin shared string) so the ingest path can intern them and the
//! store pays for each distinct string once.

mod ids;
mod span;
mod str;
mod time;
mod trace;
mod tree;

pub use ids::{IdError, SpanId, TraceId};
pub use span::{
    find_attribute, AttributeValue, Event, KeyValue, Link, Resource, Scope, Span, SpanExtra, SpanKind,
    Status, StatusCode,
};
pub use str::{empty_str, Str};
pub use time::{civil_from_unix, parse_go_duration};
pub use trace::Trace;
pub use tree::{SpanTree, TreeNode, TRIGGER_SPAN_NAME};

pub mod defaults;
pub mod otlp;

/// An error and its sources on one line, without repeating a cause its parent already
/// quotes: "connection refused" must not hide behind "error sending request".
pub fn error_chain(error: &dyn std::error::Error) -> String {
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
