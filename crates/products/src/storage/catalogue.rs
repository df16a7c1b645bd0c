//! The catalogue a new shop starts with, so the seeds' first `curl /products` and
//! `{"items":[{"product_id":1,"quantity":2}]}` work on a fresh start.
//!
//! Seeding happens once per database: a marker row records it in the same transaction, so a
//! restart after the admin emptied the catalogue does not bring the samples back, and several
//! replicas starting together on one database seed it once.

use super::{Storage, now_millis};

/// One sample product.
#[derive(Debug, Clone, Copy)]
pub struct SeedProduct {
    pub name: &'static str,
    pub description: &'static str,
    pub category: &'static str,
    /// A picture the web front-end ships (`web/images/products/`).
    pub image: &'static str,
    pub price_cents: i64,
    pub stock: i64,
}

/// The samples, in id order (the first is product 1).
pub const SEED_CATALOGUE: &[SeedProduct] = &[
    SeedProduct {
        name: "Mechanical keyboard",
        description: "Tenkeyless keyboard with hot-swappable tactile switches and PBT keycaps.",
        category: "peripherals",
        image: "/ui/images/products/keyboard.svg",
        price_cents: 8990,
        stock: 120,
    },
    SeedProduct {
        name: "Wireless mouse",
        description: "Ergonomic 2.4 GHz and Bluetooth mouse with a 70-day battery.",
        category: "peripherals",
        image: "/ui/images/products/mouse.svg",
        price_cents: 2999,
        stock: 200,
    },
    SeedProduct {
        name: "27-inch 4K monitor",
        description: "IPS panel, USB-C input with 65 W charging, height-adjustable stand.",
        category: "displays",
        image: "/ui/images/products/monitor.svg",
        price_cents: 34900,
        stock: 60,
    },
    SeedProduct {
        name: "USB-C hub",
        description: "7 ports: HDMI 4K, three USB-A, SD and microSD readers, 100 W pass-through.",
        category: "accessories",
        image: "/ui/images/products/usb-hub.svg",
        price_cents: 3950,
        stock: 150,
    },
    SeedProduct {
        name: "Noise-cancelling headphones",
        description: "Over-ear, active noise cancellation, 30-hour battery, foldable.",
        category: "audio",
        image: "/ui/images/products/headphones.svg",
        price_cents: 19900,
        stock: 80,
    },
    SeedProduct {
        name: "Laptop stand",
        description: "Adjustable aluminium stand for 10- to 17-inch laptops.",
        category: "accessories",
        image: "/ui/images/products/laptop-stand.svg",
        price_cents: 4500,
        stock: 100,
    },
];

const SEEDED_MARKER: &str = "catalogue_seeded";

impl Storage {
    /// Adds [`SEED_CATALOGUE`] if this database was never seeded and holds no product.
    /// Returns how many products were added.
    pub async fn seed_catalogue(&self) -> anyhow::Result<usize> {
        let now = now_millis();
        let mut tx = platform::db::begin_write(&self.pool).await?;
        let first = sqlx::query(
            "INSERT INTO service_markers (name, set_at) VALUES ($1, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(SEEDED_MARKER.to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if first.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(0);
        }
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
            .fetch_one(&mut *tx)
            .await?;
        if existing > 0 {
            tx.commit().await?;
            return Ok(0);
        }
        for product in SEED_CATALOGUE {
            sqlx::query(
                "INSERT INTO products \
                 (name, name_search, description, category, image, price_cents, stock, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(product.name.to_owned())
            .bind(product.name.to_lowercase())
            .bind(product.description.to_owned())
            .bind(product.category.to_owned())
            .bind(product.image.to_owned())
            .bind(product.price_cents)
            .bind(product.stock)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(SEED_CATALOGUE.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Category, ImagePath, ProductName};

    #[test]
    fn every_sample_is_a_valid_product_whose_picture_the_front_end_ships() {
        let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
        for product in SEED_CATALOGUE {
            assert!(
                ProductName::parse(product.name, "name").is_ok(),
                "{product:?}"
            );
            let category = Category::parse(product.category).unwrap();
            assert_eq!(category.as_str(), product.category, "{product:?}");
            let image = ImagePath::parse(product.image).unwrap();
            let file = image.as_str().strip_prefix("/ui/").unwrap();
            assert!(web.join(file).is_file(), "{file} is not in web/");
        }
    }
}
