// The one data interface of the views, with two adapters: `httpSource` reads the server's
// `/api/v1` (the live UI), `inlineSource` answers from the HTML report's inline JSON. Both
// answer the same calls with the same shapes (types.js) and fail with `ApiError`.

import { analyzerFor, summaryOf } from "./model.js";
import { dependencyLinks } from "./servicemap.js";

/** @typedef {import("./types.js").Trace} Trace */
/** @typedef {import("./types.js").TraceList} TraceList */

/**
 * A failed call: the server's status and message (and a bad selector's column).
 */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {Partial<import("./types.js").ApiErrorBody> | null} body
   */
  constructor(status, body) {
    super((body && body.error) || "HTTP " + status);
    this.status = status;
    /** @type {number | null} */
    this.column = (body && body.column) ?? null;
  }
}

/**
 * @typedef {object} ListQuery
 * @property {string} [service]
 * @property {string} [selector]
 * @property {number | null} [cursor]
 * @property {number} [limit]
 * @property {string} [operation]  the search form's: a span of this name
 * @property {string} [tags]  attributes, `key=value key2="a b"`
 * @property {string} [min_duration]  the trace's duration, `100ms`, `2s`
 * @property {string} [max_duration]
 * @property {number | null} [start]  the trace started at or after, Unix ms
 * @property {boolean} [errors]  a span in error
 */

/**
 * A recorded run's ID, as the URL or a run line carries it; null or undefined: none.
 * @typedef {string | number | null | undefined} RunId
 */

/**
 * A trace to compare: its ID, and the run whose view of it to read, if any.
 * @typedef {{traceId: string, runId?: RunId}} TraceRef
 */

/**
 * Called with each live event's type (`trace.created`, `trace.grown`, `run.recorded`)
 * and data (a TraceEvent or a RunEvent).
 * @typedef {(type: string, data: any) => void} EventHandler
 */

/**
 * What the views read. `can` says what the source supports: a live event stream,
 * evaluating selectors, listing every stored trace, comparing traces.
 * @typedef {object} Source
 * @property {{live: boolean, selectors: boolean, traceList: boolean, compare: boolean}} can
 * @property {(query?: ListQuery) => Promise<TraceList>} listTraces
 * @property {(traceId: string, runId?: RunId) => Promise<Trace>} getTrace  with `runId`, the
 *   trace as that run judged it (its trigger span, and still there after the store's TTL)
 * @property {(traceId: string, offset: number, limit?: number) => Promise<Trace>} getTracePart  the
 *   spans `offset..offset + limit` of a trace too large for the server to read whole, in the
 *   order they arrived (the server lowers `limit` to what its read budget holds); where the
 *   trace is held whole (the report, a file), the whole trace
 * @property {(traceId: string, part: import("./types.js").TracePart) => string | null} partUrl  where
 *   the part's JSON can be downloaded, or null
 * @property {(traceId: string, selector: string, runId?: RunId) => Promise<import("./types.js").Selection>} select
 * @property {(traceId: string, runId?: RunId) => Promise<import("./types.js").AnalyzerResult>} analysis
 * @property {(traceId: string, runId?: RunId) => string | null} traceUrl  where the trace's JSON
 *   can be downloaded as the server writes it, or null (the page then writes it itself)
 * @property {(traceId: string, runId?: RunId, part?: import("./types.js").TracePart) => Promise<string>} traceText  the
 *   trace's JSON (or with `part`, that part's): the server's bytes, or the data's trace written out
 * @property {(a: TraceRef, b: TraceRef) => Promise<import("./types.js").TraceDiff>} diff  the two
 *   traces as one merged tree (the server's `wire::diff`; the report holds those its run
 *   pages offer, merged when it was written)
 * @property {(a: TraceRef, b: TraceRef) => boolean} canDiff  whether `diff` can answer for the
 *   pair: always with a server, in the report for the pairs it holds
 * @property {() => Promise<import("./types.js").Dependency[]>} dependencies  the calls between
 *   services over every trace held (the server's Jaeger dependencies, or the report's traces)
 * @property {() => Promise<string[]>} services  every service name the store holds, sorted
 * @property {(service: string) => Promise<string[]>} operations  the span names a service's
 *   spans have, sorted (none for a service the store does not know)
 * @property {() => Promise<import("./types.js").RunList>} listRuns
 * @property {(runId: string | number) => Promise<import("./types.js").Run>} getRun
 * @property {(handler: EventHandler, onState?: (open: boolean) => void) => () => void} events
 *   subscribes to live events; returns the unsubscribe
 */

