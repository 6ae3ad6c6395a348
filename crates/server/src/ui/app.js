// tracecheck's web UI: one script for the live server (reads /api/v1) and the HTML report
// (reads the JSON inlined in #tc-data). Plain DOM, no framework, no build step.
"use strict";

const INLINE = JSON.parse(document.getElementById("tc-data").textContent || "null");
const REPORT = INLINE !== null;
const ROW = 24;
const app = document.getElementById("app");

// ---- data access: the API, or the inlined report ----------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || ("HTTP " + status));
    this.status = status;
    this.column = body && body.column;
  }
}

async function api(path) {
  if (REPORT) return reportApi(path);
  const response = await fetch("/api/v1" + path, { credentials: "same-origin" });
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function reportApi(path) {
  const [route] = path.split("?");
  let m;
  if (route === "/runs") {
    return { runs: INLINE.runs.map(runLine), dropped: 0 };
  }
  if ((m = route.match(/^\/runs\/(\d+)$/))) {
    const run = INLINE.runs.find((r) => String(r.id) === m[1]);
    if (!run) throw new ApiError(404, { error: "run " + m[1] + " not found" });
    return run;
  }
  if ((m = route.match(/^\/traces\/([0-9a-f]{32})$/))) {
    const trace = INLINE.traces[m[1]];
    if (!trace) throw new ApiError(404, { error: "trace " + m[1] + " is not in this report" });
    return trace;
  }
  if ((m = route.match(/^\/traces\/([0-9a-f]{32})\/analysis$/))) {
    for (const run of INLINE.runs) {
      for (const step of run.report.steps) {
        if (step.trace_id === m[1] && step.analyzer) return step.analyzer;
      }
    }
    throw new ApiError(404, { error: "the analyzer did not run on this trace" });
  }
  throw new ApiError(404, { error: "not available in a saved report: " + route });
}

function runLine(run) {
  const r = run.report;
  return {
    id: run.id, received_unix_ms: run.received_unix_ms, name: r.name, kind: r.kind, state: r.state,
    file: r.file, duration_ms: r.duration_ms,
    steps: r.steps.map((s) => ({ name: s.name, state: s.state, trace_id: s.trace_id })),
  };
}

// ---- helpers -------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(2)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Sets a node's children like h() does: arrays flattened, null skipped.
function fill(node, ...children) {
  node.replaceChildren();
  for (const child of children.flat(2)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function mount(...children) {
  for (const child of children.flat(2)) {
    if (child === null || child === undefined || child === false) continue;
    app.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function duration(nanos) {
  if (nanos < 1e3) return nanos + "ns";
  if (nanos < 1e6) return (nanos / 1e3).toFixed(1) + "µs";
  if (nanos < 1e9) return (nanos / 1e6).toFixed(1) + "ms";
  return (nanos / 1e9).toFixed(2) + "s";
}

function age(unixMs) {
  const seconds = Math.max(0, Math.round((Date.now() - unixMs) / 1000));
  if (seconds < 60) return seconds + "s ago";
  if (seconds < 3600) return Math.floor(seconds / 60) + "m ago";
  if (seconds < 86400) return Math.floor(seconds / 3600) + "h ago";
  return Math.floor(seconds / 86400) + "d ago";
}

function isoTime(nanos) {
  if (!nanos) return "";
  const ms = Math.floor(nanos / 1e6);
  return new Date(ms).toISOString().replace("Z", "") + String(nanos % 1e6).padStart(6, "0").slice(0, 3) + "Z";
}

function colour(service) {
  let hash = 0;
  for (const ch of service || "") hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return "hsl(" + (hash % 360) + ", 60%, 52%)";
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function kvTable(object) {
  const entries = Object.entries(object || {});
  if (entries.length === 0) return h("div", { class: "muted" }, "none");
  return h("table", { class: "kv" }, entries.map(([k, v]) =>
    h("tr", { "data-key": k }, h("td", {}, k), h("td", { class: "mono" }, typeof v === "string" ? v : JSON.stringify(v)))));
}

function stateClass(state) {
  return state === "PASSED" || state === "FINISHED" ? "ok" : state === "NOT_EXECUTED" ? "muted" : "err";
}

function parseHash() {
  const hash = location.hash.replace(/^#/, "") || (REPORT ? "/runs" : "/traces");
  const [path, query] = hash.split("?");
  return { parts: path.split("/").filter(Boolean), params: new URLSearchParams(query || "") };
}

// ---- live events ---------------------------------------------------------------------

const listeners = new Set();
if (!REPORT && window.EventSource) {
  const source = new EventSource("/api/v1/events");
  const live = document.getElementById("live");
  source.onopen = () => { live.hidden = false; };
  source.onerror = () => { live.hidden = true; };
  for (const type of ["trace.created", "trace.grown", "run.recorded"]) {
    source.addEventListener(type, (event) => {
      const data = JSON.parse(event.data);
      for (const listener of listeners) listener(type, data);
    });
  }
}

let cleanup = [];
function onEvent(listener) {
  listeners.add(listener);
  cleanup.push(() => listeners.delete(listener));
}

// ---- router --------------------------------------------------------------------------

async function route() {
  for (const undo of cleanup) undo();
  cleanup = [];
  const { parts, params } = parseHash();
  document.getElementById("nav-traces").hidden = REPORT;
  for (const id of ["nav-traces", "nav-runs"]) document.getElementById(id).classList.remove("active");
  app.replaceChildren();
  try {
    if (parts[0] === "trace" && parts[1]) await traceView(parts[1], params);
    else if (parts[0] === "run" && parts[1]) await runView(parts[1]);
    else if (parts[0] === "runs" || REPORT) await runsView();
    else await tracesView(params);
  } catch (error) {
    app.replaceChildren(h("p", { class: "err", id: "error" }, String(error.message || error)));
  }
}
window.addEventListener("hashchange", route);

// ---- traces list ---------------------------------------------------------------------

async function tracesView(params) {
  document.getElementById("nav-traces").classList.add("active");
  const service = h("input", { type: "search", id: "service-filter", placeholder: "service", value: params.get("service") || "" });
  const selector = h("input", { type: "search", id: "list-selector", class: "selector", placeholder: 'selector, e.g. span[tracetest.span.type="http"]', value: params.get("selector") || "" });
  const message = h("span", { class: "muted", id: "list-message" });
  const body = h("tbody", { id: "traces" });
  const more = h("button", { id: "more", hidden: true }, "More");
  mount(
    h("h1", {}, "Traces"),
    h("div", { class: "filters" }, service, selector, message),
    h("table", {}, h("thead", {}, h("tr", {},
      h("th", {}, "Root span"), h("th", {}, "Services"), h("th", {}, "Spans"),
      h("th", {}, "Duration"), h("th", {}, "Errors"), h("th", { class: "hide-narrow" }, "Age"))), body),
    more);
  let cursor = null;
  const loadedAt = new Map();

  async function load(append) {
    const query = new URLSearchParams();
    if (service.value.trim()) query.set("service", service.value.trim());
    if (selector.value.trim()) query.set("selector", selector.value.trim());
    if (append && cursor !== null) query.set("cursor", cursor);
    let page;
    try {
      page = await api("/traces?" + query);
    } catch (error) {
      selector.classList.toggle("bad", error.status === 400);
      message.textContent = error.message;
      message.className = "err";
      return;
    }
    selector.classList.remove("bad");
    message.className = "muted";
    message.textContent = selector.value.trim() ? page.traces.length + " traces match (" + page.scanned + " scanned)" : "";
    if (!append) body.replaceChildren();
    for (const trace of page.traces) {
      if (!loadedAt.has(trace.trace_id)) loadedAt.set(trace.trace_id, Date.now());
      const href = "#/trace/" + trace.trace_id + (selector.value.trim() ? "?selector=" + encodeURIComponent(selector.value.trim()) : "");
      body.append(h("tr", {
        class: "link", tabindex: 0, "data-trace-id": trace.trace_id,
        onclick: () => { location.hash = href; },
        onkeydown: (e) => { if (e.key === "Enter") location.hash = href; },
      },
      h("td", { class: "root-name" }, trace.root_name || h("span", { class: "muted" }, "(no name)"), h("div", { class: "muted mono" }, trace.trace_id.slice(0, 16))),
      h("td", {}, trace.services.map((s) => h("div", {}, h("span", { class: "swatch", style: "background:" + colour(s) }), s))),
      h("td", { class: "span-count" }, trace.span_count),
      h("td", {}, duration(trace.duration_nanos)),
      h("td", { class: trace.error_count ? "err" : "muted" }, trace.error_count),
      h("td", { class: "hide-narrow muted age", "data-start": Math.floor(trace.start_time_unix_nano / 1e6) }, age(Math.floor(trace.start_time_unix_nano / 1e6)))));
    }
    cursor = page.next_cursor;
    more.hidden = cursor === null || cursor === undefined;
  }

  const reload = debounce(() => load(false), 250);
  service.addEventListener("input", reload);
  selector.addEventListener("input", reload);
  more.addEventListener("click", () => load(true));
  onEvent((type) => { if (type.startsWith("trace.")) reload(); });
  const ticker = setInterval(() => {
    for (const cell of body.querySelectorAll(".age")) cell.textContent = age(Number(cell.dataset.start));
  }, 5000);
  cleanup.push(() => clearInterval(ticker));
  await load(false);
}

// ---- trace view ----------------------------------------------------------------------

async function traceView(traceId, params) {
  if (!REPORT) document.getElementById("nav-traces").classList.add("active");
  const trace = await api("/traces/" + traceId);
  const spans = trace.spans;
  const byId = new Map(spans.map((s, i) => [s.span_id, i]));
  const t0 = trace.start_time_unix_nano;
  const total = Math.max(1, trace.end_time_unix_nano - t0);
  const collapsed = new Set();
  let highlight = new Set();
  let results = new Map(); // span id -> [{passed, observed, expected, assertion}]
  let selected = -1;
  let visible = [];

  // A spec from a run: its matched spans and per-span verdicts.
  let banner = null;
  const runId = params.get("run");
  if (runId !== null) {
    const run = await api("/runs/" + runId);
    const step = run.report.steps[Number(params.get("step"))];
    const spec = step && step.specs[Number(params.get("spec"))];
    if (spec) {
      for (const assertion of spec.assertions) {
        for (const result of assertion.results) {
          if (!result.span_id) continue;
          highlight.add(result.span_id);
          if (!results.has(result.span_id)) results.set(result.span_id, []);
          results.get(result.span_id).push({ ...result, assertion: assertion.assertion });
        }
      }
      banner = h("div", { class: "banner", id: "spec-banner" },
        h("div", {}, h("strong", {}, spec.name || spec.selector), " ",
          h("span", { class: "badge " + (spec.passed ? "ok" : "err") }, spec.passed ? "passed" : "failed"), " ",
          h("span", { class: "muted" }, spec.matched_spans + " spans matched")),
        h("div", { class: "mono muted" }, spec.selector),
        h("div", {}, h("a", { href: "#/run/" + runId }, "back to run " + run.report.name)));
    }
  }

  const selectorBox = h("input", { type: "search", id: "trace-selector", class: "selector", placeholder: "selector: highlights the spans it selects", value: params.get("selector") || "", disabled: REPORT });
  const selectorMessage = h("span", { class: "muted", id: "selector-message" }, REPORT ? "selectors need a running server" : "");
  const inner = h("div", { class: "wf-inner" });
  const waterfall = h("div", { class: "waterfall", id: "waterfall", tabindex: 0, role: "tree", "aria-label": "span waterfall" }, inner);
  const panel = h("div", { class: "panel", id: "span-panel" }, h("div", { class: "muted" }, "Select a span (click, or arrows and Enter)."));
  const services = [...new Set(spans.map((s) => s.service))];

  mount(
    h("h1", {}, "Trace ", h("span", { class: "mono", id: "trace-id" }, trace.trace_id)),
    h("div", { class: "muted" }, spans.length + " spans · " + duration(total) + " · ",
      services.map((s) => h("span", {}, h("span", { class: "swatch", style: "background:" + colour(s) }), s + " "))),
    banner,
    h("div", { class: "filters" }, selectorBox, selectorMessage),
    h("div", { class: "layout" }, waterfall, panel),
    h("h2", {}, "Service map"), serviceMap(spans, byId),
    h("h2", {}, "Analyzer"), h("div", { id: "analysis" }, h("span", { class: "muted" }, "loading…")));

  function computeVisible() {
    visible = [];
    for (let i = 0; i < spans.length; i++) {
      visible.push(i);
      if (collapsed.has(i)) i = spans[i].subtree_end - 1;
    }
    inner.style.height = visible.length * ROW + "px";
  }

  function render() {
    const first = Math.max(0, Math.floor(waterfall.scrollTop / ROW) - 10);
    const last = Math.min(visible.length, first + Math.ceil(waterfall.clientHeight / ROW) + 20);
    const rows = [];
    for (let v = first; v < last; v++) rows.push(rowFor(visible[v], v));
    inner.replaceChildren(...rows);
  }

  function rowFor(i, position) {
    const span = spans[i];
    const hasChildren = span.subtree_end > i + 1;
    const isError = span.status.code === "error";
    const verdicts = results.get(span.span_id) || [];
    const width = Math.max(0.3, (span.duration_nanos / total) * 100);
    const left = Math.min(100 - width, ((span.start_time_unix_nano - t0) / total) * 100);
    const classes = ["row"];
    if (highlight.has(span.span_id)) classes.push("hl");
    if (i === selected) classes.push("selected");
    return h("div", {
      class: classes.join(" "), role: "treeitem", style: "top:" + position * ROW + "px",
      "data-index": i, "data-span-id": span.span_id, "data-depth": span.depth,
      "aria-expanded": hasChildren ? String(!collapsed.has(i)) : null,
      onclick: () => { select(i); openSpan(i); },
    },
    h("div", { class: "label", style: "padding-left:" + (4 + span.depth * 14) + "px" },
      h("span", { class: "toggle", onclick: (e) => { e.stopPropagation(); if (hasChildren) toggle(i); } }, hasChildren ? (collapsed.has(i) ? "▸" : "▾") : ""),
      h("span", { class: "swatch", style: "background:" + colour(span.service), title: span.service }),
      h("span", { class: "name" }, span.name),
      isError ? h("span", { class: "mark", title: "status error" }, "!") : null,
      verdicts.map((r) => h("span", { class: "result " + (r.passed ? "pass" : "fail"), title: r.assertion },
        (r.passed ? "✓ " : "✗ ") + (r.observed === null ? (r.error || "no value") : r.observed) +
        (r.expected !== undefined && r.expected !== null ? " (expected " + r.expected + ")" : "")))),
    h("div", { class: "track" }, h("div", { class: "bar" + (isError ? " error" : ""), title: duration(span.duration_nanos), style: "left:" + left + "%;width:" + width + "%;background:" + colour(span.service) })));
  }

  function toggle(i) {
    if (collapsed.has(i)) collapsed.delete(i); else collapsed.add(i);
    computeVisible();
    render();
  }

  function reveal(i) {
    // Expand every collapsed ancestor, then scroll the row into view.
    for (const c of [...collapsed]) if (c < i && spans[c].subtree_end > i) collapsed.delete(c);
    computeVisible();
    const position = visible.indexOf(i);
    if (position * ROW < waterfall.scrollTop) waterfall.scrollTop = position * ROW;
    else if ((position + 1) * ROW > waterfall.scrollTop + waterfall.clientHeight) waterfall.scrollTop = (position + 1) * ROW - waterfall.clientHeight;
    render();
  }

  function select(i) {
    selected = i;
    reveal(i);
  }

  function openSpan(i) {
    const s = spans[i];
    const verdicts = results.get(s.span_id) || [];
    fill(panel,
      h("h3", { id: "panel-name" }, s.name),
      h("table", { class: "kv" },
        h("tr", {}, h("td", {}, "span id"), h("td", { class: "mono" }, s.span_id)),
        h("tr", {}, h("td", {}, "parent id"), h("td", { class: "mono" }, s.parent_span_id || "none")),
        h("tr", {}, h("td", {}, "service"), h("td", {}, s.service)),
        h("tr", {}, h("td", {}, "kind"), h("td", {}, s.kind)),
        h("tr", {}, h("td", {}, "type"), h("td", {}, s.type)),
        h("tr", {}, h("td", {}, "status"), h("td", { class: s.status.code === "error" ? "err" : "" }, s.status.code + (s.status.message ? ": " + s.status.message : ""))),
        h("tr", {}, h("td", {}, "start"), h("td", { class: "mono" }, isoTime(s.start_time_unix_nano))),
        h("tr", {}, h("td", {}, "end"), h("td", { class: "mono" }, isoTime(s.end_time_unix_nano))),
        h("tr", {}, h("td", {}, "duration"), h("td", {}, duration(s.duration_nanos)))),
      verdicts.length ? h("div", {}, h("h3", {}, "Assertions on this span"), verdicts.map((r) =>
        h("div", { class: r.passed ? "ok" : "err" }, (r.passed ? "✓ " : "✗ ") + r.assertion + ": observed " + JSON.stringify(r.observed) +
          (r.expected !== undefined && r.expected !== null ? ", expected " + JSON.stringify(r.expected) : "") + (r.error ? " (" + r.error + ")" : "")))) : null,
      h("h3", {}, "Attributes (as selectors and assertions see them)"), h("div", { id: "panel-attributes" }, kvTable(s.language_attributes)),
      h("h3", {}, "Resource"), kvTable(s.resource.attributes),
      h("h3", {}, "Scope"), h("div", { class: "mono" }, (s.scope.name || "(unnamed)") + (s.scope.version ? " " + s.scope.version : "")), kvTable(s.scope.attributes),
      h("h3", {}, "Events"), s.events.length ? s.events.map((e) => h("div", {}, h("div", {}, e.name, " ", h("span", { class: "muted mono" }, isoTime(e.time_unix_nano))), kvTable(e.attributes))) : h("div", { class: "muted" }, "none"),
      h("h3", {}, "Links"), s.links.length ? s.links.map((l) => h("div", { class: "mono" }, l.trace_id + " / " + l.span_id, kvTable(l.attributes))) : h("div", { class: "muted" }, "none"));
  }

  waterfall.addEventListener("scroll", () => requestAnimationFrame(render));
  waterfall.addEventListener("keydown", (e) => {
    const position = visible.indexOf(selected);
    if (e.key === "ArrowDown") { select(visible[Math.min(visible.length - 1, position + 1)]); e.preventDefault(); }
    else if (e.key === "ArrowUp") { select(visible[Math.max(0, position - 1)]); e.preventDefault(); }
    else if (e.key === "ArrowLeft" && selected >= 0 && !collapsed.has(selected) && spans[selected].subtree_end > selected + 1) { toggle(selected); e.preventDefault(); }
    else if (e.key === "ArrowRight" && collapsed.has(selected)) { toggle(selected); e.preventDefault(); }
    else if (e.key === "Enter" && selected >= 0) { openSpan(selected); e.preventDefault(); }
  });

  async function runSelector() {
    const text = selectorBox.value.trim();
    if (!text) {
      highlight = new Set(results.keys());
      selectorBox.classList.remove("bad");
      selectorMessage.textContent = "";
      render();
      return;
    }
    try {
      const answer = await api("/traces/" + traceId + "/select?selector=" + encodeURIComponent(text));
      if (selectorBox.value.trim() !== text) return; // typed on since
      highlight = new Set(answer.matched_span_ids);
      selectorBox.classList.remove("bad");
      selectorMessage.className = "muted";
      selectorMessage.textContent = answer.matched_span_ids.length + " spans selected";
    } catch (error) {
      selectorBox.classList.add("bad");
      selectorMessage.className = "err";
      selectorMessage.textContent = error.message;
      return;
    }
    render();
  }
  if (!REPORT) selectorBox.addEventListener("input", debounce(runSelector, 120));

  computeVisible();
  render();
  if (selectorBox.value.trim() && !REPORT) await runSelector();
  const first = spans.findIndex((s) => highlight.has(s.span_id));
  if (first >= 0) { select(first); openSpan(first); }
  const wanted = params.get("span");
  if (wanted && byId.has(wanted)) { select(byId.get(wanted)); openSpan(byId.get(wanted)); }

  if (!REPORT) {
    onEvent((type, data) => {
      if (type === "trace.grown" && data.trace_id === traceId) {
        const note = document.getElementById("grown") || h("div", { id: "grown", class: "notice" });
        note.replaceChildren("This trace has grown to " + data.span_count + " spans. ", h("a", { href: "#", onclick: (e) => { e.preventDefault(); route(); } }, "Reload it"));
        app.prepend(note);
      }
    });
  }

  analysisSection(traceId, (spanId) => {
    if (!byId.has(spanId)) return;
    const i = byId.get(spanId);
    select(i);
    openSpan(i);
    waterfall.focus();
  });
}

function serviceMap(spans, byId) {
  const edges = new Map();
  const calls = new Map();
  for (const span of spans) {
    calls.set(span.service, (calls.get(span.service) || 0) + 1);
    const parent = span.tree_parent_id !== null && byId.has(span.tree_parent_id) ? spans[byId.get(span.tree_parent_id)] : null;
    if (!parent || parent.service === span.service) continue;
    const key = parent.service + "\u0000" + span.service;
    const edge = edges.get(key) || { from: parent.service, to: span.service, count: 0, errors: 0 };
    edge.count += 1;
    if (span.status.code === "error") edge.errors += 1;
    edges.set(key, edge);
  }
  // Layered layout: a service's column is its longest call depth from a root service.
  const services = [...calls.keys()];
  const level = new Map(services.map((s) => [s, 0]));
  for (let round = 0; round < services.length; round++) {
    for (const e of edges.values()) if (e.from !== e.to && level.get(e.to) < level.get(e.from) + 1 && level.get(e.from) + 1 < services.length) level.set(e.to, level.get(e.from) + 1);
  }
  const columns = new Map();
  for (const s of services) {
    const l = level.get(s);
    if (!columns.has(l)) columns.set(l, []);
    columns.get(l).push(s);
  }
  const nodeW = 150, nodeH = 44, gapX = 90, gapY = 30;
  const position = new Map();
  let height = 0;
  for (const [l, list] of columns) {
    list.forEach((s, row) => position.set(s, { x: 10 + l * (nodeW + gapX), y: 10 + row * (nodeH + gapY) }));
    height = Math.max(height, 20 + list.length * (nodeH + gapY));
  }
  const width = 20 + Math.max(1, columns.size) * (nodeW + gapX);
  const root = svg("svg", { viewBox: "0 0 " + width + " " + Math.max(height, 80), style: "max-width:" + width + "px", role: "img", "aria-label": "service map", id: "service-map" },
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerUnits: "userSpaceOnUse", markerWidth: 10, markerHeight: 10, orient: "auto-start-reverse" }, svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "gray" }))));
  for (const e of edges.values()) {
    const a = position.get(e.from), b = position.get(e.to);
    const x1 = a.x + nodeW, y1 = a.y + nodeH / 2, x2 = b.x, y2 = b.y + nodeH / 2;
    const backwards = x2 <= x1;
    const d = backwards
      ? "M " + (a.x + nodeW / 2) + " " + (a.y + nodeH) + " C " + (a.x + nodeW / 2) + " " + (a.y + nodeH + 40) + ", " + (b.x + nodeW / 2) + " " + (b.y + nodeH + 40) + ", " + (b.x + nodeW / 2) + " " + (b.y + nodeH)
      : "M " + x1 + " " + y1 + " C " + (x1 + 40) + " " + y1 + ", " + (x2 - 40) + " " + y2 + ", " + x2 + " " + y2;
    root.append(svg("g", { class: "edge-group", "data-from": e.from, "data-to": e.to, "data-count": e.count, "data-errors": e.errors },
      svg("path", { class: "edge" + (e.errors ? " error" : ""), d, "marker-end": "url(#arrow)", "stroke-width": Math.min(6, 1 + Math.log2(e.count)) }),
      svg("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, "text-anchor": "middle" }, e.count + (e.count === 1 ? " call" : " calls") + (e.errors ? ", " + e.errors + (e.errors === 1 ? " error" : " errors") : ""))));
  }
  for (const s of services) {
    const p = position.get(s);
    root.append(svg("g", { class: "node", "data-service": s },
      svg("rect", { x: p.x, y: p.y, width: nodeW, height: nodeH, rx: 6, fill: colour(s), opacity: 0.25, stroke: colour(s) }),
      svg("text", { x: p.x + nodeW / 2, y: p.y + 18, "text-anchor": "middle" }, s.length > 20 ? s.slice(0, 19) + "…" : (s || "(no service)")),
      svg("text", { x: p.x + nodeW / 2, y: p.y + 34, "text-anchor": "middle", class: "muted" }, calls.get(s) + " spans")));
  }
  return h("div", { class: "servicemap" }, root);
}

async function analysisSection(traceId, jump) {
  const target = document.getElementById("analysis");
  let result;
  try {
    result = await api("/traces/" + traceId + "/analysis");
  } catch (error) {
    target.replaceChildren(h("span", { class: "muted" }, error.message));
    return;
  }
  if (!result.enabled) {
    target.replaceChildren(h("span", { class: "muted" }, "The analyzer is disabled."));
    return;
  }
  const failed = [];
  for (const plugin of result.plugins) for (const rule of plugin.rules) if (!rule.passed) failed.push({ plugin, rule });
  target.replaceChildren(
    h("div", {}, "Score ", h("strong", { id: "analysis-score" }, result.score), " · ",
      h("span", { class: result.passed ? "ok" : "err" }, result.passed ? "passed" : "failed"),
      " · " + failed.length + " rules flagged spans"),
    h("ul", { class: "findings" }, failed.map(({ plugin, rule }) => h("li", {},
      h("strong", {}, rule.name), h("span", { class: "muted" }, " (" + plugin.name + ", " + rule.level + ")"),
      h("ul", {}, rule.results.filter((r) => !r.passed).slice(0, 50).map((r) => h("li", {},
        h("a", { href: "#", class: "flagged", "data-span-id": r.span_id, onclick: (e) => { e.preventDefault(); jump(r.span_id); } }, r.span_name || r.span_id),
        ": " + r.errors.map((f) => f.description || f.value).join("; "))))))));
}

// ---- runs ----------------------------------------------------------------------------

async function runsView() {
  document.getElementById("nav-runs").classList.add("active");
  const body = h("tbody", { id: "runs" });
  const note = h("div", { class: "muted" });
  mount(h("h1", {}, "Runs"), note,
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Name"), h("th", {}, "Kind"),
      h("th", {}, "State"), h("th", {}, "Steps"), h("th", { class: "hide-narrow" }, "File"), h("th", { class: "hide-narrow" }, "Received"))), body));
  async function load() {
    const page = await api("/runs");
    note.textContent = page.runs.length === 0 ? (REPORT ? "No runs." : "No runs recorded yet: `tracecheck run --server URL` records each file's run here.") : (page.dropped ? page.dropped + " older runs dropped (--max-runs)." : "");
    body.replaceChildren(...page.runs.map((run) => h("tr", {
      class: "link", tabindex: 0, "data-run-id": run.id,
      onclick: () => { location.hash = "#/run/" + run.id; },
      onkeydown: (e) => { if (e.key === "Enter") location.hash = "#/run/" + run.id; },
    },
    h("td", {}, run.id), h("td", { class: "run-name" }, run.name), h("td", {}, run.kind),
    h("td", { class: stateClass(run.state) }, run.state),
    h("td", {}, run.steps.map((s) => h("div", { class: stateClass(s.state) }, s.state + " " + s.name))),
    h("td", { class: "hide-narrow mono" }, run.file || ""), h("td", { class: "hide-narrow muted" }, run.received_unix_ms ? age(run.received_unix_ms) : ""))));
  }
  onEvent((type) => { if (type === "run.recorded") load(); });
  await load();
}

async function runView(runId) {
  document.getElementById("nav-runs").classList.add("active");
  const run = await api("/runs/" + runId);
  const report = run.report;
  mount(
    h("h1", {}, report.name, " ", h("span", { class: "badge " + stateClass(report.state) }, report.state)),
    h("div", { class: "muted" }, report.kind + (report.file ? " · " + report.file : "") + (report.duration_ms !== undefined ? " · " + report.duration_ms + " ms" : "")),
    report.steps.map((step, stepIndex) => h("section", { class: "step", "data-step": stepIndex },
      h("h2", {}, (stepIndex + 1) + ". " + step.name + " ", h("span", { class: "badge " + stateClass(step.state) }, step.state)),
      step.trace_id ? h("div", {}, "Trace ", h("a", { class: "mono", href: "#/trace/" + step.trace_id }, step.trace_id), h("span", { class: "muted" }, " · " + step.span_count + " spans")) : null,
      step.error ? h("div", { class: "err" }, step.error) : null,
      step.warnings && step.warnings.length ? h("ul", {}, step.warnings.map((w) => h("li", { class: "muted" }, w))) : null,
      step.specs.map((spec, specIndex) => {
        const href = step.trace_id ? "#/trace/" + step.trace_id + "?run=" + runId + "&step=" + stepIndex + "&spec=" + specIndex : null;
        return h("div", {
          class: "spec" + (href ? " clickable" : ""), tabindex: href ? 0 : null, "data-spec": specIndex, "data-passed": String(spec.passed),
          onclick: () => { if (href) location.hash = href; },
          onkeydown: (e) => { if (e.key === "Enter" && href) location.hash = href; },
        },
        h("div", {}, h("span", { class: spec.passed ? "ok" : "err" }, spec.passed ? "✓ " : "✗ "), h("strong", {}, spec.name || spec.selector), h("span", { class: "muted" }, " · " + spec.matched_spans + " spans")),
        h("div", { class: "mono muted" }, spec.selector),
        h("ul", {}, spec.assertions.map((a) => h("li", { class: a.passed ? "ok" : "err" }, h("span", { class: "mono" }, a.assertion),
          a.passed ? "" : ": " + a.results.filter((r) => !r.passed).map((r) => (r.span_id ? r.span_id.slice(0, 8) + " " : "") + "observed " + JSON.stringify(r.observed) + (r.expected !== undefined && r.expected !== null ? ", expected " + JSON.stringify(r.expected) : "") + (r.error ? " (" + r.error + ")" : "")).join("; ")))));
      }),
      Object.keys(step.outputs || {}).length ? h("div", {}, h("h3", {}, "Outputs"), kvTable(step.outputs)) : null)),
    Object.keys(report.variables || {}).length ? h("div", {}, h("h2", {}, "Variables"), kvTable(report.variables)) : null);
}

route();
