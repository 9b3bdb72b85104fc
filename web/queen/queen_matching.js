// "Matching workers": one page of GET /v1/workers for the state and service filters. The Queen
// pages the list (limit/offset/total), so the page never holds more than PAGE rows of a
// cluster's hundreds of thousands of workers.
import { api } from '/ui/common.js';
import { setText, Poller } from '/ui/dom.js';
import { WorkerTable } from '/ui/queen_workers.js';

const PAGE = 200;

export class MatchingWorkers {
  constructor({ section, thead, tbody, range, error, prev, next, schedule, onUnauthorized }) {
    this.section = section;
    this.rangeEl = range;
    this.errorEl = error;
    this.prevBtn = prev;
    this.nextBtn = next;
    this.schedule = schedule;
    this.onUnauthorized = onUnauthorized;
    this.onService = null;
    this.table = new WorkerTable(thead, tbody, { showHive: true });
    this.filter = { state: '', service: '', hive: '' };
    this.offset = 0;
    this.result = null; // { workers, total, offset }
    this.errorText = '';
    this.generation = 0; // answers to an older filter or page are dropped
    this.poller = new Poller(() => this.load(), 1000);
    prev.addEventListener('click', () => this.setOffset(this.offset - PAGE));
    next.addEventListener('click', () => this.setOffset(this.offset + PAGE));
  }

  get active() {
    return Boolean(this.filter.state || this.filter.service);
  }

  setFilter(f) {
    if (f.state === this.filter.state && f.service === this.filter.service &&
        f.hive === this.filter.hive) return;
    this.filter = { ...f };
    this.offset = 0;
    this.reload();
  }

  setOffset(offset) {
    this.offset = Math.max(0, offset);
    this.reload();
  }

  reload() {
    this.generation++;
    this.result = null;
    this.errorText = '';
    if (this.active) {
      this.poller.start();
      this.poller.kick();
    } else {
      this.poller.stop();
    }
    this.schedule();
  }

  async load() {
    if (!this.active) return;
    const gen = this.generation;
    const q = new URLSearchParams();
    if (this.filter.state) q.set('state', this.filter.state);
    if (this.filter.service) q.set('service', this.filter.service);
    if (this.filter.hive) q.set('hive', this.filter.hive);
    q.set('limit', String(PAGE));
    q.set('offset', String(this.offset));
    let doc;
    try {
      doc = await api(`/v1/workers?${q}`);
    } catch (e) {
      if (gen !== this.generation) return;
      if (e.status === 401) this.onUnauthorized();
      this.errorText = `Could not list workers: ${e.message}`;
      this.schedule();
      return;
    }
    if (gen !== this.generation) return;
    let workers = Array.isArray(doc?.workers) ? doc.workers : [];
    let total = typeof doc?.total === 'number' ? doc.total : null;
    if (total == null) {
      // A Queen without paging sends every match: page here instead.
      total = workers.length;
      workers = workers.slice(this.offset, this.offset + PAGE);
    } else if (workers.length > PAGE) {
      workers = workers.slice(0, PAGE);
    }
    this.result = { workers, total };
    this.errorText = '';
    if (this.onService) for (const w of workers) if (w.service) this.onService(w.service);
    this.schedule();
  }

  render() {
    this.section.hidden = !this.active;
    setText(this.errorEl, this.errorText);
    if (!this.active) {
      this.table.update([]);
      return;
    }
    const r = this.result;
    if (!r) {
      setText(this.rangeEl, 'Loading…');
      this.prevBtn.disabled = this.offset === 0;
      this.nextBtn.disabled = true;
      return;
    }
    // The list shrank under the current page (workers removed): go back to its last page.
    if (r.total > 0 && this.offset >= r.total) {
      this.setOffset(Math.floor((r.total - 1) / PAGE) * PAGE);
      return;
    }
    this.table.update(r.workers);
    const end = this.offset + r.workers.length;
    setText(this.rangeEl, r.total === 0 ? 'No matching workers'
      : `Workers ${this.offset + 1}–${end} of ${r.total}`);
    this.prevBtn.disabled = this.offset === 0;
    this.nextBtn.disabled = end >= r.total;
  }
}
