// The signed-in user's profile (users service): view and edit names and address.

import { ApiError, get, patch } from '../api.js';
import { busy, clearErrors, dateTime, field, h, heading, replace, showErrors, values } from '../dom.js';

const EDITABLE = ['first_name', 'last_name', 'address'];

export default async function render(view, { signal }) {
  const { data: profile } = await get('/users/me', { signal });
  if (signal.aborted) return;
  const facts = h('dl', { class: 'facts' });
  const saved = h('p', { class: 'saved', role: 'status' });
  const submit = h('button', { type: 'submit', text: 'Save profile' });
  const form = h('form', { class: 'card form narrow' },
    field({ label: 'First name', name: 'first_name', autocomplete: 'given-name', value: profile.first_name || '' }),
    field({ label: 'Last name', name: 'last_name', autocomplete: 'family-name', value: profile.last_name || '' }),
    field({ label: 'Address', name: 'address', kind: 'textarea', autocomplete: 'street-address', value: profile.address || '',
      hint: 'Orders are shipped here unless you give another address at checkout.' }),
    h('div', { class: 'actions' }, submit), saved);

  function showFacts(current) {
    replace(facts,
      h('dt', { text: 'Username' }), h('dd', { text: current.username }),
      h('dt', { text: 'E-mail' }), h('dd', { text: current.email || '—' }),
      h('dt', { text: 'Name' }), h('dd', { text: [current.first_name, current.last_name].filter(Boolean).join(' ') || '—' }),
      h('dt', { text: 'Address' }), h('dd', { class: 'address', text: current.address || '—' }),
      h('dt', { text: 'Member since' }), h('dd', { text: dateTime(current.created_at) }));
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      clearErrors(form);
      saved.textContent = '';
      const input = values(form);
      // Blank means "remove this detail".
      const changes = Object.fromEntries(EDITABLE.map((name) => [name, input[name] || null]));
      try {
        const { data } = await patch('/users/me', changes);
        showFacts(data);
        saved.textContent = 'Profile saved.';
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        showErrors(form, error);
      }
    });
  });

  showFacts(profile);
  view.append(heading('Profile'), h('div', { class: 'two-columns' },
    h('section', { 'aria-labelledby': 'profile-now' }, h('h2', { id: 'profile-now', text: 'Your details' }), facts),
    h('section', { 'aria-labelledby': 'profile-edit' }, h('h2', { id: 'profile-edit', text: 'Edit' }), form)));
}
