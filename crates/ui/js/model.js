// Pure derivations from the wire shapes (types.js): what the inline adapter answers in the
// server's place, and what views show of a run's spec or an analysis.

/** @typedef {import("./types.js").Trace} Trace */
/** @typedef {import("./types.js").Run} Run */
/** @typedef {import("./types.js").SpanResult} SpanResult */

/**
 * A trace's line in the traces list, as the server writes it (`wire::summarize`).
 * @param {Trace} trace
 * @returns {import("./types.js").TraceSummary}
 */
export function summaryOf(trace) {
  const root = trace.spans.find((s) => s.depth === 0);
  return {
    trace_id: trace.trace_id,
    root_name: root ? root.name : "",
    // The root's service, else the first span's that has one (as `wire::summarize`).
    service_name: (root && root.service) || (trace.spans.find((s) => s.service !== "")?.service ?? ""),
    services: [...new Set(trace.spans.map((s) => s.service).filter((s) => s !== ""))].sort(),
    span_count: trace.span_count,
    error_count: trace.spans.filter((s) => s.status.code === "error").length,
    start_time_unix_nano: trace.start_time_unix_nano,
    duration_nanos: Math.max(0, trace.end_time_unix_nano - trace.start_time_unix_nano),
  };
}

/**
 * A run's line in the runs list, as the server writes it (`run_line`).
 * @param {Run} run
 * @returns {import("./types.js").RunLine}
 */
export function runLine(run) {
  const r = run.report;
  return {
    id: run.id, received_unix_ms: run.received_unix_ms, name: r.name, kind: r.kind, state: r.state,
    file: r.file ?? null, duration_ms: r.duration_ms ?? null,
    steps: r.steps.map((s) => ({ name: s.name, state: s.state, trace_id: s.trace_id })),
  };
}

/**
 * @typedef {SpanResult & {assertion: string}} Verdict  an assertion's result on a span
 */

/**
 * A spec's results by span ID, each with the assertion's text, in report order.
 * @param {import("./types.js").SpecReport} spec
 * @returns {Map<string, Verdict[]>}
 */
export function specVerdicts(spec) {
  /** @type {Map<string, Verdict[]>} */
  const bySpan = new Map();
  for (const assertion of spec.assertions) {
    for (const result of assertion.results) {
      if (!result.span_id) continue;
      const list = bySpan.get(result.span_id) || [];
      list.push({ ...result, assertion: assertion.assertion });
      bySpan.set(result.span_id, list);
    }
  }
  return bySpan;
}

/**
 * The rules that flagged a span, with their plugin, in result order.
 * @param {import("./types.js").AnalyzerResult} analysis
 * @returns {{plugin: import("./types.js").PluginResult, rule: import("./types.js").RuleResult}[]}
 */
export function failedRules(analysis) {
  return analysis.plugins.flatMap((plugin) => plugin.rules.filter((rule) => !rule.passed).map((rule) => ({ plugin, rule })));
}

/**
 * The analyzer's result for a trace in recorded runs: the first step judging that trace
 * with the analyzer on.
 * @param {Run[]} runs
 * @param {string} traceId
 * @returns {import("./types.js").AnalyzerResult | undefined}
 */
export function analyzerFor(runs, traceId) {
  for (const run of runs) {
    for (const step of run.report.steps) {
      if (step.trace_id === traceId && step.analyzer) return step.analyzer;
    }
  }
  return undefined;
}

/**
 * The spans where a spec failed, in report order, each once.
 * @param {import("./types.js").SpecReport} spec
 * @returns {string[]}
 */
export function failedSpanIds(spec) {
  /** @type {Set<string>} */
  const ids = new Set();
  for (const assertion of spec.assertions) {
    for (const result of assertion.results) {
      if (!result.passed && result.span_id) ids.add(result.span_id);
    }
  }
  return [...ids];
}

/**
 * The spans the analyzer flagged, in result order, each once.
 * @param {import("./types.js").AnalyzerResult} analysis
 * @returns {string[]}
 */
export function flaggedSpanIds(analysis) {
  /** @type {Set<string>} */
  const ids = new Set();
  for (const { rule } of failedRules(analysis)) {
    for (const result of rule.results) {
      if (!result.passed) ids.add(result.span_id);
    }
  }
  return [...ids];
}
