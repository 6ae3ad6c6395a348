//! Values of the expression language (reference 8.3): a typed text, an array of typed
//! texts, or nothing; the type inference rules; and durations with their display units
//! (section 9, Q-18).

use std::fmt;

/// The type of a text, as inferred by 8.3 or kept from a literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Number,
    Duration,
    String,
    Json,
    /// Text that looks like an array (`[...]`) without being a JSON array of objects.
    Array,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::Number => "number",
            Type::Duration => "duration",
            Type::String => "string",
            Type::Json => "json",
            Type::Array => "array",
        }
    }

    /// The inference of reference 8.3, in its order.
    pub fn infer(text: &str) -> Type {
        let bytes = text.as_bytes();
        match bytes.first() {
            // Only a number or a duration starts with a digit among the first two rules;
            // anything else starting with a digit can only be an array or a string.
            Some(b'0'..=b'9') => {
                if is_number(text) {
                    return Type::Number;
                }
                if duration_parts(text).is_some() {
                    return Type::Duration;
                }
            }
            _ if looks_like_json_object(text) => return Type::Json,
            _ => {}
        }
        match bytes.iter().position(|&byte| byte == b'[') {
            Some(open) if bytes[open..].contains(&b']') => {
                if is_json_array_of_objects(text) {
                    Type::Json
                } else {
                    Type::Array
                }
            }
            _ => Type::String,
        }
    }
}

/// `^\d+(\.\d+)?$`
pub(crate) fn is_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let whole = bytes.iter().take_while(|byte| byte.is_ascii_digit()).count();
    match bytes.get(whole) {
        None => whole > 0,
        Some(b'.') => {
            let fraction = &bytes[whole + 1..];
            whole > 0 && !fraction.is_empty() && fraction.iter().all(u8::is_ascii_digit)
        }
        Some(_) => false,
    }
}

fn looks_like_json_object(text: &str) -> bool {
    text.trim_start().starts_with('{')
        && serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).is_ok()
}

fn is_json_array_of_objects(text: &str) -> bool {
    text.trim_start().starts_with('[')
        && matches!(serde_json::from_str::<Vec<serde_json::Value>>(text),
            Ok(items) if items.iter().all(serde_json::Value::is_object))
}

/// A duration unit of the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DurationUnit {
    Ns,
    Us,
    Ms,
    S,
    M,
    H,
}

impl DurationUnit {
    /// In the lexer's matching order: a longer unit before its one-letter prefix.
    pub const ALL: [DurationUnit; 6] = [
        DurationUnit::Ns,
        DurationUnit::Us,
        DurationUnit::Ms,
        DurationUnit::S,
        DurationUnit::M,
        DurationUnit::H,
    ];

    pub fn symbol(self) -> &'static str {
        match self {
            DurationUnit::Ns => "ns",
            DurationUnit::Us => "us",
            DurationUnit::Ms => "ms",
            DurationUnit::S => "s",
            DurationUnit::M => "m",
            DurationUnit::H => "h",
        }
    }

    pub fn nanos(self) -> f64 {
        match self {
            DurationUnit::Ns => 1.0,
            DurationUnit::Us => 1e3,
            DurationUnit::Ms => 1e6,
            DurationUnit::S => 1e9,
            DurationUnit::M => 60e9,
            DurationUnit::H => 3600e9,
        }
    }
}

/// `^\d+(\.\d+)?(ns|us|ms|s|m|h)$` split into number and unit.
pub(crate) fn duration_parts(text: &str) -> Option<(&str, DurationUnit)> {
    let digits_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    if !is_number(number) {
        return None;
    }
    DurationUnit::ALL.into_iter().find(|candidate| candidate.symbol() == unit).map(|unit| (number, unit))
}

/// Reads a text as nanoseconds for a duration comparison: an integer (or decimal) is
/// nanoseconds, and a text with a unit (`1.5s`) is converted (the Q-19 fix: Tracetest
/// reads such text as 0).
pub(crate) fn duration_nanos(text: &str) -> Option<f64> {
    if is_number(text) {
        return text.parse().ok();
    }
    let (number, unit) = duration_parts(text)?;
    number.parse::<f64>().ok().map(|value| value * unit.nanos())
}

