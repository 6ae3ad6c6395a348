//! The TraceQL syntax tree: a pipeline of spanset expressions, filters over fields, and
//! the one table of intrinsics.

use std::sync::Arc;

use regex::Regex;

use crate::view::MetaKey;

/// A whole query: a spanset expression and the stages after it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Pipeline {
    pub head: SpansetExpr,
    pub stages: Vec<Stage>,
}

/// What produces spansets: filters combined by spanset operators.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum SpansetExpr {
    /// `{ condition }`; `None` for `{ }`, every span.
    Filter(Option<Condition>),
    /// `( pipeline )`.
    Group(Box<Pipeline>),
    Binary {
        op: SpansetOp,
        left: Box<SpansetExpr>,
        right: Box<SpansetExpr>,
    },
}

/// The operators between two spanset expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SpansetOp {
    /// `&&`: both sides' spans, when both sides matched.
    And,
    /// `||`: the spans of either side.
    Or,
    /// A structural relation: the right side's spans related to some left-side span,
    /// (`negated`) those related to none, or (`union`) both sides' related spans.
    Structural { relation: Relation, negated: bool, union: bool },
}

/// How a right-hand span relates to a left-hand span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Relation {
    /// `>`: the right span is a child of the left span.
    Child,
    /// `>>`: a descendant.
    Descendant,
    /// `<`: the parent.
    Parent,
    /// `<<`: an ancestor.
    Ancestor,
    /// `~`: a sibling (same parent, other span).
    Sibling,
}

impl SpansetOp {
    /// Every spanset operator by symbol, for the parser.
    pub const ALL: [(&'static str, SpansetOp); 17] = [
        ("&&", SpansetOp::And),
        ("||", SpansetOp::Or),
        (">", structural(Relation::Child, false, false)),
        (">>", structural(Relation::Descendant, false, false)),
        ("<", structural(Relation::Parent, false, false)),
        ("<<", structural(Relation::Ancestor, false, false)),
        ("~", structural(Relation::Sibling, false, false)),
        ("!>", structural(Relation::Child, true, false)),
        ("!>>", structural(Relation::Descendant, true, false)),
        ("!<", structural(Relation::Parent, true, false)),
        ("!<<", structural(Relation::Ancestor, true, false)),
        ("!~", structural(Relation::Sibling, true, false)),
        ("&>", structural(Relation::Child, false, true)),
        ("&>>", structural(Relation::Descendant, false, true)),
        ("&<", structural(Relation::Parent, false, true)),
        ("&<<", structural(Relation::Ancestor, false, true)),
        ("&~", structural(Relation::Sibling, false, true)),
    ];

    /// Binding strength: structural operators bind tighter than `&&`, which binds tighter
    /// than `||` (all left-associative).
    pub fn precedence(self) -> u8 {
        match self {
            SpansetOp::Or => 1,
            SpansetOp::And => 2,
            SpansetOp::Structural { .. } => 3,
        }
    }
}

const fn structural(relation: Relation, negated: bool, union: bool) -> SpansetOp {
    SpansetOp::Structural { relation, negated, union }
}

/// A pipeline stage after `|`.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Stage {
    /// `| { condition }`: keeps the spans of each spanset that match.
    Filter(Option<Condition>),
    /// `| count() > 2`: keeps the spansets for which the condition holds.
    Scalar(Expr),
    /// `| by(field, ...)`: splits each spanset by the fields' values.
    By(Vec<Expr>),
    /// `| coalesce()`: merges the spansets into one.
    Coalesce,
    /// `| select(field, ...)`: the selection is unchanged (the fields are shown by Tempo).
    Select(Vec<Expr>),
}

/// The condition of a spanset filter, with what it reads decided once.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Condition {
    pub expr: Expr,
    /// It reads event fields: it holds on a span when it holds for one of its events.
    pub per_event: bool,
    /// It reads link fields: it holds on a span when it holds for one of its links.
    pub per_link: bool,
}

