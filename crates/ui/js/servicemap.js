// A trace's service map: which service called which (from the span tree) and a layered
// layout of it; the same for the store's dependency graph (Jaeger's dependencies, counted
// over every stored trace). Pure: spans or links in, boxes and paths out;
// `view-servicemap.js` draws them.

/**
 * What the graph reads of a span.
 * @typedef {Pick<import("./types.js").Span, "span_id" | "tree_parent_id" | "service" | "status">} MapSpan
 */

/**
 * @typedef {object} ServiceNode
 * @property {string} name
 * @property {number} spans  how many spans the service has in the trace
 */

/**
 * @typedef {object} ServiceEdge  calls from one service to another
 * @property {string} from
 * @property {string} to
 * @property {number} count  spans of `to` whose parent span is of `from`
 * @property {number} errors  how many of those have status error
 */

/**
 * Services in order of first appearance and the calls between them: a span whose tree
 * parent is of another service is one call from that service to its own.
 * @param {MapSpan[]} spans
 * @returns {{services: ServiceNode[], edges: ServiceEdge[]}}
 */
export function serviceGraph(spans) {
  const serviceOf = new Map(spans.map((s) => [s.span_id, s.service]));
  /** @type {Map<string, number>} */
  const calls = new Map();
  /** @type {Map<string, ServiceEdge>} */
  const edges = new Map();
  for (const span of spans) {
    calls.set(span.service, (calls.get(span.service) || 0) + 1);
    const parent = span.tree_parent_id === null ? undefined : serviceOf.get(span.tree_parent_id);
    if (parent === undefined || parent === span.service) continue;
    const key = parent + "\u0000" + span.service;
    const edge = edges.get(key) || { from: parent, to: span.service, count: 0, errors: 0 };
    edge.count += 1;
    if (span.status.code === "error") edge.errors += 1;
    edges.set(key, edge);
  }
  return { services: [...calls].map(([name, count]) => ({ name, spans: count })), edges: [...edges.values()] };
}

/**
 * The dependency graph of calls between services (Jaeger's `/api/dependencies` links):
 * services in order of first mention, each with the calls it received (`spans`); calls
 * within one service count for it but draw no edge.
 * @param {import("./types.js").Dependency[]} links
 * @returns {{services: ServiceNode[], edges: ServiceEdge[]}}
 */
export function dependencyGraph(links) {
  /** @type {Map<string, number>} */
  const calls = new Map();
  /** @type {ServiceEdge[]} */
  const edges = [];
  for (const link of links) {
    if (!calls.has(link.parent)) calls.set(link.parent, 0);
    calls.set(link.child, (calls.get(link.child) || 0) + link.callCount);
    if (link.parent !== link.child) edges.push({ from: link.parent, to: link.child, count: link.callCount, errors: 0 });
  }
  return { services: [...calls].map(([name, count]) => ({ name, spans: count })), edges };
}

/**
 * The links the server's `/jaeger/api/dependencies` answers, counted the same way over
 * `traces` (the HTML report's): for each span whose parent span is in its trace, one call
 * from the parent's service to the span's. Sorted by parent, then child.
 * @param {Pick<import("./types.js").Trace, "spans">[]} traces
 * @returns {import("./types.js").Dependency[]}
 */
export function dependencyLinks(traces) {
  /** @type {Map<string, import("./types.js").Dependency>} */
  const counts = new Map();
  for (const trace of traces) {
    const serviceOf = new Map(trace.spans.map((s) => [s.span_id, s.service]));
    for (const span of trace.spans) {
      const parent = span.parent_span_id === null ? undefined : serviceOf.get(span.parent_span_id);
      if (parent === undefined) continue;
      const key = parent + "\u0000" + span.service;
      const link = counts.get(key) || { parent, child: span.service, callCount: 0 };
      link.callCount += 1;
      counts.set(key, link);
    }
  }
  return [...counts.values()].sort((a, b) => a.parent.localeCompare(b.parent) || a.child.localeCompare(b.child));
}

/** Node size and gaps, in SVG user units. */
export const NODE = { width: 150, height: 44, gapX: 90, gapY: 30 };

/**
 * @typedef {ServiceNode & {x: number, y: number, column: number}} PlacedNode
 * @typedef {ServiceEdge & {path: string, labelX: number, labelY: number, strokeWidth: number}} PlacedEdge
 */

/**
 * Each service's column: its longest call depth from a root service (a cycle stops
 * growing at the number of services).
 * @param {{services: ServiceNode[], edges: ServiceEdge[]}} graph
 * @returns {Map<string, number>}
 */
export function columns(graph) {
  const n = graph.services.length;
  const level = new Map(graph.services.map((s) => [s.name, 0]));
  for (let round = 0; round < n; round++) {
    for (const e of graph.edges) {
      const from = level.get(e.from) ?? 0;
      if (e.from !== e.to && (level.get(e.to) ?? 0) < from + 1 && from + 1 < n) level.set(e.to, from + 1);
    }
  }
  return level;
}

/**
 * The layered layout: services in columns by call depth, in order of appearance within a
 * column; edges as cubic curves from the right side of the caller to the left side of the
 * callee (or under both boxes when the callee is not to the right).
 * @param {{services: ServiceNode[], edges: ServiceEdge[]}} graph
 * @returns {{width: number, height: number, nodes: PlacedNode[], edges: PlacedEdge[]}}
 */
export function layout(graph) {
  const { width: nodeW, height: nodeH, gapX, gapY } = NODE;
  const level = columns(graph);
  /** @type {Map<number, number>} services so far in each column */
  const rows = new Map();
  /** @type {Map<string, PlacedNode>} */
  const placed = new Map();
  for (const service of graph.services) {
    const column = level.get(service.name) ?? 0;
    const row = rows.get(column) || 0;
    rows.set(column, row + 1);
    placed.set(service.name, { ...service, column, x: 10 + column * (nodeW + gapX), y: 10 + row * (nodeH + gapY) });
  }
  let height = 0;
  for (const count of rows.values()) height = Math.max(height, 20 + count * (nodeH + gapY));
  const width = 20 + Math.max(1, rows.size) * (nodeW + gapX);
  const edges = graph.edges.map((e) => {
    const a = /** @type {PlacedNode} */ (placed.get(e.from));
    const b = /** @type {PlacedNode} */ (placed.get(e.to));
    const x1 = a.x + nodeW, y1 = a.y + nodeH / 2, x2 = b.x, y2 = b.y + nodeH / 2;
    const path = x2 <= x1
      ? "M " + (a.x + nodeW / 2) + " " + (a.y + nodeH) + " C " + (a.x + nodeW / 2) + " " + (a.y + nodeH + 40) + ", " +
        (b.x + nodeW / 2) + " " + (b.y + nodeH + 40) + ", " + (b.x + nodeW / 2) + " " + (b.y + nodeH)
      : "M " + x1 + " " + y1 + " C " + (x1 + 40) + " " + y1 + ", " + (x2 - 40) + " " + y2 + ", " + x2 + " " + y2;
    return { ...e, path, labelX: (x1 + x2) / 2, labelY: (y1 + y2) / 2 - 6, strokeWidth: Math.min(6, 1 + Math.log2(e.count)) };
  });
  return { width, height: Math.max(height, 80), nodes: [...placed.values()], edges };
}
