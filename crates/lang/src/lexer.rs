//! Tokens of the expression language (reference 8.1), as slices of the source with their
//! byte ranges. Rules are tried in the reference's order at each position, so `contains`
//! is a comparator before it could be an identifier and `200 ms` is one duration.

use super::compare::{ArithOp, Comparator};
use super::value::DurationUnit;
use super::{Error, TextSpan};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Tok<'s> {
    LParen,
    RParen,
    Comma,
    Pipe,
    LBracket,
    RBracket,
    Cmp(Comparator),
    Op(ArithOp),
    /// `number` is the digits before the unit.
    Duration {
        number: &'s str,
        unit: DurationUnit,
    },
    Number(&'s str),
    Attr(&'s str),
    Env(&'s str),
    Var(&'s str),
    /// `raw` is the text between the quotes, escapes kept.
    Str {
        raw: &'s str,
        quote: char,
    },
    Ident(&'s str),
}

impl Tok<'_> {
    /// How the token is named in "found ..." messages.
    pub(crate) fn describe(&self, source: &str, span: TextSpan) -> String {
        match self {
            Tok::Str { .. } => "a string".to_string(),
            _ => format!("'{}'", &source[span.start..span.end]),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Token<'s> {
    pub tok: Tok<'s>,
    pub span: TextSpan,
}

pub(crate) fn tokenize(source: &str) -> Result<Vec<Token<'_>>, Error> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &source[at..];
        let first = rest.chars().next().unwrap_or(' ');
        if first.is_whitespace() {
            at += first.len_utf8();
            continue;
        }
        let (tok, len) = match first {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ',' => (Tok::Comma, 1),
            '|' => (Tok::Pipe, 1),
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            _ => {
                if let Some(comparator) = Comparator::ALL.into_iter().find(|c| rest.starts_with(c.symbol())) {
                    (Tok::Cmp(comparator), comparator.symbol().len())
                } else if let Some(op) = ArithOp::ALL.into_iter().find(|op| first == op.symbol()) {
                    (Tok::Op(op), 1)
                } else if first.is_ascii_digit() {
                    number_or_duration(rest)
                } else if let Some(token) = reference(rest) {
                    token
                } else if first == '"' || first == '\'' {
                    match string(rest, first) {
                        Some(token) => token,
                        None => {
                            return Err(Error::syntax(
                                source,
                                TextSpan::new(at, source.len()),
                                format!("a closing {first}"),
                                "end of input",
                            ))
                        }
                    }
                } else if first.is_ascii_alphabetic() {
                    let len =
                        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
                    (Tok::Ident(&rest[..len]), len)
                } else {
                    return Err(Error::syntax(
                        source,
                        TextSpan::new(at, at + first.len_utf8()),
                        "a value, operator or comparator",
                        format!("'{first}'"),
                    ));
                }
            }
        };
        tokens.push(Token { tok, span: TextSpan::new(at, at + len) });
        at += len;
    }
    Ok(tokens)
}

fn digits_len(text: &str) -> usize {
    text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len())
}

/// `DIGITS[.DIGITS]`, then optionally one space and a duration unit.
fn number_or_duration(rest: &str) -> (Tok<'_>, usize) {
    let mut len = digits_len(rest);
    if rest[len..].starts_with('.') {
        let fraction = digits_len(&rest[len + 1..]);
        if fraction > 0 {
            len += 1 + fraction;
        }
    }
    let number = &rest[..len];
    let after = &rest[len..];
    let (space, after_space) = match after.strip_prefix(' ') {
        Some(stripped) => (1, stripped),
        None => (0, after),
    };
    match DurationUnit::ALL.into_iter().find(|unit| after_space.starts_with(unit.symbol())) {
        Some(unit) => (Tok::Duration { number, unit }, len + space + unit.symbol().len()),
        None => (Tok::Number(number), len),
    }
}

/// `attr:NAME`, `env:NAME`, `var:NAME`.
fn reference<'s>(rest: &'s str) -> Option<(Tok<'s>, usize)> {
    let (prefix, allow_dash, make): (&str, bool, fn(&'s str) -> Tok<'s>) = if rest.starts_with("attr:") {
        ("attr:", true, Tok::Attr)
    } else if rest.starts_with("env:") {
        ("env:", false, Tok::Env)
    } else if rest.starts_with("var:") {
        ("var:", false, Tok::Var)
    } else {
        return None;
    };
    let name_text = &rest[prefix.len()..];
    let first_ok = name_text.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok {
        return None;
    }
    let name_len = name_text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || (allow_dash && c == '-')))
        .unwrap_or(name_text.len());
    Some((make(&name_text[..name_len]), prefix.len() + name_len))
}

/// A quoted string; a backslash escapes the same quote. `None` when unterminated.
fn string(rest: &str, quote: char) -> Option<(Tok<'_>, usize)> {
    let body = &rest[1..];
    let mut chars = body.char_indices();
    while let Some((index, c)) = chars.next() {
        if c == '\\' {
            if body[index + 1..].starts_with(quote) {
                chars.next();
            }
        } else if c == quote {
            return Some((Tok::Str { raw: &body[..index], quote }, index + 2));
        }
    }
    None
}
