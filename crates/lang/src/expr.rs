//! Expressions, assertion statements and trigger templates (reference section 8 and 4.6):
//! the syntax tree, its parser and its printer. Evaluation lives in `eval.rs`.
//!
//! The tree mirrors the grammar of 8.2: an [`Expr`] is a first [`Term`], arithmetic
//! continuations applied left to right (no precedence, Q-14), then filters. Printing a tree
//! and parsing the text again gives the same tree.

use std::fmt;
use std::sync::Arc;

use super::builtins::{self, Prepared};
use super::compare::{ArithOp, Comparator};
use super::lexer::{tokenize, Tok, Token};
use super::value::DurationUnit;
use super::{Error, TextSpan};

/// A single term (8.2). Terms inside arrays, function arguments and filter arguments are
/// single terms: no arithmetic, no pipes.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// `DIGITS[.DIGITS]`, kept as written.
    Number(String),
    /// `200ms`: the number as written and its unit.
    Duration { number: String, unit: DurationUnit },
    /// `attr:NAME`
    Attr(String),
    /// `env:NAME`
    Env(String),
    /// `var:NAME`
    Var(String),
    /// A quoted string, with `${...}` interpolations.
    Str(StrLit),
    /// `[term, ...]`
    Array(Vec<Term>),
    /// `name(term, ...)`, a function of 8.8.
    Call { name: String, args: Vec<Term> },
}

/// A string literal: its quote character and its parts. Text parts keep the source's
/// backslashes (`\"`), which evaluation removes.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    pub quote: char,
    pub parts: Vec<StrPart>,
}

/// A part of a string literal or template: literal text or a `${...}` interpolation.
#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    Text(String),
    Interp(Box<Expr>),
}

/// `| name arg ...`: a filter of 8.7 with its arguments, and its first argument compiled
/// once when it is a constant (a regex, a JSONPath).
#[derive(Clone)]
pub struct FilterCall {
    pub name: String,
    pub args: Vec<Term>,
    pub(crate) prepared: Option<Arc<Prepared>>,
}

impl PartialEq for FilterCall {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.args == other.args
    }
}

impl fmt::Debug for FilterCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterCall").field("name", &self.name).field("args", &self.args).finish()
    }
}

/// `term { op term } { | filter }`: an output value, one side of an assertion, or the
/// inside of `${...}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub first: Term,
    pub rest: Vec<(ArithOp, Term)>,
    pub filters: Vec<FilterCall>,
}

/// `expr COMPARATOR expr`: one line of a spec's `assertions`.
#[derive(Clone, Debug, PartialEq)]
pub struct Assertion {
    pub left: Expr,
    pub comparator: Comparator,
    pub right: Expr,
}

/// A trigger field (4.6): literal text in which each `${expr}` is replaced by the
/// expression's value. Text outside `${}` is never interpreted.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Template {
    pub parts: Vec<StrPart>,
}

impl Expr {
    /// Parses an output value or one side of nothing: a whole expression, no comparator.
    ///
    /// # Errors
    /// [`Error::Syntax`] with the column of the first problem.
    pub fn parse(source: &str) -> Result<Expr, Error> {
        let mut parser = Parser::new(source)?;
        let expr = parser.expr("an expression")?;
        parser.end("an operator, '|' or the end of the expression")?;
        Ok(expr)
    }

    /// Every `attr:` name the expression reads, in order, including inside strings,
    /// arrays, function and filter arguments.
    pub fn attributes(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.visit(&mut |term| {
            if let Term::Attr(name) = term {
                names.push(name.as_str());
            }
        });
        names
    }

    /// Every `var:` and `env:` name the expression reads, in order.
    pub fn variables(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.visit(&mut |term| {
            if let Term::Var(name) | Term::Env(name) = term {
                names.push(name.as_str());
            }
        });
        names
    }

    pub(crate) fn visit<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term)) {
        visit_term(&self.first, visitor);
        for (_, term) in &self.rest {
            visit_term(term, visitor);
        }
        for filter in &self.filters {
            for term in &filter.args {
                visit_term(term, visitor);
            }
        }
    }
}

fn visit_term<'a>(term: &'a Term, visitor: &mut dyn FnMut(&'a Term)) {
    visitor(term);
    match term {
        Term::Str(literal) => visit_parts(&literal.parts, visitor),
        Term::Array(items) | Term::Call { args: items, .. } => {
            items.iter().for_each(|item| visit_term(item, visitor))
        }
        Term::Number(_) | Term::Duration { .. } | Term::Attr(_) | Term::Env(_) | Term::Var(_) => {}
    }
}

