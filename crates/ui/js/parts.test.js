import assert from "node:assert/strict";
import { test } from "node:test";

import { neighbours, partLabel } from "./parts.js";

test("a part is named by its spans, counted from 1", () => {
  assert.equal(partLabel({ offset: 0, limit: 4096, total_span_count: 20000 }, 4096), "spans 1–4,096 of 20,000");
  assert.equal(partLabel({ offset: 16384, limit: 4096, total_span_count: 20000 }, 3616), "spans 16,385–20,000 of 20,000");
  assert.equal(partLabel({ offset: 30000, limit: 4096, total_span_count: 20000 }, 0), "no spans past 30,000 of 20,000");
});

test("the previous and next parts start a limit away, within the trace", () => {
  assert.deepEqual(neighbours({ offset: 0, limit: 4096, total_span_count: 20000 }), { previous: null, next: 4096, last: 16384 });
  assert.deepEqual(neighbours({ offset: 4096, limit: 4096, total_span_count: 20000 }), { previous: 0, next: 8192, last: 16384 });
  assert.deepEqual(neighbours({ offset: 16384, limit: 4096, total_span_count: 20000 }), { previous: 12288, next: null, last: 16384 });
  // An offset off the grid (typed in the URL) steps by the limit, never below 0.
  assert.deepEqual(neighbours({ offset: 100, limit: 4096, total_span_count: 20000 }), { previous: 0, next: 4196, last: 16384 });
  assert.deepEqual(neighbours({ offset: 0, limit: 4096, total_span_count: 4096 }), { previous: null, next: null, last: 0 });
  assert.deepEqual(neighbours({ offset: 0, limit: 4096, total_span_count: 0 }), { previous: null, next: null, last: 0 });
});
