// Takes the README's screenshots (docs/screenshots/*.png) of a real stack holding demo data:
// the seeded catalogue, three customers with ordinary names and addresses, a few orders in
// different states. Nothing here is a test payload, so the pictures show the shop as a
// visitor would find it.
//
//     bash web/tests/run.sh screenshots      # builds, then runs this script
//
// or, with a binary already built, `node web/tests/screenshots.js` (it finds the binary as the
// browser tests do: MICROSHOP_BINARY, else $CARGO_TARGET_DIR/debug/microshop). The stack is the
// harness's: every port 0, a fresh data folder, stopped at the end. With Debian's pngquant
// installed (`apt-get install pngquant`) the files are quantized to a palette, a quarter of
// their size; without it they are kept as the browser wrote them.

import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  adminToken, launchBrowser, openPage, registerViaApi, rendered, setChaos, signIn, startStack, tokenFor,
} from './harness.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots');
const PASSWORD = 'a long demo password';

const CUSTOMERS = [
  { username: 'camille.martin', first_name: 'Camille', last_name: 'Martin', email: 'camille.martin@example.org', address: '8 rue des Lilas\n69003 Lyon' },
  { username: 'lucas.bernard', first_name: 'Lucas', last_name: 'Bernard', email: 'lucas.bernard@example.org', address: '14 quai de la Fosse\n44000 Nantes' },
  { username: 'emma.dubois', first_name: 'Emma', last_name: 'Dubois', email: 'emma.dubois@example.org', address: '3 place Bellecour\n69002 Lyon' },
];

/** Places an order through the API, expecting it paid (the bank declines nothing here). */
async function order(stack, token, items) {
  const { status, data } = await stack.api('POST', '/orders', { token, body: { items } });
  if (status !== 201) throw new Error(`order answered ${status}: ${JSON.stringify(data)}`);
  return data;
}

/** Waits until the view has its data and every picture is decoded, then saves `name`.png. */
async function shoot(page, name, { fullPage = false } = {}) {
  await rendered(page);
  await page.waitForFunction(() => [...document.images].every((image) => image.complete && image.naturalWidth > 0));
  await page.locator('#toasts > *').first().waitFor({ state: 'detached', timeout: 8000 }).catch(() => {});
  // No focus ring on the heading a navigation focused.
  await page.evaluate(() => document.activeElement?.blur());
  const path = join(OUT, `${name}.png`);
  await page.screenshot({ path, fullPage, animations: 'disabled' });
  console.log(`wrote ${path}`);
  shrink(path);
}

let pngquant = true;
/** Quantizes a PNG in place when pngquant is installed (it keeps the file if it cannot do better). */
function shrink(path) {
  if (!pngquant) return;
  try {
    execFileSync('pngquant', ['--force', '--skip-if-larger', '--speed', '1', '--quality', '70-95', '--ext', '.png', path]);
  } catch (error) {
    if (error.code === 'ENOENT') {
      pngquant = false;
      console.log('pngquant is not installed: the screenshots are kept unquantized');
    } else if (error.status !== 98 && error.status !== 99) {
      // 98: no smaller result, 99: below the quality floor; the file is kept either way.
      throw error;
    }
  }
}

/** A page signed in as `username`, with `cart` ({product_id: quantity}) in its cart. */
async function visit(browser, stack, username, password, { width = 1440, height = 900, cart = {} } = {}) {
  const { context, page } = await openPage(browser, stack, { width, height });
  await signIn(page, stack, username, password);
  const lines = Object.entries(cart).map(([id, quantity]) => ({ product_id: Number(id), quantity }));
  await page.evaluate((value) => localStorage.setItem('microshop.cart', JSON.stringify(value)), lines);
  // The cart is read when the page loads.
  await page.reload();
  await page.getByText(`Signed in as ${username}`).waitFor({ state: 'attached' });
  return { context, page };
}

