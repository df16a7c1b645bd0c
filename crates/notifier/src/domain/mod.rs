//! The notifier's input types, parsed once at the edge (an order or agenda event payload, a page
//! request) so the rest of the code never handles an unchecked value. Nothing here knows HTTP
//! or SQL.

mod agenda_event;
mod money;
mod notification;
mod order_event;

pub use agenda_event::{AgendaEvent, AgendaEventKind, AgendaPayloadError};
pub use money::Cents;
pub use notification::Notification;
pub use order_event::{OrderEvent, OrderEventKind, PayloadError};
pub use platform::domain::Page;
use platform::domain::Paging;

/// The inbox's paging: deep offsets are refused rather than scanned (nobody pages a million
/// notifications).
pub const PAGING: Paging = Paging {
    max_offset: Some(1_000_000),
    between: false,
    noun: "an integer",
};

pub use platform::domain::ValidationError;
