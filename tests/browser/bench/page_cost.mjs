// What the web pages cost the browser at scale: main-thread busy time per second of wall time
// (DevTools Performance.getMetrics TaskDuration) and the time to the first full render, in
// Debian's headless Chromium.
//
//   node tests/browser/bench/page_cost.mjs [--seconds S] [--workers N] [--hives H]
//                                          [--hive-workers W] [--json FILE]
//
// The data is synthetic, shaped as the daemons send it (telemetry.md, queen.md): a stand-in
// server on loopback serves the real page files from web/ with the daemons' CSP, a Hive
// snapshot stream of N workers at 1 Hz, and a Queen of H Hives x W workers whose /v1/hives
// changes every second with 10 events/s. (A real Queen holding 2,000 push-only Hives on one
// machine is order 11's benchmark; the page's cost does not depend on who computed the JSON.)
// Each page is measured twice in the same run: at full size and at a baseline of 10 workers /
// 10 Hives, so that the figures can be read as ratios on a noisy machine. docs/performance.md.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { launch } from '../lib/browser.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => {
  if (a.startsWith('--')) pairs.push([a.slice(2), all[i + 1]]);
  return pairs;
}, []));
const SECONDS = Number(args.seconds ?? 20);
const WORKERS = Number(args.workers ?? 1000);
const HIVES = Number(args.hives ?? 2000);
const HIVE_WORKERS = Number(args['hive-workers'] ?? 100);

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'";
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8' };
const STATES = ['ready', 'ready', 'ready', 'ready', 'starting', 'failed', 'exited', 'oom'];

function serveFile(res, page, name) {
  for (const dir of [page, 'common']) {
    const file = path.join(root, 'web', dir, name);
    if (!name.includes('/') && fs.existsSync(file)) {
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(name)] ?? 'application/octet-stream',
        'Content-Security-Policy': CSP, 'Cache-Control': 'no-store' });
      return res.end(fs.readFileSync(file));
    }
  }
  res.writeHead(404).end();
}

function json(res, doc) {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(doc));
}

// --- A Hive of n workers ------------------------------------------------------------------
function worker(i, seq) {
  const state = STATES[i % STATES.length];
  const w = { service: `svc${i % 7}`, instance: String(20000 + i), port: 20000 + i,
    cgroup: `rbee.slice/svc${i % 7}/${20000 + i}`, state, spawned_by: 'hive',
    started_at_ms: Date.now() - 3600e3, restarts: i % 3, pid_count: 1 + (i % 4), main_pid: 1000 + i };
  if (state === 'failed') w.exit_code = 3;
  if (state === 'oom') w.oom_kills = 1;
  // Pressure, throttling and memory events as a host with every controller reports them.
  const psi = (k) => ({ some_avg10: ((i + seq * k) % 400) / 4, some_avg60: 1.25, some_avg300: 0.5,
    some_total_usec: seq * 1e4 + i, full_avg10: 0, full_avg60: 0, full_avg300: 0, full_total_usec: seq });
  w.pressure = { cpu: psi(3), memory: psi(5), io: psi(7) };
  w.cpu_nr_periods = seq * 10 + 10;
  w.cpu_nr_throttled = (seq + i) % (w.cpu_nr_periods + 1);
  w.cpu_throttled_usec = w.cpu_nr_throttled * 1000;
  w.memory_events = { low: 0, high: i % 3, max: i % 2, oom: state === 'oom' ? 1 : 0,
    oom_kill: state === 'oom' ? 1 : 0 };
  w.memory_peak_bytes = 3 * 2 ** 30;
  if (state === 'ready' || state === 'starting') {
    w.cpu_usage_usec = seq * 1e5 + i;
    w.cpu_pct = (i * 7 + seq * 13) % 100;
    w.rss_bytes = (1 + ((i + seq) % 50)) * 2 ** 20 * 100;
    w.working_set_bytes = w.rss_bytes * 0.9;
    w.vram_bytes = (i % 4) * 2 ** 30;
    w.gpu_indices = [i % 2];
  }
  return w;
}

function hiveSnapshot(n, seq) {
  return { schema_version: 1, hive_id: 'bench-hive', instance_id: 'b'.repeat(32), seq,
    timestamp_ms: Date.now(), interval_ms: 1000, backend: 'cgroupfs',
    host: { hostname: 'bench', cpus: 64, memory_total_bytes: 512 * 2 ** 30,
      memory_available_bytes: 300 * 2 ** 30, load1: 3, load5: 3, load15: 3 },
    gpus: [0, 1].map((g) => ({ index: g, uuid: `GPU-${g}`, name: 'Bench GPU',
      memory_total_bytes: 80 * 2 ** 30, memory_used_bytes: 60 * 2 ** 30, util_pct: 50 + g,
      temperature_c: 60 })),
    workers: Array.from({ length: n }, (_, i) => worker(i, seq)) };
}

function hiveRoutes(n) {
  let seq = 1;
  return (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/capabilities')
      return json(res, { hive_id: 'bench-hive', instance_id: 'b'.repeat(32), auth: 'loopback',
        services: [...Array(7).keys()].map((s) => ({ name: `svc${s}`, base_port: 20000,
          port_count: 1000, allow_args: false, allowed_env: [] })) });
    if (url.pathname === '/v1/telemetry/stream') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
      const send = () => res.write(`event: snapshot\ndata: ${JSON.stringify(hiveSnapshot(n, seq++))}\n\n`);
      send();
      const t = setInterval(send, 1000);
      req.on('close', () => clearInterval(t));
      return;
    }
    return null;
  };
}

