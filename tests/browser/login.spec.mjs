// Real-browser test: drives Debian's headless Chromium (through playwright-core) through the
// real login form of a running authfcgi site.
//
//   BASE_URL=http://127.0.0.1:8080 TEST_EMAIL=... TEST_PASSWORD=... TEST_USERNAME=... \
//     node login.spec.mjs
//
// Optional: BROWSER_SCREENSHOTS (directory for one PNG per step, default ./screenshots),
// CHROMIUM (browser executable, default /usr/bin/chromium), STEP_TIMEOUT_MS (default 15000),
// TOTAL_TIMEOUT_MS (default 180000: the whole run, browser start included).
//
// Every step depends on the one before, so the first failure stops the run; the steps not run
// are listed and counted as failed. Output ends with "N passed, M failed"; the exit status is
// 0 only when every step passed.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE_URL = (process.env.BASE_URL || '').replace(/\/+$/, '');
const EMAIL = process.env.TEST_EMAIL || '';
const PASSWORD = process.env.TEST_PASSWORD || '';
const USERNAME = process.env.TEST_USERNAME || '';
const SHOTS = path.resolve(process.env.BROWSER_SCREENSHOTS || 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_MS = Number(process.env.STEP_TIMEOUT_MS || 15000);
const TOTAL_MS = Number(process.env.TOTAL_TIMEOUT_MS || 180000);

if (!BASE_URL || !EMAIL || !PASSWORD || !USERNAME) {
  console.error('usage: BASE_URL=... TEST_EMAIL=... TEST_PASSWORD=... TEST_USERNAME=... node login.spec.mjs');
  process.exit(2);
}

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Containers often have a tiny /dev/shm; /tmp is always big enough.
  '--disable-dev-shm-usage',
];

// ----------------------------------------------------------------------------------------------
// A minimal sequential step runner.

const steps = [];
function step(name, fn) {
  steps.push({ name, fn });
}

let passed = 0;
let failed = 0;
let finished = false;

function summary() {
  if (finished) return;
  finished = true;
  console.log(`${passed} passed, ${failed} failed`);
}

// Fails a step that does not settle in time (each Playwright call also has its own timeout).
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ----------------------------------------------------------------------------------------------
// Helpers on top of Playwright

let shotNumber = 0;
async function screenshot(page, name) {
  shotNumber += 1;
  const file = path.join(SHOTS, `${String(shotNumber).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true, timeout: STEP_MS });
  console.log(`#   screenshot ${file}`);
}

async function newContext(browser) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 640 } });
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(STEP_MS);
  return context;
}

// The page's <h1> greeting, e.g. "Hello, Anonymous!"
async function expectGreeting(page, name) {
  const text = `Hello, ${name}!`;
  await page.getByRole('heading', { level: 1, name: text, exact: true }).waitFor({ state: 'visible' });
}

async function expectText(page, text) {
  await page.getByText(text, { exact: true }).first().waitFor({ state: 'visible' });
}

async function navbarLink(page, name) {
  const link = page.locator('nav').getByRole('link', { name, exact: true });
  await link.waitFor({ state: 'visible' });
  return link;
}

async function bodyText(page) {
  return page.locator('body').innerText({ timeout: STEP_MS });
}

// ----------------------------------------------------------------------------------------------
// The scenario

let browser;
let context;
let page;
let rememberCookie;

step('GET / as anonymous shows "Hello, Anonymous!" and a Log In link', async () => {
  context = await newContext(browser);
  page = await context.newPage();
  const response = await page.goto(`${BASE_URL}/`);
  if (!response || response.status() !== 200) {
    throw new Error(`GET / answered ${response ? response.status() : 'nothing'}`);
  }
  await expectGreeting(page, 'Anonymous');
  const link = await navbarLink(page, 'Log In');
  const href = await link.getAttribute('href');
  if (href !== '/auth/login') throw new Error(`the Log In link points to ${href}, not /auth/login`);
  await screenshot(page, 'anonymous-home');
});

step('clicking "Log In" opens the login form', async () => {
  await (await navbarLink(page, 'Log In')).click();
  await page.waitForURL((url) => url.pathname === '/auth/login');
  await page.getByLabel('Email', { exact: true }).waitFor({ state: 'visible' });
  await page.getByLabel('Password', { exact: true }).waitFor({ state: 'visible' });
  await page.getByLabel('Keep me logged in').waitFor({ state: 'visible' });
  await page.getByRole('button', { name: 'Log In', exact: true }).waitFor({ state: 'visible' });
  await screenshot(page, 'login-form');
});

