// Stepping through a set of spans (a selector's matches, a spec's failures, the analyzer's
// findings) with previous/next, in the waterfall's order. Pure: span indexes in, span
// indexes and labels out.

/**
 * The spans of `ids` that the trace has, as indexes in tree order, each once.
 * @param {Iterable<string>} ids
 * @param {Map<string, number>} spanIndex  span ID to index
 * @returns {number[]}
 */
export function targetsOf(ids, spanIndex) {
  /** @type {Set<number>} */
  const indexes = new Set();
  for (const id of ids) {
    const i = spanIndex.get(id);
    if (i !== undefined) indexes.add(i);
  }
  return [...indexes].sort((a, b) => a - b);
}

/**
 * The target to go to from span `selected` (-1 for none): the first after it, or with
 * `direction` -1 the last before it, wrapping around at either end; -1 when there are none.
 * @param {number[]} targets  span indexes in tree order
 * @param {number} selected
 * @param {1 | -1} direction
 * @returns {number}
 */
export function step(targets, selected, direction) {
  if (targets.length === 0) return -1;
  if (direction === 1) return targets.find((i) => i > selected) ?? targets[0];
  for (let k = targets.length - 1; k >= 0; k--) {
    if (targets[k] < selected) return targets[k];
  }
  return targets[targets.length - 1];
}

/**
 * Where span `selected` is among the targets: `2 of 5`, or `– of 5` when it is none of them.
 * @param {number[]} targets
 * @param {number} selected
 * @returns {string}
 */
export function stepLabel(targets, selected) {
  const k = targets.indexOf(selected);
  return (k < 0 ? "–" : String(k + 1)) + " of " + targets.length;
}
