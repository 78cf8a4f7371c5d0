// Real-browser test: drives Debian's headless Chromium (through playwright-core) through
// self-service registration on a running authfcgi site: the register form on a 360-px-wide
// screen (and once at desktop size), a field error, the confirmation mail's link, the
// unconfirmed gate, the confirmation, the secret page, logging out.
//
//   BASE_URL=http://127.0.0.1:8080 TEST_EMAIL=... TEST_PASSWORD=... TEST_USERNAME=... \
//     MAILDIR=/path/to/the/sinks/Maildir node register.spec.mjs
//
// TEST_EMAIL and TEST_USERNAME must not have an account yet; TEST_PASSWORD must pass the
// site's password rules. MAILDIR is the Maildir the site's mail goes to (the SMTP sink of the
// HTTP tests, scripts/lib/smtp_sink.py); the confirmation mail is read from its new/ (and cur/).
//
// Optional: BROWSER_SCREENSHOTS (directory for one PNG per step, default ./screenshots),
// CHROMIUM (browser executable, default /usr/bin/chromium), STEP_TIMEOUT_MS (default 15000),
// TOTAL_TIMEOUT_MS (default 180000: the whole run, browser start included), MAIL_TIMEOUT_MS
// (how long to wait for the confirmation mail, default 15000).
//
// Every step depends on the one before, so the first failure stops the run; the steps not run
// are listed and counted as failed. Output ends with "N passed, M failed"; the exit status is
// 0 only when every step passed.

import fs from 'node:fs';
import path from 'node:path';

import {
  BASE_URL,
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
const MAILDIR = process.env.MAILDIR || '';
const MAIL_MS = Number(process.env.MAIL_TIMEOUT_MS || 15000);

if (!BASE_URL || !EMAIL || !PASSWORD || !USERNAME || !MAILDIR) {
  console.error(
    'usage: BASE_URL=... TEST_EMAIL=... TEST_PASSWORD=... TEST_USERNAME=... MAILDIR=... node register.spec.mjs',
  );
  process.exit(2);
}

const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };

const REGISTERED = 'A confirmation email has been sent to you by email.';
const UNCONFIRMED = 'You have not confirmed your account yet.';
const CONFIRMED = 'You have confirmed your account. Thanks!';
const MISMATCH = 'Passwords must match.';
const SECRET = 'Only authenticated users are allowed!';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ----------------------------------------------------------------------------------------------
// Helpers on top of Playwright (the common ones are in harness.mjs)

async function expectOk(response, what) {
  if (!response || response.status() !== 200) {
    throw new Error(`${what} answered ${response ? response.status() : 'nothing'}`);
  }
}

function pathnameOf(page) {
  return new URL(page.url()).pathname;
}

// Autofocus is applied once the document has loaded: wait for it briefly, then name the
// element that has the focus instead.
async function expectFocus(page, id) {
  try {
    await page.waitForFunction((want) => document.activeElement && document.activeElement.id === want, id, {
      timeout: 3000,
    });
  } catch {
    const has = await page.evaluate(() => {
      const e = document.activeElement;
      return e ? `<${e.tagName.toLowerCase()}${e.id ? ` id=${e.id}` : ''}>` : 'nothing';
    });
    throw new Error(`the focus is on ${has}, not on #${id}`);
  }
}

// No horizontal scrolling: nothing is wider than the viewport.
async function expectFitsWidth(page) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  if (scroll > width) throw new Error(`the page is ${scroll} px wide on a ${width}-px-wide screen`);
}

// The form sits in the middle of the page (equal room left and right, within 2 px) and, with
// or without errors, its form-groups are the same distance apart.
async function expectCentredAndEvenlySpaced(page) {
  const layout = await page.evaluate(() => {
    const form = document.querySelector('form.form');
    if (!form) return null;
    const r = form.getBoundingClientRect();
    const groups = [...form.querySelectorAll('.form-group')].map((g) => g.getBoundingClientRect());
    const gaps = groups.slice(1).map((g, i) => Math.round(g.top - groups[i].bottom));
    return { left: r.left, right: document.documentElement.clientWidth - r.right, gaps };
  });
  if (!layout) throw new Error('no <form class="form"> on the page');
  if (Math.abs(layout.left - layout.right) > 2) {
    throw new Error(`the form is not centred: ${layout.left} px left of it, ${layout.right} px right`);
  }
  if (layout.gaps.length === 0) throw new Error('the form has no form-groups');
  if (Math.max(...layout.gaps) - Math.min(...layout.gaps) > 1) {
    throw new Error(`the fields are unevenly spaced: gaps of ${layout.gaps.join(', ')} px`);
  }
}

