//! Why an expression could not be evaluated for one span (or a template rendered): one
//! enum, so that callers can tell the cases apart and the causes keep their sources. A
//! failed evaluation is data in the report (its text fills a span result's `error`), never
//! a panic.

use std::sync::Arc;

use crate::view::SELECTED_SPANS_COUNT;

/// An evaluation error. Messages are lowercase and say what was expected and what was
/// found; two errors are equal when they say the same.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A filter or function got no argument where it needs one.
    #[error("{function} needs {expected}")]
    MissingArgument { function: &'static str, expected: &'static str },
    /// A filter or function got an input or argument of the wrong kind.
    #[error("{function} needs {expected}, found {found}")]
    WrongInput { function: &'static str, expected: &'static str, found: String },
    #[error("json_path input is not valid JSON: {source}")]
    InvalidJson {
        #[source]
        source: Arc<serde_json::Error>,
    },
    #[error("invalid JSONPath {path:?}: {source}")]
    InvalidJsonPath {
        path: String,
        #[source]
        source: Arc<serde_json_path::ParseError>,
    },
    /// A JSONPath nested deeper than the parser can take in bounded time and stack.
    #[error("JSONPath nests more than {limit} {what} (at character {at})")]
    JsonPathNesting { what: &'static str, limit: usize, at: usize },
    #[error("JSONPath is longer than {limit} bytes")]
    JsonPathTooLong { limit: usize },
    #[error("JSONPath matched {found} values, more than the {limit} one expression may hold")]
    JsonPathTooManyResults { found: usize, limit: usize },
    #[error("JSONPath matched more than {limit} bytes of text")]
    JsonPathTooMuchText { limit: usize },
    #[error("invalid regex {pattern:?}: {source}")]
    InvalidRegex {
        pattern: String,
        #[source]
        source: regex::Error,
    },
    #[error("get_index 'last' of an empty array")]
    LastOfEmpty,
    #[error("index {index} out of range for an array of {len}")]
    IndexOutOfRange { index: usize, len: usize },
    #[error("randomInt: min {min} is greater than max {max}")]
    EmptyRange { min: i64, max: i64 },
    #[error("{text:?} is not a number")]
    NotANumber { text: String },
    #[error("{text:?} is not a duration")]
    NotADuration { text: String },
    /// An ordering comparison where one side does not read as a number.
    #[error("cannot compare {left:?} with {right:?}: {text:?} is not a number")]
    NotComparable { left: String, right: String, text: String },
    #[error("division by zero")]
    DivisionByZero,
    /// Arithmetic between values of different types (a number and a duration).
    #[error("types mismatch")]
    TypesMismatch,
    #[error("unknown filter {0:?}")]
    UnknownFilter(String),
    #[error("unknown function {0:?}")]
    UnknownFunction(String),
    #[error("variable {0:?} not found")]
    UndefinedVariable(String),
    /// `attr:` in a template or another place without a span.
    #[error("attr:{0} is only available in a spec")]
    AttributeOutsideSpec(String),
    /// Outside a spec only the selected-span count exists.
    #[error("attribute {0:?} not found (only {SELECTED_SPANS_COUNT} exists)")]
    OnlySelectedCount(String),
    #[error("attr:{0} cannot be used outside a spec or output")]
    SelectedCountOutsideSpec(String),
    #[error("attribute {0:?} not found")]
    AttributeNotFound(String),
    /// An assertion on `attr:` where the selector matched no span.
    #[error("no matching spans")]
    NoMatchingSpans,
    #[error("cannot read {text:?} as a duration")]
    UnreadableDuration { text: String },
}

impl PartialEq for EvalError {
    fn eq(&self, other: &Self) -> bool {
        // The sources (serde_json's, the JSONPath parser's) are not comparable themselves;
        // what an error says is what tells it apart.
        self.to_string() == other.to_string()
    }
}

impl Eq for EvalError {}
