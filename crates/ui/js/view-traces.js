// The traces page: stored traces, newest first, filtered by service or selector, updated
// live, with a "More" button for the next page.

import { add, byId, debounce, h, swatch } from "./dom.js";
import { age, colour, duration } from "./format.js";
import { traceHash } from "./route.js";

/**
 * @param {import("./main.js").Ctx} ctx
 * @param {URLSearchParams} params
 */
export async function tracesView(ctx, params) {
  byId("nav-traces").classList.add("active");
  const service = /** @type {HTMLInputElement} */ (h("input", { type: "search", id: "service-filter", placeholder: "service", value: params.get("service") || "" }));
  const selector = /** @type {HTMLInputElement} */ (h("input", { type: "search", id: "list-selector", class: "selector", placeholder: 'selector, e.g. span[tracetest.span.type="http"]', value: params.get("selector") || "" }));
  const message = h("span", { class: "muted", id: "list-message" });
  const body = h("tbody", { id: "traces" });
  const more = h("button", { id: "more", hidden: true }, "More");
  add(ctx.app,
    h("h1", {}, "Traces"),
    h("div", { class: "filters" }, service, selector, message),
    h("table", {}, h("thead", {}, h("tr", {},
      h("th", {}, "Root span"), h("th", {}, "Services"), h("th", {}, "Spans"),
      h("th", {}, "Duration"), h("th", {}, "Errors"), h("th", { class: "hide-narrow" }, "Age"))), body),
    more);
  /** @type {number | null} */
  let cursor = null;

  /** @param {boolean} append */
  async function load(append) {
    const filter = { service: service.value.trim(), selector: selector.value.trim() };
    let page;
    try {
      page = await ctx.source.listTraces({ ...filter, cursor: append ? cursor : null });
    } catch (error) {
      selector.classList.toggle("bad", /** @type {{status?: number}} */ (error).status === 400);
      message.textContent = error instanceof Error ? error.message : String(error);
      message.className = "err";
      return;
    }
    selector.classList.remove("bad");
    message.className = "muted";
    message.textContent = filter.selector ? page.traces.length + " traces match (" + page.scanned + " scanned)" : "";
    if (!append) body.replaceChildren();
    const now = ctx.now();
    for (const trace of page.traces) {
      const href = traceHash(trace.trace_id, { selector: filter.selector });
      const startMs = Math.floor(trace.start_time_unix_nano / 1e6);
      body.append(h("tr", {
        class: "link", tabindex: 0, "data-trace-id": trace.trace_id,
        onclick: () => { location.hash = href; },
        onkeydown: (/** @type {KeyboardEvent} */ e) => { if (e.key === "Enter") location.hash = href; },
      },
      h("td", { class: "root-name" }, trace.root_name || h("span", { class: "muted" }, "(no name)"), h("div", { class: "muted mono" }, trace.trace_id.slice(0, 16))),
      h("td", {}, trace.services.map((s) => h("div", {}, swatch(colour(s)), s))),
      h("td", { class: "span-count" }, trace.span_count),
      h("td", {}, duration(trace.duration_nanos)),
      h("td", { class: trace.error_count ? "err" : "muted" }, trace.error_count),
      h("td", { class: "hide-narrow muted age", "data-start": startMs }, age(startMs, now))));
    }
    cursor = page.next_cursor;
    more.hidden = cursor === null || cursor === undefined;
  }

  const reload = debounce(() => load(false), 250);
  service.addEventListener("input", reload);
  selector.addEventListener("input", reload);
  more.addEventListener("click", () => load(true));
  ctx.onEvent((type) => { if (type.startsWith("trace.")) reload(); });
  const ticker = setInterval(() => {
    const now = ctx.now();
    for (const cell of body.querySelectorAll(".age")) {
      cell.textContent = age(Number(/** @type {HTMLElement} */ (cell).dataset.start), now);
    }
  }, 5000);
  ctx.onLeave(() => clearInterval(ticker));
  await load(false);
}
