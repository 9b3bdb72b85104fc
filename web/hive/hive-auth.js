// Who may act from this page. The Hive decides (docs/security.md); the page only mirrors it so
// that a reader without a token sees a read-only page instead of buttons that answer 401.

import { clearToken, getToken, setToken } from '/ui/common.js';

// Every control that mutates or reads a secret (spawn, stop, logs) carries data-mutates; their
// `disabled` follows canAct().
const MUTATES = '[data-mutates]';

let mode = 'unknown'; // 'bearer' | 'loopback' | 'unknown' (capabilities not read yet)
let note;
let input;
let prompted = ''; // the message of the last 401, kept until a token is saved

export function canAct() {
  if (mode === 'loopback') return true;
  if (mode === 'bearer') return getToken() !== '';
  return false;
}

export function authMode() {
  return mode;
}

function render() {
  note.dataset.auth = mode;
  note.dataset.token = getToken() ? 'set' : 'none';
  note.classList.toggle('warn', mode === 'bearer' && !getToken());
  if (mode === 'bearer' && !getToken()) {
    note.textContent =
      (prompted ? `${prompted}. ` : '') +
      '⚠ Read-only: this Hive needs a token to start or stop workers and to show logs. Enter it below.';
  } else if (mode === 'bearer') {
    note.textContent = '✔ Token set for this tab: actions are enabled.';
  } else if (mode === 'loopback') {
    note.textContent =
      'ℹ No token configured: this Hive accepts actions only from root or its own account on this host.';
  } else {
    note.textContent = 'Reading the Hive\'s capabilities…';
  }
  document.getElementById('token-forget').disabled = !getToken();
  const enabled = canAct();
  document.body.dataset.readonly = enabled ? 'false' : 'true';
  // data-inactive: a control that has nothing to act on whatever the token (Stop on an ended
  // worker) stays disabled.
  for (const c of document.querySelectorAll(MUTATES)) c.disabled = !enabled || 'inactive' in c.dataset;
}

export function setAuthMode(m) {
  mode = m === 'bearer' || m === 'loopback' ? m : 'unknown';
  render();
}

// For an action that failed: a 401 means the token is missing or wrong, so the page says so and
// moves focus to the token field; the Hive may also have been restarted with a token since the
// capabilities were read.
export function handleAuthError(err) {
  if (!err || (err.status !== 401 && err.status !== 403)) return;
  if (err.status === 401) {
    if (mode !== 'bearer') mode = 'bearer';
    prompted = getToken() ? 'The token was refused' : 'A token is needed';
    clearToken();
    render();
    input.focus();
  }
}

export function initAuth() {
  note = document.getElementById('auth-note');
  input = document.getElementById('token-input');
  document.getElementById('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = input.value.trim();
    input.value = '';
    if (!t) return;
    setToken(t);
    prompted = '';
    render();
  });
  document.getElementById('token-forget').addEventListener('click', () => {
    clearToken();
    input.value = '';
    prompted = '';
    render();
  });
  render();
}
