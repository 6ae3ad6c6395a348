import assert from "node:assert/strict";
import { test } from "node:test";

import { compareHash, listHash, parseHash, traceHash, withParams } from "./route.js";

test("hashes name pages", () => {
  assert.deepEqual(parseHash("", true).route, { page: "traces" });
  assert.deepEqual(parseHash("#/traces?service=a", true).params.get("service"), "a");
  assert.deepEqual(parseHash("#/runs", true).route, { page: "runs" });
  assert.deepEqual(parseHash("#/run/3", true).route, { page: "run", id: "3" });
  assert.deepEqual(parseHash("#/services", true).route, { page: "services" });
  assert.deepEqual(parseHash("#/services", false).route, { page: "services" });
  const trace = parseHash("#/trace/abc?run=1&step=0&spec=2", true);
  assert.deepEqual(trace.route, { page: "trace", id: "abc" });
  assert.deepEqual([...trace.params], [["run", "1"], ["step", "0"], ["spec", "2"]]);
});

test("without a trace list every other page is the runs page", () => {
  assert.deepEqual(parseHash("", false).route, { page: "runs" });
  assert.deepEqual(parseHash("#/traces", false).route, { page: "runs" });
  assert.deepEqual(parseHash("#/trace/abc", false).route, { page: "trace", id: "abc" });
  assert.deepEqual(parseHash("#/file/abc?span=x", false).route, { page: "file", id: "abc" });
  assert.deepEqual(parseHash("#/file/abc", true).route, { page: "file", id: "abc" });
});

test("trace hashes carry their non-empty parameters, encoded", () => {
  assert.equal(traceHash("abc"), "#/trace/abc");
  assert.equal(traceHash("abc", { selector: "" }), "#/trace/abc");
  const selector = 'span[tracetest.span.type="http"] & x';
  const hash = traceHash("abc", { selector, run: 1, step: 0, spec: null });
  assert.equal(hash, "#/trace/abc?selector=span%5Btracetest.span.type%3D%22http%22%5D+%26+x&run=1&step=0");
  assert.equal(parseHash(hash, true).params.get("selector"), selector, "round trip");
});

test("the list's hash keeps its filters (issue 21, defect 10)", () => {
  assert.equal(listHash({ service: "", selector: "" }), "#/traces");
  const hash = listHash({ service: "Front", selector: 'span[name="a b"]' });
  const { route, params } = parseHash(hash, true);
  assert.deepEqual(route, { page: "traces" });
  assert.equal(params.get("service"), "Front");
  assert.equal(params.get("selector"), 'span[name="a b"]');
});

test("changing parameters keeps the path and the others", () => {
  const hash = "#/trace/abc?run=1&step=0&spec=2";
  assert.equal(withParams(hash, { span: "00f067aa0ba902b7" }), "#/trace/abc?run=1&step=0&spec=2&span=00f067aa0ba902b7");
  assert.equal(withParams("#/trace/abc?span=x&selector=y", { span: "z", selector: "" }), "#/trace/abc?span=z");
  assert.equal(withParams("", { span: "z" }), "#?span=z");
  assert.equal(parseHash(withParams(hash, { selector: "a&b=c" }), true).params.get("selector"), "a&b=c");
});

test("the compare page names both traces and their runs", () => {
  const hash = compareHash({ traceId: "aa", runId: 1 }, { traceId: "bb", runId: null });
  assert.equal(hash, "#/compare?a=aa&run_a=1&b=bb");
  const { route, params } = parseHash(hash, true);
  assert.deepEqual(route, { page: "compare" });
  assert.deepEqual([params.get("a"), params.get("run_a"), params.get("b"), params.get("run_b")], ["aa", "1", "bb", null]);
  assert.deepEqual(parseHash("#/compare?a=x&b=y", false).route, { page: "compare" });
});
