// The hit counter (the Compose tutorial's page): every visit counts one.

import { get } from '../api.js';
import { busy, h, heading, replace } from '../dom.js';

export default async function render(view, { signal }) {
  const count = h('p', { class: 'hits-count', 'aria-live': 'polite' });
  const message = h('p', { class: 'hits-message' });
  const again = h('button', { type: 'button', text: 'Count another visit' });

  async function visit() {
    const { data } = await get('/hits', { signal });
    if (signal.aborted) return;
    replace(count, h('span', { class: 'number', text: String(data.hits) }), h('span', { text: data.hits === 1 ? ' visit' : ' visits' }));
    message.textContent = data.message;
  }

  again.addEventListener('click', () => busy(again, visit));
  view.append(heading('Hits'), h('div', { class: 'card hits' }, count, message, h('div', { class: 'actions' }, again)));
  await visit();
}
