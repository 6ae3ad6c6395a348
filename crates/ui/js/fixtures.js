// Wire-shaped data for the unit tests (`*.test.js`), typed so that `tsc` holds it to
// types.js. Not part of the page: no module of the page imports it.

/** @type {import("./types.js").Trace} */
export const trace = {
  trace_id: "0af7651916cd43dd8448eb211c80319c",
  span_count: 3,
  start_time_unix_nano: 1000,
  end_time_unix_nano: 9000,
  spans: [
    span("aaaaaaaaaaaaaaaa", null, 0, 3, "GET /users", "api", 1000, 9000),
    { ...span("bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa", 1, 3, "SELECT users", "api", 2000, 5000), status: { code: "error", message: "boom" } },
    span("cccccccccccccccc", "bbbbbbbbbbbbbbbb", 2, 3, "query", "db", 3000, 4000),
  ],
};

/**
 * @param {string} id
 * @param {string | null} parent
 * @param {number} depth
 * @param {number} subtreeEnd
 * @param {string} name
 * @param {string} service
 * @param {number} start
 * @param {number} end
 * @returns {import("./types.js").Span}
 */
function span(id, parent, depth, subtreeEnd, name, service, start, end) {
  return {
    span_id: id, parent_span_id: parent, tree_parent_id: parent, depth, subtree_end: subtreeEnd, name, service,
    kind: "internal", type: "general", status: { code: "unset", message: "" },
    start_time_unix_nano: start, end_time_unix_nano: end, duration_nanos: end - start,
    attributes: {}, language_attributes: { "service.name": service }, resource: { attributes: { "service.name": service } },
    scope: { name: "", version: "", attributes: {} }, events: [], links: [],
  };
}

/** @type {import("./types.js").AnalyzerResult} */
export const analysis = {
  enabled: true, score: 50, minimum_score: 0, passed: false,
  plugins: [{
    id: "standards", name: "OTel Semantic Conventions", score: 50, passed: false,
    rules: [
      { id: "span-naming", name: "Span Name Convention", level: "error", weight: 25, passed: false, results: [
        { span_id: "bbbbbbbbbbbbbbbb", span_name: "SELECT users", passed: false, errors: [{ value: "SELECT users", expected: "SELECT users.users", description: "expected the name SELECT users.users" }] },
      ] },
      { id: "required-attributes", name: "Required Attributes", level: "error", weight: 25, passed: true, results: [] },
    ],
  }],
};

/** @type {import("./types.js").RunReport} */
export const report = {
  name: "users", kind: "Test", state: "FAILED", variables: {}, file: "users.yaml", duration_ms: 12,
  steps: [{
    name: "users", state: "FAILED", error: null, trace_id: trace.trace_id, span_count: 3, outputs: {}, warnings: [],
    analyzer: analysis,
    specs: [{
      selector: 'span[tracetest.span.type="database"]', name: "the query is quick", passed: false, matched_spans: 1,
      assertions: [
        { assertion: 'attr:db.system = "postgresql"', passed: true, results: [{ span_id: "bbbbbbbbbbbbbbbb", observed: "postgresql", expected: "postgresql", passed: true, error: null }] },
        { assertion: "attr:tracetest.span.duration < 1ms", passed: false, results: [{ span_id: "bbbbbbbbbbbbbbbb", observed: "3000", expected: "1000000", passed: false, error: null }] },
      ],
    }, {
      selector: 'span[name="nope"]', name: null, passed: false, matched_spans: 0,
      assertions: [{ assertion: "attr:x = 1", passed: false, results: [{ span_id: null, observed: null, expected: null, passed: false, error: "no span matched" }] }],
    }],
  }],
};

/** @type {import("./types.js").Run} */
export const run = { id: 1, received_unix_ms: 5, report };
