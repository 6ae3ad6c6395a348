// The trace's minimap (Jaeger UI's `SpanGraph`): every span as a thin bar over the whole
// trace's time, and the window of time the waterfall shows. Dragging across it picks a
// window, dragging the window moves it, a click or "Whole trace" shows all. The window's
// arithmetic is positions.js's; this draws it and turns pointer moves into windows.

import { h } from "./dom.js";
import { clampWindow, dragWindow } from "./positions.js";

/** The minimap's height in CSS pixels. */
const HEIGHT = 48;

/**
 * @typedef {object} Minimap
 * @property {HTMLElement} element
 * @property {() => void} draw  paints the spans (once the element is on the page)
 * @property {(win: import("./positions.js").TimeWindow) => void} show  moves the window's frame
 */

/**
 * @param {import("./types.js").Trace} trace
 * @param {Map<string, string>} colours
 * @param {(win: import("./positions.js").TimeWindow) => void} onWindow  a window was picked
 * @returns {Minimap}
 */
export function minimap(trace, colours, onWindow) {
  const spans = trace.spans;
  const t0 = trace.start_time_unix_nano;
  const total = Math.max(1, trace.end_time_unix_nano - t0);
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "mm-canvas", "aria-hidden": "true" }));
  const frame = h("div", { class: "mm-window", id: "minimap-window" });
  const area = h("div", { class: "mm-area", id: "minimap", role: "img", "aria-label": "minimap of the whole trace: drag to pick a time window" }, canvas, frame);
  const whole = h("button", { type: "button", id: "whole-trace", hidden: true, onclick: () => pick({ from: 0, to: 1 }) }, "Whole trace");
  const element = h("div", { class: "minimap" }, area, whole);
  let win = { from: 0, to: 1 };

  /** @param {import("./positions.js").TimeWindow} next */
  function pick(next) {
    show(next);
    onWindow(next);
  }

  /** @param {import("./positions.js").TimeWindow} next */
  function show(next) {
    win = next;
    frame.style.left = win.from * 100 + "%";
    frame.style.width = (win.to - win.from) * 100 + "%";
    whole.hidden = win.from <= 0 && win.to >= 1;
  }

  function draw() {
    const width = Math.max(1, area.clientWidth);
    const ratio = globalThis.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(HEIGHT * ratio);
    const paint = canvas.getContext("2d");
    if (!paint) return;
    paint.scale(ratio, ratio);
    const rowHeight = Math.max(0.5, Math.min(4, HEIGHT / Math.max(1, spans.length)));
    spans.forEach((span, i) => {
      paint.fillStyle = colours.get(span.service) || "gray";
      const x = ((span.start_time_unix_nano - t0) / total) * width;
      const w = Math.max(1, ((span.end_time_unix_nano - span.start_time_unix_nano) / total) * width);
      paint.fillRect(x, (i / Math.max(1, spans.length)) * HEIGHT, w, rowHeight);
    });
  }

  // A drag that starts inside the window moves it; anywhere else it picks a new one.
  area.addEventListener("pointerdown", (event) => {
    const box = area.getBoundingClientRect();
    const at = (/** @type {PointerEvent} */ e) => Math.min(1, Math.max(0, (e.clientX - box.left) / Math.max(1, box.width)));
    const start = at(event);
    const moving = start > win.from && start < win.to && !(win.from <= 0 && win.to >= 1);
    const before = win;
    area.setPointerCapture(event.pointerId);
    const move = (/** @type {PointerEvent} */ e) => {
      const next = moving ? clampWindow({ from: before.from + at(e) - start, to: before.to + at(e) - start }) : dragWindow(start, at(e));
      pick(next);
    };
    const up = (/** @type {PointerEvent} */ e) => {
      area.removeEventListener("pointermove", move);
      area.removeEventListener("pointerup", up);
      if (!moving) pick(dragWindow(start, at(e)));
    };
    area.addEventListener("pointermove", move);
    area.addEventListener("pointerup", up);
    event.preventDefault();
  });
  show(win);
  return { element, draw, show };
}