/** The event types of `/api/v1/events`. */
export const EVENT_TYPES = ["trace.created", "trace.grown", "run.recorded"];

/**
 * The live server's API over `fetchFn` (the browser's `fetch`), under `base`.
 * @param {(url: string, init?: RequestInit) => Promise<Response>} fetchFn
 * @param {{base?: string, servicesUrl?: string, EventSource?: typeof EventSource}} [options]
 * @returns {Source}
 */
export function httpSource(fetchFn, options = {}) {
  const base = options.base ?? "/api/v1";
  const EventSourceClass = options.EventSource ?? globalThis.EventSource;
  /**
   * @param {string} path
   * @returns {Promise<any>}
   */
  async function get(path) {
    const response = await fetchFn(base + path, { credentials: "same-origin" });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }
  const id = encodeURIComponent;
  /**
   * The trace's path, and its `run` parameter when read as a run judged it.
   * @param {string} traceId
   * @param {string} rest  the path after the trace's
   * @param {URLSearchParams} params
   * @param {RunId} runId
   */
  const tracePath = (traceId, rest, params, runId) => {
    if (runId !== null && runId !== undefined && runId !== "") params.set("run", String(runId));
    const text = params.toString();
    return "/traces/" + id(traceId) + rest + (text ? "?" + text : "");
  };
  /**
   * The body as text, or the server's error.
   * @param {string} path
   * @returns {Promise<string>}
   */
  async function getText(path) {
    const response = await fetchFn(base + path, { credentials: "same-origin" });
    if (response.ok) return response.text();
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    throw new ApiError(response.status, body);
  }
  return {
    can: { live: EventSourceClass !== undefined, selectors: true, traceList: true, compare: true },
    listTraces(query = {}) {
      const params = new URLSearchParams();
      if (query.service) params.set("service", query.service);
      if (query.selector) params.set("selector", query.selector);
      if (query.cursor !== undefined && query.cursor !== null) params.set("cursor", String(query.cursor));
      if (query.limit !== undefined) params.set("limit", String(query.limit));
      for (const key of /** @type {const} */ (["operation", "tags", "min_duration", "max_duration"])) {
        const value = (query[key] || "").trim();
        if (value) params.set(key, value);
      }
      if (query.start !== undefined && query.start !== null) params.set("start", String(query.start));
      if (query.errors) params.set("errors", "true");
      const text = params.toString();
      return get("/traces" + (text ? "?" + text : ""));
    },
    getTrace: (traceId, runId) => get(tracePath(traceId, "", new URLSearchParams(), runId)),
    getTracePart: (traceId, offset, limit) => get(tracePath(traceId, "", partParams(offset, limit), null)),
    partUrl: (traceId, part) => base + tracePath(traceId, "", partParams(part.offset, part.limit), null),
    select: (traceId, selector, runId) => get(tracePath(traceId, "/select", new URLSearchParams({ selector }), runId)),
    analysis: (traceId, runId) => get(tracePath(traceId, "/analysis", new URLSearchParams(), runId)),
    canDiff: () => true,
    diff: (a, b) => {
      const params = new URLSearchParams({ a: a.traceId, b: b.traceId });
      for (const [key, runId] of [["run_a", a.runId], ["run_b", b.runId]]) {
        if (runId !== null && runId !== undefined && runId !== "") params.set(String(key), String(runId));
      }
      return get("/diff?" + params);
    },
    traceUrl: (traceId, runId) => base + tracePath(traceId, "", new URLSearchParams(), runId),
    traceText: (traceId, runId, part) => getText(part
      ? tracePath(traceId, "", partParams(part.offset, part.limit), null)
      : tracePath(traceId, "", new URLSearchParams(), runId)),
    listRuns: () => get("/runs"),
    getRun: (runId) => get("/runs/" + id(String(runId))),
    // Jaeger's operations of a service (`data` null for one it does not know).
    operations: async (service) => {
      const url = (options.servicesUrl ?? "/jaeger/api/services") + "/" + encodeURIComponent(service) + "/operations";
      const response = await fetchFn(url, { credentials: "same-origin" });
      if (!response.ok) throw new ApiError(response.status, null);
      const body = await response.json();
      return Array.isArray(body && body.data) ? body.data.filter((/** @type {unknown} */ s) => typeof s === "string").sort() : [];
    },
    // Jaeger's dependencies over every stored trace: a window from the epoch to a day
    // ahead (clocks differ), where Jaeger's default looks back one day.
    dependencies: async () => {
      const end = Date.now() + 86_400_000;
      const url = (options.servicesUrl ?? "/jaeger/api/services").replace(/services$/, "dependencies") + "?endTs=" + end + "&lookback=" + end;
      const response = await fetchFn(url, { credentials: "same-origin" });
      if (!response.ok) throw new ApiError(response.status, null);
      const body = await response.json();
      return Array.isArray(body && body.data) ? body.data : [];
    },
    // Jaeger's services endpoint, served by the same server behind the same token.
    services: async () => {
      const response = await fetchFn(options.servicesUrl ?? "/jaeger/api/services", { credentials: "same-origin" });
      if (!response.ok) throw new ApiError(response.status, null);
      const body = await response.json();
      return Array.isArray(body && body.data) ? body.data.filter((/** @type {unknown} */ s) => typeof s === "string").sort() : [];
    },
    events(handler, onState) {
      if (EventSourceClass === undefined) return () => {};
      const stream = new EventSourceClass(base + "/events");
      stream.onopen = () => onState && onState(true);
      stream.onerror = () => onState && onState(false);
      for (const type of EVENT_TYPES) {
        stream.addEventListener(type, (event) => handler(type, JSON.parse(/** @type {MessageEvent} */ (event).data)));
      }
      return () => stream.close();
    },
  };
}