step('filling the form, ticking "Keep me logged in" and submitting greets the user', async () => {
  await page.getByLabel('Email', { exact: true }).fill(EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  const remember = page.getByLabel('Keep me logged in');
  await remember.check();
  if (!(await remember.isChecked())) throw new Error('the remember_me checkbox did not get ticked');
  const name = await remember.getAttribute('name');
  if (name !== 'remember_me') throw new Error(`"Keep me logged in" is field ${name}, not remember_me`);
  await screenshot(page, 'login-form-filled');
  await page.getByRole('button', { name: 'Log In', exact: true }).click();
  // Either the greeting (after the redirect) or the form again with a flash ("Invalid email or
  // password.") or a field error: fail fast on the latter. The form had neither before the click.
  const greeting = page.getByRole('heading', { level: 1, name: `Hello, ${USERNAME}!`, exact: true });
  const formError = page.locator('[role=alert], .help-block');
  await greeting.or(formError).first().waitFor({ state: 'visible' });
  if (!(await greeting.isVisible())) {
    const why = (await formError.allInnerTexts()).join(' / ');
    throw new Error(`the login form was shown again: ${why}`);
  }
  if (new URL(page.url()).pathname === '/auth/login') throw new Error('still on /auth/login after logging in');
  await navbarLink(page, 'Log Out');
  await screenshot(page, 'logged-in-home');
});

step('the login left a session cookie and a persistent remember_token cookie', async () => {
  const cookies = await context.cookies(BASE_URL);
  const names = cookies.map((c) => c.name).join(', ') || 'none';
  if (!cookies.some((c) => c.name === 'session')) throw new Error(`no session cookie (cookies: ${names})`);
  rememberCookie = cookies.find((c) => c.name === 'remember_token');
  if (!rememberCookie) throw new Error(`no remember_token cookie (cookies: ${names})`);
  if (!(rememberCookie.expires > Date.now() / 1000)) {
    throw new Error('remember_token is not persistent (no expiry in the future)');
  }
  if (!rememberCookie.httpOnly) throw new Error('remember_token is not HttpOnly');
});

step('/secret shows "Only authenticated users are allowed!"', async () => {
  const response = await page.goto(`${BASE_URL}/secret`);
  if (!response || response.status() !== 200) {
    throw new Error(`GET /secret answered ${response ? response.status() : 'nothing'}`);
  }
  await expectText(page, 'Only authenticated users are allowed!');
  await screenshot(page, 'secret');
});

step('after a browser restart (only remember_token kept) the user is still greeted', async () => {
  await context.close();
  context = await newContext(browser);
  // What a restarted browser keeps: persistent cookies only; the session cookie is gone.
  await context.addCookies([rememberCookie]);
  const before = (await context.cookies(BASE_URL)).map((c) => c.name);
  if (before.length !== 1 || before[0] !== 'remember_token') {
    throw new Error(`the new context should hold only remember_token, holds: ${before.join(', ')}`);
  }
  page = await context.newPage();
  await page.goto(`${BASE_URL}/`);
  await expectGreeting(page, USERNAME);
  await navbarLink(page, 'Log Out');
  await screenshot(page, 'after-restart-remembered');
});

step('clicking "Log Out" flashes "You have been logged out." and shows "Hello, Anonymous!"', async () => {
  await (await navbarLink(page, 'Log Out')).click();
  await page.waitForURL((url) => url.pathname === '/');
  await expectText(page, 'You have been logged out.');
  await expectGreeting(page, 'Anonymous');
  await navbarLink(page, 'Log In');
  await screenshot(page, 'logged-out-flash');
});

step('reloading the page: the flash is gone, still anonymous', async () => {
  await page.reload();
  await expectGreeting(page, 'Anonymous');
  const text = await bodyText(page);
  if (text.includes('You have been logged out.')) throw new Error('the flash is still shown after a reload');
  await screenshot(page, 'reload-flash-gone');
});

// ----------------------------------------------------------------------------------------------

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  // Screenshots of an earlier run would be mistaken for this one's (only our own names go).
  for (const f of fs.readdirSync(SHOTS)) {
    if (/^\d\d-[a-zA-Z-]+\.png$/.test(f)) fs.rmSync(path.join(SHOTS, f), { force: true });
  }
  // A fresh, private directory for the browser profile (Playwright puts its temporary
  // user-data dir under the temp dir), removed at the end.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'authfcgi-browser-'));
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  console.log(`# ${BASE_URL} as ${EMAIL}; screenshots in ${SHOTS}`);
  try {
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        timeout: 30000,
        env: { ...process.env, TMPDIR: tmp, HOME: tmp },
      });
      console.log(`# Chromium ${browser.version()} (${CHROMIUM})`);
    } catch (e) {
      console.log(`not ok - start Chromium: ${e.message.split('\n')[0]}`);
      failed += steps.length;
      return;
    }
    let broken = false;
    for (const [i, s] of steps.entries()) {
      const label = `${i + 1} - ${s.name}`;
      if (broken) {
        console.log(`not ok ${label} # not run (an earlier step failed)`);
        failed += 1;
        continue;
      }
      const started = Date.now();
      try {
        await withTimeout(s.fn(), STEP_MS * 4, s.name);
        passed += 1;
        console.log(`ok ${label} (${Date.now() - started} ms)`);
      } catch (e) {
        failed += 1;
        broken = true;
        console.log(`not ok ${label}`);
        const message = String(e && e.message).replace(/\x1b\[[0-9;]*m/g, '').trimEnd();
        console.log(`#   ${message.split('\n').join('\n#   ')}`);
        if (page && !page.isClosed()) {
          console.log(`#   page URL: ${page.url()}`);
          try {
            const text = (await bodyText(page)).replace(/\s+/g, ' ').slice(0, 300);
            console.log(`#   page text: ${text}`);
            await screenshot(page, 'FAILED');
          } catch {
            // the page may be gone
          }
        }
      }
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
    process.env.TMPDIR = savedTmp;
    if (savedTmp === undefined) delete process.env.TMPDIR;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => {
  console.log(`not ok - the whole run took longer than ${TOTAL_MS} ms`);
  failed += 1;
  summary();
  process.exit(1); // Playwright kills the browser on exit
}, TOTAL_MS);

main()
  .catch((e) => {
    console.log(`not ok - unexpected error: ${e && e.stack}`);
    failed += 1;
  })
  .finally(() => {
    clearTimeout(watchdog);
    summary();
    process.exitCode = failed === 0 && passed === steps.length ? 0 : 1;
  });
