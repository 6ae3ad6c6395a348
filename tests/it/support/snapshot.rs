//! What varies from run to run, replaced before an output is compared with its snapshot
//! (`insta`, snapshots in `tests/it/snapshots/`): trace and span IDs become `[trace-N]` and
//! `[span-N]`, numbered in order of first appearance so that the same ID reads the same
//! throughout; measured durations, ports and temporary paths become placeholders. What a
//! test decides (names, states, messages, counts, assertion texts) stays.

use std::collections::HashMap;

use regex::{Captures, Regex};

/// `text` with what varies replaced (see the module doc).
pub fn redact(text: &str) -> String {
    let mut text = text.to_string();
    for (kind, pattern) in [("trace", r"\b[0-9a-f]{32}\b"), ("span", r"\b[0-9a-f]{16}\b")] {
        let mut numbers: HashMap<String, usize> = HashMap::new();
        text = Regex::new(pattern)
            .expect("regex")
            .replace_all(&text, |captures: &Captures| {
                let next = numbers.len() + 1;
                let number = *numbers.entry(captures[0].to_string()).or_insert(next);
                format!("[{kind}-{number}]")
            })
            .into_owned();
    }
    let rules = [
        // Ports of listeners bound for the test.
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        // Temporary directories.
        (r"/tmp/[^/\s]+/", "[tmp]/"),
        // Measured durations: JSON, JUnit and the console's.
        (r#""duration_ms":\s*\d+"#, r#""duration_ms": "[ms]""#),
        (r#""last_span_to_verdict_us":\s*\d+"#, r#""last_span_to_verdict_us": "[us]""#),
        (r#"time="[0-9.]+""#, r#"time="[s]""#),
        (r"\(\d+ ms\)|\([0-9.]+ s\)", "([duration])"),
        (r" in [0-9.]+ m?s\b", " in [duration]"),
        // An observed span duration (the assertion's own bound stays).
        (r#""observed":\s*"[0-9.]+(ns|µs|us|ms|s)""#, r#""observed": "[duration]""#),
        (r"observed [0-9.]+(ns|µs|us|ms|s)\b", "observed [duration]"),
    ];
    for (pattern, replacement) in rules {
        text = Regex::new(pattern).expect("regex").replace_all(&text, replacement).into_owned();
    }
    text
}

/// A line of JSON laid out by [`pretty_json`] and redacted, for a snapshot.
pub fn redact_json(line: &str) -> String {
    redact(&pretty_json(line))
}

#[test]
fn ids_are_numbered_in_order_and_durations_replaced() {
    let text = "trace 0af7651916cd43dd8448eb211c80319c span b7ad6b7169203331 then \
                0af7651916cd43dd8448eb211c80319c at 127.0.0.1:4317 (612 ms) in 2.11 s time=\"0.612\"";
    assert_eq!(
        redact(text),
        "trace [trace-1] span [span-1] then [trace-1] at 127.0.0.1:[port] ([duration]) in [duration] time=\"[s]\""
    );
}

/// One line of JSON laid out one value a line, two spaces an indent, keys in the order the
/// binary wrote them (parsing into `serde_json::Value` would sort them).
pub fn pretty_json(line: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = line.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                if matches!(chars.peek(), Some('}' | ']')) {
                    out.push(chars.next().expect("peeked"));
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[test]
fn pretty_json_keeps_the_key_order() {
    assert_eq!(
        pretty_json(r#"{"b":1,"a":[],"c":{"s":"x,{\"y"},"d":[1,2]}"#),
        "{\n  \"b\": 1,\n  \"a\": [],\n  \"c\": {\n    \"s\": \"x,{\\\"y\"\n  },\n  \"d\": [\n    1,\n    2\n  ]\n}"
    );
}
