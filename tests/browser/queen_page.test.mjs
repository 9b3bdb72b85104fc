// The Queen's page (web/queen) in Debian's headless Chromium against a real Queen that finds two
// real Hives through its SSH config: both Hives and their workers are listed, and a Hive killed
// with SIGKILL turns degraded, then down, in the table and in the events feed.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { artifact, launch, mouseOnlyControls, openPage, unlabelledControls } from './lib/browser.mjs';
import { Lab, api, waitFor } from './lib/daemons.mjs';

const basePort = 35000 + (process.pid % 200) * 20;

async function hiveRowStatus(page, alias) {
  return page.evaluate((a) =>
    document.querySelector(`#hives-body tr[data-hive-key="a:${a}"]`)?.dataset.status ?? null, alias);
}

test('the Queen page: two Hives and their workers, a killed Hive degraded then down', async () => {
  const lab = new Lab('queenpage');
  let browser;
  try {
    const north = await lab.hive({ name: 'north', basePort, intervalMs: 500 });
    const south = await lab.hive({ name: 'south', basePort: basePort + 10, intervalMs: 500 });
    for (const [hive, port] of [[north, basePort], [south, basePort + 10]]) {
      const r = await api(`${hive.url}/v1/workers`, 'POST', { service: 'tw', port });
      assert.equal(r.status, 201, r.text);
    }
    const queen = await lab.queen({
      hives: [{ alias: 'north', port: north.port }, { alias: 'south', port: south.port }],
      intervalsStale: 3, intervalsDown: 6,
    });
    await waitFor('both workers ready at the Queen', async () => {
      const r = await api(`${queen.url}/v1/workers?state=ready`);
      return r.json?.workers?.length === 2;
    }, 20000);

    browser = await launch();
    const page = await openPage(browser, `${queen.url}/`);
    await page.waitForSelector('#hives-table[data-loaded]', { timeout: 10000 });
    for (const alias of ['north', 'south'])
      await page.waitForSelector(`#hives-body tr[data-hive-key="a:${alias}"][data-status="healthy"]`);
    await waitFor('two ready workers in the totals', async () =>
      (await page.textContent('#total-workers')).trim().startsWith('2'));

    // A Hive expands to its workers, each with its URL.
    await page.click('#hives-body tr[data-hive-key="a:north"] button[data-action="expand"]');
    const workerRow = `tr.q-detail[data-detail-for="a:north"] tr[data-state="ready"]`;
    await page.waitForSelector(workerRow, { timeout: 5000 });
    assert.match(await page.textContent(`${workerRow} [data-col="url"]`), new RegExp(`:${basePort}`));
    await page.waitForSelector('#events-list li.q-ev[data-kind="hive_joined"]');

    // SIGKILL: nothing says goodbye; the Queen sees only the snapshots stop.
    south.child.kill('SIGKILL');
    await page.waitForSelector('#hives-body tr[data-hive-key="a:south"][data-status="degraded"]',
      { timeout: 10000 });
    await page.waitForSelector('#hives-body tr[data-hive-key="a:south"][data-status="down"]',
      { timeout: 15000 });
    const southId = 'browser-queenpage-south';
    for (const kind of ['hive_degraded', 'hive_down'])
      await page.waitForSelector(`#events-list li.q-ev[data-kind="${kind}"][data-hive-id="${southId}"]`,
        { timeout: 5000 });
    assert.equal(await hiveRowStatus(page, 'north'), 'healthy');
    // Status is a word on the page, not a colour alone.
    assert.match(await page.textContent('#hives-body tr[data-hive-key="a:south"] [data-col="status"]'), /down/i);

    assert.deepEqual(await unlabelledControls(page), [], 'every control has a name');
    assert.deepEqual(await mouseOnlyControls(page), [], 'every control works from the keyboard');
    await page.screenshot({ path: artifact('queen-page.png'), fullPage: true });
    const problems = page.problems.filter((p) => !/Failed to load resource/.test(p));
    assert.deepEqual(problems, [], 'no script error and no CSP violation');
  } finally {
    if (browser) await browser.close();
    await lab.cleanup();
  }
});
