// The waterfall's critical path over a 10,000-span trace shaped as the bench workload's
// (a root, 999 trees of ten under it): the walk that scanned every child at each return
// (before, kept here as it was) against positions.js's (after), in the same run.
//
//   node crates/bench/ui/critical_path.mjs

import { criticalPath, parentIndexes } from "../../ui/js/positions.js";

const N = 10_000;
const spans = [{ depth: 0, subtree_end: N, start_time_unix_nano: 0, end_time_unix_nano: 1e9 }];
for (let tree = 0; spans.length < N; tree++) {
  const base = spans.length;
  const size = Math.min(10, N - base);
  spans.push({ depth: 1, subtree_end: base + size, start_time_unix_nano: tree * 1e6, end_time_unix_nano: tree * 1e6 + 5e5 });
  for (let c = 1; c < size; c++) {
    spans.push({ depth: 2, subtree_end: base + c + 1, start_time_unix_nano: tree * 1e6 + c * 1e4, end_time_unix_nano: tree * 1e6 + c * 1e4 + 5e3 });
  }
}

/** The critical path as first written: every child scanned at each return. */
function before(spans) {
  const path = new Map();
  const parents = parentIndexes(spans);
  const start = spans.map((s) => s.start_time_unix_nano);
  const end = spans.map((s) => s.end_time_unix_nano);
  const children = spans.map(() => []);
  for (let i = 0; i < spans.length; i++) {
    const p = parents[i];
    if (p < 0) continue;
    start[i] = Math.max(start[i], start[p]);
    end[i] = Math.min(end[i], end[p]);
    if (!(start[i] <= end[i])) { start[i] = end[i] = NaN; continue; }
    children[p].push(i);
  }
  const add = (i, from, to) => { if (from >= to) return; if (!path.has(i)) path.set(i, []); path.get(i).push([from, to]); };
  const visited = new Set([0]);
  let current = 0;
  let returning = null;
  for (;;) {
    const until = returning === null ? end[current] : returning;
    let last = -1;
    for (const child of children[current]) {
      if (visited.has(child) || end[child] > until) continue;
      if (last < 0 || end[child] > end[last]) last = child;
    }
    if (last >= 0) { add(current, end[last], until); visited.add(last); current = last; returning = null; continue; }
    add(current, start[current], until);
    if (parents[current] < 0) break;
    returning = start[current];
    current = parents[current];
  }
  for (const sections of path.values()) sections.reverse();
  return path;
}

const median = (f) => {
  const times = [];
  for (let round = 0; round < 15; round++) {
    const t = performance.now();
    f(spans);
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[7];
};
if (JSON.stringify([...before(spans)]) !== JSON.stringify([...criticalPath(spans)])) throw new Error("the two walks differ");
console.log(`critical path of ${N} spans, median of 15: before ${median(before).toFixed(1)} ms, after ${median(criticalPath).toFixed(1)} ms`);
