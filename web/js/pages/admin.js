// Admin: the bank's chaos settings (watch the circuit breakers open and close), the platform's
// health, the catalogue (create; edit category, price and stock), every order and the
// customers. People are shown by username (see ../people.js), never by a fragment of their id
// unless their profile is gone.

import { ApiError, get, patch, post, put, query, send } from '../api.js';
import { busy, clearErrors, dateTime, field, h, heading, money, replace, shortId, showErrors, statusChip, toast, values } from '../dom.js';
import { SHIPPED_IMAGES, productImage } from '../catalogue.js';
import { profilesPage, usernames } from '../people.js';

/** "12.5" or "12,50" → 1250; null when it is no price. */
function toCents(text) {
  const match = /^(\d{1,9})(?:[.,](\d{1,2}))?$/.exec(String(text).trim());
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || '0').padEnd(2, '0'));
}

export default async function render(view, { signal }) {
  view.append(heading('Admin'));
  const sections = [chaosSection, healthSection, productsSection, ordersSection, customersSection].map((make) => make(signal));
  view.append(h('div', { class: 'admin-grid' }, sections.map(({ element }) => element)));
  await Promise.all(sections.map(({ load }) => load()));
}

function section(id, title, ...content) {
  return h('section', { class: 'card admin-section', 'aria-labelledby': id }, h('h2', { id, text: title }), content);
}

function wideSection(id, title, ...content) {
  const element = section(id, title, ...content);
  element.classList.add('wide');
  return element;
}

function chaosSection(signal) {
  const current = h('p', { class: 'chaos-now', role: 'status' });
  const submit = h('button', { type: 'submit', text: 'Apply' });
  const form = h('form', { class: 'form' },
    h('div', { class: 'grid-3' },
      field({ label: 'Declined payments (%)', name: 'decline_percent', type: 'number', min: 0, max: 100, step: 1, inputmode: 'numeric' }),
      field({ label: 'Added latency (ms)', name: 'latency_ms', type: 'number', min: 0, max: 60000, step: 100, inputmode: 'numeric' }),
      field({ label: 'Outage', name: 'outage', kind: 'select',
        options: [['none', 'None'], ['error', 'Errors (503)'], ['hang', 'Hangs (no answer)']] })),
    h('div', { class: 'actions' }, submit));

  function show(settings) {
    form.elements.decline_percent.value = Math.round(settings.decline_rate * 100);
    form.elements.latency_ms.value = settings.latency_ms;
    form.elements.outage.value = settings.outage;
    current.textContent = `Now: ${Math.round(settings.decline_rate * 100)} % declined, ${settings.latency_ms} ms added, `
      + `outage ${settings.outage}.`;
  }

  async function apply(settings) {
    clearErrors(form);
    try {
      const { data } = await put('/payments/chaos', settings);
      show(data);
      toast('Payment chaos updated.');
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error, { decline_rate: 'decline_percent' });
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, () => {
      const input = values(form);
      return apply({
        decline_rate: Number(input.decline_percent) / 100,
        latency_ms: Number.parseInt(input.latency_ms || '0', 10),
        outage: input.outage,
      });
    });
  });

  const preset = (text, settings) => h('button', { type: 'button', class: 'secondary', text,
    on: { click: (event) => busy(event.currentTarget, () => apply(settings)) } });

  const element = section('admin-chaos', 'Payments: chaos',
    h('p', { class: 'hint', text: 'The simulated bank declines a share of payments and can be slowed or taken down. '
      + 'Take it down and place orders: after five failures the orders service’s circuit breaker opens and answers at once; '
      + 'lift the outage and the breaker lets a probe through and closes.' }),
    current,
    h('div', { class: 'actions presets' },
      preset('Bank works (no declines)', { decline_rate: 0, latency_ms: 0, outage: 'none' }),
      preset('Decline every payment', { decline_rate: 1, latency_ms: 0, outage: 'none' }),
      preset('Bank outage', { decline_rate: 0, latency_ms: 0, outage: 'error' })),
    form);
  return {
    element,
    load: async () => {
      const { data } = await get('/payments/chaos', { signal });
      show(data);
    },
  };
}

