// Debian's Chromium, headless, driven by playwright-core: no browser download, no network but
// loopback. Pages record console errors and CSP violations so that a test can assert none.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const executablePath = process.env.RBEE_CHROMIUM || '/usr/bin/chromium';

export async function launch() {
  return chromium.launch({
    executablePath,
    headless: true,
    timeout: 30000,
    // The machine has no network: Chromium's own background traffic only fails and slows it.
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

// A page that keeps what went wrong in it: console errors, page errors, CSP violations.
export async function openPage(browser, url, { width = 1400, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  await page.goto(url);
  return page;
}

// Where screenshots go: $RBEE_BROWSER_ARTIFACTS, else tests/browser/artifacts.
export function artifact(name) {
  const dir = process.env.RBEE_BROWSER_ARTIFACTS ||
    path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
