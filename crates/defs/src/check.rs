//! Load-time checks of the languages embedded in definitions: selectors, assertions,
//! output values and trigger templates. Each returns the byte offset (within the text) and
//! message of every problem, which `spec` turns into `file:line:col`.

use lang::{self, Assertion, Expr, Selector, Template};

/// Which language a string is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Selector,
    Assertion,
    Expression,
    Template,
}

impl Language {
    pub fn describe(self) -> &'static str {
        match self {
            Language::Selector => "selector",
            Language::Assertion => "assertion",
            Language::Expression => "expression",
            Language::Template => "template",
        }
    }
}

/// Problems in `text` as (byte offset, message); empty when it parses. Messages leave
/// out `lang`'s column (relative to the text), as the caller reports the file position.
pub fn check(language: Language, text: &str) -> Vec<(usize, String)> {
    let result = match language {
        Language::Selector => Selector::parse(text).err(),
        Language::Assertion => Assertion::parse(text).err(),
        Language::Expression => Expr::parse(text).err(),
        Language::Template => Template::parse(text).err(),
    };
    match result {
        None => Vec::new(),
        Some(lang::Error::Syntax { expected, found, span, .. }) => {
            vec![(span.start, format!("expected {expected}, found {found}"))]
        }
        Some(other) => vec![(0, other.to_string())],
    }
}
