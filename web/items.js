// items.js: a lead's view of a job's items (docs/guide.md): the list with
// its filters (kept in the address, so a view can be shared), one item
// beside its judgments, and review from the keyboard: A accepts and R
// rejects the highlighted judgment, J/K move between judgments, N opens
// the next item of the list.
import { api } from './api.js';
import { $, el } from './dom.js';
import { rendered } from './rendered.js';
import { shell, showError, when } from './shell.js';

const jobId = document.body.dataset.job;
const FILTERS = ['status', 'review', 'sort', 'q', 'model', 'labeler', 'min_disagreement', 'has_skips', 'has_flags'];
let cursor = null;
let rows = [];          // keys listed, in order
let open = null;        // the item on screen: its detail
let current = 0;        // the highlighted judgment

function params() {
  return new URLSearchParams(location.search);
}

// The list's API query from the page's address (the same names, and
// metadata=key=value as metadata.key=value).
function listQuery(p, after) {
  const q = new URLSearchParams();
  for (const k of FILTERS) if (p.get(k)) q.set(k, p.get(k));
  const m = p.get('metadata');
  if (m && m.includes('=')) q.set(`metadata.${m.slice(0, m.indexOf('='))}`, m.slice(m.indexOf('=') + 1));
  if (after) q.set('cursor', after);
  return q.toString();
}

function fillForm(p) {
  const f = $('filters');
  for (const k of [...FILTERS, 'metadata']) {
    const input = f.elements[k];
    if (!input) continue;
    if (input.type === 'checkbox') input.checked = p.get(k) === 'true';
    else input.value = p.get(k) || (k === 'sort' ? 'id' : '');
  }
}

const fmt = (d) => (d === null || d === undefined ? '–' : d.toFixed(2));
const STATUS = { untouched: 'untouched', in_progress: 'in progress', complete: 'complete', stuck: 'stuck' };

function row(it) {
  const open = el('button', { type: 'button', class: 'link', text: it.key, onclick: () => openItem(it.key) });
  const r = it.review;
  return el('tr', { 'data-key': it.key },
    el('th', { scope: 'row' }, open),
    el('td', { class: 'excerpt', dir: 'auto', text: it.excerpt }),
    el('td', { text: STATUS[it.status] || it.status }),
    el('td', { class: 'num', text: `${it.counts.judgments}${it.counts.leases ? ` (+${it.counts.leases} leased)` : ''}` }),
    el('td', { class: 'num', text: String(it.counts.skips) }),
    el('td', { class: 'num', text: String(it.counts.flags) }),
    el('td', { class: 'num', text: fmt(it.disagreement) }),
    el('td', { text: `${r.pending} pending, ${r.accepted} accepted, ${r.rejected} rejected` }));
}

async function load(more) {
  const status = $('status');
  status.className = '';
  status.textContent = 'Loading…';
  try {
    const page = await api('GET', `/api/v1/jobs/${jobId}/items?${listQuery(params(), more ? cursor : null)}`);
    const body = $('items').tBodies[0];
    if (!more) { body.replaceChildren(); rows = []; }
    for (const it of page.items) { body.append(row(it)); rows.push(it.key); }
    cursor = page.next;
    $('more').hidden = !cursor;
    status.textContent = rows.length ? `${rows.length} item${rows.length === 1 ? '' : 's'} shown${cursor ? '; more below' : ''}.`
      : cursor ? 'None among the items read so far: read on with More items.' : 'No item matches.';
  } catch (e) {
    showError(status, e);
  }
}

function answersText(a) {
  return Object.entries(a).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n');
}

function judgmentCard(g, i) {
  const state = g.review || 'not reviewed';
  const card = el('div', { class: `judgment${i === current ? ' current' : ''}`, 'data-id': String(g.id) },
    el('p', {}, el('strong', { text: g.labeler }), ` · revision ${g.revision} · ${when(g.updated_at)} · shown ${g.shown_order.join(', ')}`),
    el('p', { class: 'answers', text: answersText(g.answers) }),
    ...(g.comment ? [el('p', { dir: 'auto', text: `Comment: ${g.comment}` })] : []),
    el('p', {}, el('span', { class: `review-state ${g.review || ''}`, text: state }),
      ...(g.reviews.length ? [` (${g.reviews.map((r) => `${r.decision} by ${r.reviewer}${r.reason ? `: ${r.reason}` : ''}`).join('; ')})`] : [])));
  if (g.review !== 'rejected') {
    card.append(el('div', { class: 'actions' },
      el('button', { type: 'button', text: 'Accept', onclick: () => review(g, 'accept') }),
      el('button', { type: 'button', class: 'danger', text: 'Reject', onclick: () => review(g, 'reject') })));
  }
  return card;
}

