//! What `GET /cars` asks for: filters, an order, and a page.
//!
//! Query-string values arrive as text and are parsed here, so `?limit=abc`, `?year=soon` or
//! `?sort=price` is a 422 naming the parameter (as the client spelled it, French names
//! included), never silently ignored, clamped, or a 500. Parameters this service does not know
//! (a cache buster, a tracking tag) are ignored, as web APIs usually do.

use super::{Brand, Color, InvalidValue, Model, ValidationError, Year};

pub use platform::domain::Page;
use platform::domain::Paging;

/// Cars' paging: any offset, and "a whole number" in its messages, as its clients know them.
const PAGING: Paging = Paging {
    max_offset: None,
    between: false,
    noun: "a whole number",
};

/// Which cars to list: each given filter must match exactly (text ignoring case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CarFilter {
    pub brand: Option<Brand>,
    pub model: Option<Model>,
    pub year: Option<Year>,
    pub color: Option<Color>,
}

/// What a listing can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Brand,
    Model,
    Year,
    Color,
    CreatedAt,
}

impl SortKey {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "brand" | "marque" => SortKey::Brand,
            "model" | "modèle" | "modele" => SortKey::Model,
            "year" | "année" | "annee" => SortKey::Year,
            "color" | "couleur" => SortKey::Color,
            "created_at" => SortKey::CreatedAt,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            SortKey::Brand => "brand",
            SortKey::Model => "model",
            SortKey::Year => "year",
            SortKey::Color => "color",
            SortKey::CreatedAt => "created_at",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

/// The order of a listing: one or more keys, each ascending or descending (`-year`), the first
/// deciding most. Oldest first by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort(Vec<(SortKey, Direction)>);

impl Default for Sort {
    fn default() -> Self {
        Self(vec![(SortKey::CreatedAt, Direction::Ascending)])
    }
}

impl Sort {
    /// Parses `sort`: comma-separated keys (`brand,-year`), each at most once; blank means the
    /// default order.
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let mut keys: Vec<(SortKey, Direction)> = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let (name, direction) = match part.strip_prefix('-') {
                Some(name) => (name, Direction::Descending),
                None => (part.strip_prefix('+').unwrap_or(part), Direction::Ascending),
            };
            let key = SortKey::parse(name).ok_or_else(|| {
                InvalidValue::new(format!(
                    "unknown sort key {part:?}: use brand, model, year, color or created_at, \
                     with a leading '-' for descending order (for example -year)"
                ))
            })?;
            if keys.iter().any(|(seen, _)| *seen == key) {
                return Err(InvalidValue::new(format!(
                    "{} appears more than once",
                    key.name()
                )));
            }
            keys.push((key, direction));
        }
        Ok(Self(keys))
    }

    pub fn keys(&self) -> &[(SortKey, Direction)] {
        &self.0
    }
}

/// A listing request, parsed from the query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CarQuery {
    pub filter: CarFilter,
    pub sort: Sort,
    pub page: Page,
}

/// The query parameters `GET /cars` understands, under any of their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    Brand,
    Model,
    Year,
    Color,
    Sort,
    Limit,
    Offset,
}

impl Param {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "brand" | "marque" => Param::Brand,
            "model" | "modèle" | "modele" => Param::Model,
            "year" | "année" | "annee" => Param::Year,
            "color" | "couleur" => Param::Color,
            "sort" => Param::Sort,
            "limit" => Param::Limit,
            "offset" => Param::Offset,
            _ => return None,
        })
    }
}

