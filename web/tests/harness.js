// What every browser test starts: the real microshop binary (every service, every port 0, a
// fresh data folder) and Debian's Chromium driven by playwright-core.
//
// Nothing is mocked: the page talks to the real gateway, which talks to the real services. The
// stack and the browser are stopped in the test's `after` hook, and also when this process exits
// or is interrupted, so a failed run leaves no process behind.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const SCREENSHOTS = join(here, 'screenshots');

const SERVICES = ['gateway', 'auth', 'users', 'orders', 'products', 'payments', 'notifier', 'cars', 'agenda', 'hits'];

const targetDir = process.env.CARGO_TARGET_DIR || join(process.env.HOME || '/root', '.cache', 'microshop-target');
const BINARY = process.env.MICROSHOP_BINARY || join(targetDir, 'debug', 'microshop');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

/** Children to end if this process goes away before a test's `after` ran. */
const running = new Set();
function killAll() {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

/**
 * Starts `microshop up` and resolves once its banner names the gateway. `args` adds flags
 * (`--auth-access-token-ttl-secs 3`). Returns `{url, adminPassword, api, stop, logs}`.
 */
export async function startStack(args = []) {
  const dataDir = mkdtempSync(join(tmpdir(), 'microshop-web-'));
  const ports = SERVICES.flatMap((service) => [`--${service}-port`, '0']);
  // The stack's settings come from the flags alone, whatever this shell exports.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('MICROSHOP_')));
  env.MICROSHOP_LOG = 'warn';
  const child = spawn(BINARY, ['up', '--data-dir', dataDir, ...ports, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const logs = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    logs.push(chunk);
    if (logs.length > 400) logs.shift();
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no banner after 60 s; stderr:\n${logs.join('')}`)), 60000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((candidate) => candidate.includes('http://'));
      if (line) {
        clearTimeout(timer);
        resolve(line.split(/\s+/).find((word) => word.startsWith('http://')).replace(/\/$/, ''));
      }
    });
    child.once('error', (error) => { clearTimeout(timer); reject(error); });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`microshop exited (${code ?? signal}) before its banner:\n${logs.join('')}`));
    });
  });
  const adminPassword = readFileSync(join(dataDir, 'admin-password'), 'utf8').trim();

  async function api(method, path, { token, body, headers = {} } = {}) {
    const init = { method, headers: { ...headers } };
    if (token) init.headers.authorization = `Bearer ${token}`;
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`${url}${path}`, init);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    return { status: response.status, data, headers: response.headers };
  }

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const ended = await Promise.race([exited, delay(12000).then(() => null)]);
      if (!ended) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    running.delete(child);
    rmSync(dataDir, { recursive: true, force: true });
  }

  return { url, adminPassword, api, stop, logs: () => logs.join('') };
}

/**
 * What a test file's `before` starts: the stack (with `args`) and a browser, the bank's chaos
 * set to `chaos` if given. `stopSuite` ends both (either may be missing after a failed start).
 */
export async function startSuite({ args = [], chaos = null } = {}) {
  const stack = await startStack(args);
  const browser = await launchBrowser();
  if (chaos) await setChaos(stack, chaos);
  return { stack, browser };
}

export async function stopSuite({ stack, browser } = {}) {
  await browser?.close();
  await stack?.stop();
}

/** Signs in through the API: the access token. */
export async function tokenFor(stack, username, password) {
  const { status, data } = await stack.api('POST', '/auth/login', { body: { username, password } });
  if (status !== 200) throw new Error(`login of ${username} answered ${status}: ${JSON.stringify(data)}`);
  return data.access_token;
}

export async function adminToken(stack) {
  return tokenFor(stack, 'admin', stack.adminPassword);
}

/** Sets the bank's chaos as the admin. */
export async function setChaos(stack, settings) {
  const token = await adminToken(stack);
  const { status, data } = await stack.api('PUT', '/payments/chaos', {
    token,
    body: { decline_rate: 0, latency_ms: 0, outage: 'none', ...settings },
  });
  if (status !== 200) throw new Error(`chaos answered ${status}: ${JSON.stringify(data)}`);
  return data;
}

let serial = 0;
/** A username no other test run uses. */
export function uniqueName(prefix = 'shopper') {
  serial += 1;
  return `${prefix}_${Date.now().toString(36)}${serial}`;
}

/** Creates an account through the API. */
export async function registerViaApi(stack, fields) {
  const { status, data } = await stack.api('POST', '/auth/register', { body: fields });
  if (status !== 201) throw new Error(`register answered ${status}: ${JSON.stringify(data)}`);
  return data;
}

/** Debian's Chromium; playwright gives each launch a fresh, temporary user-data-dir. */
export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * A new browser context and page on the stack's origin. Every dialog (alert, confirm) is
 * recorded and dismissed, every console error and failed or third-party request recorded, so
 * a test can assert there were none.
 */
export async function openPage(browser, stack, { width = 1440, height = 900, ...options } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, ...options });
  const page = await context.newPage();
  const seen = { dialogs: [], errors: [], foreign: [], failed: [] };
  page.on('dialog', (dialog) => {
    seen.dialogs.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (error) => seen.errors.push(String(error.stack || error)));
  page.on('console', (message) => {
    if (message.type() === 'error') seen.errors.push(message.text());
  });
  page.on('request', (request) => {
    if (!request.url().startsWith(stack.url) && !request.url().startsWith('data:')) seen.foreign.push(request.url());
  });
  page.on('requestfailed', (request) => {
    // Aborted streams (navigation, sign-out) are expected; anything else is not.
    const failure = request.failure()?.errorText || '';
    if (!failure.includes('ERR_ABORTED')) seen.failed.push(`${request.url()} ${failure}`);
  });
  return { context, page, seen };
}

/** Retries `check` until it stops throwing, for at most `timeout` ms. */
export async function eventually(check, { timeout = 15000, interval = 200 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await delay(interval);
    }
  }
}

/** Resolves once the current view has finished loading its data. */
export async function rendered(page) {
  await page.waitForFunction(() => document.querySelector('#main > .view') && !document.querySelector('[aria-busy="true"]'));
}

/** Saves a screenshot under web/tests/screenshots (gitignored). */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const width = page.viewportSize().width;
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}.png`), fullPage: true, animations: 'disabled' });
}

// ---- UI steps shared by the tests ----

/** Signs in through the form (the page may be anywhere in the app). */
export async function signIn(page, stack, username, password) {
  await page.goto(`${stack.url}/#/signin`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Attached, not visible: at phone width the header's menu is folded.
  await page.getByText(`Signed in as ${username}`).waitFor({ state: 'attached' });
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor({ state: 'detached' });
}

/** A link of the main navigation, by its exact text (badges aside). */
export function navLink(page, name) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: new RegExp(`^${name}\\b`) });
}

/** The product card of `name` on the shop page. */
export function productCard(page, name) {
  return page.getByRole('article', { name, exact: true });
}

/** The stock a product card shows. */
export async function shownStock(page, name) {
  const text = await productCard(page, name).getByText(/in stock|Out of stock/).textContent();
  const match = /(\d+) in stock/.exec(text);
  return match ? Number(match[1]) : 0;
}

/** Adds `quantity` of a product from the shop page. */
export async function addToCart(page, name, quantity) {
  const card = productCard(page, name);
  await card.getByLabel('Quantity').fill(String(quantity));
  await card.getByRole('button', { name: 'Add to cart' }).click();
}
