// A trace's statistics, as Jaeger UI's "Trace Statistics": per service and operation (span
// name), how many spans, their total and self time (a span's duration less the time its
// children cover, overlapping children counted once) and how many are errors. Pure.
//
// Spans come in the server's tree order: a span's children are the spans one level deeper
// within its subtree range [i, subtree_end).

/**
 * What the statistics read of a span.
 * @typedef {Pick<import("./types.js").Span, "depth" | "subtree_end" | "service" | "name" | "status" | "start_time_unix_nano" | "end_time_unix_nano" | "duration_nanos">} StatSpan
 */

/**
 * @typedef {object} StatRow
 * @property {string} service
 * @property {string} name
 * @property {number} count
 * @property {number} total  nanoseconds, the spans' durations summed
 * @property {number} self  nanoseconds not covered by a child
 * @property {number} errors
 */

/**
 * Each span's self time: its duration less the union of its children's intervals (clipped
 * to the span).
 * @param {StatSpan[]} spans
 * @returns {number[]}
 */
export function selfTimes(spans) {
  return spans.map((span, i) => {
    /** @type {[number, number][]} */
    const parts = [];
    for (let j = i + 1; j < span.subtree_end; j = spans[j].subtree_end) {
      // j walks the children only: each next child starts where the last one's subtree ends.
      const from = Math.max(span.start_time_unix_nano, spans[j].start_time_unix_nano);
      const to = Math.min(span.end_time_unix_nano, spans[j].end_time_unix_nano);
      if (to > from) parts.push([from, to]);
    }
    parts.sort((x, y) => x[0] - y[0]);
    let covered = 0;
    let reach = -Infinity;
    for (const [from, to] of parts) {
      if (to <= reach) continue;
      covered += to - Math.max(from, reach);
      reach = to;
    }
    return Math.max(0, span.duration_nanos - covered);
  });
}

/**
 * The rows, by total time, longest first (ties by service, then name).
 * @param {StatSpan[]} spans
 * @returns {StatRow[]}
 */
export function traceStats(spans) {
  const own = selfTimes(spans);
  /** @type {Map<string, StatRow>} */
  const rows = new Map();
  spans.forEach((span, i) => {
    const key = span.service + "\u0000" + span.name;
    const row = rows.get(key) || { service: span.service, name: span.name, count: 0, total: 0, self: 0, errors: 0 };
    row.count += 1;
    row.total += span.duration_nanos;
    row.self += own[i];
    if (span.status.code === "error") row.errors += 1;
    rows.set(key, row);
  });
  return [...rows.values()].sort((a, b) => b.total - a.total || a.service.localeCompare(b.service) || a.name.localeCompare(b.name));
}
