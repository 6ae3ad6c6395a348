//! The `kafka` trigger: one record produced to a topic, with the run's trace context in the
//! record's headers. The result is the partition and offset the broker acknowledged.
//!
//! The client (its connection to the cluster) and its partition clients (a connection to
//! each partition's leader) are kept in the run's [`Connections`], one set per broker list,
//! TLS setting and credentials, so the kafka steps of a suite connect once.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use rskafka::client::error::{Error as ClientError, ProtocolError};
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder, Credentials, SaslConfig};
use rskafka::record::Record;
use rskafka::BackoffConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::{propagation_headers, render_headers, Connections, Error, Header, TriggerResponse};
use model::defaults;
use model::defaults::TRIGGER_TIMEOUT;
use model::error_chain;
use model::{SpanId, TraceId};

/// `trigger: {type: kafka, kafka: {...}}` (reference 4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaTrigger {
    /// `host:port`, optionally with a scheme: `ssl://` or `tls://` (TLS), `tcp://` or
    /// `plaintext://` (no TLS).
    pub broker_urls: Vec<String>,
    pub topic: String,
    /// Record headers. Kafka headers are a map in rskafka: a repeated key keeps its last value.
    pub headers: Vec<Header>,
    /// Empty = no key (a random partition).
    pub message_key: String,
    pub message_value: String,
    /// Verify the broker's certificate. True also turns TLS on for bare `host:port` URLs.
    pub ssl_verification: bool,
    pub authentication: Option<KafkaAuth>,
}

/// SASL credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaAuth {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaslMechanism {
    /// Tracetest's `type: plain`.
    Plain,
    ScramSha256,
    ScramSha512,
}

impl SaslMechanism {
    /// The `authentication.type` spelling; the credentials sit under the same key.
    pub const NAMES: [(&'static str, SaslMechanism); 3] = [
        ("plain", SaslMechanism::Plain),
        ("scramSha256", SaslMechanism::ScramSha256),
        ("scramSha512", SaslMechanism::ScramSha512),
    ];
}

impl KafkaTrigger {
    /// A copy with every string field rendered (reference 4.6: the compatible superset,
    /// topic and message value included).
    pub fn render<E>(&self, render: &mut impl FnMut(&str) -> Result<String, E>) -> Result<Self, E> {
        Ok(KafkaTrigger {
            broker_urls: self.broker_urls.iter().map(|url| render(url)).collect::<Result<_, _>>()?,
            topic: render(&self.topic)?,
            headers: render_headers(&self.headers, render)?,
            message_key: render(&self.message_key)?,
            message_value: render(&self.message_value)?,
            ssl_verification: self.ssl_verification,
            authentication: match &self.authentication {
                None => None,
                Some(auth) => Some(KafkaAuth {
                    mechanism: auth.mechanism,
                    username: render(&auth.username)?,
                    password: render(&auth.password)?,
                }),
            },
        })
    }

    /// The brokers without their scheme, and whether to use TLS.
    fn brokers(&self) -> (Vec<String>, bool) {
        let mut tls = self.ssl_verification;
        let brokers = self
            .broker_urls
            .iter()
            .map(|url| {
                let url = url.trim();
                let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
                if matches!(scheme.to_ascii_lowercase().as_str(), "ssl" | "tls" | "sasl_ssl") {
                    tls = true;
                }
                rest.trim_end_matches('/').to_string()
            })
            .collect();
        (brokers, tls)
    }

