import assert from "node:assert/strict";
import { test } from "node:test";

import { changedRows, comparableRuns, rowMark } from "./compare.js";

/**
 * @param {number} depth
 * @param {number} end
 * @param {"matched" | "added" | "missing"} change
 * @param {{slower?: boolean, failed?: boolean, fixed?: boolean}} [flags]
 */
const row = (depth, end, change, flags = {}) => ({
  depth, subtree_end: end, name: "n", service: "s", change,
  slower: !!flags.slower, failed: !!flags.failed, fixed: !!flags.fixed, a: null, b: null,
});

test("a row's mark says what changed most", () => {
  assert.deepEqual(rowMark(row(0, 1, "added")), { mark: "+", kind: "added" });
  assert.deepEqual(rowMark(row(0, 1, "added", { failed: true })), { mark: "+!", kind: "added" });
  assert.deepEqual(rowMark(row(0, 1, "missing")), { mark: "−", kind: "missing" });
  assert.deepEqual(rowMark(row(0, 1, "matched", { failed: true, slower: true })), { mark: "!", kind: "failed" });
  assert.deepEqual(rowMark(row(0, 1, "matched", { slower: true })), { mark: "~", kind: "slower" });
  assert.deepEqual(rowMark(row(0, 1, "matched", { fixed: true })), { mark: "✓", kind: "fixed" });
  assert.deepEqual(rowMark(row(0, 1, "matched")), { mark: "", kind: "same" });
});

test("changes only keeps each change with its ancestors", () => {
  const rows = [
    row(0, 7, "matched"),
    row(1, 3, "matched"),
    row(2, 3, "matched"),
    row(1, 6, "matched"),
    row(2, 5, "matched"),
    row(2, 6, "matched", { slower: true }),
    row(1, 7, "added"),
  ];
  assert.deepEqual(changedRows(rows), [0, 3, 5, 6]);
  assert.deepEqual(changedRows(rows.slice(1, 3)), []);
  assert.deepEqual(changedRows([]), []);
});

test("a run's step compares with the same test's other runs", () => {
  const line = (/** @type {number} */ id, /** @type {string} */ name, /** @type {(string | null)[]} */ traces) => ({
    id, received_unix_ms: 0, name, kind: /** @type {const} */ ("Test"), state: /** @type {const} */ ("FINISHED"), file: null, duration_ms: null,
    steps: traces.map((t) => ({ name: "s", state: /** @type {const} */ ("PASSED"), trace_id: t })),
  });
  const runs = [line(4, "checkout", ["d", "e"]), line(3, "other", ["c"]), line(2, "checkout", [null]), line(1, "checkout", ["a"])];
  assert.deepEqual(comparableRuns(runs, { id: 4, name: "checkout" }, 0), [{ id: 1, state: "FINISHED", traceId: "a" }]);
  assert.deepEqual(comparableRuns(runs, { id: 1, name: "checkout" }, 0), [{ id: 4, state: "FINISHED", traceId: "d" }]);
  assert.deepEqual(comparableRuns(runs, { id: 4, name: "checkout" }, 1), []);
});
