//! The web UI's modules (`crates/ui/js`) with the tools of their own language: `node --test`
//! runs the pure modules' unit tests, `tsc --checkJs` (TypeScript from npm, installed once
//! under target/tools) checks every module against its JSDoc types, and [`Wire`] holds the
//! server's real JSON to the wire typedefs of `types.js` (used by `ui_api` and
//! `ui_report_html`), so a field renamed on either side fails a test.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn ui_dir() -> PathBuf {
    root().join("crates/ui")
}

/// The TypeScript install (with `@types/node`), from the one provisioning script: the
/// directory holding its `node_modules`.
fn provision_typescript() -> PathBuf {
    let tsc = crate::support::tools::tool("typescript");
    // The script prints DIR/node_modules/.bin/tsc.
    tsc.ancestors().nth(3).expect("tsc inside DIR/node_modules/.bin").to_path_buf()
}

fn report(what: &str, output: &std::process::Output) -> String {
    format!(
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn node_unit_tests_of_the_pure_modules_pass() {
    let output = Command::new("node")
        .args(["--test", "js/"])
        .current_dir(ui_dir())
        .output()
        .expect("run node (Node.js 20 or later on PATH)");
    assert!(output.status.success(), "{}", report("node --test crates/ui/js/", &output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("# pass 0"), "node found no tests:\n{stdout}");
}

#[test]
fn modules_type_check_against_their_jsdoc() {
    let typescript = provision_typescript();
    let output = Command::new("node")
        .arg(typescript.join("node_modules/typescript/bin/tsc"))
        .args(["-p", "tsconfig.json", "--typeRoots"])
        .arg(typescript.join("node_modules/@types"))
        .current_dir(ui_dir())
        .output()
        .expect("run tsc");
    assert!(output.status.success(), "{}", report("tsc -p crates/ui/tsconfig.json", &output));
}

/// A JSDoc type of `types.js`'s small grammar (see its header).
#[derive(Debug, Clone, PartialEq)]
enum Type {
    String,
    Number,
    Boolean,
    Null,
    Unknown,
    Literal(String),
    Array(Box<Type>),
    Map(Box<Type>),
    Named(String),
    Union(Vec<Type>),
}

/// An object typedef's fields: `name -> (optional, type)`.
type Fields = BTreeMap<String, (bool, Type)>;

/// A typedef: an object's fields, or another name for a type.
#[derive(Debug)]
enum Typedef {
    Object(Fields),
    Alias(Type),
}

/// Splits `text` at `separator` outside `<...>`.
fn split_top(text: &str, separator: char) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0i32, 0, Vec::new());
    for (at, c) in text.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            c if c == separator && depth == 0 => {
                parts.push(&text[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_type(text: &str) -> Type {
    let alternatives: Vec<Type> = split_top(text, '|').into_iter().map(|t| parse_one(t.trim())).collect();
    if alternatives.len() == 1 {
        alternatives.into_iter().next().unwrap()
    } else {
        Type::Union(alternatives)
    }
}

fn parse_one(text: &str) -> Type {
    if let Some(inner) = text.strip_suffix("[]") {
        return Type::Array(Box::new(parse_one(inner)));
    }
    if let Some(inner) = text.strip_prefix("Object<string,").and_then(|rest| rest.strip_suffix('>')) {
        return Type::Map(Box::new(parse_type(inner.trim())));
    }
    if let Some(literal) = text.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) {
        return Type::Literal(literal.to_string());
    }
    match text {
        "string" => Type::String,
        "number" => Type::Number,
        "boolean" => Type::Boolean,
        "null" => Type::Null,
        "unknown" => Type::Unknown,
        name if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.is_empty() => {
            Type::Named(name.to_string())
        }
        other => panic!("types.js: a type outside the grammar: `{other}`"),
    }
}

/// `{TYPE} rest` -> (TYPE, rest), braces balanced.
fn braced(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    assert!(text.starts_with('{'), "types.js: expected `{{TYPE}}` in `{text}`");
    let mut depth = 0;
    for (at, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return (&text[1..at], text[at + 1..].trim_start());
                }
            }
            _ => {}
        }
    }
    panic!("types.js: unbalanced braces in `{text}`")
}

/// The wire typedefs of `crates/ui/js/types.js`, and which of them checks have reached.
pub struct Wire {
    typedefs: BTreeMap<String, Typedef>,
    reached: RefCell<BTreeSet<String>>,
}

impl Wire {
    pub fn load() -> Wire {
        let text = std::fs::read_to_string(ui_dir().join("js/types.js")).expect("read types.js");
        Wire::parse(&text)
    }

    fn parse(text: &str) -> Wire {
        // Each typedef's type text, and the fields of those that have `@property` lines.
        let mut declared: Vec<(String, String)> = Vec::new();
        let mut fields: BTreeMap<String, Fields> = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim_start().trim_start_matches("/**").trim_start_matches('*').trim();
            if let Some(rest) = line.strip_prefix("@typedef") {
                let (ty, rest) = braced(rest);
                let name = rest.split_whitespace().next().expect("typedef name").trim_end_matches("*/");
                declared.push((name.to_string(), ty.to_string()));
            } else if let Some(rest) = line.strip_prefix("@property") {
                let (ty, rest) = braced(rest);
                let field = rest.split_whitespace().next().expect("property name");
                let (optional, field) = match field.strip_prefix('[').and_then(|f| f.strip_suffix(']')) {
                    Some(field) => (true, field),
                    None => (false, field),
                };
                let (owner, _) = declared.last().expect("@property after a @typedef");
                fields
                    .entry(owner.clone())
                    .or_default()
                    .insert(field.to_string(), (optional, parse_type(ty)));
            }
        }
        let typedefs = declared
            .into_iter()
            .map(|(name, ty)| {
                let typedef = if ty == "object" {
                    Typedef::Object(fields.remove(&name).unwrap_or_default())
                } else {
                    Typedef::Alias(parse_type(&ty))
                };
                (name, typedef)
            })
            .collect();
        Wire { typedefs, reached: RefCell::new(BTreeSet::new()) }
    }

    /// The differences between `value` and typedef `name`, one line each.
    pub fn differences(&self, value: &Value, name: &str) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(value, &Type::Named(name.to_string()), name, &mut errors);
        errors
    }

    /// Fails the test unless `value` is a `name` to the letter.
    pub fn assert(&self, value: &Value, name: &str) {
        let errors = self.differences(value, name);
        assert!(
            errors.is_empty(),
            "the JSON is not a {name} of crates/ui/js/types.js:\n  {}",
            errors.join("\n  ")
        );
    }

    /// The typedefs no check has reached (through any path) so far.
    pub fn unreached(&self) -> BTreeSet<String> {
        let reached = self.reached.borrow();
        self.typedefs.keys().filter(|name| !reached.contains(*name)).cloned().collect()
    }

    fn check(&self, value: &Value, ty: &Type, path: &str, errors: &mut Vec<String>) {
        let found = || {
            let text = value.to_string();
            if text.chars().count() > 60 {
                format!("{}…", text.chars().take(60).collect::<String>())
            } else {
                text
            }
        };
        match ty {
            Type::Unknown => {}
            Type::String if value.is_string() => {}
            Type::Number if value.is_number() => {}
            Type::Boolean if value.is_boolean() => {}
            Type::Null if value.is_null() => {}
            Type::Literal(literal) if value.as_str() == Some(literal) => {}
            Type::Array(item) if value.is_array() => {
                for (index, element) in value.as_array().unwrap().iter().enumerate() {
                    self.check(element, item, &format!("{path}[{index}]"), errors);
                }
            }
            Type::Map(item) if value.is_object() => {
                for (key, element) in value.as_object().unwrap() {
                    self.check(element, item, &format!("{path}[{key:?}]"), errors);
                }
            }
            Type::Union(alternatives) => {
                let fits = alternatives.iter().any(|alternative| {
                    let mut trial = Vec::new();
                    self.check(value, alternative, path, &mut trial);
                    trial.is_empty()
                });
                if !fits {
                    errors.push(format!("{path}: expected {}, found {}", describe(ty), found()));
                }
            }
            Type::Named(name) => {
                self.reached.borrow_mut().insert(name.clone());
                match self.typedefs.get(name) {
                    None => errors.push(format!("{path}: types.js has no typedef {name}")),
                    Some(Typedef::Alias(ty)) => self.check(value, ty, path, errors),
                    Some(Typedef::Object(fields)) => {
                        let Some(object) = value.as_object() else {
                            errors.push(format!("{path}: expected a {name} object, found {}", found()));
                            return;
                        };
                        for (field, (optional, ty)) in fields {
                            match object.get(field) {
                                Some(value) => self.check(value, ty, &format!("{path}.{field}"), errors),
                                None if *optional => {}
                                None => errors.push(format!("{path}.{field}: missing ({name} declares it)")),
                            }
                        }
                        for key in object.keys().filter(|key| !fields.contains_key(*key)) {
                            errors.push(format!("{path}.{key}: not declared in typedef {name}"));
                        }
                    }
                }
            }
            _ => errors.push(format!("{path}: expected {}, found {}", describe(ty), found())),
        }
    }
}

