//! Compiles tracecheck's own control API from `proto/` with protox, so the build needs no
//! system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../../proto");
    let file_descriptors = protox::compile(["tracecheck/v1/control.proto"], ["../../proto"])?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(file_descriptors)?;
    Ok(())
}