function healthSection(signal) {
  const body = h('div', { class: 'table-wrap' });
  const updated = h('p', { class: 'hint' });

  async function load() {
    let health;
    try {
      ({ data: health } = await send('GET', '/health', { signal }));
    } catch (error) {
      // 503 still carries the report.
      if (!(error instanceof ApiError) || !error.problem.upstreams) throw error;
      health = error.problem;
    }
    if (signal.aborted) return;
    const rows = Object.entries(health.upstreams).flatMap(([service, report]) => report.instances.map((instance) => h('tr', {},
      h('th', { scope: 'row', text: service }),
      h('td', {}, h('span', { class: `chip chip-${instance.status}`, text: instance.status })),
      h('td', { text: instance.breaker }),
      h('td', { text: instance.reason || '' }))));
    replace(body, h('table', {},
      h('caption', { class: 'visually-hidden', text: 'Services behind the gateway' }),
      h('thead', {}, h('tr', {}, ['Service', 'Status', 'Gateway breaker', 'Note'].map((text) => h('th', { scope: 'col', text })))),
      h('tbody', {}, rows)));
    updated.textContent = `Platform ${health.status}; checked ${new Date().toLocaleTimeString()}.`;
  }

  const timer = setInterval(() => load().catch(() => {}), 5000);
  signal.addEventListener('abort', () => clearInterval(timer));
  const element = section('admin-health', 'Platform health', updated, body);
  return { element, load };
}

function productsSection(signal) {
  const list = h('div', { class: 'table-wrap' });
  const submit = h('button', { type: 'submit', text: 'Create product' });
  const form = h('form', { class: 'form', 'aria-labelledby': 'new-product-title' },
    h('h3', { id: 'new-product-title', text: 'New product' }),
    h('div', { class: 'grid-3' },
      field({ label: 'Name', name: 'name', required: true, autocomplete: 'off' }),
      field({ label: 'Price (€)', name: 'price', required: true, inputmode: 'decimal', autocomplete: 'off', hint: 'For example 12.50' }),
      field({ label: 'Stock', name: 'stock', type: 'number', min: 0, value: 0, inputmode: 'numeric' })),
    h('div', { class: 'grid-2' },
      field({ label: 'Category', name: 'category', autocomplete: 'off', maxlength: 40,
        hint: 'Lowercase words joined by hyphens, such as home-office; empty for none' }),
      field({ label: 'Picture', name: 'image', kind: 'select', options: [['', 'Generic picture'], ...SHIPPED_IMAGES] })),
    field({ label: 'Description', name: 'description', kind: 'textarea' }),
    h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      clearErrors(form);
      const input = values(form);
      const cents = toCents(input.price);
      const body = { name: input.name, description: input.description, category: input.category, image: input.image,
        stock: Number.parseInt(input.stock || '0', 10) };
      if (cents === null) {
        showErrors(form, new ApiError(422, { detail: 'Check the price.', errors: [{ field: 'price', message: 'must be a price such as 12.50' }] }));
        return;
      }
      body.price_cents = cents;
      try {
        const { data } = await post('/products', body);
        toast(`“${data.name}” created.`);
        form.reset();
        await load();
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        showErrors(form, error, { price_cents: 'price' });
      }
    });
  });

  async function load() {
    const { data } = await get(`/products${query({ limit: 100 })}`, { signal });
    if (signal.aborted) return;
    replace(list, h('table', {},
      h('caption', { class: 'visually-hidden', text: 'Products' }),
      h('thead', {}, h('tr', {}, ['', 'Product', 'Category', 'Price (€)', 'Stock', ''].map((text) => h('th', { scope: 'col', text })))),
      h('tbody', {}, data.items.map(productRow))));
  }

  function productRow(product) {
    const priceId = `price-${product.id}`;
    const stockId = `stock-${product.id}`;
    const categoryId = `category-${product.id}`;
    const category = h('input', { id: categoryId, class: 'category-input', value: product.category || '', maxlength: 40, autocomplete: 'off' });
    const price = h('input', { id: priceId, inputmode: 'decimal', value: (product.price_cents / 100).toFixed(2), size: 8 });
    const stock = h('input', { id: stockId, type: 'number', min: 0, value: product.stock, inputmode: 'numeric' });
    const save = h('button', { type: 'button', class: 'secondary', text: 'Save', 'aria-label': `Save ${product.name}` });
    const note = h('span', { class: 'row-note', role: 'status' });
    save.addEventListener('click', () => busy(save, async () => {
      note.textContent = '';
      const cents = toCents(price.value);
      const count = Number.parseInt(stock.value, 10);
      if (cents === null || !Number.isInteger(count) || count < 0) {
        note.textContent = 'Enter a price such as 12.50 and a stock of 0 or more.';
        return;
      }
      try {
        const { data } = await patch(`/products/${product.id}`, { price_cents: cents, stock: count, category: category.value.trim() });
        category.value = data.category || '';
        note.textContent = `Saved: ${money(data.price_cents)}, ${data.stock} in stock.`;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        note.textContent = error.message;
      }
    }));
    return h('tr', {},
      h('td', {}, productImage(product, { className: 'cart-thumb' })),
      h('th', { scope: 'row', text: product.name }),
      h('td', {}, h('label', { for: categoryId, class: 'visually-hidden', text: `Category of ${product.name}` }), category),
      h('td', {}, h('label', { for: priceId, class: 'visually-hidden', text: `Price of ${product.name}` }), price),
      h('td', {}, h('label', { for: stockId, class: 'visually-hidden', text: `Stock of ${product.name}` }), stock),
      h('td', {}, save, note));
  }

  const element = wideSection('admin-products', 'Products', list, form);
  return { element, load };
}

