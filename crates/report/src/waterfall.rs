//! The span waterfall of `tracecheck traces get` (pretty output): one line per span in tree
//! order, indented by depth, with its service, its duration and a bar placed on the trace's
//! time span; error spans highlighted.
//!
//! It renders a [`Trace`] to a `String` and knows nothing of where the trace came from;
//! whether to colour is the caller's decision ([`super::style::use_colour`] answers it).

use std::collections::HashSet;
use std::fmt::Write as _;

use super::style::{Style, BOLD, DIM, RED};
use model::{Span, SpanId, StatusCode, Trace};

/// How to draw the waterfall.
#[derive(Clone, Debug)]
pub struct WaterfallOptions {
    /// ANSI colours (errors red, services dim).
    pub colour: bool,
    /// Characters of the time bar.
    pub bar_width: usize,
    /// Most characters of the indented name column.
    pub max_name_width: usize,
}

impl Default for WaterfallOptions {
    fn default() -> Self {
        WaterfallOptions { colour: false, bar_width: 40, max_name_width: 56 }
    }
}

/// `850 ns`, `12.3 µs`, `12.3 ms`, `1.23 s`.
pub fn format_duration_nanos(nanos: u64) -> String {
    let value = nanos as f64;
    match nanos {
        0..1_000 => format!("{nanos} ns"),
        1_000..1_000_000 => format!("{:.1} µs", value / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} ms", value / 1e6),
        _ => format!("{:.2} s", value / 1e9),
    }
}

/// One line of the waterfall before layout.
struct Row<'t> {
    span: &'t Span,
    /// Tree glyphs before the name (`├─ `, `│  └─ `).
    prefix: String,
    /// The parent is named but not in the trace.
    orphan: bool,
}

/// Spans in the order of the trace's span tree ([`model::SpanTree`]), each with the
/// glyphs of its place in it.
fn tree_rows(trace: &Trace) -> Vec<Row<'_>> {
    let tree = trace.tree();
    let nodes = tree.nodes();
    let dangling: HashSet<SpanId> = tree.dangling_parents().iter().copied().collect();
    let mut rows: Vec<Row<'_>> = Vec::with_capacity(nodes.len());
    // The current node's ancestors below the root, each with whether it is a last child:
    // they decide the glyphs of the columns before the node's own.
    let mut path: Vec<(usize, bool)> = Vec::new();
    for (at, node) in nodes.iter().enumerate() {
        let span = &*trace.spans[node.span];
        while path.last().is_some_and(|&(ancestor, _)| Some(ancestor) != node.parent) {
            path.pop();
        }
        let last = tree.is_last_child(at);
        let mut prefix = String::new();
        if node.depth > 0 {
            for &(_, ancestor_last) in &path {
                prefix.push_str(if ancestor_last { "   " } else { "│  " });
            }
            prefix.push_str(if last { "└─ " } else { "├─ " });
            path.push((at, last));
        }
        let orphan = span.parent_span_id.is_some_and(|parent| dangling.contains(&parent));
        rows.push(Row { span, prefix, orphan });
    }
    rows
}

/// Cuts `text` to at most `width` characters, marking the cut with `…`.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn pad(text: &str, width: usize) -> String {
    let n_chars = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(n_chars)))
}

/// The waterfall of a trace, ending in a newline.
pub fn render(trace: &Trace, options: &WaterfallOptions) -> String {
    let style = Style { colour: options.colour };
    let paint = |code: &str, text: &str| style.paint(code, text);
    let mut out = String::new();
    let (trace_start, trace_end) = trace.time_range().unwrap_or((0, 0));
    let total = trace_end - trace_start;
    let n_errors = trace.spans.iter().filter(|span| span.status.code == StatusCode::Error).count();
    let header = format!(
        "trace {}  {} span{}  {}{}",
        trace.trace_id,
        trace.spans.len(),
        if trace.spans.len() == 1 { "" } else { "s" },
        format_duration_nanos(total),
        match n_errors {
            0 => String::new(),
            1 => "  1 error".to_string(),
            n => format!("  {n} errors"),
        }
    );
    let _ = writeln!(out, "{}", paint(BOLD, &header));

    let rows = tree_rows(trace);
    let labels: Vec<String> = rows
        .iter()
        .map(|row| {
            let mut label = format!("{}{}", row.prefix, row.span.name);
            if row.orphan {
                if let Some(parent) = row.span.parent_span_id {
                    let _ = write!(label, " (parent {parent} missing)");
                }
            }
            truncate(&label, options.max_name_width)
        })
        .collect();
    let services: Vec<String> =
        rows.iter().map(|row| truncate(row.span.service_name().unwrap_or("-"), 24)).collect();
    let name_width = labels.iter().map(|label| label.chars().count()).max().unwrap_or(0);
    let service_width = services.iter().map(|service| service.chars().count()).max().unwrap_or(0);

    for ((row, label), service) in rows.iter().zip(&labels).zip(&services) {
        let span = row.span;
        let is_error = span.status.code == StatusCode::Error;
        let bar = bar(span, trace_start, total, options.bar_width);
        let name_cell = pad(label, name_width);
        let duration = format!("{:>9}", format_duration_nanos(span.duration_nanos()));
        let _ = write!(
            out,
            "{}  {}  {}  │{}│",
            if is_error { paint(RED, &name_cell) } else { name_cell },
            paint(DIM, &pad(service, service_width)),
            duration,
            if is_error { paint(RED, &bar) } else { bar },
        );
        if is_error {
            let message = if span.status.message.is_empty() {
                "error".to_string()
            } else {
                format!("error: {}", span.status.message)
            };
            let _ = write!(out, " {}", paint(RED, &format!("✗ {message}")));
        }
        out.push('\n');
    }
    super::style::terminal_safe(&out).into_owned()
}

