// The host and GPU panels: a handful of elements, rewritten only where their text changed.

import { KeyedRows, NONE, el, fmtBytes, fmtNum, fmtPct } from '/ui/common.js';

const $ = (id) => document.getElementById(id);

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function renderHost(snap) {
  const h = snap.host || {};
  setText($('hive-id'), snap.hive_id ? `— ${snap.hive_id}` : '');
  setText($('host-name'), h.hostname || NONE);
  setText($('host-cpus'), typeof h.cpus === 'number' ? String(h.cpus) : NONE);
  setText($('host-mem'), `${fmtBytes(h.memory_available_bytes)} of ${fmtBytes(h.memory_total_bytes)}`);
  setText($('host-load'), `${fmtNum(h.load1)} / ${fmtNum(h.load5)} / ${fmtNum(h.load15)}`);
  setText($('host-backend'), snap.backend || NONE);
}

// VRAM held by this Hive's workers on each GPU. A worker's vram_bytes is one sum over all the
// GPUs it uses (docs/telemetry.md) with no per-GPU figure, so a worker on several GPUs is split
// evenly across its gpu_indices: the least wrong guess, and the total over GPUs stays exact.
function workerVramByGpu(workers) {
  const by = new Map();
  for (const w of workers) {
    const idx = w.gpu_indices;
    if (typeof w.vram_bytes !== 'number' || !w.vram_bytes || !Array.isArray(idx) || !idx.length) continue;
    const share = w.vram_bytes / idx.length;
    for (const i of idx) by.set(i, (by.get(i) || 0) + share);
  }
  return by;
}

let gpuRows = null;

function createGpu(key) {
  const c = {
    title: el('strong', { className: 'gpu-name' }),
    util: el('span'),
    temp: el('span'),
    legend: el('span', { className: 'small' }),
  };
  c.mine = el('span', { className: 'seg seg-workers' });
  c.other = el('span', { className: 'seg seg-other' });
  // The bar is decoration for sighted readers; the legend next to it carries the same numbers.
  const bar = el('span', { className: 'bar', 'aria-hidden': 'true' }, c.mine, c.other);
  const li = el('li', { className: 'gpu', 'data-gpu': key },
    c.title,
    el('span', { className: 'gpu-stats' }, 'Utilisation ', c.util, ' · Temperature ', c.temp),
    bar, c.legend);
  return { el: li, cells: c };
}

export function renderGpus(snap) {
  if (!gpuRows) gpuRows = new KeyedRows($('gpus'), { create: createGpu });
  const gpus = Array.isArray(snap.gpus) ? snap.gpus : [];
  $('gpus-empty').hidden = gpus.length > 0;
  $('gpus-stale').hidden = snap.gpus_stale !== true;
  const mineBy = workerVramByGpu(snap.workers || []);
  const entries = gpuRows.sync(gpus.map((g) => [String(g.index), g]));
  for (const e of entries) {
    const g = e.item;
    KeyedRows.setText(e, 'title', `GPU ${g.index}: ${g.name || 'unnamed'}`);
    KeyedRows.setText(e, 'util', fmtPct(g.util_pct, 0));
    KeyedRows.setText(e, 'temp', typeof g.temperature_c === 'number' ? `${g.temperature_c} °C` : NONE);
    const total = g.memory_total_bytes;
    const used = g.memory_used_bytes;
    if (typeof total !== 'number' || typeof used !== 'number' || total <= 0) {
      KeyedRows.setText(e, 'legend', `VRAM ${fmtBytes(used)} used of ${fmtBytes(total)}`);
      e.cells.mine.style.width = e.attrs.wMine = '0';
      e.cells.other.style.width = e.attrs.wOther = '0';
      continue;
    }
    // NVML's used figure and the per-process sums are read at different moments; clamp so the
    // workers' part never exceeds what the device reports as used.
    const mine = Math.min(mineBy.get(g.index) || 0, used);
    const other = Math.max(used - mine, 0);
    const free = Math.max(total - used, 0);
    KeyedRows.setText(e, 'legend',
      `VRAM ${fmtBytes(used)} used of ${fmtBytes(total)}: this Hive's workers ${fmtBytes(mine)}, ` +
      `other ${fmtBytes(other)}, free ${fmtBytes(free)}`);
    const wMine = `${((mine / total) * 100).toFixed(2)}%`;
    const wOther = `${((other / total) * 100).toFixed(2)}%`;
    if (e.attrs.wMine !== wMine) e.cells.mine.style.width = e.attrs.wMine = wMine;
    if (e.attrs.wOther !== wOther) e.cells.other.style.width = e.attrs.wOther = wOther;
  }
}
