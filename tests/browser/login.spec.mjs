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

import {
  BASE_URL,
  bodyText,
  expectGreeting,
  expectText,
  navbarLink,
  newContext,
  run,
  screenshot,
  step,
} from './harness.mjs';

const EMAIL = process.env.TEST_EMAIL || '';
const PASSWORD = process.env.TEST_PASSWORD || '';
const USERNAME = process.env.TEST_USERNAME || '';

if (!BASE_URL || !EMAIL || !PASSWORD || !USERNAME) {
  console.error('usage: BASE_URL=... TEST_EMAIL=... TEST_PASSWORD=... TEST_USERNAME=... node login.spec.mjs');
  process.exit(2);
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

run(
  `${BASE_URL} as ${EMAIL}`,
  (started) => {
    browser = started;
  },
  () => page,
);
