//! The one table of filters (reference 8.7) and the one table of functions (8.8). The
//! parser resolves names and checks argument counts here and the evaluator calls the row's
//! implementation, so a new filter or function is one row (plus its `check` test line).
//!
//! A filter whose first argument is a constant string may compile it once at parse time
//! (`prepare`): a regex or JSONPath is then checked when the test is loaded and not
//! recompiled for every span.

use std::sync::Arc;

use regex::Regex;
use serde_json_path::JsonPath;

use super::eval_error::EvalError;
use super::expr::MAX_NESTING;
use super::value::{Item, Type, Value};

/// A filter's first argument compiled once.
#[derive(Debug)]
pub(crate) enum Prepared {
    Regex(Regex),
    JsonPath(JsonPath),
}

/// Compiles a filter's constant first argument once, at load time.
pub(crate) type PrepareFn = fn(&str) -> Result<Prepared, EvalError>;

pub(crate) type FilterFn =
    fn(input: Value, args: &[Value], prepared: Option<&Prepared>) -> Result<Value, EvalError>;

pub(crate) struct FilterDef {
    pub name: &'static str,
    pub min_args: usize,
    pub max_args: usize,
    /// Compiles a constant first argument; an `Err` is a load-time error.
    pub prepare: Option<PrepareFn>,
    pub apply: FilterFn,
}

pub(crate) static FILTERS: &[FilterDef] = &[
    FilterDef {
        name: "json_path",
        min_args: 1,
        max_args: 1,
        prepare: Some(prepare_json_path),
        apply: json_path,
    },
    FilterDef { name: "regex", min_args: 1, max_args: 1, prepare: Some(prepare_regex), apply: regex },
    FilterDef {
        name: "regex_group",
        min_args: 1,
        max_args: 1,
        prepare: Some(prepare_regex),
        apply: regex_group,
    },
    FilterDef { name: "get_index", min_args: 1, max_args: 1, prepare: None, apply: get_index },
    FilterDef { name: "length", min_args: 0, max_args: 0, prepare: None, apply: length },
    FilterDef { name: "type", min_args: 0, max_args: 0, prepare: None, apply: type_of },
];

pub(crate) type FunctionFn = fn(args: &[Value]) -> Result<Value, EvalError>;

pub(crate) struct FunctionDef {
    pub name: &'static str,
    pub min_args: usize,
    pub max_args: usize,
    pub apply: FunctionFn,
}

pub(crate) static FUNCTIONS: &[FunctionDef] = &[
    FunctionDef { name: "uuid", min_args: 0, max_args: 0, apply: uuid },
    FunctionDef { name: "firstName", min_args: 0, max_args: 0, apply: first_name },
    FunctionDef { name: "lastName", min_args: 0, max_args: 0, apply: last_name },
    FunctionDef { name: "fullName", min_args: 0, max_args: 0, apply: full_name },
    FunctionDef { name: "email", min_args: 0, max_args: 0, apply: email },
    FunctionDef { name: "phone", min_args: 0, max_args: 0, apply: phone },
    FunctionDef { name: "creditCard", min_args: 0, max_args: 0, apply: credit_card },
    FunctionDef { name: "creditCardCvv", min_args: 0, max_args: 0, apply: credit_card_cvv },
    FunctionDef { name: "creditCardExpDate", min_args: 0, max_args: 0, apply: credit_card_exp_date },
    FunctionDef { name: "randomInt", min_args: 2, max_args: 2, apply: random_int },
    FunctionDef { name: "date", min_args: 0, max_args: 1, apply: date },
    FunctionDef { name: "dateTime", min_args: 0, max_args: 1, apply: date_time },
];

/// Names of every filter, in table order.
pub fn filter_names() -> Vec<&'static str> {
    FILTERS.iter().map(|def| def.name).collect()
}

/// Names of every function, in table order.
pub fn function_names() -> Vec<&'static str> {
    FUNCTIONS.iter().map(|def| def.name).collect()
}

pub(crate) fn filter(name: &str) -> Option<&'static FilterDef> {
    FILTERS.iter().find(|def| def.name == name)
}

