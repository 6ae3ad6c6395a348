//! Reading definition files into [`Loaded`] values, collecting every problem.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use marked_yaml::types::MarkedMappingNode;
use marked_yaml::{LoadError, LoaderOptions, Node};

use super::check::{check, Language};
use super::error::{Error, ErrorKind, Errors};
use super::source::{line_of, Source};
use super::walk::{field, mapping_start, text_of, Ctx};
use super::{AnalyzerFile, Loaded, Output, Spec, Suite, Test, Text, Variable, VariableSet};
use crate::defaults::MAX_DEFINITION_FILE_SIZE;
use crate::lang::{Assertion, Expr, Selector};
use crate::trigger::{grpc, ApiKeyLocation, Auth, GrpcTrigger, Header, HttpTrigger, TraceIdTrigger, Trigger};

/// Fields the Tracetest server adds to exported resources; accepted and ignored.
const READ_ONLY_FIELDS: [&str; 3] = ["version", "createdAt", "summary"];

/// Fields of a Tracetest Cloud `Environment` (a workspace), which is not a variable set.
const CLOUD_ENVIRONMENT_FIELDS: [&str; 2] = ["resources", "agentConfiguration"];

const TRIGGER_TYPES: &str = "http, grpc or traceid";

/// Loads one definition file: a Test, a TestSuite/Transaction (with every step loaded), a
/// VariableSet/Environment, or an Analyzer (recognised, not parsed).
///
/// # Errors
/// Every problem found in the file and in the step files it names, each with its file,
/// line and column.
pub fn load_file(path: impl AsRef<Path>) -> Result<Loaded, Errors> {
    Loader::default().load(path.as_ref())
}

