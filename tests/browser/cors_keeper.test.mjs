// A GUI keeper on its own origin, listed in the Hive's cors_origins, calls the Hive's API from a
// page in Chromium: the browser's own CORS checks (preflight included) must pass for it, and
// fail for a page of any other origin. Real Hive with a token, on loopback.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';

import { launch } from './lib/browser.mjs';
import { Lab } from './lib/daemons.mjs';

const TOKEN = 'browser-cors-token-0123';
const basePort = 37000 + (process.pid % 200) * 20;

// An empty page on 127.0.0.1:<port>: an origin of its own.
async function keeperServer() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>keeper</title>');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

// Runs in the keeper's page: a spawn and a read with the token, as a keeper would.
async function callHive(page, hiveUrl, port) {
  return page.evaluate(async ({ hiveUrl, token, port }) => {
    const out = {};
    try {
      const r = await fetch(`${hiveUrl}/v1/workers`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ service: 'tw', port }),
      });
      out.spawn = r.status;
    } catch (e) {
      out.spawn = `blocked: ${e.message}`;
    }
    try {
      const r = await fetch(`${hiveUrl}/v1/workers`, { headers: { Authorization: `Bearer ${token}` } });
      out.list = (await r.json()).workers.length;
    } catch (e) {
      out.list = `blocked: ${e.message}`;
    }
    return out;
  }, { hiveUrl, token: TOKEN, port });
}

test('a keeper origin in cors_origins drives the Hive from a browser; another origin cannot', async () => {
  const lab = new Lab('cors');
  const keeper = await keeperServer();
  const other = await keeperServer();
  let browser;
  try {
    const keeperOrigin = `http://127.0.0.1:${keeper.address().port}`;
    const hive = await lab.hive({ token: TOKEN, basePort, extraHive: `cors_origins = ["${keeperOrigin}"]\n` });
    browser = await launch();
    const context = await browser.newContext();

    const page = await context.newPage();
    await page.goto(`${keeperOrigin}/`);
    const allowed = await callHive(page, hive.url, basePort + 1);
    assert.deepEqual(allowed, { spawn: 201, list: 1 });

    const stranger = await context.newPage();
    await stranger.goto(`http://127.0.0.1:${other.address().port}/`);
    const refused = await callHive(stranger, hive.url, basePort + 2);
    assert.match(String(refused.spawn), /^blocked/);
    assert.match(String(refused.list), /^blocked/);
    const r = await fetch(`${hive.url}/v1/workers`);
    assert.equal((await r.json()).workers.length, 1, 'the stranger started nothing');
  } finally {
    if (browser) await browser.close();
    keeper.close();
    other.close();
    await lab.cleanup();
  }
});
