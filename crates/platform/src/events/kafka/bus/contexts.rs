//! librdkafka client contexts: its log lines and errors in ours, and a member's rebalances.

use super::*;

/// Client errors at the level they deserve: a broker that cannot be reached is a condition the
/// outbox and the consumers ride out (debug), anything else is worth a warning.
pub(super) fn log_client_error(error: &KafkaError, reason: &str) {
    match error.rdkafka_error_code() {
        Some(
            RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::Resolve,
        ) => tracing::debug!(%error, reason, "Kafka broker unreachable"),
        _ => tracing::warn!(%error, reason, "Kafka client error"),
    }
}

/// The producer's and the admin client's context: errors through [`log_client_error`].
#[derive(Clone, Copy)]
pub(super) struct QuietContext;

/// The lag reporter's client never joins its group: nothing to do on a rebalance.
impl ConsumerContext for QuietContext {}

impl ClientContext for QuietContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_client_message(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        log_client_error(&error, reason);
    }
}

/// librdkafka's own log lines: connection failures are reported as errors too (and logged by
/// [`log_client_error`]), so only the severe ones are warnings here.
pub(super) fn log_client_message(level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical => {
            tracing::error!(facility, "librdkafka: {message}");
        }
        RDKafkaLogLevel::Error | RDKafkaLogLevel::Warning => {
            tracing::debug!(facility, "librdkafka: {message}");
        }
        _ => tracing::trace!(facility, "librdkafka: {message}"),
    }
}

/// A consumer's context: errors through [`log_client_error`] and the count of rebalances.
pub(super) struct MemberContext {
    /// Bumped by every rebalance (assignment or revocation).
    pub(super) rebalances: AtomicU64,
}

impl MemberContext {
    /// The member's assignment generation: it changes whenever a rebalance ran, after which
    /// every assigned partition restarts from its committed offset.
    pub(super) fn generation(&self) -> u64 {
        self.rebalances.load(Ordering::Acquire)
    }
}

impl ClientContext for MemberContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_client_message(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        log_client_error(&error, reason);
    }
}

impl ConsumerContext for MemberContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, _rebalance: &Rebalance<'_>) {
        self.rebalances.fetch_add(1, Ordering::AcqRel);
    }
}
