// Notifications, live: the inbox, then every new one as the notifier pushes it (SSE).
//
// EventSource cannot send an Authorization header, so the stream is read with fetch() and a
// small parser of the text/event-stream format. When the stream drops (network, restart, an
// expired token) it reconnects with growing pauses, sending the last id it saw as
// Last-Event-ID and `?since=`, so the notifier replays what was missed in between; a `lagged`
// event means some were dropped, and the inbox is reloaded.
//
// What a notification says on the page is written here (`notificationText`) from its kind and
// details, in the shop's price format: the server's `message` is its console line (full ids,
// `25.00 EUR`), kept for kinds this page does not know yet.

import { ApiError, get, post } from './api.js';
import { money, shortId } from './dom.js';
import { session } from './session.js';

/** How an order was cancelled, as the orders service's `reason` codes say. */
const CANCELLED = {
  cancelled_by_customer: '',
  cancelled_by_admin: ' by the shop',
  payment_timeout: ': not paid in time',
};

/** Words for a code: `out_of_stock` → "out of stock". */
function words(code) {
  return String(code).replace(/[_.]/g, ' ');
}

/**
 * A notification as a sentence for people: `Order 1a2b3c4d paid: €42.00`, `Your event
 * “Rust meetup” was cancelled`.
 */
export function notificationText(item) {
  const kind = String(item.kind || '');
  const amount = Number.isSafeInteger(item.total_cents) ? `: ${money(item.total_cents)}` : '';
  if (kind.startsWith('order.') && item.order_id) {
    const order = shortId(item.order_id);
    switch (kind) {
      case 'order.created': return `Order ${order} placed${amount}`;
      case 'order.paid': return `Order ${order} paid${amount}`;
      case 'order.payment_failed':
        return item.reason === 'payment_declined' || !item.reason
          ? `Payment for order ${order} refused by the bank${amount}`
          : `Payment for order ${order} failed (${words(item.reason)})${amount}`;
      case 'order.cancelled': {
        const how = item.reason ? CANCELLED[item.reason] ?? ` (${words(item.reason)})` : '';
        return `Order ${order} cancelled${how}`;
      }
      case 'order.shipped': return `Order ${order} shipped`;
      case 'order.delivered': return `Order ${order} delivered`;
      default: return `Order ${order} ${words(kind.slice('order.'.length))}${amount}`;
    }
  }
  if (kind.startsWith('event.') && item.title) {
    const event = `“${item.title}”`;
    switch (kind) {
      case 'event.created': return `Your event ${event} is on the agenda`;
      case 'event.updated': return `Your event ${event} was changed`;
      case 'event.cancelled': return `Your event ${event} was cancelled`;
      default: return `Your event ${event}: ${words(kind.slice('event.'.length))}`;
    }
  }
  return String(item.message || kind);
}

const INBOX_SIZE = 50;
const MAX_PAUSE_MS = 15000;

/** Parses a text/event-stream body into `{event, data, id}` messages. */
export async function* readEvents(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const abort = () => reader.cancel().catch(() => {});
  signal.addEventListener('abort', abort, { once: true });
  let buffer = '';
  let message = { event: 'message', data: [], id: null };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop();
      for (const line of lines) {
        if (line === '') {
          if (message.data.length) yield { event: message.event, data: message.data.join('\n'), id: message.id };
          message = { event: 'message', data: [], id: message.id };
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const name = colon === -1 ? line : line.slice(0, colon);
        let value_ = colon === -1 ? '' : line.slice(colon + 1);
        if (value_.startsWith(' ')) value_ = value_.slice(1);
        if (name === 'event') message.event = value_;
        else if (name === 'data') message.data.push(value_);
        else if (name === 'id') message.id = value_;
      }
    }
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

class Live extends EventTarget {
  /** Newest first. */
  items = [];
  /** `off`, `connecting` or `live`, for the status dot. */
  state = 'off';
  #controller = null;
  #lastId = null;

  get unread() {
    return this.items.filter((item) => !item.read).length;
  }

  /** Starts (or restarts) for the signed-in user. */
  start() {
    this.stop();
    this.#controller = new AbortController();
    this.#run(this.#controller.signal);
  }

  stop() {
    this.#controller?.abort();
    this.#controller = null;
    this.items = [];
    this.#lastId = null;
    this.#setState('off');
    this.#changed();
  }

  async markRead(id) {
    const { data } = await post(`/notifications/${id}/read`);
    const item = this.items.find((entry) => entry.id === id);
    if (item) item.read = data?.read ?? true;
    this.#changed();
  }

  async reload() {
    const { data } = await get(`/notifications?limit=${INBOX_SIZE}`);
    this.items = data.items;
    if (this.items.length && (!this.#lastId || this.items[0].id > this.#lastId)) this.#lastId = this.items[0].id;
    this.#changed();
  }

  async #run(signal) {
    let pause = 1000;
    while (!signal.aborted) {
      this.#setState('connecting');
      try {
        if (!this.#lastId) await this.reload();
        const token = await session.accessToken();
        if (!token || signal.aborted) return;
        const headers = { accept: 'text/event-stream', authorization: `Bearer ${token}` };
        let url = '/notifications/stream';
        if (this.#lastId) {
          headers['last-event-id'] = this.#lastId;
          url += `?since=${encodeURIComponent(this.#lastId)}`;
        }
        const response = await fetch(url, { headers, signal, cache: 'no-store' });
        if (response.status === 401) {
          await response.body?.cancel();
          await session.refresh();
          continue;
        }
        if (!response.ok || !response.body) throw new ApiError(response.status, {});
        this.#setState('live');
        pause = 1000;
        let expired = false;
        for await (const message of readEvents(response.body, signal)) {
          // The server ends a stream when its token expires: reconnect at once, freshly signed.
          if (message.event === 'expired') expired = true;
          else this.#receive(message);
        }
        if (expired && !signal.aborted) continue;
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ApiError && error.status === 401 && !session.signedIn) return;
      }
      if (signal.aborted) return;
      this.#setState('connecting');
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, pause);
        signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
  }

  #receive(message) {
    if (message.event === 'lagged') {
      this.reload().catch(() => {});
      return;
    }
    if (message.event !== 'notification') return;
    let notification;
    try {
      notification = JSON.parse(message.data);
    } catch {
      return;
    }
    if (message.id) this.#lastId = message.id;
    if (this.items.some((item) => item.id === notification.id)) return;
    this.items.unshift(notification);
    this.items.length = Math.min(this.items.length, INBOX_SIZE);
    this.dispatchEvent(new CustomEvent('notification', { detail: notification }));
    this.#changed();
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.#changed();
  }

  #changed() {
    this.dispatchEvent(new CustomEvent('change'));
  }
}

export const live = new Live();
