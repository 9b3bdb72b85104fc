// The Hives table: one page of rows out of thousands, sorted worst status first, filtered by a
// text box. Rows are keyed and only changed cells are written; a row can expand to its Hive's
// workers, which are fetched only while that row is expanded and on screen.
import { api, el, fmtBytes, fmtDuration, NONE } from '/ui/common.js';
import { setText, setAttr, setVariant, setLink, Poller } from '/ui/dom.js';
import { WorkerTable } from '/ui/queen_workers.js';

export const PAGE_SIZE = 100;
// Rows of an expanded Hive shown at first and added by each "Show more": a Hive may hold
// 10,000 workers, and the page must not put them all in the DOM.
const DETAIL_STEP = 200;

// Worst first: the rows an operator must act on lead the default order.
const STATUS_RANK = { down: 0, degraded: 1, unreachable: 2, healthy: 3 };
export const STATUS_ORDER = ['down', 'degraded', 'unreachable', 'healthy'];
export const STATE_ORDER = ['ready', 'starting', 'stopping', 'failed', 'oom', 'exited', 'unknown'];

// A stable key: the alias stays once known (the id arrives with the first contact), and
// push-only Hives have an id from the start and never an alias.
export function hiveKey(hv) {
  return hv.alias != null ? `a:${hv.alias}` : `i:${hv.id}`;
}

export function hiveName(hv) {
  if (hv.alias != null && hv.id != null && hv.alias !== hv.id) return `${hv.alias} (${hv.id})`;
  return hv.alias ?? hv.id ?? NONE;
}

function statusRank(s) {
  return STATUS_RANK[s] ?? 4;
}

export function byStateText(counts) {
  if (!counts || typeof counts !== 'object') return NONE;
  const parts = [];
  const keys = STATE_ORDER.concat(Object.keys(counts).filter((k) => !STATE_ORDER.includes(k)));
  for (const k of keys) if (counts[k] > 0) parts.push(`${counts[k]} ${k}`);
  return parts.length ? parts.join(' · ') : 'none';
}

function vramText(hv) {
  // A Hive without GPUs (or without NVML) has no VRAM to show, not "0 B / 0 B".
  if (!hv.vram_total_bytes) return NONE;
  return `${fmtBytes(hv.vram_used_bytes ?? 0)} / ${fmtBytes(hv.vram_total_bytes)}`;
}

function ageText(hv) {
  if (hv.age_ms == null) return 'never';
  return hv.age_ms < 1000 ? 'just now' : `${fmtDuration(hv.age_ms)} ago`;
}

// Numeric collation: gpu-2 before gpu-10.
const NAMES = new Intl.Collator(undefined, { numeric: true });

const COMPARE = {
  status: (a, b) => statusRank(a.status) - statusRank(b.status),
  name: () => 0,
  // Never-seen Hives sort as the oldest.
  age: (a, b) => (a.age_ms ?? Infinity) - (b.age_ms ?? Infinity),
  gpus: (a, b) => (a.gpu_count ?? -1) - (b.gpu_count ?? -1),
  workers: (a, b) => (a.worker_count ?? 0) - (b.worker_count ?? 0),
};

export class HivesTable {
  constructor({ tbody, table, range, prev, next, schedule }) {
    this.tbody = tbody;
    this.table = table;
    this.rangeEl = range;
    this.prevBtn = prev;
    this.nextBtn = next;
    this.schedule = schedule;
    this.hives = [];
    this.searchText = new Map(); // key -> lowercased text the Hive filter matches
    this.filter = '';
    this.sortKey = 'status';
    this.sortDir = 1;
    this.page = 0;
    this.rows = new Map(); // key -> row
    this.expanded = new Map(); // key -> detail
    this.detailIds = 0;
    this.view = null; // the sorted, filtered list, rebuilt when data, filter or sort change
    prev.addEventListener('click', () => this.setPage(this.page - 1));
    next.addEventListener('click', () => this.setPage(this.page + 1));
    for (const b of table.querySelectorAll('button[data-sort-key]')) {
      b.addEventListener('click', () => this.setSort(b.dataset.sortKey));
    }
    tbody.addEventListener('click', (e) => this.onClick(e));
  }

  setData(hives) {
    this.hives = hives;
    this.loaded = true;
    this.searchText.clear();
    this.view = null;
    this.schedule();
  }

  setFilter(text) {
    const f = text.trim().toLowerCase();
    if (f === this.filter) return;
    this.filter = f;
    this.page = 0;
    this.view = null;
    this.schedule();
  }

  setSort(key) {
    if (!COMPARE[key]) return;
    if (this.sortKey === key) this.sortDir = -this.sortDir;
    else {
      this.sortKey = key;
      // Ascending first: worst status, most recent snapshot, names A to Z, fewest.
      this.sortDir = 1;
    }
    this.page = 0;
    this.view = null;
    this.schedule();
  }

  setPage(p) {
    this.page = p;
    this.schedule();
  }

