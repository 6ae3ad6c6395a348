// The trace page: the minimap and waterfall beside the span panel, a selector box that
// highlights what a spec with that selector selects, previous/next through the matches, a
// spec's failures and the analyzer's findings, the service map and the findings. Opened
// from a run's spec (`?run=N&step=N&spec=N`), it highlights that spec's spans with their
// verdicts and opens on its first failure. The selector and the selected span are kept in
// the URL (`&selector=`, `&span=`). Below: the trace's statistics per service and
// operation, and its JSON to view or download. A trace too large for the server to read
// whole opens in parts (`&offset=`, parts.js), each drawn as a trace of its own.

import { serviceColours } from "./colours.js";
import { ApiError } from "./data.js";
import { add, byId, debounce, h, swatch } from "./dom.js";
import { count, duration, isOrphan, localTime } from "./format.js";
import { failedSpanIds, specVerdicts } from "./model.js";
import { neighbours, partLabel } from "./parts.js";
import { withParams } from "./route.js";
import { traceStats } from "./stats.js";
import { indentJson, traceFileName } from "./tracefile.js";
import { step, targetsOf } from "./stepping.js";
import { analysisSection } from "./view-analysis.js";
import { serviceMap } from "./view-servicemap.js";
import { minimap } from "./view-minimap.js";
import { showSpan } from "./view-span.js";
import { stepper } from "./view-stepper.js";
import { waterfall } from "./view-waterfall.js";

/**
 * @param {import("./main.js").Ctx} ctx
 * @param {string} traceId
 * @param {URLSearchParams} params
 * @param {string} [fileName]  the file the trace was opened from (`#/file/ID`)
 */
