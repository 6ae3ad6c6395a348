//! The selector parser: text to [`Selector`], with the column of every syntax error.

use super::{Chain, Filter, PropertyKey, PseudoClass, Selector, SelectorOp, SelectorValue, SpanSelector};
use crate::{Error, TextSpan};

/// Parses a whole selector (see [`Selector::parse`]).
pub(super) fn parse(source: &str) -> Result<Selector, Error> {
    SelectorParser { source, at: 0 }.selector()
}

/// How many `span[...]` parts one chain may have: selection recurses once per part, and
/// real selectors have a handful.
const MAX_CHAIN_PARTS: usize = 64;

struct SelectorParser<'s> {
    source: &'s str,
    at: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl SelectorParser<'_> {
    fn rest(&self) -> &str {
        &self.source[self.at..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_whitespace(&mut self) {
        let trimmed = self.rest().trim_start();
        self.at = self.source.len() - trimmed.len();
    }

    fn eat(&mut self, text: &str) -> bool {
        if self.rest().starts_with(text) {
            self.at += text.len();
            true
        } else {
            false
        }
    }

    /// A word of identifier characters at the cursor, if any.
    fn word(&self) -> &str {
        let rest = self.rest();
        let len = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
        &rest[..len]
    }

    /// What is at the cursor, for "found ...".
    fn found(&self) -> (String, TextSpan) {
        let word = self.word();
        match self.peek() {
            None => ("end of input".to_string(), TextSpan::new(self.at, self.at)),
            Some(_) if !word.is_empty() => {
                (format!("'{word}'"), TextSpan::new(self.at, self.at + word.len()))
            }
            Some('"') => ("a string".to_string(), TextSpan::new(self.at, self.at + 1)),
            Some(c) => (format!("'{c}'"), TextSpan::new(self.at, self.at + c.len_utf8())),
        }
    }

    fn expected(&self, expected: impl Into<String>) -> Error {
        let (found, span) = self.found();
        Error::syntax(self.source, span, expected, found)
    }

    fn selector(&mut self) -> Result<Selector, Error> {
        self.skip_whitespace();
        if self.peek().is_none() {
            return Ok(Selector::default());
        }
        let mut alternatives = vec![Chain { parts: vec![self.span_selector()?] }];
        loop {
            self.skip_whitespace();
            match self.peek() {
                None => return Ok(Selector { alternatives, ..Selector::default() }),
                Some(',') => {
                    self.at += 1;
                    self.skip_whitespace();
                    alternatives.push(Chain { parts: vec![self.span_selector()?] });
                }
                Some(_) if self.word() == "span" => {
                    if alternatives.last().is_some_and(|chain| chain.parts.len() >= MAX_CHAIN_PARTS) {
                        return Err(self.expected(format!("at most {MAX_CHAIN_PARTS} parts in a chain")));
                    }
                    let part = self.span_selector()?;
                    if let Some(chain) = alternatives.last_mut() {
                        chain.parts.push(part);
                    }
                }
                Some(_) => return Err(self.expected("'span', ',' or the end of the selector")),
            }
        }
    }

    fn span_selector(&mut self) -> Result<SpanSelector, Error> {
        if self.word() != "span" {
            return Err(self.expected("'span'"));
        }
        self.at += "span".len();
        self.skip_whitespace();
        if !self.eat("[") {
            return Err(self.expected("'[' after 'span'"));
        }
        let mut filters = Vec::new();
        let mut after_comma = false;
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some(']') if !after_comma => {
                    self.at += 1;
                    break;
                }
                Some(c) if is_ident_start(c) => {
                    filters.push(self.filter()?);
                    self.skip_whitespace();
                    after_comma = self.eat(",");
                }
                _ if after_comma => return Err(self.expected("a filter after ','")),
                _ => return Err(self.expected("a filter (property = value) or ']'")),
            }
        }
        let mut pseudo = None;
        loop {
            self.skip_whitespace();
            if !self.eat(":") {
                break;
            }
            self.skip_whitespace();
            pseudo = Some(self.pseudo()?);
        }
        Ok(SpanSelector { filters, pseudo })
    }

    fn pseudo(&mut self) -> Result<PseudoClass, Error> {
        let expected = "a pseudo-class after ':' (first, last or nth_child(n))";
        match self.word() {
            "first" => {
                self.at += "first".len();
                Ok(PseudoClass::First)
            }
            "last" => {
                self.at += "last".len();
                Ok(PseudoClass::Last)
            }
            "nth_child" => {
                self.at += "nth_child".len();
                self.skip_whitespace();
                if !self.eat("(") {
                    return Err(self.expected("'(' and a position after 'nth_child'"));
                }
                self.skip_whitespace();
                let start = self.at;
                let digits = self.rest().find(|c: char| !c.is_ascii_digit()).unwrap_or(self.rest().len());
                if digits == 0 {
                    return Err(self.expected("a position (an unsigned integer) in 'nth_child(...)'"));
                }
                self.at += digits;
                let position = self.source[start..self.at].parse::<u64>().map_err(|_| {
                    Error::syntax(
                        self.source,
                        TextSpan::new(start, self.at),
                        "a smaller position",
                        "a number too large",
                    )
                })?;
                self.skip_whitespace();
                if !self.eat(")") {
                    return Err(self.expected("')' after the position"));
                }
                Ok(PseudoClass::NthChild(position))
            }
            _ => Err(self.expected(expected)),
        }
    }

    fn filter(&mut self) -> Result<Filter, Error> {
        let property_start = self.at;
        loop {
            let word = self.word();
            if word.is_empty() || !word.starts_with(is_ident_start) {
                return Err(self.expected("an attribute name segment (a letter or '_' first)"));
            }
            self.at += word.len();
            if !self.eat(".") {
                break;
            }
        }
        let property = self.source[property_start..self.at].to_string();
        self.skip_whitespace();
        let op = if self.eat("=") {
            SelectorOp::Eq
        } else if self.word() == "contains" {
            self.at += "contains".len();
            SelectorOp::Contains
        } else {
            return Err(self.expected(format!("'=' or 'contains' after '{property}'")));
        };
        self.skip_whitespace();
        let value = self.value(op)?;
        let text = match &value {
            SelectorValue::Str(text) => text.clone(),
            SelectorValue::Int(digits) => match digits.parse::<i64>() {
                Ok(number) => number.to_string(),
                Err(_) => {
                    let span = TextSpan::new(self.at - digits.len(), self.at);
                    return Err(Error::syntax(
                        self.source,
                        span,
                        "an integer that fits 64 bits",
                        format!("'{digits}'"),
                    ));
                }
            },
            SelectorValue::Float(digits) => match digits.parse::<f64>() {
                Ok(number) if number.is_finite() => format!("{number:.2}"),
                _ => {
                    let span = TextSpan::new(self.at - digits.len(), self.at);
                    return Err(Error::syntax(self.source, span, "a smaller number", format!("'{digits}'")));
                }
            },
            SelectorValue::Bool(flag) => flag.to_string(),
        };
        let key = PropertyKey::of(&property);
        Ok(Filter { property, op, value, text, key })
    }

    fn value(&mut self, op: SelectorOp) -> Result<SelectorValue, Error> {
        let expected = || format!("a value after '{}' (a \"string\", a number, true or false)", op.symbol());
        match self.peek() {
            Some('"') => self.string().map(SelectorValue::Str),
            Some(c) if c.is_ascii_digit() => {
                let rest = self.rest();
                let whole = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
                let fraction = match rest[whole..].strip_prefix('.') {
                    Some(after) => after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len()),
                    None => 0,
                };
                if fraction > 0 {
                    let text = rest[..whole + 1 + fraction].to_string();
                    self.at += text.len();
                    Ok(SelectorValue::Float(text))
                } else {
                    let text = rest[..whole].to_string();
                    self.at += text.len();
                    Ok(SelectorValue::Int(text))
                }
            }
            Some(_) if self.word() == "true" => {
                self.at += 4;
                Ok(SelectorValue::Bool(true))
            }
            Some(_) if self.word() == "false" => {
                self.at += 5;
                Ok(SelectorValue::Bool(false))
            }
            _ => Err(self.expected(expected())),
        }
    }

    /// A double-quoted string with Go escapes; the cursor is on the opening quote.
    fn string(&mut self) -> Result<String, Error> {
        let open = self.at;
        self.at += 1;
        let mut text = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(Error::syntax(
                    self.source,
                    TextSpan::new(open, self.source.len()),
                    "a closing '\"'",
                    "end of input",
                ));
            };
            self.at += c.len_utf8();
            match c {
                '"' => return Ok(text),
                '\\' => text.push(self.escape()?),
                c => text.push(c),
            }
        }
    }

    /// The character of an escape; the cursor is after the backslash.
    fn escape(&mut self) -> Result<char, Error> {
        let start = self.at - 1;
        let Some(c) = self.peek() else {
            return Err(Error::syntax(
                self.source,
                TextSpan::new(start, self.at),
                "an escape sequence",
                "end of input",
            ));
        };
        self.at += c.len_utf8();
        let simple = match c {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' => Some('\\'),
            '"' => Some('"'),
            _ => None,
        };
        if let Some(simple) = simple {
            return Ok(simple);
        }
        let digits = match c {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => {
                return Err(Error::syntax(
                    self.source,
                    TextSpan::new(start, self.at),
                    "an escape sequence (\\\" \\\\ \\n \\t \\r \\xHH \\uHHHH)",
                    format!("'\\{c}'"),
                ))
            }
        };
        let hex = self.rest().get(..digits).filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()));
        let code = hex.and_then(|hex| u32::from_str_radix(hex, 16).ok());
        match code.and_then(char::from_u32).filter(|&ch| c != 'x' || ch.is_ascii()) {
            Some(ch) => {
                self.at += digits;
                Ok(ch)
            }
            None => Err(Error::syntax(
                self.source,
                // Up to `digits` characters, ending on a character boundary.
                TextSpan::new(
                    start,
                    self.at + self.rest().chars().take(digits).map(char::len_utf8).sum::<usize>(),
                ),
                format!("{digits} hex digits of a valid character after '\\{c}'"),
                "something else",
            )),
        }
    }
}
