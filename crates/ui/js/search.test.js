import assert from "node:assert/strict";
import { test } from "node:test";

import { fieldsOf, filtering, listQuery, sinceMs } from "./search.js";

test("the started choices are lookbacks in milliseconds", () => {
  assert.equal(sinceMs("5m"), 300_000);
  assert.equal(sinceMs("24h"), 86_400_000);
  assert.equal(sinceMs(""), null);
  assert.equal(sinceMs("7d"), null, "only what the form offers");
  assert.equal(sinceMs("h"), null);
});

test("the URL's fields make the list query", () => {
  const fields = fieldsOf(new URLSearchParams("service=api&operation=%20GET%20/x%20&tags=a%3D1&min_duration=100ms&since=1h&errors=1"));
  assert.deepEqual(fields, { service: "api", selector: "", operation: " GET /x ", tags: "a=1", min_duration: "100ms", max_duration: "", since: "1h", errors: "1" });
  assert.deepEqual(listQuery(fields, 10_000_000), {
    service: "api", selector: "", operation: "GET /x", tags: "a=1", min_duration: "100ms", max_duration: "", start: 10_000_000 - 3_600_000, errors: true,
  });
  assert.ok(filtering(fields));
  const none = fieldsOf(new URLSearchParams("errors=0"));
  assert.equal(listQuery(none, 5).start, null);
  assert.equal(listQuery(none, 5).errors, false);
  assert.equal(filtering(none), false);
});
