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
        if is_number(text) {
            Type::Number
        } else if duration_parts(text).is_some() {
            Type::Duration
        } else if looks_like_json_object(text) {
            Type::Json
        } else if let Some(open) = text.find('[') {
            if !text[open..].contains(']') {
                Type::String
            } else if is_json_array_of_objects(text) {
                Type::Json
            } else {
                Type::Array
            }
        } else {
            Type::String
        }
    }
}

/// `^\d+(\.\d+)?$`
pub(crate) fn is_number(text: &str) -> bool {
    match text.split_once('.') {
        None => is_digits(text),
        Some((whole, fraction)) => is_digits(whole) && is_digits(fraction),
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
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

/// Tracetest's display form of a duration (section 9): `0ns` for zero or less; below 1 µs
/// in ns, below 1 ms in µs, below 1 s in ms, each rounded to a whole unit (half to even);
/// then seconds below a minute, minutes below an hour, hours, with one decimal unless whole.
pub fn format_duration(nanos: f64) -> String {
    if nanos.is_nan() || nanos <= 0.0 {
        return "0ns".to_string();
    }
    let whole = |value: f64, unit: &str| format!("{}{unit}", value.round_ties_even() as i64);
    let one_decimal = |value: f64, unit: &str| {
        let text = format!("{value:.1}");
        format!("{}{unit}", text.strip_suffix(".0").unwrap_or(&text))
    };
    if nanos < 1e3 {
        whole(nanos, "ns")
    } else if nanos < 1e6 {
        whole(nanos / 1e3, "us")
    } else if nanos < 1e9 {
        whole(nanos / 1e6, "ms")
    } else if nanos < 60e9 {
        one_decimal(nanos / 1e9, "s")
    } else if nanos < 3600e9 {
        one_decimal(nanos / 60e9, "m")
    } else {
        one_decimal(nanos / 3600e9, "h")
    }
}

/// Nanoseconds rounded to their display unit and back, as compared by Tracetest.
pub(crate) fn display_rounded_nanos(nanos: f64) -> i128 {
    let shown = format_duration(nanos);
    duration_nanos(&shown).map_or(0, |value| value.round() as i128)
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
