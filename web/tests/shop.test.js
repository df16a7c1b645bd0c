// A shopper's whole visit, the catalogue's defences against markup in data, and the first
// page's weight, against the real stack in Debian's Chromium.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  addToCart, adminToken, eventually, navLink, openPage, productCard, registerViaApi, rendered, screenshot, shownStock,
  signIn, startSuite, stopSuite, tokenFor, uniqueName,
} from './harness.js';

const XSS = '<img src=x onerror=alert(1)>';

describe('the shop', () => {
  let stack;
  let browser;

  // The bank declines half of all payments by default; these tests want them paid.
  before(async () => ({ stack, browser } = await startSuite({ chaos: { decline_rate: 0 } })));
  after(() => stopSuite({ stack, browser }));

  test('a new shopper registers, signs in, buys two products, sees it paid and notified, then cancels and the stock is back', async () => {
    const { context, page, seen } = await openPage(browser, stack);
    const username = uniqueName();
    const password = 'correct horse battery';

    // Register (which signs in), sign out, and sign in again with the form.
    await page.goto(`${stack.url}/`);
    await page.getByRole('heading', { name: 'Shop' }).waitFor();
    await page.getByRole('link', { name: 'Create account' }).click();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByLabel('Delivery address (optional)').fill('1 rue de la Paix, Paris');
    await screenshot(page, 'register');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText(`Signed in as ${username}`).waitFor();
    const refreshToken = await page.evaluate(() => sessionStorage.getItem('microshop.refresh'));
    assert.ok(refreshToken, 'the refresh token is kept for this tab');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('microshop.refresh')), null);
    const revoked = await stack.api('POST', '/auth/refresh', { body: { refresh_token: refreshToken } });
    assert.equal(revoked.status, 401, 'signing out revoked the session');
    await signIn(page, stack, username, password);

    // Two products, at the server's prices.
    await navLink(page, 'Shop').click();
    const { data: catalogue } = await stack.api('GET', '/products?limit=100');
    const [first, second] = catalogue.items.filter((product) => product.stock >= 5);
    const stockBefore = { first: await shownStock(page, first.name), second: await shownStock(page, second.name) };
    assert.deepEqual(stockBefore, { first: first.stock, second: second.stock });
    await addToCart(page, first.name, 2);
    await addToCart(page, second.name, 1);
    const cart = page.getByRole('complementary', { name: 'Your cart' });
    const expectedTotal = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' })
      .format((2 * first.price_cents + second.price_cents) / 100);
    await cart.getByText(expectedTotal).waitFor();
    await screenshot(page, 'shop');

    // Checkout; a double click must not order twice.
    await cart.getByRole('link', { name: 'Checkout' }).click();
    await page.getByRole('heading', { name: 'Checkout' }).waitFor();
    assert.equal(await page.getByLabel('Shipping address').inputValue(), '1 rue de la Paix, Paris');
    await screenshot(page, 'checkout');
    await page.getByRole('button', { name: /Place order/ }).dblclick();
    await page.getByRole('heading', { name: 'Thank you: your order is paid' }).waitFor();
    const outcome = page.locator('[data-outcome="paid"]');
    assert.equal(await outcome.locator('.chip').textContent(), 'paid');

    // The notification arrives live (a toast from the stream, and the badge), no reload, in the
    // shop's words and price format.
    const paidText = new RegExp(`^Order \\w{8} paid: ${expectedTotal.replace('.', '\\.')}$`);
    await page.locator('#toasts').getByText(paidText).waitFor();
    await navLink(page, 'Notifications').getByLabel(/unread/).waitFor();
    await screenshot(page, 'checkout-paid');
    await navLink(page, 'Notifications').click();
    await page.locator('.notification .message', { hasText: paidText }).waitFor();

    // One order, paid, in My orders.
    await navLink(page, 'My orders').click();
    const rows = page.getByRole('table').getByRole('row');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2, 'a header row and one order');
    assert.match(await rows.nth(1).textContent(), /paid/);
    const token = await tokenFor(stack, username, password);
    const { data: orders } = await stack.api('GET', '/orders', { token });
    assert.equal(orders.total, 1, 'the double click ordered once');

    // Cancel it; the stock comes back.
    await rows.nth(1).getByRole('link').click();
    await page.getByRole('button', { name: 'Cancel order' }).click();
    await page.getByRole('button', { name: 'Yes, cancel the order' }).click();
    await page.getByText('Order cancelled: its items are back in stock and your payment is refunded.').waitFor();
    await page.locator('.facts .chip', { hasText: 'cancelled' }).waitFor();
    await navLink(page, 'Shop').click();
    await eventually(async () => {
      await page.reload();
      await productCard(page, first.name).waitFor();
      assert.equal(await shownStock(page, first.name), stockBefore.first);
      assert.equal(await shownStock(page, second.name), stockBefore.second);
    });

    assert.deepEqual(seen.dialogs, []);
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(seen.foreign, []);
    assert.deepEqual(seen.failed, []);
    await context.close();
  });

  test('names, addresses and titles holding markup render as text and run nothing', async () => {
    const admin = await adminToken(stack);
    const created = await stack.api('POST', '/products', {
      token: admin,
      body: { name: XSS, description: '<script>alert(2)</script>', price_cents: 100, stock: 5 },
    });
    assert.equal(created.status, 201);
    const username = uniqueName('mallory');
    await registerViaApi(stack, { username, password: 'correct horse battery', address: `<b onmouseover=alert(3)>${XSS}</b>` });
    const token = await tokenFor(stack, username, 'correct horse battery');
    const start = new Date(Date.now() + 86400000);
    const event = await stack.api('POST', '/events', {
      token,
      body: { title: XSS, starts_at: start.toISOString(), ends_at: new Date(start.getTime() + 3600000).toISOString(), location: XSS },
    });
    assert.equal(event.status, 201);

    const { context, page, seen } = await openPage(browser, stack);
    await page.goto(`${stack.url}/`);
    await page.getByLabel('Search products').fill('onerror');
    const card = productCard(page, XSS);
    await card.waitFor();
    assert.equal(await card.getByRole('heading').textContent(), XSS);
    assert.equal(await card.locator('script').count(), 0, 'no element came from the data');
    assert.deepEqual(await card.locator('img').evaluateAll((images) => images.map((image) => new URL(image.src).pathname)),
      ['/ui/images/products/placeholder.svg'], 'the one picture is the shop’s own');
    await card.getByText('<script>alert(2)</script>').waitFor();

    await signIn(page, stack, username, 'correct horse battery');
    await page.goto(`${stack.url}/#/`);
    await page.getByLabel('Search products').fill('onerror');
    await addToCart(page, XSS, 1);
    await page.getByRole('complementary', { name: 'Your cart' }).getByText(XSS, { exact: true }).waitFor();
    await navLink(page, 'Profile').click();
    await page.locator('dd.address', { hasText: XSS }).waitFor();
    await navLink(page, 'Events').click();
    await page.getByRole('article', { name: XSS }).waitFor();

    assert.equal(await page.locator('main b, main script').count(), 0);
    const pictures = await page.locator('main img').evaluateAll((images) => images.map((image) => new URL(image.src).pathname));
    assert.ok(pictures.every((path) => path.startsWith('/ui/images/')), pictures.join(', '));
    assert.deepEqual(seen.dialogs, [], 'no script ran');
    assert.deepEqual(seen.errors, []);
    await context.close();
  });

  test('the first page weighs under 100 KB, asks no third party, and is served under a strict policy', async () => {
    const { context, page, seen } = await openPage(browser, stack);
    const response = await page.goto(`${stack.url}/`);
    const policy = response.headers()['content-security-policy'];
    assert.match(policy, /script-src 'self'/);
    assert.doesNotMatch(policy, /unsafe-inline/);
    await productCard(page, 'Mechanical keyboard').waitFor();
    await page.waitForLoadState('networkidle');
    const bytes = await page.evaluate(() => {
      const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
      return entries.reduce((sum, entry) => sum + entry.transferSize, 0);
    });
    console.log(`first page: ${bytes} bytes transferred`);
    assert.ok(bytes > 10000, `the measure saw the page (${bytes} bytes)`);
    assert.ok(bytes < 100 * 1024, `${bytes} bytes`);
    assert.deepEqual(seen.foreign, []);
    assert.deepEqual(seen.errors, []);
    await context.close();
  });

  test('every page renders at 375 and 1440 px without sideways scrolling, usable by keyboard', async () => {
    const username = uniqueName('tourist');
    const password = 'correct horse battery';
    await registerViaApi(stack, { username, password, first_name: 'Ada', last_name: 'Lovelace', address: '12 Analytical Row, London' });
    const token = await tokenFor(stack, username, password);
    const start = new Date(Date.now() + 2 * 86400000);
    await stack.api('POST', '/events', {
      token,
      body: { title: 'Rust meetup', starts_at: start.toISOString(), ends_at: new Date(start.getTime() + 7200000).toISOString(), location: 'Paris', description: 'Talks and pizza.' },
    });
    await stack.api('POST', '/cars', { token, body: { brand: 'Peugeot', model: '208', year: 2020, color: 'blue' } });
    const { data: order } = await stack.api('POST', '/orders', { token, body: { items: [{ product_id: 2, quantity: 1 }] } });

    const pages = [
      ['shop', '/#/', 'Shop'],
      ['product', '/#/products/1', 'Mechanical keyboard'],
      ['checkout-cart', '/#/checkout', 'Checkout'],
      ['orders', '/#/orders', 'My orders'],
      ['order', `/#/orders/${order.id}`, /^Order /],
      ['notifications', '/#/notifications', 'Notifications'],
      ['profile', '/#/profile', 'Profile'],
      ['cars', '/#/cars', 'Cars'],
      ['events', '/#/events', 'Events'],
      ['hits', '/#/hits', 'Hits'],
    ];
    for (const width of [375, 1440]) {
      const { context, page, seen } = await openPage(browser, stack, { width, height: 900 });
      await page.goto(`${stack.url}/#/signin`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await screenshot(page, 'signin');
      await signIn(page, stack, username, password);
      await page.goto(`${stack.url}/#/`);
      await addToCart(page, 'Wireless mouse', 1);
      for (const [name, path, title] of pages) {
        await page.goto(`${stack.url}${path}`);
        await page.getByRole('heading', { level: 1, name: title }).waitFor();
        await rendered(page);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `${name} at ${width} px scrolls sideways by ${overflow} px`);
        await screenshot(page, name);
      }
      // The header works from the keyboard: at 375 px the menu opens with Enter.
      if (width === 375) {
        await page.getByRole('button', { name: 'Menu' }).focus();
        await page.keyboard.press('Enter');
        await navLink(page, 'My orders').waitFor();
        await screenshot(page, 'menu');
      }
      // Every form control has a label.
      await page.goto(`${stack.url}/#/events`);
      await page.getByRole('heading', { name: 'New event' }).waitFor();
      const unlabelled = await page.evaluate(() => [...document.querySelectorAll('main input, main select, main textarea')]
        .filter((control) => !control.labels?.length && !control.getAttribute('aria-label')).map((control) => control.name || control.id));
      assert.deepEqual(unlabelled, []);
      assert.deepEqual(seen.errors, []);
      assert.deepEqual(seen.dialogs, []);
      await context.close();
    }

    // The admin's page, with its chaos settings and health table.
    for (const width of [375, 1440]) {
      const { context, page, seen } = await openPage(browser, stack, { width, height: 900 });
      await signIn(page, stack, 'admin', stack.adminPassword);
      await page.goto(`${stack.url}/#/admin`);
      await page.getByRole('heading', { name: 'Payments: chaos' }).waitFor();
      await page.getByText(/^Now: /).waitFor();
      await page.getByRole('row', { name: /orders/ }).first().waitFor();
      await rendered(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `admin at ${width} px scrolls sideways by ${overflow} px`);
      await screenshot(page, 'admin');
      assert.deepEqual(seen.errors, []);
      await context.close();
    }
  });
});
