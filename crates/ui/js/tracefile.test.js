import assert from "node:assert/strict";
import { test } from "node:test";

import { trace } from "./fixtures.js";
import { indentJson, parseTraceFile, traceFileName } from "./tracefile.js";

test("a downloaded trace is named by its ID", () => {
  assert.equal(traceFileName("0af7651916cd43dd8448eb211c80319c"), "trace-0af7651916cd43dd8448eb211c80319c.json");
  assert.equal(traceFileName("../x/y"), "trace-xy.json");
});

test("JSON is indented with every value as written", () => {
  const text = '{"a":1765000123456789012,"b":"x,{y}:\\"z\\"","c":[],"d":{},"e":[1,{"f":null}]}';
  const [out, cut] = indentJson(text);
  assert.equal(cut, null);
  assert.equal(out, [
    "{",
    '  "a": 1765000123456789012,',
    '  "b": "x,{y}:\\"z\\"",',
    '  "c": [],',
    '  "d": {},',
    '  "e": [',
    "    1,",
    "    {",
    '      "f": null',
    "    }",
    "  ]",
    "}",
  ].join("\n"));
  // The number keeps its digits: JSON.parse would have rounded it.
  assert.notEqual(String(JSON.parse(text).a), "1765000123456789012");
  assert.deepEqual(JSON.parse(out), JSON.parse(text));
});

test("a long JSON is cut at the limit, saying where", () => {
  const text = JSON.stringify({ spans: Array.from({ length: 100 }, (_, i) => ({ i })) });
  const [out, cut] = indentJson(text, 50);
  assert.ok(out.length >= 50 && out.length < 70, out);
  assert.ok(cut !== null && cut > 0 && cut < text.length);
});

test("a trace file reads back as the trace", () => {
  assert.deepEqual(parseTraceFile(JSON.stringify(trace)), trace);
});

test("a file that is not a trace says why", () => {
  const bad = (/** @type {string} */ text) => {
    try {
      parseTraceFile(text);
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
    return "accepted";
  };
  assert.match(bad("{"), /^not JSON: /);
  assert.match(bad("[]"), /not a tracecheck trace .*: expected an object/);
  assert.match(bad('{"data":[{"traceID":"x","spans":[]}]}'), /expected trace_id and spans/);
  const broken = (/** @type {(span: any) => void} */ change) => {
    const copy = JSON.parse(JSON.stringify(trace));
    change(copy.spans[1]);
    return bad(JSON.stringify(copy));
  };
  assert.match(broken((s) => { s.subtree_end = 99; }), /span 1 has a subtree_end outside the trace/);
  assert.match(broken((s) => { s.subtree_end = 1; }), /span 1 has a subtree_end outside the trace/);
  assert.match(broken((s) => { delete s.name; }), /span 1 has no string name/);
  assert.match(broken((s) => { s.depth = "1"; }), /span 1 has no number depth/);
  assert.match(broken((s) => { s.status = null; }), /span 1 has no status/);
  assert.match(broken((s) => { s.events = {}; }), /span 1 has no events or links/);
  assert.match(bad(JSON.stringify({ ...trace, span_count: "3" })), /expected a number span_count/);
});
