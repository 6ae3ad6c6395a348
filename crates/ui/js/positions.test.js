import assert from "node:assert/strict";
import { test } from "node:test";

import { ROW, bar, clampWindow, criticalPath, dragWindow, expandTo, keyAction, markPlaces, niceTicks, parentIndexes, revealScroll, rowWindow, section, ticks, visibleRows, windowBar } from "./positions.js";

/**
 * Spans in tree order from `[depth, start, end]`, with `subtree_end` computed.
 * @param {[number, number, number][]} rows
 */
function tree(rows) {
  return rows.map(([depth, start, end], i) => {
    let subtreeEnd = i + 1;
    while (subtreeEnd < rows.length && rows[subtreeEnd][0] > depth) subtreeEnd++;
    return { depth, subtree_end: subtreeEnd, start_time_unix_nano: start, end_time_unix_nano: end };
  });
}

// root 0..100 > (a 10..40 > a1 15..35), (b 50..90 > b1 55..60, b2 60..85)
const SPANS = tree([[0, 0, 100], [1, 10, 40], [2, 15, 35], [1, 50, 90], [2, 55, 60], [2, 60, 85]]);

test("collapsed subtrees hide their rows", () => {
  assert.deepEqual(visibleRows(SPANS, new Set()), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(visibleRows(SPANS, new Set([1])), [0, 1, 3, 4, 5]);
  assert.deepEqual(visibleRows(SPANS, new Set([3, 1])), [0, 1, 3]);
  assert.deepEqual(visibleRows(SPANS, new Set([0])), [0]);
  assert.deepEqual(visibleRows([], new Set()), []);
});

test("selecting a span unfolds its ancestors only", () => {
  assert.deepEqual([...expandTo(SPANS, new Set([0, 3, 1]), 4)].sort(), [1]);
  assert.deepEqual([...expandTo(SPANS, new Set([2]), 2)], [2], "its own fold stays");
});

test("parents come from depths in tree order", () => {
  assert.deepEqual(parentIndexes(SPANS), [-1, 0, 1, 0, 3, 3]);
  assert.deepEqual(parentIndexes(tree([[0, 0, 1], [0, 0, 1], [1, 0, 1]])), [-1, -1, 1]);
});

test("only the rows in view and an overscan are drawn", () => {
  assert.deepEqual(rowWindow({ scrollTop: 0, viewHeight: 480, count: 10_000 }), { first: 0, last: 40 });
  assert.deepEqual(rowWindow({ scrollTop: 100 * ROW, viewHeight: 480, count: 10_000 }), { first: 90, last: 130 });
  assert.deepEqual(rowWindow({ scrollTop: 100 * ROW + ROW, viewHeight: 480, count: 10_000, offset: ROW }), { first: 90, last: 130 });
  assert.deepEqual(rowWindow({ scrollTop: 0, viewHeight: 480, count: 5 }), { first: 0, last: 5 });
  assert.deepEqual(rowWindow({ scrollTop: 0, viewHeight: 0, count: 100, overscan: 0 }), { first: 0, last: 0 });
});

test("revealing a row scrolls as little as possible, below the sticky header", () => {
  const view = { scrollTop: 240, viewHeight: 240, offset: ROW };
  assert.equal(revealScroll({ ...view, position: 12 }), 240, "already in view");
  assert.equal(revealScroll({ ...view, position: 5 }), 5 * ROW, "above: to its top");
  assert.equal(revealScroll({ ...view, position: 30 }), ROW + 31 * ROW - 240, "below: to its bottom");
  assert.equal(revealScroll({ scrollTop: 0, viewHeight: 240, position: 9 }), 0);
  assert.equal(revealScroll({ scrollTop: 0, viewHeight: 240, position: 10 }), ROW);
});

test("bars are placed in percent of the trace, never thinner than 0.3%", () => {
  assert.deepEqual(bar(SPANS[3], 0, 100), { left: 50, width: 40 });
  assert.deepEqual(bar({ ...SPANS[0], start_time_unix_nano: 100, end_time_unix_nano: 100 }, 0, 100), { left: 99.7, width: 0.3 });
  assert.deepEqual(section(60, 85, 0, 100), { left: 60, width: 25 });
});

test("ticks divide the trace evenly with duration labels", () => {
  assert.deepEqual(ticks(2_000_000), [
    { percent: 0, label: "0ns" }, { percent: 25, label: "500.0µs" }, { percent: 50, label: "1.0ms" },
    { percent: 75, label: "1.5ms" }, { percent: 100, label: "2.0ms" },
  ]);
  assert.equal(ticks(10, 2).length, 3);
});

test("the critical path follows the last-finishing child back to the start", () => {
  const path = criticalPath(SPANS);
  assert.deepEqual(Object.fromEntries(path), {
    0: [[0, 10], [40, 50], [90, 100]],
    1: [[10, 15], [35, 40]],
    2: [[15, 35]],
    3: [[50, 55], [85, 90]],
    4: [[55, 60]],
    5: [[60, 85]],
  });
  // Total critical time is the root's duration: sections never overlap.
  const total = [...path.values()].flat().reduce((sum, [a, b]) => sum + b - a, 0);
  assert.equal(total, 100);
});

test("the critical path skips children that end after the point it came back to", () => {
  // a (10..90) finished last and is critical all along; b inside it and c, which overlaps
  // a's start, are not: the root waited for a, so only the root's time before 10 is critical.
  const spans = tree([[0, 0, 100], [1, 10, 90], [1, 20, 80], [1, 5, 15]]);
  assert.deepEqual(Object.fromEntries(criticalPath(spans)), { 0: [[0, 10], [90, 100]], 1: [[10, 90]] });
  // Sequential children are all critical, the one ending where the next starts included.
  const steps = tree([[0, 0, 30], [1, 0, 10], [1, 10, 20], [1, 20, 30]]);
  assert.deepEqual(Object.fromEntries(criticalPath(steps)), { 1: [[0, 10]], 2: [[10, 20]], 3: [[20, 30]] });
});

test("children are clipped to their parent and zero-length spans do not loop", () => {
  const spans = tree([[0, 0, 10], [1, 5, 30], [1, 20, 40], [1, 4, 4]]);
  assert.deepEqual(Object.fromEntries(criticalPath(spans)), { 0: [[0, 4], [4, 5]], 1: [[5, 10]] });
  assert.deepEqual(criticalPath([]), new Map());
  assert.deepEqual(Object.fromEntries(criticalPath(tree([[0, 0, 0]]))), {});
});

test("keys move, fold, unfold and open", () => {
  const state = { visible: [0, 1, 3, 4, 5], selected: 1, spans: SPANS, collapsed: new Set([1]) };
  assert.deepEqual(keyAction("ArrowDown", state), { select: 3 });
  assert.deepEqual(keyAction("ArrowUp", state), { select: 0 });
  assert.deepEqual(keyAction("ArrowUp", { ...state, selected: 0 }), { select: 0 });
  assert.deepEqual(keyAction("ArrowDown", { ...state, selected: 5 }), { select: 5 });
  assert.deepEqual(keyAction("ArrowDown", { ...state, selected: -1 }), { select: 0 });
  assert.deepEqual(keyAction("ArrowRight", state), { toggle: 1 });
  assert.equal(keyAction("ArrowLeft", state), null, "already folded");
  assert.deepEqual(keyAction("ArrowLeft", { ...state, selected: 3 }), { toggle: 3 });
  assert.equal(keyAction("ArrowLeft", { ...state, selected: 4 }), null, "a leaf");
  assert.deepEqual(keyAction("Enter", state), { open: 1 });
  assert.equal(keyAction("Enter", { ...state, selected: -1 }), null);
  assert.equal(keyAction("x", state), null);
});

test("windows stay inside the trace and keep their width against an edge", () => {
  const round = (/** @type {{from: number, to: number}} */ w) => ({ from: +w.from.toFixed(6), to: +w.to.toFixed(6) });
  assert.deepEqual(round(clampWindow({ from: -0.2, to: 0.3 })), { from: 0, to: 0.5 });
  assert.deepEqual(round(clampWindow({ from: 0.8, to: 1.2 })), { from: 0.6, to: 1 });
  assert.deepEqual(round(clampWindow({ from: 0.5, to: 0.5 })), { from: 0.5, to: 0.501 });
  assert.deepEqual(dragWindow(0.75, 0.25), { from: 0.25, to: 0.75 });
  assert.deepEqual(dragWindow(0.4, 0.4), { from: 0, to: 1 }, "a click shows the whole trace");
});

test("ticks fall on round times within the window", () => {
  const labels = (/** @type {{label: string}[]} */ t) => t.map((x) => x.label);
  assert.deepEqual(labels(niceTicks(0, 10_000_000)), ["0ns", "2.0ms", "4.0ms", "6.0ms", "8.0ms", "10.0ms"]);
  const zoomed = niceTicks(2_500_000, 3_500_000);
  assert.deepEqual(labels(zoomed), ["2.6ms", "2.8ms", "3.0ms", "3.2ms", "3.4ms"]);
  assert.ok(Math.abs(zoomed[0].percent - 10) < 1e-9);
  assert.ok(zoomed.every((t) => t.percent >= 0 && t.percent <= 100));
});

test("bars in a window are clipped to it, and left out when outside", () => {
  const span = { depth: 0, subtree_end: 1, start_time_unix_nano: 1500, end_time_unix_nano: 1750 };
  assert.deepEqual(windowBar(span, 1000, 1000, { from: 0, to: 1 }), bar(span, 1000, 1000));
  assert.deepEqual(windowBar(span, 1000, 1000, { from: 0.5, to: 1 }), { left: 0, width: 50 });
  assert.deepEqual(windowBar(span, 1000, 1000, { from: 0.6, to: 0.7 }), { left: 0, width: 100 });
  assert.equal(windowBar(span, 1000, 1000, { from: 0, to: 0.25 }), null);
});

test("scrollbar marks sit at their rows, or at the row that folds them", () => {
  assert.deepEqual(markPlaces([0, 1, 2, 3], [1, 3]), [0.375, 0.875]);
  // Rows 2 and 3 are folded under row 1: both are marked at it, once.
  assert.deepEqual(markPlaces([0, 1, 4], [2, 3]), [0.5]);
  assert.deepEqual(markPlaces([], [1]), []);
});

/**
 * The critical path as first written (every child scanned at each return), to hold the
 * faster walk to: the same sections on random trees.
 * @param {import("./positions.js").RowSpan[]} spans
 */
function slowCriticalPath(spans) {
  /** @type {Map<number, [number, number][]>} */
  const path = new Map();
  if (spans.length === 0) return path;
  const parents = parentIndexes(spans);
  const start = spans.map((s) => s.start_time_unix_nano);
  const end = spans.map((s) => s.end_time_unix_nano);
  /** @type {number[][]} */
  const children = spans.map(() => []);
  for (let i = 0; i < spans.length; i++) {
    const p = parents[i];
    if (p < 0) continue;
    start[i] = Math.max(start[i], start[p]);
    end[i] = Math.min(end[i], end[p]);
    if (!(start[i] <= end[i])) {
      start[i] = end[i] = NaN;
      continue;
    }
    children[p].push(i);
  }
  /** @param {number} i @param {number} from @param {number} to */
  const add = (i, from, to) => {
    if (from >= to) return;
    if (!path.has(i)) path.set(i, []);
    path.get(i)?.push([from, to]);
  };
  const visited = new Set([0]);
  let current = 0;
  /** @type {number | null} */
  let returning = null;
  for (;;) {
    const until = returning === null ? end[current] : returning;
    let last = -1;
    for (const child of children[current]) {
      if (visited.has(child) || end[child] > until) continue;
      if (last < 0 || end[child] > end[last]) last = child;
    }
    if (last >= 0) {
      add(current, end[last], until);
      visited.add(last);
      current = last;
      returning = null;
      continue;
    }
    add(current, start[current], until);
    if (parents[current] < 0) break;
    returning = start[current];
    current = parents[current];
  }
  for (const sections of path.values()) sections.reverse();
  return path;
}

test("the critical path's walk matches scanning every child, on random trees", () => {
  let seed = 7;
  const random = (/** @type {number} */ n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    // A random tree in pre-order: each span a child of some span on the current path.
    const n = 1 + random(40);
    /** @type {{depth: number, subtree_end: number, start_time_unix_nano: number, end_time_unix_nano: number}[]} */
    const spans = [];
    /** @type {number[]} */
    const path = [];
    for (let i = 0; i < n; i++) {
      const depth = i === 0 ? 0 : 1 + random(path.length);
      path.length = depth;
      const from = random(100);
      spans.push({ depth, subtree_end: i + 1, start_time_unix_nano: from, end_time_unix_nano: from + random(60) });
      for (const ancestor of path) spans[ancestor].subtree_end = i + 1;
      path.push(i);
    }
    assert.deepEqual([...criticalPath(spans)].sort((a, b) => a[0] - b[0]), [...slowCriticalPath(spans)].sort((a, b) => a[0] - b[0]), JSON.stringify(spans));
  }
});