pub(crate) fn function(name: &str) -> Option<&'static FunctionDef> {
    FUNCTIONS.iter().find(|def| def.name == name)
}

/// Filters and functions take a fixed number of arguments, or a range; say which.
pub(crate) fn arity_text(min_args: usize, max_args: usize) -> String {
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    if min_args == max_args {
        format!("{min_args} {}", plural(min_args))
    } else {
        format!("{min_args} to {max_args} arguments")
    }
}

// ---- filters ----------------------------------------------------------------------------

fn prepare_json_path(path: &str) -> Result<Prepared, EvalError> {
    let path = path.trim();
    // `$` is optional: `.id`, `[0]` and `id` all mean from the root.
    let full: std::borrow::Cow<'_, str> = if path.starts_with('$') {
        path.into()
    } else if path.starts_with('.') || path.starts_with('[') {
        format!("${path}").into()
    } else {
        format!("$.{path}").into()
    };
    check_json_path_nesting(path)?;
    JsonPath::parse(&full)
        .map(Prepared::JsonPath)
        .map_err(|error| EvalError::InvalidJsonPath { path: path.to_string(), source: Arc::new(error) })
}

/// How deep filters (`[?...]`) may nest inside one another in a JSONPath. The JSONPath
/// parser's time doubles with each level (0.6 s at 18, 10 s at 22), and its time is about
/// the path's length times 2 to the depth, while real paths nest one or two.
const MAX_JSON_PATH_FILTERS: usize = 4;

/// The longest JSONPath accepted, in bytes: with [`MAX_JSON_PATH_FILTERS`] this bounds the
/// parsing time (far under a millisecond), and real paths are under a hundred bytes.
const MAX_JSON_PATH_LEN: usize = 4096;

/// How many descendant segments (`..`) a JSONPath may have: each multiplies the matches by
/// the document's size (`$..*..*..*..*` made 3.9 million of 200 bytes, evaluated whole
/// before any could be counted); real paths use one.
const MAX_JSON_PATH_DESCENDANTS: usize = 2;

/// The most text one `json_path` may produce, all matches together.
const MAX_JSON_PATH_TEXT: usize = 64 * 1024 * 1024;

/// Bounds a JSONPath before the library parses it: its length, brackets and parentheses at
/// most [`MAX_NESTING`] deep, as expressions (the parser recurses once per level, and
/// about 4,000 levels overflow the stack), and filters at most [`MAX_JSON_PATH_FILTERS`].
/// Quoted names and strings are skipped.
fn check_json_path_nesting(path: &str) -> Result<(), EvalError> {
    // For each open bracket or parenthesis: whether it is a filter selector.
    let mut open: Vec<bool> = Vec::new();
    let mut filters = 0;
    let mut descendants = 0;
    let mut chars = path.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '\'' | '"' => {
                while let Some((_, inner)) = chars.next() {
                    if inner == '\\' {
                        chars.next();
                    } else if inner == c {
                        break;
                    }
                }
            }
            '[' | '(' => {
                let is_filter = c == '[' && path[at + 1..].trim_start().starts_with('?');
                if open.len() >= MAX_NESTING {
                    return Err(EvalError::JsonPathNesting {
                        what: "brackets and parentheses",
                        limit: MAX_NESTING,
                        at: path[..at].chars().count() + 1,
                    });
                }
                if is_filter {
                    filters += 1;
                    if filters > MAX_JSON_PATH_FILTERS {
                        return Err(EvalError::JsonPathNesting {
                            what: "filters",
                            limit: MAX_JSON_PATH_FILTERS,
                            at: path[..at].chars().count() + 1,
                        });
                    }
                }
                open.push(is_filter);
            }
            ']' | ')' => filters -= usize::from(open.pop() == Some(true)),
            '.' if path[at + 1..].starts_with('.') => {
                chars.next();
                descendants += 1;
                if descendants > MAX_JSON_PATH_DESCENDANTS {
                    return Err(EvalError::JsonPathNesting {
                        what: "descendant segments (..)",
                        limit: MAX_JSON_PATH_DESCENDANTS,
                        at: path[..at].chars().count() + 1,
                    });
                }
            }
            _ => {}
        }
    }
    // After the nesting, which names the character where a hostile path goes wrong.
    if path.len() > MAX_JSON_PATH_LEN {
        return Err(EvalError::JsonPathTooLong { limit: MAX_JSON_PATH_LEN });
    }
    Ok(())
}

