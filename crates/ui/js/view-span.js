// The span panel (Jaeger UI's `SpanDetail`): IDs, kind, status, times, the assertions run on
// the span, its attributes as selectors see them, resource, scope, events and links.

import { fill, h, kvTable } from "./dom.js";
import { duration, isoTime, mark, verdictLong } from "./format.js";

/**
 * Shows `span` in `panel`, with the verdicts of the spec being looked at.
 * @param {HTMLElement} panel
 * @param {import("./types.js").Span} s
 * @param {import("./model.js").Verdict[]} verdicts
 * @param {string} link  the URL that opens this view on this span
 */
export function showSpan(panel, s, verdicts, link) {
  /**
   * @param {string} key
   * @param {import("./dom.js").Child} value
   * @param {string} [cls]
   */
  const line = (key, value, cls) => h("tr", {}, h("td", {}, key), h("td", { class: cls }, value));
  fill(panel,
    h("h3", { id: "panel-name" }, s.name),
    h("div", { class: "span-link" }, h("a", { id: "span-link", href: link }, "link to this span"), " ",
      h("button", { type: "button", id: "copy-link", onclick: (/** @type {Event} */ e) => copy(/** @type {HTMLElement} */ (e.currentTarget), link) }, "copy link")),
    h("table", { class: "kv" },
      line("span id", s.span_id, "mono"),
      line("parent id", s.parent_span_id || "none", "mono"),
      line("service", s.service),
      line("kind", s.kind),
      line("type", s.type),
      line("status", s.status.code + (s.status.message ? ": " + s.status.message : ""), s.status.code === "error" ? "err" : ""),
      line("start", isoTime(s.start_time_unix_nano), "mono"),
      line("end", isoTime(s.end_time_unix_nano), "mono"),
      line("duration", duration(s.duration_nanos))),
    verdicts.length ? h("div", {}, h("h3", {}, "Assertions on this span"), verdicts.map((r) =>
      h("div", { class: r.passed ? "ok" : "err" }, mark(r.passed) + r.assertion + ": " + verdictLong(r)))) : null,
    h("h3", {}, "Attributes (as selectors and assertions see them)"), h("div", { id: "panel-attributes" }, kvTable(s.language_attributes)),
    h("h3", {}, "Resource"), kvTable(s.resource.attributes),
    h("h3", {}, "Scope"), h("div", { class: "mono" }, (s.scope.name || "(unnamed)") + (s.scope.version ? " " + s.scope.version : "")), kvTable(s.scope.attributes),
    h("h3", {}, "Events"), s.events.length
      ? s.events.map((e) => h("div", {}, h("div", {}, e.name, " ", h("span", { class: "muted mono" }, isoTime(e.time_unix_nano))), kvTable(e.attributes)))
      : h("div", { class: "muted" }, "none"),
    h("h3", {}, "Links"), s.links.length
      ? s.links.map((l) => h("div", { class: "mono" }, l.trace_id + " / " + l.span_id, kvTable(l.attributes)))
      : h("div", { class: "muted" }, "none"));
}

/**
 * Copies `text` to the clipboard and says so on `button`; where the page may not write the
 * clipboard (a file:// report in some browsers), says to copy the link by hand.
 * @param {HTMLElement} button
 * @param {string} text
 */
function copy(button, text) {
  const done = (/** @type {string} */ label) => { button.textContent = label; };
  if (!navigator.clipboard) {
    done("copy the link above");
    return;
  }
  navigator.clipboard.writeText(text).then(() => done("copied"), () => done("copy the link above"));
}
