//! TraceQL tokens as slices of the query with their byte ranges.
//!
//! Attribute references are lexed whole (`span.http.status_code`, `.foo`,
//! `resource."with space"`), because whether a `.` or `-` belongs to a name depends on what
//! came before it, and the parser should not have to glue names back together.

use crate::{Error, TextSpan};

/// The longest query accepted, in bytes: a query is written by hand in a test file, and a
/// bound keeps the work of a hostile one proportional to something small.
pub(super) const MAX_QUERY_LEN: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok<'s> {
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Pipe,
    /// A symbol: comparison, arithmetic, logical or spanset operator, longest first.
    Sym(&'static str),
    Int(i64),
    Float(f64),
    /// Nanoseconds.
    Duration(i64),
    /// The unescaped content of a `"..."` or `` `...` `` string.
    Str(String),
    /// A bare word: keyword, enum value, function name or unscoped intrinsic.
    Word(&'s str),
    /// `scope:name`: a scoped intrinsic.
    Intrinsic {
        scope: &'s str,
        name: &'s str,
    },
    /// `scope.name` or `.name` (`scope` empty): an attribute, quoted parts unquoted.
    Attribute {
        scope: &'s str,
        name: String,
    },
}

#[derive(Clone, Debug)]
pub(super) struct Token<'s> {
    pub tok: Tok<'s>,
    pub span: TextSpan,
}

/// Symbols, longest first so that `>>` is not read as two `>`.
const SYMBOLS: [&str; 28] = [
    "&>>", "&<<", "!>>", "!<<", "&&", "||", "!=", "=~", "!~", ">=", "<=", ">>", "<<", "&>", "&<", "&~", "!>",
    "!<", "=", "!", ">", "<", "~", "+", "-", "*", "/", "%",
];

/// The scopes an attribute or intrinsic name may start with.
const SCOPES: [&str; 6] = ["span", "resource", "event", "link", "instrumentation", "trace"];

/// Characters that end an unquoted attribute name: operators, brackets, quotes and spaces.
fn ends_attribute(c: char) -> bool {
    c.is_whitespace() || "{}()=~!<>&|^,\"`+*%".contains(c)
}

pub(super) fn tokenize(source: &str) -> Result<Vec<Token<'_>>, Error> {
    if source.len() > MAX_QUERY_LEN {
        return Err(Error::syntax(
            source,
            TextSpan::new(MAX_QUERY_LEN, source.len()),
            format!("a query of at most {MAX_QUERY_LEN} bytes"),
            format!("{} bytes", source.len()),
        ));
    }
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(first) = source[at..].chars().next() {
        if first.is_whitespace() {
            at += first.len_utf8();
            continue;
        }
        let rest = &source[at..];
        let (tok, len) = match first {
            '{' => (Tok::LBrace, 1),
            '}' => (Tok::RBrace, 1),
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ',' => (Tok::Comma, 1),
            '^' => (Tok::Sym("^"), 1),
            '|' if !rest.starts_with("||") => (Tok::Pipe, 1),
            '"' | '`' => {
                let (text, len) = string(source, at)?;
                (Tok::Str(text), len)
            }
            '.' => {
                let (name, len) = attribute_name(source, at + 1)?;
                (Tok::Attribute { scope: "", name }, 1 + len)
            }
            c if c.is_ascii_digit() => number(source, at)?,
            c if c.is_alphabetic() || c == '_' => {
                let word_len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
                let word = &rest[..word_len];
                let after = &rest[word_len..];
                if SCOPES.contains(&word) && after.starts_with('.') {
                    let (name, len) = attribute_name(source, at + word_len + 1)?;
                    (Tok::Attribute { scope: word, name }, word_len + 1 + len)
                } else if after.starts_with(':') && !after.starts_with(":=") {
                    let name_len = after[1..]
                        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap_or(after.len() - 1);
                    (Tok::Intrinsic { scope: word, name: &after[1..1 + name_len] }, word_len + 1 + name_len)
                } else {
                    (Tok::Word(word), word_len)
                }
            }
            _ => match SYMBOLS.iter().find(|symbol| rest.starts_with(**symbol)) {
                Some(symbol) => (Tok::Sym(symbol), symbol.len()),
                None => {
                    return Err(Error::syntax(
                        source,
                        TextSpan::new(at, at + first.len_utf8()),
                        "a TraceQL token",
                        format!("'{first}'"),
                    ))
                }
            },
        };
        tokens.push(Token { tok, span: TextSpan::new(at, at + len) });
        at += len;
    }
    Ok(tokens)
}

/// An attribute name starting at byte `start`: unquoted runs and `"quoted"` parts, joined.
/// Returns the name and its length in bytes.
fn attribute_name(source: &str, start: usize) -> Result<(String, usize), Error> {
    let mut name = String::new();
    let mut at = start;
    loop {
        let rest = &source[at..];
        if rest.starts_with('"') {
            let (part, len) = quoted_name(source, at)?;
            name.push_str(&part);
            at += len;
        } else {
            let len = rest.find(ends_attribute).unwrap_or(rest.len());
            if len == 0 {
                break;
            }
            name.push_str(&rest[..len]);
            at += len;
        }
    }
    if name.is_empty() {
        let found = source[at..].chars().next().map_or("end of input".to_string(), |c| format!("'{c}'"));
        return Err(Error::syntax(source, TextSpan::new(start, at), "an attribute name after '.'", found));
    }
    Ok((name, at - start))
}