/// The span's place on the trace's time span: spaces, then at least one `█`.
fn bar(span: &Span, trace_start: u64, total: u64, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let (offset, length) = if total == 0 {
        (0, width)
    } else {
        let scale = |nanos: u64| ((nanos as u128 * width as u128) / total as u128) as usize;
        let offset = scale(span.start_time_unix_nano.saturating_sub(trace_start)).min(width - 1);
        let length = scale(span.duration_nanos()).max(1).min(width - offset);
        (offset, length)
    };
    format!("{}{}{}", " ".repeat(offset), "█".repeat(length), " ".repeat(width - offset - length))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use model::{Span, SpanId, TraceId};

    fn span(id: u8, parent: Option<u8>, name: &str, start: u64, end: u64) -> Arc<Span> {
        let span = Span::new(TraceId([1; 16]), SpanId([id; 8]), name)
            .with_times(start, end)
            .with_resource_attribute("service.name", "api");
        Arc::new(match parent {
            Some(parent) => span.with_parent(SpanId([parent; 8])),
            None => span,
        })
    }

    #[test]
    fn tree_order_bars_and_errors() {
        let mut failing = (*span(3, Some(1), "db", 500, 1_000)).clone();
        failing.status = model::Status { code: StatusCode::Error, message: "timeout".into() };
        let trace = Trace::new(
            TraceId([1; 16]),
            vec![
                Arc::new(failing),
                span(1, None, "POST /users", 0, 1_000),
                span(2, Some(1), "validate", 0, 500),
                span(4, Some(2), "parse", 0, 100),
                span(5, Some(9), "lost", 0, 100),
            ],
        );
        let options = WaterfallOptions { colour: false, bar_width: 10, max_name_width: 56 };
        let text = render(&trace, &options);
        let expected = "\
trace 01010101010101010101010101010101  5 spans  1.0 µs  1 error
POST /users                             api     1.0 µs  │██████████│
├─ validate                             api     500 ns  │█████     │
│  └─ parse                             api     100 ns  │█         │
└─ db                                   api     500 ns  │     █████│ ✗ error: timeout
lost (parent 0909090909090909 missing)  api     100 ns  │█         │
";
        assert_eq!(text, expected, "\n{text}");
        let coloured = render(&trace, &WaterfallOptions { colour: true, ..options });
        assert!(coloured.contains("\x1b[31m└─ db"));
    }

    #[test]
    fn survives_cycles_and_empty_traces() {
        let trace = Trace::new(
            TraceId([1; 16]),
            vec![span(1, Some(2), "a", 0, 10), span(2, Some(1), "b", 0, 10), span(3, Some(3), "self", 0, 0)],
        );
        let text = render(&trace, &WaterfallOptions::default());
        assert_eq!(text.lines().count(), 4, "{text}");
        let empty = render(&Trace::new(TraceId([1; 16]), Vec::new()), &WaterfallOptions::default());
        assert_eq!(empty.lines().count(), 1);
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration_nanos(850), "850 ns");
        assert_eq!(format_duration_nanos(12_345), "12.3 µs");
        assert_eq!(format_duration_nanos(12_345_678), "12.3 ms");
        assert_eq!(format_duration_nanos(1_234_567_890), "1.23 s");
    }
}
