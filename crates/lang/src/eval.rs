//! Evaluation: expressions over one span (or none), specs over the spans a selector
//! chose (reference section 10), outputs (section 11) and templates (4.6).
//!
//! Evaluation problems are data: a failing assertion or a missing attribute fills a
//! [`SpanResult`], and the other spans, assertions and specs are still evaluated.

use std::collections::BTreeMap;

use super::builtins;
use super::eval_error::EvalError;
use super::expr::{unescape_literal, Assertion, Expr, StrPart, Template, Term};
use super::value::{duration_nanos, format_duration, integer_text, Item, Type, Value};
use super::view::{SpanView, SELECTED_SPANS_COUNT};
use super::{Error, Selector, TraceView};
use model::SpanId;

/// The run's variables, read by `var:NAME` and `env:NAME` (both see the same set: the
/// variable set, then the outputs of earlier steps and of the same test).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vars {
    values: BTreeMap<String, String>,
}

impl Vars {
    pub fn new() -> Self {
        Vars::default()
    }

    /// Sets a variable, replacing a same-named one (outputs replace, section 11).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Merges `other` in; its values win.
    pub fn merge(&mut self, other: &Vars) {
        for (name, value) in &other.values {
            self.values.insert(name.clone(), value.clone());
        }
    }

    /// Variables in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(name, value)| (name.as_str(), value.as_str()))
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Vars {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Vars { values: iter.into_iter().map(|(name, value)| (name.into(), value.into())).collect() }
    }
}

/// One evaluation of one assertion: on one selected span, or once with no span when the
/// selector matched nothing (`span_id` is then `None`).
#[derive(Clone, Debug, PartialEq)]
pub struct SpanResult {
    pub span_id: Option<SpanId>,
    /// The left side's final text; durations in their display form (`25ms`).
    pub observed: String,
    /// The right side's final text for this span, in the same display form as `observed`;
    /// `None` when the right side could not be evaluated.
    pub expected: Option<String>,
    pub passed: bool,
    /// Why the statement could not be evaluated (missing attribute, not a number, no
    /// matching spans): an error, as opposed to a comparison that was false.
    pub error: Option<String>,
}

/// One assertion over every selected span: it passes when every evaluation passes.
#[derive(Clone, Debug, PartialEq)]
pub struct AssertionOutcome {
    pub passed: bool,
    pub results: Vec<SpanResult>,
}

/// One spec: what its selector matched and each assertion's results.
#[derive(Clone, Debug, PartialEq)]
pub struct SpecOutcome {
    pub passed: bool,
    /// The number of selected spans, duplicates included.
    pub matched_spans: usize,
    /// The selected spans in selection order, duplicates included.
    pub span_ids: Vec<SpanId>,
    pub assertions: Vec<AssertionOutcome>,
}

/// One output's value (section 11).
#[derive(Clone, Debug, PartialEq)]
pub struct OutputOutcome {
    /// The value's text; empty when the selector matched nothing or the expression failed.
    pub value: String,
    /// The span the value came from: the first selected one.
    pub span_id: Option<SpanId>,
    /// Set when the selector matched no span (Tracetest marks the output unresolved).
    pub warning: Option<String>,
    /// Why the expression failed, when it did (Tracetest records nothing; the runner may
    /// show it).
    pub error: Option<String>,
}

/// What `attr:` can see during one evaluation.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'a, 't> {
    /// The span `attr:` reads; `None` when nothing was selected or in a template.
    span: Option<&'a SpanView<'t>>,
    /// `tracetest.selected_spans.count`; `None` in a template.
    selected: Option<usize>,
    vars: &'a Vars,
}

/// Evaluates a spec: selects spans, then each assertion on each selected span in
/// selection order, or once with no span when nothing matched (section 10).
pub fn evaluate_spec(
    view: &TraceView<'_>,
    selector: &Selector,
    assertions: &[Assertion],
    vars: &Vars,
) -> SpecOutcome {
    let selected = selector.select(view);
    let spans = view.spans();
    let assertions: Vec<AssertionOutcome> = assertions
        .iter()
        .map(|assertion| {
            let results: Vec<SpanResult> = if selected.is_empty() {
                let scope = Scope { span: None, selected: Some(0), vars };
                vec![evaluate_assertion(assertion, scope, None)]
            } else {
                // A right side that reads no span (`200`, `1s`, `var:X`) is the same for
                // every span: evaluate it once.
                let right = same_for_every_span(&assertion.right).then(|| {
                    eval_expr(&assertion.right, Scope { span: None, selected: Some(selected.len()), vars })
                });
                selected
                    .iter()
                    .map(|&index| {
                        let scope = Scope { span: Some(&spans[index]), selected: Some(selected.len()), vars };
                        evaluate_assertion(assertion, scope, right.as_ref())
                    })
                    .collect()
            };
            AssertionOutcome { passed: results.iter().all(|result| result.passed), results }
        })
        .collect();
    SpecOutcome {
        passed: assertions.iter().all(|assertion| assertion.passed),
        matched_spans: selected.len(),
        span_ids: selected.iter().map(|&index| spans[index].span_id()).collect(),
        assertions,
    }
}

