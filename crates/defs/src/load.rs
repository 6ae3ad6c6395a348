//! Reading definition files into [`Loaded`] values, collecting every problem.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use marked_yaml::types::MarkedMappingNode;
use marked_yaml::{LoadError, LoaderOptions, Node};

use super::analyzer::read_analyzer;
use super::check::{check, Language};
use super::error::{Error, ErrorKind, Errors};
use super::provision::{read_data_store, read_polling_profile, read_test_runner, NoEffect};
use super::secrets::looks_secret;
use super::source::{documents, Source};
use super::trigger::read_trigger;
use super::walk::{field, mapping_start, text_of, Ctx};
use super::{AnalyzerFile, Loaded, Output, Spec, Suite, Test, Text, Variable, VariableSet};
use analyze::AnalyzerConfig;
use lang::{Assertion, Expr, Selector};
use model::defaults::MAX_DEFINITION_FILE_SIZE;

/// Fields the Tracetest server adds to exported resources; accepted and ignored.
const READ_ONLY_FIELDS: [&str; 3] = ["version", "createdAt", "summary"];

/// Fields of a Tracetest Cloud `Environment` (a workspace), which is not a variable set.
const CLOUD_ENVIRONMENT_FIELDS: [&str; 2] = ["resources", "agentConfiguration"];

/// Every resource type a definition file may hold, by Tracetest's names (the old ones too):
/// a new type is a name here and its reader in `Loader::read_resource`.
const RESOURCE_TYPES: [&str; 11] = [
    "Test",
    "TestSuite",
    "Transaction",
    "VariableSet",
    "Environment",
    "Analyzer",
    "PollingProfile",
    "TestRunner",
    "DataStore",
    "Config",
    "Demo",
];

/// Top-level keys of a test in the flat format Tracetest used before v0.8 (no `type` and
/// `spec`), recognised to name the format instead of listing unknown fields.
const FLAT_TEST_FIELDS: [&str; 3] = ["trigger", "testDefinition", "steps"];

/// How deep below a suite's folder its steps' test IDs are looked for, and how many files
/// at most are read doing so (a suite beside a large tree must not read all of it).
const ID_SEARCH_DEPTH: usize = 4;
const ID_SEARCH_MAX_FILES: usize = 2_000;

/// Loads a definition file holding one resource: a Test, a TestSuite/Transaction (with
/// every step loaded), a VariableSet/Environment, an Analyzer or a provisioning resource.
///
/// # Errors
/// Every problem found in the file and in the step files it names, each with its file,
/// line and column; a file with several documents is an error here (see [`load_documents`]).
pub fn load_file(path: impl AsRef<Path>) -> Result<Loaded, Errors> {
    Loader::default().load(path.as_ref())
}

/// Loads every resource of a definition file, which may hold several YAML documents
/// separated by `---` lines (as `tracetest apply` takes them).
///
/// # Errors
/// Every problem of every document, each with its file, line and column.
pub fn load_documents(path: impl AsRef<Path>) -> Result<Vec<Loaded>, Errors> {
    Loader::default().load_all(path.as_ref())
}

/// Loads an Analyzer file (`--analyzer FILE`) into the analyzer's configuration.
///
/// # Errors
/// Every problem of the file, each with its position; a file of another type is an error.
pub fn load_analyzer(path: impl AsRef<Path>) -> Result<AnalyzerConfig, Errors> {
    match load_file(path)? {
        Loaded::Analyzer(file) => Ok(file.config),
        other => {
            let message = format!("expected an Analyzer file, found a {}", other.kind());
            Err(Error::without_position(other.path(), ErrorKind::Invalid(message)).into())
        }
    }
}