/// A field expression inside `{ }`, or a scalar expression after `|`.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Expr {
    Literal(Literal),
    Field(Field),
    Not(Box<Expr>),
    Negate(Box<Expr>),
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `= nil` (`negated`: `!= nil`): whether the value is missing.
    IsNil {
        negated: bool,
        expr: Box<Expr>,
    },
    /// `=~` / `!~` with its pattern compiled once (anchored at both ends).
    Regex {
        negated: bool,
        left: Box<Expr>,
        pattern: Pattern,
    },
    /// `count()`, `avg(duration)`...: only in a scalar stage.
    Aggregate {
        kind: AggregateKind,
        arg: Option<Box<Expr>>,
    },
}

/// A compiled regular expression that compares by its source text.
#[derive(Clone, Debug)]
pub(super) struct Pattern(pub Arc<Regex>);

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Literal {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Nanoseconds.
    Duration(i64),
    Str(String),
    Status(Status),
    Kind(Kind),
}

/// `status` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Status {
    Error,
    Ok,
    Unset,
}

/// `kind` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

/// The bare words that are values.
pub(super) const KEYWORD_VALUES: [(&str, Literal); 14] = [
    ("nil", Literal::Nil),
    ("true", Literal::Bool(true)),
    ("false", Literal::Bool(false)),
    ("error", Literal::Status(Status::Error)),
    ("ok", Literal::Status(Status::Ok)),
    ("unset", Literal::Status(Status::Unset)),
    ("unspecified", Literal::Kind(Kind::Unspecified)),
    ("internal", Literal::Kind(Kind::Internal)),
    ("server", Literal::Kind(Kind::Server)),
    ("client", Literal::Kind(Kind::Client)),
    ("producer", Literal::Kind(Kind::Producer)),
    ("consumer", Literal::Kind(Kind::Consumer)),
    ("minInt", Literal::Int(i64::MIN)),
    ("maxInt", Literal::Int(i64::MAX)),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BinaryOp {
    And,
    Or,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
}

impl BinaryOp {
    /// Operators inside `{ }` by symbol and binding strength (higher binds tighter); `^`
    /// is right-associative, the others left.
    pub const ALL: [(&'static str, BinaryOp, u8); 14] = [
        ("||", BinaryOp::Or, 1),
        ("&&", BinaryOp::And, 2),
        ("=", BinaryOp::Eq, 3),
        ("!=", BinaryOp::Ne, 3),
        (">", BinaryOp::Gt, 3),
        (">=", BinaryOp::Ge, 3),
        ("<", BinaryOp::Lt, 3),
        ("<=", BinaryOp::Le, 3),
        ("+", BinaryOp::Add, 4),
        ("-", BinaryOp::Sub, 4),
        ("*", BinaryOp::Mul, 5),
        ("/", BinaryOp::Div, 5),
        ("%", BinaryOp::Rem, 5),
        ("^", BinaryOp::Pow, 6),
    ];

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Lt | BinaryOp::Le
        )
    }

    pub fn is_logical(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AggregateKind {
    Count,
    Avg,
    Min,
    Max,
    Sum,
}

impl AggregateKind {
    /// The aggregate functions by name; all but `count` take one field expression.
    pub const ALL: [(&'static str, AggregateKind); 5] = [
        ("count", AggregateKind::Count),
        ("avg", AggregateKind::Avg),
        ("min", AggregateKind::Min),
        ("max", AggregateKind::Max),
        ("sum", AggregateKind::Sum),
    ];
}

/// What a field reads from a span (or its trace, event or link).
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Field {
    Intrinsic(Intrinsic),
    Attribute { scope: AttributeScope, name: String, meta: Option<MetaKey> },
}

impl Field {
    /// Whether the field reads one event (or link) of the span: a filter using it holds
    /// when it holds for some event (link) of the span.
    pub fn reads_event(&self) -> bool {
        matches!(
            self,
            Field::Intrinsic(Intrinsic::EventName | Intrinsic::EventTimeSinceStart)
                | Field::Attribute { scope: AttributeScope::Event, .. }
        )
    }

    pub fn reads_link(&self) -> bool {
        matches!(
            self,
            Field::Intrinsic(Intrinsic::LinkSpanId | Intrinsic::LinkTraceId)
                | Field::Attribute { scope: AttributeScope::Link, .. }
        )
    }
}

/// Where an attribute is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AttributeScope {
    /// `.name`: the span's attribute, else its resource's.
    Unscoped,
    Span,
    Resource,
    Event,
    Link,
    Instrumentation,
}

impl AttributeScope {
    pub fn from_keyword(scope: &str) -> Option<AttributeScope> {
        Some(match scope {
            "" => AttributeScope::Unscoped,
            "span" => AttributeScope::Span,
            "resource" => AttributeScope::Resource,
            "event" => AttributeScope::Event,
            "link" => AttributeScope::Link,
            "instrumentation" => AttributeScope::Instrumentation,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Intrinsic {
    Name,
    Status,
    StatusMessage,
    Kind,
    Duration,
    SpanId,
    ParentId,
    ChildCount,
    TraceId,
    TraceDuration,
    RootName,
    RootService,
    EventName,
    EventTimeSinceStart,
    LinkSpanId,
    LinkTraceId,
    InstrumentationName,
    InstrumentationVersion,
}

/// The static type of a value, where the parser knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Type {
    Bool,
    Int,
    Float,
    Duration,
    Str,
    Status,
    Kind,
}

impl Type {
    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Int | Type::Float | Type::Duration)
    }

    /// Whether values of the two types can be compared at all.
    pub fn comparable(self, other: Type) -> bool {
        self == other || (self.is_numeric() && other.is_numeric())
    }

    pub fn describe(self) -> &'static str {
        match self {
            Type::Bool => "a boolean",
            Type::Int => "an integer",
            Type::Float => "a float",
            Type::Duration => "a duration",
            Type::Str => "a string",
            Type::Status => "a status (error, ok, unset)",
            Type::Kind => "a kind (server, client, producer, consumer, internal, unspecified)",
        }
    }
}

/// The one table of intrinsics: every spelling, what it reads and its type. Unscoped
/// spellings are Tempo's older names; scoped ones its current names.
pub(super) const INTRINSICS: [(&str, Intrinsic, Type); 26] = [
    ("name", Intrinsic::Name, Type::Str),
    ("status", Intrinsic::Status, Type::Status),
    ("statusMessage", Intrinsic::StatusMessage, Type::Str),
    ("kind", Intrinsic::Kind, Type::Kind),
    ("duration", Intrinsic::Duration, Type::Duration),
    ("rootName", Intrinsic::RootName, Type::Str),
    ("rootServiceName", Intrinsic::RootService, Type::Str),
    ("traceDuration", Intrinsic::TraceDuration, Type::Duration),
    ("span:name", Intrinsic::Name, Type::Str),
    ("span:status", Intrinsic::Status, Type::Status),
    ("span:statusMessage", Intrinsic::StatusMessage, Type::Str),
    ("span:kind", Intrinsic::Kind, Type::Kind),
    ("span:duration", Intrinsic::Duration, Type::Duration),
    ("span:id", Intrinsic::SpanId, Type::Str),
    ("span:parentID", Intrinsic::ParentId, Type::Str),
    ("span:childCount", Intrinsic::ChildCount, Type::Int),
    ("trace:id", Intrinsic::TraceId, Type::Str),
    ("trace:duration", Intrinsic::TraceDuration, Type::Duration),
    ("trace:rootName", Intrinsic::RootName, Type::Str),
    ("trace:rootService", Intrinsic::RootService, Type::Str),
    ("event:name", Intrinsic::EventName, Type::Str),
    ("event:timeSinceStart", Intrinsic::EventTimeSinceStart, Type::Duration),
    ("link:spanID", Intrinsic::LinkSpanId, Type::Str),
    ("link:traceID", Intrinsic::LinkTraceId, Type::Str),
    ("instrumentation:name", Intrinsic::InstrumentationName, Type::Str),
    ("instrumentation:version", Intrinsic::InstrumentationVersion, Type::Str),
];

/// The intrinsic spelled `name` (`span:name` for scoped ones).
pub(super) fn intrinsic(name: &str) -> Option<(Intrinsic, Type)> {
    INTRINSICS.iter().find(|(spelling, _, _)| *spelling == name).map(|&(_, intrinsic, ty)| (intrinsic, ty))
}

/// The words after `|` that start a TraceQL metrics query, which this evaluator refuses.
pub(super) fn is_metrics_function(name: &str) -> bool {
    name.ends_with("_over_time") || matches!(name, "rate" | "compare" | "topk" | "bottomk")
}
