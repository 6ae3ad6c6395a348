// The analyzer's findings on a trace: score, verdict, and each flagged span a click away.

import { fill, h } from "./dom.js";
import { failedRules, flaggedSpanIds } from "./model.js";

/**
 * Fills `target` with the analysis of `traceId`; `jump` selects a flagged span. Returns
 * the flagged spans' IDs (none when there is no analysis).
 * @param {import("./main.js").Ctx} ctx
 * @param {HTMLElement} target
 * @param {string} traceId
 * @param {import("./data.js").RunId} runId  the run whose view of the trace to analyze
 * @param {(spanId: string) => void} jump
 * @returns {Promise<string[]>}
 */
export async function analysisSection(ctx, target, traceId, runId, jump) {
  let result;
  try {
    result = await ctx.source.analysis(traceId, runId);
  } catch (error) {
    fill(target, h("span", { class: "muted" }, error instanceof Error ? error.message : String(error)));
    return [];
  }
  if (!result.enabled) {
    fill(target, h("span", { class: "muted" }, "The analyzer is disabled."));
    return [];
  }
  const failed = failedRules(result);
  fill(target,
    h("div", {}, "Score ", h("strong", { id: "analysis-score" }, result.score), " · ",
      h("span", { class: result.passed ? "ok" : "err" }, result.passed ? "passed" : "failed"),
      " · " + failed.length + " rules flagged spans"),
    h("ul", { class: "findings" }, failed.map(({ plugin, rule }) => h("li", {},
      h("strong", {}, rule.name), h("span", { class: "muted" }, " (" + plugin.name + ", " + rule.level + ")"),
      h("ul", {}, rule.results.filter((r) => !r.passed).slice(0, 50).map((r) => h("li", {},
        h("a", { href: "#", class: "flagged", "data-span-id": r.span_id, onclick: (/** @type {Event} */ e) => { e.preventDefault(); jump(r.span_id); } }, r.span_name || r.span_id),
        ": " + r.errors.map((f) => f.description || f.value).join("; "))))))));
  return flaggedSpanIds(result);
}
