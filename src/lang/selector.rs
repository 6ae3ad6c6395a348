//! The selector language (reference section 7).

use super::{Error, TraceView};

/// A whole selector: alternatives separated by commas; none = every span.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Selector {
    pub alternatives: Vec<Chain>,
}

/// `span[...] span[...]`: descendant parts.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub parts: Vec<SpanSelector>,
}

/// `span[filters]:pseudo`
#[derive(Clone, Debug, PartialEq)]
pub struct SpanSelector {
    pub filters: Vec<Filter>,
    pub pseudo: Option<PseudoClass>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PseudoClass {
    First,
    Last,
    NthChild(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorOp {
    Eq,
    Contains,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SelectorValue {
    Str(String),
    Int(String),
    Float(String),
    Bool(bool),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub property: String,
    pub op: SelectorOp,
    pub value: SelectorValue,
}

impl Selector {
    pub fn parse(source: &str) -> Result<Selector, Error> {
        if source.trim().is_empty() {
            return Ok(Selector::default());
        }
        Err(Error::syntax(source, Default::default(), "a selector", "todo"))
    }

    pub fn select(&self, view: &TraceView<'_>) -> Vec<usize> {
        (0..view.len()).collect()
    }

    pub fn matches_any(&self, view: &TraceView<'_>) -> bool {
        !self.select(view).is_empty()
    }
}
