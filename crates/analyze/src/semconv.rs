//! Which semantic-convention generation a span speaks (the AQ-7 fix).
//!
//! Tracetest's rules read only the attribute names from before semantic conventions v1.17
//! (`http.method`, `http.url`, `net.peer.name`, `db.system`, `messaging.operation`, ...). An
//! application on a current OpenTelemetry SDK sends `http.request.method`, `url.full`,
//! `server.address`, `db.system.name`, `messaging.operation.type` and so on, and Tracetest
//! flags it for being current. tracecheck's rules accept either generation: the old names
//! exactly as Tracetest reads them, so every span Tracetest passes still passes, and the
//! current names as an alternative. Findings about a span that uses current names are
//! worded with the current names. This module holds the markers that tell the generations
//! apart; each rule holds its own old/current name pairs.

use super::span_map::SpanMap;

/// Keys whose presence says a span of the given `tracetest.span.type` uses the current
/// conventions.
fn current_markers(span_type: &str) -> &'static [&'static str] {
    match span_type {
        "http" => &["http.request.method", "url.full", "url.scheme", "url.path", "server.address"],
        "database" => &[
            "db.system.name",
            "db.operation.name",
            "db.collection.name",
            "db.namespace",
            "db.query.text",
            "db.query.summary",
        ],
        "rpc" => &["rpc.system.name", "server.address"],
        "messaging" => {
            &["messaging.operation.type", "messaging.operation.name", "messaging.destination.name"]
        }
        _ => &[],
    }
}

/// True when the span carries any current-convention key of its type.
pub fn uses_current_names(map: &SpanMap<'_>) -> bool {
    current_markers(map.span_type()).iter().any(|key| map.contains(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::span;
    use model::SpanKind;

    #[test]
    fn tells_generations_apart() {
        let old = span("GET", SpanKind::Client, &[("http.method", "GET")]);
        let current = span("GET", SpanKind::Client, &[("http.request.method", "GET")]);
        let db =
            span("SELECT", SpanKind::Client, &[("db.system", "postgresql"), ("db.operation.name", "SELECT")]);
        assert!(!uses_current_names(&SpanMap::new(&old)));
        assert!(uses_current_names(&SpanMap::new(&current)));
        assert!(uses_current_names(&SpanMap::new(&db)));
    }
}
