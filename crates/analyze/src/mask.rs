//! Secret masking for findings (the AQ-11 fix). Tracetest copies a leaked API key into the
//! finding that reports it, and so into every report and CI log; tracecheck replaces
//! secrets with `****` before a value enters a description.
//!
//! Two helpers: [`mask_secret`] for a value that is a secret as a whole (a header value),
//! keeping only a leading authentication scheme such as `Bearer`; and [`mask_credentials`]
//! for values that may embed one (URLs, connection strings): the password of a URL's user
//! info and the values of secret-looking `key=value` parameters.

use std::borrow::Cow;

/// What replaces a secret.
pub const MASK: &str = "****";

/// Parameter names whose values are secrets (compared ASCII case-insensitively).
const SECRET_PARAMETERS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "api_key",
    "api-key",
    "apikey",
    "x-api-key",
    "key",
    "sig",
    "signature",
    "auth",
    "authorization",
    "sharedaccesskey",
    "accountkey",
];

/// A whole-secret value: `Bearer abc.def` becomes `Bearer ****`, anything else `****`.
pub fn mask_secret(value: &str) -> String {
    if let Some((scheme, rest)) = value.split_once(' ') {
        if !scheme.is_empty() && !rest.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphabetic()) {
            return format!("{scheme} {MASK}");
        }
    }
    MASK.to_string()
}

/// A value that may embed credentials, with them masked; borrowed when there are none.
pub fn mask_credentials(value: &str) -> Cow<'_, str> {
    let mut masked = Cow::Borrowed(value);
    if let Some(range) = userinfo_password(value) {
        let mut text = value.to_string();
        text.replace_range(range, MASK);
        masked = Cow::Owned(text);
    }
    match mask_parameters(&masked) {
        Some(text) => Cow::Owned(text),
        None => masked,
    }
}

/// The byte range of the password in `scheme://user:password@host...`.
fn userinfo_password(value: &str) -> Option<std::ops::Range<usize>> {
    let authority_start = value.find("://")? + 3;
    let authority_len =
        value[authority_start..].find(['/', '?', '#']).unwrap_or(value.len() - authority_start);
    let authority = &value[authority_start..authority_start + authority_len];
    let at = authority.rfind('@')?;
    let colon = authority[..at].find(':')?;
    let start = authority_start + colon + 1;
    let end = authority_start + at;
    (start < end).then_some(start..end)
}

/// Masks the values of secret `key=value` pairs separated by `?`, `&`, `;` or spaces (query
/// strings and connection strings); `None` when there is nothing to mask.
fn mask_parameters(value: &str) -> Option<String> {
    let is_separator = |c: char| matches!(c, '?' | '&' | ';' | ' ' | '#');
    let mut out = String::new();
    let mut changed = false;
    let mut rest = value;
    while !rest.is_empty() {
        let end = rest.find(is_separator).map_or(rest.len(), |at| at + 1);
        let (piece, tail) = rest.split_at(end);
        let (pair, separator) = match piece.char_indices().last() {
            Some((at, c)) if is_separator(c) => (&piece[..at], &piece[at..]),
            _ => (piece, ""),
        };
        match pair.split_once('=') {
            Some((key, secret))
                if !secret.is_empty()
                    && SECRET_PARAMETERS.iter().any(|name| key.trim().eq_ignore_ascii_case(name)) =>
            {
                out.push_str(key);
                out.push('=');
                out.push_str(MASK);
                changed = true;
            }
            _ => out.push_str(pair),
        }
        out.push_str(separator);
        rest = tail;
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_whole_secrets() {
        assert_eq!(mask_secret("Bearer abc.def.ghi"), "Bearer ****");
        assert_eq!(mask_secret("Basic dXNlcjpwYXNz"), "Basic ****");
        assert_eq!(mask_secret("sk_live_123456"), "****");
        assert_eq!(mask_secret("tok3n abc"), "****");
        assert_eq!(mask_secret("Bearer "), "****");
        assert_eq!(mask_secret(""), "****");
    }

    #[test]
    fn masks_embedded_credentials() {
        let cases = [
            ("http://10.0.0.1:8080/users", "http://10.0.0.1:8080/users"),
            ("https://bob:hunter2@10.0.0.1/x", "https://bob:****@10.0.0.1/x"),
            ("https://bob@10.0.0.1/x", "https://bob@10.0.0.1/x"),
            ("http://1.2.3.4/x?api_key=abc&page=2", "http://1.2.3.4/x?api_key=****&page=2"),
            ("http://1.2.3.4/x?Token=abc#frag", "http://1.2.3.4/x?Token=****#frag"),
            ("Server=10.0.0.1;User Id=sa;Password=s3cret;", "Server=10.0.0.1;User Id=sa;Password=****;"),
            (
                "postgres://app:pw@10.1.1.1:5432/shop?sslmode=disable",
                "postgres://app:****@10.1.1.1:5432/shop?sslmode=disable",
            ),
        ];
        for (value, masked) in cases {
            assert_eq!(mask_credentials(value), masked, "{value}");
        }
        assert!(matches!(mask_credentials("http://example.com/"), Cow::Borrowed(_)));
    }
}
