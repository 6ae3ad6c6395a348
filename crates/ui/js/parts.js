// A trace too large for the server to read whole opens in parts (`?offset=N`): the spans
// `offset..offset + limit` in the order they arrived, each part a tree of its own. What a
// part is called and where the previous and next ones start. Pure.

/** @typedef {import("./types.js").TracePart} TracePart */

/**
 * "spans 4,097–8,192 of 20,000" (1-based and inclusive, as people count).
 * @param {TracePart} part
 * @param {number} nSpans  the spans the part holds
 * @returns {string}
 */
export function partLabel(part, nSpans) {
  const n = (/** @type {number} */ x) => x.toLocaleString("en");
  if (nSpans === 0) return "no spans past " + n(part.offset) + " of " + n(part.total_span_count);
  return "spans " + n(part.offset + 1) + "–" + n(part.offset + nSpans) + " of " + n(part.total_span_count);
}

/**
 * The offsets of the part before and after this one (null: none), and of the last part.
 * @param {TracePart} part
 * @returns {{previous: number | null, next: number | null, last: number}}
 */
export function neighbours(part) {
  const limit = Math.max(1, part.limit);
  const last = Math.max(0, Math.floor((part.total_span_count - 1) / limit) * limit);
  return {
    previous: part.offset > 0 ? Math.max(0, part.offset - limit) : null,
    next: part.offset + limit < part.total_span_count ? part.offset + limit : null,
    last,
  };
}
