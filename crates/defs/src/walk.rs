//! Reading a marked YAML tree field by field, collecting every problem with its position
//! instead of stopping at the first (a serde derive would stop at the first).

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{Node, Span};

use super::error::{Error, ErrorKind};
use super::source::Source;
use super::Text;

/// The file being read and the problems found so far.
pub(crate) struct Ctx<'s> {
    pub source: &'s Source,
    pub errors: Vec<Error>,
}

/// A substituted-text position, 1-based.
fn start_of(span: &Span) -> (usize, usize) {
    span.start().map(|marker| (marker.line(), marker.column())).unwrap_or((0, 0))
}

/// Errors reported per file at most (and a last one saying more follow).
pub(crate) const MAX_ERRORS_PER_FILE: usize = 100;

impl<'s> Ctx<'s> {
    pub fn new(source: &'s Source) -> Self {
        Ctx { source, errors: Vec::new() }
    }

    /// Records an error at a position of the substituted text.
    pub fn error_at(&mut self, line: usize, col: usize, kind: ErrorKind) {
        // A file past this many errors is not the file meant (or not a definition at all):
        // the rest would only bury the first ones.
        if self.errors.len() > MAX_ERRORS_PER_FILE {
            return;
        }
        if self.errors.len() == MAX_ERRORS_PER_FILE {
            let kind = ErrorKind::Invalid(format!(
                "more errors follow; at most {MAX_ERRORS_PER_FILE} are shown per file"
            ));
            self.errors.push(Error {
                path: self.source.path.clone(),
                line: 0,
                col: 0,
                kind,
                source_line: None,
            });
            return;
        }
        let (line, col, source_line) = if line == 0 {
            (0, 0, None)
        } else {
            (line, self.source.original_col(line, col), self.source.original_line(line))
        };
        self.errors.push(Error { path: self.source.path.clone(), line, col, kind, source_line });
    }

    pub fn error(&mut self, span: &Span, kind: ErrorKind) {
        let (line, col) = start_of(span);
        self.error_at(line, col, kind);
    }

    pub fn invalid(&mut self, span: &Span, message: impl Into<String>) {
        self.error(span, ErrorKind::Invalid(message.into()))
    }

    /// Records an error at byte `offset` inside a scalar's value.
    pub fn error_in_text(&mut self, text: &Text, offset: usize, kind: ErrorKind) {
        let (line, col) = self.source.locate(text.line, text.col, &text.value, offset);
        self.error_at(line, col, kind);
    }

    /// The node as a mapping, or an error naming what it should have been.
    pub fn mapping<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n MarkedMappingNode> {
        match node {
            Node::Mapping(map) => Some(map),
            other => {
                self.wrong_type(other, field, "a mapping");
                None
            }
        }
    }

    /// The node as a list, or an error.
    pub fn sequence<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n [Node]> {
        match node {
            Node::Sequence(seq) => Some(seq.as_slice()),
            other => {
                self.wrong_type(other, field, "a list");
                None
            }
        }
    }

    pub fn wrong_type(&mut self, node: &Node, field: &str, expected: &str) {
        self.error(
            node.span(),
            ErrorKind::WrongType {
                field: field.to_string(),
                expected: expected.to_string(),
                found: describe(node),
            },
        );
    }

    /// Reports every key of `map` not in `allowed`.
    pub fn check_fields(&mut self, map: &MarkedMappingNode, context: &str, allowed: &[&str]) {
        for key in map.keys() {
            let name = key.as_str();
            if !allowed.contains(&name) {
                let hint =
                    suggestion(name, allowed).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
                self.error(
                    key.span(),
                    ErrorKind::UnknownField { field: name.to_string(), context: context.to_string(), hint },
                );
            }
        }
    }

