// A run's page: its steps, each step's trace, specs with their assertions, outputs and the
// run's variables. A spec opens the step's trace with that spec's spans highlighted.

import { add, byId, h, kvTable } from "./dom.js";
import { count, mark, stateClass, verdictLong } from "./format.js";
import { comparableRuns } from "./compare.js";
import { compareHash, traceHash, withParams } from "./route.js";

/**
 * @param {import("./main.js").Ctx} ctx
 * @param {string} runId
 */
export async function runView(ctx, runId) {
  byId("nav-runs").classList.add("active");
  const run = await ctx.source.getRun(runId);
  const report = run.report;
  // Other runs of the same test, whose steps' traces this run's can be compared with.
  const others = ctx.source.can.compare ? (await ctx.source.listRuns()).runs : [];
  /**
   * Links comparing the step's trace with the same step of the test's other runs (theirs A,
   * this run's B: what changed since).
   * @param {string} traceId
   * @param {number} stepIndex
   */
  const compareLinks = (traceId, stepIndex) => {
    const targets = comparableRuns(others, { id: run.id, name: report.name }, stepIndex)
      // The report holds the comparisons it offers, merged when it was written.
      .filter((other) => ctx.source.canDiff({ traceId: other.traceId, runId: other.id }, { traceId, runId }))
      .slice(0, 5);
    if (!targets.length) return null;
    return h("div", { class: "compare-with muted" }, "Compare with ", targets.map((other, k) => [k ? ", " : "",
      h("a", { class: "compare-run", "data-run-id": other.id, href: compareHash({ traceId: other.traceId, runId: other.id }, { traceId, runId }) }, "run " + other.id + " (" + other.state.toLowerCase() + ")")]));
  };
  document.title = report.name + " · run " + run.id + " · tracecheck";
  add(ctx.app,
    h("h1", {}, report.name, " ", h("span", { class: "badge " + stateClass(report.state) }, report.state)),
    h("div", { class: "muted" }, report.kind + (report.file ? " · " + report.file : "") + (report.duration_ms !== undefined ? " · " + report.duration_ms + " ms" : "")),
    report.steps.map((step, stepIndex) => h("section", { class: "step", "data-step": stepIndex },
      h("h2", {}, (stepIndex + 1) + ". " + step.name + " ", h("span", { class: "badge " + stateClass(step.state) }, step.state)),
      step.trace_id ? h("div", {}, "Trace ", h("a", { class: "mono step-trace", href: traceHash(step.trace_id, { run: runId }) }, step.trace_id), h("span", { class: "muted" }, " · " + count(step.span_count, "span"))) : null,
      step.trace_id ? compareLinks(step.trace_id, stepIndex) : null,
      step.error ? h("div", { class: "err" }, step.error) : null,
      step.warnings && step.warnings.length ? h("ul", {}, step.warnings.map((w) => h("li", { class: "muted" }, w))) : null,
      step.specs.map((spec, specIndex) => {
        const href = step.trace_id ? traceHash(step.trace_id, { run: runId, step: stepIndex, spec: specIndex }) : null;
        return h("div", {
          class: "spec" + (href ? " clickable" : ""), tabindex: href ? 0 : null, "data-spec": specIndex, "data-passed": String(spec.passed),
          onclick: () => { if (href) location.hash = href; },
          // Enter on the spec itself, not on a span link inside it.
          onkeydown: (/** @type {KeyboardEvent} */ e) => { if (e.key === "Enter" && href && e.target === e.currentTarget) location.hash = href; },
        },
        h("div", {}, h("span", { class: spec.passed ? "ok" : "err" }, mark(spec.passed)), h("strong", {}, spec.name || spec.selector), h("span", { class: "muted" }, " · " + count(spec.matched_spans, "span"))),
        h("div", { class: "mono muted" }, spec.selector),
        h("ul", {}, spec.assertions.map((a) => h("li", { class: a.passed ? "ok" : "err" }, h("span", { class: "mono" }, a.assertion),
          a.passed ? "" : [": ", ...a.results.filter((r) => !r.passed).flatMap((r, k) => [k ? "; " : "",
            // A failed span is a link to it in the spec's view (issue 21, defect 6).
            r.span_id && href ? h("a", { class: "mono failed-span", href: withParams(href, { span: r.span_id }), "data-span-id": r.span_id, onclick: (/** @type {Event} */ e) => e.stopPropagation() }, r.span_id.slice(0, 8)) : null,
            r.span_id && !href ? r.span_id.slice(0, 8) : null, " " + verdictLong(r)])]))));
      }),
      Object.keys(step.outputs || {}).length ? h("div", {}, h("h3", {}, "Outputs"), kvTable(step.outputs)) : null)),
    Object.keys(report.variables || {}).length ? h("div", {}, h("h2", {}, "Variables"), kvTable(report.variables)) : null);
}
