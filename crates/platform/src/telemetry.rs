//! Logging setup shared by every process.
//!
//! Human-readable lines by default (what a newcomer reads in a terminal), JSON lines with
//! `MICROSHOP_LOG_FORMAT=json` (what a log pipeline ingests). Every line logged while a request
//! is handled carries that request's span, and so its `request_id`.

use tracing_subscriber::filter::Targets;
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
/// The filter comes from `MICROSHOP_LOG` (or `RUST_LOG`): a default level and `target=level`
/// pairs, such as `warn` or `info,orders=debug` (default `info`, with sqlx, hyper and tower_http
/// at `warn`). A filter that does not parse is reported on stderr and `info` used instead.
/// When the OpenTelemetry variables name a collector (see [`crate::traces`]), spans are also
/// exported, each as the service whose work it is; `service_name` is the process's (`microshop`
/// in embedded mode, the service in `serve` mode), for its spans and those of no service, unless
/// `OTEL_SERVICE_NAME` is set. A tracing setting that cannot work is an error, so a typo does
/// not silently lose every trace. Call it inside the runtime (the exporter sends through it),
/// and [`crate::traces::flush`] before exiting.
/// The log filter `text` names, or `info` when it does not parse (said on stderr: the logger that
/// would say it is not installed yet).
fn parse_filter(text: &str) -> Targets {
    text.parse().unwrap_or_else(|error| {
        eprintln!("warning: MICROSHOP_LOG={text:?} is not a log filter ({error}); logging at info");
        Targets::new().with_default(tracing::Level::INFO)
    })
}

pub fn init(format: LogFormat, service_name: &str) -> Result<(), crate::traces::TracesError> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = std::env::var("MICROSHOP_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,sqlx=warn,hyper=warn,tower_http=warn".to_owned());
    let filter = parse_filter(&filter);
    let (traces, export) = crate::traces::exporting_layer(service_name)?.unzip();
    // Logs go to stderr, so stdout stays for what the seeds ask to see there (the banner, the
    // notifier's lines); colours only on a terminal, they cost a lot per line otherwise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt::layer()
        .with_span_events(FmtSpan::NONE)
        .with_target(false)
        .with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Human => logs.with_ansi(ansi).with_filter(filter).boxed(),
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(traces)
        .with(logs)
        .try_init();
    if let Some(export) = export {
        tracing::info!(url = %export.traces_url, protocol = ?export.protocol, "exporting traces over OTLP");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;
    use tracing_subscriber::filter::LevelFilter;

    #[test]
    fn filters_read_a_default_level_and_target_levels() {
        let filter = parse_filter("info,sqlx=warn,orders=debug");
        assert!(filter.would_enable("orders::routes", &Level::DEBUG));
        assert!(!filter.would_enable("sqlx::query", &Level::INFO));
        assert!(filter.would_enable("sqlx::query", &Level::WARN));
        assert!(filter.would_enable("gateway", &Level::INFO));
        assert!(!filter.would_enable("gateway", &Level::DEBUG));
        assert_eq!(
            parse_filter("warn").default_level(),
            Some(LevelFilter::WARN)
        );
    }

    #[test]
    fn a_filter_that_does_not_parse_logs_at_info() {
        let filter = parse_filter("orders=loud");
        assert_eq!(filter.default_level(), Some(LevelFilter::INFO));
        assert!(!filter.would_enable("orders", &Level::DEBUG));
    }
}
