// Browser tests of the Allmende web UI: a real headless Chromium (the Debian package, driven by
// playwright-core) against two real nodes that sync with each other.
//
// Run by `integration-tests/tests/browser.rs`, which starts the nodes and sets the environment:
//   A_URL, B_URL    base URLs of node A and node B (http://127.0.0.1:PORT)
//   PRODUCT_ID      a product present on both nodes, named PRODUCT_NAME (kind onlinedienst,
//   PRODUCT_NAME    description containing "Baugenehmigung")
//   ORG_ID          node A's organisation id (64 hex)
//   TASK            a task of the product (e.g. a LeiKa key)
//   A_LOGIN_URL     a one-time login link of node A (A_URL/anmelden?token=…), from
//                   POST /api/v1/ui/login: publishing in the UI needs a session
//   SCREENSHOT_DIR  where full-page PNG screenshots of every visited page type go (optional)
//   CHROMIUM        the browser binary (default /usr/bin/chromium)
//   UI_DEADLINE_SECS  hard limit for the whole run (default 150)
//   UI_FLOW         `all` (default) or `stewardship`: then node A looks after PRODUCT_ID, which
//                   has an open proposal by PROPOSER_NAME renaming it to PROPOSED_NAME; the
//                   script accepts it in the browser and waits for the new name on node B
//                   (`integration-tests/tests/stewardship.rs`)
//
// Prints one line per check ("ok - …" / "not ok - …" with indented details) and exits with 1
// if any check failed, 2 on bad input. The browser loads nothing but 127.0.0.1: every other
// request is aborted and reported as a failure.

import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Playwright's limit for one action or navigation. */
const STEP_MS = 15_000;
/** Default limit for one whole check. */
const CHECK_MS = 60_000;
const DEADLINE_MS = (Number(process.env.UI_DEADLINE_SECS) || 150) * 1000;

// ---------------------------------------------------------------------------------------------
// Input

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`ui.mjs: environment variable ${name} is not set`);
    process.exit(2);
  }
  return v;
}

function baseUrl(name) {
  const raw = env(name).replace(/\/+$/, '');
  let u;
  try {
    u = new URL(raw);
  } catch {
    console.error(`ui.mjs: ${name}=${raw} is not a URL`);
    process.exit(2);
  }
  if (u.protocol !== 'http:' || u.hostname !== '127.0.0.1') {
    console.error(`ui.mjs: ${name}=${raw} must be http://127.0.0.1:PORT (the browser may load nothing else)`);
    process.exit(2);
  }
  return raw;
}

const A = baseUrl('A_URL');
const B = baseUrl('B_URL');
const PRODUCT_ID = env('PRODUCT_ID');
const PRODUCT_NAME = env('PRODUCT_NAME');
const ORG_ID = env('ORG_ID');
const TASK = env('TASK');
const A_LOGIN_URL = env('A_LOGIN_URL');
if (!A_LOGIN_URL.startsWith(`${A}/anmelden?token=`)) {
  console.error(`ui.mjs: A_LOGIN_URL=${A_LOGIN_URL} is not a login link of ${A}`);
  process.exit(2);
}
const FLOW = process.env.UI_FLOW || 'all';
if (!['all', 'stewardship'].includes(FLOW)) {
  console.error(`ui.mjs: UI_FLOW=${FLOW}: all or stewardship`);
  process.exit(2);
}
const PROPOSED_NAME = FLOW === 'stewardship' ? env('PROPOSED_NAME') : '';
const PROPOSER_NAME = FLOW === 'stewardship' ? env('PROPOSER_NAME') : '';
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

if (SCREENSHOT_DIR) mkdirSync(SCREENSHOT_DIR, { recursive: true });

// ---------------------------------------------------------------------------------------------
// Reporting

let passed = 0;
let failed = 0;
/** Set when the deadline has passed: later results are not reported. */
let stopped = false;

function report(ok, name, detail) {
  if (stopped) return;
  if (ok) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok - ${name}`);
    for (const line of String(detail ?? '').split('\n')) {
      if (line.trim()) console.log(`    # ${line}`);
    }
  }
}

/** A failed expectation; `problems` are reported one per line. */
class Failure extends Error {}

/** Collects problems; `done()` throws them all at once. */
class Problems {
  constructor() {
    this.list = [];
  }
  expect(cond, message) {
    if (!cond) this.list.push(message);
    return cond;
  }
  add(message) {
    this.list.push(message);
  }
  done() {
    if (this.list.length) throw new Failure(this.list.join('\n'));
  }
}

function fail(message) {
  throw new Failure(message);
}

function describe(e) {
  if (e instanceof Failure) return e.message;
  // Playwright errors carry a call log after the first lines; keep the start of it.
  return String(e && e.stack ? e.message : e)
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .slice(0, 12)
    .join('\n');
}