export async function traceView(ctx, traceId, params, fileName) {
  const can = ctx.source.can;
  if (can.traceList) byId("nav-traces").classList.add("active");
  // Opened from a run, the trace is read as that run judged it: with the run's trigger
  // span, and still there once the store's TTL has taken it (issue 21).
  const runId = params.get("run");
  const trace = await readTrace(ctx.source, traceId, runId, params);
  const part = trace.part;
  // Opened in parts after the whole read was refused: a reload opens the part directly.
  if (part && !params.has("offset")) history.replaceState(history.state, "", withParams(location.hash, { offset: part.offset }));
  const spans = trace.spans;
  const spanIndex = new Map(spans.map((s, i) => [s.span_id, i]));

  // A spec from a run: its matched spans and per-span verdicts.
  /** @type {Map<string, import("./model.js").Verdict[]>} */
  let verdicts = new Map();
  /** @type {number[]} */
  let failures = [];
  let banner = fileName === undefined ? null : h("div", { class: "banner", id: "file-banner" }, "Opened from the file ", h("strong", {}, fileName), " (selectors and the analyzer need the trace on a server)");
  if (runId !== null) {
    const run = await ctx.source.getRun(runId);
    banner = h("div", { class: "banner", id: "run-banner" }, "As run ", h("a", { href: "#/run/" + runId }, run.id + " · " + run.report.name), " judged it");
    // A step's trace link names the run alone (no spec: Number(null) would read spec 0).
    const stepReport = params.has("step") ? run.report.steps[Number(params.get("step"))] : undefined;
    const spec = stepReport && params.has("spec") ? stepReport.specs[Number(params.get("spec"))] : undefined;
    if (spec) {
      verdicts = specVerdicts(spec);
      failures = targetsOf(failedSpanIds(spec), spanIndex);
      banner = h("div", { class: "banner", id: "spec-banner" },
        h("div", {}, h("strong", {}, spec.name || spec.selector), " ",
          h("span", { class: "badge " + (spec.passed ? "ok" : "err") }, spec.passed ? "passed" : "failed"), " ",
          h("span", { class: "muted" }, count(spec.matched_spans, "span") + " matched")),
        h("div", { class: "mono muted" }, spec.selector),
        h("div", {}, h("a", { href: "#/run/" + runId }, "back to run " + run.report.name)));
    }
  }

  // Selectors and the analyzer read the whole trace: a part has neither.
  const selectors = can.selectors && !part;
  const selectorBox = /** @type {HTMLInputElement} */ (h("input", { type: "search", id: "trace-selector", class: "selector", placeholder: "highlights the spans it selects", value: params.get("selector") || "", disabled: !selectors }));
  const selectorMessage = h("span", { class: "muted", id: "selector-message", role: "status" }, part ? "selectors read the whole trace, too large for this server" : can.selectors ? "" : "selectors need a running server");
  const panel = h("div", { class: "panel", id: "span-panel" }, h("div", { class: "muted" }, "Select a span (click, or arrows and Enter)."));
  let left = false;
  ctx.onLeave(() => { left = true; });
  /**
   * Keeps the view's state in the URL without a new history entry.
   * @param {Record<string, string | null>} changes
   */
  const replaceParams = (changes) => {
    if (!left) history.replaceState(history.state, "", withParams(location.hash, changes));
  };
  /** @param {string} spanId */
  const linkTo = (spanId) => location.href.split("#")[0] + withParams(location.hash, { span: spanId });
  /** @type {number[]} */
  let matches = [];
  /** @type {number[]} */
  let findings = [];
  const steppers = {
    matches: stepper({ id: "step-matches", what: "matches", key: "n", onStep: (d) => go(step(matches, rows.selected(), d)) }),
    failures: stepper({ id: "step-failures", what: "failures", key: "f", onStep: (d) => go(step(failures, rows.selected(), d)) }),
    findings: stepper({ id: "step-findings", what: "findings", key: "a", onStep: (d) => go(step(findings, rows.selected(), d)) }),
  };
  const updateSteppers = () => {
    const selected = rows.selected();
    steppers.matches.update(matches, selected);
    steppers.failures.update(failures, selected);
    steppers.findings.update(findings, selected);
  };
  /**
   * Shows span `i` in the panel, and keeps it in the URL (a link to it, and a reload,
   * open it again).
   * @param {number} i
   */
  const open = (i) => {
    showSpan(panel, spans[i], verdicts.get(spans[i].span_id) || [], linkTo(spans[i].span_id), isOrphan(spans[i]));
    replaceParams({ span: spans[i].span_id });
    updateSteppers();
  };
  /**
   * Selects span `i` (-1: none) and shows it.
   * @param {number} i
   */
  const go = (i) => {
    if (i < 0) return;
    rows.select(i);
    open(i);
  };
  const colours = serviceColours(spans.map((s) => s.service));
  const rows = waterfall(trace, { verdicts, onOpen: open, colours });
  const overview = minimap(trace, colours, (win) => rows.zoom(win));
  const analysis = h("div", { id: "analysis" }, h("span", { class: "muted" }, "loading…"));
  const mapHolder = h("div", { id: "service-map-holder" });
  const services = [...colours.keys()];
  const root = spans.find((s) => s.depth === 0);
  document.title = (root ? root.name + " · " : "") + "trace " + trace.trace_id.slice(0, 8) + " · tracecheck";

  add(ctx.app,
    h("h1", {}, h("span", { id: "trace-root" }, root ? root.name : "Trace"), " ", h("span", { class: "mono muted trace-id", id: "trace-id" }, trace.trace_id)),
    h("div", { class: "muted", id: "trace-facts" }, "started " + localTime(Math.floor(trace.start_time_unix_nano / 1e6)) + " · " + count(spans.length, "span") + " · " + duration(Math.max(1, trace.end_time_unix_nano - trace.start_time_unix_nano)) + " · ",
      services.map((s) => h("span", { class: "service" }, swatch(colours.get(s) || ""), s + " "))),
    banner,
    part ? partBanner(part, spans.length) : null,
    h("div", { class: "filters" }, h("label", { class: "field grow" }, "Selector", selectorBox), selectorMessage),
    h("div", { class: "steppers" }, steppers.failures.element, steppers.matches.element, steppers.findings.element),
    h("div", { class: "layout" }, h("div", { class: "timeline" }, overview.element, rows.element), panel),
    h("h2", {}, "Service map"), mapHolder,
    statsSection(spans),
    h("h2", {}, "Analyzer"), analysis,
    h("h2", {}, "JSON"), jsonSection(ctx.source, traceId, runId, part));
  rows.draw();
  rows.mark("failure", failures);
  overview.draw();
  // The service map is below the fold: drawn once the waterfall is on screen (a 10,000-span
  // trace's first rows come sooner, issue 21's target).
  setTimeout(() => { if (!left) mapHolder.replaceChildren(serviceMap(spans, colours)); }, 0);
  /** @type {Set<string>} */
  let lit = new Set();
  /** @param {Set<string>} ids */
  const light = (ids) => {
    lit = ids;
    rows.highlight(ids);
    matches = targetsOf(ids, spanIndex);
    rows.mark("match", matches);
    updateSteppers();
  };
  light(new Set(verdicts.keys()));

  async function runSelector() {
    const text = selectorBox.value.trim();
    replaceParams({ selector: text });
    if (!text) {
      light(new Set(verdicts.keys()));
      selectorBox.classList.remove("bad");
      selectorMessage.textContent = "";
      return;
    }
    try {
      const answer = await ctx.source.select(traceId, text, runId);
      if (selectorBox.value.trim() !== text) return; // typed on since
      selectorBox.classList.remove("bad");
      selectorMessage.className = "muted";
      selectorMessage.textContent = count(answer.matched_span_ids.length, "span") + " selected";
      light(new Set(answer.matched_span_ids));
    } catch (error) {
      if (selectorBox.value.trim() !== text) return;
      // No highlight is left from the last good selector (issue 21, defect 11).
      light(new Set());
      selectorBox.classList.add("bad");
      selectorMessage.className = "err";
      selectorMessage.textContent = error instanceof Error ? error.message : String(error);
    }
  }
  if (selectors) {
    selectorBox.addEventListener("input", debounce(runSelector, 120));
    if (selectorBox.value.trim()) await runSelector();
  }
  // The span the URL names, else a failed spec's first failure (issue 21: it opened on a
  // passing span), else the first highlighted span.
  const wanted = spanIndex.get(params.get("span") || "");
  if (wanted !== undefined) go(wanted);
  else if (failures.length) go(failures[0]);
  else go(spans.findIndex((s) => lit.has(s.span_id)));

  /** @param {KeyboardEvent} e */
  const onKey = (e) => {
    const target = /** @type {HTMLElement | null} */ (e.target);
    if (e.ctrlKey || e.metaKey || e.altKey || (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA"))) return;
    const list = { n: matches, f: failures, a: findings }[e.key.toLowerCase()];
    if (!list) return;
    go(step(list, rows.selected(), e.shiftKey ? -1 : 1));
    e.preventDefault();
  };
  document.addEventListener("keydown", onKey);
  ctx.onLeave(() => document.removeEventListener("keydown", onKey));

  ctx.onEvent((type, data) => {
    if (type === "trace.grown" && data.trace_id === traceId) {
      const note = document.getElementById("grown") || h("div", { id: "grown", class: "notice" });
      note.replaceChildren("This trace has grown to " + count(data.span_count, "span") + ". ",
        h("a", { href: "#", onclick: (/** @type {Event} */ e) => { e.preventDefault(); ctx.reload(); } }, "Reload it"));
      ctx.app.prepend(note);
    }
  });

  if (part) {
    analysis.replaceChildren(h("span", { class: "muted" }, "The analyzer reads the whole trace, too large for this server."));
    return;
  }
  const flagged = await analysisSection(ctx, analysis, traceId, runId, (spanId) => {
    const i = spanIndex.get(spanId);
    if (i === undefined) return;
    go(i);
    rows.focus();
  });
  findings = targetsOf(flagged, spanIndex);
  rows.mark("finding", findings);
  updateSteppers();
}

/**
 * The trace, whole; or one part of it, when the URL names one (`offset=`) or when the server
 * refused to read it whole (507: more than its read budget could ever hold).
 * @param {import("./data.js").Source} source
 * @param {string} traceId
 * @param {string | null} runId
 * @param {URLSearchParams} params
 * @returns {Promise<import("./types.js").Trace>}
 */
async function readTrace(source, traceId, runId, params) {
  // A run's view of a trace is read whole (parts are the store's).
  if (params.has("offset") && runId === null) return source.getTracePart(traceId, Number(params.get("offset")) || 0);
  try {
    return await source.getTrace(traceId, runId);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 507 || runId !== null) throw error;
    return source.getTracePart(traceId, 0);
  }
}

/**
 * What a part is and links to the others (each link a new `offset=`, which reopens the view).
 * @param {import("./types.js").TracePart} part
 * @param {number} nSpans
 * @returns {HTMLElement}
 */
function partBanner(part, nSpans) {
  const { previous, next, last } = neighbours(part);
  /**
   * @param {string} id
   * @param {string} label
   * @param {number | null} offset  null: no such part
   */
  const link = (id, label, offset) => offset === null || offset === part.offset
    ? h("span", { class: "muted", id }, label)
    : h("a", { id, href: withParams(location.hash, { offset, span: null }) }, label);
  return h("div", { class: "banner", id: "part-banner" },
    h("div", {}, h("strong", { id: "part-label" }, partLabel(part, nSpans)), " in the order they arrived: the trace is too large for the server to read whole (its read budget is a quarter of --max-memory), so it opens in parts, each a tree of its own; a span whose parent is in another part shows as a root."),
    h("div", {}, link("part-first", "« first", 0), " · ", link("part-previous", "‹ previous", previous), " · ", link("part-next", "next ›", next), " · ", link("part-last", "last »", last)));
}

/** How much indented JSON the page shows; the download has it all. */
const JSON_VIEW_LIMIT = 2_000_000;

/**
 * The trace's JSON: a download (the server's bytes when there is a server, else the data's
 * trace written out) and, when opened, the text indented, every value as written.
 * @param {import("./data.js").Source} source
 * @param {string} traceId
 * @param {string | null} runId
 * @param {import("./types.js").TracePart} [part]  a part's JSON is the part's
 * @returns {HTMLElement}
 */
function jsonSection(source, traceId, runId, part) {
  const name = traceFileName(traceId);
  const url = part ? source.partUrl(traceId, part) : source.traceUrl(traceId, runId);
  const message = h("span", { class: "muted", role: "status" });
  const download = h("a", { id: "download-json", download: name, href: url || "#" }, "Download " + name);
  if (url === null) {
    // A link to a blob of the text, made on the first click (a trace can be 20 MB).
    download.addEventListener("click", async (e) => {
      if (download.getAttribute("href") !== "#") return;
      e.preventDefault();
      try {
        const text = await source.traceText(traceId, runId, part);
        download.setAttribute("href", URL.createObjectURL(new Blob([text], { type: "application/json" })));
        download.click();
      } catch (error) {
        message.textContent = error instanceof Error ? error.message : String(error);
      }
    });
  }
  const pre = h("pre", { id: "trace-json", class: "json-view mono" });
  const view = h("details", { id: "json-details" }, h("summary", {}, "View JSON"), pre);
  let shown = false;
  view.addEventListener("toggle", async () => {
    if (shown || !(/** @type {HTMLDetailsElement} */ (view)).open) return;
    shown = true;
    pre.textContent = "loading…";
    try {
      const text = await source.traceText(traceId, runId, part);
      const [indented, cut] = indentJson(text, JSON_VIEW_LIMIT);
      pre.textContent = indented + (cut === null ? "" : "\n… the first " + cut.toLocaleString("en") + " of " + text.length.toLocaleString("en") + " characters: download it for the whole");
    } catch (error) {
      shown = false;
      pre.textContent = error instanceof Error ? error.message : String(error);
    }
  });
  return h("div", { id: "trace-json-section" }, h("div", {}, download, " ", message), view);
}

/**
 * The trace's statistics per service and operation (stats.js), worked out when first
 * opened: a 10,000-span trace draws its waterfall first.
 * @param {import("./types.js").Span[]} spans
 * @returns {HTMLElement}
 */
function statsSection(spans) {
  const body = h("tbody", { id: "trace-stats-rows" });
  const details = /** @type {HTMLDetailsElement} */ (h("details", { id: "trace-stats" }, h("summary", {}, h("h2", { class: "inline" }, "Statistics")),
    h("table", { class: "stats" }, h("thead", {}, h("tr", {},
      h("th", {}, "Service"), h("th", {}, "Operation"), h("th", { class: "num" }, "Spans"), h("th", { class: "num" }, "Total"),
      h("th", { class: "num" }, "Self"), h("th", { class: "num" }, "Errors"))), body)));
  details.addEventListener("toggle", () => {
    if (!details.open || body.childElementCount) return;
    body.replaceChildren(...traceStats(spans).map((row) => h("tr", { "data-service": row.service, "data-name": row.name },
      h("td", {}, row.service), h("td", {}, row.name), h("td", { class: "num" }, row.count),
      h("td", { class: "num", "data-nanos": row.total }, duration(row.total)), h("td", { class: "num", "data-nanos": row.self }, duration(row.self)),
      h("td", { class: "num" + (row.errors ? " err" : " muted") }, row.errors))));
  });
  return details;
}
