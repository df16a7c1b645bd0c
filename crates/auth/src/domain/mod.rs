//! The auth service's vocabulary as types that can only hold valid values.
//!
//! Handlers parse request bodies into these types first ("parse, don't validate"); everything
//! after that point works with values that are known to be acceptable, so no other layer
//! re-checks lengths or characters. Nothing here knows about HTTP or SQL: a failed parse is a
//! [`ValidationError`] naming the input field, which the error layer turns into a 422. The
//! details a user shares with the users service (username, e-mail, names, address) are
//! `platform::domain`'s, so both services accept exactly the same values.

mod account;
mod client_id;
mod password;

pub use account::{Account, NewAccount};
pub use client_id::ClientId;
pub use password::Password;
pub use platform::domain::{
    Address, Email, PersonName, PersonalDetails, Username, ValidationError,
};