/** Runs one check with a hard time limit; never throws. */
async function check(name, fn, timeoutMs = CHECK_MS) {
  if (stopped) return false;
  let timer;
  const run = Promise.resolve().then(fn);
  run.catch(() => {}); // a check that timed out may still reject later
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failure(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    await Promise.race([run, limit]);
    report(true, name);
    return true;
  } catch (e) {
    report(false, name, describe(e));
    return false;
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Browser

const external = []; // requests to anything but 127.0.0.1
const cspViolations = []; // console errors about the Content-Security-Policy
let browser;

async function newContext() {
  const ctx = await browser.newContext({
    locale: 'de-DE',
    viewport: { width: 1280, height: 900 },
    serviceWorkers: 'block',
  });
  ctx.setDefaultTimeout(STEP_MS);
  ctx.setDefaultNavigationTimeout(STEP_MS);
  await ctx.route('**/*', (route) => {
    const url = route.request().url();
    let host = '';
    try {
      host = new URL(url).hostname;
    } catch {
      /* unparsable: blocked */
    }
    if (host === '127.0.0.1') return route.continue();
    external.push(url);
    return route.abort('blockedbyclient');
  });
  ctx.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) {
      cspViolations.push(`${msg.location()?.url ?? '?'}: ${msg.text()}`);
    }
  });
  return ctx;
}

async function closeBrowser() {
  if (!browser) return;
  const b = browser;
  browser = undefined;
  await Promise.race([b.close().catch(() => {}), sleep(10_000)]);
}

const deadline = setTimeout(async () => {
  report(false, `whole run within ${DEADLINE_MS / 1000} s`, 'deadline reached; stopping');
  stopped = true;
  await closeBrowser();
  console.log(`ui.mjs: ${passed} passed, ${failed} failed`);
  process.exit(1);
}, DEADLINE_MS);

// ---------------------------------------------------------------------------------------------
// Page helpers

const pathOf = (page) => new URL(page.url()).pathname;
const paramsOf = (page) => new URL(page.url()).searchParams;

/**
 * Matches a field by its label: exactly `text`, or `text` followed by the marker of a required
 * field, "(Pflichtfeld)".
 */
function labelled(text) {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}(?: \\(Pflichtfeld\\))?$`);
}

/** Moves the keyboard focus to the top of the document, as after loading a page. */
async function focusTop(page) {
  await page.evaluate(() => {
    const body = document.body;
    const had = body.hasAttribute('tabindex');
    const old = body.getAttribute('tabindex');
    body.setAttribute('tabindex', '-1');
    body.focus({ preventScroll: true });
    if (had) body.setAttribute('tabindex', old);
    else body.removeAttribute('tabindex');
    window.scrollTo(0, 0);
  });
}

/** What has the keyboard focus, and whether it shows a focus indicator. */
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const cs = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
    const shadow = !!cs.boxShadow && cs.boxShadow !== 'none';
    const labels = el.labels ? [...el.labels].map((l) => l.textContent.replace(/\s+/g, ' ').trim()) : [];
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      text: (el.innerText || el.value || '').replace(/\s+/g, ' ').trim().slice(0, 80),
      href: el.getAttribute('href'),
      labels,
      ariaLabel: el.getAttribute('aria-label'),
      indicator: outline || shadow,
      visible: rect.width > 0 && rect.height > 0,
      style: `outline: ${cs.outlineStyle} ${cs.outlineWidth}; box-shadow: ${cs.boxShadow}`,
    };
  });
}

function showFocus(f) {
  if (!f) return '(nothing)';
  const what = f.href ? ` href=${f.href}` : f.id ? `#${f.id}` : '';
  const name = f.text || f.ariaLabel || f.labels.join(' / ');
  return `<${f.tag}${what}> "${name}"`;
}

/** Problems with the focus indicator of the focused element, if any. */
function focusProblem(f) {
  if (!f) return null;
  if (!f.visible) return `focused element is not visible: ${showFocus(f)}`;
  if (!f.indicator) return `no visible focus indicator on ${showFocus(f)} (${f.style})`;
  return null;
}

/** The visible text under the <h2> named `title`, up to the next <h2>. */
function sectionText(page, title) {
  return page.evaluate((title) => {
    const h = [...document.querySelectorAll('h2')].find(
      (e) => e.textContent.replace(/\s+/g, ' ').trim() === title,
    );
    if (!h) return null;
    const parent = h.parentElement;
    if (parent && parent !== document.body && parent.tagName !== 'MAIN' && parent.querySelectorAll('h2').length === 1) {
      return parent.innerText;
    }
    let text = '';
    for (let n = h.nextElementSibling; n && n.tagName !== 'H2'; n = n.nextElementSibling) {
      text += `${n.innerText}\n`;
    }
    return text;
  }, title);
}

/** Reads "N Treffer" (German digit grouping allowed). */
async function hitCount(page) {
  const loc = page.getByText(/^\s*\d[\d.]*\s+Treffer\s*$/).first();
  if ((await loc.count()) === 0) return null;
  const text = await loc.innerText();
  return Number(text.replace(/[^\d]/g, ''));
}

async function screenshot(page, name) {
  if (!SCREENSHOT_DIR) return;
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true, timeout: STEP_MS });
}

async function runAxe(page) {
  if (await page.evaluate(() => typeof window.axe === 'undefined')) {
    // Not page.addScriptTag: the UI's Content-Security-Policy (rightly) refuses inline scripts.
    // Evaluating through the DevTools protocol is not subject to it.
    await page.evaluate(AXE_SOURCE);
  }
  return page.evaluate(
    (tags) => axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    AXE_TAGS,
  );
}

function showViolations(violations) {
  return violations
    .map((v) => {
      const targets = v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ');
      return `${v.id} (${v.impact}): ${v.help}; ${v.nodes.length} element(s), e.g. ${targets}`;
    })
    .join('\n');
}