  textOf(hv) {
    const key = hiveKey(hv);
    let s = this.searchText.get(key);
    if (s === undefined) {
      s = [hv.id, hv.alias, hv.address, hv.hostname].filter(Boolean).join('\n').toLowerCase();
      this.searchText.set(key, s);
    }
    return s;
  }

  matches(hv) {
    return !this.filter || this.textOf(hv).includes(this.filter);
  }

  // The Queen's workers filter takes one exact id or alias. A text that is not one but narrows
  // the table to a single Hive means that Hive; anything else is sent as typed.
  resolve(text) {
    const t = text.trim();
    if (!t || this.hives.some((hv) => hv.id === t || hv.alias === t)) return t;
    const f = t.toLowerCase();
    let found = null;
    for (const hv of this.hives) {
      if (!this.textOf(hv).includes(f)) continue;
      if (found) return t;
      found = hv;
    }
    return found ? found.id ?? found.alias : t;
  }

  buildView() {
    const cmp = COMPARE[this.sortKey];
    const dir = this.sortDir;
    const nameDir = this.sortKey === 'name' ? dir : 1;
    // Names computed once, not in each of the n log n comparisons.
    const list = this.hives.filter((hv) => this.matches(hv)).map((hv) => ({ hv, name: hiveName(hv) }));
    list.sort((a, b) => dir * cmp(a.hv, b.hv) || nameDir * NAMES.compare(a.name, b.name));
    return list.map((x) => x.hv);
  }

  render() {
    if (!this.view) this.view = this.buildView();
    const view = this.view;
    const pages = Math.max(1, Math.ceil(view.length / PAGE_SIZE));
    this.page = Math.min(Math.max(0, this.page), pages - 1);
    const start = this.page * PAGE_SIZE;
    const slice = view.slice(start, start + PAGE_SIZE);

    // Rows move when their order changes (a status change under the default sort); moving a
    // node drops the focus inside it, so a keyboard user's place is given back afterwards.
    const focused = this.tbody.contains(document.activeElement) ? document.activeElement : null;
    const seen = new Set();
    let cursor = this.tbody.firstElementChild;
    const place = (tr) => {
      if (tr !== cursor) this.tbody.insertBefore(tr, cursor);
      else cursor = cursor.nextElementSibling;
    };
    for (const hv of slice) {
      const key = hiveKey(hv);
      if (seen.has(key)) continue;
      seen.add(key);
      let row = this.rows.get(key);
      if (!row) {
        row = this.makeRow(key);
        this.rows.set(key, row);
      }
      this.updateRow(row, hv);
      place(row.tr);
      const d = this.expanded.get(key);
      if (d) {
        d.hive = hv;
        place(d.tr);
        d.poller.start();
        this.renderDetail(d);
      }
    }
    for (const [key, row] of this.rows) {
      if (!seen.has(key)) {
        row.tr.remove();
        this.rows.delete(key);
      }
    }
    // An expanded Hive that left the page keeps its state but stops costing requests.
    for (const [key, d] of this.expanded) {
      if (!seen.has(key)) {
        d.poller.stop();
        d.tr.remove();
      }
    }

    if (focused && focused.isConnected && document.activeElement !== focused) {
      focused.focus({ preventScroll: true });
    }
    if (this.loaded) setAttr(this.table, 'data-loaded', true);
    const total = this.hives.length;
    let range = view.length
      ? `Hives ${start + 1}–${start + slice.length} of ${view.length}`
      : 'No Hives';
    if (view.length !== total) range += ` (filtered from ${total})`;
    setText(this.rangeEl, range);
    this.prevBtn.disabled = this.page === 0;
    this.nextBtn.disabled = this.page >= pages - 1;
    for (const th of this.table.querySelectorAll('th[data-sort]')) {
      const on = th.dataset.sort === this.sortKey;
      setAttr(th, 'aria-sort', on ? (this.sortDir > 0 ? 'ascending' : 'descending') : null);
    }
  }

  makeRow(key) {
    const tr = el('tr', { 'data-hive-key': key });
    const btn = el('button', {
      type: 'button',
      className: 'q-expand',
      'aria-expanded': 'false',
      'data-action': 'expand',
    });
    btn.dataset.key = key;
    const cells = {};
    const td = (col, tag = 'td', cls = null) => {
      const c = el(tag, { 'data-col': col, className: cls, scope: tag === 'th' ? 'row' : null });
      cells[col] = c;
      tr.append(c);
      return c;
    };
    td('expand').append(btn);
    td('status', 'td', 'q-status');
    const nameCell = td('name', 'th');
    // The handshake's last error says why a Hive is unreachable; it sits under the name.
    const nameText = el('span', { className: 'q-hive-name' });
    const errText = el('span', { className: 'sub error', 'data-col': 'last_error' });
    nameCell.append(nameText, errText);
    td('age', 'td', 'q-num');
    td('source');
    td('address');
    td('gpus', 'td', 'q-num');
    td('vram', 'td', 'q-num');
    td('workers', 'td', 'q-num');
    td('by_state');
    td('page');
    return { tr, cells, btn, nameText, errText, name: null };
  }

