//! Calendar dates of Unix times, for every place that prints one (the selector language's
//! RFC 3339 times, the trace table's start column), and Go's duration syntax, for every
//! place that reads one (a PollingProfile's durations, the query APIs' parameters).

use std::time::Duration;

/// (year, month, day, hour, minute, second) in UTC of Unix seconds (Howard Hinnant's
/// days-to-civil algorithm).
pub fn civil_from_unix(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, (rem / 3600) as u32, (rem % 3600 / 60) as u32, (rem % 60) as u32)
}

/// Go's `time.ParseDuration`, for durations that are not negative: `0`, or a sequence of
/// decimal numbers, each with an optional fraction and a unit (`ns`, `us`, `µs` (U+00B5),
/// `μs` (U+03BC), `ms`, `s`, `m`, `h`), such as `300ms`, `1.5h` or `1m30s`, with an optional
/// leading `+` (`-` only before a zero). Exact to the nanosecond; digits of a fraction past
/// that are cut, as Go cuts them.
///
/// `None` for anything else: a number without a unit (`5`), an unknown unit, a space, a
/// negative duration, or one past Go's limit (`i64::MAX` nanoseconds, about 292 years).
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    const UNITS: [(&str, u128); 8] = [
        ("ns", 1),
        ("us", 1_000),
        ("\u{b5}s", 1_000),
        ("\u{3bc}s", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
    ];
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let limit = i64::MAX as u128;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let whole_len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let whole = &rest[..whole_len];
        rest = &rest[whole_len..];
        let fraction = match rest.strip_prefix('.') {
            Some(after) => {
                let len = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
                rest = &after[len..];
                &after[..len]
            }
            None => "",
        };
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        let unit_len = rest.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let (_, nanos) = UNITS.iter().find(|(name, _)| *name == unit)?;
        // A whole part past the limit in any unit is past it; the digits' value is exact.
        let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().ok().filter(|n| *n <= limit)? };
        let mut part = whole * nanos;
        // The fraction's nanoseconds, from its first digits (19 are more than a unit of
        // hours needs to reach a nanosecond), cut down to whole ones.
        let digits = &fraction[..fraction.len().min(19)];
        if !digits.is_empty() {
            let numerator: u128 = digits.parse().ok()?;
            part += numerator * nanos / 10u128.pow(digits.len() as u32);
        }
        total += part;
        if total > limit {
            return None;
        }
    }
    if negative && total != 0 {
        return None;
    }
    Some(Duration::from_nanos(u64::try_from(total).ok()?))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{civil_from_unix, parse_go_duration};

    #[test]
    fn dates() {
        assert_eq!(civil_from_unix(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_from_unix(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil_from_unix(1_700_000_000), (2023, 11, 14, 22, 13, 20));
        assert_eq!(civil_from_unix(-1), (1969, 12, 31, 23, 59, 59));
    }

    #[test]
    fn go_durations_as_go_parses_them() {
        let ok = |text: &str, nanos: u64| {
            assert_eq!(parse_go_duration(text), Some(Duration::from_nanos(nanos)), "{text}")
        };
        ok("0", 0);
        ok("+0", 0);
        ok("-0", 0);
        ok("0s", 0);
        ok("5s", 5_000_000_000);
        ok("+5s", 5_000_000_000);
        ok("500ms", 500_000_000);
        ok("1.5h", 5_400_000_000_000);
        ok("1m30s", 90_000_000_000);
        ok("2h45m", 9_900_000_000_000);
        ok("1h1m1s1ms1us1ns", 3_661_001_001_001);
        ok("10us", 10_000);
        ok("10\u{b5}s", 10_000);
        ok("10\u{3bc}s", 10_000);
        ok("7ns", 7);
        ok(".5s", 500_000_000);
        ok("1.s", 1_000_000_000);
        ok("1.1s", 1_100_000_000);
        ok("0.3333333333333333333333s", 333_333_333);
        ok("1.0000000001s", 1_000_000_000);
        ok("2562047h47m16.854775807s", i64::MAX as u64);
        for refused in [
            "",
            "5",
            "5 s",
            " 5s",
            "5s ",
            "ten",
            "s",
            ".s",
            ".",
            "-5s",
            "1e3s",
            "5sec",
            "5S",
            "1.2.3s",
            "5d",
            "+",
            "-",
            "2562047h47m16.854775808s",
            "9999999999999999999999h",
        ] {
            assert_eq!(parse_go_duration(refused), None, "{refused:?}");
        }
    }
}