/**
 * The shared layout: html lang, one h1, the skip link first in the tab order and targeting
 * main#inhalt, the main navigation. Presses Tab and Enter, so run it last on a page.
 */
async function layoutCheck(page, lang) {
  const p = new Problems();
  const en = lang === 'en';
  const skipText = en ? 'Skip to content' : 'Zum Inhalt springen';
  const navName = en ? 'Main navigation' : 'Hauptnavigation';
  const info = await page.evaluate(() => ({
    lang: document.documentElement.getAttribute('lang'),
    h1: [...document.querySelectorAll('h1')].map((h) => h.textContent.trim()),
    mains: document.querySelectorAll('main').length,
    mainInhalt: !!document.querySelector('main#inhalt'),
    navs: [...document.querySelectorAll('nav')].map((n) => n.getAttribute('aria-label')),
  }));
  p.expect(info.lang === lang, `<html lang="${info.lang}">, expected "${lang}"`);
  p.expect(info.h1.length === 1, `${info.h1.length} <h1> elements (${JSON.stringify(info.h1)}), expected exactly one`);
  p.expect(info.mains === 1 && info.mainInhalt, `expected one <main id="inhalt">, found ${info.mains} <main>, #inhalt on main: ${info.mainInhalt}`);
  p.expect(info.navs.includes(navName), `no <nav aria-label="${navName}"> (navs: ${JSON.stringify(info.navs)})`);

  await focusTop(page);
  await page.keyboard.press('Tab');
  const first = await focused(page);
  if (
    p.expect(
      first && first.tag === 'a' && first.href === '#inhalt' && first.text === skipText,
      `first Tab focuses ${showFocus(first)}, expected the skip link "${skipText}" to #inhalt`,
    )
  ) {
    const fp = focusProblem(first);
    if (fp) p.add(fp);
    await page.keyboard.press('Enter');
    const after = await focused(page);
    p.expect(after && after.tag === 'main' && after.id === 'inhalt', `the skip link moves focus to ${showFocus(after)}, expected <main id="inhalt">`);
  }
  p.done();
}

/** A short name for a path in the report. */
function short(path) {
  return path.split(PRODUCT_ID).join('<product>').split(ORG_ID).join('<org>');
}

/**
 * Checks the page that is currently shown: status, screenshot and axe, layout. One report line
 * each, named after `label`.
 */
async function auditCurrent(page, label, { status, expect = '2xx', shot, lang = 'de' }) {
  await check(`${label}: status ${expect === '2xx' ? status : expect}`, () => {
    const ok = expect === '2xx' ? status >= 200 && status < 300 : status === expect;
    if (!ok) fail(`status ${status} at ${page.url()}, expected ${expect}`);
  });
  await check(`${label}: axe WCAG 2.1 A/AA${shot && SCREENSHOT_DIR ? ` (screenshot ${shot}.png)` : ''}`, async () => {
    if (shot) await screenshot(page, shot);
    const r = await runAxe(page);
    if (r.violations.length) fail(`${r.violations.length} violation(s) at ${page.url()}:\n${showViolations(r.violations)}`);
  });
  await check(`${label}: layout (lang, h1, skip link, navigation)`, () => layoutCheck(page, lang));
}

/** Opens `url` and audits it. */
async function visit(page, url, label, opts = {}) {
  let status = 0;
  let error = null;
  try {
    const resp = await page.goto(url, { waitUntil: 'load' });
    status = resp ? resp.status() : 0;
  } catch (e) {
    error = e;
  }
  if (error) report(false, `${label}: opens`, describe(error));
  else await auditCurrent(page, label, { ...opts, status });
}

// ---------------------------------------------------------------------------------------------
// The flows

async function signInFlow(page) {
  await check('sign in: publishing needs a session, the one-time login link opens one', async () => {
    const p = new Problems();
    await page.goto(`${A}/produkte/neu`);
    if (pathOf(page) !== '/anmelden') p.add(`/produkte/neu without a session went to ${pathOf(page)}, not /anmelden`);
    const resp = await page.goto(A_LOGIN_URL);
    if (pathOf(page) !== '/') p.add(`the login link led to ${pathOf(page)} (status ${resp ? resp.status() : 0}), not /`);
    if ((await page.getByRole('button', { name: 'Abmelden', exact: true }).count()) !== 1) p.add('no "Abmelden" after signing in');
    const again = await page.goto(A_LOGIN_URL);
    if (!again || again.status() !== 401) p.add(`a second use of the link answered ${again ? again.status() : 0}, not 401`);
    await page.goto(`${A}/produkte/neu`);
    if (pathOf(page) !== '/produkte/neu') p.add(`with the session /produkte/neu went to ${pathOf(page)}`);
    p.done();
  });
}