/// Loads every file (for `tracecheck validate`, and `run` with several files), returning
/// all of them or every problem in every file. A suite's step that is not a path may name
/// the id of a Test among `paths`, or of a Test file in the suite's directory.
///
/// # Errors
/// All problems of all files, in the order of `paths`.
pub fn validate_files<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<Loaded>, Errors> {
    let mut loader = Loader::default();
    // A suite's step may name the id of a Test given beside it on the command line.
    for path in paths {
        if let Some(id) = test_id_of(path.as_ref()) {
            loader.given_ids.entry(id).or_insert_with(|| path.as_ref().to_path_buf());
        }
    }
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match loader.load(path.as_ref()) {
            Ok(file) => loaded.push(file),
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

/// The `spec.id` of a Test file, if the file is one and has an id.
fn test_id_of(path: &Path) -> Option<String> {
    let source = read_source(path).ok()?;
    let Ok(Node::Mapping(root)) = parse_yaml(&source) else { return None };
    if root.get_scalar("type")?.as_str() != "Test" {
        return None;
    }
    Some(root.get_mapping("spec")?.get_scalar("id")?.as_str().to_string())
}

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

fn parse_yaml(source: &Source) -> Result<Node, Error> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true).prevent_coercion(true);
    marked_yaml::parse_yaml_with_options(0, &source.text, options).map_err(|error| {
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

fn base_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `dir/rel` without `.` components, so messages show `tests/x.yaml`, not `tests/./x.yaml`.
fn join_clean(dir: &Path, rel: &str) -> PathBuf {
    let mut path = dir.to_path_buf();
    for component in Path::new(rel).components() {
        match component {
            std::path::Component::CurDir => {}
            other => path.push(other.as_os_str()),
        }
    }
    path
}

fn looks_like_path(text: &str) -> bool {
    text.starts_with("./") || text.starts_with("../") || text.starts_with('/')
}

impl Loader {
    fn load(&mut self, path: &Path) -> Result<Loaded, Errors> {
        let source = read_source(path)?;
        let root = parse_yaml(&source)?;
        let mut ctx = Ctx::new(&source);
        let mut step_errors = Vec::new();
        let loaded = self.read_resource(&mut ctx, &root, &mut step_errors);
        let mut errors = ctx.errors;
        errors.extend(step_errors);
        match loaded {
            Some(loaded) if errors.is_empty() => Ok(loaded),
            _ => {
                if errors.is_empty() {
                    // Every `None` path records an error; this is a guard, not a case.
                    errors
                        .push(Error::without_position(path, ErrorKind::Invalid("invalid definition".into())));
                }
                Err(Errors(errors))
            }
        }
    }

    fn read_resource(&mut self, ctx: &mut Ctx, root: &Node, step_errors: &mut Vec<Error>) -> Option<Loaded> {
        let map = ctx.mapping(root, "the file")?;
        ctx.check_fields(map, "the file (expected `type` and `spec`)", &["type", "spec"]);
        let kind = ctx.non_empty_text(map, "type", "the file");
        let spec_node = ctx.required(map, "spec", "the file");
        let kind = kind?;
        let path = ctx.source.path.clone();
        match kind.value.as_str() {
            "Analyzer" => {
                // `analyze` owns the Analyzer resource; its errors join this file's.
                let label = path.display().to_string();
                return match crate::analyze::AnalyzerConfig::from_node(root, &label) {
                    Ok(config) => Some(Loaded::Analyzer(AnalyzerFile { path, config })),
                    Err(errors) => {
                        for error in errors {
                            ctx.error_at(error.line, error.column, ErrorKind::Invalid(error.message));
                        }
                        None
                    }
                };
            }
            "Test" | "TestSuite" | "Transaction" | "VariableSet" | "Environment" => {}
            other => {
                ctx.error_at(
                    kind.line,
                    kind.col,
                    ErrorKind::Invalid(format!(
                        "unsupported resource type `{other}`; expected Test, TestSuite, Transaction, VariableSet, Environment or Analyzer"
                    )),
                );
                return None;
            }
        }
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
        match kind.value.as_str() {
            "Test" => read_test(ctx, spec).map(Loaded::Test),
            "TestSuite" | "Transaction" => self.read_suite(ctx, spec, step_errors).map(Loaded::Suite),
            _ => read_variable_set(ctx, spec).map(Loaded::VariableSet),
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
        let steps_node = ctx.required(map, "steps", context);
        if let Some(items) = steps_node.and_then(|node| ctx.sequence(node, "steps")) {
            for item in items {
                let Some(step) = ctx.text(item, "steps") else { continue };
                if let Some(test) = self.read_step(ctx, &dir, &step, step_errors) {
                    steps.push(test);
                }
            }
        }
        Some(Suite { path: ctx.source.path.clone(), id, name: name?.value, description, steps })
    }

    /// A step names a test file (`./x.yaml`, `../x.yaml`, `/abs/x.yaml`, or an existing
    /// relative path) or the id of a Test given alongside or in the suite's directory.
    fn read_step(
        &mut self,
        ctx: &mut Ctx,
        dir: &Path,
        step: &Text,
        step_errors: &mut Vec<Error>,
    ) -> Option<Test> {
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
                        "no Test with id `{value}` in {}; a step is a test file (./file.yaml) or the id of a Test file beside the suite",
                        dir.display()
                    );
                    ctx.error_at(step.line, step.col, ErrorKind::Invalid(message));
                    return None;
                }
            }
        };
        match self.load(&path) {
            Ok(Loaded::Test(test)) => Some(test),
            Ok(other) => {
                let message = format!("step {} is a {}, expected a Test", path.display(), other.kind());
                ctx.error_at(step.line, step.col, ErrorKind::Invalid(message));
                None
            }
            Err(errors) => {
                step_errors.extend(errors);
                None
            }
        }
    }

    /// Test ids defined by the YAML files of a directory (scanned once per directory).
    fn ids_in(&mut self, dir: &Path) -> &HashMap<String, PathBuf> {
        self.ids_by_dir.entry(dir.to_path_buf()).or_insert_with(|| {
            let mut ids = HashMap::new();
            let Ok(entries) = std::fs::read_dir(dir) else { return ids };
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml"))
                .collect();
            paths.sort();
            for path in paths {
                if let Some(id) = test_id_of(&path) {
                    ids.entry(id).or_insert(path);
                }
            }
            ids
        })
    }
}

