// Real daemons for the browser tests: rbee-hive and rbee-queen as child processes with configs
// of their own in a temp dir, each Hive in a cgroup subtree unique to the test. Everything a
// test made (processes, cgroups, files) goes in cleanup(), pass or fail.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const bin = (name) => {
  const p = process.env[name];
  if (!p) throw new Error(`${name} is not set (ctest sets it; see tests/CMakeLists.txt)`);
  return p;
};

function cgroup2Mount() {
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, where, type] = line.split(' ');
    if (type === 'cgroup2') return where;
  }
  throw new Error('no cgroup2 mount');
}

// Kills every process under dir (cgroup.kill) and removes the cgroups, deepest first.
function destroyCgroupTree(dir) {
  if (!fs.existsSync(dir)) return;
  const kill = path.join(dir, 'cgroup.kill');
  if (fs.existsSync(kill)) fs.writeFileSync(kill, '1');
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }))
    if (entry.isDirectory()) destroyCgroupTree(path.join(dir, entry.name));
  for (let i = 0; i < 50; i++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (e) {
      if (e.code === 'ENOENT') return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);  // processes still dying
    }
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what, pred, timeoutMs = 10000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// Owns what one test starts; cleanup() undoes it all.
export class Lab {
  constructor(tag) {
    this.tag = tag;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `rbee-browser-${tag}-`));
    this.children = [];
    this.cgroups = [];
  }

  // Starts `binary serve --config config` and resolves with its URL once it listens.
  async #launch(name, binary, config) {
    const log = path.join(this.dir, `${name}.log`);
    const out = fs.openSync(log, 'a');
    const child = spawn(binary, ['serve', '--config', config], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.children.push(child);
    const url = await waitFor(`${name} to listen (${log})`, () => {
      if (child.exitCode !== null) throw new Error(`${name} exited: ${fs.readFileSync(log, 'utf8')}`);
      const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(fs.readFileSync(log, 'utf8'));
      return m && m[1];
    }, 15000, 50);
    return { url, child, log, port: Number(new URL(url).port) };
  }

  // A Hive with the test worker as service "tw" (ports from basePort), token mode when a
  // token is given; `extraHive` goes at the end of its [hive] table.
  async hive({ name = 'hive', token = '', intervalMs = 500, basePort, port = 0, extraHive = '' } = {}) {
    const cgroup = path.join(cgroup2Mount(), `rbee-test-browser-${this.tag}-${name}-${process.pid}`);
    fs.mkdirSync(cgroup, { recursive: true });
    this.cgroups.push(cgroup);
    let config = `[hive]
listen = "127.0.0.1:${port}"
hive_id = "browser-${this.tag}-${name}"
cgroup_root = "${cgroup}"
log_dir = "${path.join(this.dir, name + '-logs')}"
interval_ms = ${intervalMs}
stop_timeout_ms = 2000
retention_s = 300
`;
    config += extraHive;
    if (token) {
      const tokenFile = path.join(this.dir, `${name}.token`);
      fs.writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
      config += `token_file = "${tokenFile}"\n`;
    }
    config += `
[services.tw]
command = ["${bin('RBEE_TEST_WORKER_BIN')}", "--port", "{port}"]
base_port = ${basePort}
allow_args = true
allowed_env = ["TW_*"]
`;
    const file = path.join(this.dir, `${name}.toml`);
    fs.writeFileSync(file, config);
    return { name, token, basePort, ...(await this.#launch(name, bin('RBEE_HIVE_BIN'), file)) };
  }

  // A Queen that finds `hives` ({alias, port}) through an SSH config of its own.
  async queen({ hives = [], intervalsStale = 3, intervalsDown = 6 } = {}) {
    const ssh = path.join(this.dir, 'ssh_config');
    fs.writeFileSync(ssh, hives.map((h) => `Host ${h.alias}\n    HostName 127.0.0.1\n`).join(''));
    let config = `[queen]
listen = "127.0.0.1:0"
ssh_config = "${ssh}"
stale_after_intervals = ${intervalsStale}
down_after_intervals = ${intervalsDown}
`;
    for (const h of hives) config += `[hives.${h.alias}]\nport = ${h.port}\n`;
    const file = path.join(this.dir, 'queen.toml');
    fs.writeFileSync(file, config);
    return this.#launch('queen', bin('RBEE_QUEEN_BIN'), file);
  }

  async cleanup() {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(this.children.map((c) =>
      c.exitCode !== null || c.signalCode !== null ? null
        : Promise.race([new Promise((r) => c.once('exit', r)), sleep(5000)])));
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const g of this.cgroups) destroyCgroupTree(g);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// A JSON API call on a daemon.
export async function api(url, method = 'GET', body, token) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, json, text };
}
