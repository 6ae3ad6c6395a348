//! The `Analyzer` resource (analyzer reference section 2): which plugins and rules run, with
//! which weight and level, and the minimum score. Loaded from a Tracetest `Analyzer` YAML
//! file with every definition error located as `file:line:col`; the built-in default is
//! [`AnalyzerConfig::default`].
//!
//! Fields left out take Tracetest's zero values (weight 0, `errorLevel` "", no plugins),
//! except `enabled`: a file (or a plugin entry) without `enabled` is enabled, where Tracetest
//! disables it (AQ-3, a deliberate deviation). Validation checks what Tracetest's does, with
//! its messages, and also the YAML types of the fields; unknown fields are ignored, as
//! Tracetest ignores them. This module knows nothing of traces.

use std::path::Path;

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{LoadError, Node};

use super::rules::{self, PLUGINS};

/// How a rule's findings count (`errorLevel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorLevel {
    /// Runs, counts toward the score and can fail the analyzer.
    Error,
    /// Runs and reports; affects neither score nor pass.
    Warning,
    /// Does not run: passed, no results, not scored.
    Disabled,
    /// Any other text, `""` included: behaves like `Warning` (AQ-5).
    Other,
}

impl ErrorLevel {
    /// The level of an `errorLevel` text (exact, case-sensitive, as Tracetest compares it).
    pub fn parse(text: &str) -> Self {
        match text {
            "error" => ErrorLevel::Error,
            "warning" => ErrorLevel::Warning,
            "disabled" => ErrorLevel::Disabled,
            _ => ErrorLevel::Other,
        }
    }
}

