//! Joins the UI's ES modules into one classic script, without npm: `build.rs` runs it over
//! `js/*.js` at build time, and the crate's tests run it over small module sets.
//!
//! Starting from the entry module, every module it imports (transitively) is put in the
//! script once, imports before importers, each in its own function scope:
//!
//! ```js
//! const __m_format = (() => {
//! function duration(nanos) { ... }          // was `export function duration`
//! return { duration };
//! })();
//! const __m_positions = (() => {
//! const { duration } = __m_format;           // was `import { duration } from "./format.js";`
//! ...
//! ```
//!
//! So a module's private names never meet another's. The syntax understood is deliberately
//! small; anything else is a build error naming the file and line:
//!
//! - `import { a, b as c } from "./file.js";` and `import * as ns from "./file.js";`, at
//!   the start of a line (one statement may span lines up to its `;`);
//! - `export function`, `export async function`, `export class`, `export const` and
//!   `export let` of one name, at the start of a line, and `export {};` (a module of types);
//! - an import of a file that is not among the modules, of a name the module does not
//!   export, or an import cycle, is an error.
//!
//! Comments that start a line (`//` lines, JSDoc blocks) are left out of the script: their
//! lines are kept blank, so an error's line in the joined script is as far into the module
//! as in its file. (So no line of a string may start with `//` or `/*`.)
//!
//! Modules the entry does not reach (such as `types.js`, which holds JSDoc types only, and
//! the `*.test.js` files) are not in the script.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// One module's parsed form.
struct Parsed {
    /// `(local bindings, module file, line)` for each import, in order; the bindings are
    /// the left side of `const ... = __m_x;`.
    imports: Vec<(String, String, usize)>,
    /// Names of what the module exports.
    exports: BTreeSet<String>,
    /// Imported names by module file, to check each against that module's exports.
    wanted: Vec<(String, String, usize)>,
    /// The body without import statements and `export ` keywords.
    body: String,
}

/// `format.js` -> `__m_format`; `view-trace.js` -> `__m_view_trace`.
fn binding(file: &str) -> String {
    let stem = file.strip_suffix(".js").unwrap_or(file);
    let mut name = String::from("__m_");
    name.extend(stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }));
    name
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Why the modules could not be joined; the build fails with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinError {
    /// A statement or import outside the small syntax the join accepts, at `file:line`;
    /// `message` says what was found and what is accepted.
    Syntax { file: String, line: usize, message: String },
    /// Modules that import each other, in import order, the first repeated at the end.
    Cycle(Vec<String>),
    /// The entry module is not among the modules.
    MissingEntry(String),
    /// The joined script holds `</script` or `<!--` at `line`, which would end or derail
    /// the page's script element.
    EndsScript { text: &'static str, line: usize },
}

impl JoinError {
    fn syntax(file: &str, line: usize, message: String) -> Self {
        JoinError::Syntax { file: file.to_string(), line, message }
    }
}

impl std::fmt::Display for JoinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JoinError::Syntax { file, line, message } => write!(f, "{file}:{line}: {message}"),
            JoinError::Cycle(cycle) => write!(f, "import cycle: {}", cycle.join(" -> ")),
            JoinError::MissingEntry(entry) => write!(f, "the entry module {entry} is missing"),
            JoinError::EndsScript { text, line } => write!(
                f,
                "the joined script contains `{text}` (its line {line}), which would end the page's script element early: write `<\\/` or `\\x3c` in strings"
            ),
        }
    }
}

impl std::error::Error for JoinError {}

/// The file an import names: `"./format.js"` -> `format.js`.
fn specifier(text: &str, file: &str, line: usize) -> Result<String, JoinError> {
    let quoted = text.trim().trim_end_matches(';').trim();
    let inner = quoted
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .or_else(|| quoted.strip_prefix('\'').and_then(|rest| rest.strip_suffix('\'')))
        .ok_or_else(|| {
            JoinError::syntax(file, line, format!("expected a quoted module path, found `{quoted}`"))
        })?;
    match inner.strip_prefix("./") {
        Some(name) if name.ends_with(".js") && !name.contains('/') => Ok(name.to_string()),
        _ => Err(JoinError::syntax(
            file,
            line,
            format!("imports `{inner}`: only `./NAME.js` beside it can be imported"),
        )),
    }
}

