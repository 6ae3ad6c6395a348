//! Comparators (reference section 9) and arithmetic operators (8.5). Each is one enum whose
//! `symbol()` the lexer matches and whose `apply()` the evaluator calls: adding one is a
//! variant and its arms here, nowhere else.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use super::eval_error::EvalError;
use super::value::{display_rounded_nanos, duration_nanos, integer_text, Item, Type, Value};

/// The comparator of an assertion statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    NotContains,
}

impl Comparator {
    /// Every comparator, longest symbol first so that the lexer can take the first match.
    pub const ALL: [Comparator; 8] = [
        Comparator::NotContains,
        Comparator::Contains,
        Comparator::Ne,
        Comparator::Le,
        Comparator::Ge,
        Comparator::Eq,
        Comparator::Lt,
        Comparator::Gt,
    ];

    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "!=",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
            Comparator::Contains => "contains",
            Comparator::NotContains => "not-contains",
        }
    }

    /// Whether durations on either side switch this comparator to comparing nanoseconds
    /// rounded to their display unit.
    pub fn compares_durations(self) -> bool {
        match self {
            Comparator::Eq
            | Comparator::Ne
            | Comparator::Lt
            | Comparator::Le
            | Comparator::Gt
            | Comparator::Ge => true,
            Comparator::Contains | Comparator::NotContains => false,
        }
    }

    /// Compares two values. `Ok(false)` is a failure; `Err` is an error (a side that is
    /// not a number for an ordering comparator).
    pub fn apply(self, left: &Value, right: &Value) -> Result<bool, EvalError> {
        if self.compares_durations() && (left.is_duration() || right.is_duration()) {
            let left_nanos = duration_side(left)?;
            let right_nanos = duration_side(right)?;
            return Ok(self.holds(left_nanos.cmp(&right_nanos)));
        }
        let left_text = unescape_quotes(left.text());
        let right_text = unescape_quotes(right.text());
        match self {
            Comparator::Eq => Ok(left_text == right_text),
            Comparator::Ne => Ok(left_text != right_text),
            Comparator::Lt | Comparator::Le | Comparator::Gt | Comparator::Ge => {
                Ok(self.holds(compare_numbers(&left_text, &right_text)?))
            }
            Comparator::Contains => Ok(contains(left, &left_text, right, &right_text)),
            Comparator::NotContains => Ok(!left_text.contains(&*right_text)),
        }
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Comparator::Eq => ordering == Ordering::Equal,
            Comparator::Ne => ordering != Ordering::Equal,
            Comparator::Lt => ordering == Ordering::Less,
            Comparator::Le => ordering != Ordering::Greater,
            Comparator::Gt => ordering == Ordering::Greater,
            Comparator::Ge => ordering != Ordering::Less,
            Comparator::Contains | Comparator::NotContains => false,
        }
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

fn duration_side(value: &Value) -> Result<i128, EvalError> {
    let text = value.text();
    duration_nanos(&text)
        .map(display_rounded_nanos)
        .ok_or_else(|| EvalError::UnreadableDuration { text: text.into_owned() })
}

