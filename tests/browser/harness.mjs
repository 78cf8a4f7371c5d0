// What every browser spec of this directory shares: the settings from the environment, a
// minimal sequential step runner (the first failure stops the run; the steps not run count as
// failed; output ends with "N passed, M failed"), Chromium's start in a private profile, the
// whole run's watchdog, and helpers on top of Playwright.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const BASE_URL = (process.env.BASE_URL || '').replace(/\/+$/, '');
export const SHOTS = path.resolve(process.env.BROWSER_SCREENSHOTS || 'screenshots');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const STEP_MS = Number(process.env.STEP_TIMEOUT_MS || 15000);
export const TOTAL_MS = Number(process.env.TOTAL_TIMEOUT_MS || 180000);

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
export function step(name, fn) {
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
export async function screenshot(page, name) {
  shotNumber += 1;
  const file = path.join(SHOTS, `${String(shotNumber).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true, timeout: STEP_MS });
  console.log(`#   screenshot ${file}`);
}

export async function newContext(browser, viewport = { width: 1024, height: 640 }) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(STEP_MS);
  return context;
}

// The page's <h1> greeting, e.g. "Hello, Anonymous!"
export async function expectGreeting(page, name) {
  const text = `Hello, ${name}!`;
  await page.getByRole('heading', { level: 1, name: text, exact: true }).waitFor({ state: 'visible' });
}

export async function expectText(page, text) {
  await page.getByText(text, { exact: true }).first().waitFor({ state: 'visible' });
}

export async function navbarLink(page, name) {
  const link = page.locator('nav').getByRole('link', { name, exact: true });
  await link.waitFor({ state: 'visible' });
  return link;
}

export async function bodyText(page) {
  return page.locator('body').innerText({ timeout: STEP_MS });
}

// ----------------------------------------------------------------------------------------------
// The run

// Starts Chromium, hands it to useBrowser, runs the steps in order and reports; currentPage()
// is the page to describe when a step fails. Sets the exit status: 0 only when every step
// passed.
async function runSteps(banner, useBrowser, currentPage) {
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
  console.log(`# ${banner}; screenshots in ${SHOTS}`);
  let browser;
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
    useBrowser(browser);
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
        const page = currentPage();
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

// Runs the steps the spec declared, under the whole run's watchdog (TOTAL_TIMEOUT_MS).
export function run(banner, useBrowser, currentPage) {
  const watchdog = setTimeout(() => {
    console.log(`not ok - the whole run took longer than ${TOTAL_MS} ms`);
    failed += 1;
    summary();
    process.exit(1); // Playwright kills the browser on exit
  }, TOTAL_MS);

  runSteps(banner, useBrowser, currentPage)
    .catch((e) => {
      console.log(`not ok - unexpected error: ${e && e.stack}`);
      failed += 1;
    })
    .finally(() => {
      clearTimeout(watchdog);
      summary();
      process.exitCode = failed === 0 && passed === steps.length ? 0 : 1;
    });
}
