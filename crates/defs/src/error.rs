//! Load and validation errors: each names its file, line and column, and can be printed
//! with the source line and a caret under the column.

use std::fmt;
use std::path::{Path, PathBuf};

/// What is wrong, without where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("cannot read file: {0}")]
    Io(String),
    #[error("invalid yaml: {0}")]
    Yaml(String),
    #[error("unknown field `{field}` in {context}{hint}")]
    UnknownField { field: String, context: String, hint: String },
    #[error("expected {expected} for `{field}`, found {found}")]
    WrongType { field: String, expected: String, found: String },
    #[error("missing required field `{field}` in {context}")]
    MissingField { field: String, context: String },
    #[error("{0}")]
    Invalid(String),
    /// A selector, assertion, expression or template that does not parse.
    #[error("invalid {what}: {message}")]
    Expression { what: &'static str, message: String },
}

/// One problem in one file. `line` and `col` are 1-based; 0 when the problem has no
/// position (an unreadable file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub path: PathBuf,
    pub line: usize,
    pub col: usize,
    pub kind: ErrorKind,
    /// The text of line `line` as written in the file, for the caret display.
    pub source_line: Option<String>,
}

impl Error {
    pub(crate) fn without_position(path: &Path, kind: ErrorKind) -> Error {
        Error { path: path.to_path_buf(), line: 0, col: 0, kind, source_line: None }
    }

    /// The error with its source line and a caret under the column:
    ///
    /// ```text
    /// tests/user.yaml:14:31: invalid assertion: expected comparator, found `200`
    ///    14 |       - attr:http.status_code 200
    ///       |                               ^
    /// ```
    pub fn render(&self) -> String {
        let mut out = self.to_string();
        if let Some(source_line) = &self.source_line {
            let number = self.line.to_string();
            let gutter = " ".repeat(number.len());
            // Keep tabs so the caret lines up under the same characters.
            let pad: String = source_line
                .chars()
                .take(self.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("\n {number} | {source_line}\n {gutter} | {pad}^"));
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.kind)
        } else {
            write!(f, "{}:{}:{}: {}", self.path.display(), self.line, self.col, self.kind)
        }
    }
}

impl std::error::Error for Error {}

/// Every problem found in one or more files, in file order and then position order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Errors(pub Vec<Error>);

impl Errors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Error> {
        self.0.iter()
    }

    /// Every error with its source line and caret, separated by blank lines: what the CLI
    /// prints before exiting with code 2.
    pub fn render(&self) -> String {
        self.0.iter().map(Error::render).collect::<Vec<_>>().join("\n\n")
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (idx, error) in self.0.iter().enumerate() {
            if idx > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

impl From<Error> for Errors {
    fn from(error: Error) -> Errors {
        Errors(vec![error])
    }
}

impl IntoIterator for Errors {
    type Item = Error;
    type IntoIter = std::vec::IntoIter<Error>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
