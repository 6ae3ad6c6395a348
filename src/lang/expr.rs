//! Expressions, assertion statements and templates (reference section 8).

use super::{ArithOp, Comparator, Error, Vars};

/// A term (reference 8.2).
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    Number(String),
    Duration { number: String, unit: &'static str },
    Attr(String),
    Env(String),
    Var(String),
    Str { quote: char, parts: Vec<StrPart> },
    Array(Vec<Term>),
    Call { name: String, args: Vec<Term> },
}

/// A part of a string literal or template: literal text or a `${...}` interpolation.
#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    Text(String),
    Interp(Expr),
}

/// `| name arg ...`
#[derive(Clone, Debug, PartialEq)]
pub struct FilterCall {
    pub name: String,
    pub args: Vec<Term>,
}

/// `term { op term } { | filter }`
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub first: Term,
    pub rest: Vec<(ArithOp, Term)>,
    pub filters: Vec<FilterCall>,
}

impl Expr {
    pub fn parse(source: &str) -> Result<Expr, Error> {
        Err(Error::syntax(source, Default::default(), "an expression", "todo"))
    }
}

/// `expr COMPARATOR expr`
#[derive(Clone, Debug, PartialEq)]
pub struct Assertion {
    pub left: Expr,
    pub comparator: Comparator,
    pub right: Expr,
}

impl Assertion {
    pub fn parse(source: &str) -> Result<Assertion, Error> {
        Err(Error::syntax(source, Default::default(), "an assertion", "todo"))
    }
}

/// Literal text with `${expr}` parts.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub parts: Vec<StrPart>,
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, Error> {
        Ok(Template { parts: vec![StrPart::Text(source.to_string())] })
    }

    pub fn render(&self, _vars: &Vars) -> Result<String, Error> {
        Err(Error::Eval { message: "todo".into() })
    }
}
