//! What `tracecheck traces diff A B` prints: the merged tree of [`wire::TraceDiff`] with a
//! mark per row (`+` added in B, `-` missing from B, `~` slower, `!` failed, `✓` fixed)
//! and both durations, after a header naming both traces and the counts. `--output json`
//! prints the [`wire::TraceDiff`] itself (its format in `wire`'s documentation). Pure.

use super::style::{count, Style, DIM, GREEN, RED, YELLOW};
use super::waterfall::format_duration_nanos;
use wire::diff::{Change, DiffRow, TraceDiff};

/// The diff for people; coloured when `colour`, safe for a terminal (span names are the
/// sender's).
pub fn diff_pretty(diff: &TraceDiff, colour: bool) -> String {
    let style = Style { colour };
    let side = |label: &str, trace: &wire::diff::DiffTrace| {
        format!(
            "{label} {}  {}  {}  {}\n",
            trace.trace_id,
            if trace.root_name.is_empty() { "(no spans)" } else { &trace.root_name },
            count(trace.span_count, "span"),
            format_duration_nanos(trace.duration_nanos)
        )
    };
    let mut out = String::new();
    out.push_str(&side("A", &diff.a));
    out.push_str(&side("B", &diff.b));
    let counts = &diff.counts;
    out.push_str(&format!(
        "{} matched, {} added, {} missing, {} slower, {} failed, {} fixed\n\n",
        counts.matched, counts.added, counts.missing, counts.slower, counts.failed, counts.fixed
    ));
    if diff.rows.is_empty() {
        out.push_str("no spans in either trace\n");
        return out;
    }
    let width = diff.rows.iter().map(|row| label(row).chars().count()).max().unwrap_or(0).min(80);
    out.push_str(&style.paint(DIM, &format!("   {:<width$}  {:>10}  {:>10}\n", "SPAN", "A", "B")));
    for row in &diff.rows {
        let (mark, code) = mark(row);
        let text = label(row);
        let shown: String = text.chars().take(width).collect();
        let duration = |span: &Option<wire::diff::DiffSpan>| {
            span.as_ref().map_or_else(|| "-".to_string(), |span| format_duration_nanos(span.duration_nanos))
        };
        let line = format!("{mark} {shown:<width$}  {:>10}  {:>10}", duration(&row.a), duration(&row.b));
        out.push_str(&match code {
            Some(code) => style.paint(code, &line),
            None => line,
        });
        out.push('\n');
    }
    super::style::terminal_safe(&out).into_owned()
}

/// A row's indented `service: name`.
fn label(row: &DiffRow) -> String {
    let indent = "  ".repeat(row.depth as usize);
    if row.service.is_empty() {
        format!("{indent}{}", row.name)
    } else {
        format!("{indent}{}: {}", row.service, row.name)
    }
}

/// The row's mark and colour: what changed most (a failure before a slowdown).
fn mark(row: &DiffRow) -> (&'static str, Option<&'static str>) {
    match row.change {
        Change::Added if row.failed => ("+!", Some(RED)),
        Change::Added => ("+ ", Some(GREEN)),
        Change::Missing => ("- ", Some(RED)),
        Change::Matched if row.failed => ("! ", Some(RED)),
        Change::Matched if row.slower => ("~ ", Some(YELLOW)),
        Change::Matched if row.fixed => ("✓ ", Some(GREEN)),
        Change::Matched => ("  ", None),
    }
}

/// The diff as one line of JSON.
pub fn diff_json(diff: &TraceDiff) -> String {
    // Plain structs with string keys: serializing to a String cannot fail.
    serde_json::to_string(diff).unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{SpanId, TraceId};
    use wire::diff::{DiffCounts, DiffSpan, DiffTrace};

    fn row(
        depth: u32,
        name: &str,
        change: Change,
        a: Option<u64>,
        b: Option<u64>,
        flags: [bool; 3],
    ) -> DiffRow {
        let span = |nanos: u64| DiffSpan { span_id: SpanId([1; 8]), duration_nanos: nanos, error: false };
        DiffRow {
            depth,
            subtree_end: 0,
            name: name.to_string(),
            service: "api".to_string(),
            change,
            slower: flags[0],
            failed: flags[1],
            fixed: flags[2],
            a: a.map(span),
            b: b.map(span),
        }
    }

    #[test]
    fn rows_are_marked_and_both_durations_shown() {
        let trace = |id: u8, spans: usize| DiffTrace {
            trace_id: TraceId([id; 16]),
            root_name: "GET /cart".to_string(),
            span_count: spans,
            duration_nanos: 5_000_000,
        };
        let diff = TraceDiff {
            a: trace(0xaa, 3),
            b: trace(0xbb, 1),
            counts: DiffCounts { matched: 2, added: 1, missing: 1, slower: 1, failed: 1, fixed: 0 },
            rows: vec![
                row(0, "GET /cart", Change::Matched, Some(1_000_000), Some(5_000_000), [true, false, false]),
                row(1, "SELECT", Change::Matched, Some(2_000), Some(2_000), [false, true, false]),
                row(1, "cache", Change::Missing, Some(500), None, [false; 3]),
                row(1, "retry", Change::Added, None, Some(700), [false; 3]),
            ],
        };
        let text = diff_pretty(&diff, false);
        let expected = "\
A aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  GET /cart  3 spans  5.0 ms
B bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb  GET /cart  1 span  5.0 ms
2 matched, 1 added, 1 missing, 1 slower, 1 failed, 0 fixed

   SPAN                     A           B
~  api: GET /cart      1.0 ms      5.0 ms
!    api: SELECT       2.0 µs      2.0 µs
-    api: cache        500 ns           -
+    api: retry             -      700 ns
";
        assert_eq!(text, expected);
        let coloured = diff_pretty(&diff, true);
        assert!(coloured.contains(&format!("{YELLOW}~  api: GET /cart")), "{coloured}");
        assert!(diff_json(&diff).starts_with(r#"{"a":{"trace_id":"aaaa"#));
        // A span name cannot drive the terminal.
        let mut hostile = diff.clone();
        hostile.rows[0].name = "x\x1b]52;c;aGk=\x07".to_string();
        assert!(!diff_pretty(&hostile, false).contains('\x1b'));
    }
}
