//! The one trace search of the query APIs: Tempo's `/api/search` (TraceQL in `q`, or the
//! older `tags=`/`minDuration`/`maxDuration`) and MCP's `search_traces` (service,
//! operation, attributes, durations, TraceQL) both compile their filters to one TraceQL
//! query ([`Filters::to_traceql`]) and run [`search`]: the newest traces first, in a time
//! window, each kept when the query selects a span of it.
//!
//! The scan reads the store newest first and stops at [`WEB_LIST_SCAN_BUDGET`] traces, as
//! the web API's filtered list does; an index of services and operations can later answer
//! the common filters without decoding every trace.

use std::ops::ControlFlow;
use std::time::Duration;

use lang::{Selector, TraceView};
use model::defaults::WEB_LIST_SCAN_BUDGET;
use model::{SpanId, Trace};
use store::TraceStore;

use crate::error::EdgeError;

/// Structured search filters, compiled to TraceQL.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// The resource's `service.name`.
    pub service: Option<String>,
    /// The span's name.
    pub operation: Option<String>,
    /// Attributes (span or resource) with these values; an integer or boolean text also
    /// matches the typed value.
    pub attributes: Vec<(String, String)>,
    /// The trace's duration, at least / at most.
    pub min_duration: Option<Duration>,
    pub max_duration: Option<Duration>,
    /// A TraceQL query that must hold too.
    pub traceql: Option<String>,
}

impl Filters {
    /// The TraceQL query these filters mean: the structured ones in one spanset, and with
    /// a query of its own, `(QUERY) && { ... }`; `{ }` (every span) when there are none.
    ///
    /// # Errors
    /// [`EdgeError::Query`] for an attribute name TraceQL cannot spell.
    pub fn to_traceql(&self) -> Result<String, EdgeError> {
        let mut conditions = Vec::new();
        if let Some(service) = self.service.as_deref().filter(|text| !text.is_empty()) {
            conditions.push(format!("resource.service.name = {}", quote(service)));
        }
        if let Some(operation) = self.operation.as_deref().filter(|text| !text.is_empty()) {
            conditions.push(format!("name = {}", quote(operation)));
        }
        for (key, value) in &self.attributes {
            conditions.push(attribute_condition(key, value)?);
        }
        if let Some(min) = self.min_duration {
            conditions.push(format!("traceDuration >= {}", nanos(min)));
        }
        if let Some(max) = self.max_duration {
            conditions.push(format!("traceDuration <= {}", nanos(max)));
        }
        let spanset = if conditions.is_empty() {
            "{ }".to_string()
        } else {
            format!("{{ {} }}", conditions.join(" && "))
        };
        Ok(match self.traceql.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
            None => spanset,
            Some(query) if conditions.is_empty() => query.to_string(),
            Some(query) => format!("({query}) && {spanset}"),
        })
    }
}

/// A duration as TraceQL writes it, exactly: `1500000ns`.
fn nanos(duration: Duration) -> String {
    format!("{}ns", duration.as_nanos())
}

/// A TraceQL string literal.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `key = value` on an unscoped attribute (the span's, else the resource's), matching the
/// typed value too when the text is an integer or a boolean (`http.status_code=500` finds
/// the integer 500, as Tempo's tag search did).
fn attribute_condition(key: &str, value: &str) -> Result<String, EdgeError> {
    let spellable = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':'));
    if !spellable {
        return Err(EdgeError::Query(format!(
            "attribute {key:?}: only letters, digits and . _ - / : can be searched by name"
        )));
    }
    let attribute = format!(".{key}");
    let quoted = quote(value);
    let typed = value.parse::<i64>().is_ok() || value == "true" || value == "false";
    Ok(if typed {
        format!("({attribute} = {value} || {attribute} = {quoted})")
    } else {
        format!("{attribute} = {quoted}")
    })
}

/// Parses Tempo's `tags=` logfmt (`service.name=api http.status_code=500 name="GET /x"`)
/// into attribute filters and, for `name`, the span name.
///
/// # Errors
/// [`EdgeError::Query`] naming the position of a pair without `=` or an unclosed quote.
pub fn parse_logfmt(text: &str, filters: &mut Filters) -> Result<(), EdgeError> {
    let mut chars = text.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else { return Ok(()) };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            return Err(EdgeError::Query(format!("tags: expected key=value at character {}", start + 1)));
        }
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '"').is_some() {
            loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, '\\')) => value.extend(chars.next().map(|(_, c)| c)),
                    Some((_, c)) => value.push(c),
                    None => {
                        return Err(EdgeError::Query(format!(
                            "tags: unclosed quote in the value of {key:?} (character {})",
                            start + 1
                        )))
                    }
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                value.push(c);
            }
        }
        match key.as_str() {
            "name" => filters.operation = Some(value),
            "service.name" => filters.service = Some(value),
            _ => filters.attributes.push((key, value)),
        }
    }
}

/// Parses a search's compiled query: TraceQL only (a Tracetest selector is no search
/// language), so text that does not open a spanset gets TraceQL's own error and column.
///
/// # Errors
/// [`EdgeError::Selector`] naming `shown` (what the client sent) and the column.
pub fn parse_query(query: &str, shown: &str) -> Result<Selector, EdgeError> {
    let error = |source| EdgeError::Selector { text: shown.to_string(), source };
    if !lang::TraceQl::is_traceql(query) {
        lang::TraceQl::parse(query).map_err(error)?;
    }
    Selector::parse(query).map_err(error)
}

/// What to search for.
#[derive(Debug)]
pub struct SearchRequest {
    pub selector: Selector,
    /// Keep traces that overlap this window (Unix nanoseconds, inclusive); open when absent.
    pub start_unix_nano: Option<u64>,
    pub end_unix_nano: Option<u64>,
    /// At most this many traces.
    pub limit: usize,
}