function showItem(d) {
  open = d;
  const it = d.item;
  $('item').hidden = false;
  $('item-title').textContent = `Item ${it.key}`;
  $('item-state').textContent = `${STATUS[it.status]}: ${it.judgments} judgment${it.judgments === 1 ? '' : 's'}`
    + `${it.stuck ? ` — ${it.stuck}` : ''}`;
  const p = $('item-prompt');
  p.replaceChildren();
  if (it.item.messages) {
    for (const m of it.item.messages) p.append(el('div', { class: 'msg' }, el('div', { class: 'msg-role', text: m.role }), rendered(m.content_html)));
  } else {
    p.append(rendered(it.item.prompt_html));
  }
  $('item-responses').replaceChildren(...it.item.responses.map((r) => el('article', { class: 'response' },
    el('h2', {}, el('span', { class: 'tag', text: r.id }), r.model || `Response ${r.id}`), rendered(r.html))));
  const pending = d.judgments.findIndex((g) => !g.review);
  if (current >= d.judgments.length || current < 0) current = 0;
  if (pending >= 0 && d.judgments[current] && d.judgments[current].review) current = pending;
  $('judgments').replaceChildren(...(d.judgments.length ? d.judgments.map(judgmentCard) : [el('p', { text: 'No judgment yet.' })]));
  const others = [
    ...d.skips.map((s) => `Skipped by ${s.labeler}${s.reason ? `: ${s.reason}` : ''}${s.released ? ' (released)' : ''}`),
    ...d.flags.map((f) => `Flagged ${f.kind.replace('_', ' ')} by ${f.labeler}${f.note ? `: ${f.note}` : ''}`),
    ...d.leases.map((l) => `Leased to ${l.labeler} until ${when(l.expires_at)}`)];
  $('others').replaceChildren(...(others.length ? others : ['None']).map((t) => el('li', { dir: 'auto', text: t })));
  $('release').hidden = !d.skips.some((s) => !s.released);
  for (const tr of $('items').tBodies[0].rows) tr.classList.toggle('open', tr.dataset.key === it.key);
}

async function openItem(key, keepUrl) {
  try {
    const d = await api('GET', `/api/v1/jobs/${jobId}/items/${encodeURIComponent(key)}?html=1`);
    if (!keepUrl) {
      const p = params();
      p.set('item', key);
      history.replaceState(null, '', `?${p}`);
    }
    current = 0;
    showItem(d);
    $('item').scrollIntoView({ block: 'start' });
  } catch (e) {
    showError($('status'), e);
  }
}

async function refresh() {
  const d = await api('GET', `/api/v1/jobs/${jobId}/items/${encodeURIComponent(open.item.key)}?html=1`);
  showItem(d);
}

async function review(g, decision) {
  const status = $('status');
  const body = { decision };
  const reason = $('reason').value.trim();
  if (decision === 'reject' && reason) body.reason = reason;
  try {
    await api('POST', `/api/v1/judgments/${g.id}/review`, body);
    status.className = 'ok';
    status.textContent = `${decision === 'accept' ? 'Accepted' : 'Rejected'} ${g.labeler}'s judgment of ${open.item.key}.`;
    $('reason').value = '';
    const next = open.judgments.findIndex((x, i) => i > current && !x.review);
    if (next >= 0) current = next;
    await refresh();
    await load(false);
  } catch (e) {
    showError(status, e);
  }
}

$('filters').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const p = new URLSearchParams();
  for (const k of [...FILTERS, 'metadata']) {
    const input = f.elements[k];
    if (!input) continue;
    const v = input.type === 'checkbox' ? (input.checked ? 'true' : '') : input.value.trim();
    if (v && !(k === 'sort' && v === 'id')) p.set(k, v);
  }
  history.replaceState(null, '', p.toString() ? `?${p}` : location.pathname);
  load(false);
});
$('more').addEventListener('click', () => load(true));
$('release').addEventListener('click', async () => {
  try {
    const r = await api('POST', `/api/v1/jobs/${jobId}/items/release`, { items: [open.item.key] });
    $('status').className = 'ok';
    $('status').textContent = `Released ${r.released} skip${r.released === 1 ? '' : 's'}: those labelers may take ${open.item.key} again.`;
    await refresh();
  } catch (e) {
    showError($('status'), e);
  }
});

document.addEventListener('keydown', (ev) => {
  if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement || ev.altKey || ev.ctrlKey || ev.metaKey || !open) return;
  const g = open.judgments[current];
  const k = ev.key.toLowerCase();
  if (k === 'a' && g && g.review !== 'accepted' && g.review !== 'rejected') review(g, 'accept');
  else if (k === 'r' && g && g.review !== 'rejected') review(g, 'reject');
  else if (k === 'j' && current < open.judgments.length - 1) { current++; showItem(open); }
  else if (k === 'k' && current > 0) { current--; showItem(open); }
  else if (k === 'n') {
    const i = rows.indexOf(open.item.key);
    if (i >= 0 && i + 1 < rows.length) openItem(rows[i + 1]);
  } else return;
  ev.preventDefault();
});

async function init() {
  await shell();
  const job = (await api('GET', `/api/v1/jobs/${jobId}`)).job;
  $('title').textContent = `Items of ${job.name}`;
  document.title = `Items · ${job.name} · Arbiter`;
  fillForm(params());
  await load(false);
  if (params().get('item')) await openItem(params().get('item'), true);
}

init().catch((e) => showError($('status'), e));