/**
 * The query of a part of a trace.
 * @param {number} offset
 * @param {number} [limit]
 */
function partParams(offset, limit) {
  const params = new URLSearchParams({ offset: String(Math.max(0, Math.floor(offset))) });
  if (limit !== undefined) params.set("limit", String(limit));
  return params;
}

/**
 * The HTML report's data: its runs, the traces they judged and the comparisons its run pages
 * offer, nothing else. Selectors need the server's engine, so `select` and `listTraces` with
 * a selector fail.
 * @param {import("./types.js").InlineData} data
 * @returns {Source}
 */
export function inlineSource(data) {
  const noSelectors = () => new ApiError(501, { error: "selectors need a running server" });
  // The report's traces are its runs' views, one per trace ID: a pair is its two IDs.
  /** @type {Map<string, import("./types.js").TraceDiff>} */
  const diffs = new Map((data.diffs || []).map((d) => [d.a.trace_id + " " + d.b.trace_id, d]));
  const diffKey = (/** @type {TraceRef} */ a, /** @type {TraceRef} */ b) => a.traceId + " " + b.traceId;
  /**
   * @template T
   * @param {() => T} answer
   * @returns {Promise<T>}
   */
  const answer = (answer) => new Promise((resolve) => resolve(answer()));
  return {
    can: { live: false, selectors: false, traceList: false, compare: diffs.size > 0 },
    listTraces: (query = {}) => answer(() => {
      if (query.selector) throw noSelectors();
      const service = (query.service || "").toLowerCase();
      const traces = Object.values(data.traces).map(summaryOf)
        .filter((t) => !service || t.services.some((s) => s.toLowerCase().includes(service)))
        .sort((a, b) => b.start_time_unix_nano - a.start_time_unix_nano);
      return { traces, next_cursor: null, scanned: traces.length };
    }),
    // The report's traces are its runs' views already: a run ID changes nothing.
    getTrace: (traceId) => answer(() => {
      const trace = Object.hasOwn(data.traces, traceId) ? data.traces[traceId] : undefined;
      if (!trace) throw new ApiError(404, { error: "trace " + traceId + " is not in this report" });
      return trace;
    }),
    // The report holds its traces whole: a part is the whole trace.
    getTracePart: (traceId) => answer(() => {
      const trace = Object.hasOwn(data.traces, traceId) ? data.traces[traceId] : undefined;
      if (!trace) throw new ApiError(404, { error: "trace " + traceId + " is not in this report" });
      return trace;
    }),
    partUrl: () => null,
    select: () => answer(() => { throw noSelectors(); }),
    canDiff: (a, b) => diffs.has(diffKey(a, b)),
    diff: (a, b) => answer(() => {
      const diff = diffs.get(diffKey(a, b));
      if (!diff) throw new ApiError(404, { error: "this report holds no comparison of these two traces: a run's page links those it holds" });
      return diff;
    }),
    traceUrl: () => null,
    traceText: (traceId) => answer(() => {
      if (!Object.hasOwn(data.traces, traceId)) throw new ApiError(404, { error: "trace " + traceId + " is not in this report" });
      return JSON.stringify(data.traces[traceId]);
    }),
    analysis: (traceId) => answer(() => {
      const analysis = analyzerFor(data.runs, traceId);
      if (!analysis) throw new ApiError(404, { error: "the analyzer did not run on this trace" });
      return analysis;
    }),
    dependencies: () => answer(() => dependencyLinks(Object.values(data.traces))),
    operations: (service) => answer(() => operationsOf(Object.values(data.traces), service)),
    // The report inlines the run lines the server would answer: the page derives none.
    services: () => answer(() => [...new Set(Object.values(data.traces).flatMap((t) => t.spans.map((s) => s.service)))].filter((s) => s !== "").sort()),
    listRuns: () => answer(() => data.run_list),
    getRun: (runId) => answer(() => {
      const run = data.runs.find((r) => String(r.id) === String(runId));
      if (!run) throw new ApiError(404, { error: "run " + runId + " not found" });
      return run;
    }),
    events: () => () => {},
  };
}

