// The Hive's page (web/hive) in Debian's headless Chromium against a real Hive with a token:
// a worker spawned through the API shows up live, the page spawns, stops and reads logs with
// the token, and without it no control that changes anything is enabled.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { artifact, launch, mouseOnlyControls, openPage, unlabelledControls } from './lib/browser.mjs';
import { Lab, api, waitFor } from './lib/daemons.mjs';

const TOKEN = 'browser-hive-token-0123';
const basePort = 31000 + (process.pid % 200) * 20;

// What the page shows of one worker's row: its state and the reason text.
async function rowState(page, key) {
  return page.evaluate((k) => {
    const row = document.querySelector(`#worker-rows tr[data-key="${k}"]`);
    if (!row) return null;
    return { state: row.dataset.state, text: row.querySelector('[data-col="state"]').textContent };
  }, key);
}

// Mutation controls that are enabled (ids or a short description of each).
async function enabledMutations(page) {
  return page.$$eval('[data-mutates]', (els) => els
    .filter((e) => !e.disabled)
    .map((e) => e.id || e.getAttribute('aria-label') || e.textContent.trim()));
}

test('the Hive page: live rows, read-only without a token, spawn, stop and logs with it', async () => {
  const lab = new Lab('hivepage');
  let browser;
  try {
    const hive = await lab.hive({ token: TOKEN, basePort });
    browser = await launch();
    const page = await openPage(browser, `${hive.url}/`);
    await page.waitForSelector('#conn[data-status="live"]', { timeout: 10000 });
    assert.equal(await page.getAttribute('#auth-note', 'data-auth'), 'bearer');

    // Without a token: read-only, and it says so.
    await page.waitForSelector('body[data-readonly="true"]');
    assert.deepEqual(await enabledMutations(page), []);
    assert.match(await page.textContent('#auth-note'), /read-only/i);

    // A worker spawned by someone else appears within 1.5 s, without a reload.
    const spawned = await api(`${hive.url}/v1/workers`, 'POST', { service: 'tw', port: basePort + 1, args: ['--say', 'hello from the api worker'] }, TOKEN);
    assert.equal(spawned.status, 201, spawned.text);
    const apiKey = `tw/${spawned.json.worker.instance}`;
    await page.waitForSelector(`#worker-rows tr[data-key="${apiKey}"]`, { timeout: 1500 });
    assert.deepEqual(await enabledMutations(page), [], 'a new row enables nothing without a token');
    // Its pressure, where the kernel has PSI, as text under the CPU figure (cpu / mem / io).
    const one = await api(`${hive.url}/v1/workers/${apiKey}`);
    if (one.json.pressure) {
      await page.waitForFunction((key) => {
        const cell = document.querySelector(`#worker-rows tr[data-key="${key}"] [data-col="cpu"]`);
        return cell && /PSI (\d+|—) \/ (\d+|—) \/ (\d+|—) %/.test(cell.textContent);
      }, apiKey, { timeout: 3000 });
    }

    // With the token, kept for this tab.
    await page.fill('#token-input', TOKEN);
    await page.click('#token-save');
    await page.waitForSelector('body[data-readonly="false"]');
    assert.ok((await enabledMutations(page)).length > 0);

    // Spawn from the form: the row goes ready.
    await page.selectOption('#spawn-service', 'tw');
    await page.fill('#spawn-port', String(basePort + 2));
    await page.click('#spawn-submit');
    await page.waitForSelector('#spawn-result[data-kind="ok"]', { timeout: 10000 });
    const formKey = `tw/${basePort + 2}`;
    await waitFor(`${formKey} ready on the page`,
      async () => (await rowState(page, formKey))?.state === 'ready', 10000);

    // Stop from the page by keyboard alone, after the confirmation: the row shows exited with
    // its exit code.
    await page.focus(`#worker-rows tr[data-key="${formKey}"] button[data-action="stop"]`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#stop-dialog[open]');
    assert.match(await page.textContent('#stop-dialog-worker'), new RegExp(formKey));
    await page.focus('#stop-confirm');
    await page.keyboard.press('Enter');
    const stopped = await waitFor(`${formKey} exited on the page`, async () => {
      const s = await rowState(page, formKey);
      return s?.state === 'exited' && s;
    }, 10000);
    assert.match(stopped.text, /exit code 0/);
    const held = await api(`${hive.url}/v1/workers/tw/${basePort + 2}`);
    assert.equal(held.json.state, 'exited');

    // The logs panel shows what the worker wrote.
    await page.click(`#worker-rows tr[data-key="${apiKey}"] button[data-action="logs"]`);
    await page.waitForSelector(`#logs-panel[data-worker="${apiKey}"]`);
    const logs = await waitFor('the worker\'s log in the panel', async () => {
      const text = await page.textContent('#logs-text');
      return /hello from the api worker/.test(text) && text;
    }, 10000);
    assert.ok(logs);

    assert.deepEqual(await unlabelledControls(page), [], 'every control has a name');
    assert.deepEqual(await mouseOnlyControls(page), [], 'every control works from the keyboard');
    await page.screenshot({ path: artifact('hive-page.png'), fullPage: true });
    const problems = page.problems.filter((p) => !/Failed to load resource/.test(p));
    assert.deepEqual(problems, [], 'no script error and no CSP violation');
  } finally {
    if (browser) await browser.close();
    await lab.cleanup();
  }
});
