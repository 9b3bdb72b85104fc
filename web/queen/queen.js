// The Queen's page: cluster totals, the Hives table, filtered workers and the events feed.
// Everything comes from the Queen's own API; the page holds no state a reload cannot rebuild
// except the token, which lives in sessionStorage only.
import { api, createBatcher, getToken, setToken, clearToken } from '/ui/common.js';
import { setText, Poller, debounce, clockTime } from '/ui/dom.js';
import { HivesTable } from '/ui/queen_hives.js';
import { Totals } from '/ui/queen_totals.js';
import { EventsFeed } from '/ui/queen_events.js';
import { MatchingWorkers } from '/ui/queen_matching.js';

const $ = (id) => document.getElementById(id);
const schedule = createBatcher();

const totals = new Totals($('totals'));
const hives = new HivesTable({
  tbody: $('hives-body'),
  table: $('hives-table'),
  range: $('hives-range'),
  prev: $('hives-prev'),
  next: $('hives-next'),
  schedule: () => schedule('hives', () => hives.render()),
});
const matching = new MatchingWorkers({
  section: $('matching'),
  thead: $('matching-table').tHead,
  tbody: $('matching-body'),
  range: $('matching-range'),
  error: $('matching-error'),
  prev: $('matching-prev'),
  next: $('matching-next'),
  schedule: () => schedule('matching', () => matching.render()),
  onUnauthorized: () => showTokenForm(),
});

// ---- Hives ------------------------------------------------------------------------------------

const conn = $('conn-status');
const lastUpdate = $('last-update');
const refreshBtn = $('refresh-discovery');
const refreshResult = $('refresh-result');

function setConn(state, text) {
  setText(conn, text);
  if (conn.dataset.status !== state) conn.dataset.status = state;
}

async function loadHives() {
  let doc;
  try {
    doc = await api('/v1/hives');
  } catch (e) {
    if (e.status === 401) {
      // Nothing changes until a token is given (the form kicks a fetch), so ask rarely.
      hivesPoller.everyMs = 5000;
      showTokenForm(getToken() ? 'The Queen refused this token.' : '');
      setConn('unauthorized', 'The Queen needs a token to list its Hives.');
    } else {
      // Keep the last data on screen: an operator looking at a failing cluster still needs it.
      setConn('stale', `Cannot reach the Queen (${e.message}); showing the last data.`);
    }
    return;
  }
  const list = Array.isArray(doc?.hives) ? doc.hives : [];
  hivesPoller.everyMs = 1000;
  hideTokenForm();
  setConn('live', `${list.length} Hive${list.length === 1 ? '' : 's'}`);
  setText(lastUpdate, `updated ${clockTime(Date.now())}`);
  hives.setData(list);
  // A Hive text typed before the list arrived (or a Hive that just joined) may name one now.
  if (fHive.value.trim()) filterWorkers();
  schedule('totals', () => totals.update(list));
}

const hivesPoller = new Poller(loadHives, 1000);

// A Hive event means the list changed now; fetch soon, but a Hive going down that sends a burst
// of events costs one request, not one per event.
let kickTimer = 0;
function refetchHivesSoon() {
  if (kickTimer) return;
  kickTimer = setTimeout(() => {
    kickTimer = 0;
    hivesPoller.kick();
  }, 200);
}

// ---- token ------------------------------------------------------------------------------------

const tokenForm = $('token-form');
const tokenInput = $('token-input');
const tokenError = $('token-error');
const tokenForget = $('token-forget');

function showForget() {
  tokenForget.hidden = !getToken();
}

function showTokenForm(message = '') {
  setText(tokenError, message);
  if (tokenForm.hidden) {
    tokenForm.hidden = false;
    tokenInput.focus();
  }
}

function hideTokenForm() {
  if (!tokenForm.hidden) tokenForm.hidden = true;
  setText(tokenError, '');
}

tokenForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const t = tokenInput.value.trim();
  if (!t) return;
  setToken(t);
  showForget();
  tokenInput.value = '';
  setText(tokenError, 'Checking…');
  hivesPoller.kick();
  matching.reload();
});
tokenForget.addEventListener('click', () => {
  clearToken();
  showForget();
  setText(refreshResult, 'Token forgotten.');
  hivesPoller.kick();
  matching.reload();
});

// ---- refresh discovery ------------------------------------------------------------------------

refreshBtn.addEventListener('click', async () => {
  refreshBtn.disabled = true;
  setText(refreshResult, 'Refreshing…');
  try {
    const r = await api('/v1/hives/refresh', { method: 'POST' });
    const n = r && typeof r === 'object' && typeof r.hives === 'number' ? r.hives : null;
    setText(refreshResult, n == null ? 'Discovery refreshed.' : `Discovery refreshed: probing ${n} Hives.`);
    hivesPoller.kick();
  } catch (e) {
    if (e.status === 401) showTokenForm('Refreshing discovery needs the token.');
    setText(refreshResult, `Refused: ${e.message}`);
  } finally {
    refreshBtn.disabled = false;
  }
});

// ---- filters ----------------------------------------------------------------------------------

const fState = $('filter-state');
const fService = $('filter-service');
const fHive = $('filter-hive');

// Filters live in the URL's fragment so a view can be bookmarked or shared.
function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const state = p.get('state') ?? '';
  fState.value = [...fState.options].some((o) => o.value === state) ? state : '';
  fService.value = p.get('service') ?? '';
  fHive.value = p.get('hive') ?? '';
}

function writeHash() {
  const p = new URLSearchParams();
  if (fState.value) p.set('state', fState.value);
  if (fService.value.trim()) p.set('service', fService.value.trim());
  if (fHive.value.trim()) p.set('hive', fHive.value.trim());
  const h = p.toString();
  if (h !== location.hash.slice(1)) history.replaceState(null, '', h ? `#${h}` : location.pathname);
}

function applyFilters() {
  writeHash();
  hives.setFilter(fHive.value);
  filterWorkers();
}

function filterWorkers() {
  matching.setFilter({
    state: fState.value,
    service: fService.value.trim(),
    hive: hives.resolve(fHive.value),
  });
}

const applySoon = debounce(applyFilters, 250);
fState.addEventListener('change', applyFilters);
fService.addEventListener('input', applySoon);
fHive.addEventListener('input', applySoon);
$('filters').addEventListener('submit', (e) => {
  e.preventDefault();
  applyFilters();
});
// The reset event fires before the fields are cleared.
$('filters').addEventListener('reset', () => setTimeout(applyFilters, 0));
window.addEventListener('hashchange', () => {
  readHash();
  applyFilters();
});

// Service names seen in events and worker lists, offered as suggestions in the filter.
const serviceList = $('service-names');
const services = new Set();
function noteService(name) {
  if (services.has(name) || services.size >= 500) return;
  services.add(name);
  serviceList.append(Object.assign(document.createElement('option'), { value: name }));
}
matching.onService = noteService;

// ---- events -----------------------------------------------------------------------------------

const feed = new EventsFeed({
  list: $('events-list'),
  status: $('events-status'),
  dropped: $('events-dropped'),
  workersToggle: $('events-workers'),
  schedule: () => schedule('events', () => feed.render()),
  onHiveEvent: refetchHivesSoon,
  onService: noteService,
});

// ---- start ------------------------------------------------------------------------------------

showForget();
readHash();
applyFilters();
hivesPoller.start();
feed.start();
