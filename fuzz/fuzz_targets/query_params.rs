//! The query APIs' parameters on arbitrary input: Jaeger's search (`service`, `operation`,
//! `tags` JSON, `tag`, `minDuration`/`maxDuration` Go durations, `limit`, `start`/`end`)
//! and dependencies (`endTs`, `lookback`), api_v3's `query.*` over HTTP and its gRPC
//! `FindTracesRequest`, Tempo's search (`q` TraceQL, `tags` logfmt, durations, `limit`,
//! `start`, `end`, `spss`) and every read's `?wait=`. No input may panic; every refusal must
//! print; what is accepted must hold the limits the routes promise.
//!
//! The first byte picks a template that puts the rest in one parameter of an otherwise valid
//! query, so the fuzzer reaches each parameter's parser instead of mostly failing on a
//! missing `service`; past the templates, the rest is the whole query string.

#![no_main]

use libfuzzer_sys::fuzz_target;
use model::defaults::{MAX_JAEGER_SEARCH_LIMIT, MAX_READ_WAIT};
use server::query::jaeger::{self, Search};
use server::query::{search, tempo, Wait};

const V1: &str = "service=shop";
const V3: &str = "query.start_time_min=2026-01-01T00:00:00Z&query.start_time_max=2026-01-02T00:00:00Z";

/// One parameter of a query the rest of which is valid: (which API, the query before the value).
const TEMPLATES: &[(Api, &str)] = &[
    (Api::V1, "service=shop&minDuration="),
    (Api::V1, "service=shop&maxDuration="),
    (Api::V1, "service=shop&minDuration=1ms&maxDuration="),
    (Api::V1, "service=shop&tags="),
    (Api::V1, "service=shop&tag="),
    (Api::V1, "service=shop&limit="),
    (Api::V1, "service=shop&start="),
    (Api::V1, "service=shop&end="),
    (Api::V1, "service=shop&operation="),
    (Api::V1, "service="),
    (Api::Dependencies, "endTs="),
    (Api::Dependencies, "endTs=1767225600000&lookback="),
    (Api::V3, "query.start_time_max=2026-01-02T00:00:00Z&query.start_time_min="),
    (Api::V3, "query.start_time_min=2026-01-01T00:00:00Z&query.start_time_max="),
    (Api::V3, "query.start_time_min=2026-01-01T00:00:00Z&query.start_time_max=2026-01-02T00:00:00Z&query.duration_min="),
    (Api::V3, "query.start_time_min=2026-01-01T00:00:00Z&query.start_time_max=2026-01-02T00:00:00Z&query.attributes="),
    (Api::V3, "query.start_time_min=2026-01-01T00:00:00Z&query.start_time_max=2026-01-02T00:00:00Z&query.num_traces="),
    (Api::Tempo, "q="),
    (Api::Tempo, "tags="),
    (Api::Tempo, "minDuration="),
    (Api::Tempo, "q=%7B%7D&maxDuration="),
    (Api::Tempo, "q=%7B%7D&limit="),
    (Api::Tempo, "q=%7B%7D&start="),
    (Api::Tempo, "q=%7B%7D&end="),
    (Api::Tempo, "q=%7B%7D&spss="),
];

#[derive(Clone, Copy)]
enum Api {
    V1,
    Dependencies,
    V3,
    Tempo,
}

fn check_search(search: &Search, what: &str) {
    assert!(search.limit <= MAX_JAEGER_SEARCH_LIMIT, "{what}: limit {} past the maximum", search.limit);
    if let (Some(min), Some(max)) = (search.duration_min, search.duration_max) {
        // Jaeger's v1 refuses this; v3 and gRPC pass it on (nothing then matches).
        if what == "v1" {
            assert!(min <= max, "{what}: accepted maxDuration < minDuration");
        }
    }
}

fn v1(query: &str) {
    match jaeger::v1_search_params(Some(query)) {
        Ok(search) => {
            assert!(search.service.is_some(), "v1: accepted without a service: {query:?}");
            check_search(&search, "v1");
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

fn dependencies(query: &str) {
    match jaeger::v1_dependencies_params(Some(query)) {
        Ok((start, end)) => assert!(start <= end, "dependencies: window {start}..{end}"),
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

fn v3(query: &str) {
    match jaeger::v3_search_params(Some(query)) {
        Ok(search) => {
            assert!(search.start_min.is_some() && search.start_max.is_some(), "v3: {query:?}");
            check_search(&search, "v3");
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

fn tempo(query: &str) {
    match tempo::search_params(query) {
        Ok(found) => {
            assert!((1..=1_000).contains(&found.request.limit), "tempo: limit {}", found.request.limit);
            assert!(found.spss >= 1);
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

fn wait(text: &str) {
    match Wait::parse(Some(text)) {
        Ok(Wait(Some(duration))) => assert!(!duration.is_zero() && duration <= MAX_READ_WAIT, "{text:?}"),
        Ok(Wait(None)) => {}
        Err(error) => assert!(!error.to_string().is_empty()),
    }
    let _ = search::parse_duration("minDuration", Some(text));
}

fuzz_target!(|data: &[u8]| {
    // api_v3's gRPC FindTraces: the bytes as the request message.
    if let Ok(search) = jaeger::grpc_search_params(data) {
        assert!(search.start_min.is_some() && search.start_max.is_some());
        check_search(&search, "grpc");
    }
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(value) = std::str::from_utf8(rest) else { return };
    match TEMPLATES.get(usize::from(pick)) {
        Some((api, prefix)) => {
            let query = format!("{prefix}{value}");
            match api {
                Api::V1 => v1(&query),
                Api::Dependencies => dependencies(&query),
                Api::V3 => v3(&query),
                Api::Tempo => tempo(&query),
            }
            wait(value);
        }
        None => {
            v1(value);
            v1(&format!("{V1}&{value}"));
            dependencies(value);
            v3(value);
            v3(&format!("{V3}&{value}"));
            tempo(value);
            wait(value);
        }
    }
});
