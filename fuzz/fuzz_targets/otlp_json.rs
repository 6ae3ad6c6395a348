//! OTLP/JSON ingest on arbitrary bytes, through the real store: no input may panic, and a
//! request the receiver accepts must read back. Every accepted span (the first of each
//! trace and span ID: later ones are duplicates) is in the store and decodes from the bytes
//! it keeps to the span that was accepted. Defect 1 of issue 13 was exactly this property
//! broken: JSON nested past the protobuf reader's limit was answered 200, then unreadable.

#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use model::otlp;
use model::{SpanId, TraceId};
use server::ingest;
use store::{StoreConfig, TraceStore};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap())
}

fuzz_target!(|data: &[u8]| {
    // What the receiver accepted, as the decoder built it.
    let Ok(batch) = otlp::decode_json(data) else {
        return;
    };
    runtime().block_on(async {
        // A store per input, large enough to evict nothing, so that inputs stay independent.
        let config = StoreConfig { max_spans: usize::MAX, ..StoreConfig::default() };
        let (store, _guard) = TraceStore::new(config);
        let outcome = ingest::export_json(&store, data).expect("the receiver accepts what decodes");
        assert_eq!(outcome.n_accepted, batch.spans.len());
        let mut expected: BTreeMap<TraceId, BTreeMap<SpanId, String>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for span in &batch.spans {
            if seen.insert((span.trace_id, span.span_id)) {
                // Debug text, not `==`: a NaN attribute value is unequal to itself.
                expected.entry(span.trace_id).or_default().insert(span.span_id, format!("{span:?}"));
            }
        }
        for (trace_id, spans) in expected {
            let trace = store.get(trace_id).expect("an accepted trace is readable");
            let stored: BTreeMap<SpanId, String> =
                trace.spans.iter().map(|span| (span.span_id, format!("{span:?}"))).collect();
            assert_eq!(stored, spans, "trace {trace_id} reads back other spans than were accepted");
        }
    });
});
