// The page's routes, read from the location hash: `#/traces?service=S&selector=S`,
// `#/trace/ID?selector=S&span=ID&run=N&step=N&spec=N`, `#/runs`, `#/run/N`, `#/file/ID`
// (a trace opened from a file, with the trace page's parameters),
// `#/compare?a=ID&b=ID&run_a=N&run_b=N&changes=1`, `#/services`. Views keep
// their state (filters, selected span, selector) in these parameters, so that a link, a
// reload and Back open the same view. Pure.

/**
 * @typedef {{page: "traces"} | {page: "runs"} | {page: "trace", id: string} | {page: "run", id: string} | {page: "file", id: string} | {page: "compare"} | {page: "services"}} Page
 */

/**
 * The page a hash names, and its parameters. Without the trace list (the HTML report),
 * every page but a trace or a run is the runs page.
 * @param {string} hash  `location.hash`, with or without its `#`
 * @param {boolean} traceList  whether the data source lists traces
 * @returns {{route: Page, params: URLSearchParams}}
 */
export function parseHash(hash, traceList) {
  const text = hash.replace(/^#/, "") || (traceList ? "/traces" : "/runs");
  const [path, query] = text.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  if (parts[0] === "trace" && parts[1]) return { route: { page: "trace", id: parts[1] }, params };
  if (parts[0] === "run" && parts[1]) return { route: { page: "run", id: parts[1] }, params };
  if (parts[0] === "file" && parts[1]) return { route: { page: "file", id: parts[1] }, params };
  if (parts[0] === "compare") return { route: { page: "compare" }, params };
  if (parts[0] === "services") return { route: { page: "services" }, params };
  if (parts[0] === "runs" || !traceList) return { route: { page: "runs" }, params };
  return { route: { page: "traces" }, params };
}

/**
 * The hash of a trace page.
 * @param {string} traceId
 * @param {Record<string, string | number | null | undefined>} [params]  empty ones left out
 * @returns {string}
 */
export function traceHash(traceId, params = {}) {
  const text = query(params);
  return "#/trace/" + traceId + (text ? "?" + text : "");
}

/**
 * The compare page's hash: trace `a` against trace `b`, each as a run judged it if given.
 * @param {import("./data.js").TraceRef} a
 * @param {import("./data.js").TraceRef} b
 * @returns {string}
 */
export function compareHash(a, b) {
  return "#/compare?" + query({ a: a.traceId, run_a: a.runId, b: b.traceId, run_b: b.runId });
}

/**
 * The traces list's hash with its filters.
 * @param {Record<string, string | null | undefined>} [params]  empty ones left out
 * @returns {string}
 */
export function listHash(params = {}) {
  const text = query(params);
  return "#/traces" + (text ? "?" + text : "");
}

/**
 * `hash` with some parameters changed: a null, undefined or empty value removes one. The
 * path and the other parameters stay as they are.
 * @param {string} hash
 * @param {Record<string, string | number | null | undefined>} changes
 * @returns {string}
 */
export function withParams(hash, changes) {
  const [path, text] = hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(text || "");
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") params.delete(key);
    else params.set(key, String(value));
  }
  const out = params.toString();
  return "#" + path + (out ? "?" + out : "");
}

/**
 * @param {Record<string, string | number | null | undefined>} params
 * @returns {string}
 */
function query(params) {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") out.set(key, String(value));
  }
  return out.toString();
}
