// Browser test of following changes (docs/feeds.md): signs in on a node with a one-time login
// link, presses "Beobachten" on a product page, finds the product on "Beobachtet", presses
// "Nicht mehr beobachten", opens "Hinweise", and runs axe (WCAG 2.1 A/AA) on each page. Needs
// JavaScript nowhere: the buttons are plain forms.
//
// Run by `integration-tests/tests/follow_browser.rs`, which sets:
//   BASE_URL      the node's base URL (http://127.0.0.1:PORT)
//   LOGIN_URL     a one-time login link of the node
//   PRODUCT_ID    a product on the node, named PRODUCT_NAME
//   PRODUCT_NAME
//   CHROMIUM      the browser binary (default /usr/bin/chromium)
//
// Prints "ok - …" / "not ok - …" lines and exits with 1 if a check failed, 2 on bad input.
// The browser loads nothing but 127.0.0.1.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`follow.mjs: environment variable ${name} is not set`);
    process.exit(2);
  }
  return v;
}

const BASE = env('BASE_URL').replace(/\/+$/, '');
if (new URL(BASE).hostname !== '127.0.0.1') {
  console.error('follow.mjs: BASE_URL must be on 127.0.0.1');
  process.exit(2);
}
const LOGIN = env('LOGIN_URL');
const PRODUCT_ID = env('PRODUCT_ID');
const PRODUCT_NAME = env('PRODUCT_NAME');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let passed = 0;
let failed = 0;
function report(ok, name, detail) {
  if (ok) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok - ${name}`);
    if (detail) console.log(String(detail).split('\n').map((l) => `    ${l}`).join('\n'));
  }
}

async function check(name, fn) {
  try {
    await fn();
    report(true, name);
  } catch (e) {
    report(false, name, e && e.stack ? e.stack.split('\n').slice(0, 6).join('\n') : e);
  }
}

async function axeClean(page) {
  if (await page.evaluate(() => typeof window.axe === 'undefined')) await page.evaluate(AXE_SOURCE);
  const r = await page.evaluate(
    (tags) => axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    AXE_TAGS,
  );
  if (r.violations.length) {
    throw new Error(
      r.violations
        .map((v) => `${v.id} (${v.impact}): ${v.help}; e.g. ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`)
        .join('\n'),
    );
  }
}

const external = [];
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  timeout: 30_000,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking'],
});
const deadline = setTimeout(() => {
  report(false, 'whole run within 120 s', 'deadline reached');
  process.exit(1);
}, 120_000);
try {
  const ctx = await browser.newContext({ locale: 'de-DE', viewport: { width: 1280, height: 900 } });
  ctx.setDefaultTimeout(15_000);
  await ctx.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    if (host === '127.0.0.1') return route.continue();
    external.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  const page = await ctx.newPage();
  const product = `${BASE}/produkte/${PRODUCT_ID}`;

  await check('the product page announces its Atom feed and is axe-clean with the watch button', async () => {
    await page.goto(LOGIN);
    await page.goto(product);
    const feed = await page.locator('head link[rel="alternate"][type="application/atom+xml"]').getAttribute('href');
    if (feed !== `/api/v1/feeds/products/${PRODUCT_ID}`) throw new Error(`feed link ${feed}`);
    if ((await page.getByRole('button', { name: 'Beobachten', exact: true }).count()) !== 1) throw new Error('no "Beobachten" button');
    await axeClean(page);
  });
  await check('"Beobachten" puts the product on the watch list', async () => {
    await page.getByRole('button', { name: 'Beobachten', exact: true }).click();
    await page.waitForURL(product);
    if ((await page.getByRole('button', { name: 'Nicht mehr beobachten', exact: true }).count()) !== 1) throw new Error('the button did not change');
    await axeClean(page);
  });
  await check('"Beobachtet" lists it and is axe-clean', async () => {
    await page.goto(`${BASE}/beobachtet`);
    if ((await page.getByRole('heading', { level: 2 }).filter({ hasText: PRODUCT_NAME }).count()) !== 1) throw new Error('the product is not listed');
    await axeClean(page);
  });
  await check('"Nicht mehr beobachten" takes it off', async () => {
    await page.goto(product);
    await page.getByRole('button', { name: 'Nicht mehr beobachten', exact: true }).click();
    await page.waitForURL(product);
    await page.goto(`${BASE}/beobachtet`);
    if ((await page.getByText(PRODUCT_NAME).count()) !== 0) throw new Error('still listed');
  });
  await check('"Hinweise" is axe-clean', async () => {
    const resp = await page.goto(`${BASE}/hinweise`);
    if (!resp || resp.status() !== 200) throw new Error(`status ${resp ? resp.status() : 0}`);
    await axeClean(page);
  });
  await check('the browser loaded nothing from outside 127.0.0.1', () => {
    if (external.length) throw new Error(external.join('\n'));
  });
} catch (e) {
  report(false, 'browser run', e);
} finally {
  clearTimeout(deadline);
  await browser.close();
}
console.log(`follow.mjs: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
