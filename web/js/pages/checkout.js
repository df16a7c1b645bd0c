// Checkout: place the cart as an order and say what happened in a shopper's words.
//
// The order is sent with an Idempotency-Key minted for this cart and address and kept (in
// sessionStorage) until the answer is known: a double click, a retry after a network error or a
// reload and resubmit all reuse it, and the orders service answers the first order again instead
// of placing a second one. Payment outcomes are answers, not errors: 402 (refused: nothing was
// charged, try again), 503 `payment_unavailable` (the order is kept awaiting payment; retry it
// with POST /orders/{id}/payment), 409 `insufficient_stock` (which product).

import { ApiError, get, post } from '../api.js';
import { busy, clearErrors, field, fieldError, h, heading, money, replace, shortId, showErrors, statusChip } from '../dom.js';
import { cart, pricedLines, productName } from '../cart.js';

const KEY_STORE = 'microshop.checkout-key';

/** The key for this exact request: the stored one if the request is the same, else a new one. */
function idempotencyKey(fingerprint) {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY_STORE) || 'null');
    if (stored && stored.fingerprint === fingerprint) return stored.key;
  } catch {
    // A damaged entry is replaced.
  }
  const key = crypto.randomUUID();
  sessionStorage.setItem(KEY_STORE, JSON.stringify({ key, fingerprint }));
  return key;
}

function forgetKey() {
  sessionStorage.removeItem(KEY_STORE);
}

