//! Jaeger's parameter forms: trace IDs (hex, up to 32 digits, leading zeros optional), Go
//! durations (`1.5ms`, `2h45m`), microsecond and millisecond epochs, and tags (`tags` as a
//! JSON object of texts, `tag` as `key:value`). Each error names the parameter and says
//! what was expected.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::EdgeError;
use model::TraceId;

/// A trace ID as Jaeger reads it: up to 32 hex digits, short ones padded with leading zeros.
pub(super) fn trace_id(text: &str) -> Result<TraceId, EdgeError> {
    let text = text.trim();
    if text.is_empty() || text.len() > 32 || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(EdgeError::Query(format!("trace id {text:?}: expected up to 32 hex digits")));
    }
    TraceId::from_hex(&format!("{text:0>32}")).map_err(EdgeError::TraceId)
}

/// A Go duration such as `500ms`, `1.5s`, `2h45m` or `10us` (what Jaeger's `minDuration`,
/// `maxDuration` and api_v3's `query.duration_*` take).
pub(super) fn go_duration(name: &str, text: &str) -> Result<Duration, EdgeError> {
    let bad = || {
        EdgeError::Query(format!(
            "{name}={text:?}: expected a duration such as 500ms, 1.5s or 2h45m (units ns, us, ms, s, m, h)"
        ))
    };
    model::parse_go_duration(text.trim()).ok_or_else(bad)
}

/// An integer count of `unit` nanoseconds since the epoch (`start`, `end` in microseconds,
/// `endTs` in milliseconds), as Unix nanoseconds.
pub(super) fn epoch(name: &str, text: &str, unit_nanos: u64) -> Result<u64, EdgeError> {
    let value: u64 = text.trim().parse().map_err(|_| {
        EdgeError::Query(format!("{name}={text:?}: expected a whole number of {}", unit_name(unit_nanos)))
    })?;
    Ok(value.saturating_mul(unit_nanos))
}

fn unit_name(unit_nanos: u64) -> &'static str {
    match unit_nanos {
        1_000 => "microseconds since the epoch",
        1_000_000 => "milliseconds",
        _ => "nanoseconds",
    }
}

/// An RFC 3339 time (api_v3's `query.start_time_*`), as Unix nanoseconds.
pub(super) fn rfc3339(name: &str, text: &str) -> Result<u64, EdgeError> {
    let time = humantime::parse_rfc3339_weak(text.trim()).map_err(|error| {
        EdgeError::Query(format!(
            "{name}={text:?}: {error} (expected an RFC 3339 time such as 2026-01-02T15:04:05Z)"
        ))
    })?;
    let since = time.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Ok(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}

/// Tags from `tags` (a JSON object of texts) and every `tag` (`key:value`), in key order.
pub(super) fn tags<'a>(
    json: Option<&str>,
    pairs: impl Iterator<Item = &'a str>,
    name: &str,
) -> Result<BTreeMap<String, String>, EdgeError> {
    let mut tags = BTreeMap::new();
    if let Some(json) = json.filter(|json| !json.trim().is_empty()) {
        let parsed: BTreeMap<String, String> = serde_json::from_str(json).map_err(|error| {
            EdgeError::Query(format!(
                "{name}={json:?}: {error} (expected a JSON object of texts, such as {{\"http.route\":\"/cart\"}})"
            ))
        })?;
        tags.extend(parsed);
    }
    for pair in pairs {
        let (key, value) = pair
            .split_once(':')
            .ok_or_else(|| EdgeError::Query(format!("tag={pair:?}: expected key:value")))?;
        tags.insert(key.to_string(), value.to_string());
    }
    Ok(tags)
}

/// A query string's parameters in order, repeated keys kept (`tag`, `traceID`).
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    /// # Errors
    /// [`EdgeError::Query`] when the query string is not form-encoded.
    pub(super) fn parse(raw: Option<&str>) -> Result<Params, EdgeError> {
        let pairs = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|error| EdgeError::Query(format!("{error} (expected key=value pairs joined by &)")))?;
        Ok(Params(pairs))
    }

    /// The first value of `name`, as Go's `FormValue`; an empty value counts as absent.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    /// Every value of `name`.
    pub(super) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// `name` as a Go duration, in nanoseconds.
    pub(super) fn duration(&self, name: &str) -> Result<Option<u64>, EdgeError> {
        self.get(name)
            .map(|text| {
                go_duration(name, text).map(|duration| u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX))
            })
            .transpose()
    }

    /// `name` as a count, at most `max`.
    pub(super) fn count(&self, name: &str, max: usize) -> Result<Option<usize>, EdgeError> {
        self.get(name)
            .map(|text| match text.trim().parse::<usize>() {
                Ok(count) if count <= max => Ok(count),
                _ => Err(EdgeError::Query(format!("{name}={text:?}: expected a whole number up to {max}"))),
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jaegers_forms() {
        assert_eq!(trace_id("1a").unwrap(), TraceId::from_hex("0000000000000000000000000000001a").unwrap());
        assert!(trace_id("zz").unwrap_err().to_string().contains("expected up to 32 hex digits"));
        assert_eq!(go_duration("d", "1.5ms").unwrap(), Duration::from_micros(1500));
        assert_eq!(go_duration("d", "2h45m").unwrap(), Duration::from_secs(9900));
        assert_eq!(go_duration("d", "10us").unwrap(), Duration::from_micros(10));
        assert_eq!(go_duration("d", "0").unwrap(), Duration::ZERO);
        for bad in ["", "5", "ms", "5 parsecs", "1..2s"] {
            let error = go_duration("minDuration", bad).unwrap_err().to_string();
            assert!(error.contains("minDuration="), "{bad}: {error}");
        }
        assert_eq!(epoch("start", "12", 1_000).unwrap(), 12_000);
        assert!(epoch("start", "soon", 1_000).is_err());
        assert_eq!(rfc3339("t", "1970-01-01T00:00:01Z").unwrap(), 1_000_000_000);
        let tags = tags(Some(r#"{"a":"1"}"#), ["b:2:3"].into_iter(), "tags").unwrap();
        assert_eq!(
            tags.into_iter().collect::<Vec<_>>(),
            vec![("a".into(), "1".into()), ("b".into(), "2:3".into())]
        );
        assert!(super::tags(Some("[1]"), std::iter::empty(), "tags").is_err());
        assert!(super::tags(None, ["nocolon"].into_iter(), "tags").is_err());
    }
}
