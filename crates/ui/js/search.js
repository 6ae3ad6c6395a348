// The traces list's search form as data: its fields (kept in the URL by their names), the
// "started" choices, and the list query they make. The server compiles the fields to one
// TraceQL query (`server::query::search::Filters`, as Tempo's and MCP's searches do), so
// nothing here interprets them. Pure.

/** The form's text fields, by URL parameter: service and selector, then the search's. */
export const FIELDS = /** @type {const} */ (["service", "selector", "operation", "tags", "min_duration", "max_duration", "since", "errors"]);

/** @typedef {Record<typeof FIELDS[number], string>} SearchFields */

/** The "started" choices: a lookback from now, as `since=` in the URL. */
export const SINCE_CHOICES = /** @type {const} */ ([
  ["", "any time"],
  ["5m", "in the last 5 minutes"],
  ["15m", "in the last 15 minutes"],
  ["1h", "in the last hour"],
  ["6h", "in the last 6 hours"],
  ["24h", "in the last 24 hours"],
]);

const UNIT_MS = /** @type {Record<string, number>} */ ({ m: 60_000, h: 3_600_000 });

/**
 * The lookback `since` names in milliseconds, or null (any time, or a value not offered).
 * @param {string} since
 * @returns {number | null}
 */
export function sinceMs(since) {
  if (!SINCE_CHOICES.some(([value]) => value === since) || since === "") return null;
  return Number(since.slice(0, -1)) * UNIT_MS[since.slice(-1)];
}

/**
 * The fields from URL parameters (absent ones empty).
 * @param {URLSearchParams} params
 * @returns {SearchFields}
 */
export function fieldsOf(params) {
  return /** @type {SearchFields} */ (Object.fromEntries(FIELDS.map((key) => [key, params.get(key) || ""])));
}

/**
 * The list query the fields make at time `now` (Unix ms).
 * @param {SearchFields} fields
 * @param {number} now
 * @returns {import("./data.js").ListQuery}
 */
export function listQuery(fields, now) {
  const lookback = sinceMs(fields.since);
  return {
    service: fields.service.trim(),
    selector: fields.selector.trim(),
    operation: fields.operation.trim(),
    tags: fields.tags.trim(),
    min_duration: fields.min_duration.trim(),
    max_duration: fields.max_duration.trim(),
    start: lookback === null ? null : now - lookback,
    errors: fields.errors === "1",
  };
}

/**
 * Whether the fields filter at all (the list then says how many traces it found).
 * @param {SearchFields} fields
 * @returns {boolean}
 */
export function filtering(fields) {
  return FIELDS.some((key) => fields[key].trim() !== "" && !(key === "errors" && fields[key] !== "1"));
}