/// Loads every file (for `tracecheck validate`, and `run` with several files), returning
/// every resource of every file in order, or every problem in every file. A suite's step
/// that is not a path may name the id of a Test among `paths`, or of a Test file in the
/// suite's folder or below it.
///
/// # Errors
/// All problems of all files, in the order of `paths`.
pub fn validate_files<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<Loaded>, Errors> {
    let mut loader = Loader::default();
    // A suite's step may name the id of a Test given beside it on the command line.
    for path in paths {
        for id in test_ids_of(path.as_ref()) {
            loader.given_ids.entry(id).or_insert_with(|| path.as_ref().to_path_buf());
        }
    }
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match loader.load_all(path.as_ref()) {
            Ok(files) => loaded.extend(files),
            Err(file_errors) => errors.extend(file_errors),
        }
    }
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(Errors(errors))
    }
}

/// Loading state shared across files: which test IDs the files of a directory define.
#[derive(Default)]
struct Loader {
    /// Ids of the Test files given together (`validate_files`), looked up first.
    given_ids: HashMap<String, PathBuf>,
    ids_by_dir: HashMap<PathBuf, HashMap<String, PathBuf>>,
}

/// The `spec.id` of every Test in a file (one per document).
fn test_ids_of(path: &Path) -> Vec<String> {
    let Ok(source) = read_source(path) else { return Vec::new() };
    let id_of = |text: &str| {
        let Ok(Node::Mapping(root)) = parse_yaml(&source, text) else { return None };
        if root.get_scalar("type")?.as_str() != "Test" {
            return None;
        }
        Some(root.get_mapping("spec")?.get_scalar("id")?.as_str().to_string())
    };
    documents(&source.text).iter().filter_map(|text| id_of(text)).collect()
}

// A load error carries its file, position and source line; it is built at most once per
// bad file, so its size costs nothing worth a box.
#[allow(clippy::result_large_err)]
fn read_source(path: &Path) -> Result<Source, Error> {
    let io_error = |message: String| Error::without_position(path, ErrorKind::Io(message));
    let file = std::fs::File::open(path).map_err(|error| io_error(error.to_string()))?;
    // Read one byte past the limit instead of trusting the size the file had when opened.
    let limit = MAX_DEFINITION_FILE_SIZE;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(file, limit + 1), &mut text)
        .map_err(|error| io_error(error.to_string()))?;
    if text.len() as u64 > limit {
        return Err(io_error(format!(
            "the file is larger than {} MiB, the limit for a definition file",
            limit / (1024 * 1024)
        )));
    }
    Ok(Source::new(path.to_path_buf(), text))
}

/// Parses `text`, the source's text or one of its documents (see [`documents`]).
#[allow(clippy::result_large_err)]
fn parse_yaml(source: &Source, text: &str) -> Result<Node, Error> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true).prevent_coercion(true);
    marked_yaml::parse_yaml_with_options(0, text, options).map_err(|error| {
        let (marker, message) = match &error {
            LoadError::TopLevelMustBeMapping(marker) => {
                (*marker, "a definition file must be a mapping with `type` and `spec`".to_string())
            }
            LoadError::TopLevelMustBeSequence(marker) => (*marker, "unexpected top-level list".to_string()),
            LoadError::UnexpectedAnchor(marker) => {
                (*marker, "yaml anchors and aliases are not supported".to_string())
            }
            LoadError::MappingKeyMustBeScalar(marker) => {
                (*marker, "mapping keys must be plain strings".to_string())
            }
            LoadError::UnexpectedTag(marker) => (*marker, "yaml tags are not supported".to_string()),
            LoadError::ScanError(marker, scan) => (*marker, scan.info().to_string()),
            LoadError::DuplicateKey(inner) => {
                let marker = inner.key.span().start().copied().unwrap_or_default_marker();
                (marker, format!("duplicate key `{}`", inner.key.as_str()))
            }
        };
        let (line, col) = (marker.line(), source.original_col(marker.line(), marker.column()));
        Error {
            path: source.path.clone(),
            line,
            col,
            kind: ErrorKind::Yaml(message),
            source_line: source.original_line(line),
        }
    })
}

