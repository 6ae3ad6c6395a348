//! Tracetest's model of a trace (reference section 5): spans as text attributes, one tree
//! with a root and children ordered by start time, and the meta attributes every span gets.
//!
//! A [`TraceView`] is built once per judged trace and borrowed by every selector and
//! expression; it stores the spans in depth-first pre-order so that "the subtree of span i"
//! is the contiguous range `i..subtree_end`. Attribute texts are computed on demand, so
//! building the view costs one sort, not one string per attribute.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::ops::Range;

use model::{AttributeValue, KeyValue, Span, SpanId, Trace};

/// The attribute that reads the number of spans a spec's selector matched.
pub const SELECTED_SPANS_COUNT: &str = "tracetest.selected_spans.count";

const ZERO_PARENT: &str = "0000000000000000";

/// One span as Tracetest sees it, at its place in the tree.
#[derive(Debug, Clone)]
pub struct SpanView<'t> {
    span: &'t Span,
    /// Index of the tree parent in [`TraceView::spans`]; `None` for a root.
    parent: Option<usize>,
    /// The tree parent's ID (the trigger span for adopted orphans), `None` for a root.
    parent_id: Option<SpanId>,
    /// One past the last index of this span's subtree in [`TraceView::spans`].
    subtree_end: usize,
    depth: u32,
    span_type: &'static str,
}

impl<'t> SpanView<'t> {
    pub fn span(&self) -> &'t Span {
        self.span
    }

    pub fn span_id(&self) -> SpanId {
        self.span.span_id
    }

    pub fn name(&self) -> &'t str {
        &self.span.name
    }

    /// Index of the tree parent in [`TraceView::spans`].
    pub fn parent_index(&self) -> Option<usize> {
        self.parent
    }

    /// The parent in Tracetest's tree: the OTLP parent, or the trigger span for a span
    /// whose parent is missing when the trace has a trigger span.
    pub fn parent_id(&self) -> Option<SpanId> {
        self.parent_id
    }

    /// Depth in the tree, 0 for a root.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// `tracetest.span.type` (reference 5.4).
    pub fn span_type(&self) -> &'static str {
        self.span_type
    }

    /// The span kind as selectors see it (`server`, ..., `unespecified`).
    pub fn kind(&self) -> &'static str {
        self.span.kind.tracetest_name()
    }

    /// The attribute's text as Tracetest sees it: meta attributes (5.3) first, then the
    /// resource's, the scope's and the span's own attributes, in that order of precedence
    /// (so the resource's `service.name` wins, 5.1). `None` when absent.
    /// `tracetest.selected_spans.count` is not a span attribute; the evaluator supplies it.
    pub fn attribute(&self, key: &str) -> Option<Cow<'t, str>> {
        match MetaKey::from_name(key) {
            Some(meta) => self.meta(meta),
            None => self.plain_attribute(key),
        }
    }

    /// A resource, scope or span attribute (no meta attribute), resource first.
    pub(crate) fn plain_attribute(&self, key: &str) -> Option<Cow<'t, str>> {
        let span = self.span;
        model::find_attribute(&span.resource.attributes, key)
            .or_else(|| model::find_attribute(&span.scope.attributes, key))
            .or_else(|| model::find_attribute(&span.attributes, key))
            .map(attribute_text)
    }

    /// A meta attribute's value; `None` when absent (an empty status description).
    pub(crate) fn meta(&self, key: MetaKey) -> Option<Cow<'t, str>> {
        let span = self.span;
        match key {
            MetaKey::Name => Some(Cow::Borrowed(&*span.name)),
            MetaKey::Type => Some(Cow::Borrowed(self.span_type)),
            MetaKey::Duration => Some(Cow::Owned(span.duration_nanos().to_string())),
            MetaKey::StartTime => Some(Cow::Owned(span.start_time_unix_nano.to_string())),
            MetaKey::EndTime => Some(Cow::Owned(span.end_time_unix_nano.to_string())),
            MetaKey::ParentId => {
                Some(self.parent_id.map_or(Cow::Borrowed(ZERO_PARENT), |id| Cow::Owned(id.to_hex())))
            }
            MetaKey::StatusCode => Some(Cow::Borrowed(span.status.code.otlp_name())),
            MetaKey::StatusDescription => {
                (!span.status.message.is_empty()).then(|| Cow::Borrowed(&*span.status.message))
            }
            MetaKey::Events => Some(Cow::Owned(events_json(span))),
        }
    }
}

/// The meta attributes of reference 5.3 that every span has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetaKey {
    Name,
    Type,
    Duration,
    StartTime,
    EndTime,
    ParentId,
    StatusCode,
    StatusDescription,
    Events,
}

impl MetaKey {
    pub(crate) fn from_name(key: &str) -> Option<MetaKey> {
        Some(match key {
            "tracetest.span.name" => MetaKey::Name,
            "tracetest.span.type" => MetaKey::Type,
            "tracetest.span.duration" => MetaKey::Duration,
            "tracetest.span.start_time" => MetaKey::StartTime,
            "tracetest.span.end_time" => MetaKey::EndTime,
            "tracetest.span.parent_id" => MetaKey::ParentId,
            "tracetest.span.status_code" => MetaKey::StatusCode,
            "tracetest.span.status_description" => MetaKey::StatusDescription,
            "span.events" => MetaKey::Events,
            _ => return None,
        })
    }
}