async function searchFlow(page) {
  await check('search: German query "Baugenehmigung" from the start page', async () => {
    const p = new Problems();
    await page.goto(`${A}/`);
    await page.getByLabel(labelled('Suchbegriff')).fill('Baugenehmigung');
    await page.getByRole('button', { name: 'Suchen', exact: true }).click();
    await page.waitForURL((u) => u.pathname === '/produkte' && u.searchParams.has('q'));
    p.expect(paramsOf(page).get('q') === 'Baugenehmigung', `q=${paramsOf(page).get('q')}, expected Baugenehmigung`);
    const n = await hitCount(page);
    p.expect(n !== null && n >= 1, `"N Treffer" with N ≥ 1 not found (got ${n})`);
    const items = page.locator('ol.treffer > li');
    const count = await items.count();
    p.expect(count >= 1, 'no <ol class="treffer"> with items');
    for (let i = 0; i < count; i++) {
      const href = await items.nth(i).locator('h2 a').first().getAttribute('href').catch(() => null);
      p.expect(href && /^\/produkte\/[0-9a-f]{64}$/.test(href), `hit ${i + 1} has no h2 link to /produkte/<id> (href ${href})`);
    }
    const link = page.locator('ol.treffer').getByRole('link', { name: PRODUCT_NAME, exact: true });
    if (p.expect((await link.count()) === 1, `"${PRODUCT_NAME}" is not listed exactly once`)) {
      p.expect((await link.getAttribute('href')) === `/produkte/${PRODUCT_ID}`, `link to "${PRODUCT_NAME}" points to ${await link.getAttribute('href')}`);
    }
    p.done();
  });

  await check('search: facet panel with headed sections and counted links', async () => {
    const p = new Problems();
    const aside = page.locator('aside[aria-label="Filter"]');
    if ((await aside.count()) !== 1) fail('no <aside aria-label="Filter">');
    p.expect((await page.getByRole('complementary', { name: 'Filter', exact: true }).count()) === 1, 'the facet panel is not exposed as landmark "Filter"');
    const sections = aside.locator('section');
    const headings = [];
    for (let i = 0; i < (await sections.count()); i++) {
      const hs = await sections.nth(i).locator('h2').allInnerTexts();
      p.expect(hs.length === 1, `facet section ${i + 1} has ${hs.length} <h2>`);
      headings.push(...hs.map((h) => h.trim()));
    }
    for (const h of ['Art', 'Lizenz', 'Standard', 'Aufgabe', 'Open Source']) {
      p.expect(headings.includes(h), `no facet section "${h}" (found: ${headings.join(', ')})`);
    }
    const names = await aside.getByRole('link').evaluateAll((els) =>
      els.map((e) => (e.getAttribute('aria-label') || e.textContent).replace(/\s+/g, ' ').trim()),
    );
    p.expect(names.length > 0, 'no facet links');
    for (const n of names) p.expect(/^\S.* \(\d[\d.]*\)$/.test(n), `facet link "${n}" is not "<label> (<count>)"`);
    p.done();
  });

  await check('search: facet "Onlinedienst" narrows and can be removed', async () => {
    const p = new Problems();
    await page.locator('aside[aria-label="Filter"]').getByRole('link', { name: /^Onlinedienst \(/ }).first().click();
    await page.waitForURL((u) => u.searchParams.getAll('kind').includes('onlinedienst'));
    p.expect(paramsOf(page).get('q') === 'Baugenehmigung', `the query was lost: ${page.url()}`);
    p.expect((await page.locator('ol.treffer').getByRole('link', { name: PRODUCT_NAME, exact: true }).count()) === 1, `"${PRODUCT_NAME}" no longer listed`);
    const remove = page.getByRole('link', { name: 'Filter entfernen: Art Onlinedienst', exact: true });
    if (p.expect((await remove.count()) === 1, 'no link "Filter entfernen: Art Onlinedienst"')) {
      const href = new URL(await remove.getAttribute('href'), page.url());
      p.expect(!href.searchParams.getAll('kind').includes('onlinedienst'), `the remove link keeps the filter: ${href}`);
      p.expect(href.searchParams.get('q') === 'Baugenehmigung', `the remove link drops the query: ${href}`);
    }
    p.done();
  });
}

async function productFlow(page) {
  await check('product: open from the results', async () => {
    const p = new Problems();
    if (pathOf(page) !== '/produkte') await page.goto(`${A}/produkte?q=Baugenehmigung&kind=onlinedienst`);
    await page.locator('ol.treffer').getByRole('link', { name: PRODUCT_NAME, exact: true }).click();
    await page.waitForURL((u) => u.pathname === `/produkte/${PRODUCT_ID}`);
    const h1 = (await page.locator('h1').allInnerTexts()).map((s) => s.trim());
    p.expect(h1.length === 1 && h1[0] === PRODUCT_NAME, `h1 is ${JSON.stringify(h1)}, expected "${PRODUCT_NAME}"`);
    const h2 = (await page.locator('h2').allInnerTexts()).map((s) => s.trim());
    for (const s of ['Beschreibung', 'Einsätze', 'Bewertungen', 'Nachnutzungsberichte', 'Interoperabilität', 'Ähnliche Produkte']) {
      p.expect(h2.includes(s), `no h2 "${s}" (found: ${h2.join(', ')})`);
    }
    const desc = await sectionText(page, 'Beschreibung');
    p.expect(desc && desc.includes('Baugenehmigung'), 'the description is not shown under "Beschreibung"');
    p.done();
  });
}

async function ratingFlow(ctx, page) {
  const text = `Browsertest ${Date.now()}: läuft stabil`;
  let published = false;

  await check('rating: the form on node A has every labelled field', async () => {
    const p = new Problems();
    await page.goto(`${A}/produkte/${PRODUCT_ID}`);
    await page.getByRole('link', { name: 'Produkt bewerten', exact: true }).click();
    await page.waitForURL((u) => u.pathname === `/produkte/${PRODUCT_ID}/bewerten`);
    for (const label of ['Funktionalität', 'Bedienbarkeit', 'Interoperabilität', 'Support', 'Stabilität', 'Preis-Leistung', 'Barrierefreiheit']) {
      const sel = page.getByLabel(labelled(label));
      const n = await sel.count();
      if (!p.expect(n === 1, `${n} fields labelled "${label}", expected one select`)) continue;
      const opts = await sel.evaluate((e) => ({
        tag: e.tagName,
        values: e.tagName === 'SELECT' ? [...e.options].map((o) => o.value) : [],
        first: e.tagName === 'SELECT' && e.options.length ? e.options[0].textContent.trim() : '',
      }));
      p.expect(opts.tag === 'SELECT', `"${label}" is a <${opts.tag.toLowerCase()}>, expected <select>`);
      p.expect(JSON.stringify(opts.values) === JSON.stringify(['', '1', '2', '3', '4', '5']), `"${label}" options ${JSON.stringify(opts.values)}`);
      p.expect(/^keine Angabe$/i.test(opts.first), `"${label}" first option is "${opts.first}", expected "keine Angabe"`);
    }
    const group = page.getByRole('group', { name: 'Würden Sie das Produkt weiterempfehlen?', exact: true });
    if (p.expect((await group.count()) === 1, 'no fieldset with legend "Würden Sie das Produkt weiterempfehlen?"')) {
      for (const r of ['Ja', 'Nein', 'Keine Angabe']) {
        p.expect((await group.getByRole('radio', { name: r, exact: true }).count()) === 1, `no radio "${r}" in the group`);
      }
    }
    const tag = async (label) => {
      const l = page.getByLabel(labelled(label));
      return (await l.count()) === 1 ? l.evaluate((e) => e.tagName) : `${await l.count()} matches`;
    };
    p.expect((await tag('Erfahrungsbericht')) === 'TEXTAREA', `"Erfahrungsbericht" is ${await tag('Erfahrungsbericht')}, expected a textarea`);
    p.expect((await tag('Im Einsatz seit')) === 'INPUT', `"Im Einsatz seit" is ${await tag('Im Einsatz seit')}, expected an input`);
    p.expect((await page.getByRole('button', { name: 'Bewertung veröffentlichen', exact: true }).count()) === 1, 'no button "Bewertung veröffentlichen"');
    p.done();
  });

  await check('rating: publish on node A', async () => {
    if (pathOf(page) !== `/produkte/${PRODUCT_ID}/bewerten`) await page.goto(`${A}/produkte/${PRODUCT_ID}/bewerten`);
    await page.getByLabel(labelled('Funktionalität')).selectOption('4');
    await page.getByLabel(labelled('Bedienbarkeit')).selectOption('5');
    await page.getByRole('group', { name: 'Würden Sie das Produkt weiterempfehlen?' }).getByRole('radio', { name: 'Ja', exact: true }).check();
    await page.getByLabel(labelled('Erfahrungsbericht')).fill(text);
    await page.getByRole('button', { name: 'Bewertung veröffentlichen', exact: true }).click();
    await page.waitForURL((u) => u.pathname === `/produkte/${PRODUCT_ID}`);
    const status = page.getByRole('status').filter({ hasText: 'Bewertung veröffentlicht' });
    if ((await status.count()) === 0) {
      fail(`no role="status" message "Bewertung veröffentlicht" at ${page.url()}; status texts: ${JSON.stringify(await page.getByRole('status').allInnerTexts())}`);
    }
    const shown = await sectionText(page, 'Bewertungen');
    if (!shown || !shown.includes(text)) fail(`the text is not shown under "Bewertungen" on node A:\n${(shown ?? '(no section)').slice(0, 400)}`);
    published = true;
    await screenshot(page, 'produkt-bewertet');
  });

  await check('rating: arrives on node B within 20 s', async () => {
    if (!published) fail('not published on node A');
    const pageB = await ctx.newPage();
    try {
      const until = Date.now() + 20_000;
      let last = '';
      let status = 0;
      await pageB.goto(`${B}/produkte/${PRODUCT_ID}`).then((r) => (status = r ? r.status() : 0));
      for (;;) {
        const shown = status === 200 ? await sectionText(pageB, 'Bewertungen') : null;
        if (shown && shown.includes(text)) break;
        last = shown ?? `(status ${status}, no "Bewertungen" section)`;
        if (Date.now() > until) fail(`not on node B after 20 s; its "Bewertungen" section:\n${last.slice(0, 400)}`);
        await sleep(500);
        const r = await pageB.reload();
        status = r ? r.status() : 0;
      }
      await screenshot(pageB, 'produkt-knoten-b');
    } finally {
      await pageB.close().catch(() => {});
    }
  }, 45_000);
}

async function badInputFlow(page) {
  const typed = { Name: 'Browsertest Fachverfahren', Hersteller: 'Muster GmbH', Beschreibung: 'Ein Test mit Umlauten: äöü' };
  let response = null;

  await check('bad input: the product form refuses "EUPL 1.2" with 422', async () => {
    const p = new Problems();
    await page.goto(`${A}/produkte/neu`);
    const fieldTag = async (label) => {
      const l = page.getByLabel(labelled(label));
      const n = await l.count();
      return n === 1 ? l.evaluate((e) => e.tagName.toLowerCase()) : `${n} fields`;
    };
    for (const [label, tag] of [
      ['Name', 'input'],
      ['Hersteller', 'input'],
      ['Art', 'select'],
      ['Beschreibung', 'textarea'],
      ['Lizenz (SPDX-Kennung)', 'input'],
      ['Aufgaben', 'textarea'],
      ['Standards und Schnittstellen', 'textarea'],
    ]) {
      const got = await fieldTag(label);
      p.expect(got === tag, `field "${label}": ${got}, expected one <${tag}>`);
    }
    for (const [label, value] of Object.entries(typed)) await page.getByLabel(labelled(label)).fill(value);
    const art = page.getByLabel(labelled('Art'));
    const labels = await art.evaluate((e) => [...e.options].map((o) => o.textContent.trim()));
    if (labels.includes('Fachverfahren')) await art.selectOption({ label: 'Fachverfahren' });
    await page.getByLabel(labelled('Lizenz (SPDX-Kennung)')).fill('EUPL 1.2');
    const invalid = await page.evaluate(() =>
      [...document.querySelectorAll('form input, form select, form textarea')]
        .filter((e) => !e.checkValidity())
        .map((e) => `${e.name}: ${e.validationMessage}`),
    );
    if (invalid.length) fail(`the browser would not submit the form (HTML validation): ${invalid.join('; ')}`);
    const describedBefore = (await page.getByLabel(labelled('Lizenz (SPDX-Kennung)')).getAttribute('aria-describedby')) || '';
    const waitPost = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/produkte/neu');
    await page.getByRole('button', { name: 'Produkt anlegen', exact: true }).click();
    response = await waitPost;
    await page.waitForLoadState('load');
    p.expect(response.status() === 422, `status ${response.status()}, expected 422 (now at ${page.url()})`);
    p.expect((await page.getByRole('alert').count()) >= 1, 'no error summary with role="alert"');
    const licence = page.getByLabel(labelled('Lizenz (SPDX-Kennung)'));
    if ((await licence.count()) === 1) {
      p.expect((await licence.getAttribute('aria-invalid')) === 'true', 'the licence field is not aria-invalid="true"');
      // The message must be new with the error (a hint described the field before).
      const before = describedBefore.split(/\s+/).filter(Boolean);
      const described = await licence.evaluate(
        (e, before) =>
          (e.getAttribute('aria-describedby') || '')
            .split(/\s+/)
            .filter((id) => id && !before.includes(id))
            .map((id) => document.getElementById(id)?.textContent.trim() ?? `(missing #${id})`),
        before,
      );
      p.expect(described.some((t) => /Lizenz|SPDX|licen/i.test(t)), `no message about the licence added to aria-describedby of the licence field (new: ${JSON.stringify(described)})`);
      p.expect((await licence.inputValue()) === 'EUPL 1.2', `the licence field now holds "${await licence.inputValue()}"`);
    } else {
      p.add('the licence field is gone from the error page');
    }
    for (const [label, value] of Object.entries(typed)) {
      const l = page.getByLabel(labelled(label));
      const got = (await l.count()) === 1 ? await l.inputValue() : '(field missing)';
      p.expect(got === value, `"${label}" holds "${got}", expected "${value}"`);
    }
    p.done();
  });

  if (response) await auditCurrent(page, 'page /produkte/neu after bad input', { status: response.status(), expect: 422, shot: 'produkt-neu-fehler' });

  let pickerStatus = 0;
  await check('task picker: find a LeiKa task by part of its name and add it, keeping what was typed', async () => {
    await page.goto(`${A}/produkte/neu`);
    await page.getByLabel(labelled('Name')).fill('Picker-Test');
    await page.getByLabel(labelled('Suchbegriff')).fill('abbruchgenehmigung');
    await page.getByRole('button', { name: 'Aufgaben suchen', exact: true }).click();
    await page.waitForLoadState('load');
    const box = page.getByRole('checkbox', { name: /^Abbruchgenehmigung \(LeiKa 99012001000000/ });
    const n = await box.count();
    if (n !== 1) fail(`${n} check boxes "Abbruchgenehmigung (LeiKa 99012001000000 …)" after the search`);
    await box.check();
    const waitPost = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/produkte/neu');
    await page.getByRole('button', { name: 'Ausgewählte Aufgaben übernehmen', exact: true }).click();
    pickerStatus = (await waitPost).status();
    await page.waitForLoadState('load');
    const tasks = await page.getByLabel(labelled('Aufgaben')).inputValue();
    if (!tasks.split('\n').includes('99012001000000')) fail(`the tasks field holds ${JSON.stringify(tasks)}`);
    const name = await page.getByLabel(labelled('Name')).inputValue();
    if (name !== 'Picker-Test') fail(`the name typed before the search reads "${name}"`);
    if (pickerStatus !== 200) fail(`status ${pickerStatus} after taking the task, expected 200`);
  });
  if (pickerStatus) await auditCurrent(page, 'page /produkte/neu with the task picker', { status: pickerStatus, expect: 200, shot: 'aufgaben-auswahl' });

  await check('bad input: nothing was created', async () => {
    await page.goto(`${A}/produkte?q=Browsertest`);
    const n = await hitCount(page);
    if (n !== 0) fail(`"${A}/produkte?q=Browsertest" shows ${n} Treffer, expected 0`);
  });
}

async function keyboardFlow(page) {
  await check('keyboard: Tab reaches "Produkt bewerten", Enter opens the form, Tab reaches "Funktionalität"', async () => {
    const p = new Problems();
    await page.goto(`${A}/produkte/${PRODUCT_ID}`);
    await focusTop(page);
    let found = false;
    for (let i = 0; i < 60 && !found; i++) {
      await page.keyboard.press('Tab');
      const f = await focused(page);
      const fp = focusProblem(f);
      if (fp) p.add(fp);
      found = !!f && f.tag === 'a' && f.text === 'Produkt bewerten';
    }
    if (!found) fail(`"Produkt bewerten" not reached with 60 Tabs\n${p.list.join('\n')}`);
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === `/produkte/${PRODUCT_ID}/bewerten`);
    found = false;
    for (let i = 0; i < 40 && !found; i++) {
      await page.keyboard.press('Tab');
      const f = await focused(page);
      const fp = focusProblem(f);
      if (fp) p.add(fp);
      found = !!f && f.tag === 'select' && (f.labels.some((l) => l.startsWith('Funktionalität')) || f.ariaLabel === 'Funktionalität');
    }
    p.expect(found, 'the select "Funktionalität" not reached with 40 Tabs');
    p.done();
  });
}

async function pageSweep(page) {
  const pages = [
    ['/', 'start'],
    ['/produkte', 'produkte'],
    ['/produkte?q=Baugenehmigung&kind=onlinedienst', 'produkte-suche'],
    [`/produkte/${PRODUCT_ID}`, 'produkt'],
    [`/produkte/${PRODUCT_ID}/bewerten`, 'bewerten'],
    ['/produkte/neu', 'produkt-neu'],
    [`/produkte/${PRODUCT_ID}/bearbeiten`, 'produkt-bearbeiten'],
    [`/einsaetze/neu?produkt=${PRODUCT_ID}`, 'einsatz-neu'],
    [`/nachnutzung/neu?produkt=${PRODUCT_ID}`, 'nachnutzung-neu'],
    ['/schulungen', 'schulungen'],
    [`/schulungen/neu?produkt=${PRODUCT_ID}`, 'schulung-neu'],
    ['/organisationen', 'organisationen'],
    [`/organisationen/${ORG_ID}`, 'organisation'],
    ['/aufgaben', 'aufgaben'],
    [`/aufgaben/${encodeURIComponent(TASK)}`, 'aufgabe'],
    ['/interoperabilitaet', 'interoperabilitaet'],
    ['/doppelentwicklungen', 'doppelentwicklungen'],
    ['/abdeckung', 'abdeckung'],
    ['/abdeckung?nach=kreis', 'abdeckung-kreis'],
    ['/kreise/05358', 'kreis'],
    ['/ozg-leistungen', 'ozg-leistungen'],
    ['/quellen', 'quellen'],
    ['/netzwerk', 'netzwerk'],
    ['/vertrauen', 'vertrauen'],
    ['/einstellungen', 'einstellungen'],
    ['/schluessel', 'schluessel'],
    ['/produkte/import', 'publiccode-import'],
  ];
  for (const [path, shot] of pages) await visit(page, `${A}${path}`, `page ${short(path)}`, { shot });
  await check('coverage: every Land with its Gemeinden as denominator', async () => {
    await page.goto(`${A}/abdeckung`);
    const rows = await page.locator('table tbody tr').count();
    if (rows !== 16) fail(`${rows} rows on /abdeckung, expected the 16 Länder`);
    const nrw = await page.locator('table tbody tr').filter({ hasText: 'Nordrhein-Westfalen' }).innerText();
    if (!/von 396/.test(nrw)) fail(`the NRW row does not count its 396 Gemeinden: ${nrw}`);
  });
  await check('Kreis page: its Gemeinden from the Gemeindeverzeichnis', async () => {
    await page.goto(`${A}/kreise/05358`);
    const h1 = (await page.locator('h1').innerText()).trim();
    if (!h1.startsWith('Düren')) fail(`h1 is "${h1}", expected Düren`);
    const names = await page.locator('table tbody th').allInnerTexts();
    if (!names.includes('Düren, Stadt') || names.length !== 15) fail(`Gemeinden listed: ${JSON.stringify(names)}`);
  });
  await visit(page, `${A}/gibt-es-nicht`, 'page /gibt-es-nicht', { expect: 404, shot: 'nicht-gefunden' });
}

/**
 * The steward's side of a proposal: node A's organisation looks after PRODUCT_ID, and an
 * attested organisation proposed to rename it. The product page lists the proposal with a
 * diff and the author's badge; the steward accepts it; node A and then node B show the new
 * name; the history lists both changes. Every page passes axe.
 */
async function stewardshipFlow(page) {
  const proposal = () => page.locator('article.proposal').filter({ hasText: PROPOSED_NAME });
  await check('stewardship: sign in on node A with the one-time login link', async () => {
    await page.goto(A_LOGIN_URL);
    if ((await page.getByRole('button', { name: 'Abmelden', exact: true }).count()) !== 1) fail('no "Abmelden" after signing in');
  });
  await visit(page, `${A}/produkte/${PRODUCT_ID}`, 'stewardship: product page with a proposal', { shot: 'produkt-vorschlag' });
  await check('stewardship: the proposal shows its diff, its author and the verified badge', async () => {
    const p = new Problems();
    const h1 = (await page.locator('h1').innerText()).trim();
    p.expect(h1 === PRODUCT_NAME, `h1 is "${h1}" before accepting, expected "${PRODUCT_NAME}"`);
    const n = await proposal().count();
    if (!p.expect(n === 1, `${n} proposals naming "${PROPOSED_NAME}", expected one`)) p.done();
    const text = await proposal().innerText();
    p.expect(text.includes(PROPOSER_NAME), `the proposal does not name its author "${PROPOSER_NAME}":\n${text.slice(0, 400)}`);
    p.expect(text.includes('verifiziert') && !text.includes('nicht verifiziert'), 'the author has no "verifiziert" badge');
    p.expect(text.includes(PRODUCT_NAME), `the diff does not show the current name "${PRODUCT_NAME}"`);
    const ins = await proposal().locator('ins').allInnerTexts();
    p.expect(ins.some((t) => t.includes(PROPOSED_NAME)), `no <ins> with the proposed name (found ${JSON.stringify(ins)})`);
    p.expect((await proposal().getByRole('button', { name: 'Vorschlag übernehmen', exact: true }).count()) === 1, 'no button "Vorschlag übernehmen"');
    p.done();
  });
  let accepted = false;
  await check('stewardship: the steward accepts the proposal', async () => {
    await proposal().getByRole('button', { name: 'Vorschlag übernehmen', exact: true }).click();
    await page.waitForURL((u) => u.pathname === `/produkte/${PRODUCT_ID}`);
    const status = page.getByRole('status').filter({ hasText: 'Vorschlag übernommen' });
    if ((await status.count()) === 0) fail(`no role="status" message "Vorschlag übernommen" at ${page.url()}`);
    const h1 = (await page.locator('h1').innerText()).trim();
    if (h1 !== PROPOSED_NAME) fail(`h1 is "${h1}" after accepting, expected "${PROPOSED_NAME}"`);
    if ((await proposal().count()) !== 0) fail('the accepted proposal is still listed as open');
    accepted = true;
  });
  await auditCurrent(page, 'stewardship: product page after accepting', { status: 200, shot: 'produkt-angenommen' });
  await visit(page, `${A}/produkte/${PRODUCT_ID}/verlauf`, 'stewardship: history page', { shot: 'produkt-verlauf' });
  await check('stewardship: the history lists the proposal and the steward taking it over', async () => {
    const text = await page.locator('main').innerText();
    const p = new Problems();
    p.expect(text.includes(PROPOSER_NAME), `the history does not name "${PROPOSER_NAME}"`);
    p.expect(text.includes('Vorschlag'), 'no change marked "Vorschlag"');
    p.expect(text.includes('übernimmt Vorschlag'), 'no change marked "übernimmt Vorschlag"');
    p.done();
  });
  await check('stewardship: node B shows the accepted name within 20 s', async () => {
    if (!accepted) fail('not accepted on node A');
    const until = Date.now() + 20_000;
    let h1 = '';
    while (Date.now() < until) {
      const resp = await page.goto(`${B}/produkte/${PRODUCT_ID}`);
      h1 = resp && resp.ok() ? (await page.locator('h1').innerText()).trim() : `status ${resp ? resp.status() : 0}`;
      if (h1 === PROPOSED_NAME) return;
      await sleep(500);
    }
    fail(`node B still shows "${h1}"`);
  }, 30_000);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const launched = await check('launch Chromium', async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    console.log(`# ${CHROMIUM} ${browser.version()}`);
  });
  if (!launched) return;

  const ctx = await newContext();
  const page = await ctx.newPage();
  if (FLOW === 'stewardship') {
    await stewardshipFlow(page);
    await ctx.close();
    await check('the browser loaded nothing from outside 127.0.0.1', () => {
      if (external.length) fail(`blocked requests:\n${[...new Set(external)].join('\n')}`);
    });
    return;
  }
  await signInFlow(page);
  await searchFlow(page);
  await productFlow(page);
  await ratingFlow(ctx, page);
  await badInputFlow(page);
  await keyboardFlow(page);
  await pageSweep(page);
  await ctx.close();

  // English in a fresh context: ?lang=en sets a cookie that would switch every later page.
  const en = await newContext();
  await visit(await en.newPage(), `${A}/?lang=en`, 'page /?lang=en', { lang: 'en', shot: 'start-en' });
  await en.close();

  await check('the browser loaded nothing from outside 127.0.0.1', () => {
    if (external.length) fail(`blocked requests:\n${[...new Set(external)].join('\n')}`);
  });
  await check('no Content-Security-Policy violations', () => {
    if (cspViolations.length) fail([...new Set(cspViolations)].join('\n'));
  });
}

process.on('unhandledRejection', (e) => console.log(`# unhandled rejection: ${describe(e)}`));

try {
  await main();
} catch (e) {
  report(false, 'browser test run', describe(e));
} finally {
  clearTimeout(deadline);
  await closeBrowser();
}
if (SCREENSHOT_DIR) console.log(`# screenshots in ${SCREENSHOT_DIR}`);
console.log(`ui.mjs: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