// --- A Queen of h Hives x w workers ---------------------------------------------------------
function hiveSummary(i, w, tick) {
  const down = i % 97 === 0;
  return { id: `hive-${i}`, alias: `gpu-${i}`, address: `http://10.0.${i >> 8}.${i & 255}:7835`,
    source: 'ssh_config', status: down ? 'down' : 'healthy', last_seen_ms: Date.now(),
    age_ms: down ? 60000 : (tick * 37 + i) % 1000, instance_id: 'i', seq: tick, interval_ms: 1000,
    worker_count: w, snapshots: tick, workers_by_state: { ready: w - 2, failed: 1, starting: 1 },
    gpu_count: 8, vram_used_bytes: ((i + tick) % 600) * 2 ** 30, vram_total_bytes: 640 * 2 ** 30,
    hive_url: `http://10.0.${i >> 8}.${i & 255}:7835`, hostname: `gpu-${i}.lab` };
}

function queenRoutes(h, w) {
  let tick = 1;
  let seq = 0;
  const timer = setInterval(() => tick++, 1000);
  timer.unref();
  return (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/v1/hives')
      return json(res, { hives: Array.from({ length: h }, (_, i) => hiveSummary(i, w, tick)) });
    if (url.pathname === '/v1/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
      res.write(': bench\n\n');
      const t = setInterval(() => {
        const s = ++seq;
        const data = { seq: s, time_ms: Date.now(), kind: 'worker_state', hive_id: `hive-${s % h}`,
          service: 'svc1', instance: String(20000 + (s % w)), port: 20000 + (s % w), state: 'ready',
          previous_state: 'starting' };
        res.write(`id: ${s}\nevent: worker_state\ndata: ${JSON.stringify(data)}\n\n`);
      }, 100);
      req.on('close', () => clearInterval(t));
      return;
    }
    return null;
  };
}

async function serve(page, routes) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/') return serveFile(res, page, 'index.html');
    if (url.pathname.startsWith('/ui/')) return serveFile(res, page, url.pathname.slice(4));
    if (routes(req, res) === null) res.writeHead(404).end('{"error":"not here"}');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

// Opens the page, waits for `ready` (a function run in the page), then measures.
async function measure(browser, server, ready, seconds) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  // From the navigation's start to the first frame with everything drawn, as the page's own
  // clock reads it (polled every animation frame).
  await page.waitForFunction(ready, null, { timeout: 30000, polling: 'raf' });
  const [firstRowsMs, firstRenderMs] = (await page.evaluate(() =>
    [window.rbeeBenchFirstAt, window.rbeeBenchReadyAt])).map(Math.round);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metric = async () => Object.fromEntries(
    (await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  await page.waitForTimeout(2000);  // past the first render's own work
  const a = await metric();
  const wall0 = Date.now();
  await page.waitForTimeout(seconds * 1000);
  const b = await metric();
  const wall = (Date.now() - wall0) / 1000;
  const domNodes = await page.evaluate(() => document.getElementsByTagName('*').length);
  await context.close();
  if (problems.length) throw new Error(`page errors: ${problems.join('; ')}`);
  return { first_rows_ms: firstRowsMs, first_render_ms: firstRenderMs,
    busy_pct: +(100 * (b.TaskDuration - a.TaskDuration) / wall).toFixed(2),
    script_pct: +(100 * (b.ScriptDuration - a.ScriptDuration) / wall).toFixed(2),
    layout_pct: +(100 * (b.LayoutDuration + b.RecalcStyleDuration - a.LayoutDuration -
      a.RecalcStyleDuration) / wall).toFixed(2),
    dom_nodes: domNodes, seconds: +wall.toFixed(1) };
}

// Each notes when the first rows are drawn, and returns true (noting the time) once the page
// shows all it was sent: `rows` is how many rows that takes.
const readyWhen = (selector, rows) => new Function(`
  const n = document.querySelectorAll(${JSON.stringify(selector)}).length;
  if (n > 0) window.rbeeBenchFirstAt ??= performance.now();
  if (n < ${rows}) return false;
  window.rbeeBenchReadyAt ??= performance.now();
  return true;`);
const hiveReady = (n) => readyWhen('#worker-rows tr[data-key]', n);
const queenReady = readyWhen('#hives-table[data-loaded] #hives-body tr[data-hive-key]', 1);

const browser = await launch();
const results = {};
try {
  for (const [name, page, routes, ready] of [
    ['hive_baseline', 'hive', hiveRoutes(10), hiveReady(10)],
    ['hive', 'hive', hiveRoutes(WORKERS), hiveReady(WORKERS)],
    ['queen_baseline', 'queen', queenRoutes(10, 10), queenReady],
    ['queen', 'queen', queenRoutes(HIVES, HIVE_WORKERS), queenReady],
  ]) {
    const server = await serve(page, routes);
    try {
      results[name] = await measure(browser, server, ready, SECONDS);
    } finally {
      server.closeAllConnections();
      server.close();
    }
    console.log(name.padEnd(15), JSON.stringify(results[name]));
  }
} finally {
  await browser.close();
}
const summary = {
  chromium: browser.version(), seconds: SECONDS, hive_workers: WORKERS, queen_hives: HIVES,
  queen_workers_per_hive: HIVE_WORKERS, results,
  hive_busy_ratio: +(results.hive.busy_pct / Math.max(results.hive_baseline.busy_pct, 0.01)).toFixed(2),
  queen_busy_ratio: +(results.queen.busy_pct / Math.max(results.queen_baseline.busy_pct, 0.01)).toFixed(2),
};
console.log(JSON.stringify(summary));
if (args.json) fs.writeFileSync(args.json, JSON.stringify(summary, null, 2));
