import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, fileSource, httpSource, inlineSource } from "./data.js";
import { analysis, run, trace } from "./fixtures.js";
import { runLine } from "./model.js";

/**
 * A `fetch` that records each URL and answers from `answers` (URL -> [status, body]).
 * @param {Record<string, [number, unknown]>} answers
 */
function fakeFetch(answers) {
  /** @type {string[]} */
  const urls = [];
  /** @param {string} url */
  const fetchFn = async (url) => {
    urls.push(url);
    const [status, body] = answers[url] ?? [404, { error: "no route " + url, column: null }];
    return new Response(JSON.stringify(body), { status });
  };
  return { fetchFn, urls };
}

test("the HTTP adapter reads /api/v1 and builds each query", async () => {
  const { fetchFn, urls } = fakeFetch({
    "/api/v1/traces": [200, { traces: [], next_cursor: null, scanned: 0 }],
    [`/api/v1/traces/${trace.trace_id}`]: [200, trace],
    "/api/v1/runs/1": [200, run],
  });
  const source = httpSource(fetchFn, { EventSource: undefined });
  assert.deepEqual(await source.listTraces(), { traces: [], next_cursor: null, scanned: 0 });
  assert.deepEqual(await source.getTrace(trace.trace_id), trace);
  assert.deepEqual(await source.getRun(1), run);
  await source.listTraces({ service: "api", selector: 'span[name="a b"]', cursor: 7 }).catch(() => {});
  await source.select(trace.trace_id, "span").catch(() => {});
  await source.analysis(trace.trace_id).catch(() => {});
  await source.listRuns().catch(() => {});
  assert.deepEqual(urls.slice(3), [
    "/api/v1/traces?service=api&selector=span%5Bname%3D%22a+b%22%5D&cursor=7",
    `/api/v1/traces/${trace.trace_id}/select?selector=span`,
    `/api/v1/traces/${trace.trace_id}/analysis`,
    "/api/v1/runs",
  ]);
  assert.deepEqual(source.can, { live: false, selectors: true, traceList: true, compare: true });
});

test("a part of a trace too large to read whole: the server's ?offset=&limit=, else the whole trace", async () => {
  const { fetchFn, urls } = fakeFetch({});
  const source = httpSource(fetchFn, { EventSource: undefined });
  const t = trace.trace_id;
  await source.getTracePart(t, 0).catch(() => {});
  await source.getTracePart(t, 4096.5, 4096).catch(() => {});
  assert.deepEqual(urls, [`/api/v1/traces/${t}?offset=0`, `/api/v1/traces/${t}?offset=4096&limit=4096`]);
  assert.equal(source.partUrl(t, { offset: 8, limit: 4, total_span_count: 20 }), `/api/v1/traces/${t}?offset=8&limit=4`);
  const inline = inlineSource({ runs: [run], run_list: { runs: [runLine(run)], dropped: 0 }, traces: { [t]: trace } });
  const fromFile = fileSource(new Map([[t, { trace, name: "t.json" }]]));
  for (const whole of [inline, fromFile]) {
    assert.deepEqual(await whole.getTracePart(t, 4096), trace);
    assert.equal(whole.partUrl(t, { offset: 0, limit: 4, total_span_count: 20 }), null);
  }
});

test("the HTTP adapter reads a trace as a run judged it with ?run=N", async () => {
  const { fetchFn, urls } = fakeFetch({});
  const source = httpSource(fetchFn, { EventSource: undefined });
  const t = trace.trace_id;
  await source.getTrace(t, 7).catch(() => {});
  await source.select(t, 'span[name="a b"]', "7").catch(() => {});
  await source.analysis(t, 7).catch(() => {});
  await source.getTrace(t, null).catch(() => {});
  await source.analysis(t, "").catch(() => {});
  assert.deepEqual(urls, [
    `/api/v1/traces/${t}?run=7`,
    `/api/v1/traces/${t}/select?selector=span%5Bname%3D%22a+b%22%5D&run=7`,
    `/api/v1/traces/${t}/analysis?run=7`,
    `/api/v1/traces/${t}`,
    `/api/v1/traces/${t}/analysis`,
  ]);
});

