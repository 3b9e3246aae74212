//! Logs and metrics, set up once per process.
//!
//! Logs are JSON lines through `tracing`. Metrics go through the `metrics` facade into one
//! Prometheus recorder, so our own metrics and those of libraries share one `/metrics`. Every
//! metric is described here (Prometheus `# HELP`), durations are histograms in seconds with
//! explicit buckets, and no label takes unbounded values (no merchant, phone or id).

use std::sync::OnceLock;

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::{LogFormat, LogSettings};

/// Installs the global log subscriber. A second call (as in tests) leaves the first in place.
/// Logs go to stderr, so commands that print JSON results keep stdout to themselves.
pub fn init_tracing(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_span_events(FmtSpan::NONE).with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

const SECONDS_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const ROWS_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];
/// Jobs wait behind backlogs and run for minutes (imports, scrapes): buckets reach an hour.
const JOB_SECONDS_BUCKETS: &[f64] =
    &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];
const JOB_HISTOGRAMS: &[&str] =
    &["recete_job_wait_seconds", "recete_job_run_seconds", "recete_job_start_lateness_seconds"];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once) and returns the handle that renders it.
pub fn metrics_handle() -> PrometheusHandle {
    RECORDER
        .get_or_init(|| {
            // Full-name matchers are consulted before suffix matchers.
            let builder = JOB_HISTOGRAMS
                .iter()
                .try_fold(PrometheusBuilder::new(), |builder, name| {
                    builder.set_buckets_for_metric(Matcher::Full((*name).into()), JOB_SECONDS_BUCKETS)
                })
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_rows".into()), ROWS_BUCKETS))
                .expect("bucket lists are non-empty constants");
            let handle = match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is already global (a test harness): render ours unattached.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            };
            describe_metrics();
            metrics::gauge!("recete_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            handle
        })
        .clone()
}

fn describe_metrics() {
    describe_gauge!("recete_build_info", "Always 1; the label carries the running version.");
    describe_histogram!(
        "http_server_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method, route template and status."
    );
    describe_counter!("http_server_requests_total", "HTTP requests answered, by method, route template and status.");
    describe_counter!(
        "recete_webhook_events_stored_total",
        "Webhook events stored for the first time, by source and kind."
    );
    describe_counter!("recete_webhook_duplicates_total", "Webhook deliveries already stored earlier, by source.");
    describe_counter!(
        "recete_webhook_signature_failures_total",
        "Webhook requests refused for a missing or wrong signature, or an unknown or disabled id, by source."
    );
    describe_counter!(
        "recete_integration_lookups_total",
        "Integration lookups sent to the database by webhook routing, by result (found, unknown); misses are then remembered for a few seconds."
    );
    describe_counter!(
        "recete_webhook_rejected_total",
        "Webhook requests refused before storage, by source and reason."
    );
    describe_counter!(
        "recete_webhook_ignored_total",
        "Signed webhook deliveries of topics Recete does not act on, by source."
    );
    describe_histogram!("recete_ingest_batch_rows", "Rows written by one group commit of incoming events.");
    describe_histogram!(
        "recete_ingest_commit_duration_seconds",
        Unit::Seconds,
        "Time to write and commit one batch of incoming events."
    );
    describe_counter!(
        "recete_jobs_enqueued_total",
        "Jobs handed from PostgreSQL to Redis by the relay, by queue and schedule (immediate, or delayed until due)."
    );
    describe_counter!(
        "recete_job_executions_total",
        "Job runs, by queue and outcome (succeeded, skipped, failed and retried, dead, timed_out, released at shutdown)."
    );
    describe_histogram!(
        "recete_job_wait_seconds",
        Unit::Seconds,
        "Time from a job becoming ready (due and handed to Redis) to its start, by queue."
    );
    describe_histogram!("recete_job_run_seconds", Unit::Seconds, "Time a job's handler ran, by queue.");
    describe_histogram!(
        "recete_job_start_lateness_seconds",
        Unit::Seconds,
        "Time from a delayed job's due time to its start (follow-ups and other planned work), by queue."
    );
    describe_gauge!(
        "recete_queue_depth",
        "Jobs waiting in Redis, by queue (the relays together keep it under queue.max_backlog)."
    );
    describe_gauge!(
        "recete_queue_reserved",
        "Jobs other relays had reserved in the queue's backlog budget and not yet given back, at this relay's last pass, by queue."
    );
    describe_gauge!(
        "recete_queue_jobs",
        "Jobs in PostgreSQL by queue and state (pending and due, running, retrying, dead, scheduled for later)."
    );
    describe_gauge!(
        "recete_queue_oldest_ready_age_seconds",
        Unit::Seconds,
        "How long the longest-waiting ready job has been due, by queue (0 when none is ready)."
    );
    describe_gauge!("recete_queue_paused", "1 while an operator has paused the queue, else 0.");
    describe_gauge!("recete_worker_slots", "Concurrency slots of this process's running workers, by pool.");
    describe_gauge!("recete_worker_busy_slots", "Slots of this process running a job now, by pool.");
    describe_gauge!("recete_workers_live", "Worker processes serving the queue across the fleet, by queue.");
    describe_counter!(
        "recete_reconciler_recovered_total",
        "Rows handed over again because their earlier job never finished, by queue."
    );
    describe_counter!("recete_pool_restarts_total", "Worker pools restarted after they stopped on their own, by pool.");
    describe_counter!("recete_queue_pruned_total", "Finished jobs removed from Redis, by queue.");
    describe_counter!(
        "recete_orders_assumed_delivered_total",
        "Orders taken as delivered after their fulfilment delay."
    );
    describe_gauge!(
        "recete_periodic_job_last_success_timestamp_seconds",
        Unit::Seconds,
        "Unix time of the last successful run of a periodic job anywhere in the fleet, by job."
    );
    describe_counter!("recete_api_keys_expired_total", "API keys recorded as expired by the daily expiry job.");
    describe_counter!(
        "recete_analytics_daily_rows_recomputed_total",
        "Daily analytics rows (one per merchant and day) recomputed by the rollup, unchanged ones included."
    );
    describe_gauge!("recete_dependency_up", "1 when the dependency answered the last readiness check, by dependency.");
    describe_counter!(
        "recete_scrapes_total",
        "Product page fetches, by outcome (scraped, retryable failure, refused for good)."
    );
    describe_counter!("recete_chunks_embedded_total", "Knowledge chunks embedded (unchanged text is never counted).");
    describe_counter!(
        "recete_agent_answers_total",
        "Customer messages answered by the agent, by intent and whether the conversation went to a person."
    );
    describe_histogram!(
        "recete_agent_answer_seconds",
        Unit::Seconds,
        "Time from claiming an answer task to the reply being stored, model time included."
    );
}
