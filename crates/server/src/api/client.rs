//! The client side of the control API: [`RemoteClient`] talks to a running `tracecheck
//! serve` and returns model and store types, so a remote store reads like the local one.

use std::time::Duration;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use super::pb;
use super::pb::control_client::ControlClient;
use super::Error;
use crate::auth::BearerToken;
use crate::tls::ClientTls;
use model::otlp::{self, decode_trace};
use model::{Span, Trace, TraceId};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use store::{StoreStats, WaitOptions, WaitOutcome};
use wire::TraceSummary;

use super::convert::{report_to_pb, summary_from_pb};

/// The largest answer the client accepts (a `GetTrace` of a very large trace).
const MAX_ANSWER_SIZE: usize = 1 << 30;

/// A connection to a remote tracecheck's control API; cheap to clone (one HTTP/2 channel).
#[derive(Clone, Debug)]
pub struct RemoteClient {
    url: String,
    inner: ControlClient<InterceptedService<Channel, BearerToken>>,
    /// OTLP on the same channel ([`RemoteClient::export`]).
    otlp: TraceServiceClient<InterceptedService<Channel, BearerToken>>,
}

/// `127.0.0.1:4317` means `http://127.0.0.1:4317`.
fn normalise_url(url: &str) -> String {
    let url = url.trim();
    if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    }
}

impl RemoteClient {
    /// Connects to `url` (`http://host:port`; the scheme may be left out), sending
    /// `authorization: Bearer <auth_token>` on every call when a token is given. An
    /// `https://` URL is verified against the platform's roots; see [`Self::connect_tls`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`], [`Error::InvalidToken`], or [`Error::Connect`] when nothing
    /// answers at the address.
    pub async fn connect(url: &str, auth_token: Option<&str>) -> Result<RemoteClient, Error> {
        Self::connect_tls(url, auth_token, &ClientTls::default()).await
    }

    /// [`Self::connect`] with TLS settings: an `https://` URL always means TLS (verified
    /// against `tls.ca_cert`, or the platform's roots without it), `http://` plaintext.
    ///
    /// # Errors
    ///
    /// As [`Self::connect`]; [`Error::Tls`] for an unusable TLS file; [`Error::InvalidUrl`]
    /// for a scheme other than `http` and `https`, or TLS files with an `http://` URL.
    pub async fn connect_tls(
        url: &str,
        auth_token: Option<&str>,
        tls: &ClientTls,
    ) -> Result<RemoteClient, Error> {
        let url = normalise_url(url);
        let invalid = |reason: String| Error::InvalidUrl { url: url.clone(), reason };
        let endpoint = Endpoint::from_shared(url.clone())
            .map_err(|error| invalid(model::error_chain(&error)))?
            .connect_timeout(model::defaults::CONTROL_CONNECT_TIMEOUT)
            // A peer that took the connection but never answers (a hung instance, a port that
            // is not tracecheck's) would hold every call, a wait for its whole timeout, and
            // `connect` does not notice it: an HTTP/2 ping unanswered within the connect bound
            // closes the channel, so the call fails naming the URL.
            .http2_keep_alive_interval(model::defaults::CONTROL_CONNECT_TIMEOUT)
            .keep_alive_timeout(model::defaults::CONTROL_CONNECT_TIMEOUT)
            .keep_alive_while_idle(true)
            .tcp_nodelay(true);
        // Decided here, never left to the transport: an `https` URL over cleartext would send
        // the token in the clear (issue 13, defect 3).
        let endpoint = match endpoint.uri().scheme_str() {
            Some("https") => endpoint
                .tls_config(tls.tonic_config()?)
                .map_err(|error| invalid(model::error_chain(&error)))?,
            Some("http") if tls.is_set() => {
                return Err(invalid("--ca-cert, --client-cert and --client-key need an https:// URL".into()))
            }
            Some("http") => endpoint,
            _ => return Err(invalid("the scheme must be http:// or https://".into())),
        };
        let channel = endpoint
            .connect()
            .await
            .map_err(|error| Error::Connect { url: url.clone(), reason: model::error_chain(&error) })?;
        let token = BearerToken::new(auth_token).ok_or(Error::InvalidToken)?;
        let otlp = TraceServiceClient::with_interceptor(channel.clone(), token.clone());
        let inner = ControlClient::with_interceptor(channel, token)
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
            // A recorded run carries its traces: a report and its spans shrink several times.
            .send_compressed(tonic::codec::CompressionEncoding::Gzip)
            // A large trace is one message; tonic's 4 MiB default would refuse it.
            .max_decoding_message_size(MAX_ANSWER_SIZE);
        Ok(RemoteClient { url, inner, otlp })
    }

    /// Connects to every one of `urls` at once (the instances behind a trace-ID load
    /// balancer), in their order; the first that cannot be reached fails the lot, named.
    ///
    /// # Errors
    ///
    /// Those of [`RemoteClient::connect`], and [`Error::InvalidUrl`] for an empty list or a
    /// URL listed twice (every trace would be found on "two" instances).
    pub async fn connect_all(
        urls: &[String],
        auth_token: Option<&str>,
        tls: &ClientTls,
    ) -> Result<Vec<RemoteClient>, Error> {
        let invalid =
            |url: &str, reason: &str| Error::InvalidUrl { url: url.to_string(), reason: reason.into() };
        if urls.is_empty() {
            return Err(invalid("", "no server given"));
        }
        for (i, url) in urls.iter().enumerate() {
            if urls[..i].iter().any(|earlier| normalise_url(earlier) == normalise_url(url)) {
                return Err(invalid(url, "listed twice"));
            }
        }
        futures::future::try_join_all(urls.iter().map(|url| RemoteClient::connect_tls(url, auth_token, tls)))
            .await
    }

