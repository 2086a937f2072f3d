// home.js: the signed-in landing page: the jobs I label (my count, the
// job's progress, Start), for leads and admins the jobs they run, and the
// password change.
import { api } from './api.js';
import { $, el } from './dom.js';
import { shell } from './shell.js';

function jobRow(j) {
  const bar = el('progress', { max: String(Math.max(1, j.counts.items)), 'aria-label': `${j.name}: progress` });
  bar.value = j.counts.complete;
  const li = el('li', {},
    el('div', { class: 'grow' }, el('strong', { text: j.name }), el('div', { class: 'muted',
      text: `${j.my_judgments} judged by me · ${j.counts.complete} of ${j.counts.items} items complete · ${j.status}` })),
    bar);
  // Start only where something is left for me; my_left 0 is exact.
  if (j.status === 'open' && j.my_left > 0) {
    li.append(el('span', { class: 'muted', text: `about ${j.my_left} left for you` }),
      el('a', { class: 'button', href: `/jobs/${j.id}/label`, text: j.my_judgments ? 'Continue' : 'Start',
        'aria-label': `Start labeling ${j.name}` }));
  } else if (j.status === 'open') {
    li.append(el('span', { class: 'done-here', text: 'Nothing left for you' }),
      el('a', { href: `/jobs/${j.id}/label`, text: 'Your judgments', 'aria-label': `Your judgments in ${j.name}` }));
  }
  return li;
}

async function loadJobs(role) {
  const { jobs } = await api('GET', '/api/v1/jobs');
  const mine = jobs.filter((j) => j.is_member);
  $('jobs').replaceChildren(...mine.map(jobRow));
  $('jobs-empty').hidden = mine.length > 0;
  if (role === 'labeler') return;
  const runs = jobs.filter((j) => j.can_manage);
  $('runs').hidden = false;
  $('runs-empty').hidden = runs.length > 0;
  $('runs-table').hidden = runs.length === 0;
  document.querySelector('#runs-table tbody').replaceChildren(...runs.map((j) => el('tr', {},
    el('th', { scope: 'row' }, el('a', { href: `/jobs/${j.id}`, text: j.name })),
    el('td', {}, el('span', { class: `badge ${j.status}`, text: j.status })),
    el('td', { text: String(j.counts.items) }), el('td', { text: String(j.counts.complete) }),
    el('td', { text: String(j.counts.judgments) }), el('td', { text: j.owner.name }))));
}

const status = $('pw-status');
const form = $('password-form');

async function init() {
  const m = await shell();
  if (m.user.must_change_password) {
    // Signed in with a one-time password: this page is where the user
    // chooses their own; nothing else is open to them until then.
    $('must-change').hidden = false;
    $('mine').hidden = true;
    $('role-line').hidden = true;
    form.querySelector('#current').focus();
    return;
  }
  await loadJobs(m.user.role);
}

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
    // A one-time password is gone: load the page as the user now sees it.
    if (!$('must-change').hidden) location.reload();
  } catch (e) {
    status.textContent = e.message;
  }
});

init().catch((e) => { status.className = 'error'; status.textContent = e.message; });
