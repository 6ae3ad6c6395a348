// The services page: the dependency graph across every stored trace (the calls between
// services that Jaeger's `/api/dependencies` serves; in the report, counted over its
// traces), drawn as a trace's service map is, with its links as a table.

import { serviceColours } from "./colours.js";
import { add, byId, h } from "./dom.js";
import { dependencyGraph } from "./servicemap.js";
import { listHash } from "./route.js";
import { graphMap } from "./view-servicemap.js";

/**
 * @param {import("./main.js").Ctx} ctx
 */
export async function servicesView(ctx) {
  byId("nav-services").classList.add("active");
  document.title = "Services · tracecheck";
  const links = await ctx.source.dependencies();
  const graph = dependencyGraph(links);
  const colours = serviceColours(graph.services.map((s) => s.name));
  const service = (/** @type {string} */ name) => ctx.source.can.traceList
    ? h("a", { href: listHash({ service: name }) }, name || "(no service)")
    : name || "(no service)";
  add(ctx.app,
    h("h1", {}, "Services"),
    h("p", { class: "muted" }, ctx.source.can.traceList
      ? "Calls between services over every stored trace (a span whose parent span is of another service)."
      : "Calls between services over this report's traces."),
    graph.services.length
      ? graphMap(graph, colours, { id: "dependency-graph", label: "dependency graph", noun: "call" })
      : h("p", { class: "muted", id: "no-dependencies" }, "No calls yet."),
    links.length ? h("table", { id: "dependencies" },
      h("thead", {}, h("tr", {}, h("th", {}, "Caller"), h("th", {}, "Callee"), h("th", { class: "num" }, "Calls"))),
      h("tbody", {}, links.map((l) => h("tr", { "data-parent": l.parent, "data-child": l.child },
        h("td", {}, service(l.parent)), h("td", {}, service(l.child)), h("td", { class: "num" }, l.callCount))))) : null);
}