fn visit_parts<'a>(parts: &'a [StrPart], visitor: &mut dyn FnMut(&'a Term)) {
    for part in parts {
        if let StrPart::Interp(expr) = part {
            expr.visit(visitor);
        }
    }
}

impl Assertion {
    /// Parses `expr COMPARATOR expr`.
    ///
    /// # Errors
    /// [`Error::Syntax`] with the column of the first problem, e.g.
    /// `expected a value after '=' at column 21, found end of input`.
    pub fn parse(source: &str) -> Result<Assertion, Error> {
        let mut parser = Parser::new(source)?;
        let left = parser.expr("an expression")?;
        let comparator = match parser.peek() {
            Some(Token { tok: Tok::Cmp(comparator), .. }) => {
                parser.index += 1;
                comparator
            }
            _ => {
                let mut comparators = Comparator::ALL;
                comparators.sort_by_key(|comparator| *comparator as u8);
                let symbols: Vec<&str> = comparators.iter().map(|c| c.symbol()).collect();
                return Err(
                    parser.unexpected(&format!("an operator, '|' or a comparator ({})", symbols.join(", ")))
                );
            }
        };
        let right = parser.expr(&format!("a value after '{}'", comparator.symbol()))?;
        parser.end("an operator, '|' or the end of the assertion")?;
        Ok(Assertion { left, comparator, right })
    }

    /// Every `attr:` name on either side.
    pub fn attributes(&self) -> Vec<&str> {
        let mut names = self.left.attributes();
        names.extend(self.right.attributes());
        names
    }

    /// Every `var:`/`env:` name on either side.
    pub fn variables(&self) -> Vec<&str> {
        let mut names = self.left.variables();
        names.extend(self.right.variables());
        names
    }
}

impl Template {
    /// Parses literal text with `${expr}` parts. A `${` without a closing `}` is literal.
    ///
    /// # Errors
    /// [`Error::Syntax`] for an expression inside `${}` that does not parse; the column
    /// counts from the start of the whole template.
    pub fn parse(source: &str) -> Result<Template, Error> {
        Ok(Template { parts: split_interpolations(source, source, 0)? })
    }

    /// True when the template has no `${}` part.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|part| matches!(part, StrPart::Text(_)))
    }

    /// Every `var:`/`env:` name inside the template's `${}` parts.
    pub fn variables(&self) -> Vec<&str> {
        let mut names = Vec::new();
        visit_parts(&self.parts, &mut |term| {
            if let Term::Var(name) | Term::Env(name) = term {
                names.push(name.as_str());
            }
        });
        names
    }
}

/// Splits `text` (found at byte `offset` of `source`) into literal parts and `${...}`
/// expressions, each ending at the first `}` (no nesting).
fn split_interpolations(source: &str, text: &str, offset: usize) -> Result<Vec<StrPart>, Error> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    let mut at = offset;
    while let Some(open) = rest.find("${") {
        let inner_start = open + 2;
        let Some(close) = rest[inner_start..].find('}') else {
            break;
        };
        literal.push_str(&rest[..open]);
        if !literal.is_empty() {
            parts.push(StrPart::Text(std::mem::take(&mut literal)));
        }
        let inner = &rest[inner_start..inner_start + close];
        let expr = Expr::parse(inner).map_err(|error| error.shifted(source, at + inner_start))?;
        parts.push(StrPart::Interp(Box::new(expr)));
        let consumed = inner_start + close + 1;
        rest = &rest[consumed..];
        at += consumed;
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(StrPart::Text(literal));
    }
    Ok(parts)
}

/// How deep arrays and function calls may nest: deeper text is surely a mistake, and the
/// parser and evaluator recurse once per level.
pub(crate) const MAX_NESTING: usize = 64;

struct Parser<'s> {
    source: &'s str,
    tokens: Vec<Token<'s>>,
    index: usize,
    /// Arrays and calls open around the current token.
    depth: usize,
}

impl<'s> Parser<'s> {
    fn new(source: &'s str) -> Result<Self, Error> {
        Ok(Parser { source, tokens: tokenize(source)?, index: 0, depth: 0 })
    }

