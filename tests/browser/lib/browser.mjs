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

// Controls a screen reader could not name: no label, aria-label(ledby), text or title. Hidden
// ones count too: they show up later.
export async function unlabelledControls(page) {
  return page.$$eval('button, input:not([type=hidden]), select, textarea, a[href]', (els) => els
    .filter((e) => {
      const byIds = (e.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean)
        .map((id) => document.getElementById(id)?.textContent || '').join('');
      const labels = e.labels ? [...e.labels].map((l) => l.textContent).join('') : '';
      const own = e.tagName === 'BUTTON' || e.tagName === 'A' ? e.textContent : '';
      return ![e.getAttribute('aria-label'), byIds, labels, own, e.title]
        .some((t) => t && t.trim());
    })
    .map((e) => e.outerHTML.slice(0, 120)));
}

// Elements that act on clicks but are not reachable by keyboard: a role of a control without
// being a native control, and no tabindex.
export async function mouseOnlyControls(page) {
  return page.$$eval('[role=button], [role=link], [role=checkbox], [role=tab], [role=menuitem]',
    (els) => els.filter((e) => !['BUTTON', 'A', 'INPUT', 'SELECT'].includes(e.tagName) &&
      !(e.tabIndex >= 0)).map((e) => e.outerHTML.slice(0, 120)));
}
