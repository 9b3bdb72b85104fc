// The Hive page's GPU figures in headless Chromium, against a real Hive whose NVML is the test
// stand-in (tests/gpu/fake_nvml.cpp, RBEE_FAKE_NVML_LIB): power and other processes' VRAM in the
// GPU panel, a worker's SM utilisation next to its VRAM, and a dash where the driver does not
// answer.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { launch, openPage } from './lib/browser.mjs';
import { Lab, api, waitFor } from './lib/daemons.mjs';

const basePort = 35000 + (process.pid % 200) * 20;
const GiB = 2 ** 30;

const GPUS = `gpus 2
gpu 0 uuid=GPU-a name=Fake-H100 total=${80 * GiB} used=${12 * GiB} util=37 temp=51 power=312500
gpu 1 uuid=GPU-b name=Fake-Old total=${16 * GiB} used=${GiB} util=5 temp=33 power=na putil=na
putil_ignore_last_seen 1
`;

test('the GPU panel shows power and other processes\' VRAM; a worker row its SM use', async (t) => {
  const lib = process.env.RBEE_FAKE_NVML_LIB;
  if (!lib) return t.skip('RBEE_FAKE_NVML_LIB is not set (ctest sets it)');
  const lab = new Lab('gpupanel');
  const fixture = path.join(lab.dir, 'fixture');
  const write = (text) => {
    fs.writeFileSync(`${fixture}.tmp`, text);
    fs.renameSync(`${fixture}.tmp`, fixture);
  };
  write(GPUS);
  process.env.RBEE_FAKE_NVML_FIXTURE = fixture;
  let browser;
  try {
    const hive = await lab.hive({ basePort, extraHive: `nvml_library = "${lib}"\n` });
    const spawned = await api(`${hive.url}/v1/workers`, 'POST', { service: 'tw', port: basePort + 1 });
    assert.equal(spawned.status, 201, spawned.text);
    const key = `tw/${spawned.json.worker.instance}`;
    const worker = await waitFor('the worker to be ready', async () => {
      const r = await api(`${hive.url}/v1/workers/${key}`);
      return r.json && r.json.state === 'ready' && r.json.main_pid ? r.json : null;
    });
    // A sample timestamped now stays the newest: the Hive counts it once, the row shows it
    // while it is the latest reading; 9 GiB on GPU 0 belong to no worker.
    const now = Date.now() * 1000;
    write(`${GPUS}proc 0 pid=${worker.main_pid} used=${2 * GiB}\nproc 0 pid=${process.pid} used=${9 * GiB}\n` +
      `usample 0 pid=${worker.main_pid} ts=${now} sm=42\n`);

    browser = await launch();
    const page = await openPage(browser, `${hive.url}/`);
    await page.waitForSelector('#conn[data-status="live"]', { timeout: 10000 });
    const gpu0 = '#gpus li[data-gpu="0"]';
    await page.waitForFunction((sel) => /other processes 9\.00 GiB/.test(document.querySelector(sel)?.textContent || ''),
      gpu0, { timeout: 10000 });
    const text0 = await page.textContent(gpu0);
    assert.match(text0, /Power 313 W/);
    assert.match(text0, /this Hive's workers 2\.00 GiB, other processes 9\.00 GiB, driver and unlisted 1\.00 GiB/);
    assert.match(await page.textContent('#gpus li[data-gpu="1"]'), /Power —/);

    // The SM figure is there for the one reading that carries the new sample; the row's text
    // is caught as it changes.
    await page.waitForFunction((k) => {
      const cell = document.querySelector(`#worker-rows tr[data-key="${k}"] [data-col="vram"]`);
      if (cell && /SM 42 %/.test(cell.textContent)) window.smSeen = cell.textContent;
      return !!window.smSeen;
    }, key, { timeout: 10000, polling: 20 });
    assert.match(await page.evaluate(() => window.smSeen), /^2\.00 GiB · GPU 0 · SM 42 %/);
  } finally {
    if (browser) await browser.close();
    await lab.cleanup();
  }
});
