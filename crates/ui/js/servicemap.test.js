import assert from "node:assert/strict";
import { test } from "node:test";

import { NODE, columns, dependencyGraph, dependencyLinks, layout, serviceGraph } from "./servicemap.js";

/**
 * @param {string} span_id
 * @param {string | null} tree_parent_id
 * @param {string} service
 * @param {"unset" | "ok" | "error"} [code]
 */
const span = (span_id, tree_parent_id, service, code = "unset") => ({ span_id, tree_parent_id, service, status: { code, message: "" } });

// checkout > (db > cache [error]), (inventory call > inventory [error]); db and cache in checkout.
const SPANS = [
  span("1", null, "checkout"),
  span("2", "1", "checkout"),
  span("3", "2", "checkout", "error"),
  span("4", "1", "checkout"),
  span("5", "4", "inventory", "error"),
  span("6", "5", "stock"),
  span("7", "4", "inventory"),
];

test("calls between services are counted from the span tree", () => {
  const graph = serviceGraph(SPANS);
  assert.deepEqual(graph.services, [{ name: "checkout", spans: 4 }, { name: "inventory", spans: 2 }, { name: "stock", spans: 1 }]);
  assert.deepEqual(graph.edges, [
    { from: "checkout", to: "inventory", count: 2, errors: 1 },
    { from: "inventory", to: "stock", count: 1, errors: 0 },
  ]);
});

test("a span whose parent is missing starts no edge", () => {
  const graph = serviceGraph([span("1", "gone", "a"), span("2", null, "b")]);
  assert.deepEqual(graph.edges, []);
  assert.equal(graph.services.length, 2);
});

test("services are laid out in columns by call depth", () => {
  const map = layout(serviceGraph(SPANS));
  const place = Object.fromEntries(map.nodes.map((n) => [n.name, [n.column, n.x, n.y]]));
  const step = NODE.width + NODE.gapX;
  assert.deepEqual(place, { checkout: [0, 10, 10], inventory: [1, 10 + step, 10], stock: [2, 10 + 2 * step, 10] });
  assert.equal(map.width, 20 + 3 * step);
  assert.equal(map.height, 20 + NODE.height + NODE.gapY);
  const [call] = map.edges;
  assert.equal(call.path, "M 160 32 C 200 32, 210 32, 250 32", "right side to left side");
  assert.equal(call.strokeWidth, 2);
  assert.deepEqual([call.labelX, call.labelY], [205, 26]);
});

test("a service called from two depths takes the deeper column; a cycle stops", () => {
  const graph = {
    services: ["a", "b", "c"].map((name) => ({ name, spans: 1 })),
    edges: [{ from: "a", to: "b", count: 1, errors: 0 }, { from: "b", to: "c", count: 1, errors: 0 }, { from: "a", to: "c", count: 1, errors: 0 }],
  };
  assert.deepEqual(Object.fromEntries(columns(graph)), { a: 0, b: 1, c: 2 });
  const cycle = {
    services: graph.services.slice(0, 2),
    edges: [{ from: "a", to: "b", count: 1, errors: 0 }, { from: "b", to: "a", count: 4, errors: 0 }],
  };
  assert.deepEqual(Object.fromEntries(columns(cycle)), { a: 0, b: 1 }, "bounded by the number of services");
  const map = layout(cycle);
  const b = map.nodes[1];
  assert.equal(map.edges[1].path, `M ${b.x + NODE.width / 2} ${b.y + NODE.height} C ${b.x + NODE.width / 2} ${b.y + NODE.height + 40}, 85 94, 85 54`, "a call back runs under the boxes");
  assert.equal(map.edges[1].strokeWidth, 3);
  assert.equal(layout({ services: [{ name: "a", spans: 1 }], edges: [] }).height, 94);
});

test("services in one column stack downwards", () => {
  const map = layout({ services: [{ name: "a", spans: 1 }, { name: "b", spans: 1 }, { name: "c", spans: 1 }], edges: [] });
  assert.deepEqual(map.nodes.map((n) => n.y), [10, 10 + NODE.height + NODE.gapY, 10 + 2 * (NODE.height + NODE.gapY)]);
  assert.equal(map.height, 20 + 3 * (NODE.height + NODE.gapY));
  assert.equal(map.width, 20 + NODE.width + NODE.gapX);
});

test("the dependency graph: calls received per service, no edge for calls within one", () => {
  const graph = dependencyGraph([
    { parent: "web", child: "api", callCount: 4 },
    { parent: "api", child: "api", callCount: 2 },
    { parent: "api", child: "db", callCount: 3 },
  ]);
  assert.deepEqual(graph.services, [{ name: "web", spans: 0 }, { name: "api", spans: 6 }, { name: "db", spans: 3 }]);
  assert.deepEqual(graph.edges, [{ from: "web", to: "api", count: 4, errors: 0 }, { from: "api", to: "db", count: 3, errors: 0 }]);
  assert.deepEqual([...columns(graph)], [["web", 0], ["api", 1], ["db", 2]]);
});

test("dependency links are counted by parent span as the server counts them", () => {
  const span = (/** @type {string} */ id, /** @type {string | null} */ parent, /** @type {string} */ service) => ({ span_id: id, parent_span_id: parent, service });
  const links = dependencyLinks([
    { spans: [span("a", null, "web"), span("b", "a", "api"), span("c", "b", "db"), span("d", "zz", "db")] },
    { spans: [span("a", null, "web"), span("b", "a", "api")] },
  ].map((t) => /** @type {any} */ (t)));
  assert.deepEqual(links, [{ parent: "api", child: "db", callCount: 1 }, { parent: "web", child: "api", callCount: 2 }]);
});
