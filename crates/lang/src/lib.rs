//! The selector and expression languages of Tracetest tests (reference sections 5 to 11),
//! and TraceQL as a second selector language:
//! what spans a spec selects, what its assertions compute and how they compare, what an
//! output's value is, and how `${...}` templates in trigger fields are rendered.
//!
//! `lang` owns parsing (once, when a test is loaded; a bad selector or expression is a load
//! error, not a run-time surprise) and evaluation over a [`TraceView`], the read-only
//! Tracetest view of one [`model::Trace`] built once per judged trace. It depends on
//! `model` only: it knows nothing of the store, the network, YAML files or reports. Failed
//! assertions are data ([`SpanResult`]), never an `Err`, and nothing here panics on user
//! input.
//!
//! # Use
//!
//! ```
//! use std::sync::Arc;
//! use lang::{self, Assertion, Selector, TraceView, Vars};
//! use model::{Span, SpanId, Trace, TraceId};
//!
//! let trace_id = TraceId::random();
//! let span = Span::new(trace_id, SpanId::random(), "POST /users").with_attribute("http.status_code", 201i64);
//! let trace = Trace::new(trace_id, vec![Arc::new(span)]);
//! let view = TraceView::new(&trace);
//!
//! let selector = Selector::parse(r#"span[tracetest.span.type="http"]"#).unwrap();
//! let assertions = [Assertion::parse("attr:http.status_code = 201").unwrap()];
//! let outcome = lang::evaluate_spec(&view, &selector, &assertions, &Vars::new());
//! assert!(outcome.passed);
//! assert_eq!(outcome.matched_spans, 1);
//! assert_eq!(outcome.assertions[0].results[0].observed, "201");
//! ```
//!
//! # API
//!
//! - [`TraceView::new`]`(&Trace)`: the view, built once per trace (after the runner has
//!   inserted the `Tracetest trigger` span); [`SpanView::attribute`] reads an attribute's
//!   text as Tracetest sees it.
//! - [`Selector::parse`], [`Selector::select`] (indexes into [`TraceView::spans`], tree
//!   order, duplicates per Q-1), [`Selector::matches_any`] (trace completeness, rule 3).
//! - [`Assertion::parse`] (`expr COMPARATOR expr`), [`Expr::parse`] (output values),
//!   [`Template::parse`] / [`Template::render`] (trigger fields).
//! - [`evaluate_spec`] -> [`SpecOutcome`] (per assertion, per span: observed, expected,
//!   passed, error), [`evaluate_output`] -> [`OutputOutcome`], [`only_counts_spans`] (rule 3).
//! - [`Vars`]: what `var:` and `env:` read.
//! - [`Error`]: a syntax error with its byte range and 1-based column, or a template's
//!   evaluation error.
//!
//! # Map
//!
//! - `view.rs`: [`TraceView`] / [`SpanView`], attribute text (5.1), tree order (5.2), meta
//!   attributes (5.3).
//! - `selector/`: [`Selector`] syntax tree and printing, parser (`parse.rs`) and matching
//!   (`select.rs`) (section 7).
//! - `lexer.rs`, `expr.rs`: expression tokens, [`Expr`], [`Assertion`], [`Template`] (8).
//! - `value.rs`: typed values, type inference (8.3), duration display units (9, Q-18).
//! - `builtins.rs`: the one table of filters (8.7) and the one table of functions (8.8).
//! - `compare.rs`: [`Comparator`] (section 9) and [`ArithOp`] (8.5).
//! - `eval.rs`: [`Vars`], [`evaluate_spec`] (10), [`evaluate_output`] (11).
//! - `traceql/`: [`TraceQl`], Grafana Tempo's query language, which [`Selector::parse`]
//!   takes for any selector starting with `{` or `(`: lexer, syntax tree, parser, evaluator.

mod builtins;
mod compare;
mod eval;
mod eval_error;
mod expr;
mod lexer;
mod selector;
mod traceql;
mod value;
mod view;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use builtins::{filter_names, function_names};
pub use compare::{ArithOp, Comparator};
pub use eval::{
    evaluate_output, evaluate_spec, only_counts_spans, AssertionOutcome, OutputOutcome, SpanResult,
    SpecOutcome, Vars,
};
pub use eval_error::EvalError;
pub use expr::{Assertion, Expr, FilterCall, StrLit, StrPart, Template, Term};
pub use selector::{
    unmatched_selectors, Chain, Filter, PseudoClass, Selector, SelectorOp, SelectorValue, SpanSelector,
};
pub use traceql::TraceQl;
pub use value::{format_duration, DurationUnit, Item, Type, Value};
pub use view::{SpanView, TraceView, SELECTED_SPANS_COUNT};

use std::fmt;

/// A byte range `start..end` into the text that was parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TextSpan {
    pub start: usize,
    pub end: usize,
}

impl TextSpan {
    pub fn new(start: usize, end: usize) -> Self {
        TextSpan { start, end }
    }
}

impl fmt::Display for TextSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// Why a selector, expression, assertion or template could not be parsed, or why a template
/// could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text does not follow the grammar, or names an unknown filter or function, or
    /// gives a filter a constant argument it cannot use (an invalid regex). `column` is
    /// 1-based, in characters, counted from the start of the line holding `span.start`;
    /// callers that know where the text sits in a file add the line.
    #[error("expected {expected} at column {column}, found {found}")]
    Syntax { expected: String, found: String, span: TextSpan, column: usize },
    /// Rendering a template failed: an undefined variable, a filter on bad input, a wrong
    /// function argument.
    #[error(transparent)]
    Eval(#[from] EvalError),
}

impl Error {
    /// A syntax error at `span` of `source`, column computed from the source.
    pub(crate) fn syntax(
        source: &str,
        span: TextSpan,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Error::Syntax {
            expected: expected.into(),
            found: found.into(),
            span,
            column: column_of(source, span.start),
        }
    }

    /// The byte range of a syntax error.
    pub fn span(&self) -> Option<TextSpan> {
        match self {
            Error::Syntax { span, .. } => Some(*span),
            Error::Eval(_) => None,
        }
    }

    /// Moves a syntax error found in a sub-text (an interpolation inside a string) to the
    /// coordinates of the enclosing text.
    pub(crate) fn shifted(self, source: &str, offset: usize) -> Self {
        match self {
            Error::Syntax { expected, found, span, .. } => {
                let span = TextSpan::new(span.start + offset, span.end + offset);
                Error::Syntax { expected, found, span, column: column_of(source, span.start) }
            }
            other => other,
        }
    }
}

/// 1-based character column of byte offset `at` within its line of `source`.
fn column_of(source: &str, at: usize) -> usize {
    let at = at.min(source.len());
    let mut at_boundary = at;
    while !source.is_char_boundary(at_boundary) {
        at_boundary -= 1;
    }
    let before = &source[..at_boundary];
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    before[line_start..].chars().count() + 1
}
