// Cars (seed 000's CRUD): list, add, edit, delete your cars (an admin sees everyone's).

import { ApiError, del, get, post, put, query } from '../api.js';
import { busy, clearErrors, field, h, heading, replace, showErrors, toast, values } from '../dom.js';

const PAGE_SIZE = 20;

export default async function render(view, { signal }) {
  let offset = 0;
  let editing = null;
  const table = h('div', { class: 'cars-list' });
  const formTitle = h('h2', { id: 'car-form-title', text: 'Add a car' });
  const submit = h('button', { type: 'submit', text: 'Add car' });
  const cancelEdit = h('button', { type: 'button', class: 'secondary', text: 'Cancel editing', hidden: true });
  const form = h('form', { class: 'form', 'aria-labelledby': 'car-form-title' },
    h('div', { class: 'grid-2' },
      field({ label: 'Brand', name: 'brand', required: true, autocomplete: 'off' }),
      field({ label: 'Model', name: 'model', required: true, autocomplete: 'off' }),
      field({ label: 'Year', name: 'year', type: 'number', inputmode: 'numeric', required: true, min: 1886 }),
      field({ label: 'Colour', name: 'color', required: true, autocomplete: 'off' })),
    h('div', { class: 'actions' }, submit, cancelEdit));

  function startEdit(car) {
    editing = car;
    formTitle.textContent = `Edit ${car.brand} ${car.model}`;
    submit.textContent = 'Save car';
    cancelEdit.hidden = false;
    for (const name of ['brand', 'model', 'year', 'color']) form.elements[name].value = car[name];
    clearErrors(form);
    form.elements.brand.focus();
  }

  function stopEdit() {
    editing = null;
    formTitle.textContent = 'Add a car';
    submit.textContent = 'Add car';
    cancelEdit.hidden = true;
    form.reset();
    clearErrors(form);
  }
  cancelEdit.addEventListener('click', stopEdit);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      clearErrors(form);
      const input = values(form);
      const year = Number.parseInt(input.year, 10);
      const body = { brand: input.brand, model: input.model, year: Number.isInteger(year) ? year : input.year, color: input.color };
      try {
        if (editing) {
          await put(`/cars/${editing.id}`, body);
          toast(`${body.brand} ${body.model} saved.`);
        } else {
          await post('/cars', body);
          toast(`${body.brand} ${body.model} added.`);
        }
        stopEdit();
        await load();
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        showErrors(form, error, { marque: 'brand', 'modèle': 'model', 'année': 'year', couleur: 'color' });
      }
    });
  });

  async function load() {
    const { data } = await get(`/cars${query({ limit: PAGE_SIZE, offset, sort: 'brand' })}`, { signal });
    if (signal.aborted) return;
    if (!data.items.length) {
      replace(table, h('p', { class: 'empty', text: 'No cars yet. Add one with the form.' }));
      return;
    }
    const end = offset + data.items.length;
    replace(table,
      h('div', { class: 'table-wrap' }, h('table', {},
        h('caption', { class: 'visually-hidden', text: 'Your cars' }),
        h('thead', {}, h('tr', {}, ['Brand', 'Model', 'Year', 'Colour', 'Actions'].map((text) => h('th', { scope: 'col', text })))),
        h('tbody', {}, data.items.map(row)))),
      data.total > PAGE_SIZE ? h('div', { class: 'pager' },
        h('button', { type: 'button', class: 'secondary', text: 'Previous', disabled: offset === 0,
          on: { click: () => { offset = Math.max(0, offset - PAGE_SIZE); load(); } } }),
        h('span', { text: `${offset + 1}–${end} of ${data.total}` }),
        h('button', { type: 'button', class: 'secondary', text: 'Next', disabled: end >= data.total,
          on: { click: () => { offset += PAGE_SIZE; load(); } } })) : null);
  }

  function row(car) {
    const label = `${car.brand} ${car.model}`;
    const actions = h('td', { class: 'row-actions' });
    const edit = h('button', { type: 'button', class: 'secondary', text: 'Edit', 'aria-label': `Edit ${label}`, on: { click: () => startEdit(car) } });
    const remove = h('button', { type: 'button', class: 'danger', text: 'Delete', 'aria-label': `Delete ${label}` });
    remove.addEventListener('click', () => {
      const yes = h('button', { type: 'button', class: 'danger', text: 'Yes, delete', 'aria-label': `Yes, delete ${label}` });
      const no = h('button', { type: 'button', class: 'secondary', text: 'Keep' });
      yes.addEventListener('click', () => busy(yes, async () => {
        try {
          await del(`/cars/${car.id}`);
          toast(`${label} deleted.`);
          if (editing?.id === car.id) stopEdit();
        } catch (error) {
          if (!(error instanceof ApiError) || error.status !== 404) throw error;
        }
        await load();
      }));
      no.addEventListener('click', () => { replace(actions, edit, remove); remove.focus(); });
      replace(actions, yes, no);
      yes.focus();
    });
    actions.append(edit, remove);
    return h('tr', {},
      h('td', { text: car.brand }), h('td', { text: car.model }), h('td', { class: 'num', text: String(car.year) }),
      h('td', { text: car.color }), actions);
  }

  view.append(heading('Cars'),
    h('div', { class: 'two-columns' },
      h('section', { 'aria-label': 'Your cars' }, table),
      h('section', { class: 'card' }, formTitle, form)));
  await load();
}
