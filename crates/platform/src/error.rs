//! The failures every service's requests share, and the one way each becomes a problem.
//!
//! Each service keeps one error enum with the failures of its own domain (an unknown order,
//! a taken username) and the status code and `code` of each. Four failures are the same in
//! every service and are written here once ([`CommonError`]): a refused input (422 naming the
//! field), an answer already decided elsewhere (an extractor's rejection), a database error
//! (503 `database_unavailable` when the database cannot be reached, else an opaque 500 logged
//! once with its cause, see [`crate::db::database_problem`]) and any other unexpected error
//! (an opaque 500, or 503 when a database outage caused it). A service's enum holds them as one
//! variant, `Common(#[from] CommonError)`, and [`service_error!`](crate::service_error) writes
//! the conversions, so `?` works on a `sqlx::Error`, an `anyhow::Error`, a [`Problem`] or a
//! [`ValidationError`] in every handler, and the response is the enum's `problem()`.

use crate::Problem;
use crate::domain::ValidationError;

/// What can go wrong in any service's request, whatever its domain.
#[derive(Debug, thiserror::Error)]
pub enum CommonError {
    /// An input value was refused: 422 naming its field.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// An answer already decided elsewhere (an extractor's rejection, a 403).
    #[error("{0}")]
    Problem(Box<Problem>),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<Problem> for CommonError {
    fn from(problem: Problem) -> Self {
        CommonError::Problem(Box::new(problem))
    }
}

impl From<CommonError> for Problem {
    fn from(error: CommonError) -> Self {
        match error {
            CommonError::Validation(error) => error.into(),
            CommonError::Problem(problem) => *problem,
            CommonError::Database(error) => crate::db::database_problem(&error),
            CommonError::Internal(error) => crate::db::internal_problem(&error),
        }
    }
}

/// For [`service_error!`](crate::service_error)'s expansion.
#[doc(hidden)]
pub mod __private {
    pub use axum::response::{IntoResponse, Response};
    pub use sqlx::Error as SqlxError;
}

/// Makes a service's error enum, which has a `Common(CommonError)` variant and a
/// `fn problem(self) -> Problem`, convertible from every [`CommonError`] cause and an axum
/// response.
///
/// ```text
/// #[derive(Debug, thiserror::Error)]
/// pub enum CarsError {
///     #[error("no such car")]
///     NotFound,
///     #[error(transparent)]
///     Common(#[from] platform::error::CommonError),
/// }
/// platform::service_error!(CarsError);
/// ```
#[macro_export]
macro_rules! service_error {
    ($error:ident) => {
        impl From<$crate::error::__private::SqlxError> for $error {
            fn from(error: $crate::error::__private::SqlxError) -> Self {
                $error::Common(error.into())
            }
        }

        impl From<anyhow::Error> for $error {
            fn from(error: anyhow::Error) -> Self {
                $error::Common(error.into())
            }
        }

        impl From<$crate::Problem> for $error {
            fn from(problem: $crate::Problem) -> Self {
                $error::Common(problem.into())
            }
        }

        impl From<$crate::domain::ValidationError> for $error {
            fn from(error: $crate::domain::ValidationError) -> Self {
                $error::Common(error.into())
            }
        }

        impl $crate::error::__private::IntoResponse for $error {
            fn into_response(self) -> $crate::error::__private::Response {
                $crate::error::__private::IntoResponse::into_response(self.problem())
            }
        }
    };
}
