// What the standalone browser scripts (vergleich.mjs, bestand.mjs) share: TAP-like report
// lines ("ok - …" / "not ok - …" with indented details), checks that catch their failure,
// and axe-core (WCAG 2.1 A/AA) on the current page. ui.mjs keeps its own richer harness.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

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