fn prepare_regex(pattern: &str) -> Result<Prepared, EvalError> {
    Regex::new(pattern)
        .map(Prepared::Regex)
        .map_err(|source| EvalError::InvalidRegex { pattern: pattern.to_string(), source })
}

/// The prepared first argument, or compile it now when it was not a constant.
fn prepared_or<'a>(
    prepared: Option<&'a Prepared>,
    args: &[Value],
    prepare: PrepareFn,
) -> Result<PreparedRef<'a>, EvalError> {
    match prepared {
        Some(prepared) => Ok(PreparedRef::Borrowed(prepared)),
        None => {
            let text = args.first().map(Value::text).unwrap_or_default();
            prepare(&text).map(PreparedRef::Owned)
        }
    }
}

enum PreparedRef<'a> {
    Borrowed(&'a Prepared),
    Owned(Prepared),
}

impl PreparedRef<'_> {
    fn get(&self) -> &Prepared {
        match self {
            PreparedRef::Borrowed(prepared) => prepared,
            PreparedRef::Owned(prepared) => prepared,
        }
    }
}

fn json_path(input: Value, args: &[Value], prepared: Option<&Prepared>) -> Result<Value, EvalError> {
    let prepared = prepared_or(prepared, args, prepare_json_path)?;
    let Prepared::JsonPath(path) = prepared.get() else {
        return Err(EvalError::MissingArgument { function: "json_path", expected: "a JSONPath" });
    };
    let text = match &input {
        Value::One(item) => &item.text,
        Value::Nil => return Err(json_path_input("no value")),
        Value::Array(_) => return Err(json_path_input("an array")),
    };
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|error| EvalError::InvalidJson { source: Arc::new(error) })?;
    let nodes = path.query(&json).all();
    let limit = model::defaults::MAX_JSON_PATH_RESULTS;
    if nodes.len() > limit {
        return Err(EvalError::JsonPathTooManyResults { found: nodes.len(), limit });
    }
    // Matches nest (`$..*` holds an object and each of its members), so their texts can
    // add up to far more than the document: bounded as they are made.
    let mut text_bytes = 0usize;
    let mut matches = Vec::with_capacity(nodes.len());
    for node in nodes {
        let text = json_text(node);
        text_bytes += text.len();
        if text_bytes > MAX_JSON_PATH_TEXT {
            return Err(EvalError::JsonPathTooMuchText { limit: MAX_JSON_PATH_TEXT });
        }
        matches.push(Item::inferred(text));
    }
    Ok(match matches.len() {
        0 => Value::Nil,
        1 => Value::One(matches.remove(0)),
        _ => Value::Array(matches),
    })
}

/// A JSON match as text: a string's content, a number as Tracetest prints it, anything
/// else as compact JSON (the Q-15 fix: Tracetest prints objects and arrays in Go notation).
fn json_text(node: &serde_json::Value) -> String {
    match node {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Number(number) => go_number_text(number),
        other => other.to_string(),
    }
}

/// A JSON number as Tracetest prints it: its JSON parser (ojg) reads a number without
/// fraction or exponent as an int64 (a larger one is kept as written) and any other as a
/// float64, and the filter prints it with Go's `%v`. So `1e3` is `1000`, `1.0` is `1`,
/// `1e6` is `1e+06`, `0.00001` is `1e-05`.
fn go_number_text(number: &serde_json::Number) -> String {
    if number.is_i64() || number.is_u64() {
        return number.to_string();
    }
    match number.as_f64() {
        Some(value) => go_float_text(value),
        None => number.to_string(),
    }
}

