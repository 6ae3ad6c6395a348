//! Load-time checks of the languages embedded in definitions: selectors, assertions,
//! output values and trigger templates. Each returns the byte offset (within the text) and
//! message of every problem, which `spec` turns into `file:line:col`.

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

/// Problems in `text` as (byte offset, message); empty when it parses.
pub fn check(language: Language, text: &str) -> Vec<(usize, String)> {
    // The languages (`crate::lang`) are checked here once they exist; until then only the
    // template syntax that needs no parser is checked: every `${` must be closed.
    match language {
        Language::Template => check_template_braces(text),
        Language::Selector | Language::Assertion | Language::Expression => Vec::new(),
    }
}

fn check_template_braces(text: &str) -> Vec<(usize, String)> {
    let mut problems = Vec::new();
    let mut rest = 0;
    while let Some(found) = text[rest..].find("${") {
        let start = rest + found;
        match text[start..].find('}') {
            Some(end) => rest = start + end + 1,
            None => {
                problems.push((start, "`${` is never closed by `}`".to_string()));
                break;
            }
        }
    }
    problems
}