    /// Sends spans to the server's OTLP receiver, as an exporter would.
    pub async fn export(&self, spans: &[Span]) -> Result<(), Error> {
        let trace = Trace::new(
            spans.first().map(|span| span.trace_id).unwrap_or_default(),
            spans.iter().cloned().map(std::sync::Arc::new).collect(),
        );
        let request = ExportTraceServiceRequest { resource_spans: otlp::encode_trace(&trace).resource_spans };
        self.otlp.clone().export(request).await.map_err(|s| self.status_error(s))?;
        Ok(())
    }

    /// The server's URL, as connected.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn status_error(&self, status: tonic::Status) -> Error {
        // A status with a transport error under it is no answer from the server: the
        // connection failed or went silent (the keep-alive above), so say so.
        if let Some(transport) = std::error::Error::source(&status) {
            return Error::Connect { url: self.url.clone(), reason: model::error_chain(transport) };
        }
        Error::Status { url: self.url.clone(), status }
    }

    /// The most recently updated traces first, at most `limit` (0 = the server's default).
    pub async fn list(&self, limit: usize) -> Result<Vec<TraceSummary>, Error> {
        let request = pb::ListTracesRequest { limit: u32::try_from(limit).unwrap_or(u32::MAX) };
        let response = self.inner.clone().list_traces(request).await.map_err(|s| self.status_error(s))?;
        response
            .into_inner()
            .traces
            .into_iter()
            .map(|summary| {
                summary_from_pb(summary).map_err(|error| Error::Decode(format!("bad trace in list: {error}")))
            })
            .collect()
    }

    /// One trace with every span; `None` when the server holds no span of it.
    pub async fn get(&self, trace_id: TraceId) -> Result<Option<Trace>, Error> {
        let request = pb::GetTraceRequest { trace_id: trace_id.0.to_vec() };
        let response = self.inner.clone().get_trace(request).await.map_err(|s| self.status_error(s))?;
        let response = response.into_inner();
        if !response.found {
            return Ok(None);
        }
        Ok(Some(
            decode_trace(trace_id, &response.otlp_traces_data).map_err(|e| Error::Decode(e.to_string()))?,
        ))
    }

    /// Waits on the server with the completeness rules; `selectors` (selector texts) are
    /// rule 3. The timeout still counts from `options.started`: the server is given what is
    /// left of it.
    pub async fn wait(
        &self,
        trace_id: TraceId,
        options: &WaitOptions,
        selectors: &[String],
    ) -> Result<WaitOutcome, Error> {
        self.wait_for(trace_id, options, selectors, false).await
    }

    /// [`RemoteClient::wait`], for a trace `started_elsewhere` when true (see
    /// `store::TraceStore::wait_started_elsewhere`).
    pub async fn wait_for(
        &self,
        trace_id: TraceId,
        options: &WaitOptions,
        selectors: &[String],
        started_elsewhere: bool,
    ) -> Result<WaitOutcome, Error> {
        let millis = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        let remaining = options.timeout.saturating_sub(options.started.elapsed());
        let request = pb::WaitTraceRequest {
            trace_id: trace_id.0.to_vec(),
            settle_millis: Some(millis(options.settle)),
            grace_millis: Some(millis(options.grace)),
            timeout_millis: Some(millis(remaining)),
            selectors: selectors.to_vec(),
            assumed_span_ids: options.trigger_span_id.iter().map(|id| id.0.to_vec()).collect(),
            started_elsewhere,
        };
        let response = self.inner.clone().wait_trace(request).await.map_err(|s| self.status_error(s))?;
        let received_at = std::time::Instant::now();
        let response = response.into_inner();
        let trace = if response.found {
            Some(
                decode_trace(trace_id, &response.otlp_traces_data)
                    .map_err(|e| Error::Decode(e.to_string()))?,
            )
        } else {
            None
        };
        let last_span_at =
            response.last_span_age_micros.and_then(|age| received_at.checked_sub(Duration::from_micros(age)));
        Ok(WaitOutcome {
            trace,
            complete: response.complete,
            missing: response.missing,
            last_span_at,
            warnings: response.warnings,
        })
    }

    /// The server's store counters (read from its `Stats` samples by the registry's names).
    pub async fn stats(&self) -> Result<StoreStats, Error> {
        let response =
            self.inner.clone().stats(pb::StatsRequest {}).await.map_err(|s| self.status_error(s))?;
        let samples = response.into_inner().samples;
        Ok(crate::telemetry::store_stats(
            samples.iter().map(|sample| (sample.name.as_str(), &sample.labels, sample.value)),
        ))
    }

    /// Records one file's run on the server (the web UI's Runs view) with the traces its
    /// steps judged; the server's run id.
    pub async fn record_run(&self, report: &wire::RunReport, traces: &[Trace]) -> Result<u64, Error> {
        // The report's every field, typed: the server records what `--output json` prints
        // (secrets masked already).
        let traces = traces
            .iter()
            .map(|trace| pb::JudgedTrace {
                trace_id: trace.trace_id.0.to_vec(),
                otlp_traces_data: otlp::encode_trace_bytes(trace),
            })
            .collect();
        let request = pb::RecordRunRequest { report: Some(report_to_pb(report)), traces };
        let response = self.inner.clone().record_run(request).await.map_err(|s| self.status_error(s))?;
        Ok(response.into_inner().run_id)
    }
}
