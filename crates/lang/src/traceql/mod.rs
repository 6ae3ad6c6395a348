//! TraceQL, Grafana Tempo's trace query language, as a second selector language: a
//! selector whose first non-blank character is `{` or `(` is a TraceQL query (Tracetest's
//! selectors never start so), anything else is Tracetest's selector language.
//!
//! A query is parsed once at load ([`TraceQl::parse`]) and evaluated over the same
//! [`TraceView`] as Tracetest's selectors: spans in tree order, meta attributes reachable
//! as `span.tracetest.span.type` (or unscoped, `.tracetest.span.type`). What it selects is
//! the union of the spansets the pipeline ends with, in tree order and without repeats.
//! Semantics follow Tempo's documentation; where this evaluator differs, `docs/traceql.md`
//! says how, with an example.
//!
//! `lexer.rs` reads tokens, `parser.rs` builds the syntax tree of `ast.rs` (checking types
//! where they are known) and `eval.rs` evaluates it. Like the rest of `lang`, nothing here
//! panics on user input, recursion is bounded by the parser's limits, and every spanset
//! operator costs time linear in the trace's spans.

mod ast;
mod eval;
mod lexer;
mod parser;

#[cfg(test)]
mod tests;

use std::fmt;

use super::{Error, TraceView};

/// A parsed TraceQL query.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceQl {
    /// The query as written, without surrounding blanks: how it prints.
    source: String,
    pipeline: ast::Pipeline,
}

impl TraceQl {
    /// Whether `source` is meant as TraceQL: its first non-blank character opens a spanset.
    pub fn is_traceql(source: &str) -> bool {
        source.trim_start().starts_with(['{', '('])
    }

    /// Parses a query.
    ///
    /// # Errors
    /// [`Error::Syntax`] with the byte range and column (of `source` as given), e.g.
    /// `expected a string after '=' at column 10, found '5' (an integer)`; a metrics query
    /// (`| rate()`) is refused with "TraceQL metrics are not supported here".
    pub fn parse(source: &str) -> Result<TraceQl, Error> {
        let pipeline = parser::parse(source)?;
        Ok(TraceQl { source: source.trim().to_string(), pipeline })
    }

    /// The selected spans as indexes into [`TraceView::spans`], in tree order, each once.
    pub fn select(&self, view: &TraceView<'_>) -> Vec<usize> {
        eval::select(&self.pipeline, view)
    }

    /// The query as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for TraceQl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}
