//! The OTLP protobuf codec on arbitrary bytes: no input may panic, and the receivers' split
//! path (`otlp::split_request`, what the store keeps) must accept, refuse and reject exactly
//! what the full wire decoder does, with stored bytes that decode to the same spans. The
//! store relies on that: whatever it holds was validated on the way in and always decodes.
//! (The generated-types decoder runs too, for panics only: it allows deeper nesting than
//! ours, a deliberate difference the integration tests pin down.)

#![no_main]

use libfuzzer_sys::fuzz_target;
use model::otlp;

fuzz_target!(|data: &[u8]| {
    let _ = otlp::decode_protobuf_generated(data);
    let decoded = otlp::decode_protobuf(data);
    let split = otlp::split_request(data);
    match (&decoded, &split) {
        (Ok(decoded), Ok(split)) => {
            assert_eq!(decoded.rejections, split.rejections);
            let mut stored: Vec<model::Span> = Vec::new();
            for group in &split.groups {
                let mut bytes = Vec::new();
                for span in &group.spans {
                    otlp::append_span_field(&mut bytes, span.bytes);
                }
                otlp::decode_spans(&bytes, &group.resource, &group.scope, &mut stored)
                    .expect("stored spans decode");
            }
            // Debug text, not `==`: a NaN attribute value is unequal to itself.
            assert_eq!(format!("{:?}", decoded.spans), format!("{stored:?}"));
        }
        (Err(_), Err(_)) => {}
        (decoded, split) => panic!("decoder and split disagree: {decoded:?} vs {split:?}"),
    }
});
