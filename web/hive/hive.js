// The Hive's page: capabilities once (and again when the Hive restarts), then the snapshot
// stream. Everything the page shows comes from that stream; actions only ask the Hive, and their
// effect shows up in the next snapshot like anyone else's.

import { api, createBatcher } from '/ui/common.js';
import { canAct, handleAuthError, initAuth, setAuthMode } from './hive-auth.js';
import { initLogs, openLogs, workerPath } from './hive-logs.js';
import { renderGpus, renderHost } from './hive-panels.js';
import { initSpawn, setCatalog } from './hive-spawn.js';
import { WorkersTable } from './hive-workers.js';

const SCHEMA_VERSION = 1;
const STREAM = '/v1/telemetry/stream';

const $ = (id) => document.getElementById(id);
const schedule = createBatcher();

let table;
let instanceId = '';
let intervalMs = 1000;
let lastSnapshotAt = 0;

// ---- page-level messages -------------------------------------------------------------------

function pageError(text) {
  const p = $('page-error');
  p.textContent = text;
  p.hidden = !text;
}

// ---- connection indicator --------------------------------------------------------------------

const CONN = {
  connecting: ['◌', 'connecting…'],
  live: ['●', 'live'],
  stale: ['◐', 'live, but no snapshot lately'],
  reconnecting: ['↻', 'reconnecting…'],
};

function setConn(status) {
  const p = $('conn');
  if (p.dataset.status === status) return;
  p.dataset.status = status;
  p.querySelector('.conn-icon').textContent = CONN[status][0];
  $('conn-text').textContent = CONN[status][1];
}

// ---- capabilities ----------------------------------------------------------------------------

async function loadCapabilities() {
  for (let delay = 1000; ; delay = Math.min(delay * 2, 30000)) {
    try {
      const caps = await api('/capabilities');
      intervalMs = caps.interval_ms || intervalMs;
      setAuthMode(caps.auth);
      setCatalog(caps.services);
      return caps;
    } catch (err) {
      pageError(`Cannot read the Hive's capabilities: ${err.message}. Retrying…`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

// ---- stream ----------------------------------------------------------------------------------

function onSnapshot(ev) {
  let snap;
  try {
    snap = JSON.parse(ev.data);
  } catch {
    pageError('The Hive sent a snapshot that is not valid JSON.');
    return;
  }
  if (snap.schema_version !== SCHEMA_VERSION) {
    pageError(`This page reads telemetry schema ${SCHEMA_VERSION}; the Hive sends ${snap.schema_version}.`);
    return;
  }
  if (!Array.isArray(snap.workers)) snap.workers = [];
  lastSnapshotAt = performance.now();
  intervalMs = snap.interval_ms || intervalMs;
  setConn('live');
  // A new instance id means the Hive restarted, possibly with another catalog or token setting.
  if (snap.instance_id !== instanceId) {
    if (instanceId) loadCapabilities().then(() => pageError(''));
    instanceId = snap.instance_id;
  }
  table.record(snap);
  schedule('snapshot', () => {
    renderHost(snap);
    renderGpus(snap);
    table.render(snap);
  });
}

function connect() {
  const es = new EventSource(STREAM);
  es.addEventListener('snapshot', onSnapshot);
  es.addEventListener('open', () => setConn('live'));
  es.addEventListener('error', () => {
    setConn('reconnecting');
    // EventSource retries by itself after a dropped connection, but gives up for good on an
    // answer that is not a stream (a 503 or 429 at the stream cap): start over after a pause.
    if (es.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
  });
}

// A stream that stays open but carries nothing (a stalled Hive) would otherwise look live.
setInterval(() => {
  const status = $('conn').dataset.status;
  if (status === 'live' && performance.now() - lastSnapshotAt > 3 * intervalMs + 1000) setConn('stale');
}, 1000);

// ---- stop ------------------------------------------------------------------------------------

let stopTarget = null;

function askStop(entry) {
  if (!entry || !canAct()) return;
  stopTarget = entry;
  $('stop-dialog-worker').textContent = entry.key;
  // Escape closes the dialog without touching returnValue: clear the last answer first.
  $('stop-dialog').returnValue = '';
  $('stop-dialog').showModal();
}

async function stopWorker(entry) {
  const { service, instance } = entry.item;
  const key = entry.key;
  const button = entry.data.stop;
  button.disabled = true;
  table.setMessage(entry, 'stopping…', 'pending');
  try {
    const w = await api(workerPath(service, instance), { method: 'DELETE' });
    const how = [];
    if (typeof w.exit_code === 'number') how.push(`exit code ${w.exit_code}`);
    if (typeof w.signal === 'number') how.push(`signal ${w.signal}`);
    table.setMessage(table.entry(key), `✔ stopped (${w.state}${how.length ? `, ${how.join(', ')}` : ''})`, 'ok');
  } catch (err) {
    table.setMessage(table.entry(key), `✖ ${err.message}`, 'error');
    handleAuthError(err);
  } finally {
    const current = table.entry(key);
    if (current) current.data.stop.disabled = !canAct() || 'inactive' in current.data.stop.dataset;
  }
}

function initStopDialog() {
  const dialog = $('stop-dialog');
  dialog.addEventListener('close', () => {
    const entry = stopTarget;
    stopTarget = null;
    if (entry && dialog.returnValue === 'stop') stopWorker(entry);
    if (entry && entry.data.stop.isConnected) entry.data.stop.focus();
  });
}

// ---- start -----------------------------------------------------------------------------------

function init() {
  initAuth();
  initSpawn();
  initLogs();
  initStopDialog();
  table = new WorkersTable({
    stop: askStop,
    logs: (entry) => entry && canAct() && openLogs(entry.item.service, entry.item.instance, entry.data.logs),
  });
  loadCapabilities().then(() => pageError(''));
  connect();
}

init();