  updateRow(row, hv) {
    const c = row.cells;
    const name = hiveName(hv);
    setText(c.status, hv.status ?? NONE);
    setVariant(c.status, 'status-', hv.status);
    setAttr(row.tr, 'data-status', hv.status);
    setAttr(row.tr, 'data-hive-id', hv.id);
    setText(row.nameText, name);
    setText(row.errText, hv.last_error ?? '');
    setText(c.age, ageText(hv));
    setText(c.source, hv.source ?? NONE);
    setText(c.address, hv.address ?? NONE);
    setText(c.gpus, hv.gpu_count ?? NONE);
    setText(c.vram, vramText(hv));
    setText(c.workers, hv.worker_count ?? 0);
    setText(c.by_state, byStateText(hv.workers_by_state));
    // The Hive serves its own page at /; older Queens do not report hive_url, and the Hive's
    // page is served from its API address too.
    const base = hv.hive_url ?? hv.address;
    setLink(c.page, base ? base.replace(/\/+$/, '') + '/' : null, 'Open');
    const a = c.page.firstElementChild;
    if (a) setAttr(a, 'aria-label', `Open the page of Hive ${name} in a new tab`);
    if (row.name !== name) {
      row.name = name;
      row.btn.setAttribute('aria-label', `Workers of ${name}`);
    }
    const d = this.expanded.get(hiveKey(hv));
    setAttr(row.btn, 'aria-expanded', d ? 'true' : 'false');
    setAttr(row.btn, 'aria-controls', d ? d.tr.id : null);
  }

  onClick(e) {
    const btn = e.target.closest('button');
    if (!btn || !this.tbody.contains(btn)) return;
    if (btn.dataset.action === 'expand') this.toggle(btn.dataset.key);
    else if (btn.dataset.action === 'more') {
      const d = this.expanded.get(btn.dataset.key);
      if (d) {
        d.limit += DETAIL_STEP;
        this.renderDetail(d);
      }
    }
  }

  toggle(key) {
    const d = this.expanded.get(key);
    if (d) {
      d.poller.stop();
      d.tr.remove();
      this.expanded.delete(key);
    } else {
      const hv = this.hives.find((x) => hiveKey(x) === key);
      if (!hv) return;
      this.expanded.set(key, this.makeDetail(key, hv));
    }
    // aria-expanded follows at once: the next frame would be too late for a screen reader
    // announcing the button just pressed.
    const row = this.rows.get(key);
    const open = this.expanded.get(key);
    if (row) {
      setAttr(row.btn, 'aria-expanded', open ? 'true' : 'false');
      setAttr(row.btn, 'aria-controls', open ? open.tr.id : null);
    }
    this.schedule();
  }

  makeDetail(key, hv) {
    const id = `hive-detail-${++this.detailIds}`;
    const thead = el('thead');
    const tbody = el('tbody');
    const status = el('p', { className: 'q-detail-status', role: 'status' });
    const error = el('span', { role: 'alert', className: 'error' });
    const more = el('button', { type: 'button', 'data-action': 'more', hidden: true });
    more.dataset.key = key;
    const table = el('table', { className: 'q-table q-nested' },
      el('caption', { className: 'q-sr', text: `Workers of Hive ${hiveName(hv)}` }), thead, tbody);
    const td = el('td', { colspan: 11 }, status, error, el('div', { className: 'table-wrap' }, table), more);
    const tr = el('tr', { className: 'q-detail', id, 'data-detail-for': key }, td);
    const d = {
      key, hive: hv, tr, status, error, more, limit: DETAIL_STEP,
      table: new WorkerTable(thead, tbody, { showHive: false }),
      workers: null, loaded: false,
    };
    d.poller = new Poller(() => this.fetchDetail(d), 1000);
    return d;
  }

  async fetchDetail(d) {
    const ref = d.hive.id ?? d.hive.alias;
    try {
      const doc = await api(`/v1/hives/${encodeURIComponent(ref)}`);
      d.workers = Array.isArray(doc?.workers) ? doc.workers : [];
      d.errorText = '';
    } catch (e) {
      d.errorText = e.status === 404 ? 'This Hive is no longer known.' : `Could not load workers: ${e.message}`;
    }
    d.loaded = true;
    if (this.expanded.get(d.key) === d) this.schedule();
  }

  renderDetail(d) {
    setText(d.error, d.errorText ?? '');
    if (!d.loaded) {
      setText(d.status, 'Loading workers…');
      return;
    }
    const all = d.workers ?? [];
    const shown = all.length > d.limit ? all.slice(0, d.limit) : all;
    d.table.update(shown);
    setText(d.status, all.length === shown.length
      ? `${all.length} worker${all.length === 1 ? '' : 's'}`
      : `${shown.length} of ${all.length} workers shown`);
    d.more.hidden = shown.length >= all.length;
    setText(d.more, `Show ${Math.min(DETAIL_STEP, all.length - shown.length)} more`);
    setAttr(d.more, 'aria-label', `Show more workers of Hive ${hiveName(d.hive)}`);
  }
}
