//! A catalogue entry's parts: its id, name, description, category, image, price and stock.

use super::{PriceCents, ValidationError};

/// Longest product name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Most units of one product the shop may hold.
pub const MAX_STOCK: i64 = 1_000_000;
/// Longest category, in characters.
pub const MAX_CATEGORY_CHARS: usize = 40;
/// Where the pictures a product may show live: the gateway serves the web front-end's files
/// under `/ui/`, and its product pictures under `images/`.
pub const IMAGE_PREFIX: &str = "/ui/images/";
/// Longest image path, in characters.
pub const MAX_IMAGE_CHARS: usize = 200;
/// The picture formats an image path may name.
const IMAGE_EXTENSIONS: &[&str] = &["svg", "png", "jpg", "jpeg", "webp"];

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

/// A product's category: a slug of lowercase ASCII letters and digits, words joined by single
/// hyphens (`audio`, `home-office`), 1 to [`MAX_CATEGORY_CHARS`] characters.
///
/// The slug is the category's only name: it goes into URLs (`?category=`, the shop's links)
/// as it is, so it holds nothing that needs escaping. Input is trimmed and lowercased first,
/// so `Audio` is `audio`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category(String);

impl Category {
    /// From a body's `category` or the listing's `?category=` (both named `category`).
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let field = "category";
        let slug = value.trim().to_ascii_lowercase();
        if slug.is_empty() {
            return Err(ValidationError::new(field, "must not be empty"));
        }
        if slug.chars().count() > MAX_CATEGORY_CHARS {
            return Err(ValidationError::new(
                field,
                format!("must be at most {MAX_CATEGORY_CHARS} characters long"),
            ));
        }
        let words_ok = slug.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
        });
        if !words_ok {
            return Err(ValidationError::new(
                field,
                "must be lowercase letters and digits, words joined by single hyphens \
                 (such as home-office)",
            ));
        }
        Ok(Self(slug))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The picture of a product: the path of an image file the web front-end ships, under
/// [`IMAGE_PREFIX`] (`/ui/images/products/keyboard.svg`).
///
/// Never a URL of another site, and never a path that could climb out of the images folder:
/// segments of lowercase letters, digits, `-` and `_`, the last one with a picture's extension.
/// The shop's pages allow images from their own origin only, so a product can neither show a
/// third party's picture nor make shoppers' browsers call elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePath(String);

impl ImagePath {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let path = value.trim();
        let refuse = || {
            ValidationError::new(
                "image",
                format!(
                    "must be the path of a picture the shop ships, such as \
                     {IMAGE_PREFIX}products/keyboard.svg"
                ),
            )
        };
        if path.chars().count() > MAX_IMAGE_CHARS {
            return Err(ValidationError::new(
                "image",
                format!("must be at most {MAX_IMAGE_CHARS} characters long"),
            ));
        }
        let rest = path.strip_prefix(IMAGE_PREFIX).ok_or_else(refuse)?;
        let (folders, file) = match rest.rsplit_once('/') {
            Some((folders, file)) => (Some(folders), file),
            None => (None, rest),
        };
        let (stem, extension) = file.rsplit_once('.').ok_or_else(refuse)?;
        let plain = |segment: &str| {
            !segment.is_empty()
                && segment.bytes().all(|byte| {
                    byte.is_ascii_lowercase()
                        || byte.is_ascii_digit()
                        || byte == b'-'
                        || byte == b'_'
                })
        };
        let folders_ok = folders.is_none_or(|folders| folders.split('/').all(plain));
        if !folders_ok || !plain(stem) || !IMAGE_EXTENSIONS.contains(&extension) {
            return Err(refuse());
        }
        Ok(Self(path.to_owned()))
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
    pub category: Option<Category>,
    pub image: Option<ImagePath>,
    pub price: PriceCents,
    pub stock: Stock,
}

/// A partial update: only the given parts change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductChanges {
    pub name: Option<ProductName>,
    pub description: Option<Description>,
    /// `Some(None)` removes the category.
    pub category: Option<Option<Category>>,
    /// `Some(None)` removes the image (the shop shows its generic picture).
    pub image: Option<Option<ImagePath>>,
    pub price: Option<PriceCents>,
    pub stock: Option<Stock>,
}

impl ProductChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.category.is_none()
            && self.image.is_none()
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
    fn categories_are_lowercased_slugs_of_bounded_length() {
        let parsed = |text: &str| Category::parse(text).map(|category| category.0);
        assert_eq!(parsed(" Audio "), Ok("audio".to_owned()));
        assert_eq!(parsed("home-office"), Ok("home-office".to_owned()));
        assert_eq!(parsed("usb-c-2"), Ok("usb-c-2".to_owned()));
        assert!(parsed(&"a".repeat(40)).is_ok());
        for bad in [
            "",
            "  ",
            "home office",
            "-audio",
            "audio-",
            "home--office",
            "a_b",
            "écrans",
            "a/b",
            "<b>",
            "a.b",
            "%41",
        ] {
            assert_eq!(parsed(bad).unwrap_err().field, "category", "{bad:?}");
        }
        assert!(parsed(&"a".repeat(41)).is_err());
    }

    #[test]
    fn images_are_paths_of_pictures_under_the_shops_images() {
        for good in [
            "/ui/images/products/keyboard.svg",
            "/ui/images/mouse_2.png",
            "/ui/images/a/b/c-d.webp",
            " /ui/images/products/lamp.jpeg ",
        ] {
            assert_eq!(
                ImagePath::parse(good).map(|image| image.0),
                Ok(good.trim().to_owned()),
                "{good:?}"
            );
        }
        for bad in [
            "",
            "https://example.com/a.svg",
            "//example.com/ui/images/a.svg",
            "/ui/images/../index.html",
            "/ui/images/products/../../js/app.js",
            "/ui/images/a.svg?x=1",
            "/ui/images/a.svg#x",
            "/ui/images//a.svg",
            "/ui/images/.svg",
            "/ui/images/a.html",
            "/ui/images/a",
            "/ui/images/A.svg",
            "/ui/images/a b.svg",
            "/ui/images/products/",
            "ui/images/a.svg",
            "/images/a.svg",
            "javascript:alert(1)",
            "data:image/svg+xml,<svg/>",
        ] {
            assert_eq!(ImagePath::parse(bad).unwrap_err().field, "image", "{bad:?}");
        }
        let long = format!("/ui/images/{}.svg", "a".repeat(185));
        assert!(ImagePath::parse(&long).is_ok());
        assert!(ImagePath::parse(&format!("/ui/images/{}.svg", "a".repeat(186))).is_err());
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
