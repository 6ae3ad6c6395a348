//! The `Analyzer` resource (analyzer reference section 2), read into `analyze`'s
//! configuration through the same YAML reader as every other definition: the same parse
//! options (duplicate keys refused, no type coercion of quoted scalars), `${NAME}`
//! substitution and `file:line:col` positions.
//!
//! Fields left out take Tracetest's zero values (weight 0, `errorLevel` "", no plugins),
//! except `enabled`: a file (or a plugin entry) without `enabled` is enabled, where Tracetest
//! disables it (AQ-3, a deliberate deviation). Validation checks what Tracetest's does, with
//! its messages, and also the YAML types of the fields; unknown fields inside `spec` are
//! ignored, as Tracetest ignores them.

use marked_yaml::types::MarkedMappingNode;
use marked_yaml::Node;

use super::walk::{field, mapping_start, Ctx};
use analyze::rules::{self, PLUGINS};
use analyze::{AnalyzerConfig, PluginConfig, RuleConfig};

/// The `spec` of an Analyzer file.
pub(super) fn read_analyzer(ctx: &mut Ctx, spec: &MarkedMappingNode) -> Option<AnalyzerConfig> {
    let name = text_or_empty(ctx, spec, "name");
    if name.is_empty() {
        ctx.invalid(position(spec, "name"), "linter name cannot be empty");
    }
    let enabled = ctx.optional_bool(spec, "enabled").unwrap_or(true);
    let minimum_score = ctx.optional_int(spec, "minimumScore").unwrap_or(0);
    let plugins = list(ctx, spec, "plugins").iter().filter_map(|plugin| read_plugin(ctx, plugin)).collect();
    Some(AnalyzerConfig { name, enabled, minimum_score, plugins })
}

fn read_plugin(ctx: &mut Ctx, node: &Node) -> Option<PluginConfig> {
    let map = ctx.mapping(node, "plugin")?;
    let id = text_or_empty(ctx, map, "id");
    let enabled = ctx.optional_bool(map, "enabled").unwrap_or(true);
    let rule_nodes = list(ctx, map, "rules");
    if rules::plugin(&id).is_none() {
        let supported: Vec<&str> = PLUGINS.iter().map(|plugin| plugin.id).collect();
        let message = format!("plugin {id} not supported, supported plugins are {}", supported.join(" | "));
        ctx.invalid(position(map, "id"), message);
        return None;
    }
    let supported: Vec<&str> = rules::plugin_rules(&id).map(|rule| rule.id).collect();
    if rule_nodes.len() != supported.len() {
        let message = format!(
            "plugin {id} requires {} rules, but {} provided, supported rules for plugin are {}",
            supported.len(),
            rule_nodes.len(),
            supported.join(" | ")
        );
        ctx.invalid(position(map, "rules"), message);
    }
    let mut rules = Vec::with_capacity(rule_nodes.len());
    for rule_node in rule_nodes {
        let Some(rule_map) = ctx.mapping(rule_node, "rule") else { continue };
        let rule_id = text_or_empty(ctx, rule_map, "id");
        if rules::rule(&id, &rule_id).is_none() {
            let message = format!(
                "rule {rule_id} not found for plugin {id}, supported rules for plugin are {}",
                supported.join(" | ")
            );
            ctx.invalid(position(rule_map, "id"), message);
            continue;
        }
        let weight = ctx.optional_int(rule_map, "weight").unwrap_or(0);
        let error_level = text_or_empty(ctx, rule_map, "errorLevel");
        rules.push(RuleConfig { id: rule_id, weight, error_level });
    }
    Some(PluginConfig { id, enabled, rules })
}

/// A text field; absent, null or not a text (an error) reads as `""`, Tracetest's zero value.
fn text_or_empty(ctx: &mut Ctx, map: &MarkedMappingNode, key: &str) -> String {
    ctx.optional_text(map, key).map(|text| text.value).unwrap_or_default()
}

/// The items of the list under `key` (none when absent).
fn list<'n>(ctx: &mut Ctx, map: &'n MarkedMappingNode, key: &str) -> &'n [Node] {
    field(map, key).and_then(|node| ctx.sequence(node, key)).unwrap_or(&[])
}

/// Where to point at `key`: its value when the key is there (even null), else the mapping.
fn position<'n>(map: &'n MarkedMappingNode, key: &str) -> &'n marked_yaml::Span {
    map.get_node(key).map_or(mapping_start(map), Node::span)
}

