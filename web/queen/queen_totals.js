// Cluster totals, summed from the Hive list the page already holds: no extra request.
import { el, fmtBytes, fmtPct, NONE } from '/ui/common.js';
import { setText, setVariant } from '/ui/dom.js';
import { STATUS_ORDER, STATE_ORDER } from '/ui/queen_hives.js';

export function sumHives(hives) {
  const t = {
    hives: hives.length, byStatus: {}, workers: 0, byState: null,
    gpus: null, vramUsed: null, vramTotal: null,
  };
  for (const s of STATUS_ORDER) t.byStatus[s] = 0;
  for (const hv of hives) {
    t.byStatus[hv.status] = (t.byStatus[hv.status] ?? 0) + 1;
    t.workers += hv.worker_count ?? 0;
    // Fields newer Queens add: a total is shown only when some Hive reported it, never as a
    // made-up 0.
    if (hv.workers_by_state && typeof hv.workers_by_state === 'object') {
      t.byState ??= {};
      for (const [k, n] of Object.entries(hv.workers_by_state)) {
        if (typeof n === 'number') t.byState[k] = (t.byState[k] ?? 0) + n;
      }
    }
    if (typeof hv.gpu_count === 'number') t.gpus = (t.gpus ?? 0) + hv.gpu_count;
    if (typeof hv.vram_total_bytes === 'number') {
      t.vramTotal = (t.vramTotal ?? 0) + hv.vram_total_bytes;
      t.vramUsed = (t.vramUsed ?? 0) + (hv.vram_used_bytes ?? 0);
    }
  }
  return t;
}

// A list of "count label" chips, one per key, created once and then only updated.
class Counts {
  constructor(dd, prefix, order) {
    this.dd = dd;
    this.prefix = prefix;
    this.order = order;
    this.items = new Map();
    this.list = null;
  }

  update(counts) {
    if (!counts) {
      this.items.clear();
      this.list = null;
      setText(this.dd, NONE);
      return;
    }
    if (!this.list) {
      this.list = el('ul', { className: 'q-counts' });
      this.dd.replaceChildren(this.list);
    }
    const keys = this.order.concat(Object.keys(counts).filter((k) => !this.order.includes(k)));
    for (const k of keys) {
      const n = counts[k] ?? 0;
      let item = this.items.get(k);
      if (!item) {
        const num = el('span', { className: 'q-count-n' });
        item = el('li', { className: 'q-count', 'data-key': k }, num, ` ${k}`);
        item.num = num;
        setVariant(item, this.prefix, k);
        this.items.set(k, item);
        this.list.append(item);
      }
      setText(item.num, n);
      item.classList.toggle('q-zero', n === 0);
    }
  }
}

export class Totals {
  constructor(root) {
    this.hives = root.querySelector('#total-hives');
    this.workers = root.querySelector('#total-workers');
    this.gpus = root.querySelector('#total-gpus');
    this.vram = root.querySelector('#total-vram');
    this.byStatus = new Counts(root.querySelector('#total-hives-by-status'), 'status-', STATUS_ORDER);
    this.byState = new Counts(root.querySelector('#total-workers-by-state'), 'state-', STATE_ORDER);
  }

  update(hives) {
    const t = sumHives(hives);
    setText(this.hives, t.hives);
    setText(this.workers, t.workers);
    this.byStatus.update(t.byStatus);
    this.byState.update(t.byState);
    setText(this.gpus, t.gpus ?? NONE);
    setText(this.vram, !t.vramTotal ? NONE
      : `${fmtBytes(t.vramUsed)} / ${fmtBytes(t.vramTotal)}` +
        ` (${fmtPct((100 * t.vramUsed) / t.vramTotal)})`);
  }
}
