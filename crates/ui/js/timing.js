// When to call again: a throttle for work that events keep asking for (the live list's
// reload). Pure: the clock and timer are passed in (the browser's by default), so node
// tests drive it with a fake clock.

/**
 * A clock and a one-shot timer.
 * @typedef {object} Clock
 * @property {() => number} now  milliseconds
 * @property {(fn: () => void, ms: number) => unknown} setTimeout
 * @property {(timer: unknown) => void} clearTimeout
 */

/** @type {Clock} */
const SYSTEM_CLOCK = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(/** @type {ReturnType<typeof setTimeout>} */ (timer)),
};

/**
 * A call that runs `fn` at most once every `ms` milliseconds: the first call runs at once,
 * calls within `ms` of the last run become one run when the `ms` are up. Unlike a
 * debounce, which a call restarts, calls that keep coming (a trace every 100 ms) cannot
 * starve it: `fn` runs every `ms` while they last, and once after the last of them.
 * `cancel` drops a pending run (the page was left).
 * @param {() => void} fn
 * @param {number} ms
 * @param {Clock} [clock]
 * @returns {{(): void, cancel: () => void}}
 */
export function throttle(fn, ms, clock = SYSTEM_CLOCK) {
  let last = -Infinity;
  /** @type {unknown} */
  let timer = null;
  const run = () => {
    timer = null;
    last = clock.now();
    fn();
  };
  const call = () => {
    if (timer !== null) return;
    const wait = last + ms - clock.now();
    if (wait <= 0) run();
    else timer = clock.setTimeout(run, wait);
  };
  call.cancel = () => {
    if (timer !== null) clock.clearTimeout(timer);
    timer = null;
  };
  return call;
}
