//! TLS on every listener (issue 13, item 7) and `--server https://` meaning TLS (defect 3),
//! with certificates made here by rcgen: a CA, a server certificate for 127.0.0.1, and a
//! client certificate. The SDK's own OTLP exporters (gRPC and HTTP) export over TLS; under
//! mTLS a client without a certificate is refused; plaintext against a TLS port is an
//! error, not a hang; and the real binary's `traces list --server https://` verifies.

use crate::support as common;

use std::path::PathBuf;
use std::time::Duration;

use model::TraceId;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use server::api::RemoteClient;
use server::tls::{ClientTls, ServerTls};
use server::{self, RunningServer, ServerConfig};
use tokio::io::AsyncBufReadExt;

/// Long enough for any handshake on this machine, short enough that a hang fails the test.
const NO_HANG: Duration = Duration::from_secs(20);

/// PEM files in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

impl Pki {
    fn new() -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "tracecheck test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

        let server_key = KeyPair::generate().unwrap();
        let server_params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        let server_cert = server_params.signed_by(&server_key, &ca).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(vec!["exporter".to_string()]).unwrap();
        client_params.distinguished_name.push(DnType::CommonName, "exporter");
        let client_cert = client_params.signed_by(&client_key, &ca).unwrap();

        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
            ca_pem: ca.pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
        };
        pki.write("ca.pem", &pki.ca_pem);
        pki.write("server.pem", &server_cert.pem());
        pki.write("server-key.pem", &server_key.serialize_pem());
        pki.write("client.pem", &pki.client_cert_pem);
        pki.write("client-key.pem", &pki.client_key_pem);
        pki
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn server_tls(&self, mtls: bool) -> ServerTls {
        ServerTls {
            cert: self.path("server.pem"),
            key: self.path("server-key.pem"),
            client_ca: mtls.then(|| self.path("ca.pem")),
        }
    }

    fn client_tls(&self, with_certificate: bool) -> ClientTls {
        ClientTls {
            ca_cert: Some(self.path("ca.pem")),
            client_cert: with_certificate.then(|| self.path("client.pem")),
            client_key: with_certificate.then(|| self.path("client-key.pem")),
        }
    }
}

async fn start_tls(pki: &Pki, mtls: bool) -> RunningServer {
    let config = ServerConfig { tls: Some(pki.server_tls(mtls)), ..ServerConfig::ephemeral() };
    server::start(config, server::routes::control_routes).await.expect("server starts")
}

#[derive(Clone, Copy)]
enum Exporter {
    Grpc,
    Http,
}

/// Exports one span through the SDK's real OTLP exporter, trusting `ca_pem` (and showing
/// the client certificate when `identity`); the SDK's flush returns the export's result.
async fn export(
    kind: Exporter,
    server: &RunningServer,
    pki: &Pki,
    identity: bool,
) -> Result<TraceId, opentelemetry_sdk::error::OTelSdkError> {
    let grpc_endpoint = format!("https://127.0.0.1:{}", server.grpc_addr().port());
    let http_endpoint = format!("https://127.0.0.1:{}/v1/traces", server.http_addr().port());
    let (ca, cert, key) = (pki.ca_pem.clone(), pki.client_cert_pem.clone(), pki.client_key_pem.clone());
    let handle = tokio::runtime::Handle::current();
    // The SDK's batch processor blocks on its exports, so it runs on a blocking thread.
    tokio::task::spawn_blocking(move || {
        let _runtime = handle.enter();
        let exporter = match kind {
            Exporter::Grpc => {
                let mut tls = tonic::transport::ClientTlsConfig::new()
                    .ca_certificate(tonic::transport::Certificate::from_pem(&ca));
                if identity {
                    tls = tls.identity(tonic::transport::Identity::from_pem(&cert, &key));
                }
                opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(grpc_endpoint)
                    .with_tls_config(tls)
                    .build()
                    .expect("grpc exporter")
            }
            Exporter::Http => {
                let mut client = reqwest::blocking::Client::builder()
                    .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap());
                if identity {
                    client = client
                        .identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
                }
                opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_http_client(client.build().unwrap())
                    .with_protocol(Protocol::HttpBinary)
                    .with_endpoint(http_endpoint)
                    .build()
                    .expect("http exporter")
            }
        };
        let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).build();
        let tracer = provider.tracer("tracecheck-tls-tests");
        let mut span = tracer.start("GET /over-tls");
        let trace_id = TraceId(span.span_context().trace_id().to_bytes());
        span.end();
        let flushed = provider.force_flush();
        let _ = provider.shutdown();
        flushed.map(|()| trace_id)
    })
    .await
    .expect("exporter thread")
}

