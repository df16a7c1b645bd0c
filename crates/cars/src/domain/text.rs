//! A car's text fields: brand, model and colour.
//!
//! Each is its own type so a brand can never be stored as a colour by a swapped argument. They
//! share one rule: 1 to 64 characters once surrounding whitespace is trimmed, and no control
//! characters (a line break in a brand is a paste accident, not a brand).

use serde::Deserialize;

use super::InvalidValue;

/// The most characters (not bytes) a brand, model or colour may have.
pub const MAX_TEXT_CHARS: usize = 64;

fn parse_text(value: &str) -> Result<String, InvalidValue> {
    let value = value.trim();
    if value.is_empty() {
        return Err(InvalidValue::new("must not be empty"));
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(InvalidValue::new(format!(
            "must be at most {MAX_TEXT_CHARS} characters long"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(InvalidValue::new("must not contain control characters"));
    }
    Ok(value.to_owned())
}

macro_rules! car_text {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl $name {
            /// Trims `value` and checks it (1 to 64 characters, no control characters).
            pub fn parse(value: &str) -> Result<Self, InvalidValue> {
                parse_text(value).map(Self)
            }

            /// The value as given, trimmed.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The form filters match and sorts order on: lowercased (Unicode-aware), so
            /// matching ignores case the same way on every database engine.
            pub fn key(&self) -> String {
                self.0.to_lowercase()
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

car_text!(
    /// Who made the car (`Peugeot`), the seed's `marque`.
    Brand
);
car_text!(
    /// The model name (`208`), the seed's `modèle`.
    Model
);
car_text!(
    /// The car's colour as people say it (`bleu nuit`), the seed's `couleur`.
    Color
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_trimmed() {
        assert_eq!(Brand::parse("  Peugeot \t").unwrap().as_str(), "Peugeot");
    }

    #[test]
    fn lengths_count_characters_after_trimming() {
        assert!(Model::parse(&"é".repeat(64)).is_ok());
        assert!(Model::parse(&format!("  {}  ", "x".repeat(64))).is_ok());
        assert!(Model::parse(&"é".repeat(65)).is_err());
        assert!(Model::parse("x").is_ok());
    }

    #[test]
    fn blank_and_control_characters_are_refused() {
        for bad in ["", "   ", "\n\t", "bleu\nnuit", "a\u{0}b"] {
            assert!(Color::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_ignore_case_beyond_ascii() {
        assert_eq!(
            Brand::parse("CITROËN").unwrap().key(),
            Brand::parse("citroën").unwrap().key()
        );
    }

    #[test]
    fn deserializing_runs_the_same_checks() {
        let brand: Brand = serde_json::from_str("\" Renault \"").unwrap();
        assert_eq!(brand.as_str(), "Renault");
        assert!(serde_json::from_str::<Brand>("\"  \"").is_err());
        assert!(serde_json::from_str::<Brand>("12").is_err());
    }
}