/// A duration in its display unit (section 9): `0ns` for zero or less; below 1 µs in ns,
/// below 1 ms in µs, below 1 s in ms, each rounded to a whole unit (half to even); then
/// seconds below a minute, minutes below an hour, hours, rounded to one decimal. Returns
/// the rounded amount and its unit.
fn display_parts(nanos: f64) -> (f64, DurationUnit) {
    if nanos.is_nan() || nanos <= 0.0 {
        return (0.0, DurationUnit::Ns);
    }
    let whole = |unit: DurationUnit| ((nanos / unit.nanos()).round_ties_even(), unit);
    let tenths = |unit: DurationUnit| ((nanos / unit.nanos() * 10.0).round_ties_even() / 10.0, unit);
    if nanos < 1e3 {
        whole(DurationUnit::Ns)
    } else if nanos < 1e6 {
        whole(DurationUnit::Us)
    } else if nanos < 1e9 {
        whole(DurationUnit::Ms)
    } else if nanos < 60e9 {
        tenths(DurationUnit::S)
    } else if nanos < 3600e9 {
        tenths(DurationUnit::M)
    } else {
        tenths(DurationUnit::H)
    }
}

/// Tracetest's display form of a duration (`25ms`, `2us`, `1.5s`, `25h`), as reported in
/// observed values.
pub fn format_duration(nanos: f64) -> String {
    let (amount, unit) = display_parts(nanos);
    // Integer formatting: float formatting with a precision is slow, and this runs once
    // per evaluated duration assertion.
    let tenths = (amount * 10.0).round() as i64;
    if tenths % 10 == 0 {
        format!("{}{}", tenths / 10, unit.symbol())
    } else {
        format!("{}.{}{}", tenths / 10, tenths % 10, unit.symbol())
    }
}

/// The decimal text of a float truncated to an integer (`-0` prints as `0`).
pub(crate) fn integer_text(value: f64) -> String {
    let truncated = value.trunc();
    if truncated == 0.0 || !truncated.is_finite() {
        "0".to_string()
    } else if truncated.abs() < 9.0e18 {
        (truncated as i64).to_string()
    } else {
        format!("{truncated:.0}")
    }
}

/// Nanoseconds rounded to their display unit and back, as compared by Tracetest.
pub(crate) fn display_rounded_nanos(nanos: f64) -> i128 {
    let (amount, unit) = display_parts(nanos);
    (amount * unit.nanos()).round() as i128
}

/// One typed text.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub text: String,
    pub ty: Type,
}

impl Item {
    /// A text whose type is inferred (attribute, variable, string, filter result).
    pub fn inferred(text: impl Into<String>) -> Self {
        let text = text.into();
        let ty = Type::infer(&text);
        Item { text, ty }
    }

    pub fn typed(text: impl Into<String>, ty: Type) -> Self {
        Item { text: text.into(), ty }
    }
}

/// A value: nothing (a JSONPath that matched nothing), one typed text, or an array.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Nil,
    One(Item),
    Array(Vec<Item>),
}

impl Value {
    pub fn inferred(text: impl Into<String>) -> Self {
        Value::One(Item::inferred(text))
    }

    /// The type name the `type` filter reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::One(item) => item.ty.name(),
            Value::Array(_) => "array",
        }
    }

    /// True when this value, or its only text, is of type duration.
    pub fn is_duration(&self) -> bool {
        matches!(self, Value::One(Item { ty: Type::Duration, .. }))
    }

    /// The items of an array; a single value is an array of one; nothing is empty.
    pub fn items(&self) -> &[Item] {
        match self {
            Value::Nil => &[],
            Value::One(item) => std::slice::from_ref(item),
            Value::Array(items) => items,
        }
    }

    /// The text of the value: the text itself, an array's printed form, or "" for nothing.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Value::Nil => "".into(),
            Value::One(item) => item.text.as_str().into(),
            Value::Array(_) => self.to_string().into(),
        }
    }

    pub fn into_text(self) -> String {
        match self {
            Value::Nil => String::new(),
            Value::One(item) => item.text,
            array @ Value::Array(_) => array.to_string(),
        }
    }
}

/// Arrays print as `[1, "a", 2000000000]`: string items quoted, the rest bare (8.3).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => Ok(()),
            Value::One(item) => f.write_str(&item.text),
            Value::Array(items) => {
                f.write_str("[")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    if item.ty == Type::String {
                        write!(f, "\"{}\"", item.text)?;
                    } else {
                        f.write_str(&item.text)?;
                    }
                }
                f.write_str("]")
            }
        }
    }
}
