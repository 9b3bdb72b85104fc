// The workers table: one row per `service/instance`, kept across snapshots. Built to stay cheap
// with a thousand workers at one snapshot a second: samples are stored for every worker, but a
// row's cells are written only when their text changed, and sparklines are drawn only for rows
// on screen.

import {
  KeyedRows, NONE, Ring, drawSparkline, el, fmtBytes, fmtDuration, fmtPct, sparkCanvas,
} from '/ui/common.js';
import { canAct } from './hive-auth.js';

const SAMPLES = 120; // two minutes at the default 1 s interval
const ROWS_PER_FRAME = 150;

// The icon repeats the state in a shape, so no state is told by colour alone.
const STATE_ICON = {
  starting: '◌', ready: '✔', stopping: '◼', exited: '○', failed: '✖', oom: '✖', unknown: '?',
};

const SIGNALS = {
  1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE',
  9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM',
};

const SPARK = {
  cpu: { color: '#2563eb', floor: 10 }, // below 10 % a worker is idle; do not magnify noise
  mem: { color: '#7c3aed', floor: 1 << 20 },
  vram: { color: '#0f766e', floor: 1 << 20 },
};

// States in which the worker still has processes; the first two can still be asked to stop.
const LIVE = new Set(['starting', 'ready', 'stopping']);
const STOPPABLE = new Set(['starting', 'ready']);

export const workerKey = (w) => `${w.service}/${w.instance}`;

function reasonText(w) {
  const parts = [];
  if (w.state === 'oom') parts.push('killed by the OOM killer');
  if (typeof w.signal === 'number') {
    parts.push(`signal ${w.signal}${SIGNALS[w.signal] ? ` (${SIGNALS[w.signal]})` : ''}`);
  }
  if (typeof w.exit_code === 'number') parts.push(`exit code ${w.exit_code}`);
  if (w.oom_kills > 0 && w.state !== 'oom') {
    parts.push(`${w.oom_kills} OOM kill${w.oom_kills === 1 ? '' : 's'}`);
  }
  const ev = w.memory_events;
  if (ev && !LIVE.has(w.state)) {
    // The cgroup's memory.events, kept in the exit report: how close to its limits it ran.
    // (oom_kill is oom_kills, told above.)
    if (ev.max > 0) parts.push(`memory.max hit ${ev.max}×`);
    if (ev.oom > 0) parts.push(`${ev.oom} OOM event${ev.oom === 1 ? '' : 's'}`);
    if (ev.high > 0) parts.push(`over memory.high ${ev.high}×`);
  }
  if (typeof w.memory_peak_bytes === 'number' && !LIVE.has(w.state)) parts.push(`peak ${fmtBytes(w.memory_peak_bytes)}`);
  if (typeof w.exited_at_ms === 'number' && !LIVE.has(w.state)) {
    parts.push(`at ${new Date(w.exited_at_ms).toLocaleTimeString()}`);
  }
  return parts.join(', ');
}

function uptimeText(w, now) {
  if (typeof w.started_at_ms !== 'number') return NONE;
  if (LIVE.has(w.state)) return fmtDuration(now - w.started_at_ms);
  if (typeof w.exited_at_ms === 'number') return `ran ${fmtDuration(w.exited_at_ms - w.started_at_ms)}`;
  return NONE;
}

// PSI some avg10 per resource, in the order of the column's heading (cpu / mem / io); a resource
// without its file shows the dash. Then the share of cpu.max periods that throttled the worker.
function pressureText(w) {
  const p = w.pressure;
  const parts = [];
  if (p) {
    const avg = (r) => (r && typeof r.some_avg10 === 'number' ? String(Math.round(r.some_avg10)) : NONE);
    parts.push(`PSI ${avg(p.cpu)} / ${avg(p.memory)} / ${avg(p.io)} %`);
  }
  if (w.cpu_nr_periods > 0 && typeof w.cpu_nr_throttled === 'number') {
    parts.push(`throttled ${fmtPct((100 * w.cpu_nr_throttled) / w.cpu_nr_periods, 0)}`);
  }
  return parts.join(' · ');
}

function memText(w) {
  const rss = fmtBytes(w.rss_bytes);
  return typeof w.working_set_bytes === 'number' ? `${rss} / ${fmtBytes(w.working_set_bytes)}` : rss;
}

// VRAM, the GPUs it is on, and the SM utilisation of the worker's processes (summed over them
// and their GPUs, so it can pass 100 %), each only when the Hive reports it.
function vramText(w) {
  const sm = typeof w.gpu_util_pct === 'number' ? ` · SM ${fmtPct(w.gpu_util_pct, 0)}` : '';
  if (typeof w.vram_bytes !== 'number') return sm ? NONE + sm : NONE;
  const on = Array.isArray(w.gpu_indices) && w.gpu_indices.length ? ` · GPU ${w.gpu_indices.join(', ')}` : '';
  return fmtBytes(w.vram_bytes) + on + sm;
}