    /// Produces the record and waits for the broker's acknowledgement, over the clients the
    /// run keeps in `connections` for these brokers (made and kept on first use). User
    /// headers go first; the propagation headers replace same-named ones (as for http).
    ///
    /// A kept client that fails is forgotten and the record produced once more over a new
    /// one: rskafka reconnects a broken connection itself within its retry deadline, and this
    /// covers what that leaves (a broker restarted past it, say). A topic the broker does not
    /// have is no reason to connect again.
    ///
    /// # Errors
    /// No broker URL, an unreachable broker, a TLS failure, refused credentials, an unknown
    /// topic, a refused record, or a timeout.
    pub async fn fire(
        &self,
        trace_id: TraceId,
        span_id: SpanId,
        connections: &Connections,
    ) -> Result<TriggerResponse, Error> {
        let (brokers, tls) = self.brokers();
        let target = format!("kafka {} topic {:?}", brokers.join(","), self.topic);
        if brokers.iter().all(|broker| broker.is_empty()) {
            return Err(Error::Kafka { target, reason: "no broker URL given".into() });
        }

        let mut headers = BTreeMap::new();
        for header in self.headers.iter().filter(|header| !header.key.trim().is_empty()) {
            headers.insert(header.key.trim().to_string(), header.value.clone().into_bytes());
        }
        for (name, value) in propagation_headers(trace_id, span_id) {
            headers.insert(name.to_string(), value.into_bytes());
        }
        let key = (!self.message_key.is_empty()).then(|| self.message_key.clone().into_bytes());
        let started = SystemTime::now();
        let record = Record {
            key,
            value: Some(self.message_value.clone().into_bytes()),
            headers,
            timestamp: record_timestamp(started),
        };
        let client_key = ClientKey {
            brokers,
            tls,
            verify: self.ssl_verification,
            auth: self
                .authentication
                .as_ref()
                .map(|auth| (auth.mechanism, auth.username.clone(), auth.password.clone())),
        };
        let produced = match connections.kafka_clients(&client_key) {
            Some(kept) => match self.produce(&kept, &target, record.clone()).await {
                Err(failed) if failed.connect_again => {
                    connections.forget_kafka_clients(&client_key, &kept);
                    let clients = connect(connections, client_key, &target).await?;
                    self.produce(&clients, &target, record).await
                }
                produced => produced,
            },
            None => {
                let clients = connect(connections, client_key, &target).await?;
                self.produce(&clients, &target, record).await
            }
        };
        let (partition, offset) = produced.map_err(|failed| failed.error)?;
        let finished = SystemTime::now();
        Ok(TriggerResponse {
            trace_id,
            status: 0,
            status_text: String::new(),
            headers: Vec::new(),
            body: String::new(),
            attributes: vec![
                ("tracetest.run.trigger.kafka.partition", i64::from(partition)),
                ("tracetest.run.trigger.kafka.offset", offset),
            ],
            body_truncated_at: None,
            notes: Vec::new(),
            started,
            finished,
        })
    }

    /// Produces `record` to its partition over `clients`: the partition and the offset.
    async fn produce(
        &self,
        clients: &KafkaClients,
        target: &str,
        record: Record,
    ) -> Result<(i32, i64), Failed> {
        let answered = |reason: String| Failed {
            error: Error::Kafka { target: target.to_string(), reason },
            connect_again: false,
        };
        let topics = step(target, "list topics", TRIGGER_TIMEOUT, clients.client.list_topics()).await?;
        let Some(topic) = topics.iter().find(|topic| topic.name == self.topic) else {
            return Err(answered(format!("unknown topic {:?}", self.topic)));
        };
        let count = topic.partitions.len();
        if count == 0 {
            return Err(answered(format!("topic {:?} has no partitions", self.topic)));
        }
        let partition = match &record.key {
            Some(key) => java_partition(key, count),
            None => rand::random_range(0..count),
        };
        // Kafka numbers a topic's partitions 0..count, as the Java partitioner assumes.
        let partition = i32::try_from(partition).unwrap_or(0);
        let partition_client = clients.partition(target, &self.topic, partition).await?;
        let offsets = step(
            target,
            "produce",
            TRIGGER_TIMEOUT,
            partition_client.produce(vec![record], Compression::NoCompression),
        )
        .await?;
        Ok((partition, offsets.first().copied().unwrap_or(-1)))
    }
}

/// What a kept client was made for: its brokers, whether it speaks TLS and checks
/// certificates, and its credentials. A step that differs in any of them gets its own.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    brokers: Vec<String>,
    tls: bool,
    verify: bool,
    auth: Option<(SaslMechanism, String, String)>,
}

/// Without the password: a run's configuration may be printed for debugging.
impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("brokers", &self.brokers)
            .field("tls", &self.tls)
            .field("verify", &self.verify)
            .field("auth", &self.auth.as_ref().map(|(mechanism, username, _)| (mechanism, username)))
            .finish()
    }
}

/// A client of one [`ClientKey`] and the partition clients made from it, which share its
/// connections to the brokers.
#[derive(Debug)]
pub(crate) struct KafkaClients {
    client: Client,
    /// By topic and partition.
    partitions: Mutex<HashMap<(String, i32), Arc<PartitionClient>>>,
}

