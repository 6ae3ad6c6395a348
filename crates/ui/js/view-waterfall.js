// The trace's waterfall (Jaeger UI's `TraceTimelineViewer`): a sticky header with the time
// ticks, then one row per visible span (name, service swatch, error mark, verdicts; its bar
// and critical-path sections). Only the rows in view are in the DOM. The arithmetic is
// positions.js; this draws it and keeps the state (collapsed, selected, highlighted).

import { h, swatch } from "./dom.js";
import { duration, isOrphan, verdictShort } from "./format.js";
import { ROW, criticalPath, expandTo, hasChildren, keyAction, markPlaces, niceTicks, revealScroll, rowWindow, section, visibleRows, windowBar } from "./positions.js";

/** @typedef {import("./model.js").Verdict} Verdict */

/**
 * @typedef {object} Waterfall
 * @property {HTMLElement} element
 * @property {() => void} draw  draws the rows in view (once the element is on the page)
 * @property {(i: number) => void} select  selects span `i`, unfolding and scrolling to it
 * @property {(ids: Set<string>) => void} highlight  marks these spans' rows
 * @property {() => void} focus
 * @property {() => number} selected  the selected span's index, -1 for none
 * @property {(win: import("./positions.js").TimeWindow) => void} zoom  shows this window of the trace's time
 * @property {(kind: "match" | "failure" | "finding", targets: number[]) => void} mark
 *   marks these spans beside the scrollbar
 */

/**
 * @param {import("./types.js").Trace} trace
 * @param {{verdicts: Map<string, Verdict[]>, onOpen: (i: number) => void, colours: Map<string, string>}} options
 *   each span's assertion results to show beside it; what a click, a key that moves the
 *   selection or Enter opens (the details follow the keyboard)
 * @returns {Waterfall}
 */