/// One trace found, with the spans the query selected (in the languages' order, each once).
#[derive(Debug)]
pub struct Hit {
    pub trace: Trace,
    pub matched: Vec<SpanId>,
}

/// The traces found, newest first.
#[derive(Debug)]
pub struct SearchOutcome {
    pub hits: Vec<Hit>,
    /// Traces read.
    pub scanned: usize,
    /// Whether the scan stopped (at the limit or its budget) before the store's end.
    pub more: bool,
}

/// Runs `request` over the newest traces (blocking: it decodes traces; call it on the
/// blocking pool).
pub fn search(store: &TraceStore, request: &SearchRequest) -> SearchOutcome {
    let mut hits = Vec::new();
    let (scanned, exhausted) = scan_newest(store, |trace| {
        if overlaps(&trace, request.start_unix_nano, request.end_unix_nano) {
            let view = TraceView::new(&trace);
            let matched = selected_ids(&request.selector, &view);
            if !matched.is_empty() {
                hits.push(Hit { trace, matched });
                if hits.len() >= request.limit {
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    });
    SearchOutcome { hits, scanned, more: !exhausted }
}

fn overlaps(trace: &Trace, start: Option<u64>, end: Option<u64>) -> bool {
    let Some((first, last)) = trace.time_range() else { return false };
    start.is_none_or(|start| last >= start) && end.is_none_or(|end| first <= end)
}

/// The selected spans' IDs in the languages' order, each once.
pub fn selected_ids(selector: &Selector, view: &TraceView<'_>) -> Vec<SpanId> {
    let mut indexes = selector.select(view);
    let mut seen = std::collections::HashSet::new();
    indexes.retain(|index| seen.insert(*index));
    indexes.into_iter().map(|index| view.spans()[index].span_id()).collect()
}

/// Calls `visit` with the newest traces first, up to [`WEB_LIST_SCAN_BUDGET`] of them or
/// until it breaks; answers how many it read and whether it reached the store's end.
pub fn scan_newest(store: &TraceStore, mut visit: impl FnMut(Trace) -> ControlFlow<()>) -> (usize, bool) {
    let mut position = None;
    let mut scanned = 0usize;
    loop {
        let batch = store.newest(position, 64);
        if batch.is_empty() {
            return (scanned, true);
        }
        for item in batch {
            position = Some(item.seq);
            // Evicted since the batch was read: skip it.
            let Some(trace) = store.get(item.trace_id) else { continue };
            scanned += 1;
            if visit(trace).is_break() || scanned >= WEB_LIST_SCAN_BUDGET {
                return (scanned, false);
            }
        }
    }
}

/// A duration parameter (`100ms`, `1.5s`, `2m`): Go's syntax, which Tempo's clients send.
///
/// # Errors
/// [`EdgeError::Query`] naming the parameter and the value.
pub fn parse_duration(name: &str, text: Option<&str>) -> Result<Option<Duration>, EdgeError> {
    let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else { return Ok(None) };
    model::parse_go_duration(text).map(Some).ok_or_else(|| {
        EdgeError::Query(format!("{name}={text:?}: expected a duration such as 100ms, 1.5s or 2m"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile_to_one_traceql_query_that_parses() {
        let filters = Filters {
            service: Some("users".into()),
            operation: Some("POST \"/users\"".into()),
            attributes: vec![
                ("http.status_code".into(), "500".into()),
                ("db.system".into(), "postgres".into()),
            ],
            min_duration: Some(Duration::from_millis(100)),
            max_duration: None,
            traceql: Some("{ status = error }".into()),
        };
        let query = filters.to_traceql().unwrap();
        assert_eq!(
            query,
            "({ status = error }) && { resource.service.name = \"users\" && name = \"POST \\\"/users\\\"\" \
             && (.http.status_code = 500 || .http.status_code = \"500\") && .db.system = \"postgres\" \
             && traceDuration >= 100000000ns }"
        );
        parse_query(&query, &query).unwrap();
        assert_eq!(Filters::default().to_traceql().unwrap(), "{ }");
        let error = parse_query("span[name=\"x\"]", "span[name=\"x\"]").unwrap_err();
        assert!(matches!(error, EdgeError::Selector { .. }), "{error}");
        Selector::parse("{ }").unwrap();
        let bad = Filters { attributes: vec![("a b".into(), "x".into())], ..Filters::default() };
        assert!(bad.to_traceql().unwrap_err().to_string().contains("\"a b\""));
    }

    #[test]
    fn logfmt_tags_read_quoted_and_bare_values() {
        let mut filters = Filters::default();
        parse_logfmt(r#" service.name=api  http.status_code=500 name="GET /x \"y\"" "#, &mut filters)
            .unwrap();
        assert_eq!(filters.service.as_deref(), Some("api"));
        assert_eq!(filters.operation.as_deref(), Some("GET /x \"y\""));
        assert_eq!(filters.attributes, vec![("http.status_code".to_string(), "500".to_string())]);
        let error = parse_logfmt("a=1 b", &mut Filters::default()).unwrap_err().to_string();
        assert!(error.contains("character 5"), "{error}");
        let error = parse_logfmt("a=\"open", &mut Filters::default()).unwrap_err().to_string();
        assert!(error.contains("unclosed quote"), "{error}");
    }

    #[test]
    fn durations_read_go_syntax() {
        assert_eq!(parse_duration("d", Some(" 1.5s ")).unwrap(), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("d", Some("")).unwrap(), None);
        assert!(parse_duration("d", Some("5")).is_err());
        assert!(parse_duration("minDuration", Some("x"))
            .unwrap_err()
            .to_string()
            .contains("minDuration=\"x\""));
    }
}
