// Browser test of the Nachbarvergleich pages (/vergleich, /organisationen/{id}/vergleich)
// against the running demo network (`allmende demo`), in a real headless Chromium driven by
// playwright-core, with axe-core (WCAG 2.1 A/AA) on every page visited.
//
// Run by `integration-tests/tests/vergleich.rs`, which starts the demo and sets:
//   BASE_URL   the demo's web UI (http://127.0.0.1:PORT), served by the KRZ West's node, which
//              hosts Hellenthal, Dahlem and Nettersheim
//   CHROMIUM   the browser binary (default /usr/bin/chromium)
//   VERGLEICH_DEADLINE_SECS  hard limit for the whole run (default 120)
//
// Prints "ok - …" / "not ok - …" lines and exits with 1 if any check failed, 2 on bad input.
// The browser loads nothing but 127.0.0.1.

import { axe, check, expect, runLocal } from './checks.mjs';

const STEP_MS = 15_000;
const DEADLINE_MS = (Number(process.env.VERGLEICH_DEADLINE_SECS) || 120) * 1000;

const raw = (process.env.BASE_URL || '').replace(/\/+$/, '');
let base;
try {
  base = new URL(raw);
} catch {
  console.error(`vergleich.mjs: BASE_URL=${raw} is not a URL`);
  process.exit(2);
}
if (base.protocol !== 'http:' || base.hostname !== '127.0.0.1') {
  console.error(`vergleich.mjs: BASE_URL=${raw} must be http://127.0.0.1:PORT`);
  process.exit(2);
}
const BASE = raw;

/** Hellenthal's organisation id, once chosen in the form. */
let hellenthal = '';

/** Loads `url` until `ready(page)` holds (the demo's nodes may still be syncing). */
async function until(page, url, ready, what, ms = 45_000) {
  const end = Date.now() + ms;
  for (;;) {
    const res = await page.goto(url);
    expect(res && res.status() === 200, `${url}: status ${res && res.status()}`);
    if (await ready(page)) return;
    if (Date.now() > end) throw new Error(`${url}: ${what} did not appear within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

runLocal('vergleich.mjs', { stepMs: STEP_MS, deadlineMs: DEADLINE_MS }, async (page) => {
  await check('the navigation leads to the comparison of the own organisation', async () => {
    await page.goto(`${BASE}/`);
    await page.getByRole('navigation').getByRole('link', { name: 'Nachbarvergleich' }).first().click();
    expect(new URL(page.url()).pathname === '/vergleich', `at ${page.url()}`);
    const h1 = await page.locator('h1').innerText();
    expect(h1.includes('Nachbarvergleich') && h1.includes('Rechenzentrum West'), `h1: ${h1}`);
    // The IT-Dienstleister has no AGS: Kreis and size class are marked as impossible, the Land works.
    const nav = await page.getByRole('navigation', { name: 'Vergleichsgruppe' }).innerText();
    expect(nav.includes('Gleicher Kreis (nicht möglich)'), `switcher: ${nav}`);
    const current = page.locator('nav[aria-label="Vergleichsgruppe"] a[aria-current="page"]');
    expect((await current.innerText()).includes('Gleiches Land'), 'the Land group is current');
    expect((await page.locator('script').count()) === 0, 'the page needs no JavaScript');
    await axe(page);
  });

  await check('a hosted Gemeinde is chosen in the form and compared with its Kreis', async () => {
    await page.goto(`${BASE}/vergleich`);
    await page.getByLabel('Organisation', { exact: true }).selectOption({ label: 'Demo: Gemeinde Hellenthal' });
    await page.getByRole('button', { name: 'Vergleichen' }).click();
    const org = new URL(page.url()).searchParams.get('org');
    expect(/^[0-9a-f]{64}$/.test(org || ''), `org parameter: ${page.url()}`);
    hellenthal = org;
    // The Kreis's own deployments arrive by sync; Nettersheim and Dahlem are local.
    await until(
      page,
      `${BASE}/vergleich?org=${org}&gruppe=kreis`,
      async (p) => (await p.locator('body').innerText()).includes('Baugenehmigung Digital'),
      "the Kreis's deployments",
    );
    const body = await page.locator('body').innerText();
    expect(body.includes('Kreis Euskirchen (05366)'), 'the group is named');
    const missing = page.locator('h3:has-text("Aufgaben ohne eigenes Produkt") + ul');
    expect((await missing.innerText()).includes('Bauantrag'), 'Bauantrag is a task without own product');
    const left = await page.locator('h3:has-text("Produkte, von denen Nachbarn abgerückt sind") + ul').innerText();
    expect(/Sitzungsdienst Kommunal: [23] Nachbarn haben es abgelöst/.test(left), `left: ${left}`);
    // The table per task: headers with scope, the own product marked.
    const table = page.locator('section:has(h3:text-is("Meldewesen")) table');
    expect((await table.locator('th[scope="col"]').count()) >= 8, 'column headers');
    const row = table.locator('tr:has(th:has-text("Meldewesen Plus"))');
    expect((await row.locator('td').first().innerText()).trim() === 'ja', 'Meldewesen Plus is mine');
    await axe(page);
  });

  await check('the chart is an accessible image whose table repeats its numbers', async () => {
    const svg = page.locator('figure.chart svg[role="img"]');
    expect((await svg.count()) === 1, 'one chart');
    const title = await svg.locator('title').textContent();
    const desc = await svg.locator('desc').textContent();
    expect(title.includes('je Aufgabe'), `title: ${title}`);
    expect(desc.includes('Bauantrag') && /\d von \d/.test(desc), `desc: ${desc}`);
    const labelled = await svg.getAttribute('aria-labelledby');
    expect(labelled && labelled.split(' ').length === 2, 'labelled by title and desc');
  });

  await check('the size class switcher compares with Gemeinden of the same size', async () => {
    await page.getByRole('navigation', { name: 'Vergleichsgruppe' }).getByRole('link', { name: 'Gleiche Größenklasse' }).click();
    expect(new URL(page.url()).searchParams.get('gruppe') === 'groesse', page.url());
    const facts = await page.locator('dl.facts').innerText();
    expect(facts.includes('5.000 bis unter 10.000 Einwohner'), `facts: ${facts}`);
    expect(facts.includes('7.797'), 'the official population');
    await axe(page);
  });

  await check('the organisation page links to its comparison; bad input gets a clear 400', async () => {
    // The switcher's links stay on /organisationen/{id}/vergleich for another organisation.
    const org = hellenthal;
    expect(org, 'Hellenthal was chosen before');
    await page.goto(`${BASE}/organisationen/${org}`);
    await page.getByRole('link', { name: /^Nachbarvergleich: was vergleichbare/ }).click();
    expect(new URL(page.url()).pathname === `/organisationen/${org}/vergleich`, page.url());
    expect((await page.locator('h1').innerText()).includes('Hellenthal'), 'h1 names Hellenthal');
    await axe(page);
    const res = await page.goto(`${BASE}/organisationen/${org}/vergleich?gruppe=stadt`);
    expect(res.status() === 400, `status ${res.status()}`);
    expect((await page.locator('body').innerText()).includes('gruppe'), 'the message names the field');
  });

  await check('a group that cannot be formed is explained on the page', async () => {
    await page.goto(`${BASE}/vergleich?gruppe=kreis`);
    const alert = await page.getByRole('alert').innerText();
    expect(alert.includes('Gemeindeschlüssel'), `alert: ${alert}`);
    await axe(page);
  });
});
