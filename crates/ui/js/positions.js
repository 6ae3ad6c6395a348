// The waterfall's arithmetic, after Jaeger UI's `ListView/Positions` and `CriticalPath`:
// which rows are visible with subtrees collapsed, which of them to draw for a scroll
// position, where a span's bar goes, the time ticks, keyboard moves and the critical path.
// Pure: spans in, numbers out; no DOM.
//
// Spans come in the server's tree order: a span's subtree is the index range
// [i, span.subtree_end), its children are the spans of depth + 1 in that range.

import { duration } from "./format.js";

/** The height of one waterfall row in pixels (`--row` in app.css). */
export const ROW = 24;

/**
 * What the arithmetic reads of a span.
 * @typedef {Pick<import("./types.js").Span, "depth" | "subtree_end" | "start_time_unix_nano" | "end_time_unix_nano">} RowSpan
 */

/**
 * Whether span `i` has children.
 * @param {RowSpan[]} spans
 * @param {number} i
 * @returns {boolean}
 */
export function hasChildren(spans, i) {
  return spans[i].subtree_end > i + 1;
}

/**
 * The span indexes shown, top to bottom, when the subtrees of `collapsed` are folded.
 * @param {RowSpan[]} spans
 * @param {Set<number>} collapsed
 * @returns {number[]}
 */
export function visibleRows(spans, collapsed) {
  const visible = [];
  for (let i = 0; i < spans.length; i++) {
    visible.push(i);
    if (collapsed.has(i)) i = spans[i].subtree_end - 1;
  }
  return visible;
}

/**
 * `collapsed` without the ancestors of `i`, so that row `i` is visible.
 * @param {RowSpan[]} spans
 * @param {Set<number>} collapsed
 * @param {number} i
 * @returns {Set<number>}
 */
export function expandTo(spans, collapsed, i) {
  return new Set([...collapsed].filter((c) => !(c < i && spans[c].subtree_end > i)));
}

/**
 * The rows to draw (positions `first` to `last` exclusive) for a scroll position: those in
 * view plus `overscan` rows either side. Rows start `offset` pixels into the scrolled
 * content (below a sticky header).
 * @param {{scrollTop: number, viewHeight: number, count: number, row?: number, offset?: number, overscan?: number}} view
 * @returns {{first: number, last: number}}
 */
export function rowWindow({ scrollTop, viewHeight, count, row = ROW, offset = 0, overscan = 10 }) {
  const first = Math.max(0, Math.floor((scrollTop - offset) / row) - overscan);
  const last = Math.min(count, first + Math.ceil(viewHeight / row) + 2 * overscan);
  return { first, last };
}

/**
 * The scroll position that shows row `position` whole, moving as little as possible; rows
 * start `offset` pixels down, under a sticky header that high.
 * @param {{position: number, scrollTop: number, viewHeight: number, row?: number, offset?: number}} view
 * @returns {number}
 */
export function revealScroll({ position, scrollTop, viewHeight, row = ROW, offset = 0 }) {
  if (position * row < scrollTop) return position * row;
  const bottom = offset + (position + 1) * row;
  if (bottom > scrollTop + viewHeight) return bottom - viewHeight;
  return scrollTop;
}

/**
 * Where a span's bar goes, in percent of the trace's time from `t0` over `total`
 * nanoseconds; at least 0.3% wide so that short spans stay visible.
 * @param {RowSpan} span
 * @param {number} t0
 * @param {number} total
 * @returns {{left: number, width: number}}
 */
export function bar(span, t0, total) {
  const width = Math.max(0.3, ((span.end_time_unix_nano - span.start_time_unix_nano) / total) * 100);
  const left = Math.max(0, Math.min(100 - width, ((span.start_time_unix_nano - t0) / total) * 100));
  return { left, width };
}

/**
 * A time range `[start, end]` (nanoseconds) in percent of the trace, like [`bar`] but
 * without a minimum width.
 * @param {number} start
 * @param {number} end
 * @param {number} t0
 * @param {number} total
 * @returns {{left: number, width: number}}
 */