function pidsText(w) {
  const n = typeof w.pid_count === 'number' ? String(w.pid_count) : NONE;
  return typeof w.main_pid === 'number' ? `${n} · main ${w.main_pid}` : n;
}

const SPARK_TITLES = {
  cpu: 'CPU % while this page was open',
  mem: 'RSS while this page was open',
  vram: 'VRAM while this page was open',
};

function makeCanvases(cells) {
  const out = {};
  for (const [col, td] of Object.entries(cells)) {
    out[col] = sparkCanvas(80, 20);
    out[col].title = SPARK_TITLES[col];
    td.append(out[col]);
  }
  return out;
}

export class WorkersTable {
  // actions: { stop(entry), logs(entry) }
  constructor(actions) {
    this.actions = actions;
    this.tbody = document.getElementById('worker-rows');
    this.empty = document.getElementById('workers-empty');
    this.count = document.getElementById('worker-count');
    this.series = new Map(); // key -> { cpu, mem, vram: Ring }, for every worker, on or off screen
    this.lastSampleMs = -Infinity;
    this.visible = new Set(); // entries whose row intersects the viewport
    this.rows = new KeyedRows(this.tbody, {
      create: (key, w) => this.createRow(key, w),
      onRemove: (entry) => {
        this.observer.unobserve(entry.el);
        this.visible.delete(entry);
      },
    });
    this.observer = new IntersectionObserver((records) => this.onIntersect(records), {
      rootMargin: '200px 0px',
    });
  }

  // Called for every snapshot as it arrives (not per frame), so that no sample is lost while
  // frames are throttled. A snapshot sent for a birth or death between ticks is not a sample.
  record(snap) {
    const half = (snap.interval_ms || 1000) / 2;
    const sample = snap.timestamp_ms - this.lastSampleMs >= half;
    if (sample) this.lastSampleMs = snap.timestamp_ms;
    const seen = new Set();
    for (const w of snap.workers) {
      const key = workerKey(w);
      seen.add(key);
      let s = this.series.get(key);
      if (!s) {
        s = { cpu: new Ring(SAMPLES), mem: new Ring(SAMPLES), vram: new Ring(SAMPLES) };
        this.series.set(key, s);
      }
      if (!sample) continue;
      s.cpu.push(w.cpu_pct);
      s.mem.push(w.rss_bytes);
      s.vram.push(w.vram_bytes);
    }
    if (seen.size !== this.series.size) {
      for (const key of this.series.keys()) if (!seen.has(key)) this.series.delete(key);
    }
  }

  createRow(key, w) {
    const c = {};
    const cell = (col, tag = 'td') => el(tag, { 'data-col': col });
    const name = cell('name', 'th');
    name.scope = 'row';
    // A break opportunity after the slash: a long name wraps between service and instance.
    c.name = el('span', { className: 'wname' }, w.service, '/', el('wbr'), w.instance);
    c.origin = el('span', { className: 'sub muted' });
    name.append(c.name, ' ', c.origin);

    const state = cell('state');
    c.state = el('span', { className: 'state-label' });
    c.reason = el('span', { className: 'sub reason' });
    state.append(c.state, c.reason);

    const uptime = cell('uptime');
    c.uptime = uptime;

    // The sparklines' canvases are made when the row first comes near the screen (draw): a
    // thousand rows would otherwise build three thousand canvases before the first paint.
    const spark = (col) => {
      const td = cell(col);
      c[col] = el('span', { className: 'val' });
      td.append(c[col]);
      return td;
    };
    const cpu = spark('cpu');
    c.pressure = el('span', { className: 'sub muted' });
    cpu.append(c.pressure);
    const mem = spark('mem');
    const vram = spark('vram');

    c.pids = cell('pids');
    c.restarts = cell('restarts');
    const urlTd = cell('url');
    if (typeof w.port === 'number') {
      const href = `http://${location.hostname}:${w.port}/`;
      c.url = el('a', { href, rel: 'noopener noreferrer', text: href });
      urlTd.append(c.url);
    } else {
      urlTd.textContent = NONE;
    }

    const act = cell('actions');
    const logs = el('button', { type: 'button', 'data-action': 'logs', 'data-mutates': true, text: 'Logs' });
    const stop = el('button', { type: 'button', 'data-action': 'stop', 'data-mutates': true, className: 'danger', text: 'Stop' });
    logs.setAttribute('aria-label', `Logs of ${key}`);
    stop.setAttribute('aria-label', `Stop ${key}`);
    logs.disabled = stop.disabled = !canAct();
    c.msg = el('span', { className: 'row-msg', 'data-role': 'row-msg' });
    act.append(logs, ' ', stop, c.msg);

    const tr = el('tr', { 'data-key': key }, name, state, uptime, cpu, mem, vram, c.pids, c.restarts, urlTd, act);
    const entry = { el: tr, cells: c };
    entry.data = { sparkCells: { cpu, mem, vram }, canvases: null, stop, logs };
    // Handlers find the row's current entry through the table, not through a closure over this
    // one, so a removed and re-added key acts on its new row.
    logs.addEventListener('click', () => this.actions.logs(this.rows.entries.get(key)));
    stop.addEventListener('click', () => this.actions.stop(this.rows.entries.get(key)));
    this.observer.observe(tr);
    return entry;
  }