trait MarkerDefault {
    fn unwrap_or_default_marker(self) -> marked_yaml::Marker;
}

impl MarkerDefault for Option<marked_yaml::Marker> {
    fn unwrap_or_default_marker(self) -> marked_yaml::Marker {
        self.unwrap_or_else(|| marked_yaml::Marker::new(0, 0, 0, 0))
    }
}

pub(super) fn base_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `dir/rel` without `.` components, so messages show `tests/x.yaml`, not `tests/./x.yaml`.
pub(super) fn join_clean(dir: &Path, rel: &str) -> PathBuf {
    let mut path = dir.to_path_buf();
    for component in Path::new(rel).components() {
        match component {
            std::path::Component::CurDir => {}
            other => path.push(other.as_os_str()),
        }
    }
    path
}

pub(super) fn looks_like_path(text: &str) -> bool {
    text.starts_with("./") || text.starts_with("../") || text.starts_with('/')
}

impl Loader {
    /// A file that must hold exactly one resource.
    fn load(&mut self, path: &Path) -> Result<Loaded, Errors> {
        let mut loaded = self.load_all(path)?;
        if loaded.len() == 1 {
            return Ok(loaded.remove(0));
        }
        let message = format!("expected one resource in the file, found {} documents", loaded.len());
        Err(Error::without_position(path, ErrorKind::Invalid(message)).into())
    }

    /// Every document of a file, each one resource.
    fn load_all(&mut self, path: &Path) -> Result<Vec<Loaded>, Errors> {
        let source = read_source(path)?;
        let mut loaded = Vec::new();
        let mut errors = Vec::new();
        let texts = documents(&source.text);
        if texts.is_empty() {
            let message = "the file holds no resource (expected `type` and `spec`)".to_string();
            return Err(Error::without_position(path, ErrorKind::Invalid(message)).into());
        }
        for text in &texts {
            let root = match parse_yaml(&source, text) {
                Ok(root) => root,
                Err(error) => {
                    errors.push(error);
                    continue;
                }
            };
            let mut ctx = Ctx::new(&source);
            let mut step_errors = Vec::new();
            let resource = self.read_resource(&mut ctx, &root, &mut step_errors);
            let n_errors = ctx.errors.len() + step_errors.len();
            errors.extend(ctx.errors);
            errors.extend(step_errors);
            match resource {
                Some(resource) if n_errors == 0 => loaded.push(resource),
                Some(_) => {}
                None if n_errors == 0 => {
                    // Every `None` path records an error; this is a guard, not a case.
                    errors
                        .push(Error::without_position(path, ErrorKind::Invalid("invalid definition".into())));
                }
                None => {}
            }
        }
        if errors.is_empty() {
            Ok(loaded)
        } else {
            Err(Errors(errors))
        }
    }

