//! The TraceQL parser: tokens to a [`Pipeline`], with static type checks where the types
//! are known (intrinsics and literals), so that `{ name = 5 }` is a load error rather than
//! a filter that silently never matches.
//!
//! Recursion is bounded: brackets, unary operators and `^` nest at most [`MAX_NESTING`]
//! deep, and a query has at most [`MAX_NODES`] operators, which bounds the depth of the tree
//! that evaluation (and dropping) walks recursively.

use std::sync::Arc;

use regex::RegexBuilder;

use super::ast::{
    intrinsic, is_metrics_function, AggregateKind, AttributeScope, BinaryOp, Condition, Expr, Field, Literal,
    Pattern, Pipeline, SpansetExpr, SpansetOp, Stage, Type, KEYWORD_VALUES,
};
use super::lexer::{tokenize, Tok, Token};
use crate::expr::MAX_NESTING;
use crate::view::MetaKey;
use crate::{Error, TextSpan};

/// How many operators (and filters) one query may have.
pub(super) const MAX_NODES: usize = 1000;

/// The compiled size a regular expression may reach: enough for any hand-written pattern,
/// small enough that a hostile one cannot take the memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

pub(super) fn parse(source: &str) -> Result<Pipeline, Error> {
    let mut parser = Parser { source, tokens: tokenize(source)?, index: 0, depth: 0, nodes: 0 };
    let pipeline = parser.pipeline()?;
    parser.hints()?;
    match parser.peek() {
        None => Ok(pipeline),
        Some(_) => Err(parser.unexpected("'|', a spanset operator (&& || > >> < << ~ ...) or the end")),
    }
}

struct Parser<'s> {
    source: &'s str,
    tokens: Vec<Token<'s>>,
    index: usize,
    /// Brackets and unary operators open around the current token.
    depth: usize,
    /// Operators and filters so far.
    nodes: usize,
}

/// A parsed field or scalar expression: where it was written and its type when known
/// (`None` for attributes, whose type is only known per span).
struct Parsed {
    expr: Expr,
    span: TextSpan,
    ty: Option<Type>,
}

/// Whether fields (inside `{ }`) or aggregates (after `|`) may appear.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Field,
    Scalar,
}

