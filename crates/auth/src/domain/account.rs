//! A registration, fully parsed.

use super::{Address, Email, Password, PersonName, Username, ValidationError, given};

/// The optional details given at registration; kept for the `user.registered` event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub email: Option<Email>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub address: Option<Address>,
}

impl Profile {
    /// Parses the raw optional fields; blank ones count as absent.
    pub fn parse(
        email: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
        address: Option<String>,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            email: given(email).map(Email::parse).transpose()?,
            first_name: given(first_name)
                .map(|name| PersonName::parse("first_name", name))
                .transpose()?,
            last_name: given(last_name)
                .map(|name| PersonName::parse("last_name", name))
                .transpose()?,
            address: given(address).map(Address::parse).transpose()?,
        })
    }
}

/// Everything needed to create an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: Username,
    pub password: Password,
    pub profile: Profile,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_optional_fields_are_absent() {
        let profile = Profile::parse(Some("  ".into()), Some(String::new()), None, None).unwrap();
        assert_eq!(profile, Profile::default());
    }

    #[test]
    fn a_bad_optional_field_is_named() {
        let error = Profile::parse(Some("nope".into()), None, None, None).unwrap_err();
        assert_eq!(error.field, "email");
    }
}
