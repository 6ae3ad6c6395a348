//! Jaeger's api_v3 gRPC `QueryService` (`jaeger.api_v3.QueryService`), served beside OTLP on
//! the gRPC port: what Jaeger v2's `query` extension answers on its gRPC port (16685) and
//! what a Tracetest `jaeger` DataStore reads. `GetTrace` and `FindTraces` stream OTLP
//! `TracesData`, one message a trace, as stored (api_v3's `raw_traces`: no adjustments,
//! which only the HTTP gateway's JSON applies here); `GetServices`, `GetOperations` and
//! `GetDependencies` answer from the store's digests as the HTTP API does.
//!
//! Written by hand like the OTLP receiver beside it: the messages are declared here from
//! api_v3's `query_service.proto` (field numbers are the contract), the answers' trace
//! bytes come from the model's OTLP writer, and tonic does the framing.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use prost::Message;
use tonic::server::{NamedService, ServerStreamingService, UnaryService};

use super::search::{self, Search};
use crate::error::EdgeError;
use crate::ingest::grpc::RawCodec;
use crate::query::{read_trace, Reader, Wait};
use model::defaults::{JAEGER_SEARCH_LIMIT, MAX_JAEGER_SEARCH_LIMIT};
use wire::jaeger::{kind_from_name, kind_name};

/// The gRPC service name of Jaeger's api_v3 query service.
pub const SERVICE_NAME: &str = "jaeger.api_v3.QueryService";

/// The query service; the server adds it to the gRPC port's routes.
#[derive(Clone)]
pub struct QueryService {
    reader: Reader,
}

impl QueryService {
    pub(crate) fn new(reader: Reader) -> Self {
        QueryService { reader }
    }
}

impl NamedService for QueryService {
    const NAME: &'static str = SERVICE_NAME;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<B> tower::Service<http::Request<B>> for QueryService
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let reader = self.reader.clone();
        let path = request.uri().path().to_string();
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(RawCodec);
            let method = path.strip_prefix("/jaeger.api_v3.QueryService/").unwrap_or_default();
            Ok(match method {
                "GetTrace" => grpc.server_streaming(Method(reader, get_trace), request).await,
                "FindTraces" => grpc.server_streaming(Method(reader, find_traces), request).await,
                "GetServices" => grpc.unary(Method(reader, get_services), request).await,
                "GetOperations" => grpc.unary(Method(reader, get_operations), request).await,
                "GetDependencies" => grpc.unary(Method(reader, get_dependencies), request).await,
                _ => EdgeError::UnknownMethod(path).grpc_status().into_http(),
            })
        })
    }
}

/// One method: its request's bytes in, its answer's messages out.
#[derive(Clone)]
struct Method<F>(Reader, F);

type Answer = BoxFuture<Result<Vec<Bytes>, tonic::Status>>;

impl<F: Fn(Reader, Bytes) -> Answer + Send + Sync + Clone + 'static> UnaryService<Bytes> for Method<F> {
    type Response = Bytes;
    type Future = BoxFuture<Result<tonic::Response<Bytes>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let answer = (self.1)(self.0.clone(), request.into_inner());
        Box::pin(async move {
            let message = answer.await?.into_iter().next().unwrap_or_default();
            Ok(tonic::Response::new(message))
        })
    }
}

impl<F: Fn(Reader, Bytes) -> Answer + Send + Sync + Clone + 'static> ServerStreamingService<Bytes>
    for Method<F>
{
    type Response = Bytes;
    type ResponseStream = futures::stream::Iter<std::vec::IntoIter<Result<Bytes, tonic::Status>>>;
    type Future = BoxFuture<Result<tonic::Response<Self::ResponseStream>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let answer = (self.1)(self.0.clone(), request.into_inner());
        Box::pin(async move {
            let messages: Vec<Result<Bytes, tonic::Status>> = answer.await?.into_iter().map(Ok).collect();
            Ok(tonic::Response::new(futures::stream::iter(messages)))
        })
    }
}

fn decode<T: Message + Default>(bytes: &[u8]) -> Result<T, tonic::Status> {
    T::decode(bytes).map_err(|error| tonic::Status::invalid_argument(format!("bad request message: {error}")))
}