impl KafkaClients {
    /// The partition client of `topic`'s `partition`, made on first use.
    async fn partition(
        &self,
        target: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Arc<PartitionClient>, Failed> {
        let kept = |partitions: &Mutex<HashMap<(String, i32), Arc<PartitionClient>>>| {
            partitions
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&(topic.to_string(), partition))
                .cloned()
        };
        if let Some(kept) = kept(&self.partitions) {
            return Ok(kept);
        }
        let made = step(
            target,
            "find the partition leader",
            TRIGGER_TIMEOUT,
            self.client.partition_client(topic.to_string(), partition, UnknownTopicHandling::Error),
        )
        .await?;
        let mut partitions = self.partitions.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(partitions.entry((topic.to_string(), partition)).or_insert_with(|| Arc::new(made)).clone())
    }
}

/// A produce that failed, and whether a new client could change that (not when the broker
/// answered that the topic is not there).
struct Failed {
    error: Error,
    connect_again: bool,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Failed { error, connect_again: true }
    }
}

/// Connects a client as `key` says and keeps it in `connections` (or the one kept there
/// meanwhile by a step connecting at the same time).
async fn connect(
    connections: &Connections,
    key: ClientKey,
    target: &str,
) -> Result<Arc<KafkaClients>, Error> {
    let mut builder = ClientBuilder::new(key.brokers.clone()).backoff_config(BackoffConfig {
        deadline: Some(defaults::KAFKA_RETRY_DEADLINE),
        ..BackoffConfig::default()
    });
    if key.tls {
        builder = builder.tls_config(Arc::new(tls_config(key.verify, target)?));
    }
    if let Some((mechanism, username, password)) = &key.auth {
        let credentials = Credentials::new(username.clone(), password.clone());
        builder = builder.sasl_config(match mechanism {
            SaslMechanism::Plain => SaslConfig::Plain(credentials),
            SaslMechanism::ScramSha256 => SaslConfig::ScramSha256(credentials),
            SaslMechanism::ScramSha512 => SaslConfig::ScramSha512(credentials),
        });
    }
    // A TLS client talking to a plaintext listener gets no answer at all: say so.
    let what = if key.tls { "connect (TLS: is the listener TLS?)" } else { "connect" };
    let client = step(target, what, defaults::KAFKA_CONNECT_TIMEOUT, builder.build()).await?;
    let clients = Arc::new(KafkaClients { client, partitions: Mutex::default() });
    Ok(connections.keep_kafka_clients(key, clients))
}

/// A record's timestamp (milliseconds; rskafka's chrono has no clock of its own).
fn record_timestamp(time: SystemTime) -> rskafka::chrono::DateTime<rskafka::chrono::Utc> {
    let millis = time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |since| since.as_millis());
    rskafka::chrono::DateTime::from_timestamp_millis(i64::try_from(millis).unwrap_or(0)).unwrap_or_default()
}

/// Runs one client call under a timeout and turns its failure into a reason a user can act on.
async fn step<T>(
    target: &str,
    what: &str,
    timeout: Duration,
    call: impl Future<Output = Result<T, ClientError>>,
) -> Result<T, Error> {
    match tokio::time::timeout(timeout, call).await {
        Err(_) => Err(Error::Kafka {
            target: target.to_string(),
            reason: format!("{what} timed out after {} s", timeout.as_secs()),
        }),
        Ok(Err(error)) => Err(Error::Kafka { target: target.to_string(), reason: classify(&error) }),
        Ok(Ok(value)) => Ok(value),
    }
}

/// The kind of failure first (what the user must fix), then rskafka's own chain.
fn classify(error: &ClientError) -> String {
    let chain = error_chain(error);
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause.downcast_ref::<rustls::Error>().is_some() {
            return format!("TLS failure: {chain}");
        }
        if cause.downcast_ref::<rskafka::SaslError>().is_some() {
            return format!("authentication refused: {chain}");
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            // tokio-rustls reports handshake failures as io errors wrapping rustls's.
            if io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
                return format!("TLS failure: {chain}");
            }
            return format!("broker unreachable: {chain}");
        }
        if let Some(ClientError::ServerError { protocol_error, .. }) = cause.downcast_ref::<ClientError>() {
            match protocol_error {
                ProtocolError::UnknownTopicOrPartition => return format!("unknown topic: {chain}"),
                ProtocolError::SaslAuthenticationFailed
                | ProtocolError::IllegalSaslState
                | ProtocolError::UnsupportedSaslMechanism
                | ProtocolError::TopicAuthorizationFailed
                | ProtocolError::ClusterAuthorizationFailed => {
                    return format!("authentication refused: {chain}")
                }
                _ => {}
            }
        }
        source = cause.source();
    }
    // rskafka keeps the cause of a failed connection in fields that are not `source()`
    // (its retry and transport errors), so what is left is known by its text.
    let lower = chain.to_ascii_lowercase();
    let kind = if lower.contains("sasl") {
        "authentication refused"
    } else if ["certificate", "tls", "handshake", "corrupt message", "peer"]
        .iter()
        .any(|word| lower.contains(word))
    {
        "TLS failure"
    } else if lower.contains("error connecting to broker") {
        "broker unreachable"
    } else if lower.contains("unknowntopicorpartition") {
        "unknown topic"
    } else {
        return chain;
    };
    format!("{kind}: {chain}")
}

