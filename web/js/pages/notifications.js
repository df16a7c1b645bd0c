// The notifications inbox, updated live as the stream delivers (see ../live.js).

import { busy, dateTime, h, heading, replace, shortId } from '../dom.js';
import { live, notificationText } from '../live.js';

export default async function render(view, { signal }) {
  const status = h('p', { class: 'hint live-status' });
  const list = h('ol', { class: 'notifications', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const markAll = h('button', { type: 'button', class: 'secondary', text: 'Mark all as read' });
  markAll.addEventListener('click', () => busy(markAll, async () => {
    for (const item of live.items.filter((entry) => !entry.read)) await live.markRead(item.id);
  }));
  view.append(heading('Notifications'), h('div', { class: 'toolbar' }, status, markAll), list);

  function show() {
    status.textContent = {
      live: 'Live: new notifications appear here as they happen.',
      connecting: 'Connecting to live updates…',
      off: 'Live updates are off.',
    }[live.state];
    markAll.disabled = live.unread === 0;
    if (!live.items.length) {
      replace(list, h('li', { class: 'empty', text: 'No notifications yet. Orders you place are reported here.' }));
      return;
    }
    replace(list, live.items.map((item) => {
      const text = notificationText(item);
      const read = h('button', { type: 'button', class: 'link', text: 'Mark as read', 'aria-label': `Mark as read: ${text}` });
      read.addEventListener('click', () => busy(read, () => live.markRead(item.id)));
      return h('li', { class: item.read ? 'notification' : 'notification unread', dataset: { kind: item.kind } },
        h('p', { class: 'message', text }),
        h('p', { class: 'meta' },
          h('time', { datetime: item.created_at, text: dateTime(item.created_at) }),
          item.order_id ? h('a', { href: `#/orders/${item.order_id}`, text: `Order ${shortId(item.order_id)}` }) : null,
          item.read ? h('span', { text: 'Read' }) : read));
    }));
  }

  live.addEventListener('change', show);
  signal.addEventListener('abort', () => live.removeEventListener('change', show));
  show();
  if (live.state === 'off') await live.reload().then(show);
}
