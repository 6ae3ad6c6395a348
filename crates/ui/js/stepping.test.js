import assert from "node:assert/strict";
import { test } from "node:test";

import { step, stepLabel, targetsOf } from "./stepping.js";

test("targets are the trace's spans in tree order, each once", () => {
  const index = new Map([["a", 0], ["b", 1], ["c", 2], ["d", 3]]);
  assert.deepEqual(targetsOf(["d", "b", "gone", "d"], index), [1, 3]);
  assert.deepEqual(targetsOf([], index), []);
});

test("next and previous wrap around and start from any span", () => {
  const targets = [2, 5, 9];
  assert.equal(step(targets, -1, 1), 2, "from no selection, the first");
  assert.equal(step(targets, -1, -1), 9, "from no selection, back to the last");
  assert.equal(step(targets, 2, 1), 5);
  assert.equal(step(targets, 9, 1), 2, "past the last, the first");
  assert.equal(step(targets, 2, -1), 9, "before the first, the last");
  assert.equal(step(targets, 6, 1), 9, "from a span between targets, the next one");
  assert.equal(step(targets, 6, -1), 5);
  assert.equal(step([], 3, 1), -1);
});

test("the label counts from one", () => {
  assert.equal(stepLabel([2, 5, 9], 5), "2 of 3");
  assert.equal(stepLabel([2, 5, 9], 4), "– of 3");
  assert.equal(stepLabel([], 4), "– of 0");
});