/// Go's `%v` (`strconv.FormatFloat(v, 'g', -1, 64)`) of a finite float64: the shortest
/// digits that read back, in exponent form when the decimal exponent is below -4 or at
/// least 6 (Go's fixed threshold for the shortest precision), with at least two exponent
/// digits.
fn go_float_text(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        // ojg reads `-0` as the integer 0; infinities cannot come from JSON text.
        return "0".to_string();
    }
    // Rust's `{:e}` is the shortest round-trip form too: `-1.2345675e6`, `1e-5`.
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if value < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{point}{rest}e{exp_sign}{:02}", exponent.unsigned_abs());
    }
    if exponent < 0 {
        let zeros = "0".repeat((-exponent - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let whole = exponent as usize + 1;
    if digits.len() <= whole {
        format!("{sign}{digits}{}", "0".repeat(whole - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..whole], &digits[whole..])
    }
}

fn json_path_input(found: &str) -> EvalError {
    EvalError::WrongInput { function: "json_path", expected: "a JSON text", found: found.to_string() }
}

fn regex(input: Value, args: &[Value], prepared: Option<&Prepared>) -> Result<Value, EvalError> {
    let prepared = prepared_or(prepared, args, prepare_regex)?;
    let Prepared::Regex(regex) = prepared.get() else {
        return Err(EvalError::MissingArgument { function: "regex", expected: "a regular expression" });
    };
    let text = input.text();
    let matches: Vec<Item> = regex.find_iter(&text).map(|found| Item::inferred(found.as_str())).collect();
    Ok(one_or_array(matches))
}

fn regex_group(input: Value, args: &[Value], prepared: Option<&Prepared>) -> Result<Value, EvalError> {
    let prepared = prepared_or(prepared, args, prepare_regex)?;
    let Prepared::Regex(regex) = prepared.get() else {
        return Err(EvalError::MissingArgument { function: "regex_group", expected: "a regular expression" });
    };
    let text = input.text();
    let groups: Vec<Item> = regex
        .captures_iter(&text)
        .flat_map(|captures| {
            captures
                .iter()
                .skip(1)
                .map(|group| Item::inferred(group.map_or("", |m| m.as_str())))
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(one_or_array(groups))
}

/// None: an empty array; one: that text; several: an array.
fn one_or_array(mut items: Vec<Item>) -> Value {
    if items.len() == 1 {
        Value::One(items.remove(0))
    } else {
        Value::Array(items)
    }
}

fn get_index(input: Value, args: &[Value], _prepared: Option<&Prepared>) -> Result<Value, EvalError> {
    let items = input.items();
    let index_text = args.first().map(Value::text).unwrap_or_default();
    let index = if index_text == "last" {
        items.len().checked_sub(1).ok_or(EvalError::LastOfEmpty)?
    } else {
        index_text.parse::<usize>().map_err(|_| EvalError::WrongInput {
            function: "get_index",
            expected: "an integer or 'last'",
            found: format!("{index_text:?}"),
        })?
    };
    items.get(index).cloned().map(Value::One).ok_or(EvalError::IndexOutOfRange { index, len: items.len() })
}

fn length(input: Value, _args: &[Value], _prepared: Option<&Prepared>) -> Result<Value, EvalError> {
    let count = match &input {
        Value::Nil => 0,
        Value::Array(items) => items.len(),
        // Byte length, as Tracetest.
        Value::One(Item { text, ty: Type::String }) => text.len(),
        Value::One(item) => {
            return Err(EvalError::WrongInput {
                function: "length",
                expected: "a string or an array",
                found: format!("a {}", item.ty.name()),
            })
        }
    };
    Ok(Value::One(Item::typed(count.to_string(), Type::Number)))
}

fn type_of(input: Value, _args: &[Value], _prepared: Option<&Prepared>) -> Result<Value, EvalError> {
    Ok(Value::One(Item::typed(input.type_name(), Type::String)))
}

// ---- functions --------------------------------------------------------------------------

const FIRST_NAMES: [&str; 16] = [
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Dennis",
    "Edsger",
    "Frances",
    "Grace",
    "John",
    "Katherine",
    "Ken",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Tim",
];
const LAST_NAMES: [&str; 16] = [
    "Lovelace", "Turing", "Liskov", "Shannon", "Ritchie", "Dijkstra", "Allen", "Hopper", "Backus", "Johnson",
    "Thompson", "Torvalds", "Hamilton", "Wirth", "Perlman", "Lee",
];

fn pick(list: &[&'static str]) -> &'static str {
    list[rand::random_range(0..list.len())]
}

fn text(text: String) -> Result<Value, EvalError> {
    Ok(Value::inferred(text))
}

fn digits(count: usize) -> String {
    (0..count).map(|_| char::from(b'0' + rand::random_range(0..10u8))).collect()
}

fn uuid(_args: &[Value]) -> Result<Value, EvalError> {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    text(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
}

fn first_name(_args: &[Value]) -> Result<Value, EvalError> {
    text(pick(&FIRST_NAMES).to_string())
}

fn last_name(_args: &[Value]) -> Result<Value, EvalError> {
    text(pick(&LAST_NAMES).to_string())
}

fn full_name(_args: &[Value]) -> Result<Value, EvalError> {
    text(format!("{} {}", pick(&FIRST_NAMES), pick(&LAST_NAMES)))
}

fn email(_args: &[Value]) -> Result<Value, EvalError> {
    text(format!("{}.{}{}@example.com", pick(&FIRST_NAMES), pick(&LAST_NAMES), digits(3)).to_lowercase())
}

fn phone(_args: &[Value]) -> Result<Value, EvalError> {
    text(format!("+1 ({}) {}-{}", 200 + rand::random_range(0..800u32), digits(3), digits(4)))
}

/// A 16-digit number starting with 4 that passes the Luhn check.
fn credit_card(_args: &[Value]) -> Result<Value, EvalError> {
    let mut number: Vec<u8> =
        std::iter::once(4).chain((0..14).map(|_| rand::random_range(0..10u8))).collect();
    let sum: u32 = number
        .iter()
        .rev()
        .enumerate()
        .map(|(position, &digit)| {
            let digit = u32::from(digit);
            // The check digit will be appended, so the rightmost digit here is doubled.
            if position % 2 == 0 {
                let doubled = digit * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                digit
            }
        })
        .sum();
    number.push(((10 - sum % 10) % 10) as u8);
    text(number.iter().map(|digit| char::from(b'0' + digit)).collect())
}

fn credit_card_cvv(_args: &[Value]) -> Result<Value, EvalError> {
    text(digits(3))
}

fn credit_card_exp_date(_args: &[Value]) -> Result<Value, EvalError> {
    let (year, _, _, _, _, _) = now_civil();
    let month = rand::random_range(1..=12u32);
    let year = year + rand::random_range(1..=5i64);
    text(format!("{month:02}/{:02}", year % 100))
}

fn random_int(args: &[Value]) -> Result<Value, EvalError> {
    let bound = |index: usize| -> Result<i64, EvalError> {
        let value = args.get(index).map(Value::text).unwrap_or_default();
        value.parse::<i64>().map_err(|_| EvalError::WrongInput {
            function: "randomInt",
            expected: "integer bounds",
            found: format!("{value:?}"),
        })
    };
    let (min, max) = (bound(0)?, bound(1)?);
    if min > max {
        return Err(EvalError::EmptyRange { min, max });
    }
    Ok(Value::One(Item::typed(rand::random_range(min..=max).to_string(), Type::Number)))
}

fn date(args: &[Value]) -> Result<Value, EvalError> {
    let format = args.first().map_or_else(|| "YYYY-MM-DD".to_string(), |value| value.text().into_owned());
    text(format_now(&format))
}

fn date_time(args: &[Value]) -> Result<Value, EvalError> {
    let format =
        args.first().map_or_else(|| "YYYY-MM-DDThh:mm:ssZ".to_string(), |value| value.text().into_owned());
    text(format_now(&format))
}

fn now_civil() -> (i64, u32, u32, u32, u32, u32) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64);
    model::civil_from_unix(secs)
}

/// Replaces `YYYY MM DD hh mm ss` in `format` with the current UTC time.
fn format_now(format: &str) -> String {
    let (year, month, day, hour, minute, second) = now_civil();
    format
        .replace("YYYY", &format!("{year:04}"))
        .replace("MM", &format!("{month:02}"))
        .replace("DD", &format!("{day:02}"))
        .replace("hh", &format!("{hour:02}"))
        .replace("mm", &format!("{minute:02}"))
        .replace("ss", &format!("{second:02}"))
}