/// Parses `import ... from "./x.js";` (whitespace and newlines already collapsed).
fn parse_import(statement: &str, file: &str, line: usize, parsed: &mut Parsed) -> Result<(), JoinError> {
    let unsupported = || {
        JoinError::syntax(file, line, format!("unsupported import `{statement}`: use `import {{ a, b as c }} from \"./x.js\";` or `import * as x from \"./x.js\";`"))
    };
    let rest = statement.strip_prefix("import ").ok_or_else(unsupported)?.trim();
    let (what, from) = rest.rsplit_once(" from ").ok_or_else(unsupported)?;
    let module = specifier(from, file, line)?;
    let what = what.trim();
    if let Some(namespace) = what.strip_prefix("* as ") {
        let namespace = namespace.trim();
        if !is_identifier(namespace) {
            return Err(unsupported());
        }
        parsed.imports.push((namespace.to_string(), module, line));
        return Ok(());
    }
    let names = what.strip_prefix('{').and_then(|w| w.strip_suffix('}')).ok_or_else(unsupported)?;
    let mut bindings = Vec::new();
    for item in names.split(',').map(str::trim).filter(|item| !item.is_empty()) {
        let (name, local) = match item.split_once(" as ") {
            Some((name, local)) => (name.trim(), local.trim()),
            None => (item, item),
        };
        if !is_identifier(name) || !is_identifier(local) {
            return Err(unsupported());
        }
        parsed.wanted.push((name.to_string(), module.clone(), line));
        bindings.push(if name == local { name.to_string() } else { format!("{name}: {local}") });
    }
    parsed.imports.push((format!("{{ {} }}", bindings.join(", ")), module, line));
    Ok(())
}

/// The name an `export` line declares, and the line without `export `.
fn parse_export(text: &str, file: &str, line: usize) -> Result<Option<(String, String)>, JoinError> {
    let declaration = &text["export ".len()..];
    if declaration.trim() == "{};" {
        return Ok(None);
    }
    let name_after = ["async function ", "function ", "class ", "const ", "let "]
        .iter()
        .find_map(|keyword| declaration.strip_prefix(keyword))
        .map(|rest| rest.trim_start().trim_start_matches('*').trim_start());
    let name: Option<String> = name_after.map(|rest| {
        rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$').collect()
    });
    match name {
        Some(name) if is_identifier(&name) => Ok(Some((name, declaration.to_string()))),
        _ => Err(JoinError::syntax(
            file,
            line,
            format!(
                "unsupported export `{}`: export one function, class, const or let per statement",
                text.trim()
            ),
        )),
    }
}

fn parse(file: &str, source: &str) -> Result<Parsed, JoinError> {
    let mut parsed =
        Parsed { imports: Vec::new(), exports: BTreeSet::new(), wanted: Vec::new(), body: String::new() };
    let mut lines = source.lines().enumerate();
    while let Some((index, text)) = lines.next() {
        let line = index + 1;
        let trimmed = text.trim_start();
        if trimmed.starts_with("//") {
            parsed.body.push('\n');
        } else if let Some(comment) = trimmed.strip_prefix("/*") {
            // A comment from the start of a line (the JSDoc): dropped, up to its `*/`.
            let mut rest = comment.split_once("*/").map(|(_, after)| after.to_string());
            while rest.is_none() {
                let (_, more) = lines
                    .next()
                    .ok_or_else(|| JoinError::syntax(file, line, "the comment does not end".to_string()))?;
                parsed.body.push('\n');
                rest = more.split_once("*/").map(|(_, after)| after.to_string());
            }
            parsed.body.push_str(rest.as_deref().unwrap_or_default());
            parsed.body.push('\n');
        } else if text.starts_with("import ") || text.starts_with("import{") {
            let mut statement = text.to_string();
            // Blank lines in its place keep the line count, so that an error's line in the
            // joined script is as far into the module as in its file.
            parsed.body.push('\n');
            while !statement.trim_end().ends_with(';') {
                let (_, more) = lines.next().ok_or_else(|| {
                    JoinError::syntax(file, line, "the import does not end with `;`".to_string())
                })?;
                statement.push(' ');
                statement.push_str(more);
                parsed.body.push('\n');
            }
            let statement = statement.split_whitespace().collect::<Vec<_>>().join(" ");
            parse_import(&statement, file, line, &mut parsed)?;
        } else if text.starts_with("export ") {
            if let Some((name, declaration)) = parse_export(text, file, line)? {
                if !parsed.exports.insert(name.clone()) {
                    return Err(JoinError::syntax(file, line, format!("`{name}` is exported twice")));
                }
                parsed.body.push_str(&declaration);
            }
            parsed.body.push('\n');
        } else {
            parsed.body.push_str(text);
            parsed.body.push('\n');
        }
    }
    Ok(parsed)
}