/// Tracetest unescapes `\'` and `\"` in both texts before comparing.
fn unescape_quotes(text: Cow<'_, str>) -> Cow<'_, str> {
    if text.contains('\\') && (text.contains("\\'") || text.contains("\\\"")) {
        Cow::Owned(text.replace("\\'", "'").replace("\\\"", "\""))
    } else {
        text
    }
}

/// Integers compare exactly; decimals are accepted too (the Q-17 fix).
fn compare_numbers(left: &str, right: &str) -> Result<Ordering, EvalError> {
    if let (Ok(left), Ok(right)) = (left.trim().parse::<i64>(), right.trim().parse::<i64>()) {
        return Ok(left.cmp(&right));
    }
    let number = |text: &str| -> Result<f64, EvalError> {
        let trimmed = text.trim();
        let plain = !trimmed.is_empty()
            && trimmed
                .trim_start_matches(['-', '+'])
                .bytes()
                .all(|byte| byte.is_ascii_digit() || byte == b'.');
        match trimmed.parse::<f64>() {
            Ok(value) if plain && value.is_finite() => Ok(value),
            _ => Err(EvalError::NotComparable {
                left: left.to_string(),
                right: right.to_string(),
                text: text.to_string(),
            }),
        }
    };
    let (left, right) = (number(left)?, number(right)?);
    Ok(left.partial_cmp(&right).unwrap_or(Ordering::Equal))
}

/// `contains` with its two special cases: JSON subset when the right side is JSON, and
/// array membership when the left side is an array; else a substring test.
fn contains(left: &Value, left_text: &str, right: &Value, right_text: &str) -> bool {
    if matches!(right, Value::One(Item { ty: Type::Json, .. })) {
        let left_is_json_or_array =
            matches!(left, Value::Array(_) | Value::One(Item { ty: Type::Json | Type::Array, .. }));
        if left_is_json_or_array {
            if let (Some(left_objects), Some(right_objects)) =
                (json_objects(left_text), json_objects(right_text))
            {
                return right_objects
                    .iter()
                    .all(|wanted| left_objects.iter().any(|have| json_subset(have, wanted)));
            }
        }
    }
    if let Value::Array(items) = left {
        return items.iter().any(|item| unescape_quotes(Cow::Borrowed(&item.text)) == right_text);
    }
    left_text.contains(right_text)
}

/// A JSON object, or an array of objects, as a list of objects.
fn json_objects(text: &str) -> Option<Vec<serde_json::Value>> {
    match serde_json::from_str::<serde_json::Value>(text).ok()? {
        object @ serde_json::Value::Object(_) => Some(vec![object]),
        serde_json::Value::Array(items) if items.iter().all(serde_json::Value::is_object) => Some(items),
        _ => None,
    }
}

/// Every key of `wanted` is on `have` with an equal value; nested objects match as subsets.
/// Every key is checked (the Q-21 fix).
fn json_subset(have: &serde_json::Value, wanted: &serde_json::Value) -> bool {
    match (have, wanted) {
        (serde_json::Value::Object(have), serde_json::Value::Object(wanted)) => {
            wanted.iter().all(|(key, wanted_value)| {
                have.get(key).is_some_and(|have_value| json_subset(have_value, wanted_value))
            })
        }
        (have, wanted) => have == wanted,
    }
}

/// A binary arithmetic operator, applied left to right with no precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl ArithOp {
    pub const ALL: [ArithOp; 4] = [ArithOp::Add, ArithOp::Sub, ArithOp::Mul, ArithOp::Div];

    pub fn symbol(self) -> char {
        match self {
            ArithOp::Add => '+',
            ArithOp::Sub => '-',
            ArithOp::Mul => '*',
            ArithOp::Div => '/',
        }
    }

    fn compute(self, left: f64, right: f64) -> Result<f64, EvalError> {
        match self {
            ArithOp::Add => Ok(left + right),
            ArithOp::Sub => Ok(left - right),
            ArithOp::Mul => Ok(left * right),
            ArithOp::Div if right == 0.0 => Err(EvalError::DivisionByZero),
            ArithOp::Div => Ok(left / right),
        }
    }

    /// Numbers with numbers, durations with durations (8.5). A number result prints as a
    /// truncated integer unless an operand's text has a `.`, then with two decimals; a
    /// duration result is whole nanoseconds.
    pub fn apply(self, left: &Value, right: &Value) -> Result<Value, EvalError> {
        let (Value::One(left), Value::One(right)) = (left, right) else {
            return Err(EvalError::TypesMismatch);
        };
        match (left.ty, right.ty) {
            (Type::Number, Type::Number) => {
                let parse = |item: &Item| {
                    item.text.parse::<f64>().map_err(|_| EvalError::NotANumber { text: item.text.clone() })
                };
                let result = self.compute(parse(left)?, parse(right)?)?;
                let text = if left.text.contains('.') || right.text.contains('.') {
                    format!("{result:.2}")
                } else {
                    integer_text(result)
                };
                Ok(Value::One(Item::typed(text, Type::Number)))
            }
            (Type::Duration, Type::Duration) => {
                let parse = |item: &Item| {
                    duration_nanos(&item.text)
                        .ok_or_else(|| EvalError::NotADuration { text: item.text.clone() })
                };
                let result = self.compute(parse(left)?, parse(right)?)?;
                Ok(Value::One(Item::typed(integer_text(result), Type::Duration)))
            }
            _ => Err(EvalError::TypesMismatch),
        }
    }
}

impl fmt::Display for ArithOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.symbol())
    }
}
