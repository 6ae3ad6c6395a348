// The trace as a JSON file: the name a download gets, the text shown indented (values kept
// as written: parsing would round nanosecond times past 2^53), and a file read back checked
// to be a trace of the web API's shape before a view draws it. Pure.

/** @typedef {import("./types.js").Trace} Trace */

/**
 * The file name a downloaded trace gets.
 * @param {string} traceId
 * @returns {string}
 */
export function traceFileName(traceId) {
  return "trace-" + traceId.replace(/[^0-9a-zA-Z]/g, "") + ".json";
}

/**
 * `text` (JSON) indented by two spaces per level, every value exactly as written; at most
 * `limit` characters of output, then `null` as the second item if it all fit, else how many
 * characters of `text` were shown.
 * @param {string} text
 * @param {number} [limit]
 * @returns {[string, number | null]}
 */
export function indentJson(text, limit = Infinity) {
  let out = "";
  let depth = 0;
  let inString = false;
  let i = 0;
  const newline = () => "\n" + "  ".repeat(depth);
  for (; i < text.length && out.length < limit; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
    } else if (c === "{" || c === "[") {
      // An empty object or array stays on its line.
      const close = c === "{" ? "}" : "]";
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j])) j++;
      if (text[j] === close) {
        out += c + close;
        i = j;
      } else {
        depth++;
        out += c + newline();
      }
    } else if (c === "}" || c === "]") {
      depth = Math.max(0, depth - 1);
      out += newline() + c;
    } else if (c === ",") {
      out += "," + newline();
    } else if (c === ":") {
      out += ": ";
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return [out, i < text.length ? i : null];
}

/**
 * A trace file's text read back: the trace, or an error saying what is wrong with it. It
 * must be the shape `GET /api/v1/traces/{id}` answers (what the download writes), checked
 * far enough that the views can draw it.
 * @param {string} text
 * @returns {Trace}
 */
export function parseTraceFile(text) {
  /** @type {unknown} */
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error("not JSON: " + (error instanceof Error ? error.message : String(error)));
  }
  const what = "not a tracecheck trace (the JSON the trace page downloads)";
  if (!isObject(value)) throw new Error(what + ": expected an object");
  if (typeof value.trace_id !== "string" || !Array.isArray(value.spans)) throw new Error(what + ": expected trace_id and spans");
  const spans = value.spans;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i];
    const problem = spanProblem(span, i, spans.length);
    if (problem) throw new Error(what + ": span " + i + " " + problem);
  }
  for (const key of ["span_count", "start_time_unix_nano", "end_time_unix_nano"]) {
    if (typeof value[key] !== "number") throw new Error(what + ": expected a number " + key);
  }
  return /** @type {Trace} */ (/** @type {unknown} */ (value));
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * What is wrong with span `i` of `n`, or null.
 * @param {unknown} span
 * @param {number} i
 * @param {number} n
 * @returns {string | null}
 */
function spanProblem(span, i, n) {
  if (!isObject(span)) return "is not an object";
  for (const key of ["span_id", "name", "service", "kind", "type"]) {
    if (typeof span[key] !== "string") return "has no string " + key;
  }
  for (const key of ["depth", "start_time_unix_nano", "end_time_unix_nano", "duration_nanos"]) {
    if (typeof span[key] !== "number") return "has no number " + key;
  }
  // The tree's order: the views index by subtree_end, so it must stay inside the list.
  if (typeof span.subtree_end !== "number" || !Number.isInteger(span.subtree_end) || span.subtree_end <= i || span.subtree_end > n) {
    return "has a subtree_end outside the trace";
  }
  if (!isObject(span.status) || typeof span.status.code !== "string") return "has no status";
  for (const key of ["attributes", "language_attributes"]) {
    if (!isObject(span[key])) return "has no " + key;
  }
  if (!isObject(span.resource) || !isObject(span.resource.attributes)) return "has no resource";
  if (!isObject(span.scope)) return "has no scope";
  if (!Array.isArray(span.events) || !Array.isArray(span.links)) return "has no events or links";
  return null;
}