fn describe(ty: &Type) -> String {
    match ty {
        Type::String => "string".into(),
        Type::Number => "number".into(),
        Type::Boolean => "boolean".into(),
        Type::Null => "null".into(),
        Type::Unknown => "unknown".into(),
        Type::Literal(text) => format!("{text:?}"),
        Type::Array(item) => format!("{}[]", describe(item)),
        Type::Map(item) => format!("Object<string, {}>", describe(item)),
        Type::Named(name) => name.clone(),
        Type::Union(alternatives) => alternatives.iter().map(describe).collect::<Vec<_>>().join(" | "),
    }
}

#[test]
fn the_checker_reads_the_typedefs_and_catches_a_renamed_field() {
    let wire = Wire::parse(
        r#"
/**
 * @typedef {object} Status
 * @property {"unset" | "ok" | "error"} code
 * @property {string} message  what went wrong
 * @property {number | null} [column]
 */
/** @typedef {Object<string, Status[]>} ByName */
"#,
    );
    let status = serde_json::json!({ "code": "error", "message": "boom" });
    assert_eq!(wire.differences(&status, "Status"), Vec::<String>::new());
    assert_eq!(
        wire.differences(&serde_json::json!({ "code": "ok", "message": "", "column": null }), "Status"),
        Vec::<String>::new()
    );
    assert_eq!(
        wire.differences(&serde_json::json!({ "code": "error", "msg": "boom" }), "Status"),
        ["Status.message: missing (Status declares it)", "Status.msg: not declared in typedef Status"]
    );
    assert_eq!(
        wire.differences(&serde_json::json!({ "code": "fatal", "message": 3, "column": "7" }), "Status"),
        [
            r#"Status.code: expected "unset" | "ok" | "error", found "fatal""#,
            "Status.column: expected number | null, found \"7\"",
            "Status.message: expected string, found 3",
        ]
    );
    assert_eq!(
        wire.differences(&serde_json::json!({ "a": [status, 1] }), "ByName"),
        [r#"ByName["a"][1]: expected a Status object, found 1"#]
    );
    assert!(wire.unreached().is_empty());
}

#[test]
fn every_typedef_of_types_js_is_in_the_grammar() {
    let wire = Wire::load();
    for name in ["Trace", "Span", "TraceList", "RunReport", "InlineData", "AnalyzerResult"] {
        assert!(wire.typedefs.contains_key(name), "types.js has no typedef {name}");
    }
    for (name, typedef) in &wire.typedefs {
        let mut types = Vec::new();
        match typedef {
            Typedef::Object(fields) => types.extend(fields.values().map(|(_, ty)| ty.clone())),
            Typedef::Alias(ty) => types.push(ty.clone()),
        }
        while let Some(ty) = types.pop() {
            match ty {
                Type::Named(other) => assert!(
                    wire.typedefs.contains_key(&other),
                    "{name} names {other}, which is not a typedef"
                ),
                Type::Array(item) | Type::Map(item) => types.push(*item),
                Type::Union(alternatives) => types.extend(alternatives),
                _ => {}
            }
        }
    }
}
