// The logs panel: the tail of one worker's output, as text, optionally re-read every second.
// Logs may hold secrets, so the Hive wants the token for them even though they are a read.

import { api } from '/ui/common.js';
import { handleAuthError } from './hive-auth.js';

const FOLLOW_MS = 1000;

let panel, heading, who, tail, follow, previous, status, text;
let worker = null; // { service, instance }
let timer = 0;
let inflight = null; // AbortController of the read in progress
let opener = null; // the button that opened the panel gets focus back on close

export const workerPath = (service, instance) =>
  `/v1/workers/${encodeURIComponent(service)}/${encodeURIComponent(instance)}`;

function tailCount() {
  const n = Math.floor(Number(tail.value));
  return Number.isFinite(n) && n >= 1 ? Math.min(n, 100000) : 200;
}

async function load() {
  clearTimeout(timer);
  timer = 0;
  if (!worker) return;
  if (inflight) inflight.abort();
  const ctl = new AbortController();
  inflight = ctl;
  const w = worker;
  const q = `?tail=${tailCount()}${previous.checked ? '&previous=1' : ''}`;
  try {
    const body = await api(`${workerPath(w.service, w.instance)}/logs${q}`, { signal: ctl.signal });
    if (worker !== w || ctl.signal.aborted) return;
    // Stay pinned to the end while following, unless the reader scrolled up to read.
    const atEnd = text.scrollTop + text.clientHeight >= text.scrollHeight - 4;
    text.textContent = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
    if (follow.checked && atEnd) text.scrollTop = text.scrollHeight;
    const lines = text.textContent === '' ? 0 : text.textContent.split('\n').length - (text.textContent.endsWith('\n') ? 1 : 0);
    status.dataset.kind = 'ok';
    status.textContent = `${lines} line${lines === 1 ? '' : 's'}${previous.checked ? ' of the previous run' : ''}, read at ${new Date().toLocaleTimeString()}${follow.checked ? ' (following)' : ''}.`;
  } catch (err) {
    if (ctl.signal.aborted || worker !== w) return;
    status.dataset.kind = 'error';
    status.textContent = `✖ ${err.message}`;
    // Old lines under a failed read would pass for the answer to it (another run, another tail).
    text.textContent = '';
    if (err.status === 401 || err.status === 403) {
      follow.checked = false;
      handleAuthError(err);
    }
  } finally {
    if (inflight === ctl) inflight = null;
  }
  // The next read is timed from the end of this one, so a slow Hive never gets reads piled up.
  if (follow.checked && worker === w && !panel.hidden) timer = setTimeout(load, FOLLOW_MS);
}

export function openLogs(service, instance, from = null) {
  worker = { service, instance };
  opener = from;
  who.textContent = `— ${service}/${instance}`;
  panel.dataset.worker = `${service}/${instance}`;
  text.textContent = '';
  status.textContent = 'Reading…';
  panel.hidden = false;
  heading.focus();
  panel.scrollIntoView({ block: 'nearest' });
  load();
}

function closeLogs() {
  clearTimeout(timer);
  if (inflight) inflight.abort();
  worker = null;
  follow.checked = false;
  panel.hidden = true;
  delete panel.dataset.worker;
  if (opener && opener.isConnected) opener.focus();
  opener = null;
}

export function initLogs() {
  panel = document.getElementById('logs-panel');
  heading = document.getElementById('logs-h');
  who = document.getElementById('logs-worker');
  tail = document.getElementById('logs-tail');
  follow = document.getElementById('logs-follow');
  previous = document.getElementById('logs-previous');
  status = document.getElementById('logs-status');
  text = document.getElementById('logs-text');
  document.getElementById('logs-form').addEventListener('submit', (e) => {
    e.preventDefault();
    load();
  });
  follow.addEventListener('change', load);
  previous.addEventListener('change', load);
  document.getElementById('logs-close').addEventListener('click', closeLogs);
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') closeLogs();
  });
}