    fn peek(&self) -> Option<Token<'s>> {
        self.tokens.get(self.index).copied()
    }

    fn next(&mut self) -> Option<Token<'s>> {
        let token = self.peek();
        self.index += usize::from(token.is_some());
        token
    }

    /// An error at the next token (or at the end of input).
    fn unexpected(&self, expected: &str) -> Error {
        match self.peek() {
            Some(token) => self.error_at(token, expected),
            None => Error::syntax(
                self.source,
                TextSpan::new(self.source.len(), self.source.len()),
                expected,
                "end of input",
            ),
        }
    }

    fn error_at(&self, token: Token<'s>, expected: &str) -> Error {
        Error::syntax(self.source, token.span, expected, token.tok.describe(self.source, token.span))
    }

    fn end(&self, expected: &str) -> Result<(), Error> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.unexpected(expected)),
        }
    }

    fn expr(&mut self, expected: &str) -> Result<Expr, Error> {
        let first = self.term(expected)?;
        let mut rest = Vec::new();
        while let Some(Token { tok: Tok::Op(op), .. }) = self.peek() {
            self.index += 1;
            rest.push((op, self.term(&format!("a value after '{}'", op.symbol()))?));
        }
        let mut filters = Vec::new();
        while let Some(Token { tok: Tok::Pipe, .. }) = self.peek() {
            self.index += 1;
            filters.push(self.filter()?);
        }
        Ok(Expr { first, rest, filters })
    }

    fn filter(&mut self) -> Result<FilterCall, Error> {
        let expected = || format!("a filter name after '|' (one of {})", builtins::filter_names().join(", "));
        let Some(name_token @ Token { tok: Tok::Ident(name), .. }) = self.peek() else {
            return Err(self.unexpected(&expected()));
        };
        let Some(def) = builtins::filter(name) else {
            return Err(self.error_at(name_token, &expected()));
        };
        self.index += 1;
        let mut args = Vec::new();
        let mut arg_spans = Vec::new();
        while self.peek().is_some_and(|token| starts_term(&token.tok)) {
            let start = self.peek().map_or(0, |token| token.span.start);
            args.push(self.term("a filter argument")?);
            let end = self.tokens.get(self.index.wrapping_sub(1)).map_or(start, |token| token.span.end);
            arg_spans.push(TextSpan::new(start, end));
        }
        if args.len() < def.min_args || args.len() > def.max_args {
            return Err(Error::syntax(
                self.source,
                name_token.span,
                format!("{} for filter '{name}'", builtins::arity_text(def.min_args, def.max_args)),
                format!("{}", args.len()),
            ));
        }
        let mut prepared = None;
        if let (Some(prepare), Some(first)) = (def.prepare, args.first()) {
            if let Some(constant) = constant_text(first) {
                let compiled = prepare(&constant).map_err(|message| {
                    Error::syntax(
                        self.source,
                        arg_spans[0],
                        format!("a valid argument for '{name}'"),
                        message.to_string(),
                    )
                })?;
                prepared = Some(Arc::new(compiled));
            }
        }
        Ok(FilterCall { name: name.to_string(), args, prepared })
    }

    fn term(&mut self, expected: &str) -> Result<Term, Error> {
        let Some(token) = self.next() else {
            return Err(self.unexpected(expected));
        };
        let term = match token.tok {
            Tok::Number(number) => Term::Number(number.to_string()),
            Tok::Duration { number, unit } => Term::Duration { number: number.to_string(), unit },
            Tok::Attr(name) => Term::Attr(name.to_string()),
            Tok::Env(name) => Term::Env(name.to_string()),
            Tok::Var(name) => Term::Var(name.to_string()),
            Tok::Str { raw, quote } => {
                // The raw text starts one byte (the quote) after the token.
                let parts = split_interpolations(self.source, raw, token.span.start + 1)?;
                Term::Str(StrLit { quote, parts })
            }
            Tok::LBracket => Term::Array(self.list(Tok::RBracket, "']'")?),
            Tok::Ident(name) => {
                let Some(def) = builtins::function(name) else {
                    let message = format!(
                        "{expected} (a function is one of {}; quote text, e.g. \"{name}\")",
                        builtins::function_names().join(", ")
                    );
                    return Err(self.error_at(token, &message));
                };
                match self.peek() {
                    Some(Token { tok: Tok::LParen, .. }) => self.index += 1,
                    _ => return Err(self.unexpected(&format!("'(' after function '{name}'"))),
                }
                let args = self.list(Tok::RParen, "')'")?;
                if args.len() < def.min_args || args.len() > def.max_args {
                    return Err(Error::syntax(
                        self.source,
                        token.span,
                        format!("{} for function '{name}'", builtins::arity_text(def.min_args, def.max_args)),
                        format!("{}", args.len()),
                    ));
                }
                Term::Call { name: name.to_string(), args }
            }
            _ => return Err(self.error_at(token, expected)),
        };
        Ok(term)
    }

    /// `[ term { , term } ] CLOSE` after the opening token.
    fn list(&mut self, close: Tok<'static>, close_text: &str) -> Result<Vec<Term>, Error> {
        if self.depth >= MAX_NESTING {
            let expected = format!("at most {MAX_NESTING} nested arrays or calls");
            // Point at the opening bracket or parenthesis that is one too many.
            return Err(match self.index.checked_sub(1).and_then(|index| self.tokens.get(index)) {
                Some(&opening) => self.error_at(opening, &expected),
                None => self.unexpected(&expected),
            });
        }
        self.depth += 1;
        let items = self.list_items(close, close_text);
        self.depth -= 1;
        items
    }

    fn list_items(&mut self, close: Tok<'static>, close_text: &str) -> Result<Vec<Term>, Error> {
        let mut items = Vec::new();
        if self.peek().is_some_and(|token| token.tok == close) {
            self.index += 1;
            return Ok(items);
        }
        loop {
            items.push(self.term("a value")?);
            match self.next() {
                Some(Token { tok: Tok::Comma, .. }) => {}
                Some(token) if token.tok == close => return Ok(items),
                Some(token) => return Err(self.error_at(token, &format!("',' or {close_text}"))),
                None => return Err(self.unexpected(&format!("',' or {close_text}"))),
            }
        }
    }
}