test("the HTTP adapter fails with the server's message and column", async () => {
  const { fetchFn } = fakeFetch({ "/api/v1/traces?selector=span%5B": [400, { error: "bad selector: expected ]", column: 6 }] });
  const error = await httpSource(fetchFn).listTraces({ selector: "span[" }).then(() => null, (e) => e);
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 400);
  assert.equal(error.column, 6);
  assert.equal(error.message, "bad selector: expected ]");
  /** @param {string} _url */
  const broken = async (_url) => new Response("not json", { status: 502 });
  const bare = await httpSource(broken).listRuns().then(() => null, (e) => e);
  assert.equal(bare.message, "HTTP 502");
});

test("the HTTP adapter relays server-sent events", () => {
  /** @type {FakeEventSource[]} */
  const opened = [];
  class FakeEventSource extends EventTarget {
    /** @param {string} url */
    constructor(url) {
      super();
      this.url = url;
      this.closed = false;
      /** @type {(() => void) | null} */
      this.onopen = null;
      /** @type {(() => void) | null} */
      this.onerror = null;
      opened.push(this);
    }
    close() {
      this.closed = true;
    }
  }
  const { fetchFn } = fakeFetch({});
  const source = httpSource(fetchFn, { EventSource: /** @type {typeof EventSource} */ (/** @type {unknown} */ (FakeEventSource)) });
  /** @type {unknown[]} */
  const seen = [];
  /** @type {boolean[]} */
  const states = [];
  const stop = source.events((type, data) => seen.push([type, data]), (open) => states.push(open));
  const [stream] = opened;
  assert.equal(stream.url, "/api/v1/events");
  stream.onopen?.();
  stream.dispatchEvent(new MessageEvent("trace.grown", { data: '{"trace_id":"a","span_count":3}' }));
  stream.dispatchEvent(new MessageEvent("run.recorded", { data: '{"id":1,"name":"n","state":"FAILED"}' }));
  stream.onerror?.();
  assert.deepEqual(seen, [["trace.grown", { trace_id: "a", span_count: 3 }], ["run.recorded", { id: 1, name: "n", state: "FAILED" }]]);
  assert.deepEqual(states, [true, false]);
  stop();
  assert.ok(stream.closed);
});

test("the inline adapter answers from the report's data like the server", async () => {
  const source = inlineSource({ runs: [run], run_list: { runs: [runLine(run)], dropped: 0 }, traces: { [trace.trace_id]: trace } });
  assert.deepEqual(source.can, { live: false, selectors: false, traceList: false, compare: false });
  assert.deepEqual(await source.getTrace(trace.trace_id), trace);
  assert.deepEqual(await source.getRun("1"), run);
  assert.deepEqual(await source.analysis(trace.trace_id), analysis);
  const runs = await source.listRuns();
  assert.deepEqual(runs.runs.map((r) => [r.id, r.name, r.state]), [[1, "users", "FAILED"]]);
  assert.equal(runs.dropped, 0);
  const list = await source.listTraces();
  assert.deepEqual(list.traces.map((t) => t.trace_id), [trace.trace_id]);
  assert.deepEqual((await source.listTraces({ service: "nope" })).traces, []);
  // The service filter is a case-insensitive substring, as the server's (issue 21, defect 11).
  assert.deepEqual((await source.listTraces({ service: "D" })).traces.map((t) => t.trace_id), [trace.trace_id]);
  assert.deepEqual(await source.services(), ["api", "db"]);
  const stop = source.events(() => assert.fail("a report has no live events"));
  assert.equal(typeof stop, "function");
  stop();
});

test("the HTTP adapter reads the service names from the Jaeger API", async () => {
  const { fetchFn, urls } = fakeFetch({ "/jaeger/api/services": [200, { data: ["web", "api"], total: 2 }] });
  const source = httpSource(fetchFn, { EventSource: undefined });
  assert.deepEqual(await source.services(), ["api", "web"]);
  assert.deepEqual(urls, ["/jaeger/api/services"]);
});

