// What the standalone browser scripts (vergleich.mjs, bestand.mjs) share: TAP-like report
// lines ("ok - …" / "not ok - …" with indented details), checks that catch their failure,
// axe-core (WCAG 2.1 A/AA) on the current page, and the run itself in a Chromium that loads
// nothing but 127.0.0.1 (runLocal). ui.mjs keeps its own richer harness.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Counts of the checks reported so far. */
export const counts = { passed: 0, failed: 0 };

/** Prints one check's line (and its details when it failed). */
export function report(ok, name, detail) {
  if (ok) {
    counts.passed += 1;
    console.log(`ok - ${name}`);
  } else {
    counts.failed += 1;
    console.log(`not ok - ${name}`);
    for (const line of String(detail ?? '').split('\n')) {
      if (line.trim()) console.log(`    # ${line}`);
    }
  }
}

/** Runs one check; a thrown error fails it with its message. Returns whether it passed. */
export async function check(name, fn) {
  try {
    await fn();
    report(true, name);
    return true;
  } catch (e) {
    report(false, name, e && e.stack ? e.message : String(e));
    return false;
  }
}

/** Throws `message` unless `cond` holds. */
export function expect(cond, message) {
  if (!cond) throw new Error(message);
}

/** axe-core on the current page: no violation of WCAG 2.1 A/AA. */
export async function axe(page) {
  // The pages forbid inline scripts (CSP); evaluate runs outside the page's policy.
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
    AXE_TAGS,
  );
  const problems = result.violations.map(
    (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`,
  );
  expect(problems.length === 0, `axe-core violations on ${page.url()}:\n${problems.join('\n')}`);
}

/**
 * Runs `body(page)` in a headless Chromium (German locale) that may load nothing but
 * 127.0.0.1, each step within `stepMs` and the whole run within `deadlineMs`; then checks
 * that nothing else was loaded, prints `<script>: N passed, M failed` and exits with 1 when a
 * check failed (or the run threw or overran), else 0.
 */
export function runLocal(script, { stepMs, deadlineMs }, body) {
  const external = [];
  let browser;
  const deadline = setTimeout(async () => {
    report(false, `whole run within ${deadlineMs / 1000} s`, 'deadline reached');
    if (browser) await browser.close().catch(() => {});
    process.exit(1);
  }, deadlineMs);
  const main = async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox'],
    });
    const ctx = await browser.newContext({ locale: 'de-DE', viewport: { width: 1280, height: 900 } });
    ctx.setDefaultTimeout(stepMs);
    await ctx.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).hostname === '127.0.0.1') return route.continue();
      external.push(url);
      return route.abort('blockedbyclient');
    });
    await body(await ctx.newPage());
    await check('nothing but 127.0.0.1 was loaded', async () => {
      expect(external.length === 0, external.join('\n'));
    });
    await browser.close();
  };
  main()
    .catch((e) => report(false, 'the run finished', e && e.stack ? e.stack : String(e)))
    .finally(() => {
      clearTimeout(deadline);
      console.log(`${script}: ${counts.passed} passed, ${counts.failed} failed`);
      process.exit(counts.failed > 0 ? 1 : 0);
    });
}