function ordersSection(signal) {
  const list = h('div', { class: 'table-wrap' });

  async function load() {
    const { data } = await get(`/orders${query({ limit: 50 })}`, { signal });
    if (signal.aborted) return;
    if (!data.items.length) {
      replace(list, h('p', { class: 'empty', text: 'No orders yet.' }));
      return;
    }
    // Without the users service the table still shows, with short ids.
    const names = await usernames(data.items.map((order) => order.user_id), { signal }).catch((error) => {
      if (signal.aborted) throw error;
      return new Map();
    });
    if (signal.aborted) return;
    replace(list, h('table', {},
      h('caption', { class: 'visually-hidden', text: 'Every order, newest first' }),
      h('thead', {}, h('tr', {}, ['Order', 'Customer', 'Placed', 'Total', 'Status', 'Set status'].map((text) => h('th', { scope: 'col', text })))),
      h('tbody', {}, data.items.map((order) => orderRow(order, names)))));
  }

  function orderRow(order, names) {
    const selectId = `status-${order.id}`;
    const select = h('select', { id: selectId },
      [['shipped', 'shipped'], ['delivered', 'delivered'], ['cancelled', 'cancelled']].map(([value, text]) => h('option', { value, text })));
    const apply = h('button', { type: 'button', class: 'secondary', text: 'Set', 'aria-label': `Set the status of order ${shortId(order.id)}` });
    const note = h('span', { class: 'row-note', role: 'status' });
    apply.addEventListener('click', () => busy(apply, async () => {
      try {
        await patch(`/orders/${order.id}`, { status: select.value });
        await load();
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        note.textContent = error.message;
      }
    }));
    return h('tr', {},
      h('th', { scope: 'row' }, h('a', { href: `#/orders/${order.id}`, text: shortId(order.id) })),
      customerCell(order.user_id, names),
      h('td', { text: dateTime(order.created_at) }),
      h('td', { class: 'num', text: money(order.total_cents) }),
      h('td', {}, statusChip(order.status)),
      h('td', { class: 'row-actions' }, h('label', { for: selectId, class: 'visually-hidden', text: 'New status' }), select, apply, note));
  }

  const element = wideSection('admin-orders', 'All orders', list);
  return { element, load };
}

/** A customer by username; by short id when the profile is gone or usernames could not load. */
function customerCell(userId, names) {
  const name = names.get(userId);
  if (name) return h('td', { class: 'customer', text: name });
  const title = names.has(userId) ? 'No profile: the account was deleted' : 'The username could not be loaded';
  return h('td', { class: 'customer customer-gone', title, text: shortId(userId) });
}

function customersSection(signal) {
  const list = h('div', { class: 'table-wrap' });
  const count = h('p', { class: 'hint' });

  async function load() {
    const page = await profilesPage(0, { signal });
    if (signal.aborted) return;
    count.textContent = page.total > page.items.length
      ? `The first ${page.items.length} of ${page.total} accounts, oldest first.`
      : `${page.total} account${page.total === 1 ? '' : 's'}, oldest first.`;
    replace(list, h('table', {},
      h('caption', { class: 'visually-hidden', text: 'Customers' }),
      h('thead', {}, h('tr', {}, ['Username', 'Name', 'Email', 'Joined'].map((text) => h('th', { scope: 'col', text })))),
      h('tbody', {}, page.items.map((profile) => h('tr', {},
        h('th', { scope: 'row', text: profile.username }),
        h('td', { text: [profile.first_name, profile.last_name].filter(Boolean).join(' ') || '—' }),
        h('td', { text: profile.email || '—' }),
        h('td', { text: dateTime(profile.created_at) }))))));
  }

  const element = wideSection('admin-customers', 'Customers', count, list);
  return { element, load };
}
