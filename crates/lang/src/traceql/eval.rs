//! Evaluating a TraceQL [`Pipeline`] over one [`TraceView`]: spansets as sorted index
//! lists, structural operators as one or two passes over the tree in pre-order (a parent
//! always comes before its children), so every operator costs O(n) in the trace's spans.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::cmp::Ordering;
use std::collections::HashMap;

use super::ast::{
    AggregateKind, AttributeScope, BinaryOp, Condition, Expr, Field, Intrinsic, Kind, Literal, Pipeline,
    Relation, SpansetExpr, SpansetOp, Stage, Status,
};
use crate::view::{MetaKey, SpanView};
use crate::TraceView;
use model::{find_attribute, AttributeValue, Event, KeyValue, Link, SpanKind, StatusCode};

/// A spanset: indexes into [`TraceView::spans`], ascending (tree order), no repeats.
type Spanset = Vec<usize>;

/// The selected spans: the union of the pipeline's spansets, in tree order.
pub(super) fn select(pipeline: &Pipeline, view: &TraceView<'_>) -> Vec<usize> {
    let context = Context { view, trace: OnceCell::new(), child_counts: OnceCell::new() };
    let spansets = context.pipeline(pipeline);
    match spansets.len() {
        0 => Vec::new(),
        1 => spansets.into_iter().next().unwrap_or_default(),
        _ => union(view.len(), spansets.iter()),
    }
}

/// One evaluation: the view and what is computed at most once per trace.
struct Context<'v, 't> {
    view: &'v TraceView<'t>,
    trace: OnceCell<TraceFacts<'t>>,
    child_counts: OnceCell<Vec<u32>>,
}

/// The trace-level intrinsics.
struct TraceFacts<'t> {
    trace_id: String,
    duration: i64,
    root_name: Option<&'t str>,
    root_service: Option<&'t str>,
}

/// What a field reads: one span, and the event and link a per-event (per-link) condition
/// is looking at.
#[derive(Clone, Copy)]
struct Row<'v, 't> {
    index: usize,
    span: &'v SpanView<'t>,
    event: Option<&'t Event>,
    link: Option<&'t Link>,
}

/// Where an expression is evaluated: on one span (inside `{ }`) or on a spanset (after
/// `|`, where aggregates read the set).
#[derive(Clone, Copy)]
enum Env<'a, 'v, 't> {
    Row(Row<'v, 't>),
    Set(&'a [usize]),
}

