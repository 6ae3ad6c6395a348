// Service colours and colour contrast. Pure.
//
// A trace's services get colours from one palette of distinct hues, assigned so that no
// two services of the trace share one (issue 21: `frontend` and `tracetest` hashed to the
// same pink). Each service prefers the slot its name hashes to, so it keeps its colour
// from trace to trace unless another service of the same trace holds that slot.

/**
 * Twelve hues far enough apart to tell apart side by side, none of them the error red;
 * all readable as bars on the light and the dark background.
 */
export const PALETTE = [
  "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948",
  "#9c755f", "#ff9da7", "#17becf", "#bcbd22", "#8c6bb1", "#d37295",
];

/**
 * @param {string} name
 * @returns {number}
 */
function hash(name) {
  let value = 0;
  for (const ch of name) value = (value * 31 + ch.charCodeAt(0)) >>> 0;
  return value;
}

/**
 * Colours for a trace's services (or any set shown together): distinct while there are
 * no more services than [`PALETTE`] has colours; past that, extra hues spaced by the
 * golden angle.
 * @param {Iterable<string>} services
 * @returns {Map<string, string>}
 */
export function serviceColours(services) {
  const names = [...new Set(services)].sort();
  /** @type {Map<string, string>} */
  const colours = new Map();
  /** @type {Set<number>} */
  const taken = new Set();
  let extra = 0;
  for (const name of names) {
    if (taken.size === PALETTE.length) {
      colours.set(name, "hsl(" + Math.round((extra++ * 137.508) % 360) + ", 55%, 55%)");
      continue;
    }
    let slot = hash(name) % PALETTE.length;
    while (taken.has(slot)) slot = (slot + 1) % PALETTE.length;
    taken.add(slot);
    colours.set(name, PALETTE[slot]);
  }
  return colours;
}

/**
 * The WCAG contrast ratio of two `#rrggbb` colours (1 to 21).
 * @param {string} a
 * @param {string} b
 * @returns {number}
 */
export function contrast(a, b) {
  const [la, lb] = [luminance(a), luminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/**
 * @param {string} hex
 * @returns {number}
 */
function luminance(hex) {
  const channel = (/** @type {number} */ at) => {
    const c = parseInt(hex.slice(at, at + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}
