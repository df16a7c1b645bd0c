// Access tokens that expire mid-visit are renewed without the shopper noticing: ahead of time
// by a timer, and on a 401 when the timer could not run (a sleeping laptop, a frozen tab).
//
// The stack issues 3-second access tokens so expiry happens within the test.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, launchBrowser, navLink, openPage, registerViaApi, signIn, startStack, uniqueName } from './harness.js';

const TTL_SECS = 3;

describe('sessions', () => {
  let stack;
  let browser;

  before(async () => {
    stack = await startStack(['--auth-access-token-ttl-secs', String(TTL_SECS)]);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** Records every API answer the page got: `[{path, status}]`. */
  function recordAnswers(page) {
    const answers = [];
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (!url.pathname.startsWith('/ui/') && url.pathname !== '/') answers.push({ path: url.pathname, status: response.status() });
    });
    return answers;
  }

  test('the access token is renewed before it expires and the visit goes on', async () => {
    const username = uniqueName('stayer');
    const password = 'correct horse battery';
    await registerViaApi(stack, { username, password });
    const { context, page, seen } = await openPage(browser, stack);
    const answers = recordAnswers(page);
    await signIn(page, stack, username, password);

    // Several lifetimes pass while the shopper reads.
    await eventually(() => {
      const renewals = answers.filter((answer) => answer.path === '/auth/refresh' && answer.status === 200);
      assert.ok(renewals.length >= 3, `${renewals.length} renewals`);
    }, { timeout: TTL_SECS * 5000 });

    await navLink(page, 'Profile').click();
    await page.getByLabel('First name').fill('Grace');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('Profile saved.').waitFor();
    await page.getByText(`Signed in as ${username}`).waitFor();
    assert.deepEqual(answers.filter((answer) => answer.status === 401), [], 'no request was refused');
    assert.deepEqual(seen.errors, []);
    await context.close();
  });

  test('a request made with an expired token is refreshed and sent again, unseen', async () => {
    const username = uniqueName('sleeper');
    const password = 'correct horse battery';
    await registerViaApi(stack, { username, password });
    const { context, page, seen } = await openPage(browser, stack);
    // The page's clock is under the test's control: paused, its renewal timer never fires,
    // as in a tab the browser froze.
    await context.clock.install();
    // The live stream would renew the token itself when the server ends it at the token's
    // expiry; in a frozen tab it does not run either. Refused, it waits on the paused clock.
    await page.route('**/notifications/stream*', (route) => route.abort());
    const answers = recordAnswers(page);
    let pageToken = null;
    page.on('request', (request) => {
      const authorization = request.headers().authorization;
      if (authorization) pageToken = authorization;
    });
    await signIn(page, stack, username, password);
    await page.clock.pauseAt(Date.now() + 100);
    await eventually(() => assert.ok(pageToken, 'the page sent its token'));
    const before = answers.length;

    // Real time passes until the gateway refuses the page's token (its expiry plus the
    // verifier's few seconds of leeway for clock skew).
    await eventually(async () => {
      const { status } = await stack.api('GET', '/auth/me', { headers: { authorization: pageToken } });
      assert.equal(status, 401);
    }, { timeout: (TTL_SECS + 10) * 1000, interval: 250 });
    await navLink(page, 'My orders').click();
    await page.getByRole('heading', { name: 'My orders' }).waitFor();
    await page.getByText('You have no orders yet.').waitFor();
    await page.getByText(`Signed in as ${username}`).waitFor();

    const after = answers.slice(before).map((answer) => `${answer.status} ${answer.path}`);
    const refused = after.indexOf('401 /orders');
    assert.ok(refused >= 0, `the stale token was refused: ${after}`);
    assert.ok(after.indexOf('200 /auth/refresh', refused) > refused, `then renewed: ${after}`);
    assert.ok(after.indexOf('200 /orders', refused) > refused, `then the request went through: ${after}`);
    assert.equal(await page.getByRole('heading', { name: 'Sign in' }).count(), 0);
    assert.deepEqual(seen.errors.filter((error) => !/status of 401|ERR_FAILED/.test(error)), []);
    await page.clock.resume();
    await context.close();
  });
});
