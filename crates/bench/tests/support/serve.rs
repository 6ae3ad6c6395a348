//! A real `tracecheck serve` for the bench tests: the release binary (or `TRACECHECK_BIN`)
//! started on port 0, waited for until it says where it listens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};

/// The binary to run: `TRACECHECK_BIN`, else the workspace's release build.
pub fn binary() -> PathBuf {
    std::env::var_os("TRACECHECK_BIN").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/release/tracecheck"))
    })
}

/// A serve that listens: the child, its gRPC and HTTP addresses, and the rest of its log.
pub struct Listening {
    pub child: Child,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    pub log: tokio::io::Lines<BufReader<ChildStderr>>,
}

/// Runs `command` (a `tracecheck serve` on port 0, or a shell that execs one) and reads its
/// log until the line that says where it listens.
pub async fn listening(mut command: Command) -> Listening {
    let mut child = command
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn tracecheck serve (build it first; see the module doc)");
    let mut log = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let line = loop {
        let line = log.next_line().await.expect("read").expect("serve exited before listening");
        if line.contains("tracecheck serve: listening on ") {
            break line;
        }
    };
    let address = |name: &str| -> SocketAddr {
        let field = format!("{name}=");
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(field.as_str()))
            .expect("address")
            .parse()
            .expect("addr")
    };
    Listening { child, grpc: address("grpc"), http: address("http"), log }
}

/// `tracecheck serve` on port 0 with `extra` flags.
pub fn command(extra: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command.args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"]).args(extra);
    command
}