test("the inline adapter fails like the server for what it does not hold", async () => {
  const source = inlineSource({ runs: [run], run_list: { runs: [runLine(run)], dropped: 0 }, traces: { [trace.trace_id]: trace } });
  /** @param {Promise<unknown>} promise */
  const failure = (promise) => promise.then(() => null, (e) => [e.status, e.message]);
  assert.deepEqual(await failure(source.getTrace("ffffffffffffffffffffffffffffffff")), [404, "trace ffffffffffffffffffffffffffffffff is not in this report"]);
  assert.deepEqual(await failure(source.getTrace("constructor")), [404, "trace constructor is not in this report"]);
  assert.deepEqual(await failure(source.getRun(2)), [404, "run 2 not found"]);
  assert.deepEqual(await failure(source.analysis("ffffffffffffffffffffffffffffffff")), [404, "the analyzer did not run on this trace"]);
  assert.deepEqual(await failure(source.select(trace.trace_id, "span")), [501, "selectors need a running server"]);
  assert.deepEqual(await failure(source.listTraces({ selector: "span" })), [501, "selectors need a running server"]);
});

test("the trace's JSON: the server's bytes and URL, or the data's trace written out", async () => {
  const t = trace.trace_id;
  const body = '{"trace_id":"' + t + '","start_time_unix_nano":1765000123456789012}';
  /** @param {string} url */
  const fetchFn = async (url) => url === `/api/v1/traces/${t}?run=2` ? new Response(body) : new Response('{"error":"gone","column":null}', { status: 404 });
  const http = httpSource(fetchFn, { EventSource: undefined });
  assert.equal(http.traceUrl(t, 2), `/api/v1/traces/${t}?run=2`);
  assert.equal(http.traceUrl(t), `/api/v1/traces/${t}`);
  assert.equal(await http.traceText(t, 2), body, "the bytes as sent, not parsed and written again");
  assert.deepEqual(await http.traceText(t).then(() => null, (e) => [e.status, e.message]), [404, "gone"]);
  const inline = inlineSource({ runs: [run], run_list: { runs: [runLine(run)], dropped: 0 }, traces: { [t]: trace } });
  assert.equal(inline.traceUrl(t), null);
  assert.deepEqual(JSON.parse(await inline.traceText(t)), trace);
  assert.equal(await inline.traceText("nope").then(() => null, (e) => e.status), 404);
});

test("the file adapter answers for the traces opened from files", async () => {
  const source = fileSource(new Map([[trace.trace_id, { trace, name: "t.json" }]]));
  assert.deepEqual(source.can, { live: false, selectors: false, traceList: false, compare: false });
  assert.deepEqual(await source.getTrace(trace.trace_id), trace);
  assert.deepEqual(JSON.parse(await source.traceText(trace.trace_id)), trace);
  assert.equal(source.traceUrl(trace.trace_id), null);
  assert.deepEqual((await source.listTraces()).traces.map((t) => t.trace_id), [trace.trace_id]);
  assert.deepEqual(await source.services(), ["api", "db"]);
  /** @param {Promise<unknown>} promise */
  const failure = (promise) => promise.then(() => null, (e) => [e.status, e.message]);
  assert.deepEqual(await failure(source.getTrace("abc")), [404, "trace abc is not open: open its file again"]);
  assert.deepEqual(await failure(source.select(trace.trace_id, "span")), [501, "selectors need the trace on a running server"]);
  assert.deepEqual(await failure(source.analysis(trace.trace_id)), [501, "a trace opened from a file is not analyzed"]);
});

