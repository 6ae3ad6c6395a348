//! The http trigger against a real axum server on 127.0.0.1:0.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Router;
use tokio::sync::mpsc;

use trigger::{self, ApiKeyLocation, Auth, Header, HttpTrigger, Trigger};

use crate::support::apps::serve_http;
use crate::support::{assert_trace_context, fixture, free_addr, ids};

/// What the server saw.
#[derive(Debug)]
struct Seen {
    method: String,
    path_and_query: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str()).collect()
    }
}

async fn record(State(seen): State<mpsc::UnboundedSender<Seen>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let path = parts.uri.path().to_string();
    let _ = seen.send(Seen {
        method: parts.method.to_string(),
        path_and_query: parts.uri.path_and_query().map(|pq| pq.to_string()).unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_string()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let status = if path == "/fail" { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::CREATED };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-multi", "one")
        .header("x-multi", "two")
        .body(Body::from(r#"{"id": 42}"#))
        .expect("response")
}

async fn start_server() -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (serve_http(Router::new().fallback(record).with_state(sender)).await, receiver)
}

fn http(url: String) -> HttpTrigger {
    HttpTrigger {
        method: "post".into(),
        url,
        headers: Vec::new(),
        body: String::new(),
        ssl_verification: false,
        auth: None,
    }
}

#[tokio::test]
async fn sends_method_headers_body_auth_and_trace_context() {
    let (addr, mut seen) = start_server().await;
    let (trace_id, span_id) = ids();
    let mut definition = http(format!("http://{addr}/users"));
    definition.headers = vec![
        Header { key: "Content-Type".into(), value: "application/json".into() },
        Header { key: "X-Tag".into(), value: "a".into() },
        Header { key: "X-Tag".into(), value: "b".into() },
        // Propagation headers replace a user's.
        Header {
            key: "traceparent".into(),
            value: "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-00".into(),
        },
        Header { key: "".into(), value: "ignored".into() },
    ];
    definition.body = r#"{"name": "ana"}"#.into();
    definition.auth = Some(Auth::Bearer { token: "Bearer abc".into() });

    let response = Trigger::Http(definition)
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .expect("response");
    let seen = seen.recv().await.expect("request seen");
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path_and_query, "/users");
    assert_eq!(seen.body, r#"{"name": "ana"}"#);
    assert_eq!(seen.header_values("content-type"), ["application/json"]);
    assert_eq!(seen.header_values("x-tag"), ["a", "b"]);
    assert_eq!(seen.header_values("authorization"), ["Bearer abc"]);
    assert_eq!(seen.header_values("traceparent").len(), 1, "the user's traceparent is replaced");
    assert_trace_context(|name| {
        let values = seen.header_values(name);
        assert!(values.len() <= 1, "{name}: {values:?}");
        values.first().map(|value| value.to_string())
    });

    assert_eq!(response.trace_id, trace_id);
    assert_eq!(response.status, 201);
    assert_eq!(response.status_text, "201 Created");
    assert_eq!(response.body, r#"{"id": 42}"#);
    let multi: Vec<&str> = response
        .headers
        .iter()
        .filter(|(key, _)| key == "x-multi")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(multi, ["one", "two"]);
    assert!(response.started <= response.finished);
}

#[tokio::test]
async fn auth_forms_and_a_bare_host() {
    let (addr, mut seen) = start_server().await;
    let (trace_id, span_id) = ids();
    let cases = [
        (Auth::Basic { username: "u".into(), password: "p".into() }, "authorization", "Basic dTpw", "/a"),
        (
            Auth::ApiKey { key: "X-Key".into(), value: "secret".into(), location: ApiKeyLocation::Header },
            "x-key",
            "secret",
            "/a",
        ),
    ];
    for (auth, header, expected, path) in cases {
        let mut definition = http(format!("{addr}/a"));
        definition.method = "GET".into();
        definition.auth = Some(auth);
        definition.fire(trace_id, span_id, &trigger::Session::default()).await.expect("response");
        let request = seen.recv().await.expect("request seen");
        assert_eq!(request.method, "GET");
        assert_eq!(request.path_and_query, path);
        assert_eq!(request.header_values(header), [expected]);
    }
    let mut definition = http(format!("http://{addr}/q?x=1"));
    definition.auth =
        Some(Auth::ApiKey { key: "key".into(), value: "v w".into(), location: ApiKeyLocation::Query });
    definition.fire(trace_id, span_id, &trigger::Session::default()).await.expect("response");
    assert_eq!(seen.recv().await.expect("request").path_and_query, "/q?x=1&key=v+w");
}

#[tokio::test]
async fn an_error_status_is_a_response() {
    let (addr, _seen) = start_server().await;
    let (trace_id, span_id) = ids();
    let response = http(format!("http://{addr}/fail"))
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .expect("a response");
    assert_eq!(response.status, 500);
    assert_eq!(response.status_text, "500 Internal Server Error");
}

#[tokio::test]
async fn an_unreachable_url_is_an_error() {
    // A port that was just free: nothing listens there.
    let addr = free_addr();
    let (trace_id, span_id) = ids();
    let error = http(format!("http://{addr}/"))
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .expect_err("connection refused");
    assert!(matches!(error, trigger::Error::Request { .. }), "{error:?}");
    assert!(error.to_string().contains(&addr.to_string()), "{error}");

    let error = http("http://exa mple/".into())
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .expect_err("bad url");
    assert!(matches!(error, trigger::Error::InvalidUrl { .. }), "{error:?}");
}

#[test]
fn render_maps_every_template_field() {
    let definition = Trigger::Http(HttpTrigger {
        method: "GET".into(),
        url: "${var:HOST}/x".into(),
        headers: vec![Header { key: "${var:K}".into(), value: "${var:V}".into() }],
        body: "${var:B}".into(),
        ssl_verification: false,
        auth: Some(Auth::Basic { username: "${var:U}".into(), password: "p".into() }),
    });
    let rendered = definition
        .render(&mut |text: &str| -> Result<String, String> {
            Ok(text.replace("${var:", "<").replace('}', ">"))
        })
        .expect("render");
    let Trigger::Http(http) = rendered else { panic!("http") };
    assert_eq!(http.url, "<HOST>/x");
    assert_eq!(http.headers[0], Header { key: "<K>".into(), value: "<V>".into() });
    assert_eq!(http.body, "<B>");
    assert_eq!(http.auth, Some(Auth::Basic { username: "<U>".into(), password: "p".into() }));
    let failed = definition.render(&mut |text: &str| {
        if text.contains("B") {
            Err(text.to_string())
        } else {
            Ok(text.into())
        }
    });
    assert_eq!(failed, Err("${var:B}".to_string()));
}

#[tokio::test]
async fn traceid_trigger_names_the_trace() {
    let (trace_id, span_id) = ids();
    let definition =
        Trigger::TraceId(trigger::TraceIdTrigger { id: "4bf92f3577b34da6a3ce929d0e0e4736".into() });
    let response = definition.fire(trace_id, span_id, &trigger::Session::default()).await.expect("valid id");
    assert_eq!(response.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    for bad in ["", "xyz", "4bf92f3577b34da6a3ce929d0e0e473", "00000000000000000000000000000000"] {
        let definition = Trigger::TraceId(trigger::TraceIdTrigger { id: bad.into() });
        assert!(
            matches!(
                definition.fire(trace_id, span_id, &trigger::Session::default()).await,
                Err(trigger::Error::TraceId(_))
            ),
            "{bad}"
        );
    }
}

/// An HTTPS server with a self-signed certificate (tests/fixtures/tls) that answers every
/// connection with `200 ok`.
async fn start_tls_server() -> SocketAddr {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;

    let fixtures = fixture("tls");
    let cert =
        rustls::pki_types::CertificateDer::from(std::fs::read(fixtures.join("cert.der")).expect("cert"));
    let key =
        rustls::pki_types::PrivateKeyDer::Pkcs8(std::fs::read(fixtures.join("key.der")).expect("key").into());
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else { return };
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = tls
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn ssl_verification_toggles_certificate_checks() {
    let addr = start_tls_server().await;
    let (trace_id, span_id) = ids();
    let mut definition = http(format!("https://localhost:{}/", addr.port()));
    definition.method = "GET".into();
    // Tracetest's default: certificates are not verified, so self-signed is fine.
    let response =
        definition.fire(trace_id, span_id, &trigger::Session::default()).await.expect("unverified TLS works");
    assert_eq!((response.status, response.body.as_str()), (200, "ok"));
    definition.ssl_verification = true;
    let error = definition
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .expect_err("self-signed certificate rejected");
    assert!(matches!(error, trigger::Error::Request { .. }), "{error:?}");
    assert!(error.to_string().to_lowercase().contains("certificate"), "{error}");
}

/// A body longer than the limit is cut there and the rest never read: an endless body
/// answers at once with what was kept and where it was cut (the run warns with it).
#[tokio::test]
async fn an_endless_body_is_cut_at_the_limit() {
    let endless = || async {
        let chunk = axum::body::Bytes::from(vec![b'x'; 64 * 1024]);
        let stream = futures::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
        Response::new(Body::from_stream(stream))
    };
    let addr = serve_http(Router::new().fallback(endless)).await;
    let (trace_id, span_id) = ids();
    let session = trigger::Session { max_body: 1024 * 1024, ..trigger::Session::default() };
    let response =
        http(format!("http://{addr}/")).fire(trace_id, span_id, &session).await.expect("a response");
    assert_eq!(response.body.len(), 1024 * 1024);
    assert_eq!(response.body_truncated_at, Some(1024 * 1024));
    // Within the limit, nothing is cut.
    let (addr, _seen) = start_server().await;
    let response =
        http(format!("http://{addr}/")).fire(trace_id, span_id, &session).await.expect("a response");
    assert_eq!((response.body.as_str(), response.body_truncated_at), (r#"{"id": 42}"#, None));
}

/// The triggers of one run share their connections (issue 23, item 3): 200 runs at once
/// opened a connection each per wave and overflowed the app's listen backlog. Each answer
/// here names the client port it came over.
#[tokio::test]
async fn triggers_of_one_session_reuse_a_connection() {
    async fn peer_port(axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>) -> String {
        peer.port().to_string()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().fallback(peer_port).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let trigger = http(format!("http://{addr}/"));
    let (trace_id, span_id) = ids();
    let shared = trigger::Session::default();
    let mut ports = std::collections::BTreeSet::new();
    for _ in 0..5 {
        ports.insert(trigger.fire(trace_id, span_id, &shared).await.expect("response").body);
    }
    assert_eq!(ports.len(), 1, "one connection for one run's triggers: {ports:?}");
    // Separate runs (their own sessions) do not share.
    let other = trigger.fire(trace_id, span_id, &trigger::Session::default()).await.expect("response").body;
    assert!(!ports.contains(&other), "{other} in {ports:?}");
}

/// An app whose listen backlog is full drops the SYN: the step fails at the connect timeout
/// and says so, not "timed out after 30 s" (the whole request's timeout).
#[tokio::test]
async fn a_full_listen_backlog_is_a_connect_timeout() {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = socket.local_addr().expect("addr");
    // Never accepted: the queue fills after a connection or two.
    let _listener = socket.listen(1).expect("listen");
    let mut held = Vec::new();
    loop {
        match tokio::time::timeout(
            std::time::Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(stream) => held.push(stream.expect("connect")),
            Err(_) => break,
        }
        assert!(held.len() < 16, "the backlog never filled");
    }
    let (trace_id, span_id) = ids();
    let error = http(format!("http://{addr}/"))
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .expect_err("no connection");
    assert!(matches!(error, trigger::Error::ConnectTimeout { .. }), "{error:?}");
    assert_eq!(error.to_string(), format!("cannot connect to http://{addr}/ within 1 s"));
}

/// A server on its own port that answers every request with `302` to `to` (the path's
/// number of hops left is kept: `/hops/N` goes to `/hops/N-1`, `/hops/0` to `to`).
async fn start_redirector(to: String) -> SocketAddr {
    let redirect = move |request: Request| {
        let to = to.clone();
        async move {
            let path = request.uri().path().to_string();
            let location = match path.strip_prefix("/hops/").and_then(|n| n.parse::<u32>().ok()) {
                Some(n) if n > 0 => format!("/hops/{}", n - 1),
                _ => to,
            };
            Response::builder()
                .status(StatusCode::FOUND)
                .header("location", location)
                .body(Body::empty())
                .expect("response")
        }
    };
    serve_http(Router::new().fallback(redirect)).await
}

/// Issue 22: redirects were followed silently, to any loopback port. They are followed up to
/// `max_redirects` (10 by default, as Go's client), the step is told where the answer came
/// from, 0 makes the redirect itself the answer, and a longer chain is an error naming the
/// limit.
#[tokio::test]
async fn redirects_are_followed_up_to_the_limit_and_said() {
    let (target, mut seen) = start_server().await;
    let final_url = format!("http://{target}/final");
    let redirector = start_redirector(final_url.clone()).await;
    let (trace_id, span_id) = ids();

    let response = http(format!("http://{redirector}/start"))
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .expect("a response");
    assert_eq!(response.status, 201, "the answer is the redirect target's");
    assert_eq!(seen.recv().await.expect("the target was asked").path_and_query, "/final");
    assert_eq!(response.notes.len(), 1, "{:?}", response.notes);
    assert!(response.notes[0].contains("followed 1 redirect"), "{:?}", response.notes);
    assert!(response.notes[0].contains(&final_url), "the note names the final URL: {:?}", response.notes);

    let none = trigger::Session { max_redirects: 0, ..trigger::Session::default() };
    let response =
        http(format!("http://{redirector}/start")).fire(trace_id, span_id, &none).await.expect("a response");
    assert_eq!(response.status, 302, "with 0 the redirect is the answer");
    assert!(response.notes[0].contains("not followed"), "{:?}", response.notes);
    assert!(seen.try_recv().is_err(), "the target was not asked");

    // Four redirects (three hops, then to the target): within a limit of 4, past one of 3.
    let session = |max_redirects| trigger::Session { max_redirects, ..trigger::Session::default() };
    let chain = format!("http://{redirector}/hops/3");
    let response = http(chain.clone()).fire(trace_id, span_id, &session(4)).await.expect("a response");
    assert_eq!(response.status, 201);
    assert!(response.notes[0].contains("followed 4 redirects"), "{:?}", response.notes);
    let error = http(chain).fire(trace_id, span_id, &session(3)).await.expect_err("too many redirects");
    assert!(
        model::error_chain(&error).contains("stopped after 3 redirects"),
        "{}",
        model::error_chain(&error)
    );
}
