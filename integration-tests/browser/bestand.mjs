// Browser test of the inventory import (Bestandsaufnahme, /bestand): upload a spreadsheet,
// read the preview (column mapping, matches, errors by sheet, row and column), decide the open
// rows and import it, in a real headless Chromium driven by playwright-core, with axe-core
// (WCAG 2.1 A/AA) on the upload form, the preview and the result.
//
// Run by `integration-tests/tests/bestand.rs`, which starts a node and sets:
//   BASE_URL     the node's web UI (http://127.0.0.1:PORT)
//   LOGIN_URL    a one-time login link of that node (publishing needs a session)
//   FILE         the spreadsheet to upload (the 200-row messy fixture)
//   CHROMIUM     the browser binary (default /usr/bin/chromium)
//   BESTAND_DEADLINE_SECS  hard limit for the whole run (default 120)
//
// Prints "ok - …" / "not ok - …" lines and exits with 1 if any check failed, 2 on bad input.
// The browser loads nothing but 127.0.0.1.

import { existsSync } from 'node:fs';
import { axe, check, expect, runLocal } from './checks.mjs';

const STEP_MS = 15_000;
const DEADLINE_MS = (Number(process.env.BESTAND_DEADLINE_SECS) || 120) * 1000;

const BASE = (process.env.BASE_URL || '').replace(/\/+$/, '');
const LOGIN_URL = process.env.LOGIN_URL || '';
const FILE = process.env.FILE || '';
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(BASE) || !LOGIN_URL.startsWith(`${BASE}/anmelden?token=`) || !existsSync(FILE)) {
  console.error(`bestand.mjs: need BASE_URL=http://127.0.0.1:PORT, its LOGIN_URL and an existing FILE`);
  process.exit(2);
}

runLocal('bestand.mjs', { stepMs: STEP_MS, deadlineMs: DEADLINE_MS }, async (page) => {
  await page.goto(LOGIN_URL);

  await check('the upload form is accessible and says nothing is written before the import', async () => {
    const res = await page.goto(`${BASE}/bestand`);
    expect(res && res.status() === 200, `status ${res && res.status()}`);
    const lead = await page.locator('p.lead').innerText();
    expect(lead.includes('Importieren'), `lead: ${lead}`);
    expect((await page.locator('script').count()) === 0, 'the page needs no JavaScript');
    await axe(page);
  });

  await check('submitting without a file names the problem at the field', async () => {
    await page.goto(`${BASE}/bestand`);
    await page.getByRole('button', { name: 'Vorschau anzeigen' }).click();
    const alert = await page.getByRole('alert').innerText();
    expect(alert.includes('Datei'), `alert: ${alert}`);
    expect((await page.getByLabel('Tabelle').getAttribute('aria-invalid')) === 'true', 'field not marked invalid');
    await axe(page);
  });

  await check('the messy spreadsheet is previewed with its mapping, matches and errors by row and column', async () => {
    await page.goto(`${BASE}/bestand`);
    await page.getByLabel('Tabelle').setInputFiles(FILE);
    await page.getByRole('button', { name: 'Vorschau anzeigen' }).click();
    const h1 = await page.locator('h1').innerText();
    expect(h1.includes('Vorschau'), `h1: ${h1}`);
    const mapping = await page.getByRole('table', { name: /Spalten/ }).innerText();
    expect(mapping.includes('Hersteller') && mapping.includes('Kosten jährlich'), `mapping: ${mapping}`);
    const issues = await page.locator('#meldungen + div table').innerText();
    expect(/Zeile \d+/.test(issues) && /Spalte [A-Z]/.test(issues), `issues: ${issues.slice(0, 400)}`);
    await axe(page);
  });

  await check('importing with open rows is refused, nothing written, the preview shown again', async () => {
    // The fixture has rows with errors: without "skip them" the import is refused.
    await page.getByRole('button', { name: 'Importieren' }).click();
    const alert = await page.getByRole('alert').first().innerText();
    expect(alert.includes('Nicht importiert'), `alert: ${alert}`);
    await axe(page);
  });

  await check('deciding every open row and skipping rows with errors imports in one step', async () => {
    const selects = page.locator('select[name="choose"]');
    const n = await selects.count();
    for (let i = 0; i < n; i += 1) {
      const s = selects.nth(i);
      if ((await s.inputValue()) === '') {
        const values = await s.locator('option').evaluateAll((os) => os.map((o) => o.value));
        const skip = values.find((v) => v.endsWith(':new'));
        await s.selectOption(skip);
      }
    }
    await page.getByLabel('Zeilen mit Fehlern auslassen').check();
    await page.getByRole('button', { name: 'Importieren' }).click();
    const h1 = await page.locator('h1').innerText();
    expect(h1.includes('Bestand importiert'), `h1: ${h1}: ${(await page.locator('main').innerText()).slice(0, 600)}`);
    const facts = await page.locator('dl.facts').innerText();
    expect(/Einsätze geschrieben\s+\d+/.test(facts), `facts: ${facts}`);
    await axe(page);
  });
});
