//! The selector language (reference section 7): which spans a spec or output applies to.
//!
//! `span[tracetest.span.type="http" name contains "users"]:first, span[kind="server"] span[]`
//! parses into a [`Selector`] of comma-separated [`Chain`]s of descendant
//! [`SpanSelector`]s. Selection returns indexes into [`TraceView::spans`] in Tracetest's
//! order, keeping its quirks: duplicates across alternatives (Q-1), the outer part's
//! pseudo-class applied to the chain's result (Q-2), middle parts matching the outer span
//! (Q-3), two-decimal floats (Q-4) and missing attributes reading as `""` (Q-5).

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use super::view::{MetaKey, SpanView};
use super::{Error, TextSpan, TraceView};

/// A whole selector: alternatives separated by commas. No alternative (the empty text)
/// selects every span.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Selector {
    pub alternatives: Vec<Chain>,
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

    fn matches(&self, span: &SpanView<'_>) -> bool {
        let owned;
        let actual: &str = match self.key {
            PropertyKey::Name => span.name(),
            PropertyKey::Kind => span.kind(),
            // A missing attribute reads as "" (Q-5).
            PropertyKey::Meta(meta) => {
                owned = span.meta(meta);
                owned.as_deref().unwrap_or("")
            }
            PropertyKey::Attribute => {
                owned = span.plain_attribute(&self.property);
                owned.as_deref().unwrap_or("")
            }
        };
        match self.op {
            SelectorOp::Eq => actual == self.text,
            SelectorOp::Contains => actual.contains(self.text.as_str()),
        }
    }
}

impl SpanSelector {
    fn matches(&self, span: &SpanView<'_>) -> bool {
        self.filters.iter().all(|filter| filter.matches(span))
    }
}

impl PseudoClass {
    fn apply(self, mut matches: Vec<usize>) -> Vec<usize> {
        match self {
            PseudoClass::First => {
                matches.truncate(1);
                matches
            }
            PseudoClass::Last => matches.pop().into_iter().collect(),
            PseudoClass::NthChild(n) => {
                let position = usize::try_from(n).ok().and_then(|n| n.checked_sub(1));
                position.and_then(|position| matches.get(position).copied()).into_iter().collect()
            }
        }
    }
}

impl Selector {
    /// Parses a selector; empty or blank text selects every span.
    ///
    /// # Errors
    /// [`Error::Syntax`] naming the column and what was expected, e.g.
    /// `expected a value after '=' at column 11, found ']'`.
    pub fn parse(source: &str) -> Result<Selector, Error> {
        SelectorParser { source, at: 0 }.selector()
    }

    /// True for the empty selector, which selects every span.
    pub fn is_empty(&self) -> bool {
        self.alternatives.is_empty()
    }

    /// The selected spans as indexes into [`TraceView::spans`], in Tracetest's order,
    /// duplicates across alternatives kept (Q-1).
    pub fn select(&self, view: &TraceView<'_>) -> Vec<usize> {
        if self.alternatives.is_empty() {
            return (0..view.len()).collect();
        }
        let mut selected = Vec::new();
        let mut selection = Selection::default();
        for chain in &self.alternatives {
            selection.memo.clear();
            selected.extend(select_chain(view, &chain.parts, 0, 0..view.len(), &mut selection));
        }
        selected
    }

    /// [`Selector::select`] without the linear-time shortcut for `A B` chains: the
    /// reference the property tests compare it with.
    #[cfg(test)]
    pub(crate) fn select_naive(&self, view: &TraceView<'_>) -> Vec<usize> {
        if self.alternatives.is_empty() {
            return (0..view.len()).collect();
        }
        let mut selected = Vec::new();
        let mut seen = Vec::new();
        for chain in &self.alternatives {
            selected.extend(select_chain_naive(view, &chain.parts, 0..view.len(), &mut seen));
        }
        selected
    }

    /// The selected spans themselves.
    pub fn select_spans<'v, 't>(&self, view: &'v TraceView<'t>) -> Vec<&'v SpanView<'t>> {
        self.select(view).into_iter().map(|index| &view.spans()[index]).collect()
    }

    /// Whether the selector matches at least one span (trace completeness, rule 3).
    pub fn matches_any(&self, view: &TraceView<'_>) -> bool {
        if self.alternatives.is_empty() {
            return !view.is_empty();
        }
        let mut selection = Selection::default();
        self.alternatives.iter().any(|chain| {
            // A lone part without pseudo-class needs only one match: stop at the first.
            match chain.parts.as_slice() {
                [part] if part.pseudo.is_none() => view.spans().iter().any(|span| part.matches(span)),
                parts => {
                    selection.memo.clear();
                    !select_chain(view, parts, 0, 0..view.len(), &mut selection).is_empty()
                }
            }
        })
    }
}