export default async function render(view, { signal }) {
  const outcome = h('section', { class: 'outcome', 'aria-live': 'polite', 'aria-labelledby': 'outcome-title' });
  const summary = h('div', { class: 'checkout-summary' });
  view.append(heading('Checkout'), outcome, summary);

  const [lines, profile] = await Promise.all([
    pricedLines({ fresh: true }),
    get('/users/me', { signal }).then(({ data }) => data).catch(() => null),
  ]);
  if (signal.aborted) return;
  showSummary(lines, profile);

  function showSummary(currentLines, currentProfile) {
    if (!currentLines.length) {
      replace(summary, h('p', { class: 'empty' }, 'Your cart is empty. ', h('a', { href: '#/', text: 'Go shopping' })));
      return;
    }
    const total = currentLines.reduce((sum, line) => sum + line.lineTotal, 0);
    const table = h('div', { class: 'table-wrap' }, h('table', {},
      h('caption', { class: 'visually-hidden', text: 'Your cart' }),
      h('thead', {}, h('tr', {}, ['Product', 'Quantity', 'Unit price', 'Total'].map((text) => h('th', { scope: 'col', text })))),
      h('tbody', {}, currentLines.map((line) => h('tr', {},
        h('td', { text: line.product ? line.product.name : `Product ${line.product_id} (no longer sold)` }),
        h('td', { class: 'num', text: String(line.quantity) }),
        h('td', { class: 'num', text: line.product ? money(line.product.price_cents) : '—' }),
        h('td', { class: 'num', text: money(line.lineTotal) })))),
      h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: 3, text: 'Total' }), h('td', { class: 'num', text: money(total) })))));

    const address = field({ label: 'Shipping address', name: 'shipping_address', kind: 'textarea', autocomplete: 'street-address',
      value: currentProfile?.address || '', hint: 'Leave empty to use the address in your profile.' });
    const place = h('button', { type: 'submit', text: `Place order (${money(total)})` });
    const form = h('form', { class: 'card form' }, address, h('div', { class: 'actions' }, place,
      h('a', { href: '#/', class: 'button secondary', text: 'Back to the shop' })));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(place, () => placeOrder(form));
    });
    replace(summary, table, form);
  }

  async function placeOrder(form) {
    clearErrors(form);
    const items = cart.lines.map(({ product_id, quantity }) => ({ product_id, quantity }));
    if (!items.length) return;
    const address = form.elements.shipping_address.value.trim();
    const body = address ? { items, shipping_address: address } : { items };
    const key = idempotencyKey(JSON.stringify(body));
    showPending('Placing your order…');
    for (;;) {
      try {
        const { data } = await post('/orders', body, { headers: { 'idempotency-key': key } });
        forgetKey();
        cart.clear();
        showPaid(data);
        replace(summary);
        return;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (error.code === 'request_in_progress') {
          // The same order is still being placed (a double submit): wait for its answer.
          await new Promise((resolve) => setTimeout(resolve, 1000 * (error.retryAfter || 1)));
          continue;
        }
        if (error.status !== 0) forgetKey();
        showOrderProblem(error, form);
        return;
      }
    }
  }

  function showOrderProblem(error, form) {
    const order = error.problem.order;
    switch (error.code) {
      case 'payment_declined':
        showOutcome('refused', 'Payment refused',
          'Your bank refused the payment, so nothing was charged and the items went back on the shelf. '
          + 'Your cart is unchanged: you can try again.',
          h('button', { type: 'button', text: 'Try again', on: { click: (event) => busy(event.currentTarget, () => placeOrder(form)) } }));
        return;
      case 'payment_unavailable':
        cart.clear();
        replace(summary);
        showUnavailable(order || { id: error.problem.order_id }, error.retryAfter);
        return;
      case 'insufficient_stock': {
        const name = productName(error.problem.product_id);
        showOutcome('problem', 'Not enough stock',
          `There is not enough stock of “${name}” for this order. Lower its quantity in your cart and try again.`,
          h('a', { href: '#/', class: 'button secondary', text: 'Change the cart' }));
        return;
      }
      case 'unknown_product': {
        const name = productName(error.problem.product_id);
        showOutcome('problem', 'Product no longer sold', `“${name}” is no longer sold. Remove it from your cart and try again.`,
          h('button', { type: 'button', class: 'secondary', text: `Remove it from the cart`,
            on: { click: () => { cart.remove(error.problem.product_id); location.reload(); } } }));
        return;
      }
      case 'service_unavailable':
        showOutcome('problem', 'The shop is busy',
          'We cannot reach the catalogue right now, so nothing was ordered. Please try again in a moment.');
        return;
      default:
        outcome.replaceChildren();
        if (error.code === 'validation_failed' && error.errors.some((item) => item.field === 'shipping_address')) {
          fieldError(form, 'shipping_address', 'Enter a shipping address: your profile has none.');
          return;
        }
        if (error.status === 0) {
          showOutcome('problem', 'No connection',
            'Your order could not be sent. Check your connection and place it again: it will not be ordered twice.');
          return;
        }
        showErrors(form, error);
    }
  }

  function showUnavailable(order, retryAfter) {
    const retry = h('button', { type: 'button', text: 'Retry payment' });
    retry.addEventListener('click', () => busy(retry, () => retryPayment(order)));
    const wait = retryAfter ? ` You can retry in about ${retryAfter} second${retryAfter === 1 ? '' : 's'}.` : '';
    showOutcome('unavailable', 'Payment service unavailable',
      `The payment service is unavailable right now, so order ${shortId(order.id)} is saved and waiting for payment. `
      + `Please try again later.${wait}`,
      retry,
      h('a', { href: `#/orders/${order.id}`, class: 'button secondary', text: 'View the order' }));
  }

  async function retryPayment(order) {
    showPending('Retrying the payment…');
    try {
      const { data } = await post(`/orders/${order.id}/payment`);
      showPaid(data);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === 'payment_unavailable') showUnavailable(order, error.retryAfter);
      else if (error.code === 'payment_declined') {
        showOutcome('refused', 'Payment refused',
          'Your bank refused the payment, so nothing was charged and the items went back on the shelf. '
          + 'Add them to your cart again to try once more.',
          h('a', { href: '#/', class: 'button', text: 'Back to the shop' }));
      } else if (error.code === 'not_awaiting_payment') {
        showOutcome('problem', 'Nothing to pay',
          `This order is ${String(error.problem.order_status || 'closed').replace(/_/g, ' ')}: it cannot be paid any more.`,
          h('a', { href: `#/orders/${order.id}`, class: 'button secondary', text: 'View the order' }));
      } else {
        showOutcome('problem', 'Payment not retried', error.message, h('button', { type: 'button', text: 'Retry payment',
          on: { click: (event) => busy(event.currentTarget, () => retryPayment(order)) } }));
      }
    }
  }

  function showPaid(order) {
    showOutcome('paid', 'Thank you: your order is paid',
      h('span', {}, `Order ${shortId(order.id)} for ${money(order.total_cents)} is `, statusChip(order.status), '.'),
      h('a', { href: `#/orders/${order.id}`, class: 'button', text: 'View the order' }),
      h('a', { href: '#/', class: 'button secondary', text: 'Continue shopping' }));
  }

  function showPending(text) {
    replace(outcome, h('p', { class: 'pending', id: 'outcome-title', text }));
  }

  function showOutcome(kind, title, message, ...actions) {
    replace(outcome, h('div', { class: `notice outcome-${kind}`, dataset: { outcome: kind } },
      h('h2', { id: 'outcome-title', text: title }),
      h('p', {}, message),
      actions.length ? h('div', { class: 'actions' }, actions) : null));
    outcome.querySelector('h2').setAttribute('tabindex', '-1');
    outcome.querySelector('h2').focus();
  }
}