  // One DOM pass for the newest snapshot; runs inside an animation frame.
  render(snap) {
    const now = snap.timestamp_ms;
    const items = snap.workers.map((w) => [workerKey(w), w]);
    // A thousand new rows in one frame would hold the first paint back by a second: make them a
    // screenful at a time, the top first, and finish in the following frames.
    const entries = this.rows.sync(items, ROWS_PER_FRAME);
    this.latest = snap;
    if (this.rows.pending && !this.moreRequested) {
      this.moreRequested = true;
      requestAnimationFrame(() => {
        this.moreRequested = false;
        this.render(this.latest);
      });
    }
    const counts = {};
    for (const e of entries) {
      const w = e.item;
      counts[w.state] = (counts[w.state] || 0) + 1;
      if (e.attrs['data-state'] !== w.state) {
        KeyedRows.setAttr(e, 'data-state', w.state);
        // An ended worker has nothing to stop, and a stopping one is being stopped already.
        const stop = e.data.stop;
        if (STOPPABLE.has(w.state)) delete stop.dataset.inactive;
        else stop.dataset.inactive = '';
        stop.disabled = !canAct() || !STOPPABLE.has(w.state);
      }
      KeyedRows.setText(e, 'origin', w.spawned_by === 'external' ? 'external' : '');
      KeyedRows.setText(e, 'state', `${STATE_ICON[w.state] || '?'} ${w.state}`);
      KeyedRows.setText(e, 'reason', reasonText(w));
      // The figures that change every tick are written only for rows on (or near) the screen:
      // a thousand rows of changing text cost a relayout of the whole table every second. A row
      // scrolled into view catches up at once (onIntersect); a new row is filled in full.
      if (this.visible.has(e) || !e.data.filled) this.fill(e, now);
      else e.data.stale = now;
    }
    this.empty.hidden = snap.workers.length > 0;
    if (this.rows.pending) return; // the counts wait for the rows they count
    const summary = Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ');
    const text = entries.length ? `(${entries.length}: ${summary})` : '';
    if (this.count.textContent !== text) this.count.textContent = text;
    for (const e of this.visible) this.draw(e);
  }

  fill(e, now) {
    const w = e.item;
    e.data.filled = true;
    e.data.stale = 0;
    KeyedRows.setText(e, 'uptime', uptimeText(w, now));
    KeyedRows.setText(e, 'cpu', fmtPct(w.cpu_pct));
    KeyedRows.setText(e, 'pressure', pressureText(w));
    KeyedRows.setText(e, 'mem', memText(w));
    KeyedRows.setText(e, 'vram', vramText(w));
    KeyedRows.setText(e, 'pids', pidsText(w));
    KeyedRows.setText(e, 'restarts', typeof w.restarts === 'number' ? String(w.restarts) : NONE);
  }

  draw(entry) {
    const s = this.series.get(entry.key);
    if (!s) return;
    if (!entry.data.canvases) entry.data.canvases = makeCanvases(entry.data.sparkCells);
    const cv = entry.data.canvases;
    drawSparkline(cv.cpu, s.cpu, SPARK.cpu);
    drawSparkline(cv.mem, s.mem, SPARK.mem);
    drawSparkline(cv.vram, s.vram, SPARK.vram);
  }

  onIntersect(records) {
    for (const r of records) {
      const entry = this.rows.entries.get(r.target.dataset.key);
      if (!entry || entry.el !== r.target) continue; // a removed row, its key since re-added
      if (r.isIntersecting) {
        // Scrolled into view: catch up on the samples it missed while off screen.
        this.visible.add(entry);
        if (entry.data.stale) this.fill(entry, entry.data.stale);
        this.draw(entry);
      } else {
        this.visible.delete(entry);
      }
    }
  }

  entry(key) {
    return this.rows.entries.get(key);
  }

  setMessage(entry, text, kind = '') {
    if (!entry) return;
    entry.cells.msg.textContent = text;
    entry.cells.msg.dataset.kind = kind;
  }
}
