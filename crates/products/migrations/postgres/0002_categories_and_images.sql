-- Products get a category and a picture, both optional. `category` is a slug (`audio`,
-- `home-office`) the service checks; `image` is the path of a picture the web front-end ships
-- (`/ui/images/products/keyboard.svg`); NULL means none (the shop shows a generic picture).
-- Keep this file equivalent to migrations/sqlite/0002_categories_and_images.sql.

ALTER TABLE products ADD COLUMN category TEXT;
ALTER TABLE products ADD COLUMN image TEXT;

-- `?category=` pages in id order.
CREATE INDEX products_category_id_idx ON products (category, id);

-- The sample catalogue of a database seeded before this migration gets the category and
-- picture the samples have now (storage/catalogue.rs), where a product still has its sample
-- name and has neither.
UPDATE products SET category = 'peripherals', image = '/ui/images/products/keyboard.svg'
    WHERE name = 'Mechanical keyboard' AND category IS NULL AND image IS NULL;
UPDATE products SET category = 'peripherals', image = '/ui/images/products/mouse.svg'
    WHERE name = 'Wireless mouse' AND category IS NULL AND image IS NULL;
UPDATE products SET category = 'displays', image = '/ui/images/products/monitor.svg'
    WHERE name = '27-inch 4K monitor' AND category IS NULL AND image IS NULL;
UPDATE products SET category = 'accessories', image = '/ui/images/products/usb-hub.svg'
    WHERE name = 'USB-C hub' AND category IS NULL AND image IS NULL;
UPDATE products SET category = 'audio', image = '/ui/images/products/headphones.svg'
    WHERE name = 'Noise-cancelling headphones' AND category IS NULL AND image IS NULL;
UPDATE products SET category = 'accessories', image = '/ui/images/products/laptop-stand.svg'
    WHERE name = 'Laptop stand' AND category IS NULL AND image IS NULL;
