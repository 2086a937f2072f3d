// users.js: the admin's user list: create, set a role, disable or enable,
// reset a password (a one-time password the user must replace).
import { api } from './api.js';
import { $, el } from './dom.js';
import { copyButton, shell, showError, when } from './shell.js';

const ROLES = ['labeler', 'lead', 'admin'];
let self = null, resetting = null;

// 16 characters from a 56-letter alphabet without look-alikes: ~93 bits.
function generate() {
  const abc = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const v = crypto.getRandomValues(new Uint32Array(16));
  return Array.from(v, (x) => abc[x % abc.length]).join('');
}

async function change(u, body, msg) {
  try {
    await api('PATCH', `/api/v1/users/${u.id}`, body);
    $('list-status').className = 'ok';
    $('list-status').textContent = msg;
  } catch (e) { showError($('list-status'), e); }
  await load();
}

function row(u) {
  const role = el('select', { 'aria-label': `Role of ${u.name}` }, ...ROLES.map((r) => el('option', { value: r, text: r })));
  role.value = u.role;
  role.addEventListener('change', () => change(u, { role: role.value }, `${u.name} is now ${role.value}.`));
  const state = u.disabled ? 'disabled' : u.must_change_password ? 'must choose a password' : 'active';
  const actions = el('div', { class: 'buttons' },
    el('button', { type: 'button', class: u.disabled ? 'secondary' : 'secondary danger',
      text: u.disabled ? 'Enable' : 'Disable', 'aria-label': `${u.disabled ? 'Enable' : 'Disable'} ${u.name}`,
      ...(u.id === self ? { disabled: '' } : {}),
      onclick: () => change(u, { disabled: !u.disabled }, `${u.name} is ${u.disabled ? 'enabled' : 'disabled'}.`) }),
    el('button', { type: 'button', class: 'secondary', text: 'Reset password', 'aria-label': `Reset the password of ${u.name}`,
      onclick: () => openReset(u) }));
  return el('tr', {}, el('th', { scope: 'row', text: u.name }), el('td', {}, role), el('td', { text: state }),
    el('td', { text: when(u.created_at) }), el('td', {}, actions));
}

async function load() {
  const { users } = await api('GET', '/api/v1/users');
  $('users').querySelector('tbody').replaceChildren(...users.map(row));
}

function openReset(u) {
  resetting = u;
  $('reset-title').textContent = `Reset the password of ${u.name}`;
  $('reset-password').value = generate();
  $('reset-status').textContent = '';
  $('reset-dialog').hidden = false;
  $('reset-password').select();
  $('reset-password').focus();
}
function closeReset() { $('reset-dialog').hidden = true; resetting = null; }

// The one-time password just set stays on screen, with a Copy button, until
// the admin dismisses it: the form resets, and the server keeps only a hash.
function showPassword(name, password) {
  $('otp-title').textContent = `One-time password of ${name}`;
  $('otp').textContent = password;
  $('otp-copy').textContent = 'Copy';
  $('otp-box').hidden = false;
  $('otp-copy').focus();
}
$('otp-dismiss').addEventListener('click', () => { $('otp-box').hidden = true; $('otp').textContent = ''; });
copyButton($('otp-copy'), $('otp'));

$('reset-cancel').addEventListener('click', closeReset);
document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && !$('reset-dialog').hidden) closeReset(); });
$('reset-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const u = resetting, password = $('reset-password').value;
  try {
    await api('PATCH', `/api/v1/users/${u.id}`, { password });
    closeReset();
    $('list-status').className = 'ok';
    $('list-status').textContent = `The password of ${u.name} was reset; give them the one-time password.`;
    showPassword(u.name, password);
    await load();
  } catch (e) { showError($('reset-status'), e); }
});

$('u-generate').addEventListener('click', () => { $('u-password').value = generate(); });
$('user-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const body = { name: $('u-name').value.trim(), role: $('u-role').value, password: $('u-password').value };
  try {
    const r = await api('POST', '/api/v1/users', body);
    $('form-status').className = 'ok';
    $('form-status').textContent = `${r.user.name} was created as ${r.user.role}; give them the one-time password.`;
    $('user-form').reset();
    showPassword(r.user.name, body.password);
    await load();
  } catch (e) { showError($('form-status'), e); }
});

shell().then((m) => { self = m.user.id; return load(); }).catch((e) => showError($('list-status'), e));