    fn read_resource(&mut self, ctx: &mut Ctx, root: &Node, step_errors: &mut Vec<Error>) -> Option<Loaded> {
        let map = ctx.mapping(root, "the file")?;
        if field(map, "type").is_none() {
            if let Some(key) = map.keys().find(|key| FLAT_TEST_FIELDS.contains(&key.as_str())) {
                // One message for the whole file instead of an unknown field per key.
                let message = format!(
                    "this is Tracetest's flat test format from before v0.8 (`{}` at the top level); \
                     a definition is now `type: Test` (or `TestSuite`) with its fields under `spec:`, \
                     and `testDefinition` is called `specs`",
                    key.as_str()
                );
                ctx.error(key.span(), ErrorKind::Invalid(message));
                return None;
            }
        }
        ctx.check_fields(map, "the file (expected `type` and `spec`)", &["type", "spec"]);
        let kind = ctx.non_empty_text(map, "type", "the file");
        let spec_node = ctx.required(map, "spec", "the file");
        let kind = kind?;
        let path = ctx.source.path.clone();
        let Some(kind_name) = RESOURCE_TYPES.iter().copied().find(|name| *name == kind.value) else {
            ctx.error_at(
                kind.line,
                kind.col,
                ErrorKind::Invalid(format!(
                    "unsupported resource type `{}`; expected one of {}",
                    kind.value,
                    RESOURCE_TYPES.join(", ")
                )),
            );
            return None;
        };
        let spec = ctx.mapping(spec_node?, "spec")?;
        if kind.value == "Environment" {
            if let Some(key) = spec.keys().find(|key| CLOUD_ENVIRONMENT_FIELDS.contains(&key.as_str())) {
                // Tracetest Cloud reuses the name `Environment` for a workspace (its
                // resources and agent); only the old variable-set `Environment` is a run's
                // `--vars`.
                let message = format!(
                    "this is a Tracetest Cloud Environment (a workspace with `{}`), not a variable set; \
                     give `--vars` a VariableSet file (`type: VariableSet` with `values`)",
                    key.as_str()
                );
                ctx.error(key.span(), ErrorKind::Invalid(message));
                return None;
            }
        }
        match kind_name {
            "Test" => read_test(ctx, spec).map(Loaded::Test),
            "TestSuite" | "Transaction" => self
                .read_suite(ctx, spec, step_errors)
                .map(|suite| Loaded::Suite(Suite { transaction: kind_name == "Transaction", ..suite })),
            "Analyzer" => {
                read_analyzer(ctx, spec).map(|config| Loaded::Analyzer(AnalyzerFile { path, config }))
            }
            "VariableSet" | "Environment" => read_variable_set(ctx, spec).map(Loaded::VariableSet),
            "PollingProfile" => read_polling_profile(ctx, spec).map(Loaded::PollingProfile),
            "TestRunner" => read_test_runner(ctx, spec).map(Loaded::TestRunner),
            "DataStore" => read_data_store(ctx, spec).map(Loaded::DataStore),
            // Config and Demo: any spec is accepted; the run says they have no effect.
            other => Some(Loaded::NoEffect(NoEffect { path, kind: other })),
        }
    }

    fn read_suite(
        &mut self,
        ctx: &mut Ctx,
        map: &MarkedMappingNode,
        step_errors: &mut Vec<Error>,
    ) -> Option<Suite> {
        let context = "the TestSuite spec";
        let mut allowed = vec!["id", "name", "description", "steps"];
        allowed.extend(READ_ONLY_FIELDS);
        ctx.check_fields(map, context, &allowed);
        let id = ctx.optional_text(map, "id").map(|text| text.value);
        let name = ctx.non_empty_text(map, "name", context);
        let description = ctx.optional_text(map, "description").map(|text| text.value);
        let dir = base_dir(&ctx.source.path);
        let mut steps = Vec::new();
        let mut by_id = Vec::new();
        let steps_node = ctx.required(map, "steps", context);
        if let Some(items) = steps_node.and_then(|node| ctx.sequence(node, "steps")) {
            for item in items {
                let Some(step) = ctx.text(item, "steps") else { continue };
                if let Some((test, named_by_id)) = self.read_step(ctx, &dir, &step, step_errors) {
                    steps.push(test);
                    by_id.push(named_by_id);
                }
            }
        }
        Some(Suite {
            path: ctx.source.path.clone(),
            id,
            name: name?.value,
            description,
            steps,
            by_id,
            transaction: false,
        })
    }