export function section(start, end, t0, total) {
  return { left: ((start - t0) / total) * 100, width: ((end - start) / total) * 100 };
}

/**
 * The timeline's ticks: `parts + 1` evenly spaced marks from 0 to `total` nanoseconds.
 * @param {number} total
 * @param {number} [parts]
 * @returns {{percent: number, label: string}[]}
 */
export function ticks(total, parts = 4) {
  const out = [];
  for (let k = 0; k <= parts; k++) out.push({ percent: (k / parts) * 100, label: duration(Math.round((total * k) / parts)) });
  return out;
}

/**
 * Each span's parent index (-1 for a root), from depths in tree order.
 * @param {RowSpan[]} spans
 * @returns {number[]}
 */
export function parentIndexes(spans) {
  /** @type {number[]} */
  const parents = [];
  /** @type {number[]} */
  const stack = [];
  spans.forEach((span, i) => {
    if (stack.length > span.depth) stack.length = span.depth;
    parents.push(span.depth > 0 && stack.length === span.depth ? stack[span.depth - 1] : -1);
    stack.push(i);
  });
  return parents;
}

/**
 * The critical path of the first root's tree (Jaeger UI's algorithm): from the root, follow
 * the child that finished last; when a span has no child left that finished before the
 * point we came back to, its own time up to that point is critical and we climb to its
 * parent. Children are clipped to their parent's time first. Returns each critical span's
 * sections `[start, end]` in nanoseconds.
 * @param {RowSpan[]} spans
 * @returns {Map<number, [number, number][]>}
 */
export function criticalPath(spans) {
  /** @type {Map<number, [number, number][]>} */
  const path = new Map();
  if (spans.length === 0) return path;
  const parents = parentIndexes(spans);
  // Clipped times; NaN for a span (and its subtree) wholly outside its parent.
  const start = spans.map((s) => s.start_time_unix_nano);
  const end = spans.map((s) => s.end_time_unix_nano);
  /** @type {number[][]} */
  const children = spans.map(() => []);
  for (let i = 0; i < spans.length; i++) {
    const p = parents[i];
    if (p < 0) continue;
    start[i] = Math.max(start[i], start[p]);
    end[i] = Math.min(end[i], end[p]);
    if (!(start[i] <= end[i])) {
      start[i] = end[i] = NaN;
      continue;
    }
    children[p].push(i);
  }
  /** @param {number} i @param {number} from @param {number} to */
  const add = (i, from, to) => {
    if (from >= to) return;
    if (!path.has(i)) path.set(i, []);
    path.get(i)?.push([from, to]);
  };
  // Each span's children, latest end first (ties in tree order), and how far down that
  // list the walk has got: the point we come back to a span at only moves earlier, so a
  // child passed over (ended after it, or walked already) is never wanted again, and each
  // child is looked at once. (Scanning every child at each return took 90 ms for a root
  // with 1,000 children.)
  for (const list of children) if (list.length > 1) list.sort((a, b) => end[b] - end[a]);
  const next = new Array(spans.length).fill(0);
  let current = 0;
  /** @type {number | null} */
  let returning = null;
  for (;;) {
    const until = returning === null ? end[current] : returning;
    const list = children[current];
    while (next[current] < list.length && end[list[next[current]]] > until) next[current]++;
    const last = next[current] < list.length ? list[next[current]++] : -1;
    if (last >= 0) {
      add(current, end[last], until);
      current = last;
      returning = null;
      continue;
    }
    add(current, start[current], until);
    if (parents[current] < 0) break;
    returning = start[current];
    current = parents[current];
  }
  for (const sections of path.values()) sections.reverse();
  return path;
}

/**
 * What a key does in the waterfall with span `selected` (-1 for none): move the selection,
 * fold or unfold a subtree, open the span; null for a key it ignores.
 * @param {string} key
 * @param {{visible: number[], selected: number, spans: RowSpan[], collapsed: Set<number>}} state
 * @returns {{select: number} | {toggle: number} | {open: number} | null}
 */