/// Evaluates an output: the expression on the first selected span (section 11).
pub fn evaluate_output(view: &TraceView<'_>, selector: &Selector, expr: &Expr, vars: &Vars) -> OutputOutcome {
    let selected = selector.select(view);
    let Some(&first) = selected.first() else {
        let shown = selector.to_string();
        let shown = if shown.is_empty() { "(all spans)".to_string() } else { shown };
        return OutputOutcome {
            value: String::new(),
            span_id: None,
            warning: Some(format!("cannot find matching spans for selector {shown}")),
            error: None,
        };
    };
    let span = &view.spans()[first];
    let scope = Scope { span: Some(span), selected: Some(selected.len()), vars };
    match eval_expr(expr, scope) {
        Ok(value) => OutputOutcome {
            value: value.into_text(),
            span_id: Some(span.span_id()),
            warning: None,
            error: None,
        },
        Err(error) => OutputOutcome {
            value: String::new(),
            span_id: Some(span.span_id()),
            warning: None,
            error: Some(error.to_string()),
        },
    }
}

/// True when the assertions read no attribute but `tracetest.selected_spans.count`: zero
/// matching spans can then be the expected answer, so trace completeness must not wait
/// for the spec's selector to match (design, rule 3).
pub fn only_counts_spans(assertions: &[Assertion]) -> bool {
    assertions.iter().all(|assertion| assertion.attributes().iter().all(|name| *name == SELECTED_SPANS_COUNT))
}

impl Template {
    /// Replaces each `${expr}` by its value's text (durations as nanoseconds, arrays in
    /// their printed form). `attr:` is not available.
    ///
    /// # Errors
    /// [`Error::Eval`] for an undefined variable or a failing filter or function.
    pub fn render(&self, vars: &Vars) -> Result<String, Error> {
        let scope = Scope { span: None, selected: None, vars };
        let mut text = String::new();
        for part in &self.parts {
            match part {
                StrPart::Text(literal) => text.push_str(literal),
                StrPart::Interp(expr) => {
                    let value = eval_expr(expr, scope)?;
                    text.push_str(&value.text());
                }
            }
        }
        Ok(text)
    }
}

impl Expr {
    /// Evaluates the expression with no span (constants, variables, functions).
    ///
    /// # Errors
    /// [`Error::Eval`] as for [`Template::render`].
    pub fn evaluate(&self, vars: &Vars) -> Result<Value, Error> {
        eval_expr(self, Scope { span: None, selected: None, vars }).map_err(Error::from)
    }
}

/// True when `expr` gives the same value on every span of a spec: it reads no attribute
/// but the selected-span count and calls no (random) function.
fn same_for_every_span(expr: &Expr) -> bool {
    let mut same = true;
    expr.visit(&mut |term| match term {
        Term::Attr(name) => same &= name == SELECTED_SPANS_COUNT,
        Term::Call { .. } => same = false,
        _ => {}
    });
    same
}

/// Evaluates one statement; `right` is the right side when it was evaluated once for all
/// spans.
fn evaluate_assertion(
    assertion: &Assertion,
    scope: Scope<'_, '_>,
    right: Option<&Result<Value, EvalError>>,
) -> SpanResult {
    let span_id = scope.span.map(SpanView::span_id);
    // The right side first, so that `expected` is known even when the left side fails.
    let evaluated;
    let right = match right {
        Some(right) => right,
        None => {
            evaluated = eval_expr(&assertion.right, scope);
            &evaluated
        }
    };
    let compares_durations = assertion.comparator.compares_durations();
    let left = match eval_expr(&assertion.left, scope) {
        Ok(value) => value,
        Err(error) => {
            let expected = right.as_ref().ok().map(|right| {
                display_text(right.text().into_owned(), compares_durations && right.is_duration())
            });
            return SpanResult {
                span_id,
                observed: String::new(),
                expected,
                passed: false,
                error: Some(error.to_string()),
            };
        }
    };
    let right = match right {
        Ok(value) => value,
        Err(error) => {
            let duration_mode = compares_durations && left.is_duration();
            let observed = display_text(left.into_text(), duration_mode);
            return SpanResult {
                span_id,
                observed,
                expected: None,
                passed: false,
                error: Some(error.to_string()),
            };
        }
    };
    let verdict = assertion.comparator.apply(&left, right);
    let duration_mode = compares_durations && (left.is_duration() || right.is_duration());
    let observed = display_text(left.into_text(), duration_mode);
    let expected = Some(display_text(right.text().into_owned(), duration_mode));
    match verdict {
        Ok(passed) => SpanResult { span_id, observed, expected, passed, error: None },
        Err(error) => {
            SpanResult { span_id, observed, expected, passed: false, error: Some(error.to_string()) }
        }
    }
}

