//! Definitions: Tracetest's Test, TestSuite (Transaction), VariableSet (Environment) and
//! Analyzer files, and the provisioning resources beside them (PollingProfile, TestRunner,
//! DataStore, Config, Demo), loaded and validated, several to a file when separated by `---`.
//!
//! `spec` owns reading the YAML (with the CLI's `${NAME}` substitution), checking it
//! against the shapes of the reference (unknown fields, wrong types, missing fields, and
//! every selector, assertion, output value and trigger template), resolving a suite's steps
//! to test files, and reporting every problem of every file with `file:line:col`. It keeps
//! each expression's text with its position. It knows nothing of running tests: the runner
//! takes the [`Test`]s and [`Trigger`](trigger::Trigger)s it returns, and `analyze`
//! the [`AnalyzerConfig`](analyze::AnalyzerConfig) of an Analyzer file.

mod analyzer;
mod check;
mod error;
mod load;
mod provision;
mod secrets;
mod source;
mod trigger;
mod walk;

use std::path::{Path, PathBuf};

pub use check::{check, Language};
pub use error::{Error, ErrorKind, Errors};
pub use load::{load_analyzer, load_documents, load_file, validate_files};
pub use provision::{
    Backend, ClientTls, DataStore, GrpcClient, HttpClient, NoEffect, PollingProfile, TempoClient, TestRunner,
};
pub use secrets::{env_references, looks_secret};

use ::trigger::Trigger;
use lang::{Assertion, Expr, Selector};

/// A string from a definition file with the position of its scalar: 1-based line and
/// column (in characters) of its first character, which for a quoted scalar is the quote
/// and for a block scalar the `|` or `>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub value: String,
    pub line: usize,
    pub col: usize,
}

impl Text {
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// A test: one trigger, then outputs and specs evaluated against its trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    /// The file it was loaded from.
    pub path: PathBuf,
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    /// Id or path of a PollingProfile; kept for compatibility, unused by tracecheck's
    /// event-driven wait.
    pub polling_profile: Option<String>,
    /// Do not wait for a trace: the trace is the trigger span alone (reference 12.4).
    pub skip_trace_collection: bool,
    pub trigger: Trigger,
    pub specs: Vec<Spec>,
    pub outputs: Vec<Output>,
}

/// A selector and the assertions every selected span must satisfy, as written and as
/// parsed when the file was loaded (parsing happens once; a run never re-parses).
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// May be empty: every span.
    pub selector: Text,
    pub name: Option<String>,
    pub assertions: Vec<Text>,
    pub selector_tree: Selector,
    /// `assertions`, parsed, in the same order.
    pub assertion_trees: Vec<Assertion>,
}

/// A value taken from the trace into the variables as `var:NAME`.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub name: String,
    /// May be empty: every span (the first one gives the value).
    pub selector: Text,
    /// An expression (not a statement).
    pub value: Text,
    pub selector_tree: Selector,
    pub value_tree: Expr,
}

/// A TestSuite (or Transaction): tests run in order sharing one variable context.
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    pub path: PathBuf,
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    /// Every step loaded, in order.
    pub steps: Vec<Test>,
    /// For each step, whether the suite names it by its test ID rather than by its file.
    pub by_id: Vec<bool>,
    /// Whether the file says `type: Transaction` (Tracetest's older name) rather than
    /// `TestSuite`: reports name the run as the file does.
    pub transaction: bool,
}

/// A VariableSet (or Environment): the starting variables of a run (`--vars`).
#[derive(Debug, Clone, PartialEq)]
pub struct VariableSet {
    pub path: PathBuf,
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub values: Vec<Variable>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub key: String,
    /// Plain text; never expanded as an expression.
    pub value: String,
    /// Masked wherever a report shows it: `type: secret`, or no `type` and a name that
    /// [`looks_secret`] (`type: raw` shows the value whatever the name).
    pub secret: bool,
}

/// An Analyzer file: `analyze`'s configuration, read here like every definition.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzerFile {
    pub path: PathBuf,
    pub config: analyze::AnalyzerConfig,
}

/// One loaded definition file.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Loaded {
    Test(Test),
    Suite(Suite),
    VariableSet(VariableSet),
    Analyzer(AnalyzerFile),
    PollingProfile(PollingProfile),
    TestRunner(TestRunner),
    DataStore(DataStore),
    /// `Config` or `Demo`.
    NoEffect(NoEffect),
}

impl Loaded {
    /// The file it came from.
    pub fn path(&self) -> &Path {
        match self {
            Loaded::Test(test) => &test.path,
            Loaded::Suite(suite) => &suite.path,
            Loaded::VariableSet(variable_set) => &variable_set.path,
            Loaded::Analyzer(analyzer) => &analyzer.path,
            Loaded::PollingProfile(profile) => &profile.path,
            Loaded::TestRunner(runner) => &runner.path,
            Loaded::DataStore(store) => &store.path,
            Loaded::NoEffect(resource) => &resource.path,
        }
    }

    /// The resource type as tracecheck names it (`Test`, `TestSuite`, `VariableSet`,
    /// `Analyzer`, `PollingProfile`, `TestRunner`, `DataStore`, `Config`, `Demo`).
    pub fn kind(&self) -> &'static str {
        match self {
            Loaded::Test(_) => "Test",
            Loaded::Suite(_) => "TestSuite",
            Loaded::VariableSet(_) => "VariableSet",
            Loaded::Analyzer(_) => "Analyzer",
            Loaded::PollingProfile(_) => "PollingProfile",
            Loaded::TestRunner(_) => "TestRunner",
            Loaded::DataStore(_) => "DataStore",
            Loaded::NoEffect(resource) => resource.kind,
        }
    }
}
