// My orders: the list, and one order's detail with its items, payment retry and cancellation.
// A live notification about a shown order reloads it, so its status changes on screen.

import { ApiError, del, get, post, query } from '../api.js';
import { busy, dateTime, h, heading, money, replace, shortId, statusChip } from '../dom.js';
import { live } from '../live.js';
import { session } from '../session.js';

const PAGE_SIZE = 20;
const CANCELLABLE = new Set(['awaiting_payment', 'paid', 'payment_failed']);

export default async function render(view, context) {
  const reload = context.params.id ? await detail(view, context) : await list(view, context);
  const onNotification = (event) => {
    if (!context.params.id || event.detail.order_id === context.params.id) reload().catch(() => {});
  };
  live.addEventListener('notification', onNotification);
  context.signal.addEventListener('abort', () => live.removeEventListener('notification', onNotification));
}

async function list(view, { signal }) {
  let offset = 0;
  const body = h('div', { class: 'orders-list' });
  view.append(heading(session.isAdmin ? 'All orders' : 'My orders'), body);

  async function load() {
    const { data } = await get(`/orders${query({ limit: PAGE_SIZE, offset })}`, { signal });
    if (signal.aborted) return;
    if (!data.items.length) {
      replace(body, h('p', { class: 'empty' }, 'You have no orders yet. ', h('a', { href: '#/', text: 'Go shopping' })));
      return;
    }
    const rows = data.items.map((order) => h('tr', {},
      h('th', { scope: 'row' }, h('a', { href: `#/orders/${order.id}`, text: `Order ${shortId(order.id)}` })),
      h('td', { text: dateTime(order.created_at) }),
      h('td', { text: order.items.map((item) => `${item.quantity} × ${item.name}`).join(', ') }),
      h('td', { class: 'num', text: money(order.total_cents) }),
      h('td', {}, statusChip(order.status))));
    const end = offset + data.items.length;
    replace(body,
      h('div', { class: 'table-wrap' }, h('table', {},
        h('caption', { class: 'visually-hidden', text: 'Orders, newest first' }),
        h('thead', {}, h('tr', {}, ['Order', 'Placed', 'Items', 'Total', 'Status'].map((text) => h('th', { scope: 'col', text })))),
        h('tbody', {}, rows))),
      data.total > PAGE_SIZE ? h('div', { class: 'pager' },
        h('button', { type: 'button', class: 'secondary', text: 'Newer', disabled: offset === 0,
          on: { click: () => { offset = Math.max(0, offset - PAGE_SIZE); load(); } } }),
        h('span', { text: `${offset + 1}–${end} of ${data.total}` }),
        h('button', { type: 'button', class: 'secondary', text: 'Older', disabled: end >= data.total,
          on: { click: () => { offset += PAGE_SIZE; load(); } } })) : null);
  }

  await load();
  return load;
}

async function detail(view, { params, signal }) {
  const title = heading(`Order ${shortId(params.id)}`);
  const message = h('div', { class: 'outcome', 'aria-live': 'polite' });
  const body = h('div', { class: 'order-detail' });
  view.append(h('p', {}, h('a', { href: '#/orders', text: '← All my orders' })), title, message, body);

  function say(kind, text) {
    replace(message, h('p', { class: `notice outcome-${kind}`, role: kind === 'problem' ? 'alert' : null, text }));
  }

  async function load() {
    let order;
    try {
      ({ data: order } = await get(`/orders/${params.id}`, { signal }));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        replace(body, h('p', { class: 'notice', text: 'There is no such order among yours.' }));
        return;
      }
      throw error;
    }
    if (signal.aborted) return;
    const actions = h('div', { class: 'actions' });
    if (order.status === 'awaiting_payment') {
      const pay = h('button', { type: 'button', text: 'Pay now' });
      pay.addEventListener('click', () => busy(pay, async () => {
        try {
          await post(`/orders/${order.id}/payment`);
          say('paid', 'Payment accepted: the order is paid.');
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          if (error.code === 'payment_unavailable') {
            say('unavailable', `The payment service is unavailable right now; the order keeps waiting for payment. Try again later${error.retryAfter ? ` (in about ${error.retryAfter} s)` : ''}.`);
          } else if (error.code === 'payment_declined') {
            say('refused', 'Your bank refused the payment: nothing was charged and the order is closed.');
          } else say('problem', error.message);
        }
        await load();
      }));
      actions.append(pay);
    }
    if (CANCELLABLE.has(order.status)) actions.append(cancelControl(order));

    replace(body,
      h('dl', { class: 'facts' },
        h('dt', { text: 'Status' }), h('dd', {}, statusChip(order.status)),
        h('dt', { text: 'Placed' }), h('dd', { text: dateTime(order.created_at) }),
        h('dt', { text: 'Last change' }), h('dd', { text: dateTime(order.updated_at) }),
        h('dt', { text: 'Shipping address' }), h('dd', { class: 'address', text: order.shipping_address }),
        h('dt', { text: 'Total' }), h('dd', { text: money(order.total_cents) })),
      h('div', { class: 'table-wrap' }, h('table', {},
        h('caption', { text: 'Items' }),
        h('thead', {}, h('tr', {}, ['Product', 'Quantity', 'Unit price', 'Total'].map((text) => h('th', { scope: 'col', text })))),
        h('tbody', {}, order.items.map((item) => h('tr', {},
          h('td', { text: item.name }),
          h('td', { class: 'num', text: String(item.quantity) }),
          h('td', { class: 'num', text: money(item.unit_price_cents) }),
          h('td', { class: 'num', text: money(item.line_total_cents) })))))),
      actions);
  }

  function cancelControl(order) {
    const holder = h('span', { class: 'confirm' });
    const ask = h('button', { type: 'button', class: 'danger', text: 'Cancel order' });
    ask.addEventListener('click', () => {
      const yes = h('button', { type: 'button', class: 'danger', text: 'Yes, cancel the order' });
      const no = h('button', { type: 'button', class: 'secondary', text: 'Keep it' });
      yes.addEventListener('click', () => busy(yes, async () => {
        try {
          await del(`/orders/${order.id}`);
          say('cancelled', order.status === 'paid'
            ? 'Order cancelled: its items are back in stock and your payment is refunded.'
            : 'Order cancelled: its items are back in stock.');
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          say('problem', error.message);
        }
        await load();
      }));
      no.addEventListener('click', () => { replace(holder, ask); ask.focus(); });
      replace(holder, h('span', { text: order.status === 'paid' ? 'Cancel and get a refund? ' : 'Cancel this order? ' }), yes, no);
      yes.focus();
    });
    holder.append(ask);
    return holder;
  }

  await load();
  return load;
}
