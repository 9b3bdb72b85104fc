// The spawn form, built from the catalog in /capabilities. It offers only what a service leaves
// open (port range, args, allowed env names) and checks env names before sending, but the Hive
// checks all of it again: the form is a convenience, not the rule.

import { api, el } from '/ui/common.js';
import { canAct, handleAuthError } from './hive-auth.js';

// Defaults for catalog fields an older Hive does not send (docs/api.md "Spawning").
const DEFAULT_PORT_COUNT = 1000;

let services = [];
let form, select, port, portHint, argsField, args, envField, envHint, envRows, envNames, result;

function current() {
  return services.find((s) => s.name === select.value);
}

function portRange(s) {
  const count = Number.isInteger(s.port_count) && s.port_count > 0 ? s.port_count : DEFAULT_PORT_COUNT;
  return [s.base_port, Math.min(65535, s.base_port + count - 1)];
}

function allowedEnv(s) {
  return Array.isArray(s.allowed_env) ? s.allowed_env.filter((n) => typeof n === 'string' && n) : [];
}

// The Hive's rule: an exact name, or a prefix when the entry ends in `*`.
export function envAllowed(name, allowed) {
  return allowed.some((a) => (a.endsWith('*') ? name.startsWith(a.slice(0, -1)) : name === a));
}

function addEnvRow(name = '', value = '') {
  const n = envRows.children.length + 1;
  const key = el('input', {
    type: 'text', className: 'env-name', list: 'spawn-env-names', spellcheck: 'false',
    'aria-label': `Variable ${n} name`, 'data-mutates': true, autocomplete: 'off',
  });
  const val = el('input', {
    type: 'text', className: 'env-value', spellcheck: 'false',
    'aria-label': `Variable ${n} value`, 'data-mutates': true, autocomplete: 'off',
  });
  const remove = el('button', {
    type: 'button', 'aria-label': `Remove variable ${n}`, 'data-mutates': true, text: 'Remove',
  });
  const msg = el('span', { className: 'field-error', 'aria-live': 'polite' });
  key.value = name;
  val.value = value;
  key.disabled = val.disabled = remove.disabled = !canAct();
  const row = el('div', { className: 'env-row' }, key, val, remove, msg);
  key.addEventListener('input', () => {
    key.setCustomValidity('');
    msg.textContent = '';
  });
  remove.addEventListener('click', () => {
    row.remove();
    envField.querySelector('#spawn-env-add').focus();
  });
  envRows.append(row);
  return key;
}

function onServiceChange() {
  const s = current();
  result.replaceChildren();
  if (!s) {
    argsField.hidden = envField.hidden = true;
    port.removeAttribute('min');
    port.removeAttribute('max');
    portHint.textContent = '';
    return;
  }
  const [lo, hi] = portRange(s);
  port.min = String(lo);
  port.max = String(hi);
  port.placeholder = 'first free';
  port.value = '';
  portHint.textContent = `${lo}–${hi}; empty: the first free port`;
  argsField.hidden = s.allow_args !== true;
  args.value = '';
  const allowed = allowedEnv(s);
  envField.hidden = allowed.length === 0;
  envRows.replaceChildren();
  envNames.replaceChildren(...allowed.filter((a) => !a.endsWith('*')).map((a) => el('option', { value: a })));
  envHint.textContent = allowed.length
    ? `Allowed: ${allowed.join(', ')} (a name ending in * allows any name with that prefix).`
    : '';
}

// Returns the request body, or null after marking what is wrong.
function buildRequest() {
  const s = current();
  if (!s) return null;
  const body = { service: s.name };
  port.setCustomValidity('');
  if (port.value.trim() !== '') {
    const [lo, hi] = portRange(s);
    const p = Number(port.value);
    if (!Number.isInteger(p) || p < lo || p > hi) {
      port.setCustomValidity(`The port must be a whole number from ${lo} to ${hi}.`);
      port.reportValidity();
      return null;
    }
    body.port = p;
  }
  if (s.allow_args === true) {
    // One argument per line, so an argument may hold spaces; blank lines are dropped.
    const list = args.value.split('\n').map((a) => a.replace(/\r$/, '')).filter((a) => a.trim() !== '');
    if (list.length) body.args = list;
  }
  const allowed = allowedEnv(s);
  const env = {};
  let ok = true;
  for (const row of envRows.children) {
    const key = row.querySelector('.env-name');
    const msg = row.querySelector('.field-error');
    const name = key.value.trim();
    const value = row.querySelector('.env-value').value;
    let problem = '';
    if (name === '' && value === '') continue;
    if (name === '') problem = 'A name is needed.';
    else if (!envAllowed(name, allowed)) problem = `${name} is not allowed for ${s.name}.`;
    else if (Object.hasOwn(env, name)) problem = `${name} is given twice.`;
    key.setCustomValidity(problem);
    msg.textContent = problem;
    if (problem) {
      if (ok) key.focus();
      ok = false;
      continue;
    }
    env[name] = value;
  }
  if (!ok) return null;
  if (Object.keys(env).length) body.env = env;
  return body;
}

function showResult(kind, text, warnings = []) {
  const items = [el('p', { className: kind, text })];
  if (warnings.length) {
    items.push(el('ul', { className: 'warnings' }, ...warnings.map((w) => el('li', { text: `⚠ ${w}` }))));
  }
  result.dataset.kind = kind;
  result.replaceChildren(...items);
}

async function onSubmit(e) {
  e.preventDefault();
  if (!canAct()) return;
  const body = buildRequest();
  if (!body) return;
  const submit = document.getElementById('spawn-submit');
  submit.disabled = true;
  showResult('pending', `Starting ${body.service}…`);
  try {
    const res = await api('/v1/workers', { method: 'POST', body });
    const w = res.worker || {};
    const warnings = Array.isArray(res.warnings) ? res.warnings : [];
    showResult('ok', `✔ Started ${w.service}/${w.instance} (${w.state || 'starting'}).`, warnings);
  } catch (err) {
    showResult('error', `✖ Not started: ${err.message}`);
    handleAuthError(err);
  } finally {
    submit.disabled = !canAct() || services.length === 0;
  }
}

export function setCatalog(list) {
  services = Array.isArray(list) ? list.filter((s) => s && typeof s.name === 'string') : [];
  const previous = select.value;
  select.replaceChildren(
    ...(services.length
      ? services.map((s) => el('option', { value: s.name, text: s.name }))
      : [el('option', { value: '', text: 'no services in the catalog' })]),
  );
  if (services.some((s) => s.name === previous)) select.value = previous;
  onServiceChange();
  form.dataset.empty = services.length ? 'false' : 'true';
}

export function initSpawn() {
  form = document.getElementById('spawn-form');
  select = document.getElementById('spawn-service');
  port = document.getElementById('spawn-port');
  portHint = document.getElementById('spawn-port-hint');
  argsField = document.getElementById('spawn-args-field');
  args = document.getElementById('spawn-args');
  envField = document.getElementById('spawn-env-field');
  envHint = document.getElementById('spawn-env-hint');
  envRows = document.getElementById('spawn-env-rows');
  envNames = document.getElementById('spawn-env-names');
  result = document.getElementById('spawn-result');
  for (const c of [select, port, args, document.getElementById('spawn-submit'), document.getElementById('spawn-env-add')]) {
    c.dataset.mutates = '';
    c.disabled = true;
  }
  select.addEventListener('change', onServiceChange);
  port.addEventListener('input', () => port.setCustomValidity(''));
  document.getElementById('spawn-env-add').addEventListener('click', () => addEnvRow().focus());
  form.addEventListener('submit', onSubmit);
}
