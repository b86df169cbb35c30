// Debian's chromium driven by playwright-core (no browser download) for the dashboard suites. In CI
// a missing chromium fails the suite; elsewhere the suite skips with one loud line.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { type Browser, chromium, type Page } from 'playwright-core';
import { inCI } from '../../test/services';

export const CHROMIUM = '/usr/bin/chromium';

export function requireChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const line = `chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`;
  if (inCI()) throw new Error(`${line}; CI requires it`);
  process.stderr.write(`\n!!! SKIPPED: ${line}; the dashboard browser tests are skipped.\n\n`);
  return false;
}

export const launch = (): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });

/** A panel's body rows as cell texts ("none" rows left out). */
export function rows(page: Page, panel: string): Promise<string[][]> {
  return page.$$eval(`[data-testid="${panel}"] tbody tr`, (trs) =>
    trs.filter((tr) => !tr.querySelector('td.empty')).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
  );
}

/** The TCP addresses a process listens on ("127.0.0.1:4000"), from `ss`. */
export function listening(pid: number): string[] {
  const out = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => l.trim().split(/\s+/)[3]!)
    .filter(Boolean);
}
