//! Telling a database that cannot be reached from a fault of the query or the data, and the
//! answer each one gets: an outage is a state of the service (503 `database_unavailable`, the
//! client retries), anything else a bug (an opaque 500, logged once). Constraint violations are
//! recognised by constraint name, never by message text.

use super::RETRY_AFTER_SECS;

/// Whether `error` means the database cannot be reached right now (no connection within the
/// pool's timeout, a connection refused, reset or closed, TLS failing, the server shutting
/// down or refusing connections), as opposed to a fault of the query or of the data. Such a
/// failure is answered [`unavailable_problem`], not an opaque 500.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        // SQLSTATE class 08 (connection exception), 57P01-03 (shutting down, crashed, starting
        // up), 53300 (too many connections).
        sqlx::Error::Database(database) => database.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// [`is_unavailable`] for any error in `error`'s chain.
pub fn caused_by_unavailable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .is_some_and(is_unavailable)
    })
}

/// The answer to a request that needs the database while it cannot be reached: 503
/// `database_unavailable` with `Retry-After`.
pub fn unavailable_problem() -> crate::Problem {
    crate::Problem::service_unavailable(
        "database_unavailable",
        "The database cannot be reached right now; retry shortly",
    )
    .retry_after(RETRY_AFTER_SECS)
}

/// The answer to a request that failed on a database error, logged here once: 503
/// `database_unavailable` when the database cannot be reached (a state of the service, not a
/// bug: clients and the gateway retry), an opaque 500 otherwise. Every service's error enum
/// ends with this and [`internal_problem`].
pub fn database_problem(error: &sqlx::Error) -> crate::Problem {
    if is_unavailable(error) {
        tracing::warn!(error = %error, "the database is unavailable");
        unavailable_problem()
    } else {
        tracing::error!(error = %error, cause = ?std::error::Error::source(error), "database error");
        crate::Problem::internal()
    }
}

/// The answer to an unexpected error, logged here once with its cause chain: an opaque 500,
/// or 503 `database_unavailable` when a database that cannot be reached caused it.
pub fn internal_problem(error: &anyhow::Error) -> crate::Problem {
    if caused_by_unavailable(error) {
        tracing::warn!(error = format!("{error:#}"), "the database is unavailable");
        unavailable_problem()
    } else {
        tracing::error!(error = format!("{error:#}"), "unexpected error");
        crate::Problem::internal()
    }
}

/// Whether a database error is a unique-constraint violation on `constraint`.
///
/// Matched on the constraint (Postgres) or the indexed columns SQLite names, never on free text
/// beyond that, so a conflict maps to 409 reliably.
pub fn is_unique_violation(error: &sqlx::Error, constraint: &str, sqlite_columns: &str) -> bool {
    let sqlx::Error::Database(database) = error else {
        return false;
    };
    if !matches!(database.kind(), sqlx::error::ErrorKind::UniqueViolation) {
        return false;
    }
    match database.constraint() {
        Some(name) => name == constraint,
        None => database.message().contains(sqlite_columns),
    }
}
