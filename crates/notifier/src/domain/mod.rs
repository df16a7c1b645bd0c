//! The notifier's input types, parsed once at the edge (an order or agenda event payload, a page
//! request) so the rest of the code never handles an unchecked value. Nothing here knows HTTP
//! or SQL.

mod agenda_event;
mod money;
mod notification;
mod order_event;
mod page;

pub use agenda_event::{AgendaEvent, AgendaEventKind, AgendaPayloadError};
pub use money::Cents;
pub use notification::Notification;
pub use order_event::{OrderEvent, OrderEventKind, PayloadError};
pub use page::Page;

/// A request value that is not acceptable, named by its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