/// A side's reported text: the text itself, or its display form in a duration
/// comparison (`25ms`). Takes the text so that it is moved, not copied.
fn display_text(text: String, duration_mode: bool) -> String {
    if duration_mode {
        if let Some(nanos) = duration_nanos(&text) {
            return format_duration(nanos);
        }
    }
    text
}

pub(crate) fn eval_expr(expr: &Expr, scope: Scope<'_, '_>) -> Result<Value, EvalError> {
    let mut value = eval_term(&expr.first, scope)?;
    for (op, term) in &expr.rest {
        let right = eval_term(term, scope)?;
        value = op.apply(&value, &right)?;
    }
    for filter in &expr.filters {
        let Some(def) = builtins::filter(&filter.name) else {
            return Err(EvalError::UnknownFilter(filter.name.clone()));
        };
        let args =
            filter.args.iter().map(|arg| eval_filter_arg(arg, scope)).collect::<Result<Vec<_>, _>>()?;
        value = (def.apply)(value, &args, filter.prepared.as_deref())?;
    }
    Ok(value)
}

/// A filter argument: escaped quotes in a string literal are unescaped (reference 8.7),
/// so `json_path '$[?(@.a == \'x\')]'` reads a quoted `'x'`.
fn eval_filter_arg(term: &Term, scope: Scope<'_, '_>) -> Result<Value, EvalError> {
    let value = eval_term(term, scope)?;
    Ok(match (term, value) {
        (Term::Str(_), Value::One(item)) if item.text.contains('\\') => {
            Value::inferred(unescape_literal(&item.text))
        }
        (_, value) => value,
    })
}

fn eval_term(term: &Term, scope: Scope<'_, '_>) -> Result<Value, EvalError> {
    match term {
        Term::Number(number) => Ok(Value::One(Item::typed(number.clone(), Type::Number))),
        Term::Duration { number, unit } => {
            let nanos =
                number.parse::<f64>().map_err(|_| EvalError::NotANumber { text: number.to_string() })?
                    * unit.nanos();
            Ok(Value::One(Item::typed(integer_text(nanos.round()), Type::Duration)))
        }
        Term::Attr(name) => attribute(name, scope),
        Term::Env(name) | Term::Var(name) => match scope.vars.get(name) {
            Some(text) => Ok(Value::inferred(text)),
            None => Err(EvalError::UndefinedVariable(name.to_string())),
        },
        Term::Str(literal) => {
            let mut text = String::new();
            for part in &literal.parts {
                match part {
                    // As written, escapes kept (issue 10): a JSON text with `\"` inside a
                    // quoted literal stays valid JSON for `json_path`. Comparisons unescape
                    // both sides themselves (reference 9).
                    StrPart::Text(raw) => text.push_str(raw),
                    StrPart::Interp(expr) => text.push_str(&eval_expr(expr, scope)?.text()),
                }
            }
            Ok(Value::inferred(text))
        }
        Term::Array(items) => {
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                values.push(match eval_term(item, scope)? {
                    Value::One(item) => item,
                    Value::Nil => Item::typed("", Type::String),
                    array @ Value::Array(_) => Item::typed(array.to_string(), Type::Array),
                });
            }
            Ok(Value::Array(values))
        }
        Term::Call { name, args } => {
            let Some(def) = builtins::function(name) else {
                return Err(EvalError::UnknownFunction(name.to_string()));
            };
            let args = args.iter().map(|arg| eval_term(arg, scope)).collect::<Result<Vec<_>, _>>()?;
            (def.apply)(&args)
        }
    }
}

/// `attr:NAME` (8.4): the count, the span's attribute, `name` falling back to the span
/// name; a missing or empty attribute is an error.
fn attribute(name: &str, scope: Scope<'_, '_>) -> Result<Value, EvalError> {
    if name == SELECTED_SPANS_COUNT {
        return match scope.selected {
            Some(count) => Ok(Value::One(Item::typed(count.to_string(), Type::Number))),
            None => Err(EvalError::AttributeOutsideSpec(name.to_string())),
        };
    }
    if name.starts_with("tracetest.selected_spans.") {
        return Err(EvalError::OnlySelectedCount(name.to_string()));
    }
    let Some(span) = scope.span else {
        return Err(match scope.selected {
            Some(_) => EvalError::NoMatchingSpans,
            None => EvalError::SelectedCountOutsideSpec(name.to_string()),
        });
    };
    match span.attribute(name) {
        Some(text) if !text.is_empty() => Ok(Value::inferred(text.into_owned())),
        _ if name == "name" => Ok(Value::inferred(span.name())),
        _ => Err(EvalError::AttributeNotFound(name.to_string())),
    }
}

/// Used by the unit tests: evaluate a lone expression against a span.
#[cfg(test)]
pub(crate) fn eval_on(
    expr: &Expr,
    span: Option<&SpanView<'_>>,
    selected: usize,
    vars: &Vars,
) -> Result<Value, EvalError> {
    eval_expr(expr, Scope { span, selected: Some(selected), vars })
}