#[cfg(test)]
mod tests {
    use crate::{load_analyzer, Errors};
    use analyze::{AnalyzerConfig, ErrorLevel, PluginConfig, RuleConfig};

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

    /// Loads `yaml` as the file `analyzer.yaml`; errors as `analyzer.yaml:line:col: message`.
    fn load(yaml: &str) -> Result<AnalyzerConfig, Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("analyzer.yaml");
        std::fs::write(&path, yaml).unwrap();
        load_analyzer(&path).map_err(|errors: Errors| {
            errors
                .iter()
                .map(|error| format!("analyzer.yaml:{}:{}: {}", error.line, error.col, error.kind))
                .collect()
        })
    }

    fn errors(yaml: &str) -> Vec<String> {
        match load(yaml) {
            Ok(config) => panic!("expected errors, got {config:?}"),
            Err(errors) => errors,
        }
    }

    #[test]
    fn the_reference_default_file_is_the_default() {
        assert_eq!(load(DEFAULT_YAML), Ok(AnalyzerConfig::default()));
    }

    #[test]
    fn left_out_fields() {
        let config = load(
            "type: Analyzer\nspec:\n  name: mine\n  plugins:\n    - id: common\n      rules:\n        - id: prefer-dns\n",
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
        let bare = load("type: Analyzer\nspec:\n  name: x\n  enabled: false\n  minimumScore: 80\n").unwrap();
        assert_eq!((bare.enabled, bare.minimum_score, bare.plugins.len()), (false, 80, 0));
    }

    #[test]
    fn duplicates_order_and_any_level_pass_validation() {
        let config = load(
            "type: Analyzer\nspec:\n  name: x\n  plugins:\n    - id: security\n      rules:\n        - {id: no-api-key-leak, weight: -5, errorLevel: Fatal}\n        - {id: no-api-key-leak, weight: 1, errorLevel: warning}\n    - id: security\n      enabled: false\n      rules: [{id: secure-https-protocol}, {id: no-api-key-leak}]\n",
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
                "type: Analyzer\nspec:\n  name: \"\"\n  enabled: maybe\n  minimumScore: high\n  plugins:\n    - id: common\n      enabled: 1\n      rules:\n        - {id: prefer-dns, weight: 2.5}\n"
            ),
            [
                "analyzer.yaml:3:9: linter name cannot be empty",
                "analyzer.yaml:4:12: expected true or false for `enabled`, found the string \"maybe\"",
                "analyzer.yaml:5:17: expected an integer for `minimumScore`, found the string \"high\"",
                "analyzer.yaml:8:16: expected true or false for `enabled`, found the number 1",
                "analyzer.yaml:10:36: expected an integer for `weight`, found the number 2.5",
            ]
        );
    }

    /// What `analyze --analyzer` used to accept and `run --analyzer` refused: the one reader
    /// refuses both, and substitutes `${NAME}` as in every definition.
    #[test]
    fn same_reader_as_every_definition() {
        assert_eq!(
            errors("type: Analyzer\nspec:\n  name: x\n  name: y\n"),
            ["analyzer.yaml:4:3: invalid yaml: duplicate key `name`"]
        );
        assert_eq!(
            errors("type: Analyzer\nspec:\n  name: x\n  enabled: \"true\"\n"),
            ["analyzer.yaml:4:12: expected true or false for `enabled`, found the string \"true\""]
        );
        std::env::set_var("TRACECHECK_TEST_ANALYZER_NAME", "from the environment");
        let config = load("type: Analyzer\nspec:\n  name: ${TRACECHECK_TEST_ANALYZER_NAME}\n").unwrap();
        assert_eq!(config.name, "from the environment");
    }

    #[test]
    fn yaml_and_shape_errors() {
        let syntax = errors("type: Analyzer\nspec: [\n");
        assert_eq!(syntax.len(), 1);
        assert!(syntax[0].starts_with("analyzer.yaml:"), "{syntax:?}");
        assert_eq!(
            errors("type: Analyzer\n"),
            ["analyzer.yaml:1:1: missing required field `spec` in the file"]
        );
        assert_eq!(
            errors("spec:\n  name: x\n"),
            ["analyzer.yaml:1:1: missing required field `type` in the file"]
        );
        assert_eq!(
            errors("type: Analyzer\nspec:\n  name: x\n  plugins: common\n"),
            ["analyzer.yaml:4:12: expected a list for `plugins`, found the string \"common\""]
        );
    }
}
