//! `tracecheck run FILE...`: check the flags and load every file, choose the trace source
//! (the one place that decides between the embedded ingestor and `--server`, one or several), run the files
//! through [`crate::run::run_files`] and drive the reporters.

use std::sync::Arc;

use anyhow::Context as _;

use super::args::{OutputFormat, RunArgs};
use super::{Error, Outcome};
use crate::run::{LocalSource, RemoteSource, RunConfig, RunFiles, ShardedSource, TraceSource};
use report::console::ConsoleReporter;
use report::json::JsonReporter;
use report::junit::JunitReporter;
use report::Reporter;
use server::{self, RunningServer};

/// The embedded ingestor did not start, most often because its ports are taken.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot start the embedded ingestor: {0} (is a `tracecheck serve` running there? use --server, \
     or --grpc-addr/--http-addr for other ports)"
)]
struct EmbeddedStart(#[source] server::Error);

/// Runs the files; [`Outcome::Passed`] when every run passed.
///
/// # Errors
/// Bad flags or definitions ([`Error::BadInput`], [`Error::Definitions`]) before anything
/// runs; a source that cannot be reached or started, or a report that cannot be written.
pub async fn run(args: RunArgs) -> Result<Outcome, Error> {
    let required_gates =
        analyze::parse_gates(&args.required_gates).context("--required-gates").map_err(Error::BadInput)?;
    let inputs = crate::run::load(&args.files, args.vars.as_ref(), args.analyzer.as_ref())
        .map_err(|error| Error::Definitions(error.into()))?;
    let (source, embedded) = trace_source(&args).await?;
    let mut reporters: Vec<Box<dyn Reporter>> = vec![match args.output {
        OutputFormat::Pretty => Box::new(ConsoleReporter::stdout().verbose(args.verbose)),
        OutputFormat::Json => Box::new(JsonReporter::stdout()),
        OutputFormat::Junit => Box::new(JunitReporter::new(Box::new(std::io::stdout()))),
    }];
    if let Some(path) = &args.junit {
        reporters.push(Box::new(JunitReporter::to_path(path)));
    }
    let config = RunConfig {
        settle: args.settle.into(),
        grace: args.grace.into(),
        timeout: args.timeout.into(),
        analyzer: Arc::new(inputs.analyzer.unwrap_or_default()),
        required_gates,
        secret_variables: Arc::new(inputs.secret_variables),
        trigger_limits: trigger::Limits { max_body: args.max_response_body },
    };
    let request = RunFiles { source: source.clone(), config, parallel: args.parallel };
    let reports = crate::run::run_files(request, inputs.files, inputs.variables, &mut reporters).await;
    // Written before the embedded ingestor stops: the page inlines the judged traces.
    let html = match &args.report_html {
        Some(path) => super::html::write(path, &reports, &*source).await,
        None => Ok(()),
    };
    if let Some(ingestor) = embedded {
        if let Err(error) = ingestor.shutdown().await {
            tracing::warn!("embedded ingestor: {}", model::error_chain(&error));
        }
    }
    reporters.close().context("cannot write the report").map_err(Error::Failed)?;
    html.context("cannot write the HTML report").map_err(Error::Failed)?;
    Ok(Outcome::from_passed(reports.iter().all(|report| report.passed())))
}

/// `--server` when given (one instance, or several behind a trace-ID load balancer), else
/// the embedded ingestor (returned too, to be shut down).
async fn trace_source(args: &RunArgs) -> Result<(Arc<dyn TraceSource>, Option<RunningServer>), Error> {
    let unreachable = |error: server::api::Error| Error::classify(error.is_bad_input(), error);
    match args.server.as_slice() {
        [] => {
            let ingestor =
                server::start(args.ingest.server_config(None), |_| tonic::service::Routes::default())
                    .await
                    .map_err(|error| Error::Failed(EmbeddedStart(error).into()))?;
            Ok((Arc::new(LocalSource { store: ingestor.store().clone() }), Some(ingestor)))
        }
        [url] => {
            let client = server::api::RemoteClient::connect_tls(
                url,
                args.auth_token.as_deref(),
                &args.tls.client_tls(),
            )
            .await
            .map_err(unreachable)?;
            Ok((Arc::new(RemoteSource { client }), None))
        }
        urls => {
            let clients = server::api::RemoteClient::connect_all(
                urls,
                args.auth_token.as_deref(),
                &args.tls.client_tls(),
            )
            .await
            .map_err(unreachable)?;
            Ok((Arc::new(ShardedSource::new(clients)), None))
        }
    }
}
