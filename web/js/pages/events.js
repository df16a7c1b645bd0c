// Events (the agenda): what is coming up, a search, and a form to create one when signed in.

import { ApiError, get, post, query } from '../api.js';
import { busy, clearErrors, dateTime, field, h, heading, replace, showErrors, toast, values } from '../dom.js';
import { session } from '../session.js';

/** A datetime-local value (local time) as RFC 3339 in UTC, or the text as typed. */
function toRfc3339(value) {
  const date = new Date(value);
  return value && !Number.isNaN(date.getTime()) ? date.toISOString() : value;
}

export default async function render(view, { signal }) {
  let q = '';
  const list = h('div', { class: 'events-list', 'aria-live': 'polite' });
  const search = h('input', { type: 'search', id: 'event-search', name: 'q', autocomplete: 'off' });
  const searchForm = h('form', { class: 'search', role: 'search' },
    h('label', { for: 'event-search', text: 'Search events' }),
    h('div', { class: 'inline' }, search, h('button', { type: 'submit', class: 'secondary', text: 'Search' })));
  searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    q = search.value.trim();
    load();
  });

  async function load() {
    const { data } = await get(`/events${query({ limit: 50, q })}`, { signal });
    if (signal.aborted) return;
    if (!data.items.length) {
      replace(list, h('p', { class: 'empty', text: q ? `No upcoming event matches “${q}”.` : 'No upcoming events.' }));
      return;
    }
    replace(list, h('ul', { class: 'event-cards' }, data.items.map((event) => {
      const titleId = `event-${event.id}`;
      return h('li', {}, h('article', { class: 'card event', 'aria-labelledby': titleId },
        h('h2', { id: titleId, text: event.title }),
        h('p', { class: 'when' },
          h('time', { datetime: event.starts_at, text: dateTime(event.starts_at) }), ' – ',
          h('time', { datetime: event.ends_at, text: dateTime(event.ends_at) })),
        event.location ? h('p', { class: 'where', text: event.location }) : null,
        event.description ? h('p', { class: 'description', text: event.description }) : null,
        event.visibility === 'private' ? h('span', { class: 'chip', text: 'private' }) : null));
    })));
  }

  let create;
  if (session.signedIn) {
    const submit = h('button', { type: 'submit', text: 'Create event' });
    create = h('form', { class: 'form', 'aria-labelledby': 'event-form-title' },
      field({ label: 'Title', name: 'title', required: true, autocomplete: 'off' }),
      h('div', { class: 'grid-2' },
        field({ label: 'Starts', name: 'starts_at', type: 'datetime-local', required: true }),
        field({ label: 'Ends', name: 'ends_at', type: 'datetime-local', required: true })),
      field({ label: 'Location', name: 'location', autocomplete: 'off' }),
      field({ label: 'Description', name: 'description', kind: 'textarea' }),
      field({ label: 'Who can see it', name: 'visibility', kind: 'select', options: [['public', 'Everyone'], ['private', 'Only me']] }),
      h('div', { class: 'actions' }, submit));
    create.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(submit, async () => {
        clearErrors(create);
        const input = values(create);
        try {
          await post('/events', {
            title: input.title,
            starts_at: toRfc3339(input.starts_at),
            ends_at: toRfc3339(input.ends_at),
            location: input.location,
            description: input.description,
            visibility: input.visibility,
          });
          toast(`“${input.title}” created.`);
          create.reset();
          await load();
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          showErrors(create, error);
        }
      });
    });
  } else {
    create = h('p', { class: 'notice' }, h('a', { href: '#/signin?next=%2Fevents', text: 'Sign in' }), ' to create an event.');
  }

  view.append(heading('Events'), h('div', { class: 'two-columns' },
    h('section', { 'aria-label': 'Upcoming events' }, searchForm, list),
    h('section', { class: 'card' }, h('h2', { id: 'event-form-title', text: 'New event' }), create)));
  await load();
}