/// The partition the Java client's default partitioner picks for a keyed record.
pub fn java_partition(key: &[u8], partitions: usize) -> usize {
    (murmur2(key) & 0x7fff_ffff) as usize % partitions.max(1)
}

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), as a signed Java int.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    // Java takes the length as an int; keys longer than 2 GiB do not occur here.
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// A rustls client config on aws-lc-rs (the provider reqwest already uses): the platform's
/// roots when verifying, else a verifier that accepts any certificate.
fn tls_config(verify: bool, target: &str) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls_error = |error: rustls::Error| Error::Kafka {
        target: target.to_string(),
        reason: format!("TLS failure: {error}"),
    };
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;
    let verifier: Arc<dyn ServerCertVerifier> = if verify {
        Arc::new(rustls_platform_verifier::Verifier::new(provider).map_err(tls_error)?)
    } else {
        Arc::new(AcceptAnyCertificate(provider))
    };
    Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
}

/// `sslVerification: false`: any certificate and name are accepted, but the handshake
/// signatures are still checked, so the session is encrypted to whoever holds the key.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::{java_partition, murmur2, KafkaAuth, KafkaTrigger, SaslMechanism};
    use crate::Header;

    #[test]
    fn render_maps_every_string_field() {
        let t = |text: &str| format!("${{{text}}}");
        let trigger = KafkaTrigger {
            broker_urls: vec![t("a"), t("b")],
            topic: t("c"),
            headers: vec![Header { key: t("d"), value: t("e") }],
            message_key: t("f"),
            message_value: t("g"),
            ssl_verification: true,
            authentication: Some(KafkaAuth {
                mechanism: SaslMechanism::Plain,
                username: t("h"),
                password: t("i"),
            }),
        };
        let rendered = trigger
            .render(&mut |text: &str| {
                Ok::<_, ()>(text.trim_start_matches("${").trim_end_matches('}').to_uppercase())
            })
            .expect("render");
        assert_eq!(
            rendered,
            KafkaTrigger {
                broker_urls: vec!["A".into(), "B".into()],
                topic: "C".into(),
                headers: vec![Header { key: "D".into(), value: "E".into() }],
                message_key: "F".into(),
                message_value: "G".into(),
                ssl_verification: true,
                authentication: Some(KafkaAuth {
                    mechanism: SaslMechanism::Plain,
                    username: "H".into(),
                    password: "I".into()
                }),
            }
        );
    }

    #[test]
    fn a_scheme_picks_tls_and_is_stripped() {
        let mut trigger = KafkaTrigger {
            broker_urls: vec!["tcp://a:1".into(), "b:2".into()],
            topic: String::new(),
            headers: Vec::new(),
            message_key: String::new(),
            message_value: String::new(),
            ssl_verification: false,
            authentication: None,
        };
        assert_eq!(trigger.brokers(), (vec!["a:1".to_string(), "b:2".to_string()], false));
        trigger.broker_urls[1] = "SSL://b:2/".into();
        assert_eq!(trigger.brokers(), (vec!["a:1".to_string(), "b:2".to_string()], true));
        trigger.broker_urls = vec!["a:1".into()];
        trigger.ssl_verification = true;
        assert!(trigger.brokers().1);
    }

    /// Values from Kafka's own `UtilsTest.testMurmur2`, computed by the Java client.
    #[test]
    fn murmur2_matches_the_java_client() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            (b"abc", 479_470_107),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key), expected, "key {:?}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn keyed_partition_is_the_positive_hash_modulo_the_count() {
        // -790332482 & 0x7fffffff = 1357151166; 1357151166 % 7 = 5.
        assert_eq!(java_partition(b"foobar", 7), 1_357_151_166 % 7);
        assert_eq!(java_partition(b"foobar", 1), 0);
    }
}