/// The analyzer's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnalyzerConfig {
    /// Must be non-empty (Tracetest's only check on the analyzer itself).
    pub name: String,
    /// `false`: nothing is analyzed and gates ignore the analyzer (AQ-13).
    pub enabled: bool,
    /// Only the `analyzer-score` gate reads it: it fails when `score < minimum_score`.
    pub minimum_score: i64,
    /// In the order they run and are listed; duplicates run twice (AQ-4).
    pub plugins: Vec<PluginConfig>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginConfig {
    pub id: String,
    pub enabled: bool,
    pub rules: Vec<RuleConfig>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleConfig {
    pub id: String,
    pub weight: i64,
    /// The `errorLevel` text as written; see [`RuleConfig::level`].
    pub error_level: String,
}

impl RuleConfig {
    pub fn level(&self) -> ErrorLevel {
        ErrorLevel::parse(&self.error_level)
    }
}

impl Default for AnalyzerConfig {
    /// Tracetest's built-in analyzer (`GetDefaultLinter`): every plugin and rule of the
    /// catalogue enabled, at error level, with the catalogue weights; minimum score 0.
    fn default() -> Self {
        AnalyzerConfig {
            name: "analyzer".to_string(),
            enabled: true,
            minimum_score: 0,
            plugins: PLUGINS
                .iter()
                .map(|plugin| PluginConfig {
                    id: plugin.id.to_string(),
                    enabled: true,
                    rules: rules::plugin_rules(plugin.id)
                        .map(|rule| RuleConfig {
                            id: rule.id.to_string(),
                            weight: rule.default_weight,
                            error_level: "error".to_string(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// A definition error in an `Analyzer` file, printed as `file:line:col: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
#[non_exhaustive]
pub struct ConfigError {
    pub path: String,
    /// 1-based; 0 when the position is unknown.
    pub line: usize,
    /// 1-based; 0 when the position is unknown.
    pub column: usize,
    pub message: String,
}

impl AnalyzerConfig {
    /// Loads and validates an `Analyzer` file.
    ///
    /// # Errors
    /// Every definition error of the file (YAML syntax, field types, Tracetest's validation
    /// messages such as `linter name cannot be empty`), each with its position.
    pub fn from_yaml(text: &str, path: impl AsRef<Path>) -> Result<AnalyzerConfig, Vec<ConfigError>> {
        let path = path.as_ref().display().to_string();
        match marked_yaml::parse_yaml(0, text) {
            Ok(node) => AnalyzerConfig::from_node(&node, &path),
            Err(error) => Err(vec![load_error(&path, &error)]),
        }
    }

    /// Loads and validates an `Analyzer` resource that is already parsed (e.g. by a loader
    /// that dispatches on `type`); `path` only labels the errors.
    ///
    /// # Errors
    /// As [`AnalyzerConfig::from_yaml`].
    pub fn from_node(node: &Node, path: &str) -> Result<AnalyzerConfig, Vec<ConfigError>> {
        let mut loader = Loader { path, errors: Vec::new() };
        let config = loader.resource(node);
        match config {
            Some(config) if loader.errors.is_empty() => Ok(config),
            _ => Err(loader.errors),
        }
    }
}

fn load_error(path: &str, error: &LoadError) -> ConfigError {
    let marker = match error {
        LoadError::TopLevelMustBeMapping(marker)
        | LoadError::TopLevelMustBeSequence(marker)
        | LoadError::UnexpectedAnchor(marker)
        | LoadError::MappingKeyMustBeScalar(marker)
        | LoadError::UnexpectedTag(marker)
        | LoadError::ScanError(marker, _) => Some(*marker),
        LoadError::DuplicateKey(inner) => inner.key.span().start().copied(),
    };
    let text = error.to_string();
    // The loader's text starts with its own `line:col: `; the position goes in front instead.
    let message = match marker {
        Some(marker) => text.strip_prefix(&format!("{marker}: ")).unwrap_or(&text).to_string(),
        None => text,
    };
    let (line, column) = marker.map_or((0, 0), |marker| (marker.line(), marker.column()));
    ConfigError { path: path.to_string(), line, column, message: lowercase_first(&message) }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Walks the YAML tree, collecting every error instead of stopping at the first.
struct Loader<'p> {
    path: &'p str,
    errors: Vec<ConfigError>,
}

fn position(node: &Node) -> (usize, usize) {
    // The loader marks a block mapping at its first `:`; its first key is where a reader
    // looks for it.
    if let Node::Mapping(mapping) = node {
        if let Some(marker) = mapping.keys().next().and_then(|key| key.span().start()) {
            return (marker.line(), marker.column());
        }
    }
    node.span().start().map_or((0, 0), |marker| (marker.line(), marker.column()))
}

/// Where to point at `key` of `mapping`: its value when the key is there (even null),
/// else the mapping.
fn key_position(mapping_node: &Node, key: &str) -> (usize, usize) {
    match mapping_node.as_mapping().and_then(|mapping| mapping.get_node(key)) {
        Some(value) => position(value),
        None => position(mapping_node),
    }
}

/// A plain `~`, `null` or empty scalar stands for a field that is not there.
fn is_null(node: &Node) -> bool {
    matches!(node, Node::Scalar(scalar) if scalar.may_coerce() && matches!(scalar.as_str(), "" | "~" | "null" | "Null" | "NULL"))
}

fn describe(node: &Node) -> String {
    match node {
        Node::Scalar(scalar) => format!("{:?}", scalar.as_str()),
        Node::Sequence(_) => "a list".to_string(),
        Node::Mapping(_) => "a mapping".to_string(),
    }
}

impl Loader<'_> {
    fn error(&mut self, at: (usize, usize), message: String) {
        self.errors.push(ConfigError { path: self.path.to_string(), line: at.0, column: at.1, message });
    }

    /// The value of `key` in `mapping`, `None` when absent or null.
    fn field<'n>(&self, mapping: &'n MarkedMappingNode, key: &str) -> Option<&'n Node> {
        mapping.get_node(key).filter(|node| !is_null(node))
    }

    fn scalar<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n MarkedScalarNode> {
        let scalar = node.as_scalar();
        if scalar.is_none() {
            self.error(position(node), format!("expected a text for {what}, found {}", describe(node)));
        }
        scalar
    }

    fn bool_field(&mut self, mapping: &MarkedMappingNode, key: &str, default: bool) -> bool {
        let Some(node) = self.field(mapping, key) else { return default };
        match node.as_scalar().and_then(MarkedScalarNode::as_bool) {
            Some(value) => value,
            None => {
                self.error(
                    position(node),
                    format!("expected true or false for {key}, found {}", describe(node)),
                );
                default
            }
        }
    }

    fn int_field(&mut self, mapping: &MarkedMappingNode, key: &str) -> i64 {
        let Some(node) = self.field(mapping, key) else { return 0 };
        match node.as_scalar().and_then(MarkedScalarNode::as_i64) {
            Some(value) => value,
            None => {
                self.error(
                    position(node),
                    format!("expected an integer for {key}, found {}", describe(node)),
                );
                0
            }
        }
    }

    fn text_field(&mut self, mapping: &MarkedMappingNode, key: &str) -> String {
        let Some(node) = self.field(mapping, key) else { return String::new() };
        self.scalar(node, key).map(|scalar| scalar.as_str().to_string()).unwrap_or_default()
    }

    fn mapping<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n MarkedMappingNode> {
        let mapping = node.as_mapping();
        if mapping.is_none() {
            self.error(position(node), format!("expected a mapping for {what}, found {}", describe(node)));
        }
        mapping
    }

    /// The items of the list under `key` (none when absent).
    fn list_field<'n>(&mut self, mapping: &'n MarkedMappingNode, key: &str) -> &'n [Node] {
        let Some(node) = self.field(mapping, key) else { return &[] };
        match node.as_sequence() {
            Some(sequence) => &sequence[..],
            None => {
                self.error(position(node), format!("expected a list for {key}, found {}", describe(node)));
                &[]
            }
        }
    }

    fn resource(&mut self, node: &Node) -> Option<AnalyzerConfig> {
        let top = self.mapping(node, "the Analyzer resource")?;
        match self.field(top, "type") {
            None => self.error(position(node), "missing type: expected Analyzer".to_string()),
            Some(type_node) => {
                if type_node.as_scalar().map(MarkedScalarNode::as_str) != Some("Analyzer") {
                    self.error(
                        position(type_node),
                        format!("expected type Analyzer, found {}", describe(type_node)),
                    );
                }
            }
        }
        let Some(spec_node) = self.field(top, "spec") else {
            self.error(position(node), "missing spec".to_string());
            return None;
        };
        let spec = self.mapping(spec_node, "spec")?;
        let name = self.text_field(spec, "name");
        if name.is_empty() {
            let at = key_position(spec_node, "name");
            self.error(at, "linter name cannot be empty".to_string());
        }
        let enabled = self.bool_field(spec, "enabled", true);
        let minimum_score = self.int_field(spec, "minimumScore");
        let plugins =
            self.list_field(spec, "plugins").iter().filter_map(|plugin| self.plugin(plugin)).collect();
        Some(AnalyzerConfig { name, enabled, minimum_score, plugins })
    }

    fn plugin(&mut self, node: &Node) -> Option<PluginConfig> {
        let mapping = self.mapping(node, "a plugin")?;
        let id = self.text_field(mapping, "id");
        let id_at = key_position(node, "id");
        let enabled = self.bool_field(mapping, "enabled", true);
        let rule_nodes = self.list_field(mapping, "rules");
        if rules::plugin(&id).is_none() {
            let supported: Vec<&str> = PLUGINS.iter().map(|plugin| plugin.id).collect();
            self.error(
                id_at,
                format!("plugin {id} not supported, supported plugins are {}", supported.join(" | ")),
            );
            return None;
        }
        let supported: Vec<&str> = rules::plugin_rules(&id).map(|rule| rule.id).collect();
        if rule_nodes.len() != supported.len() {
            let at = key_position(node, "rules");
            self.error(
                at,
                format!(
                    "plugin {id} requires {} rules, but {} provided, supported rules for plugin are {}",
                    supported.len(),
                    rule_nodes.len(),
                    supported.join(" | ")
                ),
            );
        }
        let mut rules = Vec::with_capacity(rule_nodes.len());
        for rule_node in rule_nodes {
            let Some(rule_mapping) = self.mapping(rule_node, "a rule") else { continue };
            let rule_id = self.text_field(rule_mapping, "id");
            if rules::rule(&id, &rule_id).is_none() {
                let at = key_position(rule_node, "id");
                self.error(
                    at,
                    format!(
                        "rule {rule_id} not found for plugin {id}, supported rules for plugin are {}",
                        supported.join(" | ")
                    ),
                );
                continue;
            }
            let weight = self.int_field(rule_mapping, "weight");
            let error_level = self.text_field(rule_mapping, "errorLevel");
            rules.push(RuleConfig { id: rule_id, weight, error_level });
        }
        Some(PluginConfig { id, enabled, rules })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_YAML: &str = "\
type: Analyzer
spec:
  id: current
  name: analyzer
  enabled: true
  minimumScore: 0
  plugins:
    - id: standards
      enabled: true
      rules:
        - id: span-naming
          weight: 25
          errorLevel: error
        - {id: required-attributes, weight: 25, errorLevel: error}
        - {id: attribute-naming, weight: 25, errorLevel: error}
        - {id: no-empty-attributes, weight: 25, errorLevel: error}
    - id: common
      enabled: true
      rules:
        - {id: prefer-dns, weight: 100, errorLevel: error}
    - id: security
      enabled: true
      rules:
        - {id: secure-https-protocol, weight: 30, errorLevel: error}
        - {id: no-api-key-leak, weight: 70, errorLevel: error}
";

    fn errors(yaml: &str) -> Vec<String> {
        match AnalyzerConfig::from_yaml(yaml, "analyzer.yaml") {
            Ok(config) => panic!("expected errors, got {config:?}"),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn the_reference_default_file_is_the_default() {
        assert_eq!(AnalyzerConfig::from_yaml(DEFAULT_YAML, "a.yaml"), Ok(AnalyzerConfig::default()));
    }

    #[test]
    fn left_out_fields() {
        let config = AnalyzerConfig::from_yaml(
            "type: Analyzer\nspec:\n  name: mine\n  plugins:\n    - id: common\n      rules:\n        - id: prefer-dns\n",
            "a.yaml",
        )
        .unwrap();
        assert_eq!(
            config,
            AnalyzerConfig {
                name: "mine".to_string(),
                enabled: true,
                minimum_score: 0,
                plugins: vec![PluginConfig {
                    id: "common".to_string(),
                    enabled: true,
                    rules: vec![RuleConfig {
                        id: "prefer-dns".to_string(),
                        weight: 0,
                        error_level: String::new()
                    }],
                }],
            }
        );
        assert_eq!(config.plugins[0].rules[0].level(), ErrorLevel::Other);
        let bare = AnalyzerConfig::from_yaml(
            "type: Analyzer\nspec:\n  name: x\n  enabled: false\n  minimumScore: 80\n",
            "a.yaml",
        )
        .unwrap();
        assert_eq!((bare.enabled, bare.minimum_score, bare.plugins.len()), (false, 80, 0));
    }

    #[test]
    fn duplicates_order_and_any_level_pass_validation() {
        let config = AnalyzerConfig::from_yaml(
            "type: Analyzer\nspec:\n  name: x\n  plugins:\n    - id: security\n      rules:\n        - {id: no-api-key-leak, weight: -5, errorLevel: Fatal}\n        - {id: no-api-key-leak, weight: 1, errorLevel: warning}\n    - id: security\n      enabled: false\n      rules: [{id: secure-https-protocol}, {id: no-api-key-leak}]\n",
            "a.yaml",
        )
        .unwrap();
        assert_eq!(config.plugins.len(), 2);
        assert_eq!(config.plugins[0].rules[0].weight, -5);
        assert_eq!(config.plugins[0].rules[0].level(), ErrorLevel::Other);
        assert!(!config.plugins[1].enabled);
    }

    #[test]
    fn tracetest_validation_messages_with_positions() {
        assert_eq!(
            errors("type: Analyzer\nspec:\n  name: \"\"\n"),
            ["analyzer.yaml:3:9: linter name cannot be empty"]
        );
        assert_eq!(
            errors("type: Analyzer\nspec:\n  enabled: true\n"),
            ["analyzer.yaml:3:3: linter name cannot be empty"]
        );
        assert_eq!(
            errors("type: Analyzer\nspec:\n  name: x\n  plugins:\n    - id: perf\n      rules: []\n"),
            ["analyzer.yaml:5:11: plugin perf not supported, supported plugins are standards | common | security"]
        );
        assert_eq!(
            errors("type: Analyzer\nspec:\n  name: x\n  plugins:\n    - id: security\n      rules:\n        - id: no-api-key-leak\n"),
            ["analyzer.yaml:7:9: plugin security requires 2 rules, but 1 provided, supported rules for plugin are secure-https-protocol | no-api-key-leak"]
        );
        assert_eq!(
            errors("type: Analyzer\nspec:\n  name: x\n  plugins:\n    - id: common\n      rules:\n        - id: prefer-ip\n"),
            ["analyzer.yaml:7:15: rule prefer-ip not found for plugin common, supported rules for plugin are prefer-dns"]
        );
    }

    #[test]
    fn every_error_is_reported() {
        assert_eq!(
            errors(
                "type: Test\nspec:\n  name: \"\"\n  enabled: maybe\n  minimumScore: high\n  plugins:\n    - id: common\n      enabled: 1\n      rules:\n        - {id: prefer-dns, weight: 2.5}\n"
            ),
            [
                "analyzer.yaml:1:7: expected type Analyzer, found \"Test\"",
                "analyzer.yaml:3:9: linter name cannot be empty",
                "analyzer.yaml:4:12: expected true or false for enabled, found \"maybe\"",
                "analyzer.yaml:5:17: expected an integer for minimumScore, found \"high\"",
                "analyzer.yaml:8:16: expected true or false for enabled, found \"1\"",
                "analyzer.yaml:10:36: expected an integer for weight, found \"2.5\"",
            ]
        );
    }

    #[test]
    fn yaml_and_shape_errors() {
        let syntax = errors("type: Analyzer\nspec: [\n");
        assert_eq!(syntax.len(), 1);
        assert!(syntax[0].starts_with("analyzer.yaml:"), "{syntax:?}");
        assert_eq!(errors("type: Analyzer\n"), ["analyzer.yaml:1:1: missing spec"]);
        assert_eq!(errors("spec:\n  name: x\n"), ["analyzer.yaml:1:1: missing type: expected Analyzer"]);
        assert_eq!(
            errors("type: Analyzer\nspec:\n  name: x\n  plugins: common\n"),
            ["analyzer.yaml:4:12: expected a list for plugins, found \"common\""]
        );
    }
}
