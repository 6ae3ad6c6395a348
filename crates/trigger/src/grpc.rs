//! The `grpc` trigger: one unary call whose types come from a proto file compiled at run
//! time (protox), with the request built from JSON and the response printed as JSON
//! (prost-reflect), sent over a plaintext tonic channel.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::SystemTime;

use http::uri::PathAndQuery;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor, SerializeOptions};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver, IncludeFileResolver};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::Endpoint;
use tonic::Status;

use super::{propagation_headers, render_headers, Auth, Error, Header, TriggerResponse};
use model::defaults::{TRIGGER_CONNECT_TIMEOUT, TRIGGER_TIMEOUT};
use model::{SpanId, TraceId};

/// `trigger: {type: grpc, grpc: {...}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcTrigger {
    /// The proto file's text (`spec` inlines `protobufFile` when it names a file).
    pub proto: String,
    /// The name the proto text is compiled under (its file name), so sibling files can
    /// import it and errors name it.
    pub proto_name: String,
    /// Where the proto's own imports are looked up (the proto file's directory).
    pub proto_dir: Option<PathBuf>,
    /// `host:port`, plaintext.
    pub address: String,
    /// Fully qualified `pkg.Service.Method` (`pkg.Service/Method` is accepted too).
    pub method: String,
    /// The request message as JSON; empty = the default message.
    pub request: String,
    /// Request metadata in order; entries with an empty key are ignored.
    pub metadata: Vec<Header>,
    /// Informational; used to find the method when `method` is not qualified.
    pub service: Option<String>,
    /// Accepted, as in Tracetest, but not sent.
    pub auth: Option<Auth>,
}

impl GrpcTrigger {
    /// A copy with address, method, request and metadata rendered.
    pub fn render<E>(&self, render: &mut impl FnMut(&str) -> Result<String, E>) -> Result<Self, E> {
        Ok(GrpcTrigger {
            proto: self.proto.clone(),
            proto_name: self.proto_name.clone(),
            proto_dir: self.proto_dir.clone(),
            address: render(&self.address)?,
            method: render(&self.method)?,
            request: render(&self.request)?,
            metadata: render_headers(&self.metadata, render)?,
            service: self.service.clone(),
            auth: self.auth.as_ref().map(|auth| auth.render(render)).transpose()?,
        })
    }

    /// Compiles the proto text and finds the method.
    ///
    /// # Errors
    /// When the proto does not compile or has no such method.
    pub fn method_descriptor(&self) -> Result<MethodDescriptor, Error> {
        let pool = compile_proto(&self.proto_name, &self.proto, self.proto_dir.as_deref())?;
        let method_text = self.method.trim().trim_start_matches('/');
        let (service_name, method_name) = match method_text.rsplit_once(['/', '.']) {
            Some((service, method)) => (service.to_string(), method.to_string()),
            None => (self.service.clone().unwrap_or_default(), method_text.to_string()),
        };
        let not_found = |reason: String| Error::MethodNotFound {
            method: self.method.clone(),
            name: self.proto_name.clone(),
            reason,
        };
        let service = pool
            .get_service_by_name(&service_name)
            .ok_or_else(|| not_found(format!("no service {service_name:?}")))?;
        let method = service
            .methods()
            .find(|method| method.name() == method_name)
            .ok_or_else(|| not_found(format!("service {service_name} has no method {method_name:?}")))?;
        if method.is_client_streaming() || method.is_server_streaming() {
            return Err(not_found("streaming methods are not supported".to_string()));
        }
        Ok(method)
    }

    /// Makes the call. User metadata goes first, then the propagation headers, which
    /// replace same-named entries.
    ///
    /// # Errors
    /// An unusable proto or request, or no answer: connection refused, DNS, timeout. A
    /// non-OK status from the server is a response, not an error.
    pub async fn fire(
        &self,
        trace_id: TraceId,
        span_id: SpanId,
        connections: &crate::Connections,
    ) -> Result<TriggerResponse, Error> {
        let method = self.method_descriptor()?;
        let request_text = if self.request.trim().is_empty() { "{}" } else { self.request.as_str() };
        let request_message = json_to_message(method.input(), request_text)?;

        let mut metadata = MetadataMap::new();
        for header in self.metadata.iter().filter(|header| !header.key.trim().is_empty()) {
            let (key, value) = metadata_pair(header.key.trim(), &header.value)?;
            metadata.append(key, value);
        }
        for (name, value) in propagation_headers(trace_id, span_id) {
            let (key, value) = metadata_pair(name, &value)?;
            metadata.insert(key, value);
        }

        let target = self.address.trim().to_string();
        let uri = if target.contains("://") { target.clone() } else { format!("http://{target}") };
        let path_text = format!("/{}/{}", method.parent_service().full_name(), method.name());
        let path = PathAndQuery::from_str(&path_text)
            .map_err(|error| Error::InvalidUrl { url: path_text.clone(), source: error.into() })?;

        let started = SystemTime::now();
        let endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|error| Error::InvalidUrl { url: uri.clone(), source: error.into() })?
            .connect_timeout(TRIGGER_CONNECT_TIMEOUT)
            .timeout(TRIGGER_TIMEOUT);
        let channel = match connections.grpc_channel(&uri) {
            Some(channel) => channel,
            None => {
                let channel = endpoint
                    .connect()
                    .await
                    .map_err(|error| Error::Request { target: target.clone(), source: error.into() })?;
                connections.keep_grpc_channel(&uri, channel)
            }
        };
        let mut client = tonic::client::Grpc::new(channel);
        client
            .ready()
            .await
            .map_err(|error| Error::Request { target: target.clone(), source: error.into() })?;
        let mut request = tonic::Request::new(request_message);
        *request.metadata_mut() = metadata;
        let codec = DynamicCodec::new(method.output());
        let result = client.unary(request, path, codec).await;
        let finished = SystemTime::now();

