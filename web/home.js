// home.js: the signed-in landing page: my jobs (my count, the job's
// progress, Start), sign out, change password.
import { api, me } from './api.js';
import { el } from './dom.js';

function jobRow(j) {
  const bar = el('progress', { max: String(Math.max(1, j.counts.items)), 'aria-label': `${j.name}: progress` });
  bar.value = j.counts.complete;
  const li = el('li', {},
    el('div', { class: 'grow' }, el('strong', { text: j.name }), el('div', { class: 'muted',
      text: `${j.my_judgments} judged by me · ${j.counts.complete} of ${j.counts.items} items complete · ${j.status}` })),
    bar);
  if (j.status === 'open') {
    li.append(el('a', { class: 'button', href: `/jobs/${j.id}/label`, text: 'Start',
      'aria-label': `Start labeling ${j.name}` }));
  }
  return li;
}

async function loadJobs() {
  const { jobs } = await api('GET', '/api/v1/jobs');
  const mine = jobs.filter((j) => j.is_member);
  document.getElementById('jobs').replaceChildren(...mine.map(jobRow));
  document.getElementById('jobs-empty').hidden = mine.length > 0;
}

const status = document.getElementById('pw-status');
const form = document.getElementById('password-form');

async function init() {
  const m = await me();
  if (m.user.must_change_password) {
    document.getElementById('must-change').hidden = false;
    form.querySelector('#current').focus();
    return;
  }
  await loadJobs();
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
