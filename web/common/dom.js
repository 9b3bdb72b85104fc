// DOM and timing helpers for pages that update in place: write only what changed, links only to
// http(s), polling that pauses in hidden tabs. Nothing here knows about Hives or workers.
import { el, NONE } from '/ui/common.js';

// Assigns text only when it differs: writing the same textContent still costs a layout
// invalidation, and most cells of a 1 s refresh do not change.
export function setText(node, text) {
  const s = text == null ? '' : String(text);
  if (node.textContent !== s) node.textContent = s;
}

// Sets or removes an attribute only when it changes, for the same reason as setText.
export function setAttr(node, name, value) {
  if (value == null || value === false) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else {
    const s = value === true ? '' : String(value);
    if (node.getAttribute(name) !== s) node.setAttribute(name, s);
  }
}

// Swaps one class of a family (status-*, state-*) without touching the others.
export function setVariant(node, prefix, value) {
  const want = value ? prefix + value : '';
  const had = node.dataset.variant || '';
  if (had === want) return;
  if (had) node.classList.remove(had);
  if (want) node.classList.add(want);
  node.dataset.variant = want;
}

// A link to a URL that came from the network: only http(s) is made clickable, so a hostile
// Hive cannot plant a javascript: URL in the page.
export function safeHref(url) {
  if (typeof url !== 'string') return null;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

// Keeps a link cell in step with a URL: an <a> when the URL is usable, plain text otherwise.
export function setLink(cell, url, label) {
  const href = safeHref(url);
  let a = cell.firstElementChild;
  if (!href) {
    if (a) cell.replaceChildren();
    setText(cell, url ? String(url) : NONE);
    return;
  }
  if (!a) {
    a = el('a', { target: '_blank', rel: 'noopener noreferrer' });
    cell.replaceChildren(a);
  }
  setAttr(a, 'href', href);
  setText(a, label ?? url);
}

// Repeats an async task: the next run starts `everyMs` after the previous one finished (never
// two at once), pauses while the tab is hidden, and `kick()` runs it as soon as the current run
// is over, so an event can ask for fresh data without stacking requests.
export class Poller {
  constructor(task, everyMs) {
    this.task = task;
    this.everyMs = everyMs;
    this.timer = 0;
    this.running = false;
    this.again = false;
    this.stopped = true;
    this.onVisibility = () => {
      if (!document.hidden && !this.stopped) this.kick();
    };
  }
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    document.addEventListener('visibilitychange', this.onVisibility);
    this.kick();
  }
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    document.removeEventListener('visibilitychange', this.onVisibility);
  }
  kick() {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.run();
  }
  async run() {
    this.running = true;
    try {
      await this.task();
    } catch (e) {
      // The task reports its own errors; a throw must not end the loop.
      console.warn(e);
    }
    this.running = false;
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      this.timer = setTimeout(() => this.kick(), 0);
    } else if (!document.hidden) {
      this.timer = setTimeout(() => this.kick(), this.everyMs);
    }
  }
}

// "14:03:22", local time, 24 hours: the same width on every line of a feed.
export function clockTime(ms) {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

// Calls fn once, `ms` after the last of a burst of calls (typing in a filter box).
export function debounce(fn, ms) {
  let t = 0;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}
