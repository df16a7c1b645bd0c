// Sign in and create an account. Field errors come from the API's problem details (`errors[]`
// names the field), so the rules live in one place: the auth service.

import { ApiError } from '../api.js';
import { busy, clearErrors, field, fieldError, formMessage, h, heading, showErrors, values } from '../dom.js';
import { session } from '../session.js';

/** Where to go after signing in: only a path inside this app. */
function nextPath(query) {
  const next = query.get('next') || '/';
  return next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export default async function render(view, { query, mode, navigate }) {
  const registering = mode === 'register';
  const next = nextPath(query);
  const otherHref = `#/${registering ? 'signin' : 'register'}${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`;

  if (session.signedIn && !registering) {
    view.append(heading('Sign in'),
      h('p', {}, 'You are signed in as ', h('strong', { text: session.user.name }), '. ',
        h('a', { href: `#${next}`, text: 'Continue' })));
    return;
  }

  const submit = h('button', { type: 'submit', text: registering ? 'Create account' : 'Sign in' });
  const fields = registering
    ? [
      field({ label: 'Username', name: 'username', autocomplete: 'username', required: true, hint: '3 to 32 letters, digits, _ . or -' }),
      field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'new-password', required: true, hint: 'At least 8 characters' }),
      field({ label: 'E-mail (optional)', name: 'email', type: 'email', autocomplete: 'email' }),
      field({ label: 'First name (optional)', name: 'first_name', autocomplete: 'given-name' }),
      field({ label: 'Last name (optional)', name: 'last_name', autocomplete: 'family-name' }),
      field({ label: 'Delivery address (optional)', name: 'address', kind: 'textarea', autocomplete: 'street-address' }),
    ]
    : [
      field({ label: 'Username', name: 'username', autocomplete: 'username', required: true }),
      field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    ];
  const form = h('form', { class: 'card form narrow', novalidate: true }, fields, h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      clearErrors(form);
      const input = values(form);
      const password = form.elements.password.value;
      try {
        if (registering) {
          const body = { username: input.username, password };
          for (const name of ['email', 'first_name', 'last_name', 'address']) if (input[name]) body[name] = input[name];
          await session.register(body);
        }
        await session.login(input.username, password);
        navigate(next);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (error.code === 'username_taken') fieldError(form, 'username', 'This username is already taken; choose another.');
        else if (error.code === 'invalid_credentials') formMessage(form, 'Wrong username or password.');
        else if (error.code === 'too_many_attempts') {
          formMessage(form, `Too many failed attempts. Try again in ${error.retryAfter ?? 60} seconds.`);
        } else showErrors(form, error);
      }
    });
  });

  view.append(
    heading(registering ? 'Create an account' : 'Sign in'),
    form,
    h('p', { class: 'narrow' }, registering ? 'Already have an account? ' : 'New here? ',
      h('a', { href: otherHref, text: registering ? 'Sign in' : 'Create an account' })),
  );
  form.elements.username.focus();
}
