//! `test.v1.Greeter` from `tests/fixtures/spec/greeter.proto`, served by tonic with the
//! messages built at run time (prost-reflect), as the grpc trigger compiles them: the
//! routing and codec are here, the answer to a call is the test's closure.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use tonic::body::Body;
use tonic::server::{NamedService, UnaryService};
use tonic::{Request, Response, Status};
use trigger::grpc::{compile_proto, DynamicCodec};

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What an answer to a call is.
pub type Reply = BoxFuture<Result<Response<DynamicMessage>, Status>>;

/// The text of greeter.proto.
pub fn proto_text() -> String {
    super::read_fixture("spec/greeter.proto")
}

pub fn pool() -> DescriptorPool {
    compile_proto("greeter.proto", &proto_text(), None).expect("greeter.proto compiles")
}

/// The service: every method of `test.v1.Greeter`, each call answered by `answer` given the
/// method's output type and the request.
#[derive(Clone)]
pub struct Greeter<F> {
    pool: DescriptorPool,
    answer: F,
}

impl<F> NamedService for Greeter<F> {
    const NAME: &'static str = "test.v1.Greeter";
}

/// Serves a greeter answering with `answer` on 127.0.0.1:0; its address.
pub async fn serve<F>(answer: F) -> SocketAddr
where
    F: Fn(MessageDescriptor, Request<DynamicMessage>) -> Reply + Clone + Send + Sync + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the greeter");
    let addr = listener.local_addr().expect("greeter addr");
    let service = Greeter { pool: pool(), answer };
    tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let _ = tonic::transport::Server::builder().add_service(service).serve_with_incoming(incoming).await;
    });
    addr
}

/// One call: the answer given the method's output type.
struct Call<F> {
    reply: MessageDescriptor,
    answer: F,
}

impl<F> UnaryService<DynamicMessage> for Call<F>
where
    F: Fn(MessageDescriptor, Request<DynamicMessage>) -> Reply,
{
    type Response = DynamicMessage;
    type Future = Reply;

    fn call(&mut self, request: Request<DynamicMessage>) -> Reply {
        (self.answer)(self.reply.clone(), request)
    }
}

impl<F> tower::Service<http::Request<Body>> for Greeter<F>
where
    F: Fn(MessageDescriptor, Request<DynamicMessage>) -> Reply + Clone + Send + Sync + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let method = self.pool.get_service_by_name("test.v1.Greeter").and_then(|service| {
            service
                .methods()
                .find(|method| format!("/test.v1.Greeter/{}", method.name()) == request.uri().path())
        });
        let Some(method) = method else {
            return Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) });
        };
        let call = Call { reply: method.output(), answer: self.answer.clone() };
        let mut grpc = tonic::server::Grpc::new(DynamicCodec::new(method.input()));
        Box::pin(async move { Ok(grpc.unary(call, request).await) })
    }
}