/// Text of an attribute value (reference 5.1, with the Q-12 fix: doubles print as the
/// shortest text that reads back to the same number; arrays and maps print as JSON).
pub(crate) fn attribute_text(value: &AttributeValue) -> Cow<'_, str> {
    match value {
        AttributeValue::String(text) => Cow::Borrowed(text),
        AttributeValue::Int(number) => Cow::Owned(number.to_string()),
        AttributeValue::Bool(flag) => Cow::Borrowed(if *flag { "true" } else { "false" }),
        AttributeValue::Double(number) => Cow::Owned(double_text(*number)),
        AttributeValue::Bytes(bytes) => Cow::Owned(hex::encode(&bytes[..])),
        AttributeValue::Array(_) | AttributeValue::Map(_) => Cow::Owned(attribute_json(value).to_string()),
        AttributeValue::Empty => Cow::Borrowed(""),
    }
}

fn double_text(number: f64) -> String {
    if number.is_finite() {
        format!("{number}")
    } else {
        // JSON has no infinity; keep Go's spelling so the text is at least recognisable.
        if number.is_nan() {
            "NaN"
        } else if number > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        }
        .to_string()
    }
}

fn attribute_json(value: &AttributeValue) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        AttributeValue::String(text) => Json::String(text.to_string()),
        AttributeValue::Int(number) => Json::from(*number),
        AttributeValue::Bool(flag) => Json::Bool(*flag),
        AttributeValue::Double(number) => {
            serde_json::Number::from_f64(*number).map_or(Json::Null, Json::Number)
        }
        AttributeValue::Bytes(bytes) => Json::String(hex::encode(&bytes[..])),
        AttributeValue::Array(items) => Json::Array(items.iter().map(attribute_json).collect()),
        AttributeValue::Map(entries) => Json::Object(
            entries.iter().map(|KeyValue { key, value }| (key.to_string(), attribute_json(value))).collect(),
        ),
        AttributeValue::Empty => Json::Null,
    }
}

/// `span.events`: `[{"name", "timestamp" (RFC 3339), "attributes" {k: text}}]`.
fn events_json(span: &Span) -> String {
    let events: Vec<serde_json::Value> = span
        .events()
        .iter()
        .map(|event| {
            let attributes: serde_json::Map<String, serde_json::Value> = event
                .attributes
                .iter()
                .map(|kv| {
                    (kv.key.to_string(), serde_json::Value::String(attribute_text(&kv.value).into_owned()))
                })
                .collect();
            serde_json::json!({
                "name": &*event.name,
                "timestamp": rfc3339_nanos(event.time_unix_nano),
                "attributes": attributes,
            })
        })
        .collect();
    serde_json::Value::Array(events).to_string()
}

/// Unix nanoseconds as RFC 3339 in UTC with trailing zeros of the fraction trimmed (Go's
/// `RFC3339Nano`, which is how Tracetest's JSON prints times).
pub(crate) fn rfc3339_nanos(unix_nanos: u64) -> String {
    let secs = (unix_nanos / 1_000_000_000) as i64;
    let nanos = unix_nanos % 1_000_000_000;
    let (year, month, day, hour, minute, second) = model::civil_from_unix(secs);
    let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        let _ = write!(text, ".{}", fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// The Tracetest view of one trace: spans in depth-first pre-order over a tree whose
/// children are sorted by start time (reference 5.2).
#[derive(Debug, Clone, Default)]
pub struct TraceView<'t> {
    spans: Vec<SpanView<'t>>,
}

impl<'t> TraceView<'t> {
    /// Lays the trace out along its span tree ([`model::SpanTree`], whose rules are
    /// the reference's 5.2): a span's parent is its tree parent, so an orphan adopted by the
    /// trigger span reads the trigger span's ID as `tracetest.span.parent_id`.
    pub fn new(trace: &'t Trace) -> Self {
        let tree = trace.tree();
        let nodes = tree.nodes();
        let spans = nodes
            .iter()
            .map(|node| {
                let span = &*trace.spans[node.span];
                SpanView {
                    span,
                    parent: node.parent,
                    parent_id: node.parent.map(|at| trace.spans[nodes[at].span].span_id),
                    subtree_end: node.subtree_end,
                    depth: node.depth,
                    span_type: span.tracetest_type(),
                }
            })
            .collect();
        TraceView { spans }
    }

    /// Every span in traversal order: the order of selector and assertion results.
    pub fn spans(&self) -> &[SpanView<'t>] {
        &self.spans
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The indexes of span `index` and its descendants.
    pub fn subtree(&self, index: usize) -> Range<usize> {
        self.spans.get(index).map_or(0..0, |view| index..view.subtree_end)
    }

    /// The first root (the trigger span when there is one).
    pub fn root(&self) -> Option<&SpanView<'t>> {
        self.spans.first()
    }

    /// The span with this ID, if present.
    pub fn find(&self, span_id: SpanId) -> Option<&SpanView<'t>> {
        self.spans.iter().find(|view| view.span.span_id == span_id)
    }
}
