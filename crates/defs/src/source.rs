//! A definition file's text: the CLI's `${NAME}` substitution, and turning positions in
//! the substituted text back into positions in the file as written.

use std::path::PathBuf;

/// One `${NAME}` replacement on a line, in characters.
#[derive(Debug, Clone, Copy)]
struct Shift {
    line: usize,
    /// 1-based column in the substituted text where the replacement starts.
    new_col: usize,
    new_len: usize,
    old_len: usize,
}

/// A file's original text and the text after `${NAME}` substitution, which is what the
/// YAML parser reads.
#[derive(Debug)]
pub(crate) struct Source {
    pub path: PathBuf,
    pub original: String,
    pub text: String,
    shifts: Vec<Shift>,
    /// Byte offsets where each line starts, in `original` and in `text`: built once, so that
    /// an error's position costs a lookup, not a scan of the file (19,000 errors in a 1 MiB
    /// file once took 20 s).
    original_starts: Vec<usize>,
    text_starts: Vec<usize>,
}

/// The byte offset of each line's start.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1)).collect()
}

/// 1-based line `line` of `text` whose line starts are `starts`, without its line break.
fn indexed_line<'t>(text: &'t str, starts: &[usize], line: usize) -> Option<&'t str> {
    let start = *starts.get(line.checked_sub(1)?)?;
    let end = starts.get(line).map_or(text.len(), |next| next - 1);
    Some(text[start..end.max(start)].trim_end_matches('\r'))
}

/// The environment variable named by a `${NAME}` whose text after the `${` is `after`, when
/// it is one the CLI substitutes: only word characters, not starting with a digit.
pub(crate) fn substitution_name(after: &str) -> Option<&str> {
    let name_len = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
    // An environment variable's name does not start with a digit, so `${1s}` and `${200ms}`
    // are left to the expression language (durations, 8.6).
    let starts_like_name = after.chars().next().is_some_and(|c| !c.is_ascii_digit());
    (name_len > 0 && starts_like_name && after[name_len..].starts_with('}')).then(|| &after[..name_len])
}

impl Source {
    /// Applies Tracetest's CLI substitution (reference 14.1): every `${NAME}` whose inside
    /// is only word characters, not starting with a digit, is replaced by the environment
    /// variable NAME, empty when unset. `${var:X}`, `${env:X}` and other expressions are left alone.
    pub fn new(path: PathBuf, original: String) -> Source {
        Source::with_env(path, original, |name| std::env::var(name).ok())
    }

    pub fn with_env(path: PathBuf, original: String, env: impl Fn(&str) -> Option<String>) -> Source {
        let mut text = String::with_capacity(original.len());
        let mut shifts = Vec::new();
        for (line_idx, line) in original.split_inclusive('\n').enumerate() {
            let mut rest = line;
            let mut new_col = 1;
            while let Some(start) = rest.find("${") {
                let after = &rest[start + 2..];
                let before = &rest[..start];
                text.push_str(before);
                new_col += before.chars().count();
                if let Some(name) = substitution_name(after) {
                    let name_len = name.len();
                    let value = env(name).unwrap_or_default();
                    let new_len = value.chars().count();
                    text.push_str(&value);
                    shifts.push(Shift { line: line_idx + 1, new_col, new_len, old_len: name_len + 3 });
                    new_col += new_len;
                    rest = &after[name_len + 1..];
                } else {
                    text.push_str("${");
                    new_col += 2;
                    rest = after;
                }
            }
            text.push_str(rest);
        }
        let (original_starts, text_starts) = (line_starts(&original), line_starts(&text));
        Source { path, original, text, shifts, original_starts, text_starts }
    }

    /// A (line, column) in the substituted text as a column in the original line.
    pub fn original_col(&self, line: usize, col: usize) -> usize {
        let mut delta: isize = 0;
        for shift in self.shifts.iter().filter(|shift| shift.line == line) {
            if col >= shift.new_col + shift.new_len {
                delta += shift.old_len as isize - shift.new_len as isize;
            } else if col >= shift.new_col {
                // Inside a replacement: point at the `${` that produced it.
                return (shift.new_col as isize + delta).max(1) as usize;
            }
        }
        (col as isize + delta).max(1) as usize
    }

    /// The original text of a 1-based line, without its line break.
    pub fn original_line(&self, line: usize) -> Option<String> {
        indexed_line(&self.original, &self.original_starts, line).map(str::to_string)
    }

    /// [`locate`] in the substituted text, from its line index.
    pub fn locate(&self, line: usize, col: usize, value: &str, offset: usize) -> (usize, usize) {
        let start = self.text_starts.get(line.saturating_sub(1)).copied().unwrap_or(self.text.len());
        locate_from(&self.text[start..], line, col, value, offset)
    }
}

/// The documents of a multi-document YAML text (`---` lines between them), each as the
/// whole text with every line outside it blanked, so that a document's line and column
/// positions are those of the file. Documents holding nothing but blanks and comments are
/// left out; a text without `---` is one document.
pub(crate) fn documents(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let is_marker = |line: &str| {
        let line = line.trim_end();
        line == "---" || line.starts_with("--- ") || line.starts_with("---\t")
    };
    if !lines.iter().any(|line| is_marker(line)) {
        return vec![text.to_string()];
    }
    let mut ranges = Vec::new();
    let mut start = 0;
    for (idx, line) in lines.iter().enumerate() {
        if is_marker(line) {
            ranges.push(start..idx);
            start = idx + 1;
        }
    }
    ranges.push(start..lines.len());
    let has_content = |range: &std::ops::Range<usize>| {
        lines[range.clone()].iter().any(|line| {
            let content = line.trim();
            !content.is_empty() && !content.starts_with('#') && content != "..."
        })
    };
    ranges
        .into_iter()
        .filter(has_content)
        .map(|range| {
            let mut document = String::with_capacity(text.len());
            for (idx, line) in lines.iter().enumerate() {
                if range.contains(&idx) {
                    document.push_str(line);
                } else if line.ends_with('\n') {
                    // Keep the line, so positions after it do not move.
                    document.push('\n');
                }
            }
            document
        })
        .collect()
}

