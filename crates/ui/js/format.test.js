import assert from "node:assert/strict";
import { test } from "node:test";

import { age, callsLabel, count, duration, isOrphan, isoTime, kindText, localTime, shorten, stateClass, verdictLong, verdictShort } from "./format.js";

test("durations pick their unit", () => {
  assert.equal(duration(850), "850ns");
  assert.equal(duration(12_500), "12.5µs");
  assert.equal(duration(3_200_000), "3.2ms");
  assert.equal(duration(1_250_000_000), "1.25s");
});

test("ages count whole units back from now", () => {
  const now = 1_700_000_000_000;
  assert.equal(age(now - 4_600, now), "5s ago");
  assert.equal(age(now + 10_000, now), "0s ago");
  assert.equal(age(now - 3 * 60_000, now), "3m ago");
  assert.equal(age(now - 2 * 3_600_000, now), "2h ago");
  assert.equal(age(now - 4 * 86_400_000, now), "4d ago");
});

test("iso times keep microseconds", () => {
  assert.equal(isoTime(1_700_000_000_123_456_000), "2023-11-14T22:13:20.123456Z");
  assert.equal(isoTime(0), "");
});

test("counts, kinds and local times read as words (issue 21, defect 15)", () => {
  assert.equal(count(1, "span"), "1 span");
  assert.equal(count(0, "span"), "0 spans");
  assert.equal(count(5, "span"), "5 spans");
  assert.equal(kindText("unespecified"), "unspecified");
  assert.equal(kindText("server"), "server");
  assert.equal(isOrphan({ parent_span_id: "a", tree_parent_id: null }), true);
  assert.equal(isOrphan({ parent_span_id: "a", tree_parent_id: "a" }), false);
  assert.equal(isOrphan({ parent_span_id: null, tree_parent_id: null }), false);
  assert.match(localTime(1_700_000_000_000), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:20$/);
});

test("states, labels and shortened names", () => {
  assert.equal(stateClass("PASSED"), "ok");
  assert.equal(stateClass("FINISHED"), "ok");
  assert.equal(stateClass("NOT_EXECUTED"), "muted");
  assert.equal(stateClass("ERROR"), "err");
  assert.equal(callsLabel(1, 0), "1 call");
  assert.equal(callsLabel(3, 1), "3 calls, 1 error");
  assert.equal(callsLabel(2, 2), "2 calls, 2 errors");
  assert.equal(shorten("a".repeat(21), 20), "a".repeat(19) + "…");
  assert.equal(shorten("short", 20), "short");
});

test("verdicts show observed and expected values", () => {
  const failed = { span_id: "a", observed: "500", expected: "201", passed: false, error: null };
  assert.equal(verdictShort(failed), "✗ 500 (expected 201)");
  assert.equal(verdictLong(failed), 'observed "500", expected "201"');
  const broken = { span_id: "a", observed: null, expected: null, passed: false, error: "no attribute" };
  assert.equal(verdictShort(broken), "✗ no attribute");
  assert.equal(verdictLong(broken), "observed null (no attribute)");
  assert.equal(verdictShort({ ...failed, passed: true, observed: "201" }), "✓ 201 (expected 201)");
  // Issue 21: the comparator goes with the expected value.
  const below = { ...failed, comparator: "<", expected: "400" };
  assert.equal(verdictShort(below), "✗ 500 (expected < 400)");
  assert.equal(verdictLong(below), 'observed "500", expected < "400"');
  assert.equal(verdictShort({ ...failed, comparator: "!=", passed: true }), "✓ 500 (expected != 201)");
  assert.equal(verdictShort({ ...failed, comparator: "=" }), "✗ 500 (expected 201)");
});