export function keyAction(key, { visible, selected, spans, collapsed }) {
  const position = visible.indexOf(selected);
  if (key === "ArrowDown" && visible.length) return { select: visible[Math.min(visible.length - 1, position + 1)] };
  if (key === "ArrowUp" && visible.length) return { select: visible[Math.max(0, position - 1)] };
  if (key === "ArrowLeft" && selected >= 0 && !collapsed.has(selected) && hasChildren(spans, selected)) return { toggle: selected };
  if (key === "ArrowRight" && collapsed.has(selected)) return { toggle: selected };
  if (key === "Enter" && selected >= 0) return { open: selected };
  return null;
}

/**
 * The part of the trace in view, as fractions of its time: `from` and `to` in [0, 1].
 * @typedef {{from: number, to: number}} TimeWindow
 */

/** The narrowest window: a thousandth of the trace. */
export const MIN_WINDOW = 0.001;

/**
 * `window` kept inside [0, 1] and at least [`MIN_WINDOW`] wide, its width kept when it
 * is moved against an edge.
 * @param {TimeWindow} window
 * @returns {TimeWindow}
 */
export function clampWindow({ from, to }) {
  let width = Math.min(1, Math.max(MIN_WINDOW, to - from));
  let start = Math.min(Math.max(0, from), 1 - width);
  return { from: start, to: start + width };
}

/**
 * The window a drag from fraction `a` to fraction `b` of the whole trace picks (either
 * direction); a click without a drag (narrower than [`MIN_WINDOW`]) picks the whole trace.
 * @param {number} a
 * @param {number} b
 * @returns {TimeWindow}
 */
export function dragWindow(a, b) {
  if (Math.abs(b - a) < MIN_WINDOW) return { from: 0, to: 1 };
  return clampWindow({ from: Math.min(a, b), to: Math.max(a, b) });
}

/**
 * Ticks at round times (1, 2 or 5 times a power of ten nanoseconds) across the window
 * `[from, to]` (nanoseconds since the trace's start), about `count` of them, each with its
 * place in percent of the window and its time as text.
 * @param {number} from
 * @param {number} to
 * @param {number} [count]
 * @returns {{percent: number, label: string}[]}
 */
export function niceTicks(from, to, count = 5) {
  const span = Math.max(1, to - from);
  const rough = span / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const out = [];
  for (let t = Math.ceil(from / step) * step; t <= to + step * 1e-9; t += step) {
    out.push({ percent: ((t - from) / span) * 100, label: duration(Math.round(t)) });
  }
  return out;
}

/**
 * Where a span's bar goes when the window `win` of the trace is in view, in percent of the
 * view: clipped to it, at least 0.3% wide; null when the span is wholly outside.
 * @param {RowSpan} span
 * @param {number} t0  the trace's start
 * @param {number} total  the trace's length in nanoseconds
 * @param {TimeWindow} win
 * @returns {{left: number, width: number} | null}
 */
export function windowBar(span, t0, total, win) {
  const from = t0 + win.from * total;
  const length = Math.max(1, (win.to - win.from) * total);
  const left = ((span.start_time_unix_nano - from) / length) * 100;
  const right = ((span.end_time_unix_nano - from) / length) * 100;
  if (right < 0 || left > 100) return null;
  const width = Math.max(0.3, Math.min(100, right) - Math.max(0, left));
  return { left: Math.min(Math.max(0, left), 100 - width), width };
}

/**
 * Where marks for `targets` (span indexes) go along the waterfall's scrollbar, as
 * fractions of its height: a target in a folded subtree is marked at the row that folds it.
 * Each place once, in order.
 * @param {number[]} visible  the shown span indexes, in order (`visibleRows`)
 * @param {number[]} targets
 * @returns {number[]}
 */
export function markPlaces(visible, targets) {
  if (visible.length === 0) return [];
  /** @type {Set<number>} */
  const places = new Set();
  for (const target of targets) {
    // The last shown row at or before the target: the target itself, or what folds it.
    let low = 0;
    let high = visible.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (visible[middle] <= target) low = middle;
      else high = middle - 1;
    }
    places.add(low);
  }
  return [...places].sort((a, b) => a - b).map((position) => (position + 0.5) / visible.length);
}