/// Scratch space and memory for one selection.
#[derive(Default)]
struct Selection {
    /// For dropping repeats.
    seen: Vec<bool>,
    /// `parts[level..]` evaluated over the subtree of a span, by (level, span index):
    /// a chain with inner pseudo-classes asks for the same subtree from many ancestors.
    memo: HashMap<(usize, usize), Vec<usize>>,
}

/// Evaluates `parts[level..]` over the spans in `range` (7.3).
fn select_chain(
    view: &TraceView<'_>,
    parts: &[SpanSelector],
    level: usize,
    range: Range<usize>,
    selection: &mut Selection,
) -> Vec<usize> {
    let Some(head) = parts.get(level) else {
        return Vec::new();
    };
    let tail = &parts[level + 1..];
    let spans = view.spans();
    let matches: Vec<usize> = if tail.is_empty() {
        range.filter(|&index| spans.get(index).is_some_and(|span| head.matches(span))).collect()
    } else if tail.iter().all(|part| part.pseudo.is_none()) {
        chain_in_one_pass(view, &parts[level..], range)
    } else {
        let mut collected = Vec::new();
        for parent in range.filter(|&index| spans.get(index).is_some_and(|span| head.matches(span))) {
            let below = match selection.memo.get(&(level + 1, parent)) {
                Some(below) => below.clone(),
                None => {
                    let below = select_chain(view, parts, level + 1, view.subtree(parent), selection);
                    selection.memo.insert((level + 1, parent), below.clone());
                    below
                }
            };
            collected.extend(below.into_iter().filter(|&index| index != parent));
        }
        // Drop repeats, keeping first occurrences.
        let seen = &mut selection.seen;
        seen.clear();
        seen.resize(view.len(), false);
        collected.retain(|&index| !std::mem::replace(&mut seen[index], true));
        collected
    };
    match head.pseudo {
        Some(pseudo) => pseudo.apply(matches),
        None => matches,
    }
}

/// A chain whose parts after the first have no pseudo-class, in one pre-order pass over
/// `range`: the spans matching the last part that have strict ancestors matching the
/// other parts in order, where consecutive parts but the last two may match the same span
/// (Q-3). This is what the literal reading of 7.3 computes (subtrees of nested matches
/// contain each other, those of disjoint matches follow each other in pre-order), in
/// linear rather than polynomial time. The first part's pseudo-class is the caller's.
fn chain_in_one_pass(view: &TraceView<'_>, parts: &[SpanSelector], range: Range<usize>) -> Vec<usize> {
    let spans = view.spans();
    let Some((last, ancestors)) = parts.split_last() else {
        return Vec::new();
    };
    // (end of subtree, number of `ancestors` matched along the path down to that span).
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut found = Vec::new();
    for index in range {
        let Some(span) = spans.get(index) else {
            break;
        };
        while open.last().is_some_and(|&(end, _)| end <= index) {
            open.pop();
        }
        let reached = open.last().map_or(0, |&(_, reached)| reached);
        if reached == ancestors.len() && last.matches(span) {
            found.push(index);
        }
        // Greedy: the span matches as many of the next parts as it can.
        let mut extended = reached;
        while extended < ancestors.len() && ancestors[extended].matches(span) {
            extended += 1;
        }
        if extended > reached {
            open.push((view.subtree(index).end, extended));
        }
    }
    found
}

#[cfg(test)]
fn select_chain_naive(
    view: &TraceView<'_>,
    parts: &[SpanSelector],
    range: std::ops::Range<usize>,
    seen: &mut Vec<bool>,
) -> Vec<usize> {
    let Some((head, tail)) = parts.split_first() else {
        return Vec::new();
    };
    let spans = view.spans();
    let matches: Vec<usize> = if tail.is_empty() {
        range.filter(|&index| head.matches(&spans[index])).collect()
    } else {
        let mut collected = Vec::new();
        for parent in range.filter(|&index| head.matches(&spans[index])) {
            let below = select_chain_naive(view, tail, view.subtree(parent), seen);
            collected.extend(below.into_iter().filter(|&index| index != parent));
        }
        seen.clear();
        seen.resize(view.len(), false);
        collected.retain(|&index| !std::mem::replace(&mut seen[index], true));
        collected
    };
    match head.pseudo {
        Some(pseudo) => pseudo.apply(matches),
        None => matches,
    }
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
                None => return Ok(Selector { alternatives }),
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

// ---- printing -----------------------------------------------------------------------------

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

/// Trace completeness rule 3 as problem texts: `selector span[name="db"] matched none`, one
/// per selector that matches no span of `trace` (empty when all match). Shared by the
/// in-process runner and the control API's `WaitTrace`, so both word it the same.
pub fn unmatched_selectors(trace: &crate::model::Trace, selectors: &[Selector]) -> Vec<String> {
    if selectors.is_empty() {
        return Vec::new();
    }
    let view = TraceView::new(trace);
    selectors
        .iter()
        .filter(|selector| !selector.matches_any(&view))
        .map(|selector| format!("selector {selector} matched none"))
        .collect()
}
