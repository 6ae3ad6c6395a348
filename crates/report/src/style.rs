//! The one ANSI palette of every pretty output (the console report, the waterfall, the
//! trace table) and the one decision whether to use it.

use std::borrow::Cow;
use std::io::IsTerminal;

pub(crate) const GREEN: &str = "\x1b[32m";
pub(crate) const RED: &str = "\x1b[31m";
pub(crate) const YELLOW: &str = "\x1b[33m";
pub(crate) const DIM: &str = "\x1b[2m";
pub(crate) const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Colour only for a terminal, and never when `NO_COLOR` is set to anything but the empty
/// string (<https://no-color.org>).
pub fn use_colour(stream: &impl IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// `1 span`, `3 spans`: a count with its noun in the number it needs (`noun` takes an `s`).
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Paints text with the palette, or leaves it as it is.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Style {
    pub colour: bool,
}

impl Style {
    pub(crate) fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// `text` made safe to print on a terminal: span names, attribute values and errors come
/// from whoever sent the trace or answered the trigger, and a control character there could
/// clear the screen, rewrite a line (CR, BS) or write the clipboard (OSC 52). Every C0
/// control but the line feed, DEL and every C1 control is written as `\u{..}`; the only
/// escape sequences kept are the palette's own colours (not SGR at large: `ESC [8m` hides
/// text).
/// Applied once, where pretty output is finished, so no renderer can forget it.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c != '\n' && (c.is_control());
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b' {
            if let Some(length) = sgr_length(rest) {
                out.push_str(&rest[..length]);
                rest = &rest[length..];
                continue;
            }
        }
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The length of the palette sequence `text` starts with, if it does.
fn sgr_length(text: &str) -> Option<usize> {
    [GREEN, RED, YELLOW, DIM, BOLD, RESET].iter().find(|code| text.starts_with(**code)).map(|code| code.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_safe_escapes_controls_but_keeps_colours_and_lines() {
        assert!(matches!(terminal_safe("plain ✓\nnext"), Cow::Borrowed(_)));
        // OSC 52 (clipboard write), screen clear, CR, BS, C1 CSI.
        let hostile = "a\x1b]52;c;aGk=\x07b\x1b[2Jc\rd\x08e\u{9b}31m";
        assert_eq!(terminal_safe(hostile), "a\\u{1b}]52;c;aGk=\\u{7}b\\u{1b}[2Jc\\u{d}d\\u{8}e\\u{9b}31m");
        assert_eq!(terminal_safe("\x1b[31mred\x1b[0m\t"), "\x1b[31mred\x1b[0m\\u{9}");
        assert_eq!(terminal_safe("\x1b[8mhidden"), "\\u{1b}[8mhidden");
    }

    #[test]
    fn no_colour_for_a_file() {
        let file = tempfile::tempfile().unwrap();
        assert!(!use_colour(&file));
        assert_eq!(Style { colour: false }.paint(RED, "x"), "x");
        assert_eq!(Style { colour: true }.paint(RED, "x"), "\x1b[31mx\x1b[0m");
    }
}