fn blocking_status(error: tokio::task::JoinError) -> tonic::Status {
    EdgeError::Internal(error.to_string()).grpc_status()
}

/// `GetTrace`: the trace as one `TracesData`; no message for an unknown one.
fn get_trace(reader: Reader, request: Bytes) -> Answer {
    Box::pin(async move {
        let request: GetTraceRequest = decode(&request)?;
        let trace_id = super::params::trace_id(&request.trace_id)?;
        let read = match read_trace(&reader.store, &reader.reads, trace_id, Wait(None)).await {
            Ok(read) => read,
            // Jaeger's gRPC answers an unknown trace with no message (its HTTP gateway turns
            // that into 404).
            Err(EdgeError::TraceNotFound(_)) => return Ok(Vec::new()),
            Err(other) => return Err(other.grpc_status()),
        };
        let bytes = tokio::task::spawn_blocking(move || model::otlp::encode_trace_bytes(&read.trace))
            .await
            .map_err(blocking_status)?;
        Ok(vec![Bytes::from(bytes)])
    })
}

/// `FindTraces`: the matching traces, one `TracesData` each (none: no message).
fn find_traces(reader: Reader, request: Bytes) -> Answer {
    Box::pin(async move {
        let search = search_params(&request)?;
        let store = reader.store.clone();
        let messages = tokio::task::spawn_blocking(move || {
            search::find(&store, &search)
                .iter()
                .map(|trace| Bytes::from(model::otlp::encode_trace_bytes(trace)))
                .collect::<Vec<Bytes>>()
        })
        .await
        .map_err(blocking_status)?;
        Ok(messages)
    })
}

/// The search a `FindTracesRequest`'s bytes ask for.
pub(super) fn search_params(request: &[u8]) -> Result<Search, tonic::Status> {
    let request: FindTracesRequest = decode(request)?;
    search_of(request.query.unwrap_or_default())
}

/// The search a `TraceQueryParameters` asks for, checked as Jaeger checks it (both ends of
/// the time range required).
fn search_of(query: TraceQueryParameters) -> Result<Search, tonic::Status> {
    let (Some(start_min), Some(start_max)) = (query.start_time_min, query.start_time_max) else {
        return Err(tonic::Status::invalid_argument("start_time_min and start_time_max are required"));
    };
    let limit = usize::try_from(query.search_depth).unwrap_or(0);
    if limit > MAX_JAEGER_SEARCH_LIMIT {
        return Err(tonic::Status::invalid_argument(format!(
            "search_depth {limit}: at most {MAX_JAEGER_SEARCH_LIMIT}"
        )));
    }
    let nonempty = |text: String| (!text.is_empty()).then_some(text);
    Ok(Search {
        service: nonempty(query.service_name),
        operation: nonempty(query.operation_name),
        start_min: Some(start_min.nanos()),
        start_max: Some(start_max.nanos()),
        duration_min: query.duration_min.map(Timestamp::nanos),
        duration_max: query.duration_max.map(Timestamp::nanos),
        tags: query.attributes.into_iter().collect::<BTreeMap<_, _>>(),
        limit: if limit == 0 { JAEGER_SEARCH_LIMIT } else { limit },
    })
}

fn get_services(reader: Reader, _request: Bytes) -> Answer {
    Box::pin(async move {
        let services = search::services(&reader.store);
        Ok(vec![Bytes::from(GetServicesResponse { services }.encode_to_vec())])
    })
}

fn get_operations(reader: Reader, request: Bytes) -> Answer {
    Box::pin(async move {
        let request: GetOperationsRequest = decode(&request)?;
        let kind = match request.span_kind.as_str() {
            "" => None,
            name => Some(kind_from_name(name).ok_or_else(|| {
                tonic::Status::invalid_argument(format!(
                    "span_kind {name:?}: expected server, client, producer, consumer, internal or unspecified"
                ))
            })?),
        };
        let operations = search::operations(&reader.store, &request.service, kind)
            .into_iter()
            .map(|(name, kind)| Operation { name, span_kind: kind_name(kind).to_string() })
            .collect();
        Ok(vec![Bytes::from(GetOperationsResponse { operations }.encode_to_vec())])
    })
}

