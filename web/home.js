// home.js: the signed-in landing page: who I am, sign out, change password.
import { api, me } from './api.js';

const status = document.getElementById('pw-status');
const form = document.getElementById('password-form');

async function init() {
  const m = await me();
  if (m.user.must_change_password) {
    document.getElementById('must-change').hidden = false;
    form.querySelector('#current').focus();
  }
}

document.getElementById('logout').addEventListener('click', async () => {
  try { await api('DELETE', '/api/v1/session'); } finally { location.assign('/login'); }
});

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const current = form.querySelector('#current').value;
  const next = form.querySelector('#next').value;
  const again = form.querySelector('#again').value;
  status.className = 'error';
  if (next !== again) { status.textContent = 'The new passwords differ.'; return; }
  try {
    await api('POST', '/api/v1/me/password', { current_password: current, new_password: next });
    status.className = 'ok';
    status.textContent = 'Password changed. Other sessions were signed out.';
    form.reset();
    document.getElementById('must-change').hidden = true;
  } catch (e) {
    status.textContent = e.message;
  }
});

init().catch((e) => { status.className = 'error'; status.textContent = e.message; });
