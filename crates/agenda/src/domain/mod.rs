//! The agenda's vocabulary as types that can only hold valid values.
//!
//! Handlers parse request bodies, paths and query strings into these types first ("parse, don't
//! validate"); storage then works with values known to be acceptable. Nothing here knows about
//! HTTP or SQL: a failed parse is a [`ValidationError`] naming the input field as the client
//! sent it, which the error layer turns into a 422.

mod access;
mod event;
mod listing;
mod timestamp;

pub use access::Viewer;
pub use event::{
    AgendaEvent, Description, EventChanges, EventId, Location, NewEvent, Schedule, Title,
    Visibility,
};
pub use listing::{EventQuery, Page, SearchTerm};
pub use timestamp::Timestamp;

pub use platform::domain::ValidationError;
