//! The provisioning resources a Tracetest setup keeps beside its tests (`tracetest apply`
//! takes them): `PollingProfile`, `TestRunner`, `DataStore`, `Config` and `Demo`, read
//! into what a run can use. What a resource means for a run is decided by the runner;
//! this module only reads and checks them, and refuses the DataStore types whose traces
//! tracecheck cannot reach.

use std::path::PathBuf;
use std::time::Duration;

use marked_yaml::types::MarkedMappingNode;

use super::error::ErrorKind;
use super::walk::{field, Ctx};
use super::Text;
use analyze::Gate;

/// A `PollingProfile`: how long Tracetest polls its data store for a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct PollingProfile {
    pub path: PathBuf,
    pub id: Option<String>,
    pub name: String,
    /// `default: true`: the profile Tracetest uses for tests that name none.
    pub default: bool,
    /// `periodic.timeout`: how long to wait for the trace, which is the run's `--timeout`.
    pub timeout: Option<Duration>,
    /// The settings that have no meaning in an event-driven wait, as written
    /// (`retryDelay: 5s`), for the run to say once that it ignores them.
    pub ignored: Vec<String>,
}

/// A `TestRunner`: the gates every run must pass.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRunner {
    pub path: PathBuf,
    pub id: Option<String>,
    pub name: Option<String>,
    /// `requiredGates`; `None` when the resource does not set them.
    pub required_gates: Option<Vec<Gate>>,
}

/// A `DataStore`: where Tracetest reads traces from.
#[derive(Debug, Clone, PartialEq)]
pub struct DataStore {
    pub path: PathBuf,
    pub id: Option<String>,
    pub name: String,
    pub default: bool,
    /// The `type` as written (`otlp`, `datadog`, `jaeger`, ...).
    pub type_name: String,
    pub backend: Backend,
}

/// Where a DataStore's traces come from, for tracecheck.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// Spans arrive at the OTLP receiver (Tracetest: the Collector sends them over OTLP).
    Receiver,
    /// Jaeger's gRPC query API.
    Jaeger(GrpcClient),
    /// Grafana Tempo's API, over gRPC or HTTP.
    Tempo(TempoClient),
}

/// A gRPC client's settings as Tracetest reads them (the Collector's `GRPCClientSettings`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GrpcClient {
    /// `host:port`, as Jaeger's and Tempo's documentation write it.
    pub endpoint: String,
    pub headers: Vec<(String, String)>,
    pub tls: ClientTls,
}

/// An HTTP client's settings as Tracetest reads them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpClient {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub tls: ClientTls,
}

/// How Tracetest reaches Tempo: `type: grpc` or `type: http`.
#[derive(Debug, Clone, PartialEq)]
pub enum TempoClient {
    Grpc(GrpcClient),
    Http(HttpClient),
}

/// The Collector's client TLS settings (`tls: {insecure, insecureSkipVerify, serverName,
/// settings: {cAFile, certFile, keyFile, minVersion, maxVersion}}`). File paths are kept as
/// written: Tracetest's server reads them from its own working directory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientTls {
    /// Plaintext (no TLS at all).
    pub insecure: bool,
    /// TLS without verifying the server's certificate.
    pub insecure_skip_verify: bool,
    pub server_name: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
}

/// A resource that is accepted and changes nothing here (`Config`, `Demo`).
#[derive(Debug, Clone, PartialEq)]
pub struct NoEffect {
    pub path: PathBuf,
    pub kind: &'static str,
}

/// What tracecheck does with each of Tracetest's DataStore types: the one table to change
/// when Tracetest adds one. Tracetest's own list (its `datastore` resource) splits them into
/// the ones fed over OTLP by the Collector and the ones it polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataStoreUse {
    Receiver,
    Jaeger,
    Tempo,
    /// A backend only Tracetest's own client for it can read.
    Refused,
    /// `azureappinsights`: OTLP through the Collector with `connectionType: collector`,
    /// else Azure's own API.
    Azure,
}