mkdirSync(OUT, { recursive: true });
const stack = await startStack(['--payments-decline-rate', '0']);
const browser = await launchBrowser();
try {
  const tokens = {};
  for (const customer of CUSTOMERS) {
    await registerViaApi(stack, { ...customer, password: PASSWORD });
    tokens[customer.username] = await tokenFor(stack, customer.username, PASSWORD);
  }
  const admin = await adminToken(stack);
  const lucas = await order(stack, tokens['lucas.bernard'], [{ product_id: 5, quantity: 1 }, { product_id: 2, quantity: 1 }]);
  const emma = await order(stack, tokens['emma.dubois'], [{ product_id: 3, quantity: 1 }]);
  await stack.api('PATCH', `/orders/${emma.id}`, { token: admin, body: { status: 'shipped' } });
  const second = await order(stack, tokens['emma.dubois'], [{ product_id: 6, quantity: 2 }]);
  await stack.api('DELETE', `/orders/${second.id}`, { token: tokens['emma.dubois'] });
  const camille = await order(stack, tokens['camille.martin'], [{ product_id: 1, quantity: 1 }, { product_id: 4, quantity: 1 }]);
  for (const status of ['shipped', 'delivered']) {
    await stack.api('PATCH', `/orders/${lucas.id}`, { token: admin, body: { status } });
  }

  // The shop, with a cart, and a product's own page.
  {
    const { context, page } = await visit(browser, stack, 'camille.martin', PASSWORD, { cart: { 5: 1, 2: 1 } });
    await page.goto(`${stack.url}/#/`);
    await page.locator('.product-grid article').nth(5).waitFor();
    await page.getByRole('complementary', { name: 'Your cart' }).getByText('Total', { exact: true }).waitFor();
    await shoot(page, 'shop', { fullPage: true });
    await page.goto(`${stack.url}/#/products/5`);
    await page.getByRole('heading', { level: 1, name: 'Noise-cancelling headphones' }).waitFor();
    await shoot(page, 'product');
    await context.close();
  }

  // The bank down at checkout: the order is kept, waiting for payment.
  {
    const { context, page } = await visit(browser, stack, 'camille.martin', PASSWORD, { cart: { 3: 1 } });
    await setChaos(stack, { outage: 'error' });
    await page.goto(`${stack.url}/#/checkout`);
    await page.getByRole('button', { name: /Place order/ }).click();
    await page.getByRole('heading', { name: 'Payment service unavailable' }).waitFor();
    await shoot(page, 'checkout-unavailable');
    await setChaos(stack, {});
    await context.close();
  }

  // What the notifier told Camille, in the shop's words.
  {
    const changed = await order(stack, tokens['camille.martin'], [{ product_id: 6, quantity: 1 }]);
    await stack.api('DELETE', `/orders/${changed.id}`, { token: tokens['camille.martin'] });
    const { context, page } = await visit(browser, stack, 'camille.martin', PASSWORD);
    await page.goto(`${stack.url}/#/notifications`);
    await page.locator('ol.notifications .message').nth(4).waitFor();
    await shoot(page, 'notifications');
    await context.close();
  }

  // The admin's page: chaos, health, the catalogue, every order by customer, the customers.
  {
    const { context, page } = await visit(browser, stack, 'admin', stack.adminPassword);
    await page.goto(`${stack.url}/#/admin`);
    await page.getByRole('region', { name: 'All orders' }).getByText('camille.martin').first().waitFor();
    await page.getByRole('region', { name: 'Customers' }).getByText('emma.dubois', { exact: true }).waitFor();
    await shoot(page, 'admin', { fullPage: true });
    await context.close();
  }

  // An order on a phone.
  {
    const { context, page } = await visit(browser, stack, 'camille.martin', PASSWORD, { width: 375, height: 812 });
    await page.goto(`${stack.url}/#/orders/${camille.id}`);
    await page.locator('.facts .chip').waitFor();
    await shoot(page, 'order-phone');
    await context.close();
  }
} finally {
  await browser.close();
  await stack.stop();
}
