// The span panel (Jaeger UI's `SpanDetail`): the span's meta (IDs, kind, status, times),
// the assertions run on it, its own attributes, its resource's, the attributes selectors
// derive, scope, events and links. Values keep their line breaks; long ones are shortened
// behind a "more" toggle.

import { fill, h } from "./dom.js";
import { duration, isoTime, kindText, mark, valueText, verdictLong } from "./format.js";
import { traceHash } from "./route.js";

/** A value longer than this shows its start and a "more" toggle. */
const LONG_VALUE = 300;
/** Derived attributes that hold nanoseconds: shown as a duration beside the number. */
const NANOSECONDS = new Set(["tracetest.span.duration"]);

/**
 * Shows `span` in `panel`, with the verdicts of the spec being looked at.
 * @param {HTMLElement} panel
 * @param {import("./types.js").Span} s
 * @param {import("./model.js").Verdict[]} verdicts
 * @param {string} link  the URL that opens this view on this span
 * @param {boolean} orphan  whether the span's parent is missing from the trace
 */
export function showSpan(panel, s, verdicts, link, orphan) {
  /**
   * @param {string} key
   * @param {import("./dom.js").Child} value
   * @param {string} [cls]
   */
  const line = (key, value, cls) => h("tr", { "data-key": key }, h("td", {}, key), h("td", { class: cls }, value));
  // The span's own and its resource's attributes are shown as sent; what selectors derive
  // beyond them (`tracetest.span.*`, `name`, ...) is shown apart.
  const derived = Object.fromEntries(Object.entries(s.language_attributes)
    .filter(([key]) => !Object.hasOwn(s.attributes, key) && !Object.hasOwn(s.resource.attributes, key)));
  fill(panel,
    h("h3", { id: "panel-name" }, s.name),
    h("div", { class: "span-link" }, h("a", { id: "span-link", href: link }, "link to this span"), " ",
      h("button", { type: "button", id: "copy-link", onclick: (/** @type {Event} */ e) => copy(/** @type {HTMLElement} */ (e.currentTarget), link) }, "copy link")),
    h("table", { class: "kv", id: "panel-meta" },
      line("span id", s.span_id, "mono"),
      line("parent id", [s.parent_span_id || "none", orphan ? h("span", { class: "err orphan" }, " (missing from the trace)") : null], "mono"),
      line("service", s.service),
      line("kind", kindText(s.kind)),
      line("type", s.type),
      line("status", s.status.code + (s.status.message ? ": " + s.status.message : ""), s.status.code === "error" ? "err" : ""),
      line("start", isoTime(s.start_time_unix_nano), "mono"),
      line("end", isoTime(s.end_time_unix_nano), "mono"),
      line("duration", duration(s.duration_nanos))),
    verdicts.length ? h("div", {}, h("h3", {}, "Assertions on this span"), verdicts.map((r) =>
      h("div", { class: r.passed ? "ok" : "err" }, mark(r.passed) + r.assertion + ": " + verdictLong(r)))) : null,
    h("h3", {}, "Attributes"), h("div", { id: "panel-attributes" }, values(s.attributes)),
    h("h3", {}, "Resource"), h("div", { id: "panel-resource" }, values(s.resource.attributes)),
    h("details", { id: "panel-derived" }, h("summary", {}, "Derived for selectors (tracetest.span.*, …)"), values(derived)),
    h("h3", {}, "Scope"), h("div", { class: "mono" }, (s.scope.name || "(unnamed)") + (s.scope.version ? " " + s.scope.version : "")), values(s.scope.attributes),
    h("h3", {}, "Events"), s.events.length
      ? s.events.map((e) => h("div", { class: "event" }, h("div", {}, e.name, " ", h("span", { class: "muted mono" }, "+" + duration(Math.max(0, e.time_unix_nano - s.start_time_unix_nano)))), values(e.attributes)))
      : h("div", { class: "muted" }, "none"),
    h("h3", {}, "Links"), s.links.length
      ? s.links.map((l) => h("div", { class: "mono" }, h("a", { class: "span-link-to", href: traceHash(l.trace_id, { span: l.span_id }) }, l.trace_id + " / " + l.span_id), values(l.attributes)))
      : h("div", { class: "muted" }, "none"));
}

/**
 * Keys and values as a table (a row per key, `data-key` on each), or "none". A value keeps
 * its line breaks (a stack trace reads as one); a long one shows its start and a toggle.
 * @param {Record<string, unknown>} object
 * @returns {HTMLElement}
 */
function values(object) {
  const entries = Object.entries(object);
  if (entries.length === 0) return h("div", { class: "muted" }, "none");
  return h("table", { class: "kv" }, entries.map(([key, value]) => {
    const text = valueText(value);
    const shown = NANOSECONDS.has(key) && /^\d+$/.test(text) ? duration(Number(text)) + " (" + text + " ns)" : text;
    return h("tr", { "data-key": key }, h("td", {}, key), h("td", { class: "mono value" }, long(shown)));
  }));
}

/**
 * `text`, or its start and a "more" toggle when it is long.
 * @param {string} text
 * @returns {import("./dom.js").Child}
 */
function long(text) {
  if (text.length <= LONG_VALUE) return text;
  const shown = h("span", { class: "text" }, text.slice(0, LONG_VALUE) + "…");
  const toggle = h("button", { type: "button", class: "more", "aria-expanded": "false" }, "more");
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    shown.textContent = open ? text : text.slice(0, LONG_VALUE) + "…";
    toggle.textContent = open ? "less" : "more (" + text.length + " characters)";
    toggle.setAttribute("aria-expanded", String(open));
  });
  toggle.textContent = "more (" + text.length + " characters)";
  return [shown, " ", toggle];
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
