// The JSON the UI reads: the web API's answers (crates/server/src/web/) and the HTML
// report's inline data (crates/tracecheck/src/cli/html.rs), which holds the same objects.
// Types only: other modules refer to them as `import("./types.js").Name` in JSDoc, so this
// file is never part of the page.
//
// Checked against the server: tests/it/ui_api.rs takes real answers and holds them to
// every typedef here, field by field (a missing, extra or renamed field, or a value of
// another JS type, fails), and `tsc --checkJs` holds the modules to these types. Keep one
// `@typedef` per shape with one `@property {TYPE} name` per line; TYPE is `string`,
// `number`, `boolean`, `null`, `unknown`, a `"literal"`, another typedef, `T[]`,
// `Object<string, T>` or a union of those with `|`; `[name]` is a field that may be absent.

/**
 * An error answer (status 400, 404 or 500).
 * @typedef {object} ApiErrorBody
 * @property {string} error
 * @property {number | null} column  the column of a bad selector, else null
 */

/**
 * A line of the traces list.
 * @typedef {object} TraceSummary
 * @property {string} trace_id
 * @property {string} root_name
 * @property {string} service_name  the root span's service
 * @property {string[]} services
 * @property {number} span_count
 * @property {number} error_count
 * @property {number} start_time_unix_nano
 * @property {number} duration_nanos
 * @property {string[]} [matched_span_ids]  with `selector=`: the spans it selects
 */

/**
 * `GET /api/v1/traces`: newest first.
 * @typedef {object} TraceList
 * @property {TraceSummary[]} traces
 * @property {number | null} next_cursor  where the next page starts; null at the end
 * @property {number} scanned  how many traces this page decoded
 */

/**
 * `GET /api/v1/traces/{id}`: spans in Tracetest's tree order.
 * @typedef {object} Trace
 * @property {string} trace_id
 * @property {number} span_count
 * @property {number} start_time_unix_nano
 * @property {number} end_time_unix_nano
 * @property {Span[]} spans
 * @property {TracePart} [part]  set when the spans are one part of a trace too large to read
 *   whole (`?offset=&limit=`), laid out as a tree of their own
 */

/**
 * Which part of a trace a Trace holds: spans `offset..offset + spans.length` in the order
 * they arrived, of `total_span_count`; the next part starts at `offset + limit`.
 * @typedef {object} TracePart
 * @property {number} offset
 * @property {number} limit
 * @property {number} total_span_count
 */

/**
 * One span at its place in the tree: its subtree is the index range [i, subtree_end).
 * @typedef {object} Span
 * @property {string} span_id
 * @property {string | null} parent_span_id
 * @property {string | null} tree_parent_id  the parent in the tree (null for a root or an orphan)
 * @property {number} depth
 * @property {number} subtree_end
 * @property {string} name
 * @property {string} service
 * @property {string} kind
 * @property {string} type
 * @property {SpanStatus} status
 * @property {number} start_time_unix_nano
 * @property {number} end_time_unix_nano
 * @property {number} duration_nanos
 * @property {Attributes} attributes
 * @property {Object<string, string>} language_attributes  every attribute as selectors see it
 * @property {Resource} resource
 * @property {Scope} scope
 * @property {SpanEvent[]} events
 * @property {SpanLink[]} links
 */

/**
 * @typedef {object} SpanStatus
 * @property {"unset" | "ok" | "error"} code
 * @property {string} message
 */

/**
 * A typed attribute value: arrays and maps nested (their items any value; JSDoc types
 * cannot recurse), bytes as hex, an empty value null.
 * @typedef {string | number | boolean | null | unknown[] | Object<string, unknown>} AttributeValue
 */

/** @typedef {Object<string, AttributeValue>} Attributes */

/**
 * @typedef {object} Resource
 * @property {Attributes} attributes
 */

/**
 * @typedef {object} Scope
 * @property {string} name
 * @property {string} version
 * @property {Attributes} attributes
 */

/**
 * @typedef {object} SpanEvent
 * @property {string} name
 * @property {number} time_unix_nano
 * @property {Attributes} attributes
 */

/**
 * @typedef {object} SpanLink
 * @property {string} trace_id
 * @property {string} span_id
 * @property {Attributes} attributes
 */

/**
 * `GET /api/v1/traces/{id}/select?selector=S`.
 * @typedef {object} Selection
 * @property {string} selector
 * @property {string[]} matched_span_ids
 */

/**
 * The analyzer's verdict on a trace (`GET /api/v1/traces/{id}/analysis`, a step's `analyzer`).
 * @typedef {object} AnalyzerResult
 * @property {boolean} enabled
 * @property {number} score
 * @property {number} minimum_score
 * @property {boolean} passed
 * @property {PluginResult[]} plugins
 */

/**
 * @typedef {object} PluginResult
 * @property {string} id
 * @property {string} name
 * @property {number} score
 * @property {boolean} passed
 * @property {RuleResult[]} rules
 */

/**
 * @typedef {object} RuleResult
 * @property {string} id
 * @property {string} name
 * @property {string} level
 * @property {number} weight
 * @property {boolean} passed
 * @property {RuleSpanResult[]} results
 */

/**
 * @typedef {object} RuleSpanResult
 * @property {string} span_id
 * @property {string} span_name
 * @property {boolean} passed
 * @property {Finding[]} errors
 */

