// Draws a service graph as SVG (a trace's service map, the store's dependency graph): the
// layout is servicemap.js's.

import { h, svg } from "./dom.js";
import { callsLabel, count, shorten } from "./format.js";
import { NODE, layout, serviceGraph } from "./servicemap.js";

/**
 * A trace's service map.
 * @param {import("./types.js").Span[]} spans
 * @param {Map<string, string>} colours  each service's colour
 * @returns {HTMLElement}
 */
export function serviceMap(spans, colours) {
  return graphMap(serviceGraph(spans), colours, { id: "service-map", label: "service map", noun: "span" });
}

/**
 * @param {{services: import("./servicemap.js").ServiceNode[], edges: import("./servicemap.js").ServiceEdge[]}} graph
 * @param {Map<string, string>} colours  each service's colour
 * @param {{id: string, label: string, noun: string}} options  the SVG's ID and accessible
 *   label, and what a node's count counts
 * @returns {HTMLElement}
 */
export function graphMap(graph, colours, { id, label, noun }) {
  const map = layout(graph);
  const root = svg("svg", { viewBox: "0 0 " + map.width + " " + map.height, style: "max-width:" + map.width + "px", role: "img", "aria-label": label, id },
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerUnits: "userSpaceOnUse", markerWidth: 10, markerHeight: 10, orient: "auto-start-reverse" },
      svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "gray" }))));
  for (const e of map.edges) {
    root.append(svg("g", { class: "edge-group", "data-from": e.from, "data-to": e.to, "data-count": e.count, "data-errors": e.errors },
      svg("path", { class: "edge" + (e.errors ? " error" : ""), d: e.path, "marker-end": "url(#arrow)", "stroke-width": e.strokeWidth }),
      svg("text", { x: e.labelX, y: e.labelY, "text-anchor": "middle" }, callsLabel(e.count, e.errors))));
  }
  for (const n of map.nodes) {
    root.append(svg("g", { class: "node", "data-service": n.name },
      svg("rect", { x: n.x, y: n.y, width: NODE.width, height: NODE.height, rx: 6, fill: colours.get(n.name) || "gray", opacity: 0.25, stroke: colours.get(n.name) || "gray" }),
      svg("text", { x: n.x + NODE.width / 2, y: n.y + 18, "text-anchor": "middle" }, n.name ? shorten(n.name, 20) : "(no service)"),
      svg("text", { x: n.x + NODE.width / 2, y: n.y + 34, "text-anchor": "middle", class: "muted" }, count(n.spans, noun))));
  }
  return h("div", { class: "servicemap" }, root);
}
