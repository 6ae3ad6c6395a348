//! The command line's exit codes through the real binary: absurd flag values are bad input
//! (exit code 2, a message naming the flag) instead of a panic, and a runtime failure of
//! `serve` is a failure (exit code 1), not bad input.

use crate::support::{fixture_arg, tracecheck, vars_file, Files};

/// The waiting test (`tests/fixtures/cli/waiting.yaml`) and its variables.
fn waiting_test(files: &Files) -> (String, String) {
    (fixture_arg("cli/waiting.yaml"), vars_file(files, &[("TRACE_ID", "0af7651916cd43dd8448eb211c80319c")]))
}

/// Runs `run` on the waiting test with `flag value` (and short waits otherwise) and
/// expects bad input naming the flag, with `expected` in the message.
async fn run_refuses(flag: &str, value: &str, expected: &str) {
    let files = Files::new();
    let (test, vars) = waiting_test(&files);
    let mut command = tracecheck();
    command.args(["run", &test, "--vars", &vars, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"]);
    for (short_flag, short_value) in [("--timeout", "1s"), ("--settle", "10ms"), ("--grace", "10ms")] {
        if short_flag != flag {
            command.args([short_flag, short_value]);
        }
    }
    let output = command.args([flag, value]).output().await;
    assert_eq!(output.code(), Some(2), "{flag} {value}: {output}");
    let stderr = output.stderr();
    assert!(stderr.contains(flag) && stderr.contains(expected), "{flag} {value}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durations_beyond_a_year_are_refused() {
    for flag in ["--timeout", "--settle", "--grace", "--trace-ttl"] {
        run_refuses(flag, "300000000000y", "longer than the longest allowed duration, 365 days").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_counts_and_a_zero_ttl_are_refused() {
    run_refuses("--parallel", "0", "must be at least 1").await;
    run_refuses("--max-concurrent-exports", "0", "must be at least 1").await;
    run_refuses("--trace-ttl", "0s", "must be longer than 0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_export_slots_than_a_semaphore_holds_are_refused() {
    let too_many = (tokio::sync::Semaphore::MAX_PERMITS + 1).to_string();
    let expected = format!("must be at most {}", tokio::sync::Semaphore::MAX_PERMITS);
    run_refuses("--max-concurrent-exports", &too_many, &expected).await;
    // `serve` shares the flag; it used to panic creating the semaphore.
    let output = tracecheck()
        .args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
        .args(["--max-concurrent-exports", &too_many])
        .output()
        .await;
    output.assert_code(2);
    assert!(output.stderr().contains(&expected), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_a_taken_port_is_a_failure_not_bad_input() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let grpc = taken.local_addr().expect("addr").to_string();
    let output =
        tracecheck().args(["serve", "--grpc-addr", &grpc, "--http-addr", "127.0.0.1:0"]).output().await;
    output.assert_code(1);
    assert!(output.stderr().contains(&format!("error: cannot listen on {grpc}")), "{output}");
    drop(taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_gates_are_bad_input_with_the_flag_named() {
    let files = Files::new();
    let (test, vars) = waiting_test(&files);
    let output =
        tracecheck().args(["run", &test, "--vars", &vars, "--required-gates", "nope"]).output().await;
    output.assert_code(2);
    assert!(output.stderr().starts_with("error: --required-gates: "), "{output}");
}