/// Checks `text` as `language`, recording each problem at its position.
fn check_text(ctx: &mut Ctx, language: Language, text: &Text) {
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
    parse: fn(&str) -> Result<T, crate::lang::Error>,
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

fn read_trigger(ctx: &mut Ctx, node: &Node) -> Option<Trigger> {
    let map = ctx.mapping(node, "trigger")?;
    ctx.check_fields(
        map,
        "the trigger",
        &["type", "httpRequest", "grpc", "traceid", "kafka", "graphql", "playwrightEngine"],
    );
    let kind = ctx.non_empty_text(map, "type", "the trigger")?;
    let sub = |ctx: &mut Ctx, key: &str| {
        ctx.required(map, key, "the trigger").and_then(|node| ctx.mapping(node, key))
    };
    match kind.value.as_str() {
        "http" => sub(ctx, "httpRequest").and_then(|map| read_http(ctx, map)).map(Trigger::Http),
        "grpc" => sub(ctx, "grpc").and_then(|map| read_grpc(ctx, map)).map(Trigger::Grpc),
        "traceid" => sub(ctx, "traceid").and_then(|map| read_traceid(ctx, map)).map(Trigger::TraceId),
        // Tracetest's integrations behave like a traceid trigger reading the env variable.
        "cypress" | "playwright" | "artillery" | "k6" => {
            Some(Trigger::TraceId(TraceIdTrigger { id: "${env:TRACE_ID}".to_string() }))
        }
        other => {
            let message = if matches!(other, "kafka" | "graphql" | "playwrightengine") {
                format!("trigger type `{other}` is not supported by tracecheck; use {TRIGGER_TYPES}")
            } else {
                format!("unknown trigger type `{other}`; expected {TRIGGER_TYPES}")
            };
            ctx.error_at(kind.line, kind.col, ErrorKind::Invalid(message));
            None
        }
    }
}

/// An optional template field: its text (empty when absent), checked.
fn template(ctx: &mut Ctx, map: &MarkedMappingNode, key: &str) -> Option<Text> {
    let text = ctx.optional_text(map, key)?;
    check_text(ctx, Language::Template, &text);
    Some(text)
}

fn required_template(ctx: &mut Ctx, map: &MarkedMappingNode, key: &str, context: &str) -> Option<Text> {
    let text = ctx.non_empty_text(map, key, context)?;
    check_text(ctx, Language::Template, &text);
    Some(text)
}

fn read_headers(ctx: &mut Ctx, map: &MarkedMappingNode, key: &str) -> Vec<Header> {
    let mut headers = Vec::new();
    let Some(items) = field(map, key).and_then(|node| ctx.sequence(node, key)) else { return headers };
    for item in items {
        let Some(entry) = ctx.mapping(item, key) else { continue };
        ctx.check_fields(entry, &format!("an entry of `{key}`"), &["key", "value"]);
        let name = template(ctx, entry, "key").map(|text| text.value).unwrap_or_default();
        let value = template(ctx, entry, "value").map(|text| text.value).unwrap_or_default();
        headers.push(Header { key: name, value });
    }
    headers
}

fn read_auth(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<Auth> {
    let map = ctx.mapping(field(map, "auth")?, "auth")?;
    ctx.check_fields(map, "auth", &["type", "basic", "apiKey", "bearer"]);
    let kind = ctx.non_empty_text(map, "type", "auth")?;
    let sub =
        |ctx: &mut Ctx, key: &str| ctx.required(map, key, "auth").and_then(|node| ctx.mapping(node, key));
    match kind.value.as_str() {
        "basic" => {
            let basic = sub(ctx, "basic")?;
            ctx.check_fields(basic, "basic auth", &["username", "password"]);
            let username = template(ctx, basic, "username").map(|text| text.value).unwrap_or_default();
            let password = template(ctx, basic, "password").map(|text| text.value).unwrap_or_default();
            Some(Auth::Basic { username, password })
        }
        "apiKey" => {
            let api_key = sub(ctx, "apiKey")?;
            ctx.check_fields(api_key, "apiKey auth", &["key", "value", "in"]);
            let key = required_template(ctx, api_key, "key", "apiKey auth").map(|text| text.value);
            let value = template(ctx, api_key, "value").map(|text| text.value).unwrap_or_default();
            let location = match ctx.optional_text(api_key, "in") {
                None => ApiKeyLocation::Header,
                Some(text) if text.value == "header" => ApiKeyLocation::Header,
                Some(text) if text.value == "query" => ApiKeyLocation::Query,
                Some(text) => {
                    let message = format!("apiKey `in` must be `header` or `query`, found `{}`", text.value);
                    ctx.error_at(text.line, text.col, ErrorKind::Invalid(message));
                    ApiKeyLocation::Header
                }
            };
            Some(Auth::ApiKey { key: key?, value, location })
        }
        "bearer" => {
            let bearer = sub(ctx, "bearer")?;
            ctx.check_fields(bearer, "bearer auth", &["token"]);
            let token = template(ctx, bearer, "token").map(|text| text.value).unwrap_or_default();
            Some(Auth::Bearer { token })
        }
        other => {
            let message = format!("unknown auth type `{other}`; expected basic, apiKey or bearer");
            ctx.error_at(kind.line, kind.col, ErrorKind::Invalid(message));
            None
        }
    }
}

fn read_http(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<HttpTrigger> {
    let context = "httpRequest";
    ctx.check_fields(map, context, &["method", "url", "headers", "body", "sslVerification", "auth"]);
    let method = match ctx.optional_text(map, "method") {
        None => "GET".to_string(),
        Some(text) => {
            let method = text.value.trim().to_ascii_uppercase();
            if method.is_empty() || !method.bytes().all(|byte| byte.is_ascii_alphabetic()) {
                let message = format!("invalid http method `{}`", text.value);
                ctx.error_at(text.line, text.col, ErrorKind::Invalid(message));
            }
            method
        }
    };
    let url = required_template(ctx, map, "url", context);
    let headers = read_headers(ctx, map, "headers");
    let body = read_body(ctx, map);
    let ssl_verification = ctx.optional_bool(map, "sslVerification").unwrap_or(false);
    let auth = read_auth(ctx, map);
    Some(HttpTrigger { method, url: url?.value, headers, body, ssl_verification, auth })
}

/// The body text; a value naming an existing file (`./`, `../`, `/`) is replaced by the
/// file's content, as Tracetest's CLI does, and checked as a template in that file.
fn read_body(ctx: &mut Ctx, map: &MarkedMappingNode) -> String {
    let Some(text) = ctx.optional_text(map, "body") else { return String::new() };
    let value = text.value.trim();
    if looks_like_path(value) && !value.contains('\n') {
        let path = join_clean(&base_dir(&ctx.source.path), value);
        if path.is_file() {
            match std::fs::read_to_string(&path) {
                Ok(content) => {
                    for (offset, message) in check(Language::Template, &content) {
                        let (line, col) = offset_position(&content, offset);
                        ctx.errors.push(Error {
                            path: path.clone(),
                            line,
                            col,
                            kind: ErrorKind::Expression { what: Language::Template.describe(), message },
                            source_line: line_of(&content, line),
                        });
                    }
                    return content;
                }
                Err(error) => {
                    let message = format!("cannot read body file {}: {error}", path.display());
                    ctx.error_at(text.line, text.col, ErrorKind::Invalid(message));
                    return String::new();
                }
            }
        }
    }
    check_text(ctx, Language::Template, &text);
    text.value
}

/// 1-based line and column (in characters) of a byte offset in a text.
fn offset_position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|idx| idx + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

fn read_grpc(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<GrpcTrigger> {
    let context = "grpc";
    ctx.check_fields(
        map,
        context,
        &["protobufFile", "address", "method", "request", "metadata", "service", "auth"],
    );
    let dir = base_dir(&ctx.source.path);
    let proto_text = ctx.non_empty_text(map, "protobufFile", context);
    let proto = proto_text.as_ref().and_then(|text| {
        let value = text.value.trim();
        let is_inline = value.contains('\n') || value.contains('{') || value.starts_with("syntax");
        if is_inline {
            return Some((text.value.clone(), "trigger.proto".to_string(), Some(dir.clone())));
        }
        let path = join_clean(&dir, value);
        match std::fs::read_to_string(&path) {
            Ok(content) => {
                let name = path.file_name().map(|name| name.to_string_lossy().into_owned());
                Some((content, name.unwrap_or_else(|| "trigger.proto".into()), Some(base_dir(&path))))
            }
            Err(error) => {
                let message = format!("cannot read protobuf file {}: {error}", path.display());
                ctx.error_at(text.line, text.col, ErrorKind::Invalid(message));
                None
            }
        }
    });
    let address = required_template(ctx, map, "address", context);
    let method = required_template(ctx, map, "method", context);
    let request = template(ctx, map, "request").map(|text| text.value).unwrap_or_default();
    let metadata = read_headers(ctx, map, "metadata");
    let service = ctx.optional_text(map, "service").map(|text| text.value);
    let auth = read_auth(ctx, map);
    let (proto, proto_name, proto_dir) = proto?;
    let trigger = GrpcTrigger {
        proto,
        proto_name,
        proto_dir,
        address: address?.value,
        method: method.as_ref()?.value.clone(),
        request,
        metadata,
        service,
        auth,
    };
    // Check the proto and, when the method is not a template, that it names a unary
    // method, so a typo fails at load time rather than at run time.
    let proto_text = proto_text?;
    match grpc::compile_proto(&trigger.proto_name, &trigger.proto, trigger.proto_dir.as_deref()) {
        Err(error) => ctx.error_at(proto_text.line, proto_text.col, ErrorKind::Invalid(error.to_string())),
        Ok(_) if !trigger.method.contains("${") => {
            if let Err(error) = trigger.method_descriptor() {
                let method = method?;
                ctx.error_at(method.line, method.col, ErrorKind::Invalid(error.to_string()));
            }
        }
        Ok(_) => {}
    }
    Some(trigger)
}

fn read_traceid(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<TraceIdTrigger> {
    ctx.check_fields(map, "traceid", &["id"]);
    let id = required_template(ctx, map, "id", "traceid")?;
    let trigger = TraceIdTrigger { id: id.value.clone() };
    if !id.value.contains("${") && trigger.trace_id().is_err() {
        let message = format!("trace id `{}` must be 32 hex characters", id.value);
        ctx.error_at(id.line, id.col, ErrorKind::Invalid(message));
    }
    Some(trigger)
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
                None => false,
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