test("the HTTP adapter asks the server to compare, the report answers the pairs it holds, a file cannot", async () => {
  const { fetchFn, urls } = fakeFetch({});
  const http = httpSource(fetchFn, { EventSource: undefined });
  await http.diff({ traceId: "aa", runId: 2 }, { traceId: "bb" }).catch(() => {});
  await http.diff({ traceId: "aa", runId: null }, { traceId: "bb", runId: "3" }).catch(() => {});
  assert.deepEqual(urls, ["/api/v1/diff?a=aa&b=bb&run_a=2", "/api/v1/diff?a=aa&b=bb&run_b=3"]);
  assert.equal(http.canDiff({ traceId: "aa" }, { traceId: "bb" }), true);
  assert.equal(http.can.compare, true);

  const side = (/** @type {string} */ traceId) => ({ trace_id: traceId, root_name: "GET /", span_count: 1, duration_nanos: 5 });
  const held = { a: side("aa"), b: side("bb"), counts: { matched: 1, added: 0, missing: 0, slower: 0, failed: 0, fixed: 0 }, rows: [] };
  const data = { runs: [run], run_list: { runs: [runLine(run)], dropped: 0 }, traces: { [trace.trace_id]: trace } };
  const failure = (/** @type {Promise<unknown>} */ promise) => promise.then(() => null, (e) => [e.status, e.message]);
  // A report without pairs to compare offers none.
  const bare = inlineSource(data);
  assert.equal(bare.can.compare, false);
  assert.equal(bare.canDiff({ traceId: "aa" }, { traceId: "bb" }), false);
  // One with pairs answers them, whatever runs they are read as (one view per trace ID), in
  // their direction only.
  const inline = inlineSource({ ...data, diffs: [held] });
  assert.equal(inline.can.compare, true);
  assert.equal(inline.canDiff({ traceId: "aa", runId: 1 }, { traceId: "bb", runId: 2 }), true);
  assert.equal(await inline.diff({ traceId: "aa", runId: 1 }, { traceId: "bb", runId: 2 }), held);
  assert.equal(inline.canDiff({ traceId: "bb" }, { traceId: "aa" }), false);
  assert.deepEqual(await failure(inline.diff({ traceId: "bb" }, { traceId: "aa" })), [404, "this report holds no comparison of these two traces: a run's page links those it holds"]);
  const fromFile = fileSource(new Map());
  assert.equal(fromFile.canDiff({ traceId: "aa" }, { traceId: "bb" }), false);
  assert.deepEqual(await failure(fromFile.diff({ traceId: "aa" }, { traceId: "bb" })), [501, "comparing traces needs a running server"]);
});

test("dependencies: the server's Jaeger answer over all its traces, or counted from the report's", async () => {
  /** @type {string[]} */
  const urls = [];
  /** @param {string} url */
  const fetchFn = async (url) => {
    urls.push(url);
    return new Response(JSON.stringify({ data: [{ parent: "api", child: "db", callCount: 3 }], total: 0, limit: 0, offset: 0, errors: null }));
  };
  const http = httpSource(fetchFn, { EventSource: undefined });
  assert.deepEqual(await http.dependencies(), [{ parent: "api", child: "db", callCount: 3 }]);
  const [path, query] = urls[0].split("?");
  assert.equal(path, "/jaeger/api/dependencies");
  const params = new URLSearchParams(query);
  assert.equal(params.get("endTs"), params.get("lookback"), "back to the epoch: every stored trace");
  assert.ok(Number(params.get("endTs")) > Date.now());
  const inline = inlineSource({ runs: [run], run_list: { runs: [runLine(run)], dropped: 0 }, traces: { [trace.trace_id]: trace } });
  assert.deepEqual(await inline.dependencies(), [
    { parent: "api", child: "api", callCount: 1 },
    { parent: "api", child: "db", callCount: 1 },
  ]);
});

test("the search form's fields go to the list's query", async () => {
  const { fetchFn, urls } = fakeFetch({});
  const source = httpSource(fetchFn, { EventSource: undefined });
  await source.listTraces({ service: "api", operation: " GET /x ", tags: 'http.status_code=500 db="a b"', min_duration: "100ms", max_duration: "", start: 1700000000000, errors: true }).catch(() => {});
  await source.listTraces({ errors: false, start: null, operation: "" }).catch(() => {});
  assert.deepEqual(urls, [
    "/api/v1/traces?service=api&operation=GET+%2Fx&tags=http.status_code%3D500+db%3D%22a+b%22&min_duration=100ms&start=1700000000000&errors=true",
    "/api/v1/traces",
  ]);
});

test("a service's operations: Jaeger's answer, or the report's spans", async () => {
  const { fetchFn, urls } = fakeFetch({
    "/jaeger/api/services/my%20api/operations": [200, { data: ["b", "a"], total: 2 }],
    "/jaeger/api/services/nobody/operations": [200, { data: null, total: 0 }],
  });
  const http = httpSource(fetchFn, { EventSource: undefined });
  assert.deepEqual(await http.operations("my api"), ["a", "b"]);
  assert.deepEqual(await http.operations("nobody"), []);
  assert.deepEqual(urls, ["/jaeger/api/services/my%20api/operations", "/jaeger/api/services/nobody/operations"]);
  const inline = inlineSource({ runs: [run], run_list: { runs: [runLine(run)], dropped: 0 }, traces: { [trace.trace_id]: trace } });
  assert.deepEqual(await inline.operations("api"), ["GET /users", "SELECT users"]);
  assert.deepEqual(await fileSource(new Map()).operations("api"), []);
});