impl CarQuery {
    /// Parses decoded `(name, value)` pairs. A filter left blank (`?brand=`, as an untouched
    /// form field sends it) is no filter; a parameter given twice, under any of its names, is
    /// refused rather than one of the values silently winning.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ValidationError> {
        let mut query = CarQuery::default();
        let (mut limit, mut offset) = (query.page.limit(), query.page.offset());
        let mut seen: Vec<(Param, &str)> = Vec::new();
        for (name, value) in pairs {
            let Some(param) = Param::parse(name) else {
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(earlier, _)| *earlier == param) {
                let message = if *first == name {
                    "must be given at most once".to_owned()
                } else {
                    format!("must be given at most once (it was also given as {first})")
                };
                return Err(ValidationError::new(name, message));
            }
            seen.push((param, name));
            let invalid = |error: InvalidValue| error.at(name);
            let refused = |message: String| ValidationError::new(name, message);
            let blank = value.trim().is_empty();
            match param {
                Param::Brand if !blank => {
                    query.filter.brand = Some(Brand::parse(value).map_err(invalid)?);
                }
                Param::Model if !blank => {
                    query.filter.model = Some(Model::parse(value).map_err(invalid)?);
                }
                Param::Year if !blank => {
                    query.filter.year = Some(Year::parse_text(value).map_err(invalid)?);
                }
                Param::Color if !blank => {
                    query.filter.color = Some(Color::parse(value).map_err(invalid)?);
                }
                Param::Brand | Param::Model | Param::Year | Param::Color => {}
                Param::Sort => query.sort = Sort::parse(value).map_err(invalid)?,
                Param::Limit => limit = PAGING.limit(value).map_err(refused)?,
                Param::Offset => offset = PAGING.offset(value).map_err(refused)?,
            }
        }
        query.page = Page::new(limit, offset);
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<CarQuery, ValidationError> {
        CarQuery::parse(pairs.iter().copied())
    }

    #[test]
    fn nothing_asked_means_every_car_oldest_first_twenty_at_a_time() {
        let query = parse(&[]).unwrap();
        assert_eq!(query, CarQuery::default());
        assert_eq!(query.page.limit(), 20);
        assert_eq!(
            query.sort.keys(),
            [(SortKey::CreatedAt, Direction::Ascending)]
        );
    }

    #[test]
    fn filters_parse_under_english_and_french_names() {
        let query = parse(&[
            ("marque", " Peugeot "),
            ("modèle", "208"),
            ("annee", "2020"),
            ("couleur", "bleu"),
            ("utm_source", "ignored"),
        ])
        .unwrap();
        assert_eq!(query.filter.brand.unwrap().as_str(), "Peugeot");
        assert_eq!(query.filter.model.unwrap().as_str(), "208");
        assert_eq!(query.filter.year.unwrap().value(), 2020);
        assert_eq!(query.filter.color.unwrap().as_str(), "bleu");
    }

    #[test]
    fn blank_filters_are_no_filters() {
        let query = parse(&[("brand", ""), ("year", "  ")]).unwrap();
        assert_eq!(query.filter, CarFilter::default());
    }

    #[test]
    fn bad_values_name_the_parameter_as_sent() {
        assert_eq!(parse(&[("année", "soon")]).unwrap_err().field, "année");
        assert_eq!(parse(&[("year", "1700")]).unwrap_err().field, "year");
        let long = "x".repeat(65);
        assert_eq!(parse(&[("couleur", &long)]).unwrap_err().field, "couleur");
        for bad in ["0", "101", "-1", "x", "1.5", ""] {
            assert_eq!(
                parse(&[("limit", bad)]).unwrap_err().field,
                "limit",
                "{bad}"
            );
        }
        for bad in ["-1", "x", ""] {
            assert_eq!(parse(&[("offset", bad)]).unwrap_err().field, "offset");
        }
    }

    #[test]
    fn a_parameter_given_twice_is_refused() {
        let error = parse(&[("brand", "a"), ("marque", "b")]).unwrap_err();
        assert_eq!(error.field, "marque");
        assert!(error.message.contains("brand"), "{}", error.message);
        assert_eq!(
            parse(&[("limit", "1"), ("limit", "2")]).unwrap_err().field,
            "limit"
        );
    }

    #[test]
    fn sorts_take_several_keys_and_directions() {
        let sort = Sort::parse("marque, -year,+created_at").unwrap();
        assert_eq!(
            sort.keys(),
            [
                (SortKey::Brand, Direction::Ascending),
                (SortKey::Year, Direction::Descending),
                (SortKey::CreatedAt, Direction::Ascending),
            ]
        );
        assert_eq!(Sort::parse(" ").unwrap(), Sort::default());
    }

    #[test]
    fn unknown_repeated_or_empty_sort_keys_are_refused() {
        for bad in [
            "price",
            "-",
            "year,",
            "year,,brand",
            "year,-year",
            "Year",
            "id",
        ] {
            assert!(Sort::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse(&[("sort", "price")]).unwrap_err().field, "sort");
    }
}
