//! The grpc trigger against a real tonic server on 127.0.0.1:0 whose service is built at
//! run time from the same proto file (`support::greeter`, tests/fixtures/spec/greeter.proto).

use std::net::SocketAddr;

use prost_reflect::{DynamicMessage, Value};
use tokio::sync::mpsc;
use tonic::metadata::MetadataMap;
use tonic::{Response, Status};

use trigger::{self, GrpcTrigger, Header, Trigger};

use crate::support::greeter::{proto_text, serve as serve_greeter};
use crate::support::{free_addr, ids};

/// A greeter whose `SayHello` echoes the name `times` times and the traceparent it saw
/// (`missing` is NOT_FOUND), reporting each call's metadata.
async fn start_server() -> (SocketAddr, mpsc::UnboundedReceiver<MetadataMap>) {
    let (seen, receiver) = mpsc::unbounded_channel();
    let addr = serve_greeter(move |reply, request: tonic::Request<DynamicMessage>| {
        let _ = seen.send(request.metadata().clone());
        Box::pin(async move {
            let traceparent = request
                .metadata()
                .get("traceparent")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let message = request.get_ref();
            let name = message
                .get_field_by_name("name")
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let times = message.get_field_by_name("times").and_then(|v| v.as_i32()).unwrap_or(0);
            if name == "missing" {
                let mut status = Status::not_found("no such user");
                status.metadata_mut().insert("x-reason", "nope".parse().expect("ascii"));
                return Err(status);
            }
            let mut answer = DynamicMessage::new(reply);
            answer
                .set_field_by_name("message", Value::String(format!("hello {name}").repeat(times as usize)));
            answer.set_field_by_name("count", Value::I32(times));
            answer.set_field_by_name("traceparents", Value::List(vec![Value::String(traceparent)]));
            let mut response = Response::new(answer);
            response.metadata_mut().insert("x-server", "greeter".parse().expect("ascii"));
            Ok(response)
        })
    })
    .await;
    (addr, receiver)
}

fn greeter(address: String, request: &str) -> GrpcTrigger {
    GrpcTrigger {
        proto: proto_text(),
        proto_name: "greeter.proto".into(),
        proto_dir: None,
        address,
        method: "test.v1.Greeter.SayHello".into(),
        request: request.into(),
        metadata: vec![
            Header { key: "X-Tenant".into(), value: "acme".into() },
            Header { key: "traceparent".into(), value: "replaced".into() },
            Header { key: "".into(), value: "ignored".into() },
        ],
        service: None,
        auth: None,
    }
}

