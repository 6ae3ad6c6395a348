import assert from "node:assert/strict";
import { test } from "node:test";

import { analyzerFor, failedRules, failedSpanIds, flaggedSpanIds, runLine, specVerdicts, summaryOf } from "./model.js";
import { analysis, report, run, trace } from "./fixtures.js";

test("a trace's summary is the server's list line", () => {
  assert.deepEqual(summaryOf(trace), {
    trace_id: trace.trace_id, root_name: "GET /users", service_name: "api", services: ["api", "db"], span_count: 3, error_count: 1,
    start_time_unix_nano: 1000, duration_nanos: 8000,
  });
});

test("a run's line is the server's list line", () => {
  assert.deepEqual(runLine(run), {
    id: 1, received_unix_ms: 5, name: "users", kind: "Test", state: "FAILED", file: "users.yaml", duration_ms: 12,
    steps: [{ name: "users", state: "FAILED", trace_id: trace.trace_id }],
  });
  const bare = { ...run, report: { ...report, file: undefined, duration_ms: undefined } };
  assert.equal(runLine(bare).file, null);
  assert.equal(runLine(bare).duration_ms, null);
});

test("a spec's verdicts are grouped by span with their assertion", () => {
  const verdicts = specVerdicts(report.steps[0].specs[0]);
  assert.deepEqual([...verdicts.keys()], ["bbbbbbbbbbbbbbbb"]);
  assert.deepEqual(verdicts.get("bbbbbbbbbbbbbbbb")?.map((v) => [v.assertion, v.passed]), [
    ["attr:db.system = \"postgresql\"", true],
    ["attr:tracetest.span.duration < 1ms", false],
  ]);
});

test("the analysis of a trace comes from the step that judged it", () => {
  const analysis = analyzerFor([run], trace.trace_id);
  assert.equal(analysis?.score, 50);
  assert.equal(analyzerFor([run], "ffffffffffffffffffffffffffffffff"), undefined);
  assert.deepEqual(failedRules(/** @type {import("./types.js").AnalyzerResult} */ (analysis)).map(({ plugin, rule }) => [plugin.id, rule.id]), [["standards", "span-naming"]]);
});

test("a spec's failing spans, in report order, each once", () => {
  assert.deepEqual(failedSpanIds(report.steps[0].specs[0]), ["bbbbbbbbbbbbbbbb"]);
  assert.deepEqual(failedSpanIds(report.steps[0].specs[1]), [], "a result without a span is no span");
});

test("the analyzer's flagged spans, each once", () => {
  assert.deepEqual(flaggedSpanIds(analysis), ["bbbbbbbbbbbbbbbb"]);
});
