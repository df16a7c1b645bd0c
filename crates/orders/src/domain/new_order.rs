//! What a customer asks for: products and quantities, and where to ship them.
//!
//! Prices are deliberately absent: they come from the products service at reservation time,
//! never from the client (one of the seeds' failures was trusting a client-sent total).

use super::ValidationError;

/// Most lines one order may have.
pub const MAX_LINES: usize = 100;
/// Largest quantity of one product in one order.
pub const MAX_QUANTITY: u32 = 1000;
const MAX_ADDRESS_CHARS: usize = 500;

/// A product id: products keep small positive integer ids (the seeds' order flow names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProductId(i64);

impl ProductId {
    pub fn parse(field: &str, value: i64) -> Result<Self, ValidationError> {
        if value < 1 {
            return Err(ValidationError::new(field, "must be a positive integer"));
        }
        Ok(Self(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// How many of one product: an integer from 1 to [`MAX_QUANTITY`]. Zero, negative and
/// fractional quantities never get this far (a seed accepted −1 and *raised* the stock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(u32);

impl Quantity {
    pub fn parse(field: &str, value: i64) -> Result<Self, ValidationError> {
        match u32::try_from(value) {
            Ok(quantity) if (1..=MAX_QUANTITY).contains(&quantity) => Ok(Self(quantity)),
            _ => Err(ValidationError::new(
                field,
                format!("must be an integer from 1 to {MAX_QUANTITY}"),
            )),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// A shipping address: 1 to 500 characters, trimmed, line breaks allowed, no other control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingAddress(String);

impl ShippingAddress {
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        let field = "shipping_address";
        let value = value.into().trim().to_owned();
        if value.is_empty() {
            return Err(ValidationError::new(field, "must not be empty"));
        }
        if value.chars().count() > MAX_ADDRESS_CHARS {
            return Err(ValidationError::new(
                field,
                format!("must be at most {MAX_ADDRESS_CHARS} characters long"),
            ));
        }
        if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r'))
        {
            return Err(ValidationError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// One requested line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewOrderLine {
    pub product_id: ProductId,
    pub quantity: Quantity,
}

impl NewOrderLine {
    /// Parses line `index` of the request; missing values are named like wrong ones.
    pub fn parse(
        index: usize,
        product_id: Option<i64>,
        quantity: Option<i64>,
    ) -> Result<Self, ValidationError> {
        let product_field = format!("items[{index}].product_id");
        let quantity_field = format!("items[{index}].quantity");
        let product_id =
            product_id.ok_or_else(|| ValidationError::new(&product_field, "is required"))?;
        let quantity =
            quantity.ok_or_else(|| ValidationError::new(&quantity_field, "is required"))?;
        Ok(Self {
            product_id: ProductId::parse(&product_field, product_id)?,
            quantity: Quantity::parse(&quantity_field, quantity)?,
        })
    }
}

/// A valid order request: 1 to [`MAX_LINES`] lines, each product at most once, and an optional
/// shipping address (the profile's address is used when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    lines: Vec<NewOrderLine>,
    shipping_address: Option<ShippingAddress>,
}

impl NewOrder {
    pub fn new(
        lines: Vec<NewOrderLine>,
        shipping_address: Option<ShippingAddress>,
    ) -> Result<Self, ValidationError> {
        if lines.is_empty() || lines.len() > MAX_LINES {
            return Err(ValidationError::new(
                "items",
                format!("must have 1 to {MAX_LINES} lines"),
            ));
        }
        for (index, line) in lines.iter().enumerate() {
            if lines[..index]
                .iter()
                .any(|earlier| earlier.product_id == line.product_id)
            {
                return Err(ValidationError::new(
                    format!("items[{index}].product_id"),
                    "appears on an earlier line; give each product once with its total quantity",
                ));
            }
        }
        Ok(Self {
            lines,
            shipping_address,
        })
    }

    pub fn lines(&self) -> &[NewOrderLine] {
        &self.lines
    }

    pub fn shipping_address(&self) -> Option<&ShippingAddress> {
        self.shipping_address.as_ref()
    }

    /// The line (and its index) for a product, to name the right field in an error.
    pub fn position_of(&self, product_id: i64) -> Option<usize> {
        self.lines
            .iter()
            .position(|line| line.product_id.get() == product_id)
    }

    /// A canonical text of the request, so a reused `Idempotency-Key` can be told apart from
    /// a repeat: two requests are the same exactly when their fingerprints are equal.
    pub fn fingerprint(&self) -> String {
        let lines: Vec<_> = self
            .lines
            .iter()
            .map(|line| serde_json::json!([line.product_id.get(), line.quantity.get()]))
            .collect();
        serde_json::json!({
            "items": lines,
            "shipping_address": self.shipping_address.as_ref().map(ShippingAddress::as_str),
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(product_id: i64, quantity: i64) -> NewOrderLine {
        NewOrderLine::parse(0, Some(product_id), Some(quantity)).unwrap()
    }

    #[test]
    fn quantities_outside_1_to_1000_are_refused_naming_the_line() {
        for bad in [0, -1, 1001, 10_001, i64::MAX, i64::MIN] {
            let error = NewOrderLine::parse(3, Some(1), Some(bad)).unwrap_err();
            assert_eq!(error.field, "items[3].quantity", "{bad}");
        }
        assert_eq!(line(1, 1).quantity.get(), 1);
        assert_eq!(line(1, 1000).quantity.get(), 1000);
    }

    #[test]
    fn product_ids_must_be_positive() {
        for bad in [0, -5] {
            let error = NewOrderLine::parse(1, Some(bad), Some(1)).unwrap_err();
            assert_eq!(error.field, "items[1].product_id");
        }
    }

    #[test]
    fn missing_values_are_named() {
        let error = NewOrderLine::parse(2, None, Some(1)).unwrap_err();
        assert_eq!(error.field, "items[2].product_id");
        let error = NewOrderLine::parse(2, Some(1), None).unwrap_err();
        assert_eq!(error.field, "items[2].quantity");
    }

    #[test]
    fn an_order_has_1_to_100_lines() {
        assert_eq!(NewOrder::new(vec![], None).unwrap_err().field, "items");
        let many: Vec<_> = (1..=101).map(|id| line(id, 1)).collect();
        assert_eq!(NewOrder::new(many, None).unwrap_err().field, "items");
        let hundred: Vec<_> = (1..=100).map(|id| line(id, 1)).collect();
        assert!(NewOrder::new(hundred, None).is_ok());
    }

    #[test]
    fn a_product_appears_once() {
        let error = NewOrder::new(vec![line(1, 1), line(2, 1), line(1, 3)], None).unwrap_err();
        assert_eq!(error.field, "items[2].product_id");
    }

    #[test]
    fn addresses_are_trimmed_and_bounded() {
        assert_eq!(
            ShippingAddress::parse("  1 rue de la Paix\n75002 Paris ")
                .unwrap()
                .as_str(),
            "1 rue de la Paix\n75002 Paris"
        );
        for bad in ["", "   ", "a\u{0}b"] {
            assert_eq!(
                ShippingAddress::parse(bad).unwrap_err().field,
                "shipping_address"
            );
        }
        assert!(ShippingAddress::parse("x".repeat(501)).is_err());
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        let one = NewOrder::new(vec![line(1, 2)], None).unwrap();
        let same = NewOrder::new(vec![line(1, 2)], None).unwrap();
        let more = NewOrder::new(vec![line(1, 3)], None).unwrap();
        let shipped = NewOrder::new(
            vec![line(1, 2)],
            Some(ShippingAddress::parse("Lyon").unwrap()),
        )
        .unwrap();
        assert_eq!(one.fingerprint(), same.fingerprint());
        assert_ne!(one.fingerprint(), more.fingerprint());
        assert_ne!(one.fingerprint(), shipped.fingerprint());
    }
}