    /// A step names a test file (`./x.yaml`, `../x.yaml`, `/abs/x.yaml`, or an existing
    /// relative path) or the id of a Test given alongside or in the suite's folder tree;
    /// the test, and whether it was named by its id.
    fn read_step(
        &mut self,
        ctx: &mut Ctx,
        dir: &Path,
        step: &Text,
        step_errors: &mut Vec<Error>,
    ) -> Option<(Test, bool)> {
        let value = step.value.trim();
        if value.is_empty() {
            ctx.error_at(step.line, step.col, ErrorKind::Invalid("a step must not be empty".into()));
            return None;
        }
        let candidate = join_clean(dir, value);
        let path = if looks_like_path(value) || candidate.is_file() {
            if !candidate.is_file() {
                let message = format!("step file {} not found", candidate.display());
                ctx.error_at(step.line, step.col, ErrorKind::Invalid(message));
                return None;
            }
            candidate
        } else {
            let found = self.given_ids.get(value).cloned().or_else(|| self.ids_in(dir).get(value).cloned());
            match found {
                Some(path) => path,
                None => {
                    let message = format!(
                        "no Test with id `{value}` in {} or below it, nor among the files given; a step is a test file (./file.yaml) or the id of a Test",
                        dir.display()
                    );
                    ctx.error_at(step.line, step.col, ErrorKind::Invalid(message));
                    return None;
                }
            }
        };
        let by_id = !(looks_like_path(value) || join_clean(dir, value).is_file());
        match self.load_all(&path) {
            Ok(loaded) => {
                // A file named by a step holds one Test; one found by id may hold more.
                let mut tests = loaded.into_iter().filter_map(|resource| match resource {
                    Loaded::Test(test) if !by_id || test.id.as_deref() == Some(value) => Some(test),
                    _ => None,
                });
                let test = tests.next();
                if test.is_none() || (!by_id && tests.next().is_some()) {
                    let message = format!("step {} must hold exactly one Test", path.display());
                    ctx.error_at(step.line, step.col, ErrorKind::Invalid(message));
                    return None;
                }
                test.map(|test| (test, by_id))
            }
            Err(errors) => {
                step_errors.extend(errors);
                None
            }
        }
    }

    /// Test ids defined by the YAML files of a directory and its subdirectories (scanned
    /// once per directory; hidden folders and `node_modules` skipped). The shallowest file
    /// wins an id defined twice, then the first in name order.
    fn ids_in(&mut self, dir: &Path) -> &HashMap<String, PathBuf> {
        self.ids_by_dir.entry(dir.to_path_buf()).or_insert_with(|| {
            let mut ids = HashMap::new();
            let mut level = vec![dir.to_path_buf()];
            let mut n_files = 0;
            for _ in 0..=ID_SEARCH_DEPTH {
                let mut next = Vec::new();
                for folder in level {
                    let Ok(entries) = std::fs::read_dir(&folder) else { continue };
                    let mut paths: Vec<PathBuf> =
                        entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect();
                    paths.sort();
                    for path in paths {
                        let name = path.file_name().map(|name| name.to_string_lossy().into_owned());
                        let name = name.unwrap_or_default();
                        if path.is_dir() {
                            if !name.starts_with('.') && name != "node_modules" {
                                next.push(path);
                            }
                        } else if (name.ends_with(".yaml") || name.ends_with(".yml"))
                            && n_files < ID_SEARCH_MAX_FILES
                        {
                            n_files += 1;
                            for id in test_ids_of(&path) {
                                ids.entry(id).or_insert_with(|| path.clone());
                            }
                        }
                    }
                }
                level = next;
            }
            ids
        })
    }
}

/// Checks `text` as `language`, recording each problem at its position.
pub(super) fn check_text(ctx: &mut Ctx, language: Language, text: &Text) {
    for (offset, message) in check(language, &text.value) {
        ctx.error_in_text(text, offset, ErrorKind::Expression { what: language.describe(), message });
    }
}

/// Parses `text` as `language` with `parse`, recording a problem at its position; `None`
/// when it does not parse.
fn parse_text<T>(
    ctx: &mut Ctx,
    language: Language,
    text: &Text,
    parse: fn(&str) -> Result<T, lang::Error>,
) -> Option<T> {
    match parse(&text.value) {
        Ok(tree) => Some(tree),
        Err(_) => {
            check_text(ctx, language, text);
            None
        }
    }
}

