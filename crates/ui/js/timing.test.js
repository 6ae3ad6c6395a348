import assert from "node:assert/strict";
import { test } from "node:test";

import { throttle } from "./timing.js";

/** A clock whose time moves only when the test says, firing timers as it passes them. */
function fakeClock() {
  let now = 0;
  /** @type {{at: number, fn: () => void, id: number}[]} */
  let timers = [];
  let ids = 0;
  return {
    now: () => now,
    /** @param {() => void} fn @param {number} ms */
    setTimeout(fn, ms) {
      timers.push({ at: now + ms, fn, id: ++ids });
      return ids;
    },
    /** @param {unknown} id */
    clearTimeout(id) {
      timers = timers.filter((t) => t.id !== id);
    },
    /** @param {number} ms */
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = until;
    },
  };
}

test("steady calls still run: issue 21, defect 5 (a debounce ran 0 times at 9.5/s)", () => {
  const clock = fakeClock();
  let runs = 0;
  const call = throttle(() => runs++, 1000, clock);
  // A call every 105 ms (9.5 a second) for 10 seconds.
  for (let t = 0; t < 10_000; t += 105) {
    call();
    clock.advance(105);
  }
  assert.ok(runs >= 10 && runs <= 11, "about one run a second, got " + runs);
});

test("the first call runs at once, a burst becomes one more run at the end", () => {
  const clock = fakeClock();
  let runs = 0;
  const call = throttle(() => runs++, 1000, clock);
  call();
  assert.equal(runs, 1);
  call();
  call();
  clock.advance(999);
  assert.equal(runs, 1);
  clock.advance(1);
  assert.equal(runs, 2, "the calls within the window ran once when it closed");
  clock.advance(5000);
  assert.equal(runs, 2, "no call, no run");
  call();
  assert.equal(runs, 3, "after a quiet window a call runs at once");
});

test("cancel drops the pending run", () => {
  const clock = fakeClock();
  let runs = 0;
  const call = throttle(() => runs++, 1000, clock);
  call();
  call();
  call.cancel();
  clock.advance(2000);
  assert.equal(runs, 1);
});