    /// A field that must be present, not null.
    pub fn required<'n>(&mut self, map: &'n MarkedMappingNode, key: &str, context: &str) -> Option<&'n Node> {
        let node = field(map, key);
        if node.is_none() {
            self.error(
                mapping_start(map),
                ErrorKind::MissingField { field: key.to_string(), context: context.to_string() },
            );
        }
        node
    }

    /// A scalar field as text with its position; numbers and booleans are taken as their
    /// text, as Tracetest does.
    pub fn text(&mut self, node: &Node, field: &str) -> Option<Text> {
        match node {
            Node::Scalar(scalar) => Some(text_of(scalar)),
            other => {
                self.wrong_type(other, field, "a string");
                None
            }
        }
    }

    pub fn optional_text(&mut self, map: &MarkedMappingNode, key: &str) -> Option<Text> {
        field(map, key).and_then(|node| self.text(node, key))
    }

    pub fn required_text(&mut self, map: &MarkedMappingNode, key: &str, context: &str) -> Option<Text> {
        self.required(map, key, context).and_then(|node| self.text(node, key))
    }

    /// A required text that must not be empty.
    pub fn non_empty_text(&mut self, map: &MarkedMappingNode, key: &str, context: &str) -> Option<Text> {
        let node = self.required(map, key, context)?;
        let text = self.text(node, key)?;
        if text.value.trim().is_empty() {
            self.invalid(node.span(), format!("`{key}` in {context} must not be empty"));
        }
        Some(text)
    }

    /// An integer field; a quoted number is a string, not an integer.
    pub fn optional_int(&mut self, map: &MarkedMappingNode, key: &str) -> Option<i64> {
        let node = field(map, key)?;
        if let Node::Scalar(scalar) = node {
            if let Some(number) = scalar.may_coerce().then(|| scalar.as_str().parse::<i64>().ok()).flatten() {
                return Some(number);
            }
        }
        self.wrong_type(node, key, "an integer");
        None
    }

    pub fn optional_bool(&mut self, map: &MarkedMappingNode, key: &str) -> Option<bool> {
        let node = field(map, key)?;
        match node {
            Node::Scalar(scalar) if scalar.may_coerce() => match scalar.as_str() {
                "true" | "True" | "TRUE" => return Some(true),
                "false" | "False" | "FALSE" => return Some(false),
                _ => {}
            },
            _ => {}
        }
        self.wrong_type(node, key, "true or false");
        None
    }
}

/// Where a mapping starts: its first key (the mapping's own marker is unreliable for
/// block mappings), or the marker itself when it is empty.
pub(crate) fn mapping_start(map: &MarkedMappingNode) -> &Span {
    map.keys().next().map(|key| key.span()).unwrap_or(map.span())
}

/// A field's node; a YAML null (`~`, `null`, nothing) counts as absent.
pub(crate) fn field<'n>(map: &'n MarkedMappingNode, key: &str) -> Option<&'n Node> {
    map.get_node(key).filter(|node| !is_null(node))
}

pub(crate) fn is_null(node: &Node) -> bool {
    match node {
        Node::Scalar(scalar) => {
            scalar.may_coerce() && matches!(scalar.as_str(), "" | "~" | "null" | "Null" | "NULL")
        }
        _ => false,
    }
}

pub(crate) fn text_of(scalar: &MarkedScalarNode) -> Text {
    let (line, col) = start_of(scalar.span());
    Text { value: scalar.as_str().to_string(), line, col }
}

fn describe(node: &Node) -> String {
    match node {
        Node::Mapping(_) => "a mapping".to_string(),
        Node::Sequence(_) => "a list".to_string(),
        Node::Scalar(_) if is_null(node) => "nothing".to_string(),
        Node::Scalar(scalar) => {
            let value = scalar.as_str();
            if scalar.may_coerce() && matches!(value, "true" | "false" | "True" | "False" | "TRUE" | "FALSE")
            {
                format!("the boolean {value}")
            } else if scalar.may_coerce() && value.parse::<f64>().is_ok() {
                format!("the number {value}")
            } else {
                let shown: String = value.chars().take(40).collect();
                format!("the string {shown:?}")
            }
        }
    }
}

/// The allowed name closest to a misspelled one, if any is close.
fn suggestion<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    allowed
        .iter()
        .map(|candidate| (edit_distance(&lower, &candidate.to_ascii_lowercase()), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