pub(crate) fn line_of(text: &str, line: usize) -> Option<String> {
    if line == 0 {
        return None;
    }
    text.split('\n').nth(line - 1).map(|line| line.trim_end_matches('\r').to_string())
}

/// Where the character at byte `offset` of a scalar's value sits in the text, given the
/// scalar's start (1-based line and column in chars, at its first character: a quote, a
/// block indicator or the value itself).
///
/// Exact for plain and quoted single-line scalars; for quoted escapes, folded and block
/// scalars it aligns the value against the text, which is right unless the value holds
/// escapes that produce whitespace.
#[cfg(test)]
pub(crate) fn locate(text: &str, line: usize, col: usize, value: &str, offset: usize) -> (usize, usize) {
    let line_start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    locate_from(&text[line_start.min(text.len())..], line, col, value, offset)
}

/// [`locate`], given the text from the start of line `line` on.
fn locate_from(rest: &str, line: usize, col: usize, value: &str, offset: usize) -> (usize, usize) {
    let mut chars = rest.chars().peekable();
    let (mut cur_line, mut cur_col) = (line, 1);
    // Walk to the scalar's start column.
    while cur_col < col {
        match chars.next() {
            Some('\n') | None => return (line, col),
            Some(_) => cur_col += 1,
        }
    }
    let advance = |c: char, cur_line: &mut usize, cur_col: &mut usize| {
        if c == '\n' {
            *cur_line += 1;
            *cur_col = 1;
        } else {
            *cur_col += 1;
        }
    };
    match chars.peek().copied() {
        Some('"') | Some('\'') => {
            chars.next();
            cur_col += 1;
        }
        Some('|') | Some('>') => {
            // Skip the block header line; the content starts on the next line.
            for c in chars.by_ref() {
                advance(c, &mut cur_line, &mut cur_col);
                if c == '\n' {
                    break;
                }
            }
        }
        _ => {}
    }
    let prefix_end = offset.min(value.len());
    let target_chars = value.get(..prefix_end).map(|prefix| prefix.chars().count()).unwrap_or(0);
    for (idx, want) in value.chars().enumerate() {
        loop {
            let Some(&have) = chars.peek() else {
                return (cur_line, cur_col);
            };
            let matched = have == want || (want.is_whitespace() && have.is_whitespace());
            if matched && idx == target_chars {
                return (cur_line, cur_col);
            }
            chars.next();
            advance(have, &mut cur_line, &mut cur_col);
            if matched {
                break;
            }
        }
    }
    (cur_line, cur_col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Source {
        Source::with_env(PathBuf::from("t.yaml"), text.to_string(), |name| match name {
            "HOST" => Some("example.com".to_string()),
            _ => None,
        })
    }

    #[test]
    fn substitutes_word_names_only() {
        let src = source("url: ${HOST}/x ${var:HOST} ${MISSING}! ${ HOST }\n");
        assert_eq!(src.text, "url: example.com/x ${var:HOST} ! ${ HOST }\n");
        let src = source("a: \"took ${1s}\" = \"${200ms}${_1}\"\n");
        assert_eq!(src.text, "a: \"took ${1s}\" = \"${200ms}\"\n");
    }

    #[test]
    fn maps_columns_back_through_substitutions() {
        let src = source("a: ${HOST} zz\n");
        // "a: example.com zz": the first 'z' is at column 16 in the new text, 12 in the original.
        assert_eq!(src.original_col(1, 16), 12);
        assert_eq!(src.original_col(1, 3), 3);
        assert_eq!(src.original_col(1, 6), 4);
    }

    #[test]
    fn splits_documents_keeping_positions() {
        assert_eq!(documents("type: Test\n"), vec!["type: Test\n"]);
        let text = "---\n# lead\ntype: A\n---\ntype: B\nspec: {}\n--- # end\n";
        assert_eq!(documents(text), vec!["\n# lead\ntype: A\n\n\n\n\n", "\n\n\n\ntype: B\nspec: {}\n\n"]);
        // `---` inside a line or indented is content, not a marker.
        assert_eq!(documents("a: |\n  ---\nb: x---\n").len(), 1);
    }

    #[test]
    fn locates_offsets_in_scalars() {
        let text = "a: plain text\nb: \"quo\\\"ted\"\nc: >-\n  folded\n  more\n";
        assert_eq!(locate(text, 1, 4, "plain text", 6), (1, 10));
        // Value `quo"ted`: offset 4 ('t') sits after the escape.
        assert_eq!(locate(text, 2, 4, "quo\"ted", 4), (2, 10));
        // Folded `folded more`: offset 7 ('m') is on the next line.
        assert_eq!(locate(text, 3, 4, "folded more", 7), (5, 3));
        // Offset at the end of the value points just past it.
        assert_eq!(locate(text, 1, 4, "plain text", 10), (1, 14));
    }
}
