//! Stock reservations for orders: which order, which products, how many of each.
//!
//! Orders reserves the lines of an order before charging for it; a reservation is all or
//! nothing and keyed by the order id, so a retried call never reserves twice. Lines naming the
//! same product twice are merged into one line (quantities summed, first position kept): stock
//! is per product, and the merged line must still be at most [`MAX_QUANTITY`].

use uuid::Uuid;

use super::{ProductId, ValidationError};

/// Most lines in one reservation (as in one order).
pub const MAX_LINES: usize = 100;
/// Most units of one product in one reservation.
pub const MAX_QUANTITY: i64 = 1000;

/// The order a reservation belongs to: a UUID, stored in its canonical hyphenated form so that
/// every spelling of the same id finds the same reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderId(Uuid);

impl OrderId {
    pub fn new(id: Uuid) -> Self {
        Self(id)
    }

    /// From a URL segment; `None` if it is not a UUID (such an order has no reservation).
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok().map(Self)
    }

    pub fn uuid(self) -> Uuid {
        self.0
    }

    /// The stored form.
    pub fn key(self) -> String {
        self.0.hyphenated().to_string()
    }
}

/// Units of one product: 1 to [`MAX_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(i64);

impl Quantity {
    pub fn parse(units: i64, field: impl Into<String>) -> Result<Self, ValidationError> {
        if !(1..=MAX_QUANTITY).contains(&units) {
            return Err(ValidationError::new(
                field,
                format!("must be between 1 and {MAX_QUANTITY}"),
            ));
        }
        Ok(Self(units))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// One product to reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservationLine {
    pub product_id: ProductId,
    pub quantity: Quantity,
    /// Index of the request line this came from (the first, if merged), so errors about the
    /// product name `items[index].…`.
    pub index: usize,
}

/// A valid reservation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationRequest {
    pub order_id: OrderId,
    /// One line per product, in request order.
    pub lines: Vec<ReservationLine>,
}

impl ReservationRequest {
    /// From the request's order id and `(product_id, quantity)` lines.
    pub fn parse(order_id: Uuid, items: &[(i64, i64)]) -> Result<Self, ValidationError> {
        if items.is_empty() || items.len() > MAX_LINES {
            return Err(ValidationError::new(
                "items",
                format!("must hold between 1 and {MAX_LINES} lines"),
            ));
        }
        let mut lines: Vec<ReservationLine> = Vec::with_capacity(items.len());
        for (index, &(product_id, quantity)) in items.iter().enumerate() {
            let product_id = ProductId::new(product_id).ok_or_else(|| {
                ValidationError::new(
                    format!("items[{index}].product_id"),
                    "must be a positive integer",
                )
            })?;
            let quantity_field = format!("items[{index}].quantity");
            let quantity = Quantity::parse(quantity, quantity_field.clone())?;
            match lines.iter_mut().find(|line| line.product_id == product_id) {
                Some(line) => {
                    line.quantity = Quantity::parse(
                        line.quantity.get() + quantity.get(),
                        quantity_field,
                    )
                    .map_err(|error| {
                        ValidationError::new(
                            error.field,
                            format!(
                                "lines for product {product_id} add up to more than {MAX_QUANTITY}"
                            ),
                        )
                    })?;
                }
                None => lines.push(ReservationLine {
                    product_id,
                    quantity,
                    index,
                }),
            }
        }
        Ok(Self {
            order_id: OrderId::new(order_id),
            lines,
        })
    }
}

/// Where a reservation stands.
///
/// `reserved` holds stock; `confirmed` means the order was paid and the stock is sold (it still
/// comes back if the paid order is cancelled); `released` gave the stock back, for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationStatus {
    Reserved,
    Confirmed,
    Released,
}

impl ReservationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Reserved => "reserved",
            ReservationStatus::Confirmed => "confirmed",
            ReservationStatus::Released => "released",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "reserved" => Some(ReservationStatus::Reserved),
            "confirmed" => Some(ReservationStatus::Confirmed),
            "released" => Some(ReservationStatus::Released),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Uuid {
        Uuid::now_v7()
    }

    #[test]
    fn lines_keep_their_order() {
        let request = ReservationRequest::parse(order(), &[(3, 1), (1, 2)]).unwrap();
        let ids: Vec<_> = request
            .lines
            .iter()
            .map(|line| line.product_id.get())
            .collect();
        assert_eq!(ids, [3, 1]);
    }

    #[test]
    fn lines_for_the_same_product_are_merged() {
        let request = ReservationRequest::parse(order(), &[(3, 1), (1, 2), (3, 4)]).unwrap();
        assert_eq!(request.lines.len(), 2);
        assert_eq!(request.lines[0].quantity.get(), 5);
        assert_eq!(request.lines[0].index, 0);
    }

    #[test]
    fn merged_quantities_are_bounded_too() {
        let error = ReservationRequest::parse(order(), &[(3, 600), (3, 600)]).unwrap_err();
        assert_eq!(error.field, "items[1].quantity");
    }

    #[test]
    fn quantities_must_be_between_one_and_a_thousand() {
        for bad in [0, -1, 1001] {
            let error = ReservationRequest::parse(order(), &[(1, 1), (2, bad)]).unwrap_err();
            assert_eq!(error.field, "items[1].quantity", "{bad}");
        }
        assert!(ReservationRequest::parse(order(), &[(1, 1000)]).is_ok());
    }

    #[test]
    fn line_counts_are_bounded() {
        assert_eq!(
            ReservationRequest::parse(order(), &[]).unwrap_err().field,
            "items"
        );
        let many: Vec<_> = (1..=101).map(|id| (id, 1)).collect();
        assert_eq!(
            ReservationRequest::parse(order(), &many).unwrap_err().field,
            "items"
        );
        assert!(ReservationRequest::parse(order(), &many[..100]).is_ok());
    }

    #[test]
    fn product_ids_must_be_positive() {
        let error = ReservationRequest::parse(order(), &[(0, 1)]).unwrap_err();
        assert_eq!(error.field, "items[0].product_id");
    }

    #[test]
    fn order_ids_have_one_stored_form() {
        let id = order();
        let braced = id.braced().to_string();
        assert_eq!(OrderId::parse(&braced).unwrap().key(), id.to_string());
        assert_eq!(OrderId::parse("nope"), None);
    }
}