#[tokio::test]
async fn calls_a_unary_method_with_metadata_and_trace_context() {
    let (addr, mut seen) = start_server().await;
    let (trace_id, span_id) = ids();
    let definition = Trigger::Grpc(greeter(addr.to_string(), r#"{"name": "ana", "times": 2}"#));
    let response = definition.fire(trace_id, span_id, &trigger::Session::default()).await.expect("response");

    let metadata = seen.recv().await.expect("call seen");
    assert_eq!(metadata.get("x-tenant").and_then(|v| v.to_str().ok()), Some("acme"));
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    assert_eq!(metadata.get_all("traceparent").iter().count(), 1);
    assert_eq!(metadata.get("traceparent").and_then(|v| v.to_str().ok()), Some(traceparent));
    assert_eq!(metadata.get("tracestate").and_then(|v| v.to_str().ok()), Some("tracetest=true"));

    assert_eq!(response.status, 0);
    assert_eq!(response.status_text, "OK");
    assert_eq!(response.trace_id, trace_id);
    assert!(
        response.headers.iter().any(|(key, value)| key == "x-server" && value == "greeter"),
        "{:?}",
        response.headers
    );
    // Indented JSON with default-valued fields (done = false) included.
    assert!(response.body.contains("\n  \"message\": \"hello anahello ana\""), "{}", response.body);
    let body: serde_json::Value = serde_json::from_str(&response.body).expect("json body");
    assert_eq!(
        body,
        serde_json::json!({"message": "hello anahello ana", "count": 2, "done": false, "traceparents": [traceparent]})
    );
}

#[tokio::test]
async fn a_non_ok_status_is_a_response() {
    let (addr, _seen) = start_server().await;
    let (trace_id, span_id) = ids();
    let response = greeter(addr.to_string(), r#"{"name": "missing"}"#)
        .fire(trace_id, span_id, &trigger::Connections::default())
        .await
        .expect("response");
    assert_eq!(response.status, 5);
    assert_eq!(response.status_text, "NotFound");
    assert_eq!(response.body, "");
    assert!(
        response.headers.iter().any(|(key, value)| key == "x-reason" && value == "nope"),
        "{:?}",
        response.headers
    );
}

#[tokio::test]
async fn bad_requests_and_unreachable_servers_are_errors() {
    let (trace_id, span_id) = ids();
    let addr = free_addr();
    let error = greeter(addr.to_string(), "{}")
        .fire(trace_id, span_id, &trigger::Connections::default())
        .await
        .expect_err("refused");
    assert!(matches!(error, trigger::Error::Request { .. }), "{error:?}");

    let error = greeter(addr.to_string(), r#"{"nam": 1}"#)
        .fire(trace_id, span_id, &trigger::Connections::default())
        .await
        .expect_err("bad json");
    assert!(matches!(error, trigger::Error::RequestBody { .. }), "{error:?}");

    let mut definition = greeter(addr.to_string(), "{}");
    definition.method = "test.v1.Greeter.Nope".into();
    let error =
        definition.fire(trace_id, span_id, &trigger::Connections::default()).await.expect_err("no method");
    assert!(matches!(error, trigger::Error::MethodNotFound { .. }), "{error:?}");

    definition.proto = "syntax = \"proto3\"; message {".into();
    let error =
        definition.fire(trace_id, span_id, &trigger::Connections::default()).await.expect_err("bad proto");
    assert!(matches!(error, trigger::Error::Proto { .. }), "{error:?}");
}

/// A proto's imports come from its own folder tree: an absolute import or one climbing out
/// with `..` is not found, even when the file exists (it was parsed before).
#[test]
fn proto_imports_stay_inside_the_proto_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tree = dir.path().join("protos");
    std::fs::create_dir_all(tree.join("inner")).unwrap();
    let message = "syntax = \"proto3\";\npackage other;\nmessage Other { string id = 1; }\n";
    std::fs::write(tree.join("inner/ok.proto"), message).unwrap();
    std::fs::write(dir.path().join("outside.proto"), message).unwrap();
    let importing = |path: &str| {
        format!(
            "syntax = \"proto3\";\npackage main;\nimport \"{path}\";\nmessage M {{ other.Other o = 1; }}\n"
        )
    };
    let compile = |text: String| trigger::grpc::compile_proto("main.proto", &text, Some(&tree));
    assert!(compile(importing("inner/ok.proto")).is_ok());
    let outside = dir.path().join("outside.proto");
    for path in ["../outside.proto", outside.to_str().unwrap(), "inner/../../outside.proto"] {
        let error = compile(importing(path)).expect_err(path);
        assert!(error.to_string().contains("main.proto"), "{path}: {error}");
    }
}

/// The grpc triggers of one run share a channel per address (issue 23, item 3): a
/// connection each put every run's connect against the app's listen backlog at once. The
/// greeter answers with the client port the call came over.
#[tokio::test]
async fn triggers_with_one_connections_reuse_a_channel() {
    let addr = serve_greeter(|reply, request: tonic::Request<DynamicMessage>| {
        let port = request.remote_addr().map(|peer| peer.port()).unwrap_or_default();
        Box::pin(async move {
            let mut answer = DynamicMessage::new(reply);
            answer.set_field_by_name("message", Value::String(port.to_string()));
            Ok(Response::new(answer))
        })
    })
    .await;
    let trigger = greeter(addr.to_string(), r#"{"name": "ana"}"#);
    let (trace_id, span_id) = ids();
    let port = |body: &str| {
        let body: serde_json::Value = serde_json::from_str(body).expect("json body");
        body["message"].as_str().expect("message").to_string()
    };
    let shared = trigger::Connections::default();
    let mut ports = std::collections::BTreeSet::new();
    for _ in 0..5 {
        ports.insert(port(&trigger.fire(trace_id, span_id, &shared).await.expect("response").body));
    }
    assert_eq!(ports.len(), 1, "one connection for one run's triggers: {ports:?}");
    let other = trigger.fire(trace_id, span_id, &trigger::Connections::default()).await.expect("response");
    assert!(!ports.contains(&port(&other.body)), "{} in {ports:?}", other.body);
}