/**
 * @typedef {object} Finding
 * @property {string} value
 * @property {string | null} expected
 * @property {string} description
 */

/**
 * @typedef {object} GateResult
 * @property {string[]} required
 * @property {string[]} failed
 * @property {boolean} passed
 */

/** @typedef {"FINISHED" | "FAILED"} RunState */

/** @typedef {"PASSED" | "FAILED" | "ERROR" | "NOT_EXECUTED"} StepState */

/** @typedef {"Test" | "Transaction" | "TestSuite"} RunKind */

/**
 * A run's JSON report, as `run -o json` prints it.
 * @typedef {object} RunReport
 * @property {string} name
 * @property {RunKind} kind
 * @property {RunState} state
 * @property {StepReport[]} steps
 * @property {Object<string, string>} variables
 * @property {string} [file]
 * @property {number} [duration_ms]
 */

/**
 * @typedef {object} StepReport
 * @property {string} name
 * @property {StepState} state
 * @property {string | null} error
 * @property {string | null} trace_id
 * @property {number} span_count
 * @property {SpecReport[]} specs
 * @property {Object<string, string>} outputs
 * @property {string[]} warnings
 * @property {number} [duration_ms]
 * @property {number} [last_span_to_verdict_us] from the trace's last span to the verdict
 * @property {AnalyzerResult} [analyzer]
 * @property {GateResult} [gates]
 */

/**
 * @typedef {object} SpecReport
 * @property {string} selector
 * @property {string | null} name
 * @property {boolean} passed
 * @property {number} matched_spans
 * @property {AssertionReport[]} assertions
 */

/**
 * @typedef {object} AssertionReport
 * @property {string} assertion
 * @property {boolean} passed
 * @property {SpanResult[]} results
 */

/**
 * An assertion's outcome on one span.
 * @typedef {object} SpanResult
 * @property {string | null} span_id
 * @property {string | null} observed
 * @property {string | null} expected
 * @property {boolean} passed
 * @property {string | null} error
 * @property {string | null} [comparator]  the assertion's (`<`, `!=`...); `expected` reads with it
 */

/**
 * `GET /api/v1/runs/{id}`, and each run of the HTML report.
 * @typedef {object} Run
 * @property {number} id
 * @property {number} received_unix_ms
 * @property {RunReport} report
 */

/**
 * A line of the runs list.
 * @typedef {object} RunLine
 * @property {number} id
 * @property {number} received_unix_ms
 * @property {string} name
 * @property {RunKind} kind
 * @property {RunState} state
 * @property {string | null} file
 * @property {number | null} duration_ms
 * @property {RunLineStep[]} steps
 */

/**
 * @typedef {object} RunLineStep
 * @property {string} name
 * @property {StepState} state
 * @property {string | null} trace_id
 */

/**
 * `GET /api/v1/runs`: newest first.
 * @typedef {object} RunList
 * @property {RunLine[]} runs
 * @property {number} dropped  runs dropped above `--max-runs`
 */

/**
 * The data of `trace.created` and `trace.grown` events on `/api/v1/events`.
 * @typedef {object} TraceEvent
 * @property {string} trace_id
 * @property {number} span_count
 */

/**
 * The data of a `run.recorded` event.
 * @typedef {object} RunEvent
 * @property {number} id
 * @property {string} name
 * @property {RunState} state
 */

/**
 * `GET /api/v1/diff?a=A&b=B`: two traces as one merged tree (wire::diff), rows in its
 * depth-first order.
 * @typedef {object} TraceDiff
 * @property {DiffTrace} a
 * @property {DiffTrace} b
 * @property {DiffCounts} counts
 * @property {DiffRow[]} rows
 */

/**
 * @typedef {object} DiffTrace
 * @property {string} trace_id
 * @property {string} root_name
 * @property {number} span_count
 * @property {number} duration_nanos
 */

/**
 * @typedef {object} DiffCounts
 * @property {number} matched
 * @property {number} added
 * @property {number} missing
 * @property {number} slower
 * @property {number} failed
 * @property {number} fixed
 */

/**
 * One span of the merged tree: its subtree is the row range [i, subtree_end).
 * @typedef {object} DiffRow
 * @property {number} depth
 * @property {number} subtree_end
 * @property {string} name
 * @property {string} service
 * @property {"matched" | "added" | "missing"} change
 * @property {boolean} slower
 * @property {boolean} failed
 * @property {boolean} fixed
 * @property {DiffSpan | null} a
 * @property {DiffSpan | null} b
 */

/**
 * @typedef {object} DiffSpan
 * @property {string} span_id
 * @property {number} duration_nanos
 * @property {boolean} error
 */

/**
 * One link of Jaeger's `GET /jaeger/api/dependencies` (its `data`): calls from `parent`'s
 * spans to `child`'s over the stored traces.
 * @typedef {object} Dependency
 * @property {string} parent
 * @property {string} child
 * @property {number} callCount
 */

/**
 * The HTML report's inline data (`<script id="tc-data">`).
 * @typedef {object} InlineData
 * @property {Run[]} runs
 * @property {RunList} run_list  the run lines, newest first, as `GET /api/v1/runs` answers
 * @property {Object<string, Trace>} traces  by trace ID
 * @property {TraceDiff[]} [diffs]  the comparisons the run pages offer (B a run's step, A the
 *   same step of another run of the same test), merged when the report was written
 */

export {};
