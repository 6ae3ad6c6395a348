import assert from "node:assert/strict";
import { test } from "node:test";

import { selfTimes, traceStats } from "./stats.js";

/**
 * @param {number} depth
 * @param {number} end
 * @param {string} service
 * @param {string} name
 * @param {number} from
 * @param {number} to
 * @param {boolean} [error]
 */
const span = (depth, end, service, name, from, to, error = false) => ({
  depth, subtree_end: end, service, name, start_time_unix_nano: from, end_time_unix_nano: to, duration_nanos: to - from,
  status: { code: /** @type {"error" | "unset"} */ (error ? "error" : "unset"), message: "" },
});

// root 0-100 > a 10-40 (> a1 15-20), b 30-60 (overlaps a), c 90-120 (past the root's end).
const spans = [
  span(0, 5, "web", "GET", 0, 100),
  span(1, 3, "api", "query", 10, 40),
  span(2, 3, "db", "select", 15, 20, true),
  span(1, 4, "api", "query", 30, 60, true),
  span(1, 5, "api", "cache", 90, 120),
];

test("self time is the duration less what the children cover, overlaps once", () => {
  // root: children cover 10-60 and 90-100 = 60; a: 5; the rest have no children.
  assert.deepEqual(selfTimes(spans), [40, 25, 5, 30, 30]);
});

test("statistics per service and operation, longest total first", () => {
  assert.deepEqual(traceStats(spans), [
    { service: "web", name: "GET", count: 1, total: 100, self: 40, errors: 0 },
    { service: "api", name: "query", count: 2, total: 60, self: 55, errors: 1 },
    { service: "api", name: "cache", count: 1, total: 30, self: 30, errors: 0 },
    { service: "db", name: "select", count: 1, total: 5, self: 5, errors: 1 },
  ]);
  assert.deepEqual(traceStats([]), []);
});