/// A runtime value. Attribute texts are borrowed from the trace.
#[derive(Clone, Debug)]
enum Value<'t> {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Nanoseconds.
    Duration(i64),
    Str(Cow<'t, str>),
    Status(Status),
    Kind(Kind),
    Array(&'t [AttributeValue]),
}

impl<'t> Value<'t> {
    fn of_attribute(value: &'t AttributeValue) -> Value<'t> {
        match value {
            AttributeValue::String(text) => Value::Str(Cow::Borrowed(text)),
            AttributeValue::Bool(flag) => Value::Bool(*flag),
            AttributeValue::Int(number) => Value::Int(*number),
            AttributeValue::Double(number) => Value::Float(*number),
            AttributeValue::Bytes(bytes) => Value::Str(Cow::Owned(hex::encode(&bytes[..]))),
            AttributeValue::Array(items) => Value::Array(items),
            // A map has no TraceQL value; reading it is like reading a missing attribute.
            AttributeValue::Map(_) | AttributeValue::Empty => Value::Nil,
        }
    }

    fn of_literal(literal: &'t Literal) -> Value<'t> {
        match literal {
            Literal::Nil => Value::Nil,
            Literal::Bool(flag) => Value::Bool(*flag),
            Literal::Int(number) => Value::Int(*number),
            Literal::Float(number) => Value::Float(*number),
            Literal::Duration(nanos) => Value::Duration(*nanos),
            Literal::Str(text) => Value::Str(Cow::Borrowed(text)),
            Literal::Status(status) => Value::Status(*status),
            Literal::Kind(kind) => Value::Kind(*kind),
        }
    }

    fn is_true(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    /// Integer-valued numbers (integers and durations) as `i64`.
    fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(number) | Value::Duration(number) => Some(*number),
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(number) | Value::Duration(number) => Some(*number as f64),
            Value::Float(number) => Some(*number),
            _ => None,
        }
    }
}

/// How two present, scalar values order; `None` when they cannot be compared (a string
/// and an integer never equal each other).
fn order(left: &Value<'_>, right: &Value<'_>) -> Option<Ordering> {
    match (left, right) {
        (Value::Str(a), Value::Str(b)) => Some(a.as_ref().cmp(b.as_ref())),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        _ => match (left.as_i64(), right.as_i64()) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => left.as_f64()?.partial_cmp(&right.as_f64()?),
        },
    }
}

/// A comparison of two values; values of types that do not compare (or a missing one)
/// satisfy no comparator, `!=` included.
fn compare(op: BinaryOp, left: &Value<'_>, right: &Value<'_>) -> bool {
    // An array matches `=` (and orderings) when some element does, `!=` when none is equal.
    if let Value::Array(items) = left {
        return compare_array(op, items, right);
    }
    if let Value::Array(items) = right {
        return compare_array(flip(op), items, left);
    }
    // Enums only have `=` and `!=` (the parser refuses orderings on them).
    let equal_enums = match (left, right) {
        (Value::Status(a), Value::Status(b)) => Some(a == b),
        (Value::Kind(a), Value::Kind(b)) => Some(a == b),
        _ => None,
    };
    if let Some(equal) = equal_enums {
        return match op {
            BinaryOp::Eq => equal,
            BinaryOp::Ne => !equal,
            _ => false,
        };
    }
    match order(left, right) {
        None => false,
        Some(ordering) => match op {
            BinaryOp::Eq => ordering == Ordering::Equal,
            BinaryOp::Ne => ordering != Ordering::Equal,
            BinaryOp::Gt => ordering == Ordering::Greater,
            BinaryOp::Ge => ordering != Ordering::Less,
            BinaryOp::Lt => ordering == Ordering::Less,
            BinaryOp::Le => ordering != Ordering::Greater,
            _ => false,
        },
    }
}

fn compare_array(op: BinaryOp, items: &[AttributeValue], other: &Value<'_>) -> bool {
    let mut elements = items.iter().map(Value::of_attribute);
    match op {
        BinaryOp::Ne => !elements.any(|element| compare(BinaryOp::Eq, &element, other)),
        op => elements.any(|element| compare(op, &element, other)),
    }
}

/// The comparison with its sides swapped: `a < b` is `b > a`.
fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        other => other,
    }
}

fn arithmetic<'t>(op: BinaryOp, left: &Value<'t>, right: &Value<'t>) -> Value<'t> {
    let is_duration = matches!(left, Value::Duration(_)) || matches!(right, Value::Duration(_));
    if let (Some(a), Some(b)) = (left.as_i64(), right.as_i64()) {
        let result = match op {
            BinaryOp::Add => a.checked_add(b),
            BinaryOp::Sub => a.checked_sub(b),
            BinaryOp::Mul => a.checked_mul(b),
            BinaryOp::Div => a.checked_div(b),
            BinaryOp::Rem => a.checked_rem(b),
            BinaryOp::Pow => match u32::try_from(b) {
                Ok(exponent) => a.checked_pow(exponent),
                // A negative exponent makes a fraction.
                Err(_) => return float_value((a as f64).powf(b as f64)),
            },
            _ => None,
        };
        return match result {
            Some(number) if is_duration => Value::Duration(number),
            Some(number) => Value::Int(number),
            None => Value::Nil,
        };
    }
    let (Some(a), Some(b)) = (left.as_f64(), right.as_f64()) else {
        return Value::Nil;
    };
    let result = match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Rem => a % b,
        BinaryOp::Pow => a.powf(b),
        _ => return Value::Nil,
    };
    if is_duration && result.is_finite() && result.abs() < i64::MAX as f64 {
        return Value::Duration(result.round() as i64);
    }
    float_value(result)
}

fn float_value<'t>(number: f64) -> Value<'t> {
    if number.is_finite() {
        Value::Float(number)
    } else {
        Value::Nil
    }
}

fn status_of(code: StatusCode) -> Status {
    match code {
        StatusCode::Unset => Status::Unset,
        StatusCode::Ok => Status::Ok,
        StatusCode::Error => Status::Error,
    }
}

