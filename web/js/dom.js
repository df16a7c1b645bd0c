// Building the page without markup strings.
//
// Every element is created with document.createElement and every piece of text goes in with
// textContent (a text node), so data from the API — a product name such as
// `<img src=x onerror=alert(1)>` — is always shown as text and can never become markup.
// Nothing in this front-end assigns innerHTML.

/**
 * Creates an element. `props` keys: `class`, `text`, `on` ({event: handler}), `dataset`, and
 * any other key becomes an attribute (`false`/`null`/`undefined` leave it out, `true` sets it
 * empty). Children may be nodes, strings (added as text), arrays, or null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') element.className = value;
    else if (key === 'text') element.textContent = String(value);
    else if (key === 'on') {
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    } else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key === 'value') element.value = value;
    else if (key === 'checked') element.checked = Boolean(value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

/** Appends children as `h` does. */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces every child of `node`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

const euros = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' });

/** Integer cents as a price: 8990 → "€89.90". */
export function money(cents) {
  return euros.format(Number(cents) / 100);
}

const dateTimeFormat = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });

export function dateTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : dateTimeFormat.format(date);
}

/** The last characters of an id, for people (a UUIDv7 starts with its time, shared by the
 * orders of one minute; it ends with random bits). */
export function shortId(id) {
  return String(id).slice(-8);
}

let fieldSerial = 0;

/**
 * A labelled input with a place for its error. `kind` is `input` (default), `textarea` or
 * `select` (`options`: [[value, label]]). Returns the wrapper; the control is `wrapper.control`.
 */
export function field({ label, name, kind = 'input', options = [], hint, ...attributes }) {
  fieldSerial += 1;
  const id = `f-${name}-${fieldSerial}`;
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  let control;
  if (kind === 'select') {
    control = h('select', { id, name, ...attributes },
      options.map(([value, text]) => h('option', { value, text })));
    if (attributes.value !== undefined) control.value = attributes.value;
  } else if (kind === 'textarea') {
    control = h('textarea', { id, name, rows: 3, ...attributes });
  } else {
    control = h('input', { id, name, type: 'text', ...attributes });
  }
  control.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  const wrapper = h('div', { class: 'field' },
    h('label', { for: id, text: label }),
    control,
    hint ? h('p', { class: 'hint', id: hintId, text: hint }) : null,
    h('p', { class: 'field-error', id: errorId, 'aria-live': 'polite' }));
  wrapper.control = control;
  return wrapper;
}

/** The form's message area (created on first use, first in the form). */
function formAlert(form) {
  let alert = form.querySelector(':scope > .form-alert');
  if (!alert) {
    alert = h('p', { class: 'form-alert', role: 'alert' });
    form.prepend(alert);
  }
  return alert;
}

/** Clears the errors a previous submit left on `form`. */
export function clearErrors(form) {
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
  for (const message of form.querySelectorAll('.field-error')) message.textContent = '';
  const alert = form.querySelector(':scope > .form-alert');
  if (alert) alert.remove();
}

/**
 * Shows an API error on `form`: each `errors[].field` next to the input of that name (JSON paths
 * such as `items[0].quantity` match on their last name), the rest as one message at the top.
 * `aliases` maps API field names to input names. Returns true if any field was marked.
 */
export function showErrors(form, error, aliases = {}) {
  clearErrors(form);
  let marked = false;
  const unplaced = [];
  for (const item of error.errors || []) {
    const apiName = String(item.field || '');
    const name = aliases[apiName] || apiName.replace(/.*[.\]]/, '');
    const control = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
    const message = control && control.closest('.field')?.querySelector('.field-error');
    if (control && message) {
      control.setAttribute('aria-invalid', 'true');
      message.textContent = capitalise(item.message);
      if (!marked) control.focus();
      marked = true;
    } else {
      unplaced.push(`${apiName}: ${item.message}`);
    }
  }
  if (!marked || unplaced.length) {
    formAlert(form).textContent = unplaced.length && marked ? unplaced.join('; ') : error.message;
  }
  return marked;
}

/** Marks one input as wrong with `message`. */
export function fieldError(form, name, message) {
  const control = form.querySelector(`[name="${CSS.escape(name)}"]`);
  const slot = control?.closest('.field')?.querySelector('.field-error');
  if (!control || !slot) {
    formAlert(form).textContent = message;
    return;
  }
  control.setAttribute('aria-invalid', 'true');
  slot.textContent = message;
  control.focus();
}

/** A message at the top of the form (not tied to one input). */
export function formMessage(form, message) {
  formAlert(form).textContent = message;
}

function capitalise(text) {
  const value = String(text || '');
  return value.charAt(0).toUpperCase() + value.slice(1);
}

/** The form's values by input name (strings, trimmed). */
export function values(form) {
  const result = {};
  for (const [name, value] of new FormData(form)) result[name] = typeof value === 'string' ? value.trim() : value;
  return result;
}

/** Disables the form's submit button while `work` runs, so a double click submits once. */
export async function busy(button, work) {
  if (button.disabled) return undefined;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** A short message in the corner, read by screen readers. */
export function toast(message, kind = 'info') {
  const area = document.getElementById('toasts');
  if (!area) return;
  const item = h('div', { class: `toast toast-${kind}`, text: message });
  area.append(item);
  // A few at a time: the oldest make room.
  while (area.children.length > 3) area.firstElementChild.remove();
  setTimeout(() => item.remove(), 5000);
}

/** A status word as a coloured chip. */
export function statusChip(status) {
  const words = {
    awaiting_payment: 'awaiting payment',
    payment_failed: 'payment failed',
  };
  return h('span', { class: `chip chip-${status}`, text: words[status] || status });
}

/** A page heading that receives focus after navigation (for keyboard and screen readers). */
export function heading(text) {
  return h('h1', { tabindex: '-1', text });
}
