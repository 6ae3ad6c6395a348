//! The real `tracecheck` binary, as ripgrep's `TestCommand`: a command with a clean
//! environment (no `TRACECHECK_*` setting of the machine leaks in, no colours), run to
//! completion ([`TestCommand::output`], a [`Run`]) or, for `serve`, started on port 0 with
//! the ports it reports on its `listening on` line ([`Serve`]); and [`LogLines`], a child's
//! log read as it comes, to wait on a line of it.

use std::ffi::{OsStr, OsString};
use std::net::SocketAddr;
use std::ops::Deref;
use std::process::{ExitStatus, Output, Stdio};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Child;
use tokio::sync::mpsc;

use super::HANG;

/// The line `tracecheck serve` prints once both listeners are bound.
const LISTENING: &str = "tracecheck serve: listening on ";

/// A `tracecheck` command line being built.
#[derive(Default)]
pub struct TestCommand {
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    open_files: Option<u32>,
}

/// `tracecheck` with no arguments yet.
pub fn tracecheck() -> TestCommand {
    TestCommand::default()
}

/// `tracecheck serve EXTRA...` on port 0 for both listeners, started and ready.
pub async fn serve(extra: &[&str]) -> Serve {
    tracecheck()
        .args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
        .args(extra)
        .serve()
        .await
}

impl TestCommand {
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|arg| arg.as_ref().to_owned()));
        self
    }

    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.envs.push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Runs the binary under `ulimit -n LIMIT` (through `sh`).
    pub fn open_files_limit(&mut self, limit: u32) -> &mut Self {
        self.open_files = Some(limit);
        self
    }

    fn command(&self) -> tokio::process::Command {
        let binary = env!("CARGO_BIN_EXE_tracecheck");
        let mut command = match self.open_files {
            Some(limit) => {
                let mut shell = tokio::process::Command::new("sh");
                shell.arg("-c").arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\"")).arg(binary);
                shell
            }
            None => tokio::process::Command::new(binary),
        };
        command.args(&self.args).env("NO_COLOR", "1").kill_on_drop(true);
        // Settings from the machine's environment must not leak into a test.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TRACECHECK_") {
                command.env_remove(key);
            }
        }
        for (key, value) in &self.envs {
            command.env(key, value);
        }
        command
    }

    /// Runs the binary to completion.
    pub async fn output(&mut self) -> Run {
        let output = self.command().output().await.expect("run tracecheck");
        Run { output }
    }

    /// Starts `tracecheck serve` (the arguments must say `serve` and its addresses; see
    /// [`serve`]) and waits for its `listening on` line, whose addresses it returns.
    pub async fn serve(&mut self) -> Serve {
        let mut child = self
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tracecheck serve");
        let log = LogLines::read(child.stderr.take().expect("stderr"));
        let mut serve = Serve {
            child,
            grpc: SocketAddr::from(([0, 0, 0, 0], 0)),
            http: SocketAddr::from(([0, 0, 0, 0], 0)),
            jaeger: None,
            tempo: None,
            log,
        };
        let line = serve.wait_for_line(LISTENING).await;
        let address = |name: &str| -> SocketAddr {
            let field = format!("{name}=");
            let value = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix(field.as_str()))
                .unwrap_or_else(|| panic!("no {field} in {line:?}"));
            value.parse().unwrap_or_else(|error| panic!("{value}: {error}"))
        };
        serve.grpc = address("grpc");
        serve.http = address("http");
        let optional = |name: &str| line.contains(&format!(" {name}=")).then(|| address(name));
        serve.jaeger = optional("jaeger");
        serve.tempo = optional("tempo");
        serve
    }
}

/// A finished run of the binary; derefs to its [`Output`].
pub struct Run {
    pub output: Output,
}

impl Deref for Run {
    type Target = Output;

    fn deref(&self) -> &Output {
        &self.output
    }
}