/// A quoted part of an attribute name: only `\"` and `\\` are escapes (as Tempo documents).
fn quoted_name(source: &str, open: usize) -> Result<(String, usize), Error> {
    let mut text = String::new();
    let mut chars = source[open + 1..].char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Ok((text, index + 2)),
            '\\' => match chars.next() {
                Some((_, escaped @ ('"' | '\\'))) => text.push(escaped),
                other => {
                    let end = open + 1 + other.map_or(source.len() - open - 1, |(i, c)| i + c.len_utf8());
                    return Err(Error::syntax(
                        source,
                        TextSpan::new(open + 1 + index, end),
                        "\\\" or \\\\ in a quoted attribute name",
                        other.map_or("end of input".to_string(), |(_, c)| format!("'\\{c}'")),
                    ));
                }
            },
            c => text.push(c),
        }
    }
    Err(Error::syntax(source, TextSpan::new(open, source.len()), "a closing '\"'", "end of input"))
}

/// A string literal: `"..."` with Go's common escapes, or a raw `` `...` `` (handy for
/// regular expressions, whose backslashes then need no doubling).
fn string(source: &str, open: usize) -> Result<(String, usize), Error> {
    let quote = if source[open..].starts_with('`') { '`' } else { '"' };
    let mut text = String::new();
    let mut chars = source[open + 1..].char_indices();
    while let Some((index, c)) = chars.next() {
        if c == quote {
            return Ok((text, index + 2));
        }
        if c != '\\' || quote == '`' {
            text.push(c);
            continue;
        }
        let escaped = chars.next();
        let simple = match escaped {
            Some((_, 'n')) => Some('\n'),
            Some((_, 't')) => Some('\t'),
            Some((_, 'r')) => Some('\r'),
            Some((_, '"')) => Some('"'),
            Some((_, '\\')) => Some('\\'),
            _ => None,
        };
        match simple {
            Some(c) => text.push(c),
            None => {
                let end = escaped.map_or(source.len(), |(i, c)| open + 1 + i + c.len_utf8());
                return Err(Error::syntax(
                    source,
                    TextSpan::new(open + 1 + index, end),
                    "an escape sequence (\\\" \\\\ \\n \\t \\r)",
                    escaped.map_or("end of input".to_string(), |(_, c)| format!("'\\{c}'")),
                ));
            }
        }
    }
    Err(Error::syntax(
        source,
        TextSpan::new(open, source.len()),
        format!("a closing {quote}"),
        "end of input",
    ))
}

/// Duration units, longest first so that `ms` is not read as `m`.
const DURATION_UNITS: [(&str, f64); 7] =
    [("ns", 1.0), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)];

/// `DIGITS[.DIGITS][unit]`: an integer, a float or a duration.
fn number(source: &str, start: usize) -> Result<(Tok<'static>, usize), Error> {
    let rest = &source[start..];
    let digits = |text: &str| text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let mut len = digits(rest);
    let mut is_float = false;
    if let Some(after_dot) = rest[len..].strip_prefix('.') {
        let fraction = digits(after_dot);
        if fraction > 0 {
            len += 1 + fraction;
            is_float = true;
        }
    }
    let text = &rest[..len];
    let after = &rest[len..];
    let unit = DURATION_UNITS.iter().find(|(unit, _)| {
        after.starts_with(unit) && !after[unit.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
    });
    let bad = |expected: &str| {
        Error::syntax(source, TextSpan::new(start, start + len), expected, format!("'{text}'"))
    };
    if let Some((unit, nanos_per_unit)) = unit {
        let value = text.parse::<f64>().map_err(|_| bad("a number"))? * nanos_per_unit;
        if !(value.is_finite() && value.abs() < i64::MAX as f64) {
            return Err(bad("a duration that fits 64 bits of nanoseconds"));
        }
        return Ok((Tok::Duration(value.round() as i64), len + unit.len()));
    }
    if after.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        let word_len = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
        return Err(Error::syntax(
            source,
            TextSpan::new(start + len, start + len + word_len),
            "a duration unit (ns, us, ms, s, m, h) or an operator after a number",
            format!("'{}'", &after[..word_len]),
        ));
    }
    if is_float {
        let value = text.parse::<f64>().map_err(|_| bad("a number"))?;
        if !value.is_finite() {
            return Err(bad("a smaller number"));
        }
        Ok((Tok::Float(value), len))
    } else {
        let value = text.parse::<i64>().map_err(|_| bad("an integer that fits 64 bits"))?;
        Ok((Tok::Int(value), len))
    }
}

impl Tok<'_> {
    /// How the token is named in "found ..." messages.
    pub(super) fn describe(&self, source: &str, span: TextSpan) -> String {
        match self {
            Tok::Str(_) => "a string".to_string(),
            _ => format!("'{}'", &source[span.start..span.end]),
        }
    }
}