// Every input a person or a password manager fills in says what it is for.
async function expectAutocomplete(page) {
  const missing = await page.evaluate(() =>
    [...document.querySelectorAll('form input')]
      .filter((i) => !['hidden', 'submit', 'button', 'checkbox', 'radio'].includes(i.type))
      .filter((i) => !i.getAttribute('autocomplete'))
      .map((i) => i.id || i.name || i.type),
  );
  if (missing.length) throw new Error(`inputs without an autocomplete attribute: ${missing.join(', ')}`);
  const count = await page.locator('form input[autocomplete]').count();
  if (count < 4) throw new Error(`only ${count} inputs with autocomplete (email, username, two passwords)`);
}

// ----------------------------------------------------------------------------------------------
// The Maildir: the newest mail to EMAIL, its text part decoded, the confirmation link in it.

// The unique names of the sink's Maildir: SECONDS.MMICROSECONDSPPIDQCOUNTER.HOST
const MAILDIR_NAME = /^(\d+)\.M(\d+)P\d+Q(\d+)\./;

function deliveryKey(file, name) {
  const m = MAILDIR_NAME.exec(name);
  if (m) return [BigInt(m[1]) * 1000000000n + BigInt(m[2]) * 1000n, Number(m[3])];
  return [fs.statSync(file, { bigint: true }).mtimeNs, 0];
}

function compareKeys(a, b) {
  if (a.key[0] !== b.key[0]) return a.key[0] < b.key[0] ? -1 : 1;
  if (a.key[1] !== b.key[1]) return a.key[1] - b.key[1];
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

// The messages in MAILDIR's new/ and cur/, oldest first.
function maildirFiles() {
  const found = [];
  for (const sub of ['new', 'cur']) {
    let names = [];
    try {
      names = fs.readdirSync(path.join(MAILDIR, sub));
    } catch {
      continue;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const file = path.join(MAILDIR, sub, name);
      try {
        found.push({ file, name, key: deliveryKey(file, name) });
      } catch {
        // moved or removed meanwhile
      }
    }
  }
  return found.sort(compareKeys).map((f) => f.file);
}

// Header block and body of a message (or a MIME part); the headers unfolded, names lowercased.
function splitMessage(raw) {
  const m = /^\r?\n/.exec(raw) || /\r?\n\r?\n/.exec(raw); // a part may have no headers
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : '';
  const headers = [];
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const h = /^([^:\s]+):\s*(.*)$/.exec(line);
    if (h) headers.push([h[1].toLowerCase(), h[2].trim()]);
  }
  return { headers, body };
}

function header(headers, name) {
  const found = headers.find(([n]) => n === name);
  return found ? found[1] : '';
}

// Quoted-printable: "=\r\n" is a soft line break, =XX a byte (the text is UTF-8).
function decodeQuotedPrintable(text) {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes = [];
  for (let i = 0; i < joined.length; i += 1) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(joined.charCodeAt(i) & 0xff); // the file was read as latin1: one char a byte
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeBody(headers, body) {
  const encoding = header(headers, 'content-transfer-encoding').toLowerCase();
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return Buffer.from(body, 'latin1').toString('utf8');
}

// The first text/plain part decoded, looking into nested multiparts (the site sends
// multipart/mixed holding multipart/alternative); the whole body when not multipart.
function textPart(raw, depth = 0) {
  const { headers, body } = splitMessage(raw);
  const type = header(headers, 'content-type');
  if (!/^multipart\//i.test(type)) {
    // A part without a Content-Type is text/plain (RFC 2046).
    return depth === 0 || !type || /^text\/plain\b/i.test(type) ? decodeBody(headers, body) : null;
  }
  const boundary = /boundary="?([^";]+)"?/i.exec(type);
  if (!boundary || depth > 3) return null;
  for (const chunk of body.split(`--${boundary[1]}`).slice(1)) {
    if (chunk.startsWith('--')) break; // the closing delimiter
    // The part starts after the delimiter's line end.
    const text = textPart(chunk.replace(/^[ \t]*\r?\n/, ''), depth + 1);
    if (text !== null) return text;
  }
  return null;
}

// The sink puts the envelope recipients first (X-Authfcgi-Envelope-To); To: as a fallback
// for other mail setups.
function addressedTo(headers, email) {
  const want = email.toLowerCase();
  const rcpts = headers.filter(([n]) => n === 'x-authfcgi-envelope-to').map(([, v]) => v.replace(/[<>]/g, ''));
  if (rcpts.length) return rcpts.some((r) => r.toLowerCase() === want);
  return header(headers, 'to').toLowerCase().includes(want);
}

