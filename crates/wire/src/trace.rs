//! A trace and its spans on the wire: the web API's `GET /api/v1/traces/{id}`, the HTML
//! report's inlined traces and `traces get --output json`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use lang::{SpanView, TraceView};
use model::{SpanId, TraceId};

use crate::attribute::Attributes;

/// The meta attributes every span has for the languages (reference 5.3), read through
/// [`SpanView::attribute`] so that the values are the engine's own. `span.events` is left
/// out: the span's `events` already carry them, typed.
const META_ATTRIBUTES: &[&str] = &[
    "tracetest.span.name",
    "tracetest.span.type",
    "tracetest.span.duration",
    "tracetest.span.start_time",
    "tracetest.span.end_time",
    "tracetest.span.parent_id",
    "tracetest.span.status_code",
    "tracetest.span.status_description",
];

/// A whole trace (or one [`TracePart`] of it): spans in the languages' tree order (depth first, children by start time),
/// so a spec's results, the waterfall and this list agree on "span i".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace<'a> {
    pub trace_id: TraceId,
    pub span_count: usize,
    /// Earliest start over the spans (0 for none).
    pub start_time_unix_nano: u64,
    /// Latest end over the spans, never before the start (0 for none).
    pub end_time_unix_nano: u64,
    pub spans: Vec<Span<'a>>,
    /// Set when these spans are one part of a trace too large to read whole
    /// (`?offset=&limit=`): laid out as a tree of their own, so a span whose parent is in
    /// another part is a root here. Absent for a whole trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<TracePart>,
}

/// Which part of a trace a [`Trace`] holds: its spans `offset..offset + span_count` in the
/// order they arrived, of `total_span_count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracePart {
    pub offset: usize,
    /// The most spans a part holds, as the server read it (the asked limit, lowered to what
    /// the read budget holds): the next part starts at `offset + limit`.
    pub limit: usize,
    pub total_span_count: usize,
}

impl<'a> Trace<'a> {
    /// The trace laid out along its span tree.
    pub fn new(trace: &'a model::Trace) -> Self {
        Self::from_view(trace, &TraceView::new(trace))
    }

    /// As [`Trace::new`], for a caller that has the view already.
    pub fn from_view(trace: &'a model::Trace, view: &TraceView<'a>) -> Self {
        let spans =
            view.spans().iter().enumerate().map(|(index, span)| Span::from_view(span, view, index)).collect();
        let (start, end) = trace.time_range().unwrap_or((0, 0));
        Trace {
            trace_id: trace.trace_id,
            span_count: view.len(),
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            spans,
            part: None,
        }
    }
}

/// One span at its place in the tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span<'a> {
    pub span_id: SpanId,
    /// The OTLP parent; null for a span without one.
    pub parent_span_id: Option<SpanId>,
    /// The parent in the tree the languages see: the OTLP parent, or the trigger span for an
    /// orphan it adopted; null for a root.
    pub tree_parent_id: Option<SpanId>,
    /// 0 for a root.
    pub depth: u32,
    /// The index (in [`Trace::spans`]) one past this span's subtree, so a client can
    /// collapse the subtree `i..subtree_end`.
    pub subtree_end: usize,
    pub name: Cow<'a, str>,
    /// The resource's `service.name`; empty when it has none.
    pub service: Cow<'a, str>,
    pub kind: SpanKind,
    /// `tracetest.span.type` (`http`, `database`, `rpc`, `messaging`, `faas`, `exec`,
    /// `general`).
    #[serde(rename = "type")]
    pub span_type: Cow<'a, str>,
    pub status: Status<'a>,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub duration_nanos: u64,
    /// The span's own attributes, typed.
    pub attributes: Attributes<'a>,
    /// Every attribute as selectors and assertions read it (text): the meta attributes,
    /// then resource, scope and span attributes with the languages' precedence.
    pub language_attributes: Texts<'a>,
    pub resource: Resource<'a>,
    pub scope: Scope<'a>,
    pub events: Vec<Event<'a>>,
    pub links: Vec<Link<'a>>,
}

impl<'a> Span<'a> {
    /// Span `index` of `trace_view`.
    pub fn from_view(view: &SpanView<'a>, trace_view: &TraceView<'a>, index: usize) -> Self {
        let span = view.span();
        Span {
            span_id: span.span_id,
            parent_span_id: span.parent_span_id,
            tree_parent_id: view.parent_id(),
            depth: view.depth(),
            subtree_end: trace_view.subtree(index).end,
            name: Cow::Borrowed(&span.name),
            service: Cow::Borrowed(span.service_name().unwrap_or("")),
            kind: span.kind.into(),
            span_type: Cow::Borrowed(view.span_type()),
            status: Status { code: span.status.code.into(), message: Cow::Borrowed(&span.status.message) },
            start_time_unix_nano: span.start_time_unix_nano,
            end_time_unix_nano: span.end_time_unix_nano,
            duration_nanos: span.duration_nanos(),
            attributes: Attributes::borrowed(&span.attributes),
            language_attributes: language_attributes(view),
            resource: Resource { attributes: Attributes::borrowed(&span.resource.attributes) },
            scope: Scope {
                name: Cow::Borrowed(&span.scope.name),
                version: Cow::Borrowed(&span.scope.version),
                attributes: Attributes::borrowed(&span.scope.attributes),
            },
            events: span
                .events()
                .iter()
                .map(|event| Event {
                    name: Cow::Borrowed(&event.name),
                    time_unix_nano: event.time_unix_nano,
                    attributes: Attributes::borrowed(&event.attributes),
                })
                .collect(),
            links: span
                .links()
                .iter()
                .map(|link| Link {
                    trace_id: link.trace_id,
                    span_id: link.span_id,
                    attributes: Attributes::borrowed(&link.attributes),
                })
                .collect(),
        }
    }
}

