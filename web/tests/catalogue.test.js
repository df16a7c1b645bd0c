// The catalogue's pictures, product pages and categories, the admin's tables naming people by
// username, and notifications in the shop's words and money format, against the real stack
// in Debian's Chromium.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  adminToken, eventually, navLink, openPage, productCard, registerViaApi, rendered, screenshot, signIn, startSuite,
  stopSuite, tokenFor, uniqueName,
} from './harness.js';

const euros = (cents) => new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' }).format(cents / 100);
const PASSWORD = 'correct horse battery';

/** Every `<img>` under `selector` once loaded: `[{src, width}]` (width 0: it did not decode). */
async function pictures(page, selector) {
  return eventually(async () => {
    const images = await page.locator(`${selector} img`).evaluateAll((nodes) => nodes.map((image) => ({
      src: new URL(image.currentSrc || image.src).pathname, complete: image.complete, width: image.naturalWidth,
    })));
    assert.ok(images.length > 0, `no picture under ${selector}`);
    assert.ok(images.every((image) => image.complete), JSON.stringify(images));
    return images.map(({ src, width }) => ({ src, width }));
  });
}

describe('the catalogue', () => {
  let stack;
  let browser;

  // The bank declines half of all payments by default; these tests want them paid.
  before(async () => ({ stack, browser } = await startSuite({ chaos: { decline_rate: 0 } })));
  after(() => stopSuite({ stack, browser }));

  test('every product of the grid shows its picture, and links to a page of its own', async () => {
    const admin = await adminToken(stack);
    const bare = await stack.api('POST', '/products', { token: admin, body: { name: 'Plain mug', price_cents: 900, stock: 3 } });
    assert.equal(bare.status, 201);
    const { context, page, seen } = await openPage(browser, stack);
    await page.goto(`${stack.url}/`);
    await productCard(page, 'Plain mug').waitFor();

    const shown = await pictures(page, '.product-grid');
    const { data: catalogue } = await stack.api('GET', '/products?limit=100');
    assert.equal(shown.length, catalogue.items.length, 'one picture per product');
    for (const image of shown) assert.ok(image.width > 0, `${image.src} did not render`);
    assert.deepEqual(shown.map((image) => image.src),
      catalogue.items.map((product) => product.image || '/ui/images/products/placeholder.svg'));
    assert.equal(new Set(shown.map((image) => image.src)).size, 7, 'six pictures of their own and the generic one');

    // The product's own page, from its name in the grid.
    const mouse = catalogue.items.find((product) => product.name === 'Wireless mouse');
    await productCard(page, 'Wireless mouse').getByRole('link', { name: 'Wireless mouse' }).click();
    await page.getByRole('heading', { level: 1, name: 'Wireless mouse' }).waitFor();
    assert.equal(new URL(page.url()).hash, `#/products/${mouse.id}`);
    assert.equal(await page.title(), 'Wireless mouse · microshop');
    const product = page.getByRole('article', { name: 'Wireless mouse' });
    await product.getByText(euros(mouse.price_cents), { exact: true }).waitFor();
    await product.getByText(mouse.description).waitFor();
    await product.getByText(`${mouse.stock} in stock`).waitFor();
    const [picture] = await pictures(page, '.product-page');
    assert.deepEqual(picture.src, '/ui/images/products/mouse.svg');
    assert.ok(picture.width > 0);
    assert.equal(await product.getByRole('img', { name: 'Wireless mouse' }).count(), 1, 'the picture is described');
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Peripherals' }).waitFor();
    await navLink(page, 'Shop').and(page.locator('[aria-current="page"]')).waitFor({ state: 'attached' });

    // Added from its page, it is in the cart with its picture.
    await product.getByLabel('Quantity').fill('2');
    await product.getByRole('button', { name: 'Add to cart' }).click();
    await page.locator('#toasts').getByText('Added 2 × “Wireless mouse” to your cart.').waitFor();
    await navLink(page, 'Cart').getByLabel('2 items in the cart').waitFor();
    await screenshot(page, 'product');
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Shop' }).click();
    const cart = page.getByRole('complementary', { name: 'Your cart' });
    await cart.getByRole('link', { name: 'Wireless mouse' }).waitFor();
    const [thumb] = await pictures(page, '.cart-panel');
    assert.equal(thumb.src, '/ui/images/products/mouse.svg');
    assert.ok(thumb.width > 0);

    assert.deepEqual(seen.errors, []);
    assert.deepEqual(seen.failed, []);
    assert.deepEqual(seen.foreign, []);
    await context.close();
  });

  test('an id no product has gets a page saying the product is not found', async () => {
    const { context, page, seen } = await openPage(browser, stack);
    for (const id of ['999999', 'abc', '0', '%E0']) {
      await page.goto(`${stack.url}/#/products/${id}`);
      await page.getByRole('heading', { level: 1, name: 'Product not found' }).waitFor();
      await page.getByText(/No product of this shop has the id/).waitFor();
      assert.equal(await page.title(), 'Product not found · microshop');
    }
    await page.getByRole('link', { name: 'Back to the shop' }).click();
    await page.getByRole('heading', { level: 1, name: 'Shop' }).waitFor();
    // The 404 of the API is the answer, not an error of the page.
    assert.deepEqual(seen.errors.filter((error) => !/status of 404/.test(error)), []);
    await context.close();
  });

  test('a category shows only its products, stays in the address, and combines with a search', async () => {
    const { context, page, seen } = await openPage(browser, stack);
    await page.goto(`${stack.url}/`);
    const categories = page.getByRole('navigation', { name: 'Categories' });
    await categories.getByRole('link', { name: 'Peripherals (2)' }).click();
    await eventually(async () => {
      const names = await page.locator('.product-grid h2').allTextContents();
      assert.deepEqual(names, ['Mechanical keyboard', 'Wireless mouse']);
    });
    assert.match(page.url(), /#\/\?category=peripherals$/);
    assert.equal(await categories.locator('[aria-current="page"]').textContent(), 'Peripherals (2)');
    await screenshot(page, 'category');

    // Reloaded, the address still filters; a search narrows within the category.
    await page.reload();
    await productCard(page, 'Wireless mouse').waitFor();
    await page.getByLabel('Search products').fill('key');
    await eventually(async () => {
      assert.deepEqual(await page.locator('.product-grid h2').allTextContents(), ['Mechanical keyboard']);
    });
    await page.getByLabel('Search products').fill('headphones');
    await page.getByText('No product matches “headphones” in Peripherals.').waitFor();

    // A card's category leads to that category; "All products" to everything.
    await page.goto(`${stack.url}/#/`);
    await productCard(page, 'Noise-cancelling headphones').getByRole('link', { name: 'Audio' }).click();
    await eventually(async () => {
      assert.deepEqual(await page.locator('.product-grid h2').allTextContents(), ['Noise-cancelling headphones']);
    });
    await categories.getByRole('link', { name: 'All products' }).click();
    await productCard(page, 'Laptop stand').waitFor();

    // An address naming no possible category says so.
    await page.goto(`${stack.url}/#/?category=${encodeURIComponent('no such thing')}`);
    await page.getByText('“no such thing” is not a category of this shop.').waitFor();
    assert.deepEqual(seen.errors.filter((error) => !/status of 422/.test(error)), []);
    await context.close();
  });

  test('the admin sees every order’s customer by username, and a deleted customer by a short id', async () => {
    const camille = uniqueName('camille');
    const gone = uniqueName('gone');
    await registerViaApi(stack, { username: camille, password: PASSWORD, address: '8 rue des Lilas, Lyon' });
    await registerViaApi(stack, { username: gone, password: PASSWORD, address: '1 Old Road, Leeds' });
    const camilleToken = await tokenFor(stack, camille, PASSWORD);
    const goneToken = await tokenFor(stack, gone, PASSWORD);
    const order = async (token) => {
      const { status, data } = await stack.api('POST', '/orders', { token, body: { items: [{ product_id: 4, quantity: 1 }] } });
      assert.equal(status, 201, JSON.stringify(data));
      return data;
    };
    const camilleOrder = await order(camilleToken);
    const goneOrder = await order(goneToken);
    assert.equal((await stack.api('DELETE', '/users/me', { token: goneToken })).status, 204);

    const { context, page, seen } = await openPage(browser, stack);
    const lookups = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/users')) lookups.push(`${url.pathname}${url.search}`);
    });
    await signIn(page, stack, 'admin', stack.adminPassword);
    await page.goto(`${stack.url}/#/admin`);
    const orders = page.getByRole('region', { name: 'All orders' });
    const rowOf = (id) => orders.getByRole('row').filter({ has: page.getByRole('link', { name: id.slice(-8), exact: true }) });
    await rowOf(camilleOrder.id).locator('td.customer', { hasText: camille }).waitFor();
    const goneCell = rowOf(goneOrder.id).locator('td.customer');
    assert.equal(await goneCell.textContent(), goneOrder.user_id.slice(-8));
    assert.match(await goneCell.getAttribute('title'), /deleted/);
    const customers = page.getByRole('region', { name: 'Customers' });
    await customers.getByRole('rowheader', { name: camille, exact: true }).waitFor();
    assert.equal(await customers.getByRole('rowheader', { name: gone }).count(), 0);
    await rendered(page);
    assert.equal(await orders.getByText(camilleOrder.user_id.slice(-8)).count(), 0, 'no id where a username is known');
    // One page of the profile list, shared by both tables; no look-up per row.
    assert.deepEqual(lookups, ['/users?limit=100&offset=0']);
    assert.deepEqual(seen.errors, []);
    await context.close();
  });

  test('notifications read as sentences with the price in the shop’s format', async () => {
    const username = uniqueName('noemie');
    await registerViaApi(stack, { username, password: PASSWORD, address: '5 quai de la Fosse, Nantes' });
    const { context, page, seen } = await openPage(browser, stack);
    await signIn(page, stack, username, PASSWORD);
    await page.goto(`${stack.url}/#/notifications`);
    await page.getByText('Live: new notifications appear here as they happen.').waitFor();

    const token = await tokenFor(stack, username, PASSWORD);
    const { status, data: order } = await stack.api('POST', '/orders', { token, body: { items: [{ product_id: 3, quantity: 2 }] } });
    assert.equal(status, 201);
    const total = euros(order.total_cents);
    const ref = order.id.slice(-8);
    await page.locator('#toasts').getByText(`Order ${ref} paid: ${total}`, { exact: true }).waitFor();
    const list = page.locator('ol.notifications');
    await list.getByText(`Order ${ref} placed: ${total}`, { exact: true }).waitFor();
    await list.getByText(`Order ${ref} paid: ${total}`, { exact: true }).waitFor();

    // Cancelled by the shopper, then read again from the inbox after a reload.
    assert.equal((await stack.api('DELETE', `/orders/${order.id}`, { token })).status, 204);
    await list.getByText(`Order ${ref} cancelled`, { exact: true }).waitFor();
    await page.reload();
    await list.getByText(`Order ${ref} placed: ${total}`, { exact: true }).waitFor();
    const texts = await list.locator('.message').allTextContents();
    assert.deepEqual(texts, [`Order ${ref} cancelled`, `Order ${ref} paid: ${total}`, `Order ${ref} placed: ${total}`]);
    for (const text of texts) {
      assert.doesNotMatch(text, /EUR|order\.|\{|[0-9a-f]{8}-[0-9a-f]{4}/, 'no raw event type, JSON, full id or currency code');
    }
    await screenshot(page, 'notifications-sentences');
    assert.deepEqual(seen.errors, []);
    await context.close();
  });
});
