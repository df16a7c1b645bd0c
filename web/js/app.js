// The shell: header and navigation, the router, and the session's effects on both.
//
// Views are chosen by the URL fragment (`#/orders/…`), so the gateway serves one page at `/` and
// every view can be bookmarked and reloaded. Each view is a module loaded on first use; the
// shop's catalogue (the first page) is the only one fetched up front.

import { ApiError } from './api.js';
import { h, replace, toast } from './dom.js';
import { session } from './session.js';
import { cart } from './cart.js';
import { live, notificationText } from './live.js';

/** Fragment path → view. `auth`: signed-in users only; `admin`: admins only. */
const ROUTES = [
  { pattern: /^$/, page: 'shop', title: 'Shop' },
  { pattern: /^products\/([^/]{1,64})$/, page: 'product', title: 'Product', keys: ['id'] },
  { pattern: /^signin$/, page: 'signin', title: 'Sign in' },
  { pattern: /^register$/, page: 'signin', title: 'Create an account', mode: 'register' },
  { pattern: /^checkout$/, page: 'checkout', title: 'Checkout', auth: true },
  { pattern: /^orders$/, page: 'orders', title: 'My orders', auth: true },
  { pattern: /^orders\/([0-9a-fA-F-]{1,64})$/, page: 'orders', title: 'Order', auth: true, keys: ['id'] },
  { pattern: /^notifications$/, page: 'notifications', title: 'Notifications', auth: true },
  { pattern: /^profile$/, page: 'profile', title: 'Profile', auth: true },
  { pattern: /^cars$/, page: 'cars', title: 'Cars', auth: true },
  { pattern: /^events$/, page: 'events', title: 'Events' },
  { pattern: /^hits$/, page: 'hits', title: 'Hits' },
  { pattern: /^admin$/, page: 'admin', title: 'Admin', admin: true },
];

const loaders = {
  shop: () => import('./pages/shop.js'),
  product: () => import('./pages/product.js'),
  signin: () => import('./pages/signin.js'),
  checkout: () => import('./pages/checkout.js'),
  orders: () => import('./pages/orders.js'),
  notifications: () => import('./pages/notifications.js'),
  profile: () => import('./pages/profile.js'),
  cars: () => import('./pages/cars.js'),
  events: () => import('./pages/events.js'),
  hits: () => import('./pages/hits.js'),
  admin: () => import('./pages/admin.js'),
};

const main = document.getElementById('main');
let current = null;

/** Goes to a fragment path such as `/orders`. */
export function navigate(path) {
  const target = `#${path.startsWith('/') ? path : `/${path}`}`;
  if (location.hash === target) render();
  else location.hash = target;
}

function parse() {
  const hash = location.hash.startsWith('#/') ? location.hash.slice(2) : '';
  const [path, search = ''] = hash.split('?');
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // A malformed escape (`%E0`) is kept as typed: no view matches it, and the 404 page says so.
  }
  return { path: decoded.replace(/\/$/, ''), query: new URLSearchParams(search) };
}

async function render() {
  const { path, query } = parse();
  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const view = h('div', { class: 'view' });
  replace(main, view);
  renderNav(path);

  if (!route) {
    document.title = 'Not found · microshop';
    append404(view);
    return;
  }
  if ((route.auth || route.admin) && !session.signedIn) {
    const next = encodeURIComponent(`/${path}${query.size ? `?${query}` : ''}`);
    location.replace(`#/signin?next=${next}`);
    return;
  }
  document.title = `${route.title} · microshop`;
  if (route.admin && !session.isAdmin) {
    view.append(h('h1', { tabindex: '-1', text: 'Admin' }),
      h('p', { class: 'notice', text: 'This page is for administrators. Sign in with an admin account to see it.' }));
    focusHeading(view);
    return;
  }
  const params = {};
  const match = path.match(route.pattern);
  (route.keys || []).forEach((key, index) => { params[key] = match[index + 1]; });

  view.setAttribute('aria-busy', 'true');
  try {
    const module = await loaders[route.page]();
    if (controller.signal.aborted) return;
    await module.default(view, { params, query, mode: route.mode, signal: controller.signal, navigate });
  } catch (error) {
    if (controller.signal.aborted) return;
    replace(view, h('h1', { tabindex: '-1', text: 'Something went wrong' }),
      h('p', { class: 'notice notice-error', role: 'alert', text: error?.message || String(error) }),
      h('p', {}, h('button', { type: 'button', text: 'Try again', on: { click: () => render() } })));
  } finally {
    view.removeAttribute('aria-busy');
  }
  if (!controller.signal.aborted) focusHeading(view);
}

