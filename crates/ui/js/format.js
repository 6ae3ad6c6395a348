// Text for durations, times, states and verdicts; colours for services. Pure: no DOM, no
// clock (callers pass `now`).

/**
 * A duration in nanoseconds as text: `850ns`, `12.5µs`, `3.2ms`, `1.25s`.
 * @param {number} nanos
 * @returns {string}
 */
export function duration(nanos) {
  if (nanos < 1e3) return nanos + "ns";
  if (nanos < 1e6) return (nanos / 1e3).toFixed(1) + "µs";
  if (nanos < 1e9) return (nanos / 1e6).toFixed(1) + "ms";
  return (nanos / 1e9).toFixed(2) + "s";
}

/**
 * How long ago `unixMs` was at `nowMs`: `5s ago`, `3m ago`, `2h ago`, `4d ago`.
 * @param {number} unixMs
 * @param {number} nowMs
 * @returns {string}
 */
export function age(unixMs, nowMs) {
  const seconds = Math.max(0, Math.round((nowMs - unixMs) / 1000));
  if (seconds < 60) return seconds + "s ago";
  if (seconds < 3600) return Math.floor(seconds / 60) + "m ago";
  if (seconds < 86400) return Math.floor(seconds / 3600) + "h ago";
  return Math.floor(seconds / 86400) + "d ago";
}

/**
 * A Unix time in nanoseconds as ISO 8601 with microseconds; empty for 0.
 * @param {number} nanos
 * @returns {string}
 */
export function isoTime(nanos) {
  if (!nanos) return "";
  const ms = Math.floor(nanos / 1e6);
  return new Date(ms).toISOString().replace("Z", "") + String(nanos % 1e6).padStart(6, "0").slice(0, 3) + "Z";
}

/**
 * Whether a span names a parent that the trace does not hold (the tree shows it as a root).
 * @param {Pick<import("./types.js").Span, "parent_span_id" | "tree_parent_id">} span
 * @returns {boolean}
 */
export function isOrphan(span) {
  return span.parent_span_id !== null && span.tree_parent_id === null;
}

/**
 * `1 span`, `3 spans`.
 * @param {number} n
 * @param {string} noun
 * @returns {string}
 */
export function count(n, noun) {
  return n + " " + noun + (n === 1 ? "" : "s");
}

/**
 * A span kind as people spell it: the wire keeps Tracetest's `unespecified` (what specs
 * compare against), the page writes `unspecified`.
 * @param {string} kind
 * @returns {string}
 */
export function kindText(kind) {
  return kind === "unespecified" ? "unspecified" : kind;
}

/**
 * A Unix time in milliseconds as local date and time to the second: `2026-12-06 06:26:03`.
 * @param {number} unixMs
 * @returns {string}
 */
export function localTime(unixMs) {
  const d = new Date(unixMs);
  const two = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
}

/**
 * The CSS class of a run or step state.
 * @param {string} state
 * @returns {"ok" | "muted" | "err"}
 */
export function stateClass(state) {
  return state === "PASSED" || state === "FINISHED" ? "ok" : state === "NOT_EXECUTED" ? "muted" : "err";
}

/**
 * `s` cut to `max` characters with an ellipsis.
 * @param {string} s
 * @param {number} max
 * @returns {string}
 */
export function shorten(s, max) {
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

/**
 * `1 call`, `3 calls, 1 error`: a service-map edge's label.
 * @param {number} count
 * @param {number} errors
 * @returns {string}
 */
export function callsLabel(count, errors) {
  return count + (count === 1 ? " call" : " calls") + (errors ? ", " + errors + (errors === 1 ? " error" : " errors") : "");
}

/**
 * A value of an attribute table: strings as they are, anything else as JSON.
 * @param {unknown} value
 * @returns {string}
 */
export function valueText(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * `✓ ` or `✗ `.
 * @param {boolean} passed
 * @returns {string}
 */
export function mark(passed) {
  return passed ? "✓ " : "✗ ";
}

/**
 * What an assertion expected, with its comparator unless it is `=` (as the console and
 * reports word it): `201`, `< 400`, `!= 500`; `null` when nothing was expected. A bare
 * value under `<` would read as the opposite of the check (issue 21).
 * @param {import("./types.js").SpanResult} result
 * @param {(value: string) => string} show  how the value is written
 * @returns {string | null}
 */
export function expectation(result, show) {
  if (result.expected === undefined || result.expected === null) return null;
  const comparator = result.comparator;
  return (comparator && comparator !== "=" ? comparator + " " : "") + show(result.expected);
}

/**
 * An assertion's result beside a waterfall row: `✗ 500 (expected < 400)`, `✓ 201`,
 * `✗ no value`.
 * @param {import("./types.js").SpanResult} result
 * @returns {string}
 */
export function verdictShort(result) {
  const observed = result.observed === null ? result.error || "no value" : result.observed;
  const expected = expectation(result, (value) => value);
  return mark(result.passed) + observed + (expected === null ? "" : " (expected " + expected + ")");
}

/**
 * An assertion's result in full: `observed "500", expected < "400" (error)`.
 * @param {import("./types.js").SpanResult} result
 * @returns {string}
 */
export function verdictLong(result) {
  const expected = expectation(result, (value) => JSON.stringify(value));
  return "observed " + JSON.stringify(result.observed) +
    (expected === null ? "" : ", expected " + expected) +
    (result.error ? " (" + result.error + ")" : "");
}
