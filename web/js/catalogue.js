// What the views showing products share: a product's picture, its category, and the form that
// puts it in the cart (the shop's grid and the product page).
//
// Pictures are files this front-end ships (`/ui/images/…`, the only kind the products service
// accepts); a product without one, or whose file fails to load, shows the generic picture.

import { h, toast } from './dom.js';
import { MAX_QUANTITY, cart } from './cart.js';

const IMAGES = '/ui/images/';

/** The generic picture. */
export const PLACEHOLDER_IMAGE = `${IMAGES}products/placeholder.svg`;

/** The pictures the shop ships, for the admin's choice: [path, label]. */
export const SHIPPED_IMAGES = [
  ['headphones', 'Headphones'],
  ['keyboard', 'Keyboard'],
  ['laptop-stand', 'Laptop stand'],
  ['monitor', 'Monitor'],
  ['mouse', 'Mouse'],
  ['usb-hub', 'USB hub'],
].map(([file, label]) => [`${IMAGES}products/${file}.svg`, label]);

/**
 * A product's picture as an `<img>`. `alt` is empty by default: beside the product's name the
 * picture adds nothing a screen reader should repeat.
 */
export function productImage(product, { className = 'product-image', alt = '' } = {}) {
  const own = typeof product?.image === 'string' && product.image.startsWith(IMAGES) ? product.image : null;
  const image = h('img', { src: own || PLACEHOLDER_IMAGE, alt, class: className, width: 320, height: 240, decoding: 'async' });
  if (own) image.addEventListener('error', () => { image.src = PLACEHOLDER_IMAGE; }, { once: true });
  return image;
}

/** A category's slug for people: `home-office` → "Home office". */
export function categoryLabel(slug) {
  const words = String(slug).replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The shop filtered to one category (none: every product). */
export function categoryHref(slug) {
  return slug ? `#/?category=${encodeURIComponent(slug)}` : '#/';
}

/** The link to a product's own page. */
export function productHref(product) {
  return `#/products/${encodeURIComponent(product.id)}`;
}

/** A product's category as a small link to the others of it; null without one. */
export function categoryChip(product) {
  if (!product.category) return null;
  return h('a', { class: 'chip category-chip', href: categoryHref(product.category), text: categoryLabel(product.category) });
}

/** The stock line: how many are left, or that none are. */
export function stockNote(product) {
  const inStock = product.stock > 0;
  return h('p', { class: inStock ? 'stock' : 'stock stock-out', text: inStock ? `${product.stock} in stock` : 'Out of stock' });
}

/** Quantity and "Add to cart" for `product`, capped at its stock and the orders' line limit. */
export function addToCartForm(product) {
  const quantityId = `product-${product.id}-quantity`;
  const inStock = product.stock > 0;
  const quantity = h('input', { id: quantityId, type: 'number', inputmode: 'numeric', min: 1,
    max: Math.max(1, Math.min(product.stock, MAX_QUANTITY)), value: 1, disabled: !inStock });
  const add = h('button', { type: 'submit', text: 'Add to cart', disabled: !inStock });
  const form = h('form', { class: 'add-to-cart' },
    h('div', { class: 'quantity' }, h('label', { for: quantityId, text: 'Quantity' }), quantity), add);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const wanted = Number.parseInt(quantity.value, 10);
    if (!Number.isInteger(wanted) || wanted < 1) {
      quantity.setCustomValidity('Enter a quantity of at least 1.');
      quantity.reportValidity();
      return;
    }
    quantity.setCustomValidity('');
    const already = cart.lines.find((line) => line.product_id === product.id)?.quantity || 0;
    const total = Math.min(already + wanted, product.stock, MAX_QUANTITY);
    cart.set(product.id, total);
    toast(total < already + wanted
      ? `Only ${product.stock} of “${product.name}” in stock: your cart holds ${total}.`
      : `Added ${wanted} × “${product.name}” to your cart.`);
    quantity.value = 1;
  });
  return form;
}
