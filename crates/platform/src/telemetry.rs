//! Logging setup shared by every process.
//!
//! Human-readable lines by default (what a newcomer reads in a terminal), JSON lines with
//! `MICROSHOP_LOG_FORMAT=json` (what a log pipeline ingests). Every line logged while a request
//! is handled carries that request's span, and so its `request_id`.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// Installs the global subscriber once; later calls (tests start many apps) are no-ops.
///
/// The filter comes from `MICROSHOP_LOG` (or `RUST_LOG`) in `EnvFilter` syntax, default `info`.
pub fn init(format: LogFormat) {
    let filter = std::env::var("MICROSHOP_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,sqlx=warn,hyper=warn,tower_http=warn".to_owned());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr, so stdout stays for what the seeds ask to see there (the banner, the
    // notifier's lines); colours only on a terminal, they cost a lot per line otherwise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
