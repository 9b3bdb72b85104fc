// Shared by the Hive's and the Queen's pages. Nothing here knows either API beyond the error
// shape and the bearer token; the pages own their layout.

// ---- formatting -------------------------------------------------------------------------------

// A field the daemon did not measure is absent, never 0 (docs/telemetry.md); the pages show
// that as a dash rather than a made-up number.
export const NONE = '—';

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function fmtBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return NONE;
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${BYTE_UNITS[i]}`;
}

export function fmtPct(p, digits = 1) {
  if (typeof p !== 'number' || !Number.isFinite(p)) return NONE;
  return `${p.toFixed(digits)} %`;
}

export function fmtNum(n, digits = 2) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return NONE;
  return n.toFixed(digits);
}

// Two units at most ("3d 4h", "5m 07s"): enough to tell a fresh worker from an old one without
// a cell that changes width every second.
export function fmtDuration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return NONE;
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

// ---- token ------------------------------------------------------------------------------------

// sessionStorage only: the token lives as long as the tab, is never shared with other tabs and
// never written to disk the way localStorage or a cookie would be.
const TOKEN_KEY = 'rbee.token';

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return ''; // storage disabled (some sandboxed frames): behave as if no token was set
  }
}

export function setToken(token) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* storage disabled: nothing to keep it in */
  }
}

export function clearToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled */
  }
}

// ---- API --------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

// Same-origin paths only, so the token never goes anywhere but the daemon that served the page.
// Answers in JSON come back parsed, anything else (logs) as text; `{"error": ...}` or any
// non-2xx status becomes an ApiError carrying the daemon's one-line message.
export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = { Accept: 'application/json, text/plain' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, signal, cache: 'no-store', credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const type = res.headers.get('Content-Type') || '';
  const text = await res.text();
  let data = text;
  if (/^application\/json\b/i.test(type)) {
    try {
      data = JSON.parse(text);
    } catch {
      throw new ApiError(res.status, `${res.status}: the answer is not valid JSON`);
    }
  }
  if (data && typeof data === 'object' && typeof data.error === 'string') {
    throw new ApiError(res.status, data.error);
  }
  if (!res.ok) {
    throw new ApiError(res.status, `${res.status} ${res.statusText || 'error'}`);
  }
  return data;
}

// ---- DOM helpers ------------------------------------------------------------------------------

// Builds elements from trusted literals; text goes in as textContent so data from the API can
// never become markup.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'className') e.className = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) e.append(c);
  return e;
}

// Collects updates and applies them once per animation frame. A key scheduled twice before the
// frame runs only its latest function: a burst of snapshots costs one DOM pass, and a hidden tab
// (no frames) queues nothing but the newest.
export function createBatcher() {
  const pending = new Map();
  let requested = false;
  function run() {
    requested = false;
    const jobs = [...pending.values()];
    pending.clear();
    for (const job of jobs) {
      try {
        job();
      } catch (e) {
        console.error(e);
      }
    }
  }
  return function schedule(key, fn) {
    pending.set(key, fn);
    if (!requested) {
      requested = true;
      requestAnimationFrame(run);
    }
  };
}

// Rows (or any children of one container) keyed by a string. Each entry remembers the text it
// last wrote to every cell and every attribute, so an update writes only what changed, and only
// as textContent.
export class KeyedRows {
  // create(key, item) -> { el, cells: { name: Element } }: builds the row, not yet inserted.
  // onRemove(entry): called for a row whose key left the data.
  constructor(container, { create, onRemove }) {
    this.container = container;
    this.create = create;
    this.onRemove = onRemove;
    this.entries = new Map();
  }

  // items: [[key, item], ...] in display order. New rows are inserted after the row before them
  // in that order; existing rows are never moved (moving a row costs layout and loses the
  // reader's place). At most maxNew rows are made in one pass (the first ones in order, which
  // are the ones on screen); `pending` then counts the rest for the next pass. Returns the
  // entries of this pass, in order.
  sync(items, maxNew = Infinity) {
    const seen = new Set();
    const out = [];
    let prev = null;
    let madeCount = 0;
    this.pending = 0;
    for (const [key, item] of items) {
      seen.add(key);
      let entry = this.entries.get(key);
      if (!entry && madeCount >= maxNew) {
        this.pending++;
        continue;
      }
      if (!entry) {
        madeCount++;
        const made = this.create(key, item);
        entry = { key, el: made.el, cells: made.cells, text: {}, attrs: {}, data: made.data || {} };
        this.entries.set(key, entry);
        const before = prev ? prev.el.nextSibling : this.container.firstChild;
        this.container.insertBefore(entry.el, before);
      }
      entry.item = item;
      out.push(entry);
      prev = entry;
    }
    if (seen.size !== this.entries.size) {
      for (const [key, entry] of this.entries) {
        if (seen.has(key)) continue;
        this.entries.delete(key);
        entry.el.remove();
        if (this.onRemove) this.onRemove(entry);
      }
    }
    return out;
  }

  static setText(entry, cell, text) {
    if (entry.text[cell] === text) return;
    entry.text[cell] = text;
    entry.cells[cell].textContent = text;
  }

  static setAttr(entry, name, value, target = entry.el) {
    const k = target === entry.el ? name : `${name}@${target.dataset.col || ''}`;
    if (entry.attrs[k] === value) return;
    entry.attrs[k] = value;
    if (value === null) target.removeAttribute(name);
    else target.setAttribute(name, value);
  }
}

// ---- sparkline --------------------------------------------------------------------------------

// A fixed-size ring of samples. Storing is cheap and done for every series; drawing is left to
// the page, which does it only for what is on screen.
export class Ring {
  constructor(size = 120) {
    this.values = new Float64Array(size);
    this.size = size;
    this.head = 0; // next slot to write
    this.count = 0;
  }

  // NaN for "not measured": drawn as a gap, not as zero.
  push(v) {
    this.values[this.head] = typeof v === 'number' && Number.isFinite(v) ? v : NaN;
    this.head = (this.head + 1) % this.size;
    if (this.count < this.size) this.count++;
  }

  // i = 0 is the oldest sample kept.
  at(i) {
    return this.values[(this.head - this.count + i + this.size) % this.size];
  }

  max() {
    let m = 0;
    for (let i = 0; i < this.count; i++) {
      const v = this.at(i);
      if (v > m) m = v;
    }
    return m;
  }
}

// Draws a ring into a small canvas, right-aligned so the newest sample is always at the right
// edge and a young series fills from the right. `floor` keeps a flat, small series from being
// stretched to full height (a worker at 0.3 % CPU should look idle, not busy).
export function drawSparkline(canvas, ring, { floor = 0, color = '#2563eb' } = {}) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.width;
  const h = canvas.height;
  const cssW = Number(canvas.dataset.w) || w;
  const cssH = Number(canvas.dataset.h) || h;
  if (canvas.dataset.ratio !== String(ratio)) {
    canvas.dataset.ratio = String(ratio);
    canvas.width = Math.round(cssW * ratio);
    canvas.height = Math.round(cssH * ratio);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  if (ring.count === 0) return;
  const top = Math.max(ring.max(), floor) || 1;
  const step = cssW / (ring.size - 1);
  const x0 = cssW - (ring.count - 1) * step;
  const pad = 1.5;
  const yOf = (v) => cssH - pad - (v / top) * (cssH - 2 * pad);
  ctx.lineWidth = 1.25;
  ctx.strokeStyle = color;
  ctx.beginPath();
  let drawing = false;
  for (let i = 0; i < ring.count; i++) {
    const v = ring.at(i);
    if (Number.isNaN(v)) {
      drawing = false;
      continue;
    }
    const x = x0 + i * step;
    if (drawing) ctx.lineTo(x, yOf(v));
    else ctx.moveTo(x, yOf(v));
    drawing = true;
  }
  ctx.stroke();
}

// A canvas sized in CSS pixels through attributes (the CSP forbids inline styles), hidden from
// assistive technology: the number next to it says the same in text.
export function sparkCanvas(width = 80, height = 20) {
  const c = el('canvas', { width, height, className: 'spark', 'aria-hidden': 'true' });
  c.dataset.w = String(width);
  c.dataset.h = String(height);
  return c;
}
