// Building DOM nodes: `h` for HTML elements, `svg` for SVG ones, and a key-value table.
// The only module besides the views that touches `document`.

import { valueText } from "./format.js";

/**
 * A child: a node, text, or a list of them, or of lists of them (JSDoc types cannot
 * recurse); null, undefined and false are skipped.
 * @typedef {Node | string | number | null | undefined | false} Leaf
 * @typedef {Leaf | Leaf[] | Leaf[][]} Child
 */

/**
 * Attribute values: `on*` keys take listeners; `class` sets the class name; `style` is
 * written through the CSSOM (a CSP drops style attributes); true is an
 * empty attribute; null, undefined and false leave the attribute out.
 * @typedef {Record<string, string | number | boolean | null | undefined | ((event: any) => void)>} Attrs
 */

/**
 * @param {Child[]} children
 * @returns {(Node | string)[]}
 */
function nodes(children) {
  /** @type {(Node | string)[]} */
  const out = [];
  /** @param {Child} child */
  const walk = (child) => {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) child.forEach(walk);
    else out.push(child instanceof Node ? child : String(child));
  };
  children.forEach(walk);
  return out;
}

/**
 * An HTML element.
 * @param {string} tag
 * @param {Attrs | null} attrs
 * @param {...Child} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = String(value);
    // Through the CSSOM: serve's Content-Security-Policy (style-src by hash) drops `style`
    // attributes, which left bars, swatches and indents unstyled; CSSOM writes are allowed.
    else if (key === "style") node.style.cssText = String(value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...nodes(children));
  return node;
}

/**
 * An SVG element.
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {...Child} children
 * @returns {SVGElement}
 */
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "style") /** @type {SVGElement} */ (node).style.cssText = String(value);
    else node.setAttribute(key, String(value));
  }
  node.append(...nodes(children));
  return node;
}

/**
 * Replaces a node's children.
 * @param {Element} node
 * @param {...Child} children
 */
export function fill(node, ...children) {
  node.replaceChildren(...nodes(children));
}

/**
 * Appends children to a node.
 * @param {Element} node
 * @param {...Child} children
 */
export function add(node, ...children) {
  node.append(...nodes(children));
}

/**
 * The element with this ID, which the page is known to have.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error("the page has no #" + id);
  return node;
}

/**
 * Keys and values as a table (a row per key, `data-key` on each), or "none".
 * @param {Record<string, unknown> | null | undefined} object
 * @returns {HTMLElement}
 */
export function kvTable(object) {
  const entries = Object.entries(object || {});
  if (entries.length === 0) return h("div", { class: "muted" }, "none");
  return h("table", { class: "kv" }, entries.map(([k, v]) =>
    h("tr", { "data-key": k }, h("td", {}, k), h("td", { class: "mono" }, valueText(v)))));
}

/**
 * A service's colour swatch.
 * @param {string} colour
 * @param {string} [title]
 * @returns {HTMLElement}
 */
export function swatch(colour, title) {
  return h("span", { class: "swatch", style: "background:" + colour, title });
}

/**
 * Calls `fn` once calls stop for `ms` milliseconds.
 * @template {unknown[]} A
 * @param {(...args: A) => void} fn
 * @param {number} ms
 * @returns {(...args: A) => void}
 */
export function debounce(fn, ms) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
