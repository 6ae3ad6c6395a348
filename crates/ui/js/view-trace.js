// The trace page: the waterfall beside the span panel, a selector box that highlights what
// a spec with that selector selects, the service map and the analyzer's findings. Opened
// from a run's spec (`?run=N&step=N&spec=N`), it highlights that spec's spans with their
// verdicts.

import { add, byId, debounce, h, swatch } from "./dom.js";
import { colour, duration } from "./format.js";
import { specVerdicts } from "./model.js";
import { analysisSection } from "./view-analysis.js";
import { serviceMap } from "./view-servicemap.js";
import { showSpan } from "./view-span.js";
import { waterfall } from "./view-waterfall.js";

/**
 * @param {import("./main.js").Ctx} ctx
 * @param {string} traceId
 * @param {URLSearchParams} params
 */
export async function traceView(ctx, traceId, params) {
  const can = ctx.source.can;
  if (can.traceList) byId("nav-traces").classList.add("active");
  const trace = await ctx.source.getTrace(traceId);
  const spans = trace.spans;
  const spanIndex = new Map(spans.map((s, i) => [s.span_id, i]));

  // A spec from a run: its matched spans and per-span verdicts.
  /** @type {Map<string, import("./model.js").Verdict[]>} */
  let verdicts = new Map();
  let banner = null;
  const runId = params.get("run");
  if (runId !== null) {
    const run = await ctx.source.getRun(runId);
    const step = run.report.steps[Number(params.get("step"))];
    const spec = step && step.specs[Number(params.get("spec"))];
    if (spec) {
      verdicts = specVerdicts(spec);
      banner = h("div", { class: "banner", id: "spec-banner" },
        h("div", {}, h("strong", {}, spec.name || spec.selector), " ",
          h("span", { class: "badge " + (spec.passed ? "ok" : "err") }, spec.passed ? "passed" : "failed"), " ",
          h("span", { class: "muted" }, spec.matched_spans + " spans matched")),
        h("div", { class: "mono muted" }, spec.selector),
        h("div", {}, h("a", { href: "#/run/" + runId }, "back to run " + run.report.name)));
    }
  }

  const selectorBox = /** @type {HTMLInputElement} */ (h("input", { type: "search", id: "trace-selector", class: "selector", placeholder: "selector: highlights the spans it selects", value: params.get("selector") || "", disabled: !can.selectors }));
  const selectorMessage = h("span", { class: "muted", id: "selector-message" }, can.selectors ? "" : "selectors need a running server");
  const panel = h("div", { class: "panel", id: "span-panel" }, h("div", { class: "muted" }, "Select a span (click, or arrows and Enter)."));
  /** @param {number} i */
  const open = (i) => showSpan(panel, spans[i], verdicts.get(spans[i].span_id) || []);
  const rows = waterfall(trace, { verdicts, onOpen: open });
  const analysis = h("div", { id: "analysis" }, h("span", { class: "muted" }, "loading…"));
  const services = [...new Set(spans.map((s) => s.service))];

  add(ctx.app,
    h("h1", {}, "Trace ", h("span", { class: "mono", id: "trace-id" }, trace.trace_id)),
    h("div", { class: "muted" }, spans.length + " spans · " + duration(Math.max(1, trace.end_time_unix_nano - trace.start_time_unix_nano)) + " · ",
      services.map((s) => h("span", {}, swatch(colour(s)), s + " "))),
    banner,
    h("div", { class: "filters" }, selectorBox, selectorMessage),
    h("div", { class: "layout" }, rows.element, panel),
    h("h2", {}, "Service map"), serviceMap(spans),
    h("h2", {}, "Analyzer"), analysis);
  rows.draw();
  /** @type {Set<string>} */
  let lit = new Set();
  /** @param {Set<string>} ids */
  const light = (ids) => {
    lit = ids;
    rows.highlight(ids);
  };
  light(new Set(verdicts.keys()));

  async function runSelector() {
    const text = selectorBox.value.trim();
    if (!text) {
      light(new Set(verdicts.keys()));
      selectorBox.classList.remove("bad");
      selectorMessage.textContent = "";
      return;
    }
    try {
      const answer = await ctx.source.select(traceId, text);
      if (selectorBox.value.trim() !== text) return; // typed on since
      selectorBox.classList.remove("bad");
      selectorMessage.className = "muted";
      selectorMessage.textContent = answer.matched_span_ids.length + " spans selected";
      light(new Set(answer.matched_span_ids));
    } catch (error) {
      selectorBox.classList.add("bad");
      selectorMessage.className = "err";
      selectorMessage.textContent = error instanceof Error ? error.message : String(error);
    }
  }
  if (can.selectors) {
    selectorBox.addEventListener("input", debounce(runSelector, 120));
    if (selectorBox.value.trim()) await runSelector();
  }
  const first = spans.findIndex((s) => lit.has(s.span_id));
  const wanted = spanIndex.get(params.get("span") || "");
  for (const i of [first, wanted]) {
    if (i !== undefined && i >= 0) {
      rows.select(i);
      open(i);
    }
  }

  ctx.onEvent((type, data) => {
    if (type === "trace.grown" && data.trace_id === traceId) {
      const note = document.getElementById("grown") || h("div", { id: "grown", class: "notice" });
      note.replaceChildren("This trace has grown to " + data.span_count + " spans. ",
        h("a", { href: "#", onclick: (/** @type {Event} */ e) => { e.preventDefault(); ctx.reload(); } }, "Reload it"));
      ctx.app.prepend(note);
    }
  });

  await analysisSection(ctx, analysis, traceId, (spanId) => {
    const i = spanIndex.get(spanId);
    if (i === undefined) return;
    rows.select(i);
    open(i);
    rows.focus();
  });
}
