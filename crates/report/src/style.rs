//! The one ANSI palette of every pretty output (the console report, the waterfall, the
//! trace table) and the one decision whether to use it.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_colour_for_a_file() {
        let file = tempfile::tempfile().unwrap();
        assert!(!use_colour(&file));
        assert_eq!(Style { colour: false }.paint(RED, "x"), "x");
        assert_eq!(Style { colour: true }.paint(RED, "x"), "\x1b[31mx\x1b[0m");
    }
}
