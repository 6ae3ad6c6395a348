//! tracecheck's control API (`proto/tracecheck/v1/control.proto`): list, get, wait and stats,
//! served on the OTLP gRPC port.

/// Code generated from `proto/tracecheck/v1/control.proto`.
pub mod pb {
    tonic::include_proto!("tracecheck.v1");
}
