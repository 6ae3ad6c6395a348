// The compare page: two traces as one merged tree (the server's `wire::diff`), each row
// marked added, missing, slower, failed or fixed with both durations, each span a link to
// it in its trace; "changes only" folds the rows that did not change (kept in the URL as
// `&changes=1`). Opened from the traces list (two rows ticked) or a run's step (another
// run of the same test).

import { add, h } from "./dom.js";
import { changedRows, rowMark } from "./compare.js";
import { count, duration } from "./format.js";
import { traceHash, withParams } from "./route.js";

/** The most rows drawn: a 10,000-span compare is read with "changes only". */
const MAX_ROWS = 5000;

/**
 * @param {import("./main.js").Ctx} ctx
 * @param {URLSearchParams} params
 */
export async function compareView(ctx, params) {
  document.title = "Compare · tracecheck";
  const a = { traceId: params.get("a") || "", runId: params.get("run_a") };
  const b = { traceId: params.get("b") || "", runId: params.get("run_b") };
  if (!a.traceId || !b.traceId) {
    add(ctx.app, h("h1", {}, "Compare"), h("p", { class: "muted", id: "compare-message" }, "Tick two traces in the list, or open a run's step and pick another run of the same test."));
    return;
  }
  const diff = await ctx.source.diff(a, b);
  /**
   * @param {string} label
   * @param {import("./types.js").DiffTrace} side
   * @param {string | null} runId
   */
  const header = (label, side, runId) => h("div", { class: "compare-side", id: "compare-" + label.toLowerCase() },
    h("strong", {}, label + " "), h("a", { class: "mono", href: traceHash(side.trace_id, { run: runId }) }, side.trace_id),
    " " + (side.root_name || "(no spans)") + " · " + count(side.span_count, "span") + " · " + duration(side.duration_nanos),
    runId ? h("span", { class: "muted" }, " · as run ", h("a", { href: "#/run/" + runId }, runId), " judged it") : null);
  const c = diff.counts;
  const changesOnly = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", id: "changes-only", checked: params.get("changes") === "1" }));
  const body = h("tbody", { id: "diff-rows" });
  const note = h("p", { class: "muted", id: "diff-note" });
  /**
   * @param {import("./types.js").DiffSpan | null} span
   * @param {string} traceId
   * @param {string | null} runId
   */
  const cell = (span, traceId, runId) => h("td", { class: "num" + (span && span.error ? " err" : "") },
    span ? h("a", { href: traceHash(traceId, { run: runId, span: span.span_id }), title: span.span_id }, duration(span.duration_nanos)) : h("span", { class: "muted" }, "–"));
  function draw() {
    const shown = changesOnly.checked ? changedRows(diff.rows) : diff.rows.map((_, i) => i);
    body.replaceChildren(...shown.slice(0, MAX_ROWS).map((i) => {
      const row = diff.rows[i];
      const { mark, kind } = rowMark(row);
      return h("tr", { class: "diff-row " + kind, "data-change": row.change, "data-kind": kind },
        h("td", { class: "diff-mark", title: kind }, mark),
        h("td", { class: "diff-name", style: "padding-left:" + (8 + row.depth * 14) + "px" }, row.name),
        h("td", { class: "muted" }, row.service),
        cell(row.a, diff.a.trace_id, a.runId), cell(row.b, diff.b.trace_id, b.runId));
    }));
    note.textContent = shown.length > MAX_ROWS ? "The first " + MAX_ROWS + " of " + shown.length + " rows; tick \"changes only\" for the rest." : changesOnly.checked && shown.length === 0 ? "Nothing changed." : "";
  }
  changesOnly.addEventListener("change", () => {
    history.replaceState(history.state, "", withParams(location.hash, { changes: changesOnly.checked ? "1" : null }));
    draw();
  });
  add(ctx.app,
    h("h1", {}, "Compare"),
    header("A", diff.a, a.runId), header("B", diff.b, b.runId),
    h("div", { id: "diff-counts", class: "filters" },
      [["added", c.added], ["missing", c.missing], ["slower", c.slower], ["failed", c.failed], ["fixed", c.fixed], ["matched", c.matched]].map(([what, n]) =>
        h("span", { class: "diff-count " + what, "data-kind": what }, n + " " + what)),
      h("label", {}, changesOnly, " changes only")),
    h("table", { class: "diff" }, h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, "Span"), h("th", {}, "Service"), h("th", { class: "num" }, "A"), h("th", { class: "num" }, "B"))), body),
    note);
  draw();
}
