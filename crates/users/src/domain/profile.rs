//! A profile's editable details, whole (create, replace) or as a set of changes (patch).

use super::{Address, Email, PersonName, PersonalDetails, Phone, Username, ValidationError, given};
use time::OffsetDateTime;
use uuid::Uuid;

/// The details a profile holds besides its identity (id, username) and timestamps. Every one is
/// optional: a profile created from a bare registration has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileDetails {
    pub email: Option<Email>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub address: Option<Address>,
    pub phone: Option<Phone>,
}

impl ProfileDetails {
    /// Parses the raw optional fields; blank ones count as absent.
    pub fn parse(
        email: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
        address: Option<String>,
        phone: Option<String>,
    ) -> Result<Self, ValidationError> {
        let personal = PersonalDetails::parse(email, first_name, last_name, address)?;
        Ok(Self {
            email: personal.email,
            first_name: personal.first_name,
            last_name: personal.last_name,
            address: personal.address,
            phone: given(phone).map(Phone::parse).transpose()?,
        })
    }
}

/// What a partial update does to one optional field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    /// The field was not sent: it stays as it is.
    Keep,
    /// The field was sent as `null` or blank: it is emptied.
    Clear,
    Set(T),
}

impl<T> Change<T> {
    /// From a field that may be absent (`None`), `null` (`Some(None)`) or a value.
    fn parse(
        raw: Option<Option<String>>,
        parse: impl FnOnce(String) -> Result<T, ValidationError>,
    ) -> Result<Self, ValidationError> {
        match raw {
            None => Ok(Change::Keep),
            Some(value) => match given(value) {
                None => Ok(Change::Clear),
                Some(text) => parse(text).map(Change::Set),
            },
        }
    }

    fn from_option(value: Option<T>) -> Self {
        value.map_or(Change::Clear, Change::Set)
    }

    pub fn is_keep(&self) -> bool {
        matches!(self, Change::Keep)
    }

    /// The new value, if the field changes: `None` keeps, `Some(None)` clears.
    pub fn new_value(&self) -> Option<Option<&T>> {
        match self {
            Change::Keep => None,
            Change::Clear => Some(None),
            Change::Set(value) => Some(Some(value)),
        }
    }
}

/// The changes one request makes to a profile. `username` is `None` when not changed; only an
/// admin may change it (the route checks, this type only parses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileChanges {
    pub username: Option<Username>,
    pub email: Change<Email>,
    pub first_name: Change<PersonName>,
    pub last_name: Change<PersonName>,
    pub address: Change<Address>,
    pub phone: Change<Phone>,
}

impl ProfileChanges {
    /// A partial update (PATCH): absent fields are kept, `null` or blank ones are emptied.
    pub fn patch(
        username: Option<String>,
        email: Option<Option<String>>,
        first_name: Option<Option<String>>,
        last_name: Option<Option<String>>,
        address: Option<Option<String>>,
        phone: Option<Option<String>>,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            username: username.map(Username::parse).transpose()?,
            email: Change::parse(email, Email::parse)?,
            first_name: Change::parse(first_name, |name| PersonName::parse("first_name", name))?,
            last_name: Change::parse(last_name, |name| PersonName::parse("last_name", name))?,
            address: Change::parse(address, Address::parse)?,
            phone: Change::parse(phone, Phone::parse)?,
        })
    }

    /// A full replacement (PUT): every detail takes the given value, absent ones are emptied.
    pub fn replace(username: Option<Username>, details: ProfileDetails) -> Self {
        Self {
            username,
            email: Change::from_option(details.email),
            first_name: Change::from_option(details.first_name),
            last_name: Change::from_option(details.last_name),
            address: Change::from_option(details.address),
            phone: Change::from_option(details.phone),
        }
    }
}

/// A live profile, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The auth account's id.
    pub id: Uuid,
    pub username: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_optional_fields_are_absent() {
        let details = ProfileDetails::parse(
            Some("  ".into()),
            Some(String::new()),
            None,
            Some("\n".into()),
            None,
        )
        .unwrap();
        assert_eq!(details, ProfileDetails::default());
    }

    #[test]
    fn a_bad_field_is_named() {
        let error =
            ProfileDetails::parse(None, None, None, None, Some("not a number".into())).unwrap_err();
        assert_eq!(error.field, "phone");
        let error =
            ProfileChanges::patch(None, None, Some(Some("x".repeat(101))), None, None, None)
                .unwrap_err();
        assert_eq!(error.field, "first_name");
    }

    #[test]
    fn a_patch_tells_keep_clear_and_set_apart() {
        let changes = ProfileChanges::patch(
            None,
            None,
            Some(None),
            Some(Some(" ".into())),
            Some(Some("1 rue de la Paix".into())),
            None,
        )
        .unwrap();
        assert_eq!(changes.email, Change::Keep);
        assert_eq!(changes.first_name, Change::Clear);
        assert_eq!(changes.last_name, Change::Clear);
        assert_eq!(
            changes.address,
            Change::Set(Address::parse("1 rue de la Paix").unwrap())
        );
    }

    #[test]
    fn a_replacement_empties_what_it_does_not_give() {
        let changes = ProfileChanges::replace(None, ProfileDetails::default());
        assert_eq!(changes.email, Change::Clear);
        assert_eq!(changes.phone, Change::Clear);
    }
}
