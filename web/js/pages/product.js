// One product's own page (`#/products/7`): its picture, name, category, price, stock,
// description and "Add to cart"; an id no product has gets a page that says so.

import { ApiError, get } from '../api.js';
import { h, heading, money } from '../dom.js';
import { remember } from '../cart.js';
import {
  addToCartForm, categoryChip, categoryHref, categoryLabel, productImage, stockNote,
} from '../catalogue.js';

export default async function render(view, { params, signal }) {
  const id = params.id;
  let product = null;
  if (/^[1-9][0-9]{0,17}$/.test(id)) {
    try {
      ({ data: product } = await get(`/products/${id}`, { signal }));
    } catch (error) {
      if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 422)) throw error;
    }
  }
  if (signal.aborted) return;
  if (!product) {
    document.title = 'Product not found · microshop';
    view.append(heading('Product not found'),
      h('p', { class: 'notice' }, `No product of this shop has the id “${id}”: it may have been taken out of the catalogue. `,
        h('a', { href: '#/', text: 'Back to the shop' })));
    return;
  }
  remember([product]);
  document.title = `${product.name} · microshop`;

  const title = heading(product.name);
  title.id = 'product-title';
  const crumbs = h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('ol', {},
    h('li', {}, h('a', { href: '#/', text: 'Shop' })),
    product.category ? h('li', {}, h('a', { href: categoryHref(product.category), text: categoryLabel(product.category) })) : null,
    h('li', {}, h('span', { 'aria-current': 'page', text: product.name }))));
  view.append(crumbs,
    h('article', { class: 'product-page card', 'aria-labelledby': 'product-title' },
      productImage(product, { className: 'product-page-image', alt: product.name }),
      h('div', { class: 'product-page-body' },
        title,
        categoryChip(product),
        h('p', { class: 'price', text: money(product.price_cents) }),
        stockNote(product),
        product.description ? h('p', { class: 'description', text: product.description }) : null,
        addToCartForm(product),
        h('p', { class: 'hint' }, h('a', { href: '#/checkout', text: 'See your cart' })))));
}
