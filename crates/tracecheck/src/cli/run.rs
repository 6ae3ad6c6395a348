//! `tracecheck run FILE...`: check the flags and load every file, choose the trace source
//! (the one place that decides between the embedded ingestor and `--server`, one or several), run the files
//! through [`crate::run::run_files`] and drive the reporters.

use std::sync::Arc;

use anyhow::Context as _;

use super::args::{OutputFormat, RunArgs};
use super::{Error, Outcome};
use crate::run::{
    Backend, LocalSource, PolledSource, RemoteSource, RunConfig, RunFiles, ShardedSource, TraceSource,
};
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
    let flag_gates = match &args.required_gates {
        Some(list) => Some(analyze::parse_gates(list).context("--required-gates").map_err(Error::BadInput)?),
        None => None,
    };
    let inputs = crate::run::load(&args.files, &args.config, args.vars.as_ref(), args.analyzer.as_ref())
        .map_err(|error| Error::Definitions(error.into()))?;
    let settings = &inputs.provisioning;
    let backend = match &settings.data_store {
        Some(store) => Backend::of(store).map_err(|error| Error::BadInput(error.into()))?,
        None => None,
    };
    // A flag wins over a resource, a resource over the default.
    let required_gates = flag_gates
        .or_else(|| settings.test_runner.as_ref().and_then(|runner| runner.required_gates.clone()))
        .unwrap_or_else(|| analyze::DEFAULT_REQUIRED_GATES.to_vec());
    let profile_timeout = settings.polling_profile.as_ref().and_then(|profile| profile.timeout);
    let timeout = args
        .timeout
        .map(Into::into)
        .or(profile_timeout.filter(|timeout| !timeout.is_zero()))
        .unwrap_or(model::defaults::DEFAULT_TIMEOUT);
    say_once(&inputs, args.timeout.is_some());
    let (source, embedded) = trace_source(&args, backend).await?;
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
        timeout,
        analyzer: Arc::new(inputs.analyzer.unwrap_or_default()),
        required_gates,
        secret_variables: Arc::new(inputs.secret_variables),
        secret_values: Arc::new(inputs.secret_values),
        trigger_session: trigger::Session {
            max_body: args.max_response_body,
            max_redirects: args.max_redirects,
            ..trigger::Session::default()
        },
    };
    let request = RunFiles { source: source.clone(), config, parallel: args.parallel };
    let runs = crate::run::run_files(request, inputs.files, inputs.variables, &mut reporters).await;
    // The page inlines the traces as the runs judged them (each with its trigger span).
    let html = match &args.report_html {
        Some(path) => super::html::write(path, &runs),
        None => Ok(()),
    };
    if let Some(ingestor) = embedded {
        if let Err(error) = ingestor.shutdown().await {
            tracing::warn!("embedded ingestor: {}", model::error_chain(&error));
        }
    }
    reporters.close().context("cannot write the report").map_err(Error::Failed)?;
    html.context("cannot write the HTML report").map_err(Error::Failed)?;
    not_recorded(&runs)?;
    Ok(Outcome::from_passed(runs.iter().all(|run| run.report.passed())))
}

/// A run the server did not record fails the command (exit 1), naming each such run and why:
/// `run --server` was asked to leave it on the server's UI, and a log line is easily missed.
fn not_recorded(runs: &[crate::run::FinishedRun]) -> Result<(), Error> {
    let lines: Vec<String> = runs
        .iter()
        .filter_map(|run| {
            let reason = run.not_recorded.as_deref()?;
            let file = run.report.file.as_deref().map(|file| format!(" ({file})")).unwrap_or_default();
            Some(format!("the run of `{}`{file} was not recorded on the server: {reason}", run.report.name))
        })
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    Err(Error::Failed(anyhow::anyhow!("{}", lines.join("\n"))))
}

/// Says once, on stderr (stdout is the report's), how the provisioning resources and the
/// files were taken; resources with no effect at all only at info level.
fn say_once(inputs: &crate::run::Inputs, timeout_flag: bool) {
    let settings = &inputs.provisioning;
    if let Some(profile) = &settings.polling_profile {
        let name = if profile.name.is_empty() { "(unnamed)" } else { profile.name.as_str() };
        let mut parts = Vec::new();
        match profile.timeout {
            Some(timeout) if !timeout.is_zero() && timeout_flag => parts.push(format!(
                "its timeout {} is overridden by --timeout",
                humantime::format_duration(timeout)
            )),
            Some(timeout) if !timeout.is_zero() => parts
                .push(format!("its timeout {} is the run's timeout", humantime::format_duration(timeout))),
            _ => {}
        }
        if !profile.ignored.is_empty() {
            parts.push(format!(
                "{} has no meaning here: traces are judged as their spans arrive, not polled",
                profile.ignored.join(", ")
            ));
        }
        if !parts.is_empty() {
            eprintln!("note: PollingProfile `{name}` ({}): {}", profile.path.display(), parts.join("; "));
        }
    }
    if let Some(store) = settings.data_store.as_ref().filter(|store| store.backend == defs::Backend::Receiver)
    {
        tracing::info!(
            "DataStore `{}` (type {}, {}): spans come through the OTLP receiver",
            store.name,
            store.type_name,
            store.path.display()
        );
    }
    for resource in &settings.no_effect {
        tracing::info!("{}: a {} resource has no effect on a run", resource.path.display(), resource.kind);
    }
    for note in &inputs.notes {
        eprintln!("note: {note}");
    }
}

/// `--server` when given (one instance, or several behind a trace-ID load balancer), else
/// the backend a DataStore names (polled), else the embedded ingestor (returned too, to be
/// shut down).
async fn trace_source(
    args: &RunArgs,
    backend: Option<Backend>,
) -> Result<(Arc<dyn TraceSource>, Option<RunningServer>), Error> {
    let unreachable = |error: server::api::Error| Error::classify(error.is_bad_input(), error);
    match (args.server.as_slice(), backend) {
        ([], Some(backend)) => {
            let source = PolledSource::new(backend, args.poll_interval.into())
                .map_err(|error| Error::BadInput(error.into()))?;
            return Ok((Arc::new(source), None));
        }
        (servers, Some(backend)) if !servers.is_empty() => {
            eprintln!("note: --server is read, not the DataStore's {backend}");
        }
        _ => {}
    }
    match args.server.as_slice() {
        [] => {
            let ingestor =
                server::start(args.ingest.server_config(None), |_| tonic::service::Routes::default())
                    .await
                    .map_err(|error| Error::Failed(EmbeddedStart(error).into()))?;
            let listening = vec![
                format!("OTLP/gRPC {}", ingestor.grpc_addr()),
                format!("OTLP/HTTP {}", ingestor.http_addr()),
            ];
            Ok((Arc::new(LocalSource { store: ingestor.store().clone(), listening }), Some(ingestor)))
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
