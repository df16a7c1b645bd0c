// The catalogue (categories, search, quantity, add to cart) and the cart beside it.
//
// A category is part of the address (`#/?category=audio`), so a filtered shop can be
// bookmarked and the browser's back button leaves it.

import { ApiError, get, query as toQuery } from '../api.js';
import { h, heading, money, replace } from '../dom.js';
import { MAX_QUANTITY, cart, pricedLines, remember } from '../cart.js';
import {
  addToCartForm, categoryChip, categoryHref, categoryLabel, productHref, productImage, stockNote,
} from '../catalogue.js';

const PAGE_SIZE = 12;

export default async function render(view, { signal, query }) {
  const category = query.get('category') || '';
  const state = { q: '', offset: 0 };
  const categories = h('nav', { class: 'categories', 'aria-label': 'Categories' });
  const results = h('div', { class: 'catalogue-results', 'aria-live': 'polite' });
  const cartPanel = h('aside', { class: 'cart-panel card', 'aria-labelledby': 'cart-title' });

  const search = h('input', { type: 'search', id: 'product-search', name: 'q', autocomplete: 'off', placeholder: 'keyboard, mouse…' });
  const searchForm = h('form', { class: 'search', role: 'search' },
    h('label', { for: 'product-search', text: 'Search products' }),
    h('div', { class: 'inline' }, search, h('button', { type: 'submit', class: 'secondary', text: 'Search' })));
  let debounce;
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { state.q = search.value.trim(); state.offset = 0; load(); }, 250);
  });
  searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(debounce);
    state.q = search.value.trim();
    state.offset = 0;
    load();
  });

  view.append(heading('Shop'),
    h('div', { class: 'shop-layout' },
      h('section', { class: 'catalogue', 'aria-label': 'Catalogue' }, categories, searchForm, results),
      cartPanel));

  let loading = 0;
  async function load() {
    const ticket = ++loading;
    let data;
    try {
      ({ data } = await get(`/products${toQuery({ limit: PAGE_SIZE, offset: state.offset, q: state.q, category })}`, { signal }));
    } catch (error) {
      // A category typed into the address that cannot be one.
      if (!(error instanceof ApiError) || !error.errors.some((item) => item.field === 'category')) throw error;
      replace(results, h('p', { class: 'empty' }, `“${category}” is not a category of this shop. `,
        h('a', { href: categoryHref(''), text: 'See every product' })));
      return;
    }
    if (ticket !== loading || signal.aborted) return;
    remember(data.items);
    showProducts(data);
    renderCart();
  }

  async function loadCategories() {
    const { data } = await get('/products/categories', { signal });
    if (signal.aborted) return;
    if (!data.items.length) return;
    const link = (slug, text) => h('li', {}, h('a', { href: categoryHref(slug), 'aria-current': slug === category ? 'page' : null, text }));
    replace(categories, h('ul', {},
      link('', 'All products'),
      data.items.map((item) => link(item.name, `${categoryLabel(item.name)} (${item.products})`))));
  }

  function showProducts(page) {
    if (!page.items.length) {
      const where = category ? ` in ${categoryLabel(category)}` : '';
      const text = state.q ? `No product matches “${state.q}”${where}.` : category ? `No product in ${categoryLabel(category)}.` : 'The catalogue is empty.';
      replace(results, h('p', { class: 'empty', text }));
      return;
    }
    const from = page.offset + 1;
    const to = page.offset + page.items.length;
    const pager = h('div', { class: 'pager' },
      h('button', { type: 'button', class: 'secondary', text: 'Previous', disabled: page.offset === 0,
        on: { click: () => { state.offset = Math.max(0, state.offset - PAGE_SIZE); load(); } } }),
      h('span', { text: `${from}–${to} of ${page.total}` }),
      h('button', { type: 'button', class: 'secondary', text: 'Next', disabled: to >= page.total,
        on: { click: () => { state.offset += PAGE_SIZE; load(); } } }));
    replace(results,
      h('ul', { class: 'product-grid' }, page.items.map((product) => h('li', {}, productCard(product)))),
      page.total > PAGE_SIZE ? pager : null);
  }

  function productCard(product) {
    const titleId = `product-${product.id}-name`;
    const href = productHref(product);
    return h('article', { class: 'product card', 'aria-labelledby': titleId },
      h('a', { href, class: 'product-picture', tabindex: '-1', 'aria-hidden': 'true' }, productImage(product)),
      h('h2', { id: titleId }, h('a', { href, text: product.name })),
      categoryChip(product),
      product.description ? h('p', { class: 'description', text: product.description }) : null,
      h('p', { class: 'price', text: money(product.price_cents) }),
      stockNote(product),
      addToCartForm(product));
  }

  async function renderCart() {
    const lines = await pricedLines();
    if (signal.aborted) return;
    const title = h('h2', { id: 'cart-title', text: 'Your cart' });
    if (!lines.length) {
      replace(cartPanel, title, h('p', { class: 'empty', text: 'Your cart is empty.' }));
      return;
    }
    const total = lines.reduce((sum, line) => sum + line.lineTotal, 0);
    replace(cartPanel, title,
      h('ul', { class: 'cart-lines' }, lines.map(cartLine)),
      h('p', { class: 'cart-total' }, h('span', { text: 'Total' }), h('strong', { text: money(total) })),
      h('p', { class: 'hint', text: 'Prices are the catalogue’s current ones; the order is priced again when you place it.' }),
      h('div', { class: 'actions' },
        h('a', { href: '#/checkout', class: 'button', text: 'Checkout' }),
        h('button', { type: 'button', class: 'secondary', text: 'Empty cart', on: { click: () => cart.clear() } })));
  }

  function cartLine(line) {
    const id = `cart-${line.product_id}`;
    const name = line.product ? line.product.name : `Product ${line.product_id}`;
    const quantity = h('input', { id, type: 'number', inputmode: 'numeric', min: 0, max: MAX_QUANTITY, value: line.quantity });
    quantity.addEventListener('change', () => {
      const value = Number.parseInt(quantity.value, 10);
      if (Number.isInteger(value) && value >= 0) cart.set(line.product_id, value);
    });
    return h('li', { class: 'cart-line' },
      h('span', { class: 'cart-name' }, productImage(line.product, { className: 'cart-thumb' }),
        line.product ? h('a', { href: productHref(line.product), text: name }) : name),
      line.missing
        ? h('span', { class: 'stock-out', text: 'No longer sold' })
        : h('span', { class: 'cart-unit', text: `${money(line.product.price_cents)} each` }),
      h('span', { class: 'quantity' }, h('label', { for: id, class: 'visually-hidden', text: `Quantity of ${name}` }), quantity),
      h('span', { class: 'cart-line-total', text: money(line.lineTotal) }),
      h('button', { type: 'button', class: 'link', 'aria-label': `Remove ${name}`, text: 'Remove',
        on: { click: () => cart.remove(line.product_id) } }));
  }

  const onCart = () => renderCart().catch(() => {});
  cart.addEventListener('change', onCart);
  signal.addEventListener('abort', () => cart.removeEventListener('change', onCart));
  await Promise.all([load(), loadCategories()]);
}
