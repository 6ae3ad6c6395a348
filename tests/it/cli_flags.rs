//! The command line's exit codes through the real binary: absurd flag values are bad input
//! (exit code 2, a message naming the flag) instead of a panic, and a runtime failure of
//! `serve` is a failure (exit code 1), not bad input.

use crate::support as common;

use common::{free_addr, run_tracecheck, vars_file, Files};

/// A test that would wait on a trace: a traceid trigger (no network), so with an absurd
/// wait flag the run reaches the store's timers unless the flag is refused first.
fn waiting_test(files: &Files) -> (String, String) {
    files.write(
        "byid.yaml",
        "type: Test\nspec:\n  name: by trace id\n  trigger:\n    type: traceid\n    traceid:\n      id: ${var:TRACE_ID}\n  specs:\n    - selector: span[name=\"x\"]\n      assertions:\n        - attr:n = 1\n",
    );
    let vars = vars_file(files, &[("TRACE_ID", "0af7651916cd43dd8448eb211c80319c")]);
    (files.path("byid.yaml"), vars)
}

fn describe(output: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `run` on the waiting test with `flag value` (and short waits otherwise) and
/// expects bad input naming the flag, with `expected` in the message.
async fn run_refuses(flag: &str, value: &str, expected: &str) {
    let files = Files::new();
    let (test, vars) = waiting_test(&files);
    let (grpc, http) = (free_addr().to_string(), free_addr().to_string());
    let mut args = vec!["run", &test, "--vars", &vars, "--grpc-addr", &grpc, "--http-addr", &http];
    for (short_flag, short_value) in [("--timeout", "1s"), ("--settle", "10ms"), ("--grace", "10ms")] {
        if short_flag != flag {
            args.extend([short_flag, short_value]);
        }
    }
    args.extend([flag, value]);
    let output = run_tracecheck(&args).await;
    assert_eq!(output.status.code(), Some(2), "{flag} {value}: {}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
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
    let (grpc, http) = (free_addr().to_string(), free_addr().to_string());
    let output = run_tracecheck(&[
        "serve",
        "--grpc-addr",
        &grpc,
        "--http-addr",
        &http,
        "--max-concurrent-exports",
        &too_many,
    ])
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains(&expected), "{}", describe(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_a_taken_port_is_a_failure_not_bad_input() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let grpc = taken.local_addr().expect("addr").to_string();
    let http = free_addr().to_string();
    let output = run_tracecheck(&["serve", "--grpc-addr", &grpc, "--http-addr", &http]).await;
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("error: cannot listen on {grpc}")), "{stderr}");
    drop(taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_gates_are_bad_input_with_the_flag_named() {
    let files = Files::new();
    let (test, vars) = waiting_test(&files);
    let output = run_tracecheck(&["run", &test, "--vars", &vars, "--required-gates", "nope"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).starts_with("error: --required-gates: "),
        "{}",
        describe(&output)
    );
}
