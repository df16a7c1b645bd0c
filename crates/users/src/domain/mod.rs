//! The users service's vocabulary as types that can only hold valid values.
//!
//! Handlers parse request bodies into these types first ("parse, don't validate"); storage and
//! the event consumer then work with values known to be acceptable, so nothing re-checks lengths
//! or characters later. Nothing here knows about HTTP or SQL: a failed parse is a
//! [`ValidationError`] naming the input field, which the error layer turns into a 422. The
//! details auth also parses at registration (username, e-mail, names, address) and paging are
//! `platform::domain`'s, so a registration auth accepted always makes a valid profile.

mod phone;
mod profile;

pub use phone::Phone;
pub use platform::domain::{
    Address, Email, Page, PersonName, PersonalDetails, Username, ValidationError, given,
};
pub use profile::{Change, Profile, ProfileChanges, ProfileDetails};
