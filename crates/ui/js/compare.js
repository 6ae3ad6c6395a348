// Trace compare's arithmetic: a merged tree row's mark (what changed most), the rows to show
// with "changes only" (each changed row with its ancestors, for context), and the runs of
// the same test a run's step can be compared with. Pure; the merging itself is the server's
// (`wire::diff`, which `traces diff` prints too).

/** @typedef {import("./types.js").DiffRow} DiffRow */

/**
 * The row's mark and kind, as `traces diff` prints it: a failure before a slowdown.
 * @param {DiffRow} row
 * @returns {{mark: string, kind: "added" | "missing" | "failed" | "slower" | "fixed" | "same"}}
 */
export function rowMark(row) {
  if (row.change === "added") return { mark: row.failed ? "+!" : "+", kind: "added" };
  if (row.change === "missing") return { mark: "−", kind: "missing" };
  if (row.failed) return { mark: "!", kind: "failed" };
  if (row.slower) return { mark: "~", kind: "slower" };
  if (row.fixed) return { mark: "✓", kind: "fixed" };
  return { mark: "", kind: "same" };
}

/**
 * The rows "changes only" shows, in order: every row that changed, and the rows above it
 * (its ancestors), so that each change is seen where it is in the tree.
 * @param {Pick<DiffRow, "depth" | "subtree_end" | "change" | "slower" | "failed" | "fixed">[]} rows
 * @returns {number[]}
 */
export function changedRows(rows) {
  const keep = new Array(rows.length).fill(false);
  /** @type {number[]} */
  const ancestors = [];
  for (let i = 0; i < rows.length; i++) {
    while (ancestors.length && rows[ancestors[ancestors.length - 1]].subtree_end <= i) ancestors.pop();
    const row = rows[i];
    if (row.change !== "matched" || row.slower || row.failed || row.fixed) {
      keep[i] = true;
      for (const a of ancestors) keep[a] = true;
    }
    ancestors.push(i);
  }
  return keep.flatMap((k, i) => (k ? [i] : []));
}

/**
 * The other runs of the same test (same name) with a trace at step `stepIndex`, newest
 * first: what a run's step can be compared with (the passing run against the failing one).
 * @param {import("./types.js").RunLine[]} runs  newest first
 * @param {{id: number, name: string}} run
 * @param {number} stepIndex
 * @returns {{id: number, state: string, traceId: string}[]}
 */
export function comparableRuns(runs, run, stepIndex) {
  return runs.flatMap((other) => {
    const step = other.steps[stepIndex];
    if (other.id === run.id || other.name !== run.name || !step || !step.trace_id) return [];
    return [{ id: other.id, state: other.state, traceId: step.trace_id }];
  });
}
