//! The trace analyzer (Tracetest's "linter"): lints one trace's instrumentation against the
//! semantic conventions and common and security problems, scores it, and decides the
//! analyzer's required gates. See `tracetest-analyzer.md` and design.md, "Analyzer and
//! required gates".
//!
//! The analyzer is pure: [`analyze`] takes a [`Trace`] (with the runner's `Tracetest
//! trigger` span already in it) and an [`AnalyzerConfig`] and returns an [`AnalyzerResult`].
//! It knows nothing of the store, the runner, specs or reports. Parts:
//! - `span_map`: the flat string map of a span the rules read (format 5.1, AQ-1);
//! - `order`: trace order for results (AQ-15);
//! - `rules`: the catalogue, one file per rule and one table row each;
//! - `semconv`, `mask`: current-convention names (AQ-7) and secret masking (AQ-11);
//! - `config`: the `Analyzer` resource; `result`: the result types; `gates`: required gates.
//!
//! Deviations from Tracetest are listed in COMPATIBILITY.md (analyzer section).

mod config;
mod gates;
mod mask;
mod order;
mod result;
pub mod rules;
mod semconv;
pub mod span_map;

pub use config::{AnalyzerConfig, ErrorLevel, PluginConfig, RuleConfig};
pub use gates::{
    analyzer_gates_pass, decide_gates, parse_gates, Gate, GateError, GateResult, DEFAULT_REQUIRED_GATES,
};
pub use order::trace_order;
pub use result::{AnalyzerResult, Finding, PluginResult, RuleResult, SpanResult};

use rules::{RuleDef, Verdict};
use span_map::SpanMap;

use model::Trace;

/// One configured rule entry of an enabled plugin, with the results it collects.
struct RuleRun<'c> {
    plugin_slot: usize,
    def: &'static RuleDef,
    config: &'c RuleConfig,
    results: Vec<SpanResult>,
}

/// Lints `trace` with `config`: every rule of every enabled plugin on every span, in trace
/// order, then the scores (reference section 4). A disabled analyzer returns
/// [`AnalyzerResult::disabled`] without looking at the trace. Plugin and rule ids missing
/// from the catalogue (only possible in a hand-built config; loading rejects them) are
/// skipped.
pub fn analyze(trace: &Trace, config: &AnalyzerConfig) -> AnalyzerResult {
    if !config.enabled {
        return AnalyzerResult::disabled();
    }
    let plugins: Vec<(&PluginConfig, &'static rules::PluginDef)> = config
        .plugins
        .iter()
        .filter(|plugin| plugin.enabled)
        .filter_map(|plugin| Some((plugin, rules::plugin(&plugin.id)?)))
        .collect();
    let mut runs: Vec<RuleRun<'_>> = Vec::new();
    for (plugin_slot, (plugin, _)) in plugins.iter().enumerate() {
        for rule_config in &plugin.rules {
            if let Some(def) = rules::rule(&plugin.id, &rule_config.id) {
                runs.push(RuleRun { plugin_slot, def, config: rule_config, results: Vec::new() });
            }
        }
    }

    let order = trace_order(trace);
    let active: Vec<usize> =
        (0..runs.len()).filter(|&slot| runs[slot].config.level() != ErrorLevel::Disabled).collect();
    for &slot in &active {
        runs[slot].results.reserve(order.len());
    }
    let mut map = SpanMap::default();
    for span_idx in order {
        let span = &*trace.spans[span_idx];
        map.fill(span);
        for &slot in &active {
            let run = &mut runs[slot];
            let mut errors = Vec::new();
            let passed = match (run.def.check)(&map, &mut errors) {
                Verdict::NotExamined => continue,
                Verdict::Passed => true,
                Verdict::Failed => false,
            };
            run.results.push(SpanResult {
                span_id: span.span_id,
                span_name: span.name.clone(),
                passed,
                errors,
            });
        }
    }

    let mut plugin_rules: Vec<Vec<RuleResult>> = vec![Vec::new(); plugins.len()];
    for run in runs {
        plugin_rules[run.plugin_slot].push(RuleResult {
            id: run.def.id.to_string(),
            name: run.def.name.to_string(),
            level: run.config.error_level.clone(),
            weight: run.config.weight,
            passed: run.results.iter().all(|result| result.passed),
            results: run.results,
        });
    }
    let plugin_results: Vec<PluginResult> =
        plugins.iter().zip(plugin_rules).map(|((_, def), rules)| score_plugin(def, rules)).collect();
    let score = if plugin_results.is_empty() {
        100
    } else {
        let sum = plugin_results.iter().fold(0i64, |sum, plugin| sum.wrapping_add(plugin.score));
        sum.wrapping_div(plugin_results.len() as i64)
    };
    AnalyzerResult {
        enabled: true,
        score,
        minimum_score: config.minimum_score,
        passed: plugin_results.iter().all(|plugin| plugin.passed),
        plugins: plugin_results,
    }
}

/// Orders a plugin's rules by level and scores it (reference section 4). Arithmetic wraps
/// like Go's `int` (weights are any integer a file gives) instead of panicking.
fn score_plugin(def: &rules::PluginDef, mut rules: Vec<RuleResult>) -> PluginResult {
    let rank = |rule: &RuleResult| match ErrorLevel::parse(&rule.level) {
        ErrorLevel::Error => 0,
        ErrorLevel::Warning => 1,
        ErrorLevel::Disabled | ErrorLevel::Other => 2,
    };
    rules.sort_by_key(rank);
    let scored = rules.iter().filter(|rule| rank(rule) == 0);
    let (total, earned) = scored.fold((0i64, 0i64), |(total, earned), rule| {
        (total.wrapping_add(rule.weight), if rule.passed { earned.wrapping_add(rule.weight) } else { earned })
    });
    let score = if total == 0 { 100 } else { 100i64.wrapping_mul(earned).wrapping_div(total) };
    let passed = rules.iter().filter(|rule| rank(rule) == 0).all(|rule| rule.passed);
    PluginResult { id: def.id.to_string(), name: def.name.to_string(), score, passed, rules }
}

#[cfg(test)]
mod tests;