/// The trace as read back through the control API, over TLS.
async fn read_back(server: &RunningServer, client: &ClientTls, trace_id: TraceId) -> usize {
    let url = format!("https://127.0.0.1:{}", server.grpc_addr().port());
    let remote = RemoteClient::connect_tls(&url, None, client).await.expect("control API over TLS");
    remote.get(trace_id).await.expect("GetTrace").expect("trace found").spans.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_exporters_over_tls_with_the_ca_certificate() {
    let pki = Pki::new();
    let server = start_tls(&pki, false).await;
    for kind in [Exporter::Grpc, Exporter::Http] {
        let trace_id = tokio::time::timeout(NO_HANG, export(kind, &server, &pki, false))
            .await
            .expect("no hang")
            .expect("export over TLS succeeds");
        assert_eq!(read_back(&server, &pki.client_tls(false), trace_id).await, 1);
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_refuses_a_client_without_a_certificate() {
    let pki = Pki::new();
    let server = start_tls(&pki, true).await;
    for kind in [Exporter::Grpc, Exporter::Http] {
        let refused =
            tokio::time::timeout(NO_HANG, export(kind, &server, &pki, false)).await.expect("no hang");
        assert!(refused.is_err(), "an exporter without a client certificate must be refused");
        let trace_id = tokio::time::timeout(NO_HANG, export(kind, &server, &pki, true))
            .await
            .expect("no hang")
            .expect("export with the client certificate succeeds");
        assert_eq!(read_back(&server, &pki.client_tls(true), trace_id).await, 1);
    }
    let url = format!("https://127.0.0.1:{}", server.grpc_addr().port());
    let without = RemoteClient::connect_tls(&url, None, &pki.client_tls(false)).await;
    // The server checks the certificate at the end of the handshake; with TLS 1.3 the
    // client learns of it on its first call, so either step may be the one that fails.
    let failed = match without {
        Err(_) => true,
        Ok(client) => client.stats().await.is_err(),
    };
    assert!(failed, "the control API refuses a client without a certificate");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_against_a_tls_port_is_an_error_not_a_hang() {
    let pki = Pki::new();
    let server = start_tls(&pki, false).await;
    let grpc = format!("http://{}", server.grpc_addr());
    let plain = tokio::time::timeout(NO_HANG, async {
        let client = RemoteClient::connect(&grpc, None).await?;
        client.stats().await
    })
    .await
    .expect("no hang");
    assert!(plain.is_err(), "plaintext gRPC against TLS: {plain:?}");

    let http = format!("http://{}/v1/traces", server.http_addr());
    let posted = tokio::time::timeout(
        NO_HANG,
        reqwest::Client::new()
            .post(&http)
            .header("content-type", "application/x-protobuf")
            .body(Vec::new())
            .send(),
    )
    .await
    .expect("no hang");
    assert!(posted.is_err(), "plaintext HTTP against TLS: {posted:?}");

    // The listener still serves TLS clients afterwards.
    let trace_id = export(Exporter::Grpc, &server, &pki, false).await.expect("TLS export after plaintext");
    assert_eq!(read_back(&server, &pki.client_tls(false), trace_id).await, 1);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn https_against_a_plaintext_server_fails_instead_of_speaking_cleartext() {
    let server = server::start(ServerConfig::ephemeral(), server::routes::control_routes).await.unwrap();
    let url = format!("https://{}", server.grpc_addr());
    let result = tokio::time::timeout(NO_HANG, async {
        let client = RemoteClient::connect(&url, Some("s3cret")).await?;
        client.stats().await
    })
    .await
    .expect("no hang");
    assert!(result.is_err(), "https:// must mean TLS: {result:?}");
    let pki = Pki::new();
    let plain_with_ca =
        RemoteClient::connect_tls(&format!("http://{}", server.grpc_addr()), None, &pki.client_tls(false))
            .await;
    assert!(matches!(&plain_with_ca, Err(error) if error.is_bad_input()), "--ca-cert with http://");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_tls_and_its_client_verifies() {
    let pki = Pki::new();
    let (grpc, http) = (common::free_addr(), common::free_addr());
    let path = |name: &str| pki.path(name).display().to_string();
    let mut serve = common::tracecheck()
        .args(["serve", "--grpc-addr", &grpc.to_string(), "--http-addr", &http.to_string()])
        .args(["--tls-cert", &path("server.pem"), "--tls-key", &path("server-key.pem")])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start serve");
    // Ready when it logs that it serves; the log line is the event.
    let mut lines = tokio::io::BufReader::new(serve.stderr.take().expect("stderr")).lines();
    loop {
        let line = lines.next_line().await.expect("read serve log").expect("serve exited before serving");
        if line.contains("tracecheck serving") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let url = format!("https://127.0.0.1:{}", grpc.port());
    let listed =
        common::run_tracecheck(&["traces", "list", "--server", &url, "--ca-cert", &path("ca.pem")]).await;
    assert_eq!(listed.status.code(), Some(0), "{}", String::from_utf8_lossy(&listed.stderr));

    let unverified = common::run_tracecheck(&["traces", "list", "--server", &url]).await;
    let stderr = String::from_utf8_lossy(&unverified.stderr);
    assert_ne!(unverified.status.code(), Some(0));
    assert!(stderr.contains("certificate"), "a certificate error: {stderr}");
    let _ = serve.kill().await;
}

#[tokio::test]
async fn serve_names_an_unusable_certificate_file_and_exits_2() {
    let pki = Pki::new();
    pki.write("not-a-cert.pem", "hello");
    let path = |name: &str| pki.path(name).display().to_string();
    let (grpc, http) = (common::free_addr().to_string(), common::free_addr().to_string());
    for (cert, key, named) in [
        ("not-a-cert.pem", "server-key.pem", "not-a-cert.pem"),
        ("server.pem", "missing.pem", "missing.pem"),
        ("server.pem", "client-key.pem", "client-key.pem"),
    ] {
        let output = common::run_tracecheck(&[
            "serve",
            "--grpc-addr",
            &grpc,
            "--http-addr",
            &http,
            "--tls-cert",
            &path(cert),
            "--tls-key",
            &path(key),
        ])
        .await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{cert}/{key}: {stderr}");
        assert!(stderr.contains(named), "names {named}: {stderr}");
    }
}
