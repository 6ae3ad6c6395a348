//! The selector language (reference section 7): which spans a spec or output applies to.
//!
//! `span[tracetest.span.type="http" name contains "users"]:first, span[kind="server"] span[]`
//! parses into a [`Selector`] of comma-separated [`Chain`]s of descendant
//! [`SpanSelector`]s. Selection returns indexes into [`TraceView::spans`] in Tracetest's
//! order, keeping its quirks: duplicates across alternatives (Q-1), the outer part's
//! pseudo-class applied to the chain's result (Q-2), middle parts matching the outer span
//! (Q-3), two-decimal floats (Q-4) and missing attributes reading as `""` (Q-5).
//!
//! The syntax tree and its printing are here; `parse.rs` reads the text into it and
//! `select.rs` matches it against a [`TraceView`].

mod parse;
mod select;

use std::fmt;
use std::sync::Arc;

use super::traceql::TraceQl;
use super::view::MetaKey;
use super::Error;
#[cfg(doc)]
use super::TraceView;

pub use select::unmatched_selectors;

/// A whole selector: alternatives separated by commas. No alternative (the empty text)
/// selects every span. A selector written in TraceQL (it starts with `{` or `(`) has no
/// alternatives and its query instead.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Selector {
    pub alternatives: Vec<Chain>,
    traceql: Option<Arc<TraceQl>>,
}

/// `span[...] span[...]`: each part is looked for below a span matching the part before.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub parts: Vec<SpanSelector>,
}

/// `span[filters]:pseudo`
#[derive(Clone, Debug, PartialEq)]
pub struct SpanSelector {
    pub filters: Vec<Filter>,
    /// The last pseudo-class written (several parse; only the last counts, Q-7).
    pub pseudo: Option<PseudoClass>,
}

/// A position in the list of matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PseudoClass {
    First,
    Last,
    /// 1-based; 0 or past the end selects nothing.
    NthChild(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorOp {
    Eq,
    Contains,
}

impl SelectorOp {
    pub fn symbol(self) -> &'static str {
        match self {
            SelectorOp::Eq => "=",
            SelectorOp::Contains => "contains",
        }
    }
}

/// A filter's value as written.
#[derive(Clone, Debug, PartialEq)]
pub enum SelectorValue {
    /// The unescaped content of a double-quoted string.
    Str(String),
    /// Digits, as written.
    Int(String),
    /// `DIGITS.DIGITS`, as written.
    Float(String),
    Bool(bool),
}

/// `property op value`: one condition on a span.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    /// `name`, `kind`, or an attribute name.
    pub property: String,
    pub op: SelectorOp,
    pub value: SelectorValue,
    /// The value as text compared with the span's (7.2): floats with two decimals (Q-4).
    text: String,
    /// `property` resolved once.
    key: PropertyKey,
}

/// What a filter's property reads, resolved at parse time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PropertyKey {
    Name,
    Kind,
    Meta(MetaKey),
    Attribute,
}

impl PropertyKey {
    fn of(property: &str) -> PropertyKey {
        match property {
            "name" => PropertyKey::Name,
            "kind" => PropertyKey::Kind,
            other => MetaKey::from_name(other).map_or(PropertyKey::Attribute, PropertyKey::Meta),
        }
    }
}

impl Filter {
    /// The text the span's property is compared with.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl Selector {
    /// Parses a selector; empty or blank text selects every span. A text starting with `{`
    /// or `(` is a TraceQL query ([`TraceQl::parse`]).
    ///
    /// # Errors
    /// [`Error::Syntax`] naming the column and what was expected, e.g.
    /// `expected a value after '=' at column 11, found ']'`.
    pub fn parse(source: &str) -> Result<Selector, Error> {
        if TraceQl::is_traceql(source) {
            let query = TraceQl::parse(source)?;
            return Ok(Selector { alternatives: Vec::new(), traceql: Some(Arc::new(query)) });
        }
        parse::parse(source)
    }

    /// True for the empty selector, which selects every span.
    pub fn is_empty(&self) -> bool {
        self.alternatives.is_empty() && self.traceql.is_none()
    }

    /// The TraceQL query, when the selector is written in TraceQL.
    pub fn traceql(&self) -> Option<&TraceQl> {
        self.traceql.as_deref()
    }
}

// ---- printing -----------------------------------------------------------------------------

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(query) = &self.traceql {
            return write!(f, "{query}");
        }
        for (index, chain) in self.alternatives.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{chain}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, part) in self.parts.iter().enumerate() {
            if index > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{part}")?;
        }
        Ok(())
    }
}

impl fmt::Display for SpanSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("span[")?;
        for (index, filter) in self.filters.iter().enumerate() {
            if index > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{filter}")?;
        }
        f.write_str("]")?;
        match self.pseudo {
            None => Ok(()),
            Some(PseudoClass::First) => f.write_str(":first"),
            Some(PseudoClass::Last) => f.write_str(":last"),
            Some(PseudoClass::NthChild(n)) => write!(f, ":nth_child({n})"),
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            SelectorOp::Eq => write!(f, "{}=", self.property)?,
            SelectorOp::Contains => write!(f, "{} contains ", self.property)?,
        }
        match &self.value {
            SelectorValue::Str(text) => {
                f.write_str("\"")?;
                for c in text.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\r' => f.write_str("\\r")?,
                        '\t' => f.write_str("\\t")?,
                        c if c.is_control() => write!(f, "\\u{:04x}", u32::from(c))?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            SelectorValue::Int(digits) | SelectorValue::Float(digits) => f.write_str(digits),
            SelectorValue::Bool(flag) => write!(f, "{flag}"),
        }
    }
}
