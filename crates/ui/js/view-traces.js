// The traces page: stored traces, newest first, found with the search form (service, any
// part of a name, the store's services suggested; operation, attributes, duration range,
// when started, errors only) or a selector / TraceQL query for the expert, the fields kept
// in the URL (search.js), updated live
// (throttled), with a "More" button for the next page. Two rows ticked compare (the older
// as A).

import { serviceColours } from "./colours.js";
import { add, byId, debounce, h, swatch } from "./dom.js";
import { age, count, duration } from "./format.js";
import { compareHash, listHash, traceHash } from "./route.js";
import { FIELDS, SINCE_CHOICES, fieldsOf, filtering, listQuery } from "./search.js";
import { throttle } from "./timing.js";

/** A page of the list (the server's default) and the most one request asks for. */
const PAGE = 50;
const MAX_LIMIT = 1000;
/** The live list reloads at most this often while traces arrive. */
const LIVE_RELOAD_MS = 1000;

/**
 * @param {import("./main.js").Ctx} ctx
 * @param {URLSearchParams} params
 */
export async function tracesView(ctx, params) {
  byId("nav-traces").classList.add("active");
  document.title = "Traces · tracecheck";
  const service = /** @type {HTMLInputElement} */ (h("input", { type: "search", id: "service-filter", placeholder: "any part of a name", list: "service-names", autocomplete: "off", value: params.get("service") || "" }));
  const selector = /** @type {HTMLInputElement} */ (h("input", { type: "search", id: "list-selector", class: "selector", placeholder: 'e.g. span[tracetest.span.type="http"] or { status = error }', value: params.get("selector") || "" }));
  const initial = fieldsOf(params);
  const text = (/** @type {string} */ id, /** @type {string} */ value, /** @type {string} */ placeholder) => /** @type {HTMLInputElement} */ (h("input", { type: "search", id, value, placeholder, autocomplete: "off" }));
  const operation = text("search-operation", initial.operation, "span name");
  // Suggestions: the operations of the service named, once it names one the store knows.
  const operationNames = h("datalist", { id: "operation-names" });
  operation.setAttribute("list", "operation-names");
  let suggested = "";
  const suggestOperations = () => {
    const name = service.value.trim();
    if (name === suggested) return;
    suggested = name;
    if (!name) {
      operationNames.replaceChildren();
      return;
    }
    ctx.source.operations(name).then((all) => {
      if (suggested === name) operationNames.replaceChildren(...all.map((o) => h("option", { value: o })));
    }, () => {});
  };
  suggestOperations();
  service.addEventListener("input", suggestOperations);
  const tags = text("search-tags", initial.tags, 'http.status_code=500 db.system="postgresql"');
  const minDuration = text("search-min-duration", initial.min_duration, "e.g. 100ms");
  const maxDuration = text("search-max-duration", initial.max_duration, "e.g. 2s");
  const since = /** @type {HTMLSelectElement} */ (h("select", { id: "search-since" }, SINCE_CHOICES.map(([value, label]) => h("option", { value, selected: value === initial.since }, label))));
  const errors = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", id: "search-errors", checked: initial.errors === "1" }));
  /** The form's fields as the URL keeps them. @returns {import("./search.js").SearchFields} */
  const fields = () => ({
    service: service.value, selector: selector.value, operation: operation.value, tags: tags.value,
    min_duration: minDuration.value, max_duration: maxDuration.value, since: since.value, errors: errors.checked ? "1" : "",
  });
  // Suggestions: the services the store holds (issue 21, defect 11).
  const names = h("datalist", { id: "service-names" });
  ctx.source.services().then((all) => names.replaceChildren(...all.map((s) => h("option", { value: s }))), () => {});
  const message = h("span", { class: "muted", id: "list-message", role: "status" });
  const body = h("tbody", { id: "traces" });
  const more = h("button", { id: "more", hidden: true }, "More");
  // The rows ticked for compare, by trace ID with their start (the older is A); kept across
  // reloads of the list.
  /** @type {Map<string, number>} */
  const picked = new Map();
  const compare = /** @type {HTMLButtonElement} */ (h("button", { id: "compare-picked", disabled: true }));
  const updateCompare = () => {
    compare.disabled = picked.size !== 2;
    compare.textContent = picked.size === 2 ? "Compare the 2 ticked" : "Tick 2 to compare (" + picked.size + ")";
  };
  updateCompare();
  compare.addEventListener("click", () => {
    if (picked.size !== 2) return;
    const [a, b] = [...picked].sort((x, y) => x[1] - y[1]).map(([traceId]) => ({ traceId }));
    location.hash = compareHash(a, b);
  });
  add(ctx.app,
    h("h1", {}, "Traces"),
    h("div", { class: "filters" },
      h("label", { class: "field" }, "Service", service), names,
      h("label", { class: "field" }, "Operation", operation), operationNames,
      h("label", { class: "field grow" }, "Attributes", tags),
      h("label", { class: "field narrow" }, "Min duration", minDuration),
      h("label", { class: "field narrow" }, "Max duration", maxDuration),
      h("label", { class: "field" }, "Started", since),
      h("label", { class: "check" }, errors, " errors only")),
    h("div", { class: "filters" },
      h("label", { class: "field grow" }, "Selector or TraceQL", selector), message, compare),
    h("table", {}, h("thead", {}, h("tr", {},
      h("th", { class: "pick" }, h("span", { class: "sr-only" }, "Compare")), h("th", {}, "Root span"), h("th", {}, "Services"), h("th", {}, "Spans"),
      h("th", {}, "Duration"), h("th", {}, "Errors"), h("th", { class: "hide-narrow" }, "Age"))), body),
    more);
  /** @type {number | null} */
  let cursor = null;
  // Only the newest load draws: a slow answer must not replace a newer one.
  let loads = 0;

  /**
   * Loads the list: `filter` starts over (the filter changed), `refresh` reloads it keeping
   * as many rows as are shown (those "More" loaded too), `more` appends the next page.
   * @param {"filter" | "refresh" | "more"} mode
   */
  async function load(mode) {
    const generation = ++loads;
    const form = fields();
    const filter = listQuery(form, ctx.now());
    // A refresh goes on until it holds as many rows as are shown and the last of them, so
    // that no row loaded with "More" drops off the bottom as new traces come in on top.
    const keep = mode === "refresh" ? body.children.length : 0;
    const lastShown = mode === "refresh" && body.lastElementChild ? /** @type {HTMLElement} */ (body.lastElementChild).dataset.traceId : undefined;
    const wanted = () => lines.length < keep || (lastShown !== undefined && !lines.some((t) => t.trace_id === lastShown));
    /** @type {import("./types.js").TraceSummary[]} */
    const lines = [];
    /** @type {number | null} */
    let next = mode === "more" ? cursor : null;
    let scanned = 0;
    try {
      do {
        const page = await ctx.source.listTraces({ ...filter, cursor: next, limit: Math.min(MAX_LIMIT, Math.max(PAGE, keep - lines.length)) });
        if (generation !== loads) return;
        lines.push(...page.traces);
        scanned += page.scanned;
        next = page.next_cursor;
      } while (wanted() && lines.length < keep + MAX_LIMIT && next !== null && next !== undefined);
    } catch (error) {
      if (generation !== loads) return;
      // A bad filter lists nothing: the rows of the last good one would read as its answer.
      if (mode !== "more") {
        body.replaceChildren();
        more.hidden = true;
      }
      selector.classList.toggle("bad", /** @type {{status?: number}} */ (error).status === 400);
      message.textContent = error instanceof Error ? error.message : String(error);
      message.className = "err";
      return;
    }
    selector.classList.remove("bad");
    message.className = "muted";
    message.textContent = filtering(form) ? count(lines.length, "trace") + " found (" + scanned + " scanned)" : "";
    const now = ctx.now();
    const drawn = lines.map((trace) => {
      const href = traceHash(trace.trace_id, { selector: filter.selector });
      const startMs = Math.floor(trace.start_time_unix_nano / 1e6);
      return h("tr", {
        class: "link", tabindex: 0, "data-trace-id": trace.trace_id,
        onclick: () => { location.hash = href; },
        onkeydown: (/** @type {KeyboardEvent} */ e) => { if (e.key === "Enter") location.hash = href; },
      },
      h("td", { class: "pick" }, h("input", {
        type: "checkbox", class: "compare-pick", "aria-label": "compare " + (trace.root_name || trace.trace_id), checked: picked.has(trace.trace_id),
        onclick: (/** @type {Event} */ e) => e.stopPropagation(),
        onkeydown: (/** @type {Event} */ e) => e.stopPropagation(),
        onchange: (/** @type {Event} */ e) => {
          if (/** @type {HTMLInputElement} */ (e.target).checked) picked.set(trace.trace_id, trace.start_time_unix_nano);
          else picked.delete(trace.trace_id);
          updateCompare();
        },
      })),
      h("td", { class: "root-name" }, trace.root_name || h("span", { class: "muted" }, "(no name)"), h("div", { class: "muted mono" }, trace.trace_id.slice(0, 16))),
      h("td", { class: "services" }, ((colours) => trace.services.map((s) => h("div", {}, swatch(colours.get(s) || ""), s)))(serviceColours(trace.services))),
      h("td", { class: "span-count" }, trace.span_count),
      h("td", {}, duration(trace.duration_nanos)),
      h("td", { class: trace.error_count ? "err" : "muted" }, trace.error_count),
      h("td", { class: "hide-narrow muted age", "data-start": startMs }, age(startMs, now)));
    });
    if (mode === "more") body.append(...drawn);
    else body.replaceChildren(...drawn);
    cursor = next;
    more.hidden = cursor === null || cursor === undefined;
  }

  // The filters live in the URL, replaced as they are typed (no history entry per key), so
  // that Back from a trace, a reload or a link shows the list as it was filtered.
  const refilter = debounce(() => {
    const form = fields();
    history.replaceState(history.state, "", listHash(Object.fromEntries(FIELDS.map((key) => [key, form[key].trim()]))));
    load("filter");
  }, 250);
  for (const input of [service, selector, operation, tags, minDuration, maxDuration]) input.addEventListener("input", refilter);
  for (const input of [since, errors]) input.addEventListener("change", refilter);
  more.addEventListener("click", () => load("more"));
  // Throttled, not debounced: under steady traffic a debounce never fires (issue 21).
  const refresh = throttle(() => load("refresh"), LIVE_RELOAD_MS);
  ctx.onLeave(refresh.cancel);
  ctx.onEvent((type) => { if (type.startsWith("trace.")) refresh(); });
  const ticker = setInterval(() => {
    const now = ctx.now();
    for (const cell of body.querySelectorAll(".age")) {
      cell.textContent = age(Number(/** @type {HTMLElement} */ (cell).dataset.start), now);
    }
  }, 5000);
  ctx.onLeave(() => clearInterval(ticker));
  await load("filter");
}