const CONFIRM_LINK = /https?:\/\/[^\s<>"']*\/auth\/confirm\/[A-Za-z0-9_-]+/;

async function waitForConfirmationLink(email) {
  const deadline = Date.now() + MAIL_MS;
  let seen = 0;
  for (;;) {
    const files = maildirFiles();
    seen = files.length;
    for (const file of files.reverse()) {
      let raw;
      try {
        raw = fs.readFileSync(file, 'latin1');
      } catch {
        continue; // moved meanwhile
      }
      if (!addressedTo(splitMessage(raw).headers, email)) continue;
      const text = textPart(raw);
      const link = text && CONFIRM_LINK.exec(text);
      if (!link) throw new Error(`the newest mail to ${email} (${file}) has no /auth/confirm/ link:\n${text}`);
      return link[0];
    }
    if (Date.now() >= deadline) break;
    await sleep(100);
  }
  throw new Error(`no mail to ${email} in ${MAILDIR} after ${MAIL_MS} ms (${seen} other mail(s) there)`);
}

// ----------------------------------------------------------------------------------------------
// The scenario

let browser;
let context;
let page;
let confirmLink;

step('/auth/register at 360x740: focus on Email, no horizontal scroll, autocomplete everywhere', async () => {
  context = await newContext(browser, PHONE);
  page = await context.newPage();
  await expectOk(await page.goto(`${BASE_URL}/auth/register`), 'GET /auth/register');
  await page.getByRole('heading', { level: 1, name: 'Register', exact: true }).waitFor({ state: 'visible' });
  for (const label of ['Email', 'Username', 'Password', 'Confirm password']) {
    await page.getByLabel(label, { exact: true }).waitFor({ state: 'visible' });
  }
  await page.getByRole('button', { name: 'Register', exact: true }).waitFor({ state: 'visible' });
  await screenshot(page, 'register-phone');
  await expectFocus(page, 'email');
  await expectFitsWidth(page);
  await expectAutocomplete(page);
  await expectCentredAndEvenlySpaced(page);
});

step('/auth/register at 1280x800: the form is centred and evenly spaced', async () => {
  const desktop = await newContext(browser, DESKTOP);
  try {
    const wide = await desktop.newPage();
    await expectOk(await wide.goto(`${BASE_URL}/auth/register`), 'GET /auth/register');
    await wide.getByLabel('Email', { exact: true }).waitFor({ state: 'visible' });
    await expectFocus(wide, 'email');
    await expectCentredAndEvenlySpaced(wide);
    await screenshot(wide, 'register-desktop');
  } finally {
    await desktop.close();
  }
});

step(`mismatched passwords: "${MISMATCH}" next to the Password field, which has the focus`, async () => {
  await page.getByLabel('Email', { exact: true }).fill(EMAIL);
  await page.getByLabel('Username', { exact: true }).fill(USERNAME);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Confirm password', { exact: true }).fill(`${PASSWORD}-not`);
  await page.getByRole('button', { name: 'Register', exact: true }).click();
  const group = page.locator('.form-group', { has: page.locator('#password') });
  await group.locator('.help-block').waitFor({ state: 'visible' });
  const message = (await group.locator('.help-block').innerText()).trim();
  if (message !== MISMATCH) throw new Error(`the Password field's error is "${message}", not "${MISMATCH}"`);
  const all = await page.locator('.help-block').allInnerTexts();
  if (all.length !== 1) throw new Error(`expected one error, the page shows: ${all.join(' / ')}`);
  // Right under its input, lined up with it, and tied to it for screen readers.
  const place = await page.evaluate(() => {
    const input = document.getElementById('password');
    const help = input.closest('.form-group').querySelector('.help-block');
    const i = input.getBoundingClientRect();
    const h = help.getBoundingClientRect();
    return {
      below: Math.round(h.top - i.bottom),
      left: Math.round(h.left - i.left),
      invalid: input.getAttribute('aria-invalid'),
      describedBy: input.getAttribute('aria-describedby'),
      helpId: help.id,
    };
  });
  if (place.below < 0 || place.below > 16 || Math.abs(place.left) > 2) {
    throw new Error(`the error is not right under its field: ${place.below} px below, ${place.left} px to the side`);
  }
  if (place.invalid !== 'true' || !place.helpId || place.describedBy !== place.helpId) {
    throw new Error(
      `#password: aria-invalid=${place.invalid}, aria-describedby=${place.describedBy}, error id=${place.helpId}`,
    );
  }
  const firstWithError = await page.locator('.form-group.has-error input').first().getAttribute('id');
  if (firstWithError !== 'password') throw new Error(`the first field with an error is #${firstWithError}`);
  await expectFocus(page, 'password');
  // What was typed stays, except the passwords.
  const kept = {
    email: await page.getByLabel('Email', { exact: true }).inputValue(),
    username: await page.getByLabel('Username', { exact: true }).inputValue(),
    password: await page.getByLabel('Password', { exact: true }).inputValue(),
  };
  if (kept.email !== EMAIL || kept.username !== USERNAME) {
    throw new Error(`the form lost what was typed: email "${kept.email}", username "${kept.username}"`);
  }
  if (kept.password !== '') throw new Error('the password came back in the form');
  await expectFitsWidth(page);
  await expectCentredAndEvenlySpaced(page);
  await screenshot(page, 'register-error');
});

step(`registering: the login page with "${REGISTERED}"`, async () => {
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Register', exact: true }).click();
  const flash = page.getByText(REGISTERED, { exact: true });
  const formError = page.locator('.help-block');
  await flash.or(formError).first().waitFor({ state: 'visible' });
  if (!(await flash.isVisible())) {
    throw new Error(`the register form was shown again: ${(await formError.allInnerTexts()).join(' / ')}`);
  }
  if (pathnameOf(page) !== '/auth/login') throw new Error(`registering led to ${page.url()}, not /auth/login`);
  await navbarLink(page, 'Log In'); // registering does not log in
  await expectFitsWidth(page);
  await screenshot(page, 'registered-login');
});

step('the confirmation mail arrives with an /auth/confirm/ link to this site', async () => {
  confirmLink = await waitForConfirmationLink(EMAIL);
  console.log(`#   link ${confirmLink}`);
  if (new URL(confirmLink).origin !== new URL(BASE_URL).origin) {
    throw new Error(`the link points to ${new URL(confirmLink).origin}, not ${BASE_URL} (public_url?)`);
  }
});

step(`logging in before confirming: /secret leads to /auth/unconfirmed, "${UNCONFIRMED}"`, async () => {
  await page.getByLabel('Email', { exact: true }).fill(EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Log In', exact: true }).click();
  const greeting = page.getByRole('heading', { level: 1, name: `Hello, ${USERNAME}!`, exact: true });
  const formError = page.locator('[role=alert], .help-block');
  await greeting.or(formError).first().waitFor({ state: 'visible' });
  if (!(await greeting.isVisible())) {
    throw new Error(`the login form was shown again: ${(await formError.allInnerTexts()).join(' / ')}`);
  }
  await page.goto(`${BASE_URL}/secret`);
  if (pathnameOf(page) !== '/auth/unconfirmed') throw new Error(`/secret led to ${page.url()}`);
  await expectGreeting(page, USERNAME);
  await expectText(page, UNCONFIRMED);
  await page.getByRole('button', { name: 'Click here', exact: true }).waitFor({ state: 'visible' });
  await expectFitsWidth(page);
  await screenshot(page, 'unconfirmed');
});

step(`opening the mailed link: "${CONFIRMED}" on the home page`, async () => {
  await page.goto(confirmLink);
  await page.waitForURL((url) => url.pathname === '/');
  await expectText(page, CONFIRMED);
  await expectGreeting(page, USERNAME);
  await expectFitsWidth(page);
  await screenshot(page, 'confirmed');
});

step(`/secret now shows "${SECRET}"`, async () => {
  await expectOk(await page.goto(`${BASE_URL}/secret`), 'GET /secret');
  if (pathnameOf(page) !== '/secret') throw new Error(`/secret led to ${page.url()}`);
  await expectText(page, SECRET);
  await screenshot(page, 'secret');
});

step('clicking "Log Out" flashes "You have been logged out." and shows "Hello, Anonymous!"', async () => {
  await (await navbarLink(page, 'Log Out')).click();
  await page.waitForURL((url) => url.pathname === '/');
  await expectText(page, 'You have been logged out.');
  await expectGreeting(page, 'Anonymous');
  await navbarLink(page, 'Log In');
  await screenshot(page, 'logged-out');
});

run(
  `${BASE_URL} registering ${EMAIL} (${USERNAME}); mail from ${MAILDIR}`,
  (started) => {
    browser = started;
  },
  () => page,
);