fn kind_of(kind: SpanKind) -> Kind {
    match kind {
        SpanKind::Unspecified => Kind::Unspecified,
        SpanKind::Internal => Kind::Internal,
        SpanKind::Server => Kind::Server,
        SpanKind::Client => Kind::Client,
        SpanKind::Producer => Kind::Producer,
        SpanKind::Consumer => Kind::Consumer,
    }
}

fn nanos_i64(nanos: u64) -> i64 {
    i64::try_from(nanos).unwrap_or(i64::MAX)
}

fn attribute<'t>(attributes: &'t [KeyValue], name: &str) -> Value<'t> {
    find_attribute(attributes, name).map_or(Value::Nil, Value::of_attribute)
}

impl<'v, 't> Context<'v, 't> {
    fn trace(&self) -> &TraceFacts<'t> {
        self.trace.get_or_init(|| {
            let spans = self.view.spans();
            let start = spans.iter().map(|span| span.span().start_time_unix_nano).min().unwrap_or(0);
            let end = spans.iter().map(|span| span.span().end_time_unix_nano).max().unwrap_or(0);
            let root = self.view.root();
            TraceFacts {
                trace_id: root.map(|root| root.span().trace_id.to_hex()).unwrap_or_default(),
                duration: nanos_i64(end.saturating_sub(start)),
                root_name: root.map(SpanView::name),
                root_service: root.and_then(|root| root.span().service_name()),
            }
        })
    }

    fn child_count(&self, index: usize) -> i64 {
        let counts = self.child_counts.get_or_init(|| {
            let mut counts = vec![0u32; self.view.len()];
            for span in self.view.spans() {
                if let Some(parent) = span.parent_index() {
                    counts[parent] += 1;
                }
            }
            counts
        });
        i64::from(counts[index])
    }

    // ---- spansets ---------------------------------------------------------------------

    fn pipeline(&self, pipeline: &Pipeline) -> Vec<Spanset> {
        let mut spansets = self.spanset_expr(&pipeline.head);
        for stage in &pipeline.stages {
            spansets = match stage {
                Stage::Filter(condition) => spansets
                    .into_iter()
                    .map(|set| {
                        set.into_iter().filter(|&index| self.holds(condition.as_ref(), index)).collect()
                    })
                    .filter(|set: &Spanset| !set.is_empty())
                    .collect(),
                Stage::Scalar(expr) => {
                    spansets.into_iter().filter(|set| self.eval(expr, Env::Set(set)).is_true()).collect()
                }
                Stage::By(fields) => spansets.iter().flat_map(|set| self.group(set, fields)).collect(),
                Stage::Coalesce if spansets.len() > 1 => vec![union(self.view.len(), spansets.iter())],
                Stage::Coalesce | Stage::Select(_) => spansets,
            };
        }
        spansets
    }

    fn spanset_expr(&self, expr: &SpansetExpr) -> Vec<Spanset> {
        let spanset = match expr {
            SpansetExpr::Filter(condition) => {
                (0..self.view.len()).filter(|&index| self.holds(condition.as_ref(), index)).collect()
            }
            SpansetExpr::Group(pipeline) => return self.pipeline(pipeline),
            SpansetExpr::Binary { op, left, right } => {
                // Groups made by `by()` merge at a spanset operator.
                let n_spans = self.view.len();
                let left = union(n_spans, self.spanset_expr(left).iter());
                let right = union(n_spans, self.spanset_expr(right).iter());
                match op {
                    SpansetOp::And if left.is_empty() || right.is_empty() => Vec::new(),
                    SpansetOp::And | SpansetOp::Or => union(n_spans, [&left, &right].into_iter()),
                    SpansetOp::Structural { relation, negated, union: both } => {
                        self.structural(*relation, *negated, *both, &left, &right)
                    }
                }
            }
        };
        if spanset.is_empty() {
            Vec::new()
        } else {
            vec![spanset]
        }
    }

    /// `left OP right` for a structural operator: the right-hand spans related to some
    /// left-hand span (to none when `negated`); with `both` (`&>>`...) also the left-hand
    /// spans related the other way to some right-hand span.
    fn structural(
        &self,
        relation: Relation,
        negated: bool,
        both: bool,
        left: &[usize],
        right: &[usize],
    ) -> Spanset {
        let in_left = self.mask(left);
        let related = self.related(relation, &in_left);
        let mut found: Vec<usize> =
            right.iter().copied().filter(|&index| related[index] != negated).collect();
        if both {
            let in_right = self.mask(right);
            let converse = match relation {
                Relation::Child => Relation::Parent,
                Relation::Descendant => Relation::Ancestor,
                Relation::Parent => Relation::Child,
                Relation::Ancestor => Relation::Descendant,
                Relation::Sibling => Relation::Sibling,
            };
            let related = self.related(converse, &in_right);
            found.extend(left.iter().copied().filter(|&index| related[index]));
            found.sort_unstable();
            found.dedup();
        }
        found
    }

    fn mask(&self, members: &[usize]) -> Vec<bool> {
        let mut mask = vec![false; self.view.len()];
        for &index in members {
            mask[index] = true;
        }
        mask
    }

    /// For every span: whether it stands in `relation` to some member of `set`
    /// (`Child`: its parent is a member; `Parent`: one of its children is...).
    fn related(&self, relation: Relation, set: &[bool]) -> Vec<bool> {
        let spans = self.view.spans();
        let n_spans = spans.len();
        let mut related = vec![false; n_spans];
        match relation {
            Relation::Child => {
                for (index, span) in spans.iter().enumerate() {
                    related[index] = span.parent_index().is_some_and(|parent| set[parent]);
                }
            }
            Relation::Descendant => {
                // Pre-order: the parent's answer is known before its children's.
                for (index, span) in spans.iter().enumerate() {
                    related[index] = span.parent_index().is_some_and(|parent| set[parent] || related[parent]);
                }
            }
            Relation::Parent => {
                for (index, span) in spans.iter().enumerate() {
                    if let (true, Some(parent)) = (set[index], span.parent_index()) {
                        related[parent] = true;
                    }
                }
            }
            Relation::Ancestor => {
                // Backwards: every child is done before its parent.
                for index in (0..n_spans).rev() {
                    if let (true, Some(parent)) = (set[index] || related[index], spans[index].parent_index())
                    {
                        related[parent] = true;
                    }
                }
            }
            Relation::Sibling => {
                let mut members_below = vec![0u32; n_spans];
                for (index, span) in spans.iter().enumerate() {
                    if let (true, Some(parent)) = (set[index], span.parent_index()) {
                        members_below[parent] += 1;
                    }
                }
                // Roots have no siblings; a span is not its own sibling.
                for (index, span) in spans.iter().enumerate() {
                    related[index] = span
                        .parent_index()
                        .is_some_and(|parent| members_below[parent] > u32::from(set[index]));
                }
            }
        }
        related
    }

    /// Splits `set` by the values of `fields`, groups in order of first appearance.
    fn group(&self, set: &[usize], fields: &[Expr]) -> Vec<Spanset> {
        let mut groups: Vec<Spanset> = Vec::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for &index in set {
            let row = self.row(index);
            let key: String =
                fields.iter().map(|field| format!("{:?}\u{0}", self.eval(field, Env::Row(row)))).collect();
            let slot = *by_key.entry(key).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[slot].push(index);
        }
        groups
    }

    // ---- conditions and values -----------------------------------------------------------

    fn row(&self, index: usize) -> Row<'v, 't> {
        let span = &self.view.spans()[index];
        Row { index, span, event: span.span().events().first(), link: span.span().links().first() }
    }

    /// Whether `condition` holds on span `index` (`None`, the empty filter, always holds).
    /// A condition reading event (link) fields holds when it holds for some event (link);
    /// a span without any is looked at once, its event fields missing.
    fn holds(&self, condition: Option<&Condition>, index: usize) -> bool {
        let Some(condition) = condition else {
            return true;
        };
        let span = &self.view.spans()[index];
        let row = Row { index, span, event: None, link: None };
        let events = span.span().events();
        let links = span.span().links();
        let options = |per: bool, n_items: usize| if per && n_items > 0 { n_items } else { 1 };
        for event_at in 0..options(condition.per_event, events.len()) {
            for link_at in 0..options(condition.per_link, links.len()) {
                let row = Row {
                    event: condition.per_event.then(|| events.get(event_at)).flatten(),
                    link: condition.per_link.then(|| links.get(link_at)).flatten(),
                    ..row
                };
                if self.eval(&condition.expr, Env::Row(row)).is_true() {
                    return true;
                }
            }
        }
        false
    }

    /// The value borrows from the trace or from the query, whichever lives shorter.
    fn eval<'a>(&'a self, expr: &'a Expr, env: Env<'_, 'v, 't>) -> Value<'a> {
        match expr {
            Expr::Literal(literal) => Value::of_literal(literal),
            Expr::Field(field) => match env {
                Env::Row(row) => self.field(field, row),
                Env::Set(_) => Value::Nil,
            },
            Expr::Not(inner) => match self.eval(inner, env) {
                Value::Bool(flag) => Value::Bool(!flag),
                _ => Value::Nil,
            },
            Expr::Negate(inner) => match self.eval(inner, env) {
                Value::Int(number) => number.checked_neg().map_or(Value::Nil, Value::Int),
                Value::Duration(nanos) => nanos.checked_neg().map_or(Value::Nil, Value::Duration),
                Value::Float(number) => Value::Float(-number),
                _ => Value::Nil,
            },
            Expr::IsNil { negated, expr } => {
                Value::Bool(matches!(self.eval(expr, env), Value::Nil) != *negated)
            }
            Expr::Regex { negated, left, pattern } => match self.eval(left, env) {
                Value::Str(text) => Value::Bool(pattern.0.is_match(&text) != *negated),
                Value::Array(items) => {
                    let any =
                        items.iter().any(|item| item.as_str().is_some_and(|text| pattern.0.is_match(text)));
                    Value::Bool(any != *negated)
                }
                _ => Value::Bool(false),
            },
            Expr::Binary { op: BinaryOp::And, left, right } => {
                Value::Bool(self.eval(left, env).is_true() && self.eval(right, env).is_true())
            }
            Expr::Binary { op: BinaryOp::Or, left, right } => {
                Value::Bool(self.eval(left, env).is_true() || self.eval(right, env).is_true())
            }
            Expr::Binary { op, left, right } => {
                let left = self.eval(left, env);
                let right = self.eval(right, env);
                if op.is_comparison() {
                    Value::Bool(compare(*op, &left, &right))
                } else {
                    arithmetic(*op, &left, &right)
                }
            }
            Expr::Aggregate { kind, arg } => match env {
                Env::Set(set) => self.aggregate(*kind, arg.as_deref(), set),
                Env::Row(_) => Value::Nil,
            },
        }
    }

    /// An aggregate over a spanset; spans where the argument is not a number are skipped,
    /// and with none left the value is missing (so the comparison fails).
    fn aggregate<'a>(&'a self, kind: AggregateKind, arg: Option<&'a Expr>, set: &[usize]) -> Value<'a> {
        let Some(arg) = arg else {
            return Value::Int(i64::try_from(set.len()).unwrap_or(i64::MAX));
        };
        let values: Vec<Value<'a>> = set
            .iter()
            .map(|&index| self.eval(arg, Env::Row(self.row(index))))
            .filter(|value| value.as_f64().is_some())
            .collect();
        if values.is_empty() {
            return Value::Nil;
        }
        let any_duration = values.iter().any(|value| matches!(value, Value::Duration(_)));
        let all_integers = values.iter().all(|value| value.as_i64().is_some());
        let sum = || {
            if all_integers {
                let total = values.iter().try_fold(0i64, |total, value| total.checked_add(value.as_i64()?));
                total.map(|total| if any_duration { Value::Duration(total) } else { Value::Int(total) })
            } else {
                Some(float_value(values.iter().filter_map(Value::as_f64).sum()))
            }
        };
        match kind {
            AggregateKind::Count => Value::Int(i64::try_from(set.len()).unwrap_or(i64::MAX)),
            AggregateKind::Sum => sum().unwrap_or(Value::Nil),
            AggregateKind::Avg => {
                let mean = values.iter().filter_map(Value::as_f64).sum::<f64>() / values.len() as f64;
                if any_duration && all_integers {
                    Value::Duration(mean.round() as i64)
                } else {
                    float_value(mean)
                }
            }
            AggregateKind::Min | AggregateKind::Max => {
                let wanted = if kind == AggregateKind::Min { Ordering::Less } else { Ordering::Greater };
                let mut best = values[0].clone();
                for value in &values[1..] {
                    if order(value, &best) == Some(wanted) {
                        best = value.clone();
                    }
                }
                best
            }
        }
    }

    fn field(&self, field: &Field, row: Row<'v, 't>) -> Value<'t> {
        let span = row.span.span();
        match field {
            Field::Intrinsic(intrinsic) => match intrinsic {
                Intrinsic::Name => Value::Str(Cow::Borrowed(&span.name)),
                Intrinsic::Status => Value::Status(status_of(span.status.code)),
                Intrinsic::StatusMessage => Value::Str(Cow::Borrowed(&span.status.message)),
                Intrinsic::Kind => Value::Kind(kind_of(span.kind)),
                Intrinsic::Duration => Value::Duration(nanos_i64(span.duration_nanos())),
                Intrinsic::SpanId => Value::Str(Cow::Owned(span.span_id.to_hex())),
                Intrinsic::ParentId => {
                    row.span.parent_id().map_or(Value::Nil, |id| Value::Str(Cow::Owned(id.to_hex())))
                }
                Intrinsic::ChildCount => Value::Int(self.child_count(row.index)),
                Intrinsic::TraceId => Value::Str(Cow::Owned(self.trace().trace_id.clone())),
                Intrinsic::TraceDuration => Value::Duration(self.trace().duration),
                Intrinsic::RootName => {
                    self.trace().root_name.map_or(Value::Nil, |name| Value::Str(Cow::Borrowed(name)))
                }
                Intrinsic::RootService => {
                    self.trace().root_service.map_or(Value::Nil, |name| Value::Str(Cow::Borrowed(name)))
                }
                Intrinsic::EventName => {
                    row.event.map_or(Value::Nil, |event| Value::Str(Cow::Borrowed(&event.name)))
                }
                Intrinsic::EventTimeSinceStart => row.event.map_or(Value::Nil, |event| {
                    let since = i128::from(event.time_unix_nano) - i128::from(span.start_time_unix_nano);
                    Value::Duration(i64::try_from(since).unwrap_or(i64::MAX))
                }),
                Intrinsic::LinkSpanId => {
                    row.link.map_or(Value::Nil, |link| Value::Str(Cow::Owned(link.span_id.to_hex())))
                }
                Intrinsic::LinkTraceId => {
                    row.link.map_or(Value::Nil, |link| Value::Str(Cow::Owned(link.trace_id.to_hex())))
                }
                Intrinsic::InstrumentationName => Value::Str(Cow::Borrowed(&span.scope.name)),
                Intrinsic::InstrumentationVersion => Value::Str(Cow::Borrowed(&span.scope.version)),
            },
            Field::Attribute { scope, name, meta } => {
                if let Some(meta) = meta {
                    return self.meta(*meta, row);
                }
                match scope {
                    AttributeScope::Span => attribute(&span.attributes, name),
                    AttributeScope::Resource => attribute(&span.resource.attributes, name),
                    AttributeScope::Unscoped => match attribute(&span.attributes, name) {
                        Value::Nil => attribute(&span.resource.attributes, name),
                        value => value,
                    },
                    AttributeScope::Instrumentation => attribute(&span.scope.attributes, name),
                    AttributeScope::Event => {
                        row.event.map_or(Value::Nil, |event| attribute(&event.attributes, name))
                    }
                    AttributeScope::Link => {
                        row.link.map_or(Value::Nil, |link| attribute(&link.attributes, name))
                    }
                }
            }
        }
    }

    /// A meta attribute (`span.tracetest.span.duration`): typed where the text is a
    /// number, the text the selector language sees otherwise.
    fn meta(&self, key: MetaKey, row: Row<'v, 't>) -> Value<'t> {
        let span = row.span.span();
        match key {
            MetaKey::Duration => Value::Duration(nanos_i64(span.duration_nanos())),
            MetaKey::StartTime => Value::Int(nanos_i64(span.start_time_unix_nano)),
            MetaKey::EndTime => Value::Int(nanos_i64(span.end_time_unix_nano)),
            _ => row.span.meta(key).map_or(Value::Nil, Value::Str),
        }
    }
}

/// The union of sorted spansets, sorted.
fn union<'a>(n_spans: usize, spansets: impl Iterator<Item = &'a Spanset>) -> Spanset {
    let mut member = vec![false; n_spans];
    for set in spansets {
        for &index in set {
            member[index] = true;
        }
    }
    member.iter().enumerate().filter(|(_, &is_member)| is_member).map(|(index, _)| index).collect()
}
