//! The kafka trigger against real Kafka-protocol brokers (Tansu, and noida-db for SASL
//! PLAIN; both installed from PyPI through `support::tools` and started on a free port by
//! each test, ready when they say so), with a consumer instrumented with the OpenTelemetry SDK that continues
//! the record's trace context.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{Span as _, SpanKind, Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use rskafka::client::partition::{PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::support::tools::tool;
use crate::support::{assert_trace_context, demo, free_addr, ids, run_embedded, vars_file, Files, HANG};
use trigger::kafka::java_partition;
use trigger::{Error, Header, KafkaAuth, KafkaTrigger, SaslMechanism, Trigger};

const PARTITIONS: i32 = 3;

/// A running broker; killed on drop.
struct Broker {
    addr: SocketAddr,
    _child: Child,
    _data: Option<tempfile::TempDir>,
}

/// Starts a broker and waits for the line it prints once it listens (`ready`); its output
/// after that is drained.
async fn spawn(
    mut command: tokio::process::Command,
    addr: SocketAddr,
    ready: &str,
    data: Option<tempfile::TempDir>,
) -> Broker {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the broker");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    let found = tokio::time::timeout(HANG, async {
        while let Ok(Some(line)) = lines.next_line().await {
            let found = line.contains(ready);
            seen.push(line);
            if found {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(found, Ok(true)),
        "the broker did not say {ready:?} (listening on {addr}):\n{}",
        seen.join("\n")
    );
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Broker { addr, _child: child, _data: data }
}

/// Tansu (a Kafka-compatible broker, in-memory storage) on a free port.
async fn start_broker() -> Broker {
    let addr = free_addr();
    start_broker_advertising(addr, addr).await
}

/// Tansu listening on `addr` and telling clients to connect to `advertised` (all but the
/// first connection of a client go there).
async fn start_broker_advertising(addr: SocketAddr, advertised: SocketAddr) -> Broker {
    let url = format!("tcp://{addr}");
    let advertised = format!("tcp://{advertised}");
    let mut command = tokio::process::Command::new(tool("tansu"));
    command
        .args(["broker", "--listener-url", &url, "--advertised-listener-url", &advertised])
        .args(["--storage-engine", "memory://tansu/"]);
    spawn(command, addr, "ready in", None).await
}

/// A TCP proxy in front of a broker that counts the connections made through it and can
/// break every one of them.
struct Proxy {
    addr: SocketAddr,
    opened: Arc<std::sync::atomic::AtomicUsize>,
    relays: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(to: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let opened = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let relays = Arc::new(std::sync::Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let (opened, relays) = (Arc::clone(&opened), Arc::clone(&relays));
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    relays.lock().expect("relays").push(tokio::spawn(async move {
                        let Ok(mut broker) = tokio::net::TcpStream::connect(to).await else { return };
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
                    }));
                }
            }
        });
        Proxy { addr, opened, relays, accept }
    }

    fn opened(&self) -> usize {
        self.opened.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Closes every connection made so far, at both ends.
    fn break_all(&self) {
        for relay in self.relays.lock().expect("relays").drain(..) {
            relay.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.break_all();
    }
}

/// noida-db's Kafka service, which accepts SASL PLAIN, on a free port.
async fn start_sasl_broker() -> Broker {
    let addr = free_addr();
    let data = tempfile::tempdir().expect("data dir");
    let mut command = tokio::process::Command::new(tool("noida"));
    command
        .args(["start", "--only", "kafka", "--kafka-port", &addr.port().to_string(), "--data-dir"])
        .arg(data.path());
    spawn(command, addr, "press Ctrl-C to stop", Some(data)).await
}

async fn client(broker: &Broker) -> Client {
    ClientBuilder::new(vec![broker.addr.to_string()]).build().await.expect("connect to tansu")
}

async fn create_topic(client: &Client, topic: &str) {
    let controller = client.controller_client().expect("controller");
    controller.create_topic(topic, PARTITIONS, 1, 5_000).await.expect("create topic");
}

async fn partition(client: &Client, topic: &str, partition: i32) -> PartitionClient {
    client.partition_client(topic, partition, UnknownTopicHandling::Retry).await.expect("partition client")
}

fn kafka(broker: String, topic: &str) -> KafkaTrigger {
    KafkaTrigger {
        broker_urls: vec![broker],
        topic: topic.into(),
        headers: vec![Header { key: "source".into(), value: "test".into() }],
        message_key: "user-1".into(),
        message_value: r#"{"id": 1}"#.into(),
        ssl_verification: false,
        authentication: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produces_to_the_java_partition_with_every_propagator_in_the_headers() {
    let broker = start_broker().await;
    let client = client(&broker).await;
    create_topic(&client, "users").await;
    let (trace_id, span_id) = ids();

    let trigger = Trigger::Kafka(kafka(format!("tcp://{}", broker.addr), "users"));
    let response = trigger.fire(trace_id, span_id, &trigger::Session::default()).await.expect("produce");
    let expected_partition = java_partition(b"user-1", PARTITIONS as usize) as i32;
    assert_eq!(
        response.attributes,
        vec![
            ("tracetest.run.trigger.kafka.partition", i64::from(expected_partition)),
            ("tracetest.run.trigger.kafka.offset", 0),
        ]
    );
    assert!(!trigger.records_response());

    // A second record (no key) lands somewhere; the first is where a Java producer puts it.
    let records = partition(&client, "users", expected_partition)
        .await
        .fetch_records(0, 1..1_000_000, 1_000)
        .await
        .expect("fetch")
        .0;
    let record = &records.first().expect("the produced record").record;
    assert_eq!(record.key.as_deref(), Some(&b"user-1"[..]));
    assert_eq!(record.value.as_deref(), Some(&br#"{"id": 1}"#[..]));
    let header = |name: &str| String::from_utf8(record.headers[name].clone()).expect("utf-8");
    assert_eq!(header("source"), "test");
    assert_trace_context(|name| {
        record.headers.get(name).map(|value| String::from_utf8_lossy(value).into_owned())
    });

    // A user header named like a propagation header is replaced, as for http.
    let mut overridden = kafka(broker.addr.to_string(), "users");
    overridden.headers.push(Header { key: "traceparent".into(), value: "mine".into() });
    overridden.message_key = String::new();
    let response = Trigger::Kafka(overridden)
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .expect("produce unkeyed");
    let (_, partition_id) = response.attributes[0];
    let (_, offset) = response.attributes[1];
    let records = partition(&client, "users", partition_id as i32)
        .await
        .fetch_records(offset, 1..1_000_000, 1_000)
        .await
        .expect("fetch")
        .0;
    let record = &records.first().expect("the unkeyed record").record;
    assert_eq!(record.key, None);
    assert!(record.headers["traceparent"].starts_with(b"00-0af7651916cd43dd8448eb211c80319c-"));
}

/// The kafka steps of one run connect once (issue 23): every fire of one session goes over
/// the connections its first fire made, counted at a proxy the broker advertises as itself;
/// another session connects afresh; and when the connections break, the next fire connects
/// again and succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fires_of_one_session_share_their_connections_and_reconnect_when_they_break() {
    let broker_addr = free_addr();
    let proxy = Proxy::start(broker_addr).await;
    let _broker = start_broker_advertising(broker_addr, proxy.addr).await;
    {
        let client = ClientBuilder::new(vec![proxy.addr.to_string()]).build().await.expect("connect");
        create_topic(&client, "users").await;
    }
    let (trace_id, span_id) = ids();
    let trigger = Trigger::Kafka(kafka(proxy.addr.to_string(), "users"));
    let session = trigger::Session::default();
    let before = proxy.opened();
    let first = trigger.fire(trace_id, span_id, &session).await.expect("produce");
    let after_first = proxy.opened();
    assert!(after_first > before, "the first fire connects");
    for n in 1..4 {
        let response = trigger.fire(trace_id, span_id, &session).await.expect("produce again");
        assert_eq!(response.attributes[0], first.attributes[0], "the same key, the same partition");
        assert_eq!(response.attributes[1].1, first.attributes[1].1 + n, "the next offset");
    }
    assert_eq!(proxy.opened(), after_first, "later fires of the session connect no more");

    // Another run (its own session) makes its own connections.
    trigger.fire(trace_id, span_id, &trigger::Session::default()).await.expect("produce");
    let after_other = proxy.opened();
    assert!(after_other > after_first, "a new session connects");

    // Broken connections: the next fire of the session connects again and produces.
    proxy.break_all();
    let response = trigger.fire(trace_id, span_id, &session).await.expect("produce after the break");
    assert_eq!(response.attributes[1].1, first.attributes[1].1 + 5, "the record after the others");
    assert!(proxy.opened() > after_other, "connected again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_broker_and_unknown_topic_are_clear_errors() {
    let (trace_id, span_id) = ids();
    let nobody = free_addr().to_string();
    let error = Trigger::Kafka(kafka(nobody.clone(), "users"))
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::Kafka { .. }), "{error:?}");
    assert!(text.contains(&nobody) && text.contains("broker unreachable"), "{text}");

    let broker = start_broker().await;
    let error = Trigger::Kafka(kafka(broker.addr.to_string(), "no-such-topic"))
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("unknown topic \"no-such-topic\""), "{error}");

    // A TLS client against a plaintext listener: the broker never answers the handshake.
    let error = Trigger::Kafka(kafka(format!("ssl://{}", broker.addr), "users"))
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("connect (TLS: is the listener TLS?) timed out after 10 s"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_plain_authenticates_and_an_unsupported_mechanism_is_refused() {
    let broker = start_sasl_broker().await;
    let client = ClientBuilder::new(vec![broker.addr.to_string()])
        .sasl_config(rskafka::client::SaslConfig::Plain(rskafka::client::Credentials::new(
            "u".into(),
            "p".into(),
        )))
        .build()
        .await
        .expect("connect with SASL PLAIN");
    create_topic(&client, "users").await;
    let (trace_id, span_id) = ids();
    let mut trigger = kafka(broker.addr.to_string(), "users");
    trigger.authentication =
        Some(KafkaAuth { mechanism: SaslMechanism::Plain, username: "u".into(), password: "p".into() });
    let response = Trigger::Kafka(trigger.clone())
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .expect("produce with SASL PLAIN");
    assert_eq!(response.attributes[1], ("tracetest.run.trigger.kafka.offset", 0));

    trigger.authentication =
        Some(KafkaAuth { mechanism: SaslMechanism::ScramSha512, username: "u".into(), password: "p".into() });
    let error =
        Trigger::Kafka(trigger).fire(trace_id, span_id, &trigger::Session::default()).await.unwrap_err();
    assert!(error.to_string().contains("authentication refused"), "{error}");
}

/// Record headers as an OpenTelemetry carrier.
struct RecordHeaders<'a>(&'a BTreeMap<String, Vec<u8>>);

impl Extractor for RecordHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| std::str::from_utf8(value).ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// A consumer of every partition of `topic` that starts a `CONSUMER` span under the
/// record's `traceparent` for each record, exporting to `otlp_grpc_endpoint`.
async fn start_consumer(client: Arc<Client>, topic: &'static str, otlp_grpc_endpoint: &str) -> Consumer {
    let provider = demo::tracer_provider(otlp_grpc_endpoint, "orders-worker").expect("tracer provider");
    let tracer = Arc::new(provider.tracer("orders-worker"));
    let mut tasks = Vec::new();
    for id in 0..PARTITIONS {
        let partition = partition(&client, topic, id).await;
        let tracer = Arc::clone(&tracer);
        tasks.push(tokio::spawn(async move {
            let mut next = 0;
            loop {
                let Ok((records, _)) = partition.fetch_records(next, 1..1_000_000, 500).await else {
                    continue;
                };
                for record in records {
                    next = record.offset + 1;
                    let parent =
                        TraceContextPropagator::new().extract(&RecordHeaders(&record.record.headers));
                    let value = String::from_utf8_lossy(record.record.value.as_deref().unwrap_or_default());
                    let order: serde_json::Value = serde_json::from_str(&value).unwrap_or_default();
                    let mut span = tracer
                        .span_builder(format!("{topic} process"))
                        .with_kind(SpanKind::Consumer)
                        .with_attributes([
                            KeyValue::new("messaging.system", "kafka"),
                            KeyValue::new("messaging.destination.name", topic),
                            KeyValue::new("messaging.destination.partition.id", id.to_string()),
                            KeyValue::new(
                                "messaging.kafka.message.key",
                                String::from_utf8_lossy(record.record.key.as_deref().unwrap_or_default())
                                    .into_owned(),
                            ),
                            KeyValue::new("order.id", order["id"].as_i64().unwrap_or(-1)),
                        ])
                        .start_with_context(tracer.as_ref(), &parent);
                    span.end();
                }
            }
        }));
    }
    Consumer { provider, tasks }
}

struct Consumer {
    provider: opentelemetry_sdk::trace::SdkTracerProvider,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Consumer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let _ = self.provider.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracetest_file_with_a_kafka_trigger_passes_on_the_consumer_spans() {
    let broker = start_broker().await;
    let client = Arc::new(client(&broker).await);
    create_topic(&client, "orders").await;
    let grpc = free_addr();
    let consumer = start_consumer(Arc::clone(&client), "orders", &format!("http://{grpc}")).await;
    let files = Files::new();
    let partition = java_partition(b"order-7", PARTITIONS as usize).to_string();
    let test = files.template("trigger/kafka-order.yaml", "order.yaml", &[("PARTITION", &partition)]);
    let vars = vars_file(&files, &[("BROKER", &broker.addr.to_string()), ("ORDER", "7")]);
    let output = run_embedded(&[&test, "--vars", &vars, "-o", "json"], grpc, &["--settle", "300ms"]).await;
    let report = output.json();
    let step = &report["steps"][0];
    assert_eq!(step["state"], "PASSED", "{step}\n{output}");
    output.assert_code(0);
    drop(consumer);

    // The same file with a broker nobody listens on: the step is ERROR, with the reason.
    let nobody = free_addr().to_string();
    let vars = vars_file(&files, &[("BROKER", &nobody), ("ORDER", "7")]);
    let output = run_embedded(&[&test, "--vars", &vars, "-o", "json"], free_addr(), &[]).await;
    output.assert_code(1);
    let report = output.json();
    let step = &report["steps"][0];
    assert_eq!(step["state"], "ERROR", "{step}");
    let error = step["error"].as_str().expect("error text");
    assert!(error.contains("broker unreachable") && error.contains(&nobody), "{error}");
}
