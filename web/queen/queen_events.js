// The events feed: the Queen's Server-Sent Events, newest first, at most MAX_SHOWN in the DOM.
// A Hive going down sends one worker_state per worker, so bursts of thousands of events are
// normal at scale: events are queued and drawn once per frame, and a burst larger than the list
// only draws its newest part.
import { el, NONE } from '/ui/common.js';
import { setText, setLink, clockTime } from '/ui/dom.js';

const MAX_SHOWN = 500;
// The feed is drawn at most this often and at most DRAW_MAX events at a time: in a storm of
// thousands of events a second nobody reads each line, and drawing them all would take the
// main thread; the newest are drawn and the rest counted.
const DRAW_EVERY_MS = 250;
const DRAW_MAX = 200;
// Keys of events already shown, kept longer than the list: a reconnect replays up to the
// Queen's ring (the `recent` count), and those must not come back as new.
const SEEN_KEEP = 4096;
const RECENT = 200;

export const HIVE_KINDS = ['hive_joined', 'hive_back', 'hive_degraded', 'hive_down',
  'hive_restarted', 'hive_removed'];
export const WORKER_KINDS = ['worker_added', 'worker_state', 'worker_removed'];

function change(from, to) {
  return from && from !== to ? `${from} → ${to ?? NONE}` : to ?? NONE;
}

function detailText(kind, d) {
  if (kind.startsWith('hive_')) return change(d.previous_status, d.status);
  let s = `${d.service ?? '?'}/${d.instance ?? '?'} ${change(d.previous_state, d.state)}`;
  if (d.exit_code != null) s += `, exit ${d.exit_code}`;
  if (d.signal != null) s += `, signal ${d.signal}`;
  return s;
}

export class EventsFeed {
  constructor({ list, status, dropped, workersToggle, schedule, onHiveEvent, onService }) {
    this.list = list;
    this.statusEl = status;
    this.droppedEl = dropped;
    this.schedule = schedule;
    this.onHiveEvent = onHiveEvent;
    this.onService = onService;
    this.pending = [];
    this.seen = new Set();
    this.seenOrder = [];
    this.dropped = 0;
    this.drawTimer = 0;
    this.lastDraw = -Infinity;
    this.retryMs = 1000;
    this.showWorkers = workersToggle.checked;
    workersToggle.addEventListener('change', () => {
      this.showWorkers = workersToggle.checked;
      list.classList.toggle('q-hide-workers', !this.showWorkers);
    });
  }

  start() {
    this.connect();
  }

  connect() {
    const es = new EventSource(`/v1/events?recent=${RECENT}`);
    this.es = es;
    for (const kind of HIVE_KINDS.concat(WORKER_KINDS)) {
      es.addEventListener(kind, (e) => this.receive(kind, e));
    }
    es.addEventListener('open', () => {
      this.retryMs = 1000;
      setText(this.statusEl, 'Live');
      this.statusEl.dataset.status = 'live';
    });
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CONNECTING) {
        // The browser reconnects by itself and sends Last-Event-ID; the Queen replays the gap.
        setText(this.statusEl, 'Reconnecting…');
        this.statusEl.dataset.status = 'reconnecting';
        return;
      }
      // Closed for good (the Queen refused the stream, e.g. 429/503 at its stream cap): the
      // browser gives up, so retry by hand, slower each time.
      es.close();
      const wait = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, 30000);
      setText(this.statusEl, `Disconnected; retrying in ${Math.round(wait / 1000)} s`);
      this.statusEl.dataset.status = 'closed';
      setTimeout(() => this.connect(), wait);
    });
  }

  remember(key) {
    this.seen.add(key);
    this.seenOrder.push(key);
    if (this.seenOrder.length > SEEN_KEEP * 2) {
      for (const k of this.seenOrder.splice(0, this.seenOrder.length - SEEN_KEEP)) this.seen.delete(k);
    }
  }

  receive(kind, e) {
    let d;
    try {
      d = JSON.parse(e.data);
    } catch {
      return;
    }
    if (!d || typeof d !== 'object') return;
    const seq = d.seq ?? (e.lastEventId || null);
    // seq alone would collide after a Queen restart (it counts from 1 again); the wall clock
    // time of the event tells a replay from a new event with a reused number.
    if (seq != null) {
      const key = `${seq}:${d.time_ms ?? ''}:${kind}`;
      if (this.seen.has(key)) return;
      this.remember(key);
    }
    if (d.service && this.onService) this.onService(d.service);
    if (kind.startsWith('hive_')) this.onHiveEvent(kind, d);
    else if (!this.showWorkers) return;
    this.pending.push({ kind, d, seq, at: d.time_ms ?? Date.now() });
    if (this.pending.length > DRAW_MAX * 4) {
      // Keep the queue bounded while the tab draws no frames (hidden).
      this.dropped += this.pending.length - DRAW_MAX;
      this.pending.splice(0, this.pending.length - DRAW_MAX);
    }
    if (!this.drawTimer) {
      const wait = Math.max(0, this.lastDraw + DRAW_EVERY_MS - performance.now());
      this.drawTimer = setTimeout(() => {
        this.drawTimer = 0;
        this.schedule();
      }, wait);
    }
  }

  makeItem({ kind, d, seq, at }) {
    const link = el('span', { className: 'q-ev-url' });
    if (d.url) setLink(link, d.url);
    const li = el('li', { 'data-kind': kind, className: `q-ev kind-${kind}` },
      el('time', { datetime: new Date(at).toISOString(), text: clockTime(at) }),
      el('span', { className: 'q-ev-kind', text: kind.replace('_', ' ') }),
      el('span', { className: 'q-ev-hive', text: d.alias ?? d.hive_id ?? NONE }),
      el('span', { className: 'q-ev-detail', text: detailText(kind, d) }),
      link);
    if (seq != null) li.dataset.seq = String(seq);
    if (d.hive_id != null) li.dataset.hiveId = String(d.hive_id);
    return li;
  }

  // Draws the queued events: one fragment at the top, then trims the tail.
  render() {
    this.lastDraw = performance.now();
    if (!this.pending.length) return;
    let batch = this.pending;
    this.pending = [];
    if (batch.length > DRAW_MAX) {
      this.dropped += batch.length - DRAW_MAX;
      batch = batch.slice(batch.length - DRAW_MAX);
    }
    const frag = document.createDocumentFragment();
    for (let i = batch.length - 1; i >= 0; i--) frag.append(this.makeItem(batch[i]));
    this.list.prepend(frag);
    let extra = this.list.childElementCount - MAX_SHOWN;
    while (extra-- > 0) this.list.lastElementChild.remove();
    if (this.dropped) {
      setText(this.droppedEl, `${this.dropped} events skipped during bursts`);
    }
  }
}