fn get_dependencies(reader: Reader, request: Bytes) -> Answer {
    Box::pin(async move {
        let request: GetDependenciesRequest = decode(&request)?;
        let (Some(start), Some(end)) = (request.start_time, request.end_time) else {
            return Err(tonic::Status::invalid_argument("start_time and end_time are required"));
        };
        let store = reader.store.clone();
        let links =
            tokio::task::spawn_blocking(move || search::dependencies(&store, start.nanos(), end.nanos()))
                .await
                .map_err(blocking_status)?;
        let dependencies = links
            .into_iter()
            .map(|(parent, child, call_count)| Dependency { parent, child, call_count })
            .collect();
        Ok(vec![Bytes::from(DependenciesResponse { dependencies }.encode_to_vec())])
    })
}

// The messages of api_v3's `query_service.proto` that these methods read and write.

/// `google.protobuf.Timestamp`, and `Duration`, which has the same fields.
#[derive(Clone, Copy, PartialEq, Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// Nanoseconds (since the epoch, for a timestamp); 0 before it.
    pub fn nanos(self) -> u64 {
        let nanos = i128::from(self.seconds) * 1_000_000_000 + i128::from(self.nanos);
        u64::try_from(nanos.max(0)).unwrap_or(u64::MAX)
    }
}

#[derive(Clone, PartialEq, Message)]
pub struct GetTraceRequest {
    #[prost(string, tag = "1")]
    pub trace_id: String,
    #[prost(message, optional, tag = "2")]
    pub start_time: Option<Timestamp>,
    #[prost(message, optional, tag = "3")]
    pub end_time: Option<Timestamp>,
    #[prost(bool, tag = "4")]
    pub raw_traces: bool,
}

#[derive(Clone, PartialEq, Message)]
pub struct TraceQueryParameters {
    #[prost(string, tag = "1")]
    pub service_name: String,
    #[prost(string, tag = "2")]
    pub operation_name: String,
    #[prost(map = "string, string", tag = "3")]
    pub attributes: HashMap<String, String>,
    #[prost(message, optional, tag = "4")]
    pub start_time_min: Option<Timestamp>,
    #[prost(message, optional, tag = "5")]
    pub start_time_max: Option<Timestamp>,
    #[prost(message, optional, tag = "6")]
    pub duration_min: Option<Timestamp>,
    #[prost(message, optional, tag = "7")]
    pub duration_max: Option<Timestamp>,
    #[prost(int32, tag = "8")]
    pub search_depth: i32,
    #[prost(bool, tag = "9")]
    pub raw_traces: bool,
}

#[derive(Clone, PartialEq, Message)]
pub struct FindTracesRequest {
    #[prost(message, optional, tag = "1")]
    pub query: Option<TraceQueryParameters>,
}

#[derive(Clone, PartialEq, Message)]
pub struct GetServicesResponse {
    #[prost(string, repeated, tag = "1")]
    pub services: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct GetOperationsRequest {
    #[prost(string, tag = "1")]
    pub service: String,
    #[prost(string, tag = "2")]
    pub span_kind: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Operation {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub span_kind: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct GetOperationsResponse {
    #[prost(message, repeated, tag = "1")]
    pub operations: Vec<Operation>,
}

#[derive(Clone, PartialEq, Message)]
pub struct GetDependenciesRequest {
    #[prost(message, optional, tag = "1")]
    pub start_time: Option<Timestamp>,
    #[prost(message, optional, tag = "2")]
    pub end_time: Option<Timestamp>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Dependency {
    #[prost(string, tag = "1")]
    pub parent: String,
    #[prost(string, tag = "2")]
    pub child: String,
    #[prost(uint64, tag = "3")]
    pub call_count: u64,
}

#[derive(Clone, PartialEq, Message)]
pub struct DependenciesResponse {
    #[prost(message, repeated, tag = "1")]
    pub dependencies: Vec<Dependency>,
}