function append404(view) {
  view.append(h('h1', { tabindex: '-1', text: 'Page not found' }),
    h('p', {}, 'Nothing lives at this address. ', h('a', { href: '#/', text: 'Back to the shop' })));
  focusHeading(view);
}

let firstRender = true;
function focusHeading(view) {
  // Not on the first load: the browser's own start position is better there.
  if (firstRender) {
    firstRender = false;
    return;
  }
  view.querySelector('h1')?.focus({ preventScroll: false });
}

// ---- header ----

const nav = document.getElementById('nav');
const account = document.getElementById('account');
const menu = document.getElementById('menu-toggle');

menu.addEventListener('click', () => {
  const open = menu.getAttribute('aria-expanded') !== 'true';
  menu.setAttribute('aria-expanded', String(open));
  document.body.classList.toggle('menu-open', open);
});

function link(href, text, path, extra = null) {
  const target = href.slice(2);
  // A product's page is part of the shop.
  const isCurrent = target === path || (target && path.startsWith(`${target}/`)) || (!target && path.startsWith('products/'));
  return h('li', {}, h('a', { href, 'aria-current': isCurrent ? 'page' : null }, text, extra));
}

function badge(count, label) {
  return count > 0 ? h('span', { class: 'badge', 'aria-label': label, text: String(count) }) : null;
}

function renderNav(path = parse().path) {
  const items = [
    link('#/', 'Shop', path),
    link('#/checkout', 'Cart', path, badge(cart.count, `${cart.count} items in the cart`)),
    link('#/events', 'Events', path),
    link('#/hits', 'Hits', path),
  ];
  if (session.signedIn) {
    items.push(
      link('#/orders', 'My orders', path),
      link('#/notifications', 'Notifications', path, badge(live.unread, `${live.unread} unread`)),
      link('#/cars', 'Cars', path),
      link('#/profile', 'Profile', path),
    );
    if (session.isAdmin) items.push(link('#/admin', 'Admin', path));
  }
  replace(nav, items);
  if (session.signedIn) {
    replace(account,
      h('span', { class: `live-dot live-${live.state}`, title: `Notifications: ${live.state}`, 'aria-hidden': 'true' }),
      h('span', { class: 'who' }, 'Signed in as ', h('strong', { text: session.user.name })),
      h('button', { type: 'button', class: 'secondary', text: 'Sign out', on: { click: signOut } }));
  } else {
    replace(account,
      h('a', { href: '#/signin', class: 'button secondary', text: 'Sign in' }),
      h('a', { href: '#/register', class: 'button', text: 'Create account' }));
  }
}

async function signOut() {
  live.stop();
  await session.logout();
  toast('You are signed out.');
  navigate('/');
}

// ---- wiring ----

// Work a view started and no longer awaits (a search typed, a button pressed): a request
// cancelled by leaving the view is no error; any other failure is told, not swallowed.
window.addEventListener('unhandledrejection', (event) => {
  const reason = event.reason;
  if (reason?.name === 'AbortError') {
    event.preventDefault();
  } else if (reason instanceof ApiError) {
    event.preventDefault();
    toast(reason.message, 'error');
  }
});

window.addEventListener('hashchange', () => {
  // In-page anchors (the skip link) are not views.
  if (!location.hash || location.hash.startsWith('#/')) {
    menu.setAttribute('aria-expanded', 'false');
    document.body.classList.remove('menu-open');
    render();
  }
});
cart.addEventListener('change', () => renderNav());
live.addEventListener('change', () => renderNav());
live.addEventListener('notification', (event) => toast(notificationText(event.detail)));
session.addEventListener('change', (event) => {
  const { reason } = event.detail;
  if (session.signedIn) {
    live.start();
  } else {
    live.stop();
    if (reason === 'expired') {
      toast('Your session has ended. Please sign in again.', 'error');
      const { path } = parse();
      navigate(`/signin?next=${encodeURIComponent(`/${path}`)}`);
      return;
    }
  }
  renderNav();
});

await session.restore();
render();
