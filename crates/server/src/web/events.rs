//! `GET /api/v1/events`: server-sent events for live views.
//!
//! - `trace.created` / `trace.grown`: `{"trace_id", "span_count"}` ("created" the first
//!   time this stream sees the trace; traces held when it connects count as seen).
//! - `run.recorded`: `{"id", "name", "state"}`.
//!
//! Payloads are `wire` types ([`wire::TraceChange`], [`wire::RunRecorded`]).
//!
//! Woken by the store's and the run store's change channels, never by a timer; a burst of
//! inserts becomes one wake-up that reads what changed since the last one.

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};

use super::Web;
use crate::error::EdgeError;
use model::TraceId;

/// Traces one wake-up reports at most (the rest follow on the next).
const EVENTS_PER_WAKE: usize = 500;
/// How many traces a stream remembers for created/grown (past it, it forgets and a known
/// trace may be announced as created again): the UI lists 50 at a time, and a stream's
/// memory is outside the store's bound, so it is kept small (about 300 KiB).
const REMEMBERED_TRACES: usize = 10_000;

struct Feed {
    web: Web,
    traces: tokio::sync::watch::Receiver<()>,
    runs: tokio::sync::watch::Receiver<u64>,
    last_seq: u64,
    last_run: u64,
    seen: HashMap<TraceId, usize>,
    /// The stream's slot among [`model::defaults::MAX_EVENT_STREAMS`], given back when the
    /// client goes away and the stream is dropped.
    _slot: tokio::sync::OwnedSemaphorePermit,
}

pub(super) async fn stream(
    State(web): State<Web>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, EdgeError> {
    let Ok(slot) = web.streams.clone().try_acquire_owned() else {
        web.telemetry.stream_refused();
        return Err(EdgeError::TooManyStreams { limit: model::defaults::MAX_EVENT_STREAMS });
    };
    let mut traces = web.store.subscribe();
    traces.mark_unchanged();
    let mut runs = web.runs.subscribe();
    let last_run = *runs.borrow_and_update();
    let last_seq = web.store.last_seq();
    let seen =
        web.store.newest(None, REMEMBERED_TRACES).into_iter().map(|r| (r.trace_id, r.span_count)).collect();
    let feed = Feed { web, traces, runs, last_seq, last_run, seen, _slot: slot };
    let events = stream::unfold(feed, |mut feed| async move {
        tokio::select! {
            changed = feed.traces.changed() => changed.ok()?,
            changed = feed.runs.changed() => changed.ok()?,
        }
        let batch = feed.collect();
        Some((stream::iter(batch.into_iter().map(Ok)), feed))
    })
    .flatten();
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

impl Feed {
    fn collect(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        let updated = self.web.store.updated_since(self.last_seq, EVENTS_PER_WAKE);
        if updated.len() == EVENTS_PER_WAKE {
            // More to come: make sure the next wait returns at once.
            self.traces.mark_changed();
        }
        for item in updated {
            self.last_seq = self.last_seq.max(item.seq);
            if self.seen.len() >= REMEMBERED_TRACES {
                self.seen.clear();
            }
            let kind = match self.seen.insert(item.trace_id, item.span_count) {
                None => "trace.created",
                Some(_) => "trace.grown",
            };
            let change = wire::TraceChange { trace_id: item.trace_id, span_count: item.span_count };
            events.push(json_event(kind, &change));
        }
        let newest_run = *self.runs.borrow_and_update();
        for run in self.web.runs.list().into_iter().rev().filter(|run| run.id > self.last_run) {
            let recorded = wire::RunRecorded {
                id: run.id,
                name: Cow::Borrowed(&run.report.name),
                state: run.report.state,
            };
            events.push(json_event("run.recorded", &recorded));
        }
        self.last_run = self.last_run.max(newest_run);
        events
    }
}

/// An event whose data is `payload` as JSON, written straight into the event's buffer.
fn json_event(kind: &'static str, payload: &impl serde::Serialize) -> Event {
    // Plain structs of strings and numbers always serialize; should one not, the event
    // still goes out (without data) rather than ending the stream.
    Event::default().event(kind).json_data(payload).unwrap_or_else(|_| Event::default().event(kind))
}