/// Every attribute text the selector and expression languages see on this span, by key.
fn language_attributes<'a>(view: &SpanView<'a>) -> Texts<'a> {
    let span = view.span();
    let plain =
        span.resource.attributes.iter().chain(span.scope.attributes.iter()).chain(span.attributes.iter());
    let mut keys: Vec<&'a str> = META_ATTRIBUTES.iter().copied().chain(plain.map(|kv| &*kv.key)).collect();
    // Sorted and each once: a repeated key reads the same text (the view applies the
    // precedence), so it is looked up once. One vector, not a map: a map's nodes cost a
    // quarter of a large trace's time.
    keys.sort_unstable();
    keys.dedup();
    Texts(keys.into_iter().filter_map(|key| Some((Cow::Borrowed(key), view.attribute(key)?))).collect())
}

/// Texts by key, written as one JSON object of strings; the keys sorted and each once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Texts<'a>(pub Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl Texts<'_> {
    /// The text of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        let at = self.0.binary_search_by(|(candidate, _)| (**candidate).cmp(key)).ok()?;
        Some(&self.0[at].1)
    }
}

impl Serialize for Texts<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(key, text)| (key, text)))
    }
}

impl<'de> Deserialize<'de> for Texts<'_> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let texts: BTreeMap<String, String> = BTreeMap::deserialize(deserializer)?;
        Ok(Texts(texts.into_iter().map(|(key, text)| (Cow::Owned(key), Cow::Owned(text))).collect()))
    }
}

/// OTLP's span kind, spelled as the selector language reads `tracetest.span.kind`
/// (Tracetest's `unespecified`, sic, which is what a spec compares against).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    #[serde(rename = "unespecified", alias = "unspecified")]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl From<model::SpanKind> for SpanKind {
    fn from(kind: model::SpanKind) -> Self {
        match kind {
            model::SpanKind::Unspecified => SpanKind::Unspecified,
            model::SpanKind::Internal => SpanKind::Internal,
            model::SpanKind::Server => SpanKind::Server,
            model::SpanKind::Client => SpanKind::Client,
            model::SpanKind::Producer => SpanKind::Producer,
            model::SpanKind::Consumer => SpanKind::Consumer,
        }
    }
}

impl From<SpanKind> for model::SpanKind {
    fn from(kind: SpanKind) -> Self {
        match kind {
            SpanKind::Unspecified => model::SpanKind::Unspecified,
            SpanKind::Internal => model::SpanKind::Internal,
            SpanKind::Server => model::SpanKind::Server,
            SpanKind::Client => model::SpanKind::Client,
            SpanKind::Producer => model::SpanKind::Producer,
            SpanKind::Consumer => model::SpanKind::Consumer,
        }
    }
}

/// A span's status: `code` and the status message (empty when none).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status<'a> {
    pub code: StatusCode,
    pub message: Cow<'a, str>,
}

/// OTLP's status code, spelled `unset`, `ok` or `error` everywhere tracecheck writes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusCode {
    Unset,
    Ok,
    Error,
}

impl StatusCode {
    /// The code as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::Unset => "unset",
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        }
    }
}

impl From<model::StatusCode> for StatusCode {
    fn from(code: model::StatusCode) -> Self {
        match code {
            model::StatusCode::Unset => StatusCode::Unset,
            model::StatusCode::Ok => StatusCode::Ok,
            model::StatusCode::Error => StatusCode::Error,
        }
    }
}

impl From<StatusCode> for model::StatusCode {
    fn from(code: StatusCode) -> Self {
        match code {
            StatusCode::Unset => model::StatusCode::Unset,
            StatusCode::Ok => model::StatusCode::Ok,
            StatusCode::Error => model::StatusCode::Error,
        }
    }
}

/// The resource that produced the span.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Resource<'a> {
    pub attributes: Attributes<'a>,
}

/// The instrumentation scope; `name` and `version` are empty when the exporter sent none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scope<'a> {
    pub name: Cow<'a, str>,
    pub version: Cow<'a, str>,
    pub attributes: Attributes<'a>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event<'a> {
    pub name: Cow<'a, str>,
    pub time_unix_nano: u64,
    pub attributes: Attributes<'a>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link<'a> {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub attributes: Attributes<'a>,
}