        let (code, headers, body) = match result {
            Ok(response) => {
                let headers = metadata_to_pairs(response.metadata());
                (tonic::Code::Ok, headers, message_to_json(response.get_ref()))
            }
            // A status tonic made from a transport failure (reset, timeout) carries its
            // cause as a source; one the server sent does not.
            Err(status) if std::error::Error::source(&status).is_some() => {
                if status_is_timeout(&status) {
                    return Err(Error::Timeout { target, seconds: TRIGGER_TIMEOUT.as_secs() });
                }
                return Err(Error::Request { target, source: status.into() });
            }
            Err(status) => (status.code(), metadata_to_pairs(status.metadata()), String::new()),
        };
        Ok(TriggerResponse {
            trace_id,
            status: code as i64,
            status_text: code_name(code).to_string(),
            headers,
            body,
            attributes: Vec::new(),
            body_truncated_at: None,
            notes: Vec::new(),
            started,
            finished,
        })
    }
}

fn status_is_timeout(status: &Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(cause) = source {
        if cause.to_string().contains("timed out") || cause.is::<tokio::time::error::Elapsed>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Serves the proto text under its name and everything else from disk and the Google
/// well-known types.
struct InlineResolver {
    name: String,
    text: String,
}

impl FileResolver for InlineResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == self.name {
            File::from_source(name, &self.text)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

/// Serves imports from the proto's folder tree only: an import path that is absolute or
/// climbs out with `..` is not found (protobuf import paths are relative to an include
/// root; a test file's `import "/etc/passwd"` must not read that file).
struct ConfinedResolver(IncludeFileResolver);

impl FileResolver for ConfinedResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        let path = Path::new(name);
        let escapes = path.is_absolute()
            || name.contains('\\')
            || path.components().any(|part| !matches!(part, std::path::Component::Normal(_)));
        if escapes {
            return Err(protox::Error::file_not_found(name));
        }
        self.0.open_file(name)
    }
}

/// Compiles proto source text into a descriptor pool; its imports come from `include_dir`'s
/// tree (never outside it) and the Google well-known types.
///
/// # Errors
/// When the text (or one of its imports) does not compile.
pub fn compile_proto(name: &str, text: &str, include_dir: Option<&Path>) -> Result<DescriptorPool, Error> {
    let mut resolver = ChainFileResolver::new();
    resolver.add(InlineResolver { name: name.to_string(), text: text.to_string() });
    if let Some(dir) = include_dir {
        resolver.add(ConfinedResolver(IncludeFileResolver::new(dir.to_path_buf())));
    }
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    compiler
        .open_file(name)
        .map_err(|error| Error::Proto { name: name.to_string(), source: error.into() })?;
    Ok(compiler.descriptor_pool())
}

/// A request message from its JSON form.
///
/// # Errors
/// When the JSON does not fit the message.
pub fn json_to_message(descriptor: MessageDescriptor, json: &str) -> Result<DynamicMessage, Error> {
    let message_name = descriptor.full_name().to_string();
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let message = DynamicMessage::deserialize(descriptor, &mut deserializer)
        .and_then(|message| deserializer.end().map(|()| message))
        .map_err(|error| Error::RequestBody { message: message_name, source: error.into() })?;
    Ok(message)
}

/// A message as indented JSON with default-valued fields included (as Tracetest records
/// gRPC responses).
pub fn message_to_json(message: &DynamicMessage) -> String {
    let mut buffer = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"  ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut buffer, formatter);
    let options = SerializeOptions::new().skip_default_fields(false);
    match message.serialize_with_options(&mut serializer, &options) {
        Ok(()) => String::from_utf8_lossy(&buffer).into_owned(),
        Err(error) => format!("{{\"error\": {:?}}}", error.to_string()),
    }
}

fn metadata_pair(
    key: &str,
    value: &str,
) -> Result<(MetadataKey<tonic::metadata::Ascii>, MetadataValue<tonic::metadata::Ascii>), Error> {
    let invalid = |reason: String| Error::InvalidHeader { name: key.to_string(), reason };
    let metadata_key = MetadataKey::from_bytes(key.to_ascii_lowercase().as_bytes())
        .map_err(|error| invalid(error.to_string()))?;
    let metadata_value = MetadataValue::try_from(value).map_err(|error| invalid(error.to_string()))?;
    Ok((metadata_key, metadata_value))
}

fn metadata_to_pairs(metadata: &MetadataMap) -> Vec<(String, String)> {
    metadata
        .clone()
        .into_headers()
        .iter()
        .map(|(name, value)| {
            (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned())
        })
        .collect()
}

/// gRPC code names as Go's `codes.Code.String()` prints them.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// A tonic codec for messages known only at run time: encodes any [`DynamicMessage`] and
/// decodes into the descriptor it was made with (the response type on a client, the
/// request type on a server).
#[derive(Clone)]
pub struct DynamicCodec {
    decode_as: MessageDescriptor,
}

impl DynamicCodec {
    pub fn new(decode_as: MessageDescriptor) -> Self {
        DynamicCodec { decode_as }
    }
}

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> DynamicEncoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> DynamicDecoder {
        DynamicDecoder { decode_as: self.decode_as.clone() }
    }
}

pub struct DynamicEncoder;

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: DynamicMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst).map_err(|error| Status::internal(format!("cannot encode message: {error}")))
    }
}

pub struct DynamicDecoder {
    decode_as: MessageDescriptor,
}

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<DynamicMessage>, Status> {
        DynamicMessage::decode(self.decode_as.clone(), src).map(Some).map_err(|error| {
            Status::internal(format!("cannot decode {}: {error}", self.decode_as.full_name()))
        })
    }
}
