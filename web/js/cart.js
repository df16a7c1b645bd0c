// The cart, kept in the browser (localStorage) as product ids and quantities only.
//
// Prices are never stored here: totals are always computed from the catalogue's current prices,
// fetched from the server, and the order's real total comes from the orders service, which
// prices it again at reservation time.

import { ApiError, send } from './api.js';

const KEY = 'microshop.cart';
/** The orders service's limit per line. */
export const MAX_QUANTITY = 1000;

function load() {
  try {
    const lines = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(lines)
      ? lines.filter((line) => Number.isInteger(line.product_id) && Number.isInteger(line.quantity) && line.quantity > 0)
      : [];
  } catch {
    return [];
  }
}

class Cart extends EventTarget {
  #lines = load();

  constructor() {
    super();
    // Another tab changed the cart.
    window.addEventListener('storage', (event) => {
      if (event.key === KEY) {
        this.#lines = load();
        this.dispatchEvent(new CustomEvent('change'));
      }
    });
  }

  /** `[{product_id, quantity}]`, in the order they were added. */
  get lines() {
    return this.#lines.map((line) => ({ ...line }));
  }

  /** Items in all (the badge). */
  get count() {
    return this.#lines.reduce((sum, line) => sum + line.quantity, 0);
  }

  add(productId, quantity) {
    const line = this.#lines.find((item) => item.product_id === productId);
    this.set(productId, (line ? line.quantity : 0) + quantity);
  }

  /** Sets a line's quantity; 0 removes it. */
  set(productId, quantity) {
    const clamped = Math.max(0, Math.min(MAX_QUANTITY, Math.floor(quantity)));
    const line = this.#lines.find((item) => item.product_id === productId);
    if (clamped === 0) this.#lines = this.#lines.filter((item) => item.product_id !== productId);
    else if (line) line.quantity = clamped;
    else this.#lines.push({ product_id: productId, quantity: clamped });
    this.#save();
  }

  remove(productId) {
    this.set(productId, 0);
  }

  clear() {
    this.#lines = [];
    this.#save();
  }

  #save() {
    localStorage.setItem(KEY, JSON.stringify(this.#lines));
    this.dispatchEvent(new CustomEvent('change'));
  }
}

export const cart = new Cart();

/** Products seen lately, by id: what the cart shows between fetches. */
const known = new Map();

/** Records products the catalogue just listed (fresh prices and stock). */
export function remember(products) {
  for (const product of products) known.set(product.id, product);
}

/**
 * The cart's lines with their products from the server: `{product, quantity, lineTotal}`, and
 * `missing` for a product that no longer exists. `fresh` refetches every product (checkout).
 */
export async function pricedLines({ fresh = false } = {}) {
  const lines = cart.lines;
  await Promise.all(lines.map(async (line) => {
    if (!fresh && known.has(line.product_id)) return;
    try {
      const { data } = await send('GET', `/products/${line.product_id}`);
      known.set(data.id, data);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) known.delete(line.product_id);
      else if (!known.has(line.product_id)) throw error;
    }
  }));
  return lines.map((line) => {
    const product = known.get(line.product_id) || null;
    return {
      ...line,
      product,
      missing: product === null,
      lineTotal: product ? product.price_cents * line.quantity : 0,
    };
  });
}

/** A product's name if it was seen, for messages about an id. */
export function productName(id) {
  return known.get(id)?.name || `product ${id}`;
}
