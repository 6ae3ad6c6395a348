//! TLS on every listener (issue 13, item 7) and `--server https://` meaning TLS (defect 3),
//! with certificates made here by rcgen: a CA, a server certificate for 127.0.0.1, and a
//! client certificate. The SDK's own OTLP exporters (gRPC and HTTP) export over TLS; under
//! mTLS a client without a certificate is refused; plaintext against a TLS port is an
//! error, not a hang; and the real binary's `traces list --server https://` verifies.

use std::path::PathBuf;

use model::TraceId;
use opentelemetry::trace::{Span as _, Tracer as _};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use server::api::RemoteClient;
use server::tls::{ClientTls, ServerTls};
use server::RunningServer;

use crate::support::otel::{self, Exporter, Tls, Transport};
use crate::support::{server, tracecheck, HANG};

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
    server().tls(pki.server_tls(mtls)).start().await
}

/// Exports one span through the SDK's real OTLP exporter over `transport`, trusting the
/// CA (and showing the client certificate when `identity`); the SDK's flush returns the
/// export's result.
async fn export(
    transport: Transport,
    server: &RunningServer,
    pki: &Pki,
    identity: bool,
) -> Result<TraceId, opentelemetry_sdk::error::OTelSdkError> {
    let tls = Tls {
        ca_pem: pki.ca_pem.clone(),
        identity: identity.then(|| (pki.client_cert_pem.clone(), pki.client_key_pem.clone())),
    };
    let exporter = Exporter::new(transport, server.grpc_addr(), server.http_addr()).tls(tls);
    let resource = opentelemetry_sdk::Resource::builder().build();
    otel::export(exporter, resource, "tracecheck-tls-tests", |tracer| {
        let mut span = tracer.start("GET /over-tls");
        let trace_id = TraceId(span.span_context().trace_id().to_bytes());
        span.end();
        trace_id
    })
    .await
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
    for kind in [Transport::Grpc, Transport::HttpProtobuf] {
        let trace_id = tokio::time::timeout(HANG, export(kind, &server, &pki, false))
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
    for kind in [Transport::Grpc, Transport::HttpProtobuf] {
        let refused = tokio::time::timeout(HANG, export(kind, &server, &pki, false)).await.expect("no hang");
        assert!(refused.is_err(), "an exporter without a client certificate must be refused");
        let trace_id = tokio::time::timeout(HANG, export(kind, &server, &pki, true))
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
    let plain = tokio::time::timeout(HANG, async {
        let client = RemoteClient::connect(&grpc, None).await?;
        client.stats().await
    })
    .await
    .expect("no hang");
    assert!(plain.is_err(), "plaintext gRPC against TLS: {plain:?}");

    let http = format!("http://{}/v1/traces", server.http_addr());
    let posted = tokio::time::timeout(
        HANG,
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
    let trace_id = export(Transport::Grpc, &server, &pki, false).await.expect("TLS export after plaintext");
    assert_eq!(read_back(&server, &pki.client_tls(false), trace_id).await, 1);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn https_against_a_plaintext_server_fails_instead_of_speaking_cleartext() {
    let server = server().start().await;
    let url = format!("https://{}", server.grpc_addr());
    let result = tokio::time::timeout(HANG, async {
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
    let path = |name: &str| pki.path(name).display().to_string();
    let serve =
        crate::support::serve(&["--tls-cert", &path("server.pem"), "--tls-key", &path("server-key.pem")])
            .await;

    let url = format!("https://127.0.0.1:{}", serve.grpc.port());
    let listed =
        tracecheck().args(["traces", "list", "--server", &url, "--ca-cert", &path("ca.pem")]).output().await;
    listed.assert_code(0);

    let unverified = tracecheck().args(["traces", "list", "--server", &url]).output().await;
    assert_ne!(unverified.code(), Some(0), "{unverified}");
    assert!(unverified.stderr().contains("certificate"), "a certificate error: {unverified}");
}

#[tokio::test]
async fn serve_names_an_unusable_certificate_file_and_exits_2() {
    let pki = Pki::new();
    pki.write("not-a-cert.pem", "hello");
    let path = |name: &str| pki.path(name).display().to_string();
    for (cert, key, named) in [
        ("not-a-cert.pem", "server-key.pem", "not-a-cert.pem"),
        ("server.pem", "missing.pem", "missing.pem"),
        ("server.pem", "client-key.pem", "client-key.pem"),
    ] {
        let output = tracecheck()
            .args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
            .args(["--tls-cert", &path(cert), "--tls-key", &path(key)])
            .output()
            .await;
        assert_eq!(output.code(), Some(2), "{cert}/{key}: {output}");
        assert!(output.stderr().contains(named), "names {named}: {output}");
    }
}

/// Under TLS the browser login's cookie is `Secure`, so a browser never sends the token
/// over plain HTTP to the same host.
#[tokio::test]
async fn the_login_cookie_is_secure_under_tls() {
    let pki = Pki::new();
    let server = server().tls(pki.server_tls(false)).auth_token("s3cret").start().await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{}/?token=s3cret", server.http_addr().port());
    let answer = client.get(url).send().await.expect("https login");
    assert_eq!(answer.status().as_u16(), 303);
    let cookie = answer.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure") && cookie.contains("HttpOnly"), "{cookie}");
}