impl std::fmt::Display for Run {
    /// The exit code and both streams, for assertion messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\nstdout: {}\nstderr: {}", self.code(), self.stdout(), self.stderr())
    }
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Fails the test, showing both streams, unless the exit code is `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code(), Some(code), "{self}");
        self
    }

    /// The first JSON object on stdout: the report of a `run -o json`, or the answer of
    /// `traces`/`analyze -o json`.
    #[track_caller]
    pub fn json(&self) -> Value {
        let stdout = self.stdout();
        let line = stdout
            .lines()
            .find(|line| line.starts_with('{'))
            .unwrap_or_else(|| panic!("no JSON on stdout\n{self}"));
        serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}\n{self}"))
    }

    /// Every line of stdout as JSON (`run -o json` with several files).
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}\n{self}")))
            .collect()
    }
}

/// A running `tracecheck serve`; killed when dropped.
pub struct Serve {
    child: Child,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    /// The query APIs' own listeners, when `--jaeger-addr` / `--tempo-addr` were given.
    pub jaeger: Option<SocketAddr>,
    pub tempo: Option<SocketAddr>,
    log: LogLines,
}

impl Serve {
    /// `http://GRPC`: the OTLP/gRPC and control API URL (`--server`).
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// `http://HTTP`: OTLP/HTTP, the web UI and its API.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http)
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("serve is running")
    }

    /// Waits for a stderr line containing `text` (lines before it are passed over).
    pub async fn wait_for_line(&mut self, text: &str) -> String {
        match self.log.wait_for(text).await {
            Some(line) => line,
            None => {
                let status = self.child.wait().await;
                panic!("serve exited ({status:?}) before logging {text:?}:\n{}", self.log.seen())
            }
        }
    }

    /// The stderr lines that arrived since the last look, without waiting.
    pub fn lines_so_far(&mut self) -> Vec<String> {
        self.log.so_far()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
        assert!(status.expect("run kill").success(), "kill -TERM {}", self.pid());
    }

    /// Waits for the process to exit, failing the test unless it does within `within`.
    pub async fn exit_within(&mut self, within: std::time::Duration) -> ExitStatus {
        tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("serve did not exit within {within:?}"))
            .expect("wait for serve")
    }
}

/// A child's log (its stderr), read line by line as it comes, so that a chatty child never
/// blocks on a full pipe; every line read is kept for failure messages.
pub struct LogLines {
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl LogLines {
    /// Starts reading `stream` until it ends.
    pub fn read(stream: impl AsyncRead + Unpin + Send + 'static) -> LogLines {
        let mut lines = BufReader::new(stream).lines();
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                // Once nobody listens, keep draining the pipe.
                let _ = sender.send(line);
            }
        });
        LogLines { lines: receiver, seen: Vec::new() }
    }

    /// The next line containing `text` (lines before it are passed over); `None` when the
    /// log ended first (the child exited). Fails the test after [`HANG`].
    pub async fn wait_for(&mut self, text: &str) -> Option<String> {
        let found = tokio::time::timeout(HANG, async {
            while let Some(line) = self.lines.recv().await {
                self.seen.push(line.clone());
                if line.contains(text) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        found.unwrap_or_else(|_| panic!("no line with {text:?} within {HANG:?}:\n{}", self.seen()))
    }

    /// The lines that arrived since the last look, without waiting.
    pub fn so_far(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line.clone());
            lines.push(line);
        }
        lines
    }

    /// Every line read so far, one per line.
    pub fn seen(&self) -> String {
        self.seen.join("\n")
    }
}

/// `tracecheck run ARGS EXTRA` with the embedded ingestor's OTLP/gRPC on `grpc` (where the
/// app under test exports, so it is picked before the app starts: see
/// [`super::free_addr`]) and OTLP/HTTP on port 0.
pub async fn run_embedded(args: &[&str], grpc: SocketAddr, extra: &[&str]) -> Run {
    tracecheck()
        .arg("run")
        .args(args)
        .args(["--grpc-addr", &grpc.to_string(), "--http-addr", "127.0.0.1:0"])
        .args(extra)
        .output()
        .await
}