/// The modules `entry` reaches, imports first; an unknown module or a cycle is an error.
fn order(
    entry: &str,
    modules: &BTreeMap<String, String>,
    parsed: &mut BTreeMap<String, Parsed>,
) -> Result<Vec<String>, JoinError> {
    fn visit(
        file: &str,
        modules: &BTreeMap<String, String>,
        parsed: &mut BTreeMap<String, Parsed>,
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Result<(), JoinError> {
        if done.iter().any(|seen| seen == file) {
            return Ok(());
        }
        if let Some(start) = path.iter().position(|seen| seen == file) {
            let mut cycle = path[start..].to_vec();
            cycle.push(file.to_string());
            return Err(JoinError::Cycle(cycle));
        }
        if !parsed.contains_key(file) {
            parsed.insert(file.to_string(), parse(file, &modules[file])?);
        }
        path.push(file.to_string());
        let imports: Vec<(String, usize)> =
            parsed[file].imports.iter().map(|(_, module, line)| (module.clone(), *line)).collect();
        for (module, line) in imports {
            if !modules.contains_key(&module) {
                return Err(JoinError::syntax(
                    file,
                    line,
                    format!(
                        "imports ./{module}, which is not one of the modules ({})",
                        modules.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            visit(&module, modules, parsed, path, done)?;
        }
        path.pop();
        done.push(file.to_string());
        Ok(())
    }
    if !modules.contains_key(entry) {
        return Err(JoinError::MissingEntry(entry.to_string()));
    }
    let mut done = Vec::new();
    visit(entry, modules, parsed, &mut Vec::new(), &mut done)?;
    Ok(done)
}

/// Joins the modules `entry` reaches (`modules`: file name -> source) into one script.
pub fn join(entry: &str, modules: &BTreeMap<String, String>) -> Result<String, JoinError> {
    let mut parsed = BTreeMap::new();
    let files = order(entry, modules, &mut parsed)?;
    let mut script = String::from("\"use strict\";\n");
    for file in &files {
        let module = &parsed[file];
        for (name, from, line) in &module.wanted {
            if !parsed[from].exports.contains(name) {
                return Err(JoinError::syntax(
                    file,
                    *line,
                    format!("imports `{name}` from ./{from}, which does not export it"),
                ));
            }
        }
        let is_entry = file == entry;
        let _ = writeln!(script, "// ---- {file}");
        if is_entry {
            script.push_str("(() => {\n");
        } else {
            let _ = writeln!(script, "const {} = (() => {{", binding(file));
        }
        for (bindings, from, _) in &module.imports {
            let _ = writeln!(script, "const {bindings} = {};", binding(from));
        }
        script.push_str(&module.body);
        if !is_entry {
            let exports: Vec<&str> = module.exports.iter().map(String::as_str).collect();
            let _ = writeln!(script, "return {{ {} }};", exports.join(", "));
        }
        script.push_str("})();\n");
    }
    // The script is inlined in a <script> element: these would end or derail it.
    let lower = script.to_ascii_lowercase();
    for bad in ["</script", "<!--"] {
        if let Some(at) = lower.find(bad) {
            let line = script[..at].lines().count();
            return Err(JoinError::EndsScript { text: bad, line });
        }
    }
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules(files: &[(&str, &str)]) -> BTreeMap<String, String> {
        files.iter().map(|(name, text)| (name.to_string(), text.to_string())).collect()
    }

    #[test]
    fn joins_in_import_order_with_a_scope_each() {
        let script = join(
            "main.js",
            &modules(&[
                ("main.js", "import { twice as double } from \"./b.js\";\nimport {\n  one,\n} from \"./a.js\";\nconsole.log(double(one));\n"),
                ("b.js", "import * as a from './a.js';\n/**\n * Twice.\n * @param {number} x\n */\nconst hidden = 2; // two\n  // gone\n/** @type {number} */ (hidden);\nexport function twice(x) { return x * hidden * a.one / a.one; }\n"),
                ("a.js", "export const one = 1;\nexport {};\n"),
                ("types.js", "this is not even JavaScript"),
            ]),
        )
        .expect("joins");
        let a = script.find("const __m_a = (() => {").expect("a");
        let b = script.find("const __m_b = (() => {").expect("b");
        let main = script.find("// ---- main.js\n(() => {").expect("main");
        assert!(a < b && b < main, "{script}");
        assert!(script.contains("const one = 1;\n") && script.contains("return { one };"), "{script}");
        assert!(script.contains("const a = __m_a;\n"), "{script}");
        assert!(script.contains("function twice(x)"), "{script}");
        assert!(script.contains("return { twice };"), "{script}");
        assert!(script.contains("const { twice: double } = __m_b;\nconst { one } = __m_a;\n"), "{script}");
        assert!(!script.contains("export") && !script.contains("import") && !script.contains("not even"));
        assert!(
            !script.contains("Twice") && !script.contains("gone") && !script.contains("@type"),
            "{script}"
        );
        assert!(
            script.contains("const hidden = 2; // two\n") && script.contains("\n (hidden);\n"),
            "{script}"
        );
        assert_eq!(script.matches("const __m_a =").count(), 1, "a module is in the script once");
    }

    #[test]
    fn a_cycle_or_an_unknown_import_is_an_error_that_names_them() {
        let cycle = modules(&[
            ("main.js", "import { a } from \"./a.js\";\n"),
            ("a.js", "import { b } from \"./b.js\";\nexport const a = 1;\n"),
            ("b.js", "import { a } from \"./a.js\";\nexport const b = 2;\n"),
        ]);
        assert_eq!(join("main.js", &cycle).unwrap_err().to_string(), "import cycle: a.js -> b.js -> a.js");
        let unknown = modules(&[("main.js", "\nimport { a } from \"./nope.js\";\n")]);
        assert_eq!(
            join("main.js", &unknown).unwrap_err().to_string(),
            "main.js:2: imports ./nope.js, which is not one of the modules (main.js)"
        );
        let missing_name =
            modules(&[("main.js", "import { b } from \"./a.js\";\n"), ("a.js", "export const a = 1;\n")]);
        assert_eq!(
            join("main.js", &missing_name).unwrap_err().to_string(),
            "main.js:1: imports `b` from ./a.js, which does not export it"
        );
    }

    #[test]
    fn syntax_outside_the_subset_is_an_error_with_its_line() {
        for (source, expected) in [
            ("\nexport default 1;\n", "main.js:2: unsupported export `export default 1;`"),
            ("export { a };\n", "main.js:1: unsupported export"),
            ("import a from \"./a.js\";\n", "main.js:1: unsupported import"),
            ("import { a } from \"lodash\";\n", "main.js:1: imports `lodash`: only `./NAME.js`"),
            ("import { a } from \"./a.js\"\n", "main.js:1: the import does not end with `;`"),
        ] {
            let error = join("main.js", &modules(&[("main.js", source), ("a.js", "export const a = 1;")]))
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(expected), "{source:?}: {error}");
        }
    }

    #[test]
    fn a_script_that_would_end_its_element_is_an_error() {
        for text in ["const s = \"</script>\";", "const s = \"<!--\";", "x(); // </SCRIPT"] {
            let error = join("main.js", &modules(&[("main.js", text)])).unwrap_err().to_string();
            assert!(error.contains("would end the page's script element early"), "{error}");
        }
    }
}