/// A selector's tree; the empty selector (every span) needs no parsing.
fn parse_selector(ctx: &mut Ctx, text: &Text) -> Option<Selector> {
    if text.value.trim().is_empty() {
        return Some(Selector::default());
    }
    parse_text(ctx, Language::Selector, text, Selector::parse)
}

fn read_test(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<Test> {
    let context = "the Test spec";
    let mut allowed = vec![
        "id",
        "name",
        "description",
        "pollingProfile",
        "skipTraceCollection",
        "trigger",
        "specs",
        "outputs",
    ];
    allowed.extend(READ_ONLY_FIELDS);
    ctx.check_fields(map, context, &allowed);
    let id = ctx.optional_text(map, "id").map(|text| text.value);
    let name = ctx.non_empty_text(map, "name", context);
    let description = ctx.optional_text(map, "description").map(|text| text.value);
    let polling_profile = ctx.optional_text(map, "pollingProfile").map(|text| text.value);
    let skip_trace_collection = ctx.optional_bool(map, "skipTraceCollection").unwrap_or(false);
    let trigger = ctx.required(map, "trigger", context).and_then(|node| read_trigger(ctx, node));
    let specs = field(map, "specs").map(|node| read_specs(ctx, node)).unwrap_or_default();
    let outputs = field(map, "outputs").map(|node| read_outputs(ctx, node)).unwrap_or_default();
    Some(Test {
        path: ctx.source.path.clone(),
        id,
        name: name?.value,
        description,
        polling_profile,
        skip_trace_collection,
        trigger: trigger?,
        specs,
        outputs,
    })
}

/// Specs as a list of `{selector, name, assertions}`, or the older map from selector to
/// `{name, assertions}`.
fn read_specs(ctx: &mut Ctx, node: &Node) -> Vec<Spec> {
    let mut specs = Vec::new();
    match node {
        Node::Sequence(items) => {
            for item in items.iter() {
                let Some(map) = ctx.mapping(item, "specs") else { continue };
                ctx.check_fields(map, "a spec", &["selector", "name", "assertions"]);
                let selector = ctx.optional_text(map, "selector").unwrap_or_else(|| empty_text_at(map));
                if let Some(spec) = read_spec_body(ctx, map, selector) {
                    specs.push(spec);
                }
            }
        }
        Node::Mapping(map) => {
            for (key, value) in map.iter() {
                let Some(body) = ctx.mapping(value, "a spec") else { continue };
                ctx.check_fields(body, "a spec", &["name", "assertions"]);
                if let Some(spec) = read_spec_body(ctx, body, text_of(key)) {
                    specs.push(spec);
                }
            }
        }
        other => ctx.wrong_type(other, "specs", "a list"),
    }
    specs
}

fn empty_text_at(map: &MarkedMappingNode) -> Text {
    let (line, col) =
        mapping_start(map).start().map(|marker| (marker.line(), marker.column())).unwrap_or((0, 0));
    Text { value: String::new(), line, col }
}

fn read_spec_body(ctx: &mut Ctx, map: &MarkedMappingNode, selector: Text) -> Option<Spec> {
    let name = ctx.optional_text(map, "name").map(|text| text.value);
    let selector_tree = parse_selector(ctx, &selector);
    let mut assertions = Vec::new();
    let mut assertion_trees = Some(Vec::new());
    if let Some(items) = field(map, "assertions").and_then(|node| ctx.sequence(node, "assertions")) {
        for item in items {
            if let Some(text) = ctx.text(item, "assertions") {
                let tree = parse_text(ctx, Language::Assertion, &text, Assertion::parse);
                match (tree, assertion_trees.as_mut()) {
                    (Some(tree), Some(trees)) => trees.push(tree),
                    _ => assertion_trees = None,
                }
                assertions.push(text);
            }
        }
    }
    if selector.value.trim().is_empty() && assertions.is_empty() {
        ctx.invalid(mapping_start(map), "a spec with an empty selector must have assertions");
        return None;
    }
    Some(Spec {
        selector,
        name,
        assertions,
        selector_tree: selector_tree?,
        assertion_trees: assertion_trees?,
    })
}

/// Outputs as a list of `{name, selector, value}`, or the older map from name to
/// `{selector, value}`.
fn read_outputs(ctx: &mut Ctx, node: &Node) -> Vec<Output> {
    let mut outputs = Vec::new();
    match node {
        Node::Sequence(items) => {
            for item in items.iter() {
                let Some(map) = ctx.mapping(item, "outputs") else { continue };
                ctx.check_fields(map, "an output", &["name", "selector", "value"]);
                let name = ctx.non_empty_text(map, "name", "an output");
                if let Some(output) = read_output_body(ctx, map, name) {
                    outputs.push(output);
                }
            }
        }
        Node::Mapping(map) => {
            for (key, value) in map.iter() {
                let Some(body) = ctx.mapping(value, "an output") else { continue };
                ctx.check_fields(body, "an output", &["selector", "value"]);
                if let Some(output) = read_output_body(ctx, body, Some(text_of(key))) {
                    outputs.push(output);
                }
            }
        }
        other => ctx.wrong_type(other, "outputs", "a list"),
    }
    outputs
}

fn read_output_body(ctx: &mut Ctx, map: &MarkedMappingNode, name: Option<Text>) -> Option<Output> {
    let selector = ctx.optional_text(map, "selector").unwrap_or_else(|| empty_text_at(map));
    let selector_tree = parse_selector(ctx, &selector);
    let value = ctx.required_text(map, "value", "an output");
    let mut value_tree = None;
    if let Some(value) = &value {
        if value.value.trim().is_empty() {
            ctx.error_at(
                value.line,
                value.col,
                ErrorKind::Invalid("an output's `value` must not be empty".into()),
            );
        } else {
            value_tree = parse_text(ctx, Language::Expression, value, Expr::parse);
        }
    }
    Some(Output {
        name: name?.value,
        selector,
        value: value?,
        selector_tree: selector_tree?,
        value_tree: value_tree?,
    })
}

fn read_variable_set(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<VariableSet> {
    let context = "the VariableSet spec";
    let mut allowed = vec!["id", "name", "description", "values"];
    allowed.extend(READ_ONLY_FIELDS);
    ctx.check_fields(map, context, &allowed);
    let id = ctx.optional_text(map, "id").map(|text| text.value);
    let name = ctx.non_empty_text(map, "name", context);
    let description = ctx.optional_text(map, "description").map(|text| text.value);
    let mut values = Vec::new();
    if let Some(items) = field(map, "values").and_then(|node| ctx.sequence(node, "values")) {
        for item in items {
            let Some(entry) = ctx.mapping(item, "values") else { continue };
            ctx.check_fields(entry, "a variable", &["key", "value", "type"]);
            let key = ctx.non_empty_text(entry, "key", "a variable");
            let value = ctx.optional_text(entry, "value").map(|text| text.value).unwrap_or_default();
            let secret = match ctx.optional_text(entry, "type") {
                // Tracetest's default is `raw`; a name like `API_KEY` is masked anyway, as a
                // user who never wrote a type expects a token kept out of CI logs.
                None => key.as_ref().is_some_and(|key| looks_secret(&key.value)),
                Some(text) if text.value == "raw" => false,
                Some(text) if text.value == "secret" => true,
                Some(text) => {
                    let message =
                        format!("variable `type` must be `raw` or `secret`, found `{}`", text.value);
                    ctx.error_at(text.line, text.col, ErrorKind::Invalid(message));
                    false
                }
            };
            if let Some(key) = key {
                values.push(Variable { key: key.value, value, secret });
            }
        }
    }
    Some(VariableSet { path: ctx.source.path.clone(), id, name: name?.value, description, values })
}
