//! A catalogue entry's parts: its id, name, description, price and stock.

use super::{PriceCents, ValidationError};

/// Longest product name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Most units of one product the shop may hold.
pub const MAX_STOCK: i64 = 1_000_000;

/// A product's id: a positive integer, as the seeds' order flow names products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductId(i64);

impl ProductId {
    /// An id from a URL path segment.
    ///
    /// Text that is not an integer is refused (the client made a mistake); an integer that no
    /// product can have (zero, negative, too large) is `Ok(None)`, which answers 404 like any
    /// other id that matches nothing.
    pub fn parse_path(text: &str) -> Result<Option<Self>, ValidationError> {
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(ValidationError::new("id", "must be an integer product id"));
        }
        Ok(text.parse::<i64>().ok().and_then(Self::new))
    }

    /// An id from a JSON body; `None` when it cannot name a product.
    pub fn new(id: i64) -> Option<Self> {
        (id > 0).then_some(Self(id))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for ProductId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A product name: 1 to 200 characters once surrounding whitespace is trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    /// `field` is the name the client used (`name` or `nom`), for the error.
    pub fn parse(value: &str, field: &str) -> Result<Self, ValidationError> {
        let trimmed = value.trim();
        let length = trimmed.chars().count();
        if length == 0 {
            return Err(ValidationError::new(field, "must not be empty"));
        }
        if length > MAX_NAME_CHARS {
            return Err(ValidationError::new(
                field,
                format!("must be at most {MAX_NAME_CHARS} characters long"),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ValidationError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form `?q=` searches: lowercased, so matching ignores case on every database engine.
    pub fn search_key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A product description: up to 2000 characters, trimmed; empty when there is none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let trimmed = value.trim();
        if trimmed.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(ValidationError::new(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters long"),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Units in stock: 0 to [`MAX_STOCK`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stock(i64);

impl Stock {
    pub fn parse(units: i64) -> Result<Self, ValidationError> {
        if !(0..=MAX_STOCK).contains(&units) {
            return Err(ValidationError::new(
                "stock",
                format!("must be between 0 and {MAX_STOCK}"),
            ));
        }
        Ok(Self(units))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A product to add to the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    pub name: ProductName,
    pub description: Description,
    pub price: PriceCents,
    pub stock: Stock,
}

/// A partial update: only the given parts change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductChanges {
    pub name: Option<ProductName>,
    pub description: Option<Description>,
    pub price: Option<PriceCents>,
    pub stock: Option<Stock>,
}

impl ProductChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.price.is_none()
            && self.stock.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_ids_must_be_integers() {
        assert_eq!(
            ProductId::parse_path("7").unwrap().map(ProductId::get),
            Some(7)
        );
        for bad in ["abc", "1.5", "", "1e3", " 1", "0x10", "-"] {
            assert_eq!(ProductId::parse_path(bad).unwrap_err().field, "id", "{bad}");
        }
    }

    #[test]
    fn integers_no_product_can_have_match_nothing() {
        for none in ["0", "-3", "99999999999999999999999"] {
            assert_eq!(ProductId::parse_path(none), Ok(None), "{none}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            ProductName::parse("  Lamp ", "name").unwrap().as_str(),
            "Lamp"
        );
        assert!(ProductName::parse(&"é".repeat(200), "name").is_ok());
        assert_eq!(
            ProductName::parse(&"é".repeat(201), "nom")
                .unwrap_err()
                .field,
            "nom"
        );
        assert!(ProductName::parse("   ", "name").is_err());
        assert!(ProductName::parse("a\u{0}b", "name").is_err());
    }

    #[test]
    fn descriptions_are_bounded() {
        assert!(Description::parse(&"x".repeat(2000)).is_ok());
        assert_eq!(
            Description::parse(&"x".repeat(2001)).unwrap_err().field,
            "description"
        );
    }

    #[test]
    fn stock_is_bounded() {
        assert!(Stock::parse(0).is_ok());
        assert!(Stock::parse(MAX_STOCK).is_ok());
        assert!(Stock::parse(-1).is_err());
        assert!(Stock::parse(MAX_STOCK + 1).is_err());
    }

    #[test]
    fn the_search_key_ignores_case() {
        assert_eq!(
            ProductName::parse("Écran USB", "name")
                .unwrap()
                .search_key(),
            "écran usb"
        );
    }
}
