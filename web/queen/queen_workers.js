// Worker rows, used by a Hive's expanded list and by the "matching workers" table. Rows are
// keyed by hive/service/instance and only changed cells are written, so a list refreshed every
// second costs a few text assignments, not a rebuild. Both lists come in the Queen's order,
// which is stable, so KeyedRows (which never moves a row) keeps them in order.
import { el, fmtBytes, fmtPct, fmtDuration, KeyedRows, NONE } from '/ui/common.js';
import { setLink, setVariant } from '/ui/dom.js';

const COLUMNS = [
  { key: 'service', label: 'Service' },
  { key: 'instance', label: 'Instance' },
  { key: 'state', label: 'State' },
  { key: 'hive', label: 'Hive', hiveOnly: true },
  { key: 'cpu', label: 'CPU', num: true },
  { key: 'mem', label: 'Memory', num: true },
  { key: 'vram', label: 'VRAM', num: true },
  { key: 'pressure', label: 'Waiting (10 s)' },
  { key: 'gpus', label: 'GPUs' },
  { key: 'restarts', label: 'Restarts', num: true },
  { key: 'life', label: 'Up / exit' },
  { key: 'url', label: 'URL' },
];

export function workerKey(w) {
  return `${w.hive_id ?? ''}\u0000${w.service}\u0000${w.instance}`;
}

// "cpu 2.5 % · mem 0 % · io 1.0 %": the share of the last 10 s in which some of the worker's
// tasks waited for each resource (PSI), what an operator checks first when a worker is slow.
function pressureText(p) {
  if (!p) return NONE;
  const parts = [];
  for (const [name, key] of [['cpu', 'cpu'], ['mem', 'memory'], ['io', 'io']]) {
    if (p[key] && typeof p[key].some_avg10 === 'number') parts.push(`${name} ${fmtPct(p[key].some_avg10)}`);
  }
  return parts.length ? parts.join(' · ') : NONE;
}

function vramText(w) {
  const v = fmtBytes(w.vram_bytes);
  return typeof w.gpu_util_pct === 'number' ? `${v} · SM ${fmtPct(w.gpu_util_pct, 0)}` : v;
}

// "up 3 min", or for a finished worker why it ended, since that is what an operator looks for.
function lifeText(w, now) {
  if (w.state === 'oom' || w.memory_events?.oom_kill > 0) return 'OOM kill';
  if (w.signal != null) return `signal ${w.signal}`;
  if (w.exit_code != null) return `exit ${w.exit_code}`;
  if (w.exited_at_ms != null) return 'exited';
  if (w.started_at_ms != null) return `up ${fmtDuration(Math.max(0, now - w.started_at_ms))}`;
  return NONE;
}

function cellText(col, w, now) {
  switch (col) {
    case 'service': return w.service;
    case 'instance': return w.instance;
    case 'state': return w.state ?? NONE;
    case 'hive': return w.hive_alias ?? w.hive_id ?? NONE;
    case 'cpu': return fmtPct(w.cpu_pct);
    case 'mem': return fmtBytes(w.rss_bytes);
    case 'vram': return vramText(w);
    case 'pressure': return pressureText(w.pressure);
    case 'gpus': return Array.isArray(w.gpu_indices) && w.gpu_indices.length
      ? w.gpu_indices.join(', ') : NONE;
    case 'restarts': return w.restarts ?? NONE;
    case 'life': return lifeText(w, now);
    default: return '';
  }
}

export class WorkerTable {
  // thead/tbody: elements to fill; showHive: add the Hive column (the cross-Hive list).
  constructor(thead, tbody, { showHive }) {
    this.tbody = tbody;
    this.cols = COLUMNS.filter((c) => showHive || !c.hiveOnly);
    this.rows = new KeyedRows(tbody, { create: (key) => this.makeRow(key) });
    const tr = el('tr');
    for (const c of this.cols) {
      tr.append(el('th', { scope: 'col', className: c.num ? 'q-num' : null, text: c.label }));
    }
    thead.replaceChildren(tr);
  }

  makeRow(key) {
    const tr = el('tr', { 'data-worker-key': key });
    const cells = {};
    for (const c of this.cols) {
      // The instance names the row for screen readers moving across a line.
      const isName = c.key === 'instance';
      const td = el(isName ? 'th' : 'td', {
        // state-label: rbee.css colours it from the row's data-state.
        className: c.num ? 'q-num' : c.key === 'state' ? 'state-label' : null,
        scope: isName ? 'row' : null,
        'data-col': c.key,
      });
      cells[c.key] = td;
      tr.append(td);
    }
    return { el: tr, cells };
  }

  // Shows `workers`, in that order, touching only what changed.
  update(workers, now = Date.now()) {
    const items = [];
    const seen = new Set();
    for (const w of workers) {
      const key = workerKey(w);
      if (seen.has(key)) continue; // a key twice would make two rows share one entry
      seen.add(key);
      items.push([key, w]);
    }
    for (const entry of this.rows.sync(items)) {
      const w = entry.item;
      for (const c of this.cols) {
        if (c.key === 'url') setLink(entry.cells.url, w.url);
        else KeyedRows.setText(entry, c.key, String(cellText(c.key, w, now)));
      }
      setVariant(entry.cells.state, 'state-', w.state);
      KeyedRows.setAttr(entry, 'data-state', w.state ?? null);
    }
  }
}
