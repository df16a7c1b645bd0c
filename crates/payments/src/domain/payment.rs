//! A charge request and what the bank makes of it.

use uuid::Uuid;

use super::ValidationError;
use time::OffsetDateTime;

/// An amount in cents the bank accepts: 1 cent to [`platform::money::MAX_AMOUNT_CENTS`]
/// (1,000,000.00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountCents(i64);

impl AmountCents {
    pub const MIN: i64 = 1;
    pub const MAX: i64 = platform::money::MAX_AMOUNT_CENTS;

    pub fn parse(cents: i64) -> Result<Self, ValidationError> {
        if (Self::MIN..=Self::MAX).contains(&cents) {
            Ok(Self(cents))
        } else {
            Err(ValidationError::new(
                "amount_cents",
                format!("must be between {} and {} cents", Self::MIN, Self::MAX),
            ))
        }
    }

    pub fn cents(self) -> i64 {
        self.0
    }
}

/// A request to charge `amount` for `order_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub order_id: Uuid,
    pub amount: AmountCents,
}

impl Charge {
    /// Parses the raw body fields.
    pub fn parse(order_id: &str, amount_cents: i64) -> Result<Self, ValidationError> {
        let order_id = Uuid::parse_str(order_id)
            .map_err(|_| ValidationError::new("order_id", "must be a UUID"))?;
        Ok(Self {
            order_id,
            amount: AmountCents::parse(amount_cents)?,
        })
    }
}

/// The bank's answer to a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Declined,
}

impl Decision {
    pub fn status(self) -> PaymentStatus {
        match self {
            Decision::Approved => PaymentStatus::Approved,
            Decision::Declined => PaymentStatus::Declined,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.status().as_str()
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "approved" => Some(Decision::Approved),
            "declined" => Some(Decision::Declined),
            _ => None,
        }
    }
}

/// Where a payment stands: a refund is the only change after the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Approved,
    Declined,
    Refunded,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Approved => "approved",
            PaymentStatus::Declined => "declined",
            PaymentStatus::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "approved" => Some(PaymentStatus::Approved),
            "declined" => Some(PaymentStatus::Declined),
            "refunded" => Some(PaymentStatus::Refunded),
            _ => None,
        }
    }
}

/// A stored payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount_cents: i64,
    /// The bank's first answer, which replays of the idempotency key repeat.
    pub decision: Decision,
    /// Where the payment stands now (`refunded` after a refund).
    pub status: PaymentStatus,
    pub created_at: OffsetDateTime,
}

impl Payment {
    /// Whether `charge` asks for what this payment was created for.
    pub fn is_for(&self, charge: &Charge) -> bool {
        self.order_id == charge.order_id && self.amount_cents == charge.amount.cents()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_from_one_cent_to_a_million_are_accepted() {
        assert_eq!(AmountCents::parse(1).unwrap().cents(), 1);
        assert_eq!(
            AmountCents::parse(100_000_000).unwrap().cents(),
            100_000_000
        );
    }

    #[test]
    fn amounts_outside_the_range_name_the_field() {
        for bad in [0, -1, 100_000_001, i64::MIN, i64::MAX] {
            assert_eq!(AmountCents::parse(bad).unwrap_err().field, "amount_cents");
        }
    }

    #[test]
    fn a_charge_needs_a_uuid_order_id() {
        let error = Charge::parse("42", 100).unwrap_err();
        assert_eq!(error.field, "order_id");
        let order = Uuid::now_v7();
        let charge = Charge::parse(&order.to_string(), 100).unwrap();
        assert_eq!(charge.order_id, order);
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in [
            PaymentStatus::Approved,
            PaymentStatus::Declined,
            PaymentStatus::Refunded,
        ] {
            assert_eq!(PaymentStatus::parse(status.as_str()), Some(status));
        }
        for decision in [Decision::Approved, Decision::Declined] {
            assert_eq!(Decision::parse(decision.as_str()), Some(decision));
        }
        assert_eq!(Decision::parse("refunded"), None);
    }
}
