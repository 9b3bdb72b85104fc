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

// The bar's segments as percentages of `total`; a style is written only when it changed.
function setWidths(e, mine, other, rest, total) {
  const widths = { mine, other, rest };
  for (const [seg, bytes] of Object.entries(widths)) {
    const w = `${((bytes / total) * 100).toFixed(2)}%`;
    const attr = `w-${seg}`;
    if (e.attrs[attr] !== w) e.cells[seg].style.width = e.attrs[attr] = w;
  }
}

function createGpu(key) {
  const c = {
    title: el('strong', { className: 'gpu-name' }),
    util: el('span'),
    temp: el('span'),
    power: el('span'),
    legend: el('span', { className: 'small' }),
  };
  c.mine = el('span', { className: 'seg seg-workers' });
  c.other = el('span', { className: 'seg seg-other' });
  c.rest = el('span', { className: 'seg seg-rest' });
  // The bar is decoration for sighted readers; the legend next to it carries the same numbers.
  const bar = el('span', { className: 'bar', 'aria-hidden': 'true' }, c.mine, c.other, c.rest);
  const li = el('li', { className: 'gpu', 'data-gpu': key },
    c.title,
    el('span', { className: 'gpu-stats' },
      'Utilisation ', c.util, ' · Temperature ', c.temp, ' · Power ', c.power),
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
    KeyedRows.setText(e, 'power', typeof g.power_w === 'number' ? `${g.power_w.toFixed(0)} W` : NONE);
    const total = g.memory_total_bytes;
    const used = g.memory_used_bytes;
    if (typeof total !== 'number' || typeof used !== 'number' || total <= 0) {
      KeyedRows.setText(e, 'legend', `VRAM ${fmtBytes(used)} used of ${fmtBytes(total)}`);
      setWidths(e, 0, 0, 0, 1);
      continue;
    }
    // NVML's used figure and the per-process sums are read at different moments; clamp so the
    // parts never exceed what the device reports as used.
    const mine = Math.min(mineBy.get(g.index) || 0, used);
    const free = Math.max(total - used, 0);
    let text = `VRAM ${fmtBytes(used)} used of ${fmtBytes(total)}: this Hive's workers ${fmtBytes(mine)}, `;
    if (typeof g.vram_other_bytes === 'number') {
      // Other processes apart from what the driver holds and NVML does not list.
      const procs = Math.min(g.vram_other_bytes, used - mine);
      const rest = Math.max(used - mine - procs, 0);
      text += `other processes ${fmtBytes(procs)}, driver and unlisted ${fmtBytes(rest)}, free ${fmtBytes(free)}`;
      setWidths(e, mine, procs, rest, total);
    } else {
      const other = Math.max(used - mine, 0);
      text += `other ${fmtBytes(other)}, free ${fmtBytes(free)}`;
      setWidths(e, mine, other, 0, total);
    }
    KeyedRows.setText(e, 'legend', text);
  }
}
