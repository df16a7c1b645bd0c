// What a shopper reads when the bank refuses or is down, and the retry once it is back.
//
// The orders service's circuit breaker in front of the bank is started with a 2 s open time,
// so recovery is seen within the test; the outcome words are the same with the default 30 s.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  addToCart, eventually, launchBrowser, navLink, openPage, registerViaApi, screenshot, setChaos, signIn, startStack,
  tokenFor, uniqueName,
} from './harness.js';

describe('payment outcomes', () => {
  let stack;
  let browser;

  before(async () => {
    stack = await startStack(['--orders-breaker-open-secs', '2']);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('a refused payment says so, and an unavailable bank lets the shopper retry the same order once it is back', async () => {
    const username = uniqueName('buyer');
    const password = 'correct horse battery';
    await registerViaApi(stack, { username, password, address: '3 Queen Street, Edinburgh' });
    const { context, page, seen } = await openPage(browser, stack);
    await signIn(page, stack, username, password);
    await page.goto(`${stack.url}/#/`);
    await addToCart(page, 'USB-C hub', 1);

    // Every payment declined: the refusal, the cart kept, nothing charged.
    await setChaos(stack, { decline_rate: 1 });
    await page.goto(`${stack.url}/#/checkout`);
    await page.getByRole('button', { name: /Place order/ }).click();
    await page.getByRole('heading', { name: 'Payment refused' }).waitFor();
    await page.getByText(/Your bank refused the payment, so nothing was charged/).waitFor();
    await navLink(page, 'Cart').getByLabel('1 items in the cart').waitFor();
    await screenshot(page, 'checkout-refused');

    // The bank down: the order is kept awaiting payment and the shopper is told to come back.
    await setChaos(stack, { outage: 'error' });
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('heading', { name: 'Payment service unavailable' }).waitFor();
    await page.getByText(/The payment service is unavailable right now, so order \w+ is saved and waiting for payment/).waitFor();
    await screenshot(page, 'checkout-unavailable');
    const token = await tokenFor(stack, username, password);
    const { data: waiting } = await stack.api('GET', '/orders', { token });
    const statuses = waiting.items.map((order) => order.status).sort();
    assert.deepEqual(statuses, ['awaiting_payment', 'payment_failed']);

    // The bank back: retrying pays the same order (the breaker may need its 2 s to let a probe
    // through, during which the page keeps saying "unavailable").
    await setChaos(stack, { outage: 'none' });
    await eventually(async () => {
      const retry = page.getByRole('button', { name: 'Retry payment' });
      if (await retry.isVisible()) await retry.click();
      await page.getByRole('heading', { name: 'Thank you: your order is paid' }).waitFor({ timeout: 3000 });
    }, { timeout: 20000, interval: 500 });
    const { data: settled } = await stack.api('GET', '/orders', { token });
    assert.deepEqual(settled.items.map((order) => order.status).sort(), ['paid', 'payment_failed']);
    const paid = settled.items.find((order) => order.status === 'paid');
    assert.equal(paid.id, waiting.items.find((order) => order.status === 'awaiting_payment').id, 'the same order was paid');

    assert.deepEqual(seen.dialogs, []);
    assert.deepEqual(seen.errors.filter((error) => !/status of (402|503)/.test(error)), []);
    await context.close();
  });
});
