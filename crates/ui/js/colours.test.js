import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { PALETTE, contrast, serviceColours } from "./colours.js";

test("two services of one trace never share a colour (issue 21, defect 9)", () => {
  const pair = serviceColours(["frontend", "tracetest"]);
  assert.notEqual(pair.get("frontend"), pair.get("tracetest"));
  const many = Array.from({ length: PALETTE.length }, (_, k) => "service-" + k);
  assert.equal(new Set(serviceColours(many).values()).size, PALETTE.length);
  const more = serviceColours([...many, "one-more", "and-another"]);
  assert.equal(new Set(more.values()).size, PALETTE.length + 2, "past the palette, extra hues");
});

test("a service keeps its colour from trace to trace when nothing else takes it", () => {
  const alone = serviceColours(["checkout"]).get("checkout");
  assert.equal(serviceColours(["checkout", "checkout"]).get("checkout"), alone);
  assert.equal(serviceColours(["checkout"]).get("checkout"), alone, "the same every time");
  assert.ok(PALETTE.includes(/** @type {string} */ (alone)));
});

test("contrast ratios as WCAG computes them", () => {
  assert.equal(contrast("#000000", "#ffffff").toFixed(1), "21.0");
  assert.equal(contrast("#ffffff", "#ffffff"), 1);
  assert.equal(contrast("#dde3ea", "#ffffff").toFixed(2), "1.29", "the old input border");
});

/**
 * The custom properties of the first rule in `css` opening with `prefix`.
 * @param {string} css
 * @param {string} prefix
 * @returns {Record<string, string>}
 */
function variables(css, prefix) {
  const start = css.indexOf(prefix);
  const block = css.slice(css.indexOf("{", start + prefix.length) + 1, css.indexOf("}", start));
  return Object.fromEntries([...block.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6})/g)].map((m) => [m[1], m[2]]));
}

test("app.css meets WCAG contrast in both schemes (issue 21, defect 14)", () => {
  const css = readFileSync(new URL("../src/app.css", import.meta.url), "utf8");
  const light = variables(css, ":root");
  const dark = { ...light, ...variables(css, "@media (prefers-color-scheme: dark) {\n  :root") };
  /** @type {[string, Record<string, string>][]} */
  const schemes = [["light", light], ["dark", dark]];
  for (const [scheme, v] of schemes) {
    assert.ok(contrast(v["input-border"], v.bg) >= 3, scheme + ": input borders 3:1 on the background");
    assert.ok(contrast(v["input-border"], v.panel) >= 3, scheme + ": input borders 3:1 on a panel");
    assert.ok(contrast(v.err, v.hl) >= 4.5, scheme + ": red text 4.5:1 on a highlighted row");
    assert.ok(contrast(v.err, v.bg) >= 4.5, scheme + ": red text 4.5:1 on the background");
    assert.ok(contrast(v.fg, v.hl) >= 4.5, scheme + ": text 4.5:1 on a highlighted row");
    assert.ok(contrast(v.muted, v.bg) >= 4.5, scheme + ": muted text 4.5:1");
  }
});