impl<'s> Parser<'s> {
    fn peek(&self) -> Option<&Tok<'s>> {
        self.tokens.get(self.index).map(|token| &token.tok)
    }

    fn peek_at(&self, offset: usize) -> Option<&Tok<'s>> {
        self.tokens.get(self.index + offset).map(|token| &token.tok)
    }

    fn next(&mut self) -> Option<Token<'s>> {
        let token = self.tokens.get(self.index).cloned();
        self.index += usize::from(token.is_some());
        token
    }

    /// The span of the next token, or an empty span at the end.
    fn here(&self) -> TextSpan {
        self.tokens
            .get(self.index)
            .map_or(TextSpan::new(self.source.len(), self.source.len()), |token| token.span)
    }

    /// The end of the last consumed token.
    fn last_end(&self) -> usize {
        self.index.checked_sub(1).and_then(|at| self.tokens.get(at)).map_or(0, |token| token.span.end)
    }

    fn unexpected(&self, expected: &str) -> Error {
        match self.tokens.get(self.index) {
            Some(token) => {
                Error::syntax(self.source, token.span, expected, token.tok.describe(self.source, token.span))
            }
            None => Error::syntax(self.source, self.here(), expected, "end of input"),
        }
    }

    fn expect(&mut self, tok: Tok<'static>, expected: &str) -> Result<(), Error> {
        if self.peek() == Some(&tok) {
            self.index += 1;
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn enter(&mut self) -> Result<(), Error> {
        if self.depth >= MAX_NESTING {
            return Err(self.unexpected(&format!("at most {MAX_NESTING} nested brackets or operators")));
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Counts one more operator or filter.
    fn node(&mut self, span: TextSpan) -> Result<(), Error> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Error::syntax(
                self.source,
                span,
                format!("a query of at most {MAX_NODES} operators"),
                "more",
            ));
        }
        Ok(())
    }

    // ---- spansets and pipelines -----------------------------------------------------------

    fn pipeline(&mut self) -> Result<Pipeline, Error> {
        let head = self.spanset_expr(0)?;
        let mut stages = Vec::new();
        while self.peek() == Some(&Tok::Pipe) {
            self.index += 1;
            let stage = self.stage()?;
            self.node(self.here())?;
            stages.push(stage);
        }
        Ok(Pipeline { head, stages })
    }

    /// Spanset operators by precedence climbing: loops for operators of one level, recursion
    /// only up the three levels, so a long chain costs no stack.
    fn spanset_expr(&mut self, min_precedence: u8) -> Result<SpansetExpr, Error> {
        let mut left = self.spanset_primary()?;
        while let Some(Tok::Sym(symbol)) = self.peek() {
            let Some(&(_, op)) = SpansetOp::ALL.iter().find(|(s, _)| s == symbol) else { break };
            if op.precedence() < min_precedence {
                break;
            }
            let span = self.here();
            self.index += 1;
            self.node(span)?;
            let right = self.spanset_expr(op.precedence() + 1)?;
            left = SpansetExpr::Binary { op, left: Box::new(left), right: Box::new(right) };
        }
        Ok(left)
    }

    fn spanset_primary(&mut self) -> Result<SpansetExpr, Error> {
        match self.peek() {
            Some(Tok::LBrace) => Ok(SpansetExpr::Filter(self.filter()?)),
            Some(Tok::LParen) => {
                self.enter()?;
                self.index += 1;
                let pipeline = self.pipeline()?;
                self.expect(Tok::RParen, "')' or '|'")?;
                self.leave();
                Ok(if pipeline.stages.is_empty() {
                    pipeline.head
                } else {
                    SpansetExpr::Group(Box::new(pipeline))
                })
            }
            _ => Err(self.unexpected("'{' or '(' to start a spanset")),
        }
    }

    /// `{ }` or `{ condition }`; the cursor is on `{`.
    fn filter(&mut self) -> Result<Option<Condition>, Error> {
        let open = self.here();
        self.index += 1;
        self.node(open)?;
        if self.peek() == Some(&Tok::RBrace) {
            self.index += 1;
            return Ok(None);
        }
        let parsed = self.expr(0, Mode::Field)?;
        self.check_condition(&parsed)?;
        self.expect(Tok::RBrace, "'}' or an operator")?;
        let mut per_event = false;
        let mut per_link = false;
        visit_fields(&parsed.expr, &mut |field| {
            per_event |= field.reads_event();
            per_link |= field.reads_link();
        });
        Ok(Some(Condition { expr: parsed.expr, per_event, per_link }))
    }

    fn stage(&mut self) -> Result<Stage, Error> {
        if self.peek() == Some(&Tok::LBrace) {
            return Ok(Stage::Filter(self.filter()?));
        }
        let word = match (self.peek(), self.peek_at(1)) {
            (Some(Tok::Word(word)), Some(Tok::LParen)) => *word,
            _ => {
                let parsed = self.expr(0, Mode::Scalar)?;
                self.check_condition(&parsed)?;
                return Ok(Stage::Scalar(parsed.expr));
            }
        };
        match word {
            "by" | "select" => {
                self.index += 2;
                let mut fields = vec![self.expr(0, Mode::Field)?.expr];
                while self.peek() == Some(&Tok::Comma) {
                    self.index += 1;
                    fields.push(self.expr(0, Mode::Field)?.expr);
                }
                self.expect(Tok::RParen, "',' or ')'")?;
                Ok(if word == "by" { Stage::By(fields) } else { Stage::Select(fields) })
            }
            "coalesce" => {
                self.index += 2;
                self.expect(Tok::RParen, "')' after 'coalesce('")?;
                Ok(Stage::Coalesce)
            }
            _ => {
                let parsed = self.expr(0, Mode::Scalar)?;
                self.check_condition(&parsed)?;
                Ok(Stage::Scalar(parsed.expr))
            }
        }
    }

    /// `with (name = value, ...)` query hints at the end: accepted and ignored, as they only
    /// steer how Tempo searches its blocks.
    fn hints(&mut self) -> Result<(), Error> {
        if !matches!((self.peek(), self.peek_at(1)), (Some(Tok::Word("with")), Some(Tok::LParen))) {
            return Ok(());
        }
        self.index += 2;
        loop {
            match self.next().map(|token| token.tok) {
                Some(Tok::Word(_)) => {}
                _ => {
                    self.index -= 1;
                    return Err(self.unexpected("a hint name"));
                }
            }
            self.expect(Tok::Sym("="), "'=' after the hint name")?;
            match self.next().map(|token| token.tok) {
                Some(Tok::Word(_) | Tok::Int(_) | Tok::Float(_) | Tok::Duration(_) | Tok::Str(_)) => {}
                _ => {
                    self.index -= 1;
                    return Err(self.unexpected("a hint value"));
                }
            }
            match self.next().map(|token| token.tok) {
                Some(Tok::Comma) => {}
                Some(Tok::RParen) => return Ok(()),
                _ => {
                    self.index -= 1;
                    return Err(self.unexpected("',' or ')'"));
                }
            }
        }
    }

    // ---- field and scalar expressions ----------------------------------------------------

    /// A condition is something true or false on a span: a comparison, a logical operator,
    /// a boolean, or an attribute (which Tempo compares to `true`).
    fn check_condition(&self, parsed: &Parsed) -> Result<(), Error> {
        match parsed.ty {
            None | Some(Type::Bool) if !matches!(parsed.expr, Expr::Literal(Literal::Nil)) => Ok(()),
            _ => Err(Error::syntax(
                self.source,
                parsed.span,
                "a condition (a comparison, && ||, or a boolean)",
                found_text(self.source, parsed),
            )),
        }
    }

    /// Binary operators by precedence climbing (see [`Parser::spanset_expr`]).
    fn expr(&mut self, min_precedence: u8, mode: Mode) -> Result<Parsed, Error> {
        let mut left = self.unary(mode)?;
        while let Some(&Tok::Sym(symbol)) = self.peek() {
            if symbol == "=~" || symbol == "!~" {
                if 3 < min_precedence {
                    break;
                }
                left = self.regex(left, symbol == "!~")?;
                continue;
            }
            let Some(&(_, op, precedence)) = BinaryOp::ALL.iter().find(|(s, _, _)| *s == symbol) else {
                break;
            };
            if precedence < min_precedence {
                break;
            }
            let op_span = self.here();
            if op == BinaryOp::Pow {
                // Right-associative: `2^3^2` is `2^(3^2)`, and each level costs stack.
                self.enter()?;
            }
            self.index += 1;
            self.node(op_span)?;
            let right = if op == BinaryOp::Pow {
                let right = self.expr(precedence, mode)?;
                self.leave();
                right
            } else {
                self.expr(precedence + 1, mode)?
            };
            left = self.binary(op, symbol, left, right)?;
        }
        Ok(left)
    }

    /// Checks and builds `left op right`.
    fn binary(&self, op: BinaryOp, symbol: &str, left: Parsed, right: Parsed) -> Result<Parsed, Error> {
        let span = TextSpan::new(left.span.start, right.span.end);
        let mismatch = |expected: String, culprit: &Parsed| {
            Error::syntax(self.source, culprit.span, expected, found_text(self.source, culprit))
        };
        let ty = if op.is_logical() {
            self.check_condition(&left)?;
            self.check_condition(&right)?;
            Some(Type::Bool)
        } else if op.is_comparison() {
            let is_nil = |parsed: &Parsed| matches!(parsed.expr, Expr::Literal(Literal::Nil));
            if matches!(op, BinaryOp::Eq | BinaryOp::Ne) && (is_nil(&left) || is_nil(&right)) {
                let (value, _) = if is_nil(&right) { (left, right) } else { (right, left) };
                let expr = Expr::IsNil { negated: op == BinaryOp::Ne, expr: Box::new(value.expr) };
                return Ok(Parsed { expr, span, ty: Some(Type::Bool) });
            }
            if is_nil(&left) || is_nil(&right) {
                let culprit = if is_nil(&left) { &left } else { &right };
                return Err(mismatch(format!("'=' or '!=' with nil, not '{symbol}'"), culprit));
            }
            if let (Some(left_ty), Some(right_ty)) = (left.ty, right.ty) {
                if !left_ty.comparable(right_ty) {
                    return Err(mismatch(format!("{} after '{symbol}'", left_ty.describe()), &right));
                }
            }
            if !matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
                for side in [&left, &right] {
                    if let Some(ty @ (Type::Bool | Type::Status | Type::Kind)) = side.ty {
                        return Err(mismatch(format!("'=' or '!=' with {}", ty.describe()), side));
                    }
                }
            }
            Some(Type::Bool)
        } else {
            for side in [&left, &right] {
                if side.ty.is_some_and(|ty| !ty.is_numeric()) {
                    return Err(mismatch(format!("a number or duration for '{symbol}'"), side));
                }
            }
            match (left.ty, right.ty) {
                (Some(Type::Duration), _) | (_, Some(Type::Duration)) => Some(Type::Duration),
                (Some(Type::Float), _) | (_, Some(Type::Float)) => Some(Type::Float),
                (Some(Type::Int), Some(Type::Int)) => Some(Type::Int),
                _ => None,
            }
        };
        let expr = Expr::Binary { op, left: Box::new(left.expr), right: Box::new(right.expr) };
        Ok(Parsed { expr, span, ty })
    }

    /// `left =~ "pattern"`; the cursor is on the operator.
    fn regex(&mut self, left: Parsed, negated: bool) -> Result<Parsed, Error> {
        let op_span = self.here();
        self.index += 1;
        self.node(op_span)?;
        if let Some(ty) = left.ty.filter(|&ty| ty != Type::Str) {
            return Err(Error::syntax(
                self.source,
                left.span,
                "a string field before a regular expression operator",
                ty.describe(),
            ));
        }
        let Some(Token { tok: Tok::Str(pattern), span }) = self.tokens.get(self.index).cloned() else {
            return Err(self.unexpected("a string (the regular expression)"));
        };
        self.index += 1;
        let compile = |pattern: &str| RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build();
        let invalid = |error: regex::Error| {
            let message = error.to_string();
            let reason = message.lines().last().unwrap_or("invalid").trim().to_string();
            Error::syntax(self.source, span, "a valid regular expression", format!("{reason:?}"))
        };
        // The pattern must stand on its own first: wrapped unchecked, `a)|(b` would compile
        // to an unanchored alternation.
        compile(&pattern).map_err(invalid)?;
        // Tempo treats every regular expression as anchored at both ends.
        let regex = compile(&format!("^(?:{pattern})$")).map_err(invalid)?;
        let span = TextSpan::new(left.span.start, span.end);
        let expr = Expr::Regex { negated, left: Box::new(left.expr), pattern: Pattern(Arc::new(regex)) };
        Ok(Parsed { expr, span, ty: Some(Type::Bool) })
    }

    fn unary(&mut self, mode: Mode) -> Result<Parsed, Error> {
        let start = self.here();
        let negate = match self.peek() {
            Some(Tok::Sym("!")) => false,
            Some(Tok::Sym("-")) => true,
            _ => return self.primary(mode),
        };
        self.enter()?;
        self.index += 1;
        self.node(start)?;
        // Unary operators bind tighter than any binary one but `^`: `-2^2` is `-(2^2)`.
        let operand = self.expr(6, mode)?;
        self.leave();
        let span = TextSpan::new(start.start, operand.span.end);
        if negate {
            // A negative literal is a literal, so that `-5` still reads as an integer.
            let literal = match &operand.expr {
                Expr::Literal(Literal::Int(n)) => n.checked_neg().map(Literal::Int),
                Expr::Literal(Literal::Float(x)) => Some(Literal::Float(-x)),
                Expr::Literal(Literal::Duration(n)) => n.checked_neg().map(Literal::Duration),
                _ => None,
            };
            if let Some(literal) = literal {
                return Ok(Parsed { expr: Expr::Literal(literal), span, ty: operand.ty });
            }
            if operand.ty.is_some_and(|ty| !ty.is_numeric()) {
                return Err(Error::syntax(
                    self.source,
                    operand.span,
                    "a number or duration after '-'",
                    found_text(self.source, &operand),
                ));
            }
            Ok(Parsed { expr: Expr::Negate(Box::new(operand.expr)), span, ty: operand.ty })
        } else {
            self.check_condition(&operand)?;
            Ok(Parsed { expr: Expr::Not(Box::new(operand.expr)), span, ty: Some(Type::Bool) })
        }
    }

    fn primary(&mut self, mode: Mode) -> Result<Parsed, Error> {
        let Some(token) = self.tokens.get(self.index).cloned() else {
            return Err(self.unexpected("a field, a value or '('"));
        };
        let span = token.span;
        let literal =
            |literal: Literal, ty: Option<Type>| Ok(Parsed { expr: Expr::Literal(literal), span, ty });
        match token.tok {
            Tok::Int(n) => {
                self.index += 1;
                literal(Literal::Int(n), Some(Type::Int))
            }
            Tok::Float(x) => {
                self.index += 1;
                literal(Literal::Float(x), Some(Type::Float))
            }
            Tok::Duration(n) => {
                self.index += 1;
                literal(Literal::Duration(n), Some(Type::Duration))
            }
            Tok::Str(text) => {
                self.index += 1;
                literal(Literal::Str(text), Some(Type::Str))
            }
            Tok::LParen => {
                self.enter()?;
                self.index += 1;
                let inner = self.expr(0, mode)?;
                self.expect(Tok::RParen, "')' or an operator")?;
                self.leave();
                let span = TextSpan::new(span.start, self.last_end());
                Ok(Parsed { span, ..inner })
            }
            Tok::Word(word) if self.peek_at(1) == Some(&Tok::LParen) => self.call(word, span, mode),
            Tok::Word(word) => {
                if let Some((_, value)) = KEYWORD_VALUES.iter().find(|(name, _)| *name == word) {
                    self.index += 1;
                    let ty = match value {
                        Literal::Nil => None,
                        Literal::Bool(_) => Some(Type::Bool),
                        Literal::Int(_) => Some(Type::Int),
                        Literal::Status(_) => Some(Type::Status),
                        Literal::Kind(_) => Some(Type::Kind),
                        Literal::Float(_) | Literal::Duration(_) | Literal::Str(_) => None,
                    };
                    return literal(value.clone(), ty);
                }
                match intrinsic(word) {
                    Some((intrinsic, ty)) => self.field(Field::Intrinsic(intrinsic), Some(ty), span, mode),
                    None => Err(Error::syntax(
                        self.source,
                        span,
                        "a field (span.x, resource.x, .x, name, status, kind, duration, ...) or a value",
                        format!("'{word}'"),
                    )),
                }
            }
            Tok::Intrinsic { scope, name } => {
                let spelling = format!("{scope}:{name}");
                match intrinsic(&spelling) {
                    Some((intrinsic, ty)) => self.field(Field::Intrinsic(intrinsic), Some(ty), span, mode),
                    None => Err(Error::syntax(
                        self.source,
                        span,
                        "an intrinsic (span:name, span:status, trace:duration, event:name, link:traceID, ...)",
                        format!("'{spelling}'"),
                    )),
                }
            }
            Tok::Attribute { scope, name } => {
                let Some(attribute_scope) = AttributeScope::from_keyword(scope) else {
                    return Err(Error::syntax(
                        self.source,
                        span,
                        "an intrinsic after 'trace' (trace:id, trace:duration, trace:rootName, ...)",
                        format!("'{}'", &self.source[span.start..span.end]),
                    ));
                };
                // Meta attributes (`tracetest.span.type`) are the span's, as in selectors.
                let meta = match attribute_scope {
                    AttributeScope::Unscoped | AttributeScope::Span => MetaKey::from_name(&name),
                    _ => None,
                };
                self.field(Field::Attribute { scope: attribute_scope, name, meta }, None, span, mode)
            }
            _ => Err(self.unexpected("a field, a value or '('")),
        }
    }

    fn field(&mut self, field: Field, ty: Option<Type>, span: TextSpan, mode: Mode) -> Result<Parsed, Error> {
        if mode == Mode::Scalar {
            return Err(Error::syntax(
                self.source,
                span,
                "an aggregate (count(), avg(...), min(...), max(...), sum(...)) or a value",
                format!("'{}'", &self.source[span.start..span.end]),
            ));
        }
        self.index += 1;
        Ok(Parsed { expr: Expr::Field(field), span, ty })
    }

    /// `name(...)`: an aggregate in a scalar stage; a metrics function is refused.
    fn call(&mut self, name: &str, span: TextSpan, mode: Mode) -> Result<Parsed, Error> {
        if is_metrics_function(name) {
            return Err(Error::syntax(
                self.source,
                span,
                "a search query (TraceQL metrics are not supported here)",
                format!("metrics function '{name}'"),
            ));
        }
        let Some(&(_, kind)) = AggregateKind::ALL.iter().find(|(spelling, _)| *spelling == name) else {
            return Err(Error::syntax(
                self.source,
                span,
                "count, avg, min, max, sum, by, select or coalesce",
                format!("'{name}'"),
            ));
        };
        if mode == Mode::Field {
            return Err(Error::syntax(
                self.source,
                span,
                "a field or a value (aggregates go after '|')",
                format!("'{name}('"),
            ));
        }
        self.index += 2;
        self.node(span)?;
        let (arg, ty) = if kind == AggregateKind::Count {
            (None, Some(Type::Int))
        } else {
            let arg = self.expr(0, Mode::Field)?;
            if let Some(ty) = arg.ty.filter(|ty| !ty.is_numeric()) {
                return Err(Error::syntax(self.source, arg.span, "a numeric field", ty.describe()));
            }
            let ty = match (kind, arg.ty) {
                (AggregateKind::Avg, Some(Type::Int)) => Some(Type::Float),
                (_, ty) => ty,
            };
            (Some(Box::new(arg.expr)), ty)
        };
        self.expect(Tok::RParen, if arg.is_none() { "')' after 'count('" } else { "')'" })?;
        let span = TextSpan::new(span.start, self.last_end());
        Ok(Parsed { expr: Expr::Aggregate { kind, arg }, span, ty })
    }
}

/// The text of a parsed operand, quoted, for "found ...".
fn found_text(source: &str, parsed: &Parsed) -> String {
    let text = &source[parsed.span.start..parsed.span.end];
    match parsed.ty {
        Some(ty) if text.len() > 40 => ty.describe().to_string(),
        Some(ty) => format!("'{text}' ({})", ty.describe()),
        None => format!("'{text}'"),
    }
}

/// Calls `visit` on every field of `expr`.
pub(super) fn visit_fields(expr: &Expr, visit: &mut impl FnMut(&Field)) {
    match expr {
        Expr::Literal(_) => {}
        Expr::Field(field) => visit(field),
        Expr::Not(inner) | Expr::Negate(inner) | Expr::IsNil { expr: inner, .. } => {
            visit_fields(inner, visit)
        }
        Expr::Regex { left, .. } => visit_fields(left, visit),
        Expr::Binary { left, right, .. } => {
            visit_fields(left, visit);
            visit_fields(right, visit);
        }
        Expr::Aggregate { arg, .. } => {
            if let Some(arg) = arg {
                visit_fields(arg, visit);
            }
        }
    }
}
