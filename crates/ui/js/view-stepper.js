// A previous/next bar over a set of spans (matches, failures, findings) with "k of n":
// the waterfall's order and the arithmetic are stepping.js's, this draws the buttons.

import { h } from "./dom.js";
import { stepLabel } from "./stepping.js";

/**
 * @typedef {object} Stepper
 * @property {HTMLElement} element
 * @property {(targets: number[], selected: number) => void} update  what to step through, and where the selection is
 */

/**
 * @param {{id: string, what: string, key: string, onStep: (direction: 1 | -1) => void}} options
 *   `what` names the spans (plural), `key` the key that steps forward (with Shift, back)
 * @returns {Stepper}
 */
export function stepper({ id, what, key, onStep }) {
  const count = h("span", { class: "step-count", role: "status" });
  const button = (/** @type {1 | -1} */ direction) => h("button", {
    type: "button", class: direction === 1 ? "step-next" : "step-prev",
    "aria-label": (direction === 1 ? "next " : "previous ") + what + " (" + (direction === 1 ? key : "Shift+" + key.toUpperCase()) + ")",
    title: (direction === 1 ? "next" : "previous") + " (" + (direction === 1 ? key : "Shift+" + key.toUpperCase()) + ")",
    "aria-keyshortcuts": direction === 1 ? key : "Shift+" + key.toUpperCase(),
    onclick: () => onStep(direction),
  }, direction === 1 ? "▶" : "◀");
  const element = h("span", { class: "stepper", id, hidden: true }, h("span", { class: "step-what" }, what), button(-1), count, button(1));
  return {
    element,
    update(targets, selected) {
      element.hidden = targets.length === 0;
      count.textContent = stepLabel(targets, selected);
    },
  };
}
