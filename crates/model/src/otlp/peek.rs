//! What the store indexes of a span without decoding it: name, kind, times, status and
//! parent, read off the `Span` message's bytes by the split's validation
//! ([`super::check_span`]) on the way in (the store's digest of a trace, which lets searches
//! skip traces that cannot match).

use crate::{SpanKind, StatusCode};

/// The fields of one span that searches filter on, borrowed from its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpanPeek<'a> {
    pub name: &'a str,
    pub kind: SpanKind,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub status: StatusCode,
    /// Whether the span names a parent (a non-empty, non-zero parent span ID).
    pub has_parent: bool,
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::{Span, SpanId, TraceId};

    #[test]
    fn peeks_what_the_decoder_reads() {
        let span = Span::new(TraceId([1; 16]), SpanId([2; 8]), "GET /cart")
            .with_parent(SpanId([3; 8]))
            .with_kind(SpanKind::Client)
            .with_times(10, 25)
            .with_status(StatusCode::Error, "boom")
            .with_attribute("http.route", "/cart");
        let bytes = super::super::span_to_otlp(&span).encode_to_vec();
        let peek = super::super::check_span(&bytes).unwrap();
        assert_eq!(
            peek,
            SpanPeek {
                name: "GET /cart",
                kind: SpanKind::Client,
                start_time_unix_nano: 10,
                end_time_unix_nano: 25,
                status: StatusCode::Error,
                has_parent: true,
            }
        );
        assert!(super::super::check_span(&bytes[..bytes.len() - 3]).is_err());
    }
}