fn starts_term(tok: &Tok<'_>) -> bool {
    matches!(
        tok,
        Tok::Number(_)
            | Tok::Duration { .. }
            | Tok::Attr(_)
            | Tok::Env(_)
            | Tok::Var(_)
            | Tok::Str { .. }
            | Tok::LBracket
            | Tok::Ident(_)
    )
}

/// The text of a term that is the same on every evaluation: a number or a string without
/// interpolation (quote escapes removed as evaluation would).
fn constant_text(term: &Term) -> Option<String> {
    match term {
        Term::Number(number) => Some(number.clone()),
        Term::Str(StrLit { parts, .. }) => match parts.as_slice() {
            [] => Some(String::new()),
            [StrPart::Text(text)] => Some(unescape_literal(text)),
            _ => None,
        },
        _ => None,
    }
}

/// Removes the backslash of `\'` and `\"` in a string literal's text.
pub(crate) fn unescape_literal(raw: &str) -> String {
    if raw.contains('\\') {
        raw.replace("\\'", "'").replace("\\\"", "\"")
    } else {
        raw.to_string()
    }
}

// ---- printing -----------------------------------------------------------------------------

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Number(number) => f.write_str(number),
            Term::Duration { number, unit } => write!(f, "{number}{}", unit.symbol()),
            Term::Attr(name) => write!(f, "attr:{name}"),
            Term::Env(name) => write!(f, "env:{name}"),
            Term::Var(name) => write!(f, "var:{name}"),
            Term::Str(literal) => {
                write!(f, "{}", literal.quote)?;
                write_parts(f, &literal.parts)?;
                write!(f, "{}", literal.quote)
            }
            Term::Array(items) => {
                f.write_str("[")?;
                write_list(f, items)?;
                f.write_str("]")
            }
            Term::Call { name, args } => {
                write!(f, "{name}(")?;
                write_list(f, args)?;
                f.write_str(")")
            }
        }
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[Term]) -> fmt::Result {
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

fn write_parts(f: &mut fmt::Formatter<'_>, parts: &[StrPart]) -> fmt::Result {
    for part in parts {
        match part {
            StrPart::Text(text) => f.write_str(text)?,
            StrPart::Interp(expr) => write!(f, "${{{expr}}}")?,
        }
    }
    Ok(())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first)?;
        for (op, term) in &self.rest {
            write!(f, " {op} {term}")?;
        }
        for filter in &self.filters {
            write!(f, " | {}", filter.name)?;
            for arg in &filter.args {
                write!(f, " {arg}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.left, self.comparator, self.right)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_parts(f, &self.parts)
    }
}
