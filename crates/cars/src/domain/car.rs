//! A car's details, whole (create, replace) or as a set of changes (patch).

use super::{Brand, Color, Model, Year};
use time::OffsetDateTime;
use uuid::Uuid;

/// Everything a client says about a car: all four are required to create or replace one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarDetails {
    pub brand: Brand,
    pub model: Model,
    pub year: Year,
    pub color: Color,
}

/// What one partial update changes; `None` keeps the stored value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CarChanges {
    pub brand: Option<Brand>,
    pub model: Option<Model>,
    pub year: Option<Year>,
    pub color: Option<Color>,
}

impl CarChanges {
    /// Whether nothing changes (`PATCH {}`).
    pub fn is_empty(&self) -> bool {
        self.brand.is_none() && self.model.is_none() && self.year.is_none() && self.color.is_none()
    }
}

/// A full replacement is a change of every field.
impl From<CarDetails> for CarChanges {
    fn from(details: CarDetails) -> Self {
        Self {
            brand: Some(details.brand),
            model: Some(details.model),
            year: Some(details.year),
            color: Some(details.color),
        }
    }
}

/// A car, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Car {
    pub id: Uuid,
    pub brand: String,
    pub model: String,
    pub year: i64,
    pub color: String,
    /// The account that created the car.
    pub owner_id: Uuid,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replacement_changes_every_field() {
        let details = CarDetails {
            brand: Brand::parse("Peugeot").unwrap(),
            model: Model::parse("208").unwrap(),
            year: Year::parse(2020).unwrap(),
            color: Color::parse("bleu").unwrap(),
        };
        let changes = CarChanges::from(details);
        assert!(!changes.is_empty());
        assert!(changes.brand.is_some() && changes.color.is_some());
        assert!(CarChanges::default().is_empty());
    }
}