const DATA_STORE_TYPES: &[(&str, DataStoreUse)] = &[
    ("otlp", DataStoreUse::Receiver),
    ("dash0", DataStoreUse::Receiver),
    ("datadog", DataStoreUse::Receiver),
    ("dynatrace", DataStoreUse::Receiver),
    ("honeycomb", DataStoreUse::Receiver),
    ("instana", DataStoreUse::Receiver),
    ("lightstep", DataStoreUse::Receiver),
    ("newrelic", DataStoreUse::Receiver),
    ("signoz", DataStoreUse::Receiver),
    ("jaeger", DataStoreUse::Jaeger),
    ("tempo", DataStoreUse::Tempo),
    ("azureappinsights", DataStoreUse::Azure),
    ("awsxray", DataStoreUse::Refused),
    ("elasticapm", DataStoreUse::Refused),
    ("opensearch", DataStoreUse::Refused),
    ("signalfx", DataStoreUse::Refused),
    ("sumologic", DataStoreUse::Refused),
];

/// Fields every resource may carry besides its own: the server adds them on export.
const COMMON_FIELDS: [&str; 4] = ["id", "createdAt", "version", "summary"];

pub(crate) fn read_polling_profile(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<PollingProfile> {
    let context = "the PollingProfile spec";
    let mut allowed = vec!["name", "default", "strategy", "periodic"];
    allowed.extend(COMMON_FIELDS);
    ctx.check_fields(map, context, &allowed);
    let id = ctx.optional_text(map, "id").map(|text| text.value);
    let name = ctx.optional_text(map, "name").map(|text| text.value).unwrap_or_default();
    let default = ctx.optional_bool(map, "default").unwrap_or(false);
    let mut ignored = Vec::new();
    if let Some(strategy) = ctx.optional_text(map, "strategy") {
        if strategy.value != "periodic" {
            let message = format!(
                "unknown polling strategy `{}`; Tracetest's only strategy is `periodic`",
                strategy.value
            );
            ctx.error_at(strategy.line, strategy.col, ErrorKind::Invalid(message));
        }
    }
    let mut timeout = None;
    if let Some(periodic) = field(map, "periodic").and_then(|node| ctx.mapping(node, "periodic")) {
        ctx.check_fields(periodic, "periodic", &["timeout", "retryDelay", "selectorMatchRetries"]);
        timeout = ctx.optional_text(periodic, "timeout").and_then(|text| duration(ctx, &text));
        if let Some(text) = ctx.optional_text(periodic, "retryDelay") {
            duration(ctx, &text);
            ignored.push(format!("retryDelay {}", text.value));
        }
        if let Some(retries) = ctx.optional_int(periodic, "selectorMatchRetries") {
            ignored.push(format!("selectorMatchRetries {retries}"));
        }
    }
    Some(PollingProfile { path: ctx.source.path.clone(), id, name, default, timeout, ignored })
}

pub(crate) fn read_test_runner(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<TestRunner> {
    let context = "the TestRunner spec";
    let mut allowed = vec!["name", "requiredGates"];
    allowed.extend(COMMON_FIELDS);
    ctx.check_fields(map, context, &allowed);
    let id = ctx.optional_text(map, "id").map(|text| text.value);
    let name = ctx.optional_text(map, "name").map(|text| text.value);
    let mut required_gates = None;
    if let Some(items) = field(map, "requiredGates").and_then(|node| ctx.sequence(node, "requiredGates")) {
        let mut gates = Vec::new();
        for item in items {
            let Some(text) = ctx.text(item, "requiredGates") else { continue };
            match text.value.trim().parse::<Gate>() {
                Ok(gate) if !gates.contains(&gate) => gates.push(gate),
                Ok(_) => {}
                Err(error) => ctx.error_at(text.line, text.col, ErrorKind::Invalid(error.to_string())),
            }
        }
        required_gates = Some(gates);
    }
    Some(TestRunner { path: ctx.source.path.clone(), id, name, required_gates })
}

pub(crate) fn read_data_store(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<DataStore> {
    let context = "the DataStore spec";
    let mut allowed = vec!["name", "type", "default"];
    allowed.extend(COMMON_FIELDS);
    allowed.extend(DATA_STORE_TYPES.iter().map(|(name, _)| *name));
    ctx.check_fields(map, context, &allowed);
    let id = ctx.optional_text(map, "id").map(|text| text.value);
    let name = ctx.optional_text(map, "name").map(|text| text.value).unwrap_or_default();
    let default = ctx.optional_bool(map, "default").unwrap_or(false);
    let kind = ctx.non_empty_text(map, "type", context)?;
    let type_name = kind.value.trim().to_string();
    let Some((_, usage)) = DATA_STORE_TYPES.iter().find(|(known, _)| *known == type_name) else {
        let known: Vec<&str> = DATA_STORE_TYPES.iter().map(|(name, _)| *name).collect();
        let message =
            format!("unknown DataStore type `{type_name}`; Tracetest's types are {}", known.join(", "));
        ctx.error_at(kind.line, kind.col, ErrorKind::Invalid(message));
        return None;
    };
    let context = format!("a `{type_name}` DataStore");
    let backend = match usage {
        DataStoreUse::Receiver => Backend::Receiver,
        DataStoreUse::Jaeger => {
            let settings = sub_mapping(ctx, map, "jaeger", &context)?;
            Backend::Jaeger(read_grpc_client(ctx, settings, "jaeger")?)
        }
        DataStoreUse::Tempo => {
            let settings = sub_mapping(ctx, map, "tempo", &context)?;
            Backend::Tempo(read_tempo(ctx, settings)?)
        }
        DataStoreUse::Azure => {
            let connection = field(map, "azureappinsights")
                .and_then(|node| ctx.mapping(node, "azureappinsights"))
                .and_then(|azure| ctx.optional_text(azure, "connectionType"));
            if connection.is_some_and(|text| text.value == "collector") {
                Backend::Receiver
            } else {
                refuse(ctx, &kind, &format!("{type_name} (without `connectionType: collector`)"));
                return None;
            }
        }
        DataStoreUse::Refused => {
            refuse(ctx, &kind, &type_name);
            return None;
        }
    };
    Some(DataStore { path: ctx.source.path.clone(), id, name, default, type_name, backend })
}

/// A DataStore whose traces only Tracetest's own client for that backend can read.
fn refuse(ctx: &mut Ctx, kind: &Text, what: &str) {
    let message = format!(
        "DataStore type `{what}` is not supported: tracecheck reads traces from its own OTLP receiver, \
         Jaeger or Tempo; add an OTLP exporter pointed at tracecheck (port 4317) to the OpenTelemetry \
         Collector that feeds {}, and use `type: otlp`",
        kind.value.trim()
    );
    ctx.error_at(kind.line, kind.col, ErrorKind::Invalid(message));
}

/// `tempo: {type: grpc|http, grpc: {...}, http: {...}}`, or the older form with the gRPC
/// settings directly under `tempo` (`tempo: {endpoint: tempo:9095, tls: ...}`).
fn read_tempo(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<TempoClient> {
    let Some(kind) = ctx.optional_text(map, "type") else {
        return read_grpc_client(ctx, map, "tempo").map(TempoClient::Grpc);
    };
    ctx.check_fields(map, "tempo", &["type", "grpc", "http"]);
    match kind.value.as_str() {
        "grpc" => {
            let settings = sub_mapping(ctx, map, "grpc", "a tempo DataStore of type grpc")?;
            read_grpc_client(ctx, settings, "tempo grpc").map(TempoClient::Grpc)
        }
        "http" => {
            let settings = sub_mapping(ctx, map, "http", "a tempo DataStore of type http")?;
            read_http_client(ctx, settings).map(TempoClient::Http)
        }
        other => {
            let message = format!("tempo `type` must be `grpc` or `http`, found `{other}`");
            ctx.error_at(kind.line, kind.col, ErrorKind::Invalid(message));
            None
        }
    }
}

/// A required mapping field.
fn sub_mapping<'n>(
    ctx: &mut Ctx,
    map: &'n MarkedMappingNode,
    key: &str,
    context: &str,
) -> Option<&'n MarkedMappingNode> {
    let node = ctx.required(map, key, context)?;
    ctx.mapping(node, key)
}

fn read_grpc_client(ctx: &mut Ctx, map: &MarkedMappingNode, context: &str) -> Option<GrpcClient> {
    ctx.check_fields(
        map,
        context,
        &[
            "endpoint",
            "readBufferSize",
            "writeBufferSize",
            "waitForReady",
            "headers",
            "balancerName",
            "compression",
            "tls",
        ],
    );
    let endpoint = ctx.non_empty_text(map, "endpoint", context)?.value.trim().to_string();
    let headers = read_header_map(ctx, map);
    let tls = read_tls(ctx, map);
    Some(GrpcClient { endpoint, headers, tls })
}

fn read_http_client(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<HttpClient> {
    ctx.check_fields(map, "tempo http", &["url", "headers", "tls"]);
    let url = ctx.non_empty_text(map, "url", "tempo http")?.value.trim().to_string();
    let headers = read_header_map(ctx, map);
    let tls = read_tls(ctx, map);
    Some(HttpClient { url, headers, tls })
}

/// `headers: {name: value}`; an empty name (Tracetest's UI exports `"": ""`) is no header.
fn read_header_map(ctx: &mut Ctx, map: &MarkedMappingNode) -> Vec<(String, String)> {
    let Some(headers) = field(map, "headers").and_then(|node| ctx.mapping(node, "headers")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in headers.iter() {
        let value = if super::walk::is_null(value) { None } else { ctx.text(value, key.as_str()) };
        if !key.as_str().trim().is_empty() {
            out.push((key.as_str().to_string(), value.map(|text| text.value).unwrap_or_default()));
        }
    }
    out
}

fn read_tls(ctx: &mut Ctx, map: &MarkedMappingNode) -> ClientTls {
    let mut tls = ClientTls::default();
    let Some(node) = field(map, "tls").and_then(|node| ctx.mapping(node, "tls")) else { return tls };
    ctx.check_fields(node, "tls", &["insecure", "insecureSkipVerify", "serverName", "settings"]);
    tls.insecure = ctx.optional_bool(node, "insecure").unwrap_or(false);
    tls.insecure_skip_verify = ctx.optional_bool(node, "insecureSkipVerify").unwrap_or(false);
    tls.server_name = ctx.optional_text(node, "serverName").map(|text| text.value);
    if let Some(settings) = field(node, "settings").and_then(|node| ctx.mapping(node, "settings")) {
        ctx.check_fields(
            settings,
            "tls settings",
            &["cAFile", "certFile", "keyFile", "minVersion", "maxVersion"],
        );
        let path = |ctx: &mut Ctx, key: &str| {
            ctx.optional_text(settings, key)
                .filter(|text| !text.value.is_empty())
                .map(|text| text.value.into())
        };
        tls.ca_file = path(ctx, "cAFile");
        tls.cert_file = path(ctx, "certFile");
        tls.key_file = path(ctx, "keyFile");
        tls.min_version = ctx.optional_text(settings, "minVersion").map(|text| text.value);
        tls.max_version = ctx.optional_text(settings, "maxVersion").map(|text| text.value);
    }
    tls
}

/// A duration as Go writes it (`5s`, `1m30s`, `500ms`, `1.5h`: [`model::parse_go_duration`]),
/// which is how Tracetest reads a PollingProfile's; an error at the text when it is not one,
/// or when it is more than a year, far beyond any wait.
fn duration(ctx: &mut Ctx, text: &Text) -> Option<Duration> {
    const MAX: Duration = Duration::from_secs(366 * 86_400);
    let parsed = model::parse_go_duration(text.value.trim()).filter(|duration| *duration <= MAX);
    if parsed.is_none() {
        let message = format!("expected a duration such as 30s, 1m or 1m30s, found `{}`", text.value);
        ctx.error_at(text.line, text.col, ErrorKind::Invalid(message));
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PollingProfile's durations are Go's; one that is not, or is beyond a year, is an
    /// error at its line and column.
    #[test]
    fn a_polling_profile_duration_is_read_as_go_writes_it_or_refused_where_it_stands() {
        let dir = tempfile::tempdir().expect("temp dir");
        let profile = |timeout: &str| {
            let path = dir.path().join("profile.yaml");
            let text = format!(
                "type: PollingProfile\nspec:\n  name: Default\n  strategy: periodic\n  periodic:\n    \
                 retryDelay: 500ms\n    timeout: {timeout}\n"
            );
            std::fs::write(&path, text).expect("write");
            (path.display().to_string(), crate::load_file(&path))
        };
        for (text, expected) in [("1m30s", 90_000), ("1.5h", 5_400_000), ("0", 0), ("250ms", 250)] {
            let (_, loaded) = profile(text);
            let Ok(crate::Loaded::PollingProfile(profile)) = loaded else { panic!("{text}: {loaded:?}") };
            assert_eq!(profile.timeout, Some(Duration::from_millis(expected)), "{text}");
        }
        for text in ["5", "soon", "5 s", "-1s", "9999h"] {
            let (path, loaded) = profile(text);
            let error = loaded.expect_err(text).to_string();
            assert_eq!(
                error,
                format!("{path}:7:14: expected a duration such as 30s, 1m or 1m30s, found `{text}`"),
            );
        }
    }
}