export function waterfall(trace, { verdicts, onOpen, colours }) {
  const colour = (/** @type {string} */ service) => colours.get(service) || "gray";
  const spans = trace.spans;
  const t0 = trace.start_time_unix_nano;
  const total = Math.max(1, trace.end_time_unix_nano - t0);
  const critical = criticalPath(spans);
  /** @type {Set<number>} */
  let collapsed = new Set();
  /** @type {Set<string>} */
  let highlighted = new Set();
  let selected = -1;
  /** @type {number[]} */
  let visible = [];
  /** @type {import("./positions.js").TimeWindow} */
  let win = { from: 0, to: 1 };
  // The window's start and length in nanoseconds, what bars and marks are placed in.
  let viewStart = t0;
  let viewLength = total;

  const axis = h("div", { class: "track axis", id: "time-axis" });
  const head = h("div", { class: "wf-head", "aria-hidden": "true" },
    h("div", { class: "label muted" }, h("span", { class: "cp-key" }), "critical path"), axis);
  const grid = h("div", { class: "wf-grid" });
  // Time ticks at round times of the window in view (its start is `0ns` for the whole trace).
  function drawAxis() {
    const marks = niceTicks(win.from * total, win.to * total);
    axis.replaceChildren(...marks.map((t) => h("span", { class: "tick" + (t.percent > 85 ? " last" : ""), style: "left:" + t.percent + "%" }, t.label)));
    grid.replaceChildren(...marks.filter((t) => t.percent > 0 && t.percent < 100).map((t) => h("div", { class: "gridline", style: "left:" + t.percent + "%" })));
  }
  const rows = h("div", { class: "wf-rows" });
  const inner = h("div", { class: "wf-inner" }, grid, rows);
  const scroller = h("div", { class: "waterfall", id: "waterfall", tabindex: 0, role: "tree", "aria-label": "span waterfall" }, head, inner);
  // Where the matches, failures and findings are in the whole list, beside the scrollbar.
  const strip = h("div", { class: "wf-marks", id: "scroll-marks", "aria-hidden": "true" });
  const element = h("div", { class: "wf-wrap" }, scroller, strip);
  /** @type {Map<string, number[]>} */
  const marked = new Map();

  function drawMarks() {
    // Rows that fit the view get marks beside them; a longer list, marks along the scrollbar.
    const height = visible.length * ROW;
    const fits = height <= scroller.clientHeight - ROW;
    const top = (/** @type {number} */ place) => fits ? place * height + "px" : place * 100 + "%";
    strip.replaceChildren(...[...marked].flatMap(([kind, targets]) =>
      // At most one mark per 0.25% of the height: thousands of matches stay a few hundred marks.
      [...new Set(markPlaces(visible, targets).map((place) => Math.round(place * 400) / 400))].map((place) => h("div", { class: "scroll-mark " + kind, style: "top:" + top(place) }))));
  }

  function layout() {
    visible = visibleRows(spans, collapsed);
    inner.style.height = visible.length * ROW + "px";
    drawMarks();
  }

  function render() {
    const { first, last } = rowWindow({ scrollTop: scroller.scrollTop, viewHeight: scroller.clientHeight, count: visible.length, offset: ROW });
    const drawn = [];
    for (let v = first; v < last; v++) drawn.push(row(visible[v], v));
    rows.replaceChildren(...drawn);
  }

  /**
   * @param {number} i
   * @param {number} position
   */
  function row(i, position) {
    const span = spans[i];
    const parent = hasChildren(spans, i);
    const isError = span.status.code === "error";
    const results = verdicts.get(span.span_id) || [];
    const place = windowBar(span, t0, total, win);
    const classes = ["row"];
    if (highlighted.has(span.span_id)) classes.push("hl");
    if (i === selected) classes.push("selected");
    return h("div", {
      class: classes.join(" "), role: "treeitem", style: "top:" + position * ROW + "px",
      "data-index": i, "data-span-id": span.span_id, "data-depth": span.depth,
      "aria-level": span.depth + 1, "aria-selected": String(i === selected),
      "aria-expanded": parent ? String(!collapsed.has(i)) : null,
      onclick: () => { select(i); onOpen(i); },
    },
    h("div", { class: "label", style: "padding-left:" + (4 + span.depth * 14) + "px" },
      h("span", { class: "toggle", onclick: (/** @type {Event} */ e) => { e.stopPropagation(); if (parent) toggle(i); } }, parent ? (collapsed.has(i) ? "▸" : "▾") : ""),
      swatch(colour(span.service), span.service),
      h("span", { class: "name" }, span.name),
      // The service in words too: colour is not the only cue (issue 21, defect 9).
      h("span", { class: "svc" }, span.service),
      isError ? h("span", { class: "mark", title: "status error" }, "!") : null,
      isOrphan(span) ? h("span", { class: "orphan-mark", title: "parent span " + span.parent_span_id + " is missing from the trace" }, "⚠ no parent") : null,
      results.map((r) => h("span", { class: "result " + (r.passed ? "pass" : "fail"), title: r.assertion }, verdictShort(r)))),
    h("div", { class: "track" },
      place ? h("div", { class: "bar" + (isError ? " error" : ""), title: duration(span.duration_nanos), style: "left:" + place.left + "%;width:" + place.width + "%;background:" + colour(span.service) }) : null,
      // The duration on every row: after the bar, else before it, else (a bar across the
      // view) on it.
      place ? h("span", { class: "bar-label" + (place.left + place.width < 80 ? "" : place.left > 20 ? "" : " inside"), style: place.left + place.width < 80 ? "left:calc(" + (place.left + place.width) + "% + 4px)" : place.left > 20 ? "right:calc(" + (100 - place.left) + "% + 4px)" : "left:calc(" + place.left + "% + 4px)" }, duration(span.duration_nanos)) : null,
      span.events.map((e) => h("div", { class: "event-mark", title: e.name, style: "left:" + section(e.time_unix_nano, e.time_unix_nano, viewStart, viewLength).left + "%" })),
      (critical.get(i) || []).map(([from, to]) => {
        const part = section(from, to, viewStart, viewLength);
        return h("div", { class: "cp", title: "critical path", style: "left:" + part.left + "%;width:" + part.width + "%" });
      })));
  }

  /** @param {number} i */
  function toggle(i) {
    if (collapsed.has(i)) collapsed.delete(i);
    else collapsed.add(i);
    layout();
    render();
  }

  /** @param {number} i */
  function select(i) {
    selected = i;
    collapsed = expandTo(spans, collapsed, i);
    layout();
    scroller.scrollTop = revealScroll({ position: visible.indexOf(i), scrollTop: scroller.scrollTop, viewHeight: scroller.clientHeight, offset: ROW });
    render();
  }

  scroller.addEventListener("scroll", () => requestAnimationFrame(render));
  scroller.addEventListener("keydown", (e) => {
    const action = keyAction(e.key, { visible, selected, spans, collapsed });
    if (!action) return;
    if ("select" in action) {
      select(action.select);
      onOpen(action.select);
    } else if ("toggle" in action) toggle(action.toggle);
    else onOpen(action.open);
    e.preventDefault();
  });
  return {
    element,
    draw() {
      drawAxis();
      layout();
      render();
    },
    zoom(next) {
      win = next;
      viewStart = t0 + win.from * total;
      viewLength = Math.max(1, (win.to - win.from) * total);
      drawAxis();
      render();
    },
    select,
    highlight(ids) {
      highlighted = ids;
      render();
    },
    focus: () => scroller.focus(),
    mark(kind, targets) {
      marked.set(kind, targets);
      drawMarks();
    },
    selected: () => selected,
  };
}
