// The runs page: every recorded run (or the report's runs), its steps' states, updated live.

import { add, byId, h } from "./dom.js";
import { localTime, stateClass } from "./format.js";

/**
 * @param {import("./main.js").Ctx} ctx
 */
export async function runsView(ctx) {
  byId("nav-runs").classList.add("active");
  document.title = "Runs · tracecheck";
  const body = h("tbody", { id: "runs" });
  const note = h("div", { class: "muted" });
  add(ctx.app, h("h1", {}, "Runs"), note,
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Name"), h("th", {}, "Kind"),
      h("th", {}, "State"), h("th", {}, "Steps"), h("th", { class: "hide-narrow" }, "File"), h("th", { class: "hide-narrow" }, "Received"))), body));
  async function load() {
    const page = await ctx.source.listRuns();
    note.textContent = page.runs.length === 0
      ? (ctx.source.can.traceList ? "No runs recorded yet: `tracecheck run --server URL` records each file's run here." : "No runs.")
      : (page.dropped ? page.dropped + " older runs dropped (--max-runs)." : "");
    body.replaceChildren(...page.runs.map((run) => h("tr", {
      class: "link", tabindex: 0, "data-run-id": run.id,
      onclick: () => { location.hash = "#/run/" + run.id; },
      onkeydown: (/** @type {KeyboardEvent} */ e) => { if (e.key === "Enter") location.hash = "#/run/" + run.id; },
    },
    h("td", {}, run.id), h("td", { class: "run-name" }, run.name), h("td", {}, run.kind),
    h("td", { class: stateClass(run.state) }, run.state),
    h("td", {}, run.steps.map((s) => h("div", { class: stateClass(s.state) }, s.state + " " + s.name))),
    h("td", { class: "hide-narrow mono" }, run.file || ""), h("td", { class: "hide-narrow muted received" }, run.received_unix_ms ? localTime(run.received_unix_ms) : ""))));
  }
  ctx.onEvent((type) => { if (type === "run.recorded") load(); });
  await load();
}
