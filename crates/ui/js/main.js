// The page's entry: picks the data source (the report's inline JSON in `#tc-data`, else the
// server's API), relays live events, and draws the page the location hash names.

import { fileSource, httpSource, inlineSource } from "./data.js";
import { byId, h } from "./dom.js";
import { compareView } from "./view-compare.js";
import { parseHash } from "./route.js";
import { parseTraceFile } from "./tracefile.js";
import { runView } from "./view-run.js";
import { runsView } from "./view-runs.js";
import { servicesView } from "./view-services.js";
import { traceView } from "./view-trace.js";
import { tracesView } from "./view-traces.js";

/**
 * What a view gets: where to draw and what to read.
 * @typedef {object} Ctx
 * @property {import("./data.js").Source} source
 * @property {HTMLElement} app  the page's element (detached once the page is left)
 * @property {(handler: import("./data.js").EventHandler) => void} onEvent  live events while the page is shown
 * @property {(undo: () => void) => void} onLeave  runs when the page is left
 * @property {() => void} reload  draws the page again
 * @property {() => number} now  the time in Unix milliseconds
 */

const inline = JSON.parse(byId("tc-data").textContent || "null");
const source = inline === null ? httpSource((url, init) => fetch(url, init)) : inlineSource(inline);
const main = byId("app");

/** @type {Set<import("./data.js").EventHandler>} */
const handlers = new Set();
source.events((type, data) => {
  for (const handler of handlers) handler(type, data);
}, (open) => {
  byId("live").hidden = !open;
});

// Traces opened from files (`#/file/ID`), for as long as the page is open.
/** @type {Map<string, {trace: import("./types.js").Trace, name: string}>} */
const opened = new Map();
const files = fileSource(opened);
const openInput = /** @type {HTMLInputElement} */ (byId("open-trace"));
openInput.addEventListener("change", async () => {
  const file = openInput.files && openInput.files[0];
  if (!file) return;
  openInput.value = "";
  let trace;
  try {
    trace = parseTraceFile(await file.text());
  } catch (error) {
    main.replaceChildren(h("p", { class: "err", id: "error" }, file.name + ": " + (error instanceof Error ? error.message : String(error))));
    return;
  }
  opened.set(trace.trace_id, { trace, name: file.name });
  const hash = "#/file/" + trace.trace_id;
  if (location.hash === hash) route();
  else location.hash = hash;
});

/** @type {(() => void)[]} */
let leave = [];
let shown = 0;

async function route() {
  for (const undo of leave) undo();
  leave = [];
  const generation = ++shown;
  const current = () => generation === shown;
  // A report of one run opens on that run, not on a list of one row (issue 21, defect 15).
  if (!location.hash && !source.can.traceList) {
    const runs = await source.listRuns();
    if (runs.runs.length === 1) history.replaceState(history.state, "", "#/run/" + runs.runs[0].id);
  }
  const { route: page, params } = parseHash(location.hash, source.can.traceList);
  byId("nav-traces").hidden = !source.can.traceList;
  for (const id of ["nav-traces", "nav-runs", "nav-services"]) byId(id).classList.remove("active");
  const app = h("div", { class: "page" });
  main.replaceChildren(app);
  /** @type {Ctx} */
  const ctx = {
    source,
    app,
    onEvent(handler) {
      if (!current()) return;
      handlers.add(handler);
      leave.push(() => handlers.delete(handler));
    },
    onLeave(undo) {
      if (current()) leave.push(undo);
      else undo();
    },
    reload: route,
    now: () => Date.now(),
  };
  try {
    if (page.page === "trace") await traceView(ctx, page.id, params);
    else if (page.page === "file") await traceView({ ...ctx, source: files }, page.id, params, opened.get(page.id)?.name);
    else if (page.page === "run") await runView(ctx, page.id);
    else if (page.page === "compare") await compareView(ctx, params);
    else if (page.page === "services") await servicesView(ctx);
    else if (page.page === "runs") await runsView(ctx);
    else await tracesView(ctx, params);
  } catch (error) {
    if (current()) app.replaceChildren(h("p", { class: "err", id: "error" }, error instanceof Error ? error.message : String(error)));
  }
}

window.addEventListener("hashchange", route);
route();