/**
 * Traces opened from files (`tracefile.js` checked their shape), and nothing else: no runs,
 * no selectors and no analyzer, which need the trace on a server.
 * @param {Map<string, {trace: Trace, name: string}>} opened  by trace ID: the trace and its file's name
 * @returns {Source}
 */
export function fileSource(opened) {
  /**
   * @template T
   * @param {() => T} answer
   * @returns {Promise<T>}
   */
  const answer = (answer) => new Promise((resolve) => resolve(answer()));
  const trace = (/** @type {string} */ traceId) => {
    const file = opened.get(traceId);
    if (!file) throw new ApiError(404, { error: "trace " + traceId + " is not open: open its file again" });
    return file.trace;
  };
  return {
    can: { live: false, selectors: false, traceList: false, compare: false },
    listTraces: () => answer(() => ({ traces: [...opened.values()].map((f) => summaryOf(f.trace)), next_cursor: null, scanned: opened.size })),
    getTrace: (traceId) => answer(() => trace(traceId)),
    getTracePart: (traceId) => answer(() => trace(traceId)),
    partUrl: () => null,
    select: () => answer(() => { throw new ApiError(501, { error: "selectors need the trace on a running server" }); }),
    analysis: () => answer(() => { throw new ApiError(501, { error: "a trace opened from a file is not analyzed" }); }),
    canDiff: () => false,
    diff: () => answer(() => { throw new ApiError(501, { error: "comparing traces needs a running server" }); }),
    traceUrl: () => null,
    traceText: (traceId) => answer(() => JSON.stringify(trace(traceId))),
    dependencies: () => answer(() => dependencyLinks([...opened.values()].map((f) => f.trace))),
    operations: (service) => answer(() => operationsOf([...opened.values()].map((f) => f.trace), service)),
    services: () => answer(() => [...new Set([...opened.values()].flatMap((f) => f.trace.spans.map((s) => s.service)))].sort()),
    listRuns: () => answer(() => ({ runs: [], dropped: 0 })),
    getRun: (runId) => answer(() => { throw new ApiError(404, { error: "run " + runId + " not found" }); }),
    events: () => () => {},
  };
}

/**
 * The span names of `service`'s spans in `traces`, sorted, each once.
 * @param {Trace[]} traces
 * @param {string} service
 * @returns {string[]}
 */
function operationsOf(traces, service) {
  return [...new Set(traces.flatMap((t) => t.spans.filter((s) => s.service === service).map((s) => s.name)))].sort();
}
