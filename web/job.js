// job.js: a lead's page of one job, or the form that creates one. The form
// builds the job's questions in the page (each type with its options), and
// previews the instructions as labelers will see them (the server's own
// CommonMark renderer). A job's page adds its status moves, progress
// (refreshed every 5 s), item upload with the bad lines listed, and members.
import { api, upload } from './api.js';
import { $, el } from './dom.js';
import { shell, showError, when } from './shell.js';

const jobId = document.body.dataset.job;
let job = null, questions = [], locked = false, dirty = false;

// ---- the question editor ----

const DEFAULTS = {
  pairwise: { allow_tie: true, allow_both_bad: false, strength: false },
  rank: { allow_ties: false },
  rating: { scale: { min: 1, max: 5 }, per_response: true },
  text: { prefill: 'none', min_chars: 0, max_chars: 20000 },
  labels: { options: [], multiple: false },
};

function freshName(type) {
  for (let n = 1; ; n++) {
    const name = n === 1 ? type : `${type}_${n}`;
    if (!questions.some((q) => q.name === name)) return name;
  }
}

// A labelled control bound to q[key]; kind: text, number, check, lines.
function control(q, i, key, text, kind = 'text', extra = {}) {
  const id = `q${i}-${key}`;
  const field = `questions[${i}].${key}`;
  let input;
  if (kind === 'check') {
    input = el('input', { id, type: 'checkbox', 'data-field': field });
    input.checked = Boolean(q[key]);
    input.addEventListener('change', () => { q[key] = input.checked; });
    return el('div', { class: 'check' }, input, el('label', { for: id, text }));
  }
  if (kind === 'lines') {
    input = el('textarea', { id, rows: '4', 'data-field': field, ...extra });
    input.value = (q[key] || []).join('\n');
    input.addEventListener('input', () => { q[key] = input.value.split('\n').map((s) => s.trim()).filter(Boolean); });
  } else {
    input = el('input', { id, type: kind, 'data-field': field, ...extra });
    input.value = q[key] === undefined || q[key] === null ? '' : String(q[key]);
    input.addEventListener('input', () => {
      q[key] = kind === 'number' ? (input.value === '' ? undefined : Number(input.value)) : input.value;
    });
  }
  return el('div', {}, el('label', { for: id, text }), input);
}

function select(id, field, options, value, onchange, text) {
  const s = el('select', { id, 'data-field': field }, ...options.map(([v, t]) => el('option', { value: v, text: t })));
  s.value = value;
  s.addEventListener('change', () => onchange(s.value));
  return el('div', {}, el('label', { for: id, text }), s);
}

function typeOptions(q, i) {
  switch (q.type) {
  case 'pairwise':
    return [control(q, i, 'allow_tie', 'Allow a tie', 'check'),
      control(q, i, 'allow_both_bad', 'Allow "both are bad"', 'check'),
      select(`q${i}-strength`, `questions[${i}].strength`,
        [['false', 'no strength'], ['1', '1 level'], ['2', '2 levels'], ['3', '3 levels']],
        String(q.strength || false), (v) => { q.strength = v === 'false' ? false : Number(v); }, 'Strength of preference')];
  case 'rank':
    return [control(q, i, 'allow_ties', 'Allow ties', 'check')];
  case 'rating': {
    const thumbs = q.scale === 'thumbs';
    const out = [select(`q${i}-kind`, `questions[${i}].scale`, [['points', 'points'], ['thumbs', 'thumbs up / down']],
      thumbs ? 'thumbs' : 'points', (v) => { q.scale = v === 'thumbs' ? 'thumbs' : { min: 1, max: 5 }; renderQuestions(); }, 'Scale')];
    if (!thumbs) {
      const s = q.scale;
      const num = (key, text) => {
        const id = `q${i}-${key}`;
        const input = el('input', { id, type: 'number', min: '-1000', max: '1000', 'data-field': `questions[${i}].scale.${key}` });
        input.value = String(s[key]);
        input.addEventListener('input', () => { s[key] = input.value === '' ? undefined : Number(input.value); });
        return el('div', {}, el('label', { for: id, text }), input);
      };
      const labels = el('textarea', { id: `q${i}-labels`, rows: '3', 'data-field': `questions[${i}].scale.labels`,
        placeholder: '1 = useless\n5 = excellent' });
      labels.value = Object.entries(s.labels || {}).map(([k, v]) => `${k} = ${v}`).join('\n');
      labels.addEventListener('input', () => {
        const o = {};
        for (const line of labels.value.split('\n')) {
          const m = line.match(/^\s*(-?\d+)\s*=\s*(.+?)\s*$/);
          if (m) o[m[1]] = m[2];
        }
        if (Object.keys(o).length) s.labels = o; else delete s.labels;
      });
      out.push(num('min', 'Lowest score'), num('max', 'Highest score'),
        el('div', {}, el('label', { for: `q${i}-labels`, text: 'Point labels (optional, one per line: 1 = useless)' }), labels));
    }
    out.push(control(q, i, 'per_response', 'A score per response (off: one overall score)', 'check'));
    return out;
  }
  case 'text': {
    const kind = q.prefill === 'best' || q.prefill === 'none' ? q.prefill : 'response';
    const out = [select(`q${i}-prefill`, `questions[${i}].prefill`,
      [['none', 'empty'], ['best', 'the response the labeler preferred'], ['response', 'a given response']], kind,
      (v) => { q.prefill = v === 'response' ? 'response:a' : v; renderQuestions(); }, 'The editor starts from')];
    if (kind === 'response') {
      const id = `q${i}-prefill-id`;
      const input = el('input', { id, 'data-field': `questions[${i}].prefill` });
      input.value = q.prefill.slice(9);
      input.addEventListener('input', () => { q.prefill = `response:${input.value}`; });
      out.push(el('div', {}, el('label', { for: id, text: 'Response id' }), input));
    }
    out.push(control(q, i, 'min_chars', 'Fewest characters', 'number', { min: '0', max: '100000' }),
      control(q, i, 'max_chars', 'Most characters', 'number', { min: '1', max: '100000' }));
    return out;
  }
  case 'labels':
    return [control(q, i, 'options', 'Labels, one per line', 'lines'), control(q, i, 'multiple', 'Allow several labels', 'check')];
  default:
    return [];
  }
}

function renderQuestions() {
  $('questions').replaceChildren(...questions.map((q, i) => {
    const move = (d) => { const j = i + d; [questions[i], questions[j]] = [questions[j], questions[i]]; renderQuestions(); };
    const fs = el('fieldset', { class: 'question', 'aria-label': `Question ${i + 1}: ${q.type}` },
      el('legend', { text: `${i + 1}. ${q.type}` }),
      el('div', { class: 'fields' },
        control(q, i, 'title', 'Title (what labelers read, e.g. "Which response is better?")', 'text', { maxlength: '300' }),
        control(q, i, 'name', 'Name (the answer\'s key)', 'text', { maxlength: '64', pattern: '[A-Za-z0-9_\\-]+' }),
        control(q, i, 'help', 'Help for labelers (optional)', 'text', { maxlength: '2000' }),
        control(q, i, 'required', 'Required', 'check'),
        ...typeOptions(q, i)),
      el('div', { class: 'buttons' },
        el('button', { type: 'button', class: 'secondary', onclick: () => move(-1), 'aria-label': `Move question ${i + 1} up`, ...(i === 0 ? { disabled: '' } : {}) }, '↑'),
        el('button', { type: 'button', class: 'secondary', onclick: () => move(1), 'aria-label': `Move question ${i + 1} down`, ...(i === questions.length - 1 ? { disabled: '' } : {}) }, '↓'),
        el('button', { type: 'button', class: 'secondary danger', text: 'Remove', 'aria-label': `Remove question ${i + 1}`,
          onclick: () => { questions.splice(i, 1); renderQuestions(); } })));
    // Once judged, only the wording (title, help) may change.
    if (locked) {
      fs.querySelectorAll('input, select, textarea, button').forEach((n) => {
        if (!/\.(title|help)$/.test(n.dataset.field || '')) n.disabled = true;
      });
    }
    return el('li', {}, fs);
  }));
  $('add-question').hidden = locked;
  renderRuleQuestions();
}

// ---- the acceptance rule ----

function renderRuleQuestions() {
  const sel = $('a-question'), was = sel.value;
  sel.replaceChildren(...questions.filter((q) => q.name).map((q) => el('option', { value: q.name, text: q.title ? `${q.title} (${q.name})` : q.name })));
  if (questions.some((q) => q.name === was)) sel.value = was;
}
function ruleShown() {
  $('a-rule').hidden = !$('a-on').checked;
  for (const id of ['a-candidate', 'a-baseline', 'a-lower']) $(id).disabled = !$('a-win').checked;
  $('a-alpha').disabled = !$('a-agree').checked;
}
['a-on', 'a-win', 'a-agree'].forEach((id) => $(id).addEventListener('change', ruleShown));
// A fixed order is allowed, and warned about.
function fixedOrder() { $('fixed-order').hidden = $('f-random').checked; }
$('f-random').addEventListener('change', fixedOrder);
function fillRule(rule) {
  $('a-on').checked = Boolean(rule);
  renderRuleQuestions();
  if (rule) $('a-question').value = rule.question;
  $('a-win').checked = Boolean(rule && rule.candidate);
  $('a-candidate').value = rule && rule.candidate ? rule.candidate : '';
  $('a-baseline').value = rule && rule.baseline ? rule.baseline : '';
  $('a-lower').value = String(rule && rule.min_win_rate_lower !== undefined ? rule.min_win_rate_lower : 0.5);
  $('a-agree').checked = Boolean(rule && rule.min_alpha !== undefined);
  $('a-alpha').value = String(rule && rule.min_alpha !== undefined ? rule.min_alpha : 0.667);
  $('a-bias').checked = Boolean(rule && rule.no_position_bias);
  ruleShown();
}
// The rule as the API takes it: null for none (undefined: leave it out).
function ruleBody() {
  if (!$('a-on').checked) return job && job.acceptance ? null : undefined;
  const r = { question: $('a-question').value };
  if ($('a-win').checked) {
    r.candidate = $('a-candidate').value.trim();
    r.baseline = $('a-baseline').value.trim();
    r.min_win_rate_lower = $('a-lower').value === '' ? undefined : Number($('a-lower').value);
  }
  if ($('a-agree').checked) r.min_alpha = $('a-alpha').value === '' ? undefined : Number($('a-alpha').value);
  if ($('a-bias').checked) r.no_position_bias = true;
  return r;
}

$('add').addEventListener('click', () => {
  const type = $('new-type').value;
  questions.push({ name: freshName(type), type, required: true, ...structuredClone(DEFAULTS[type]) });
  renderQuestions();
  const inputs = $('questions').querySelectorAll('fieldset');
  inputs[inputs.length - 1].querySelector('input').focus();
});

// The question as the API takes it: empty optional fields left out.
function questionBody(q) {
  const o = {};
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || ((k === 'help' || k === 'title') && v === '')) continue;
    o[k] = v;
  }
  return o;
}

// ---- the instructions' live preview ----

let previewTimer = 0, previewSeq = 0;
function preview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(async () => {
    const seq = ++previewSeq;
    try {
      const r = await api('POST', '/api/v1/markdown', { markdown: $('f-instructions').value });
      // The server's CommonMark renderer in safe mode (raw HTML dropped):
      // exactly what the labeling page shows.
      if (seq === previewSeq) $('preview').innerHTML = r.html || '<p class="muted">Nothing yet.</p>';
    } catch (e) { if (seq === previewSeq) showError($('preview'), e); }
  }, 200);
}
$('f-instructions').addEventListener('input', preview);
$('job-form').addEventListener('input', (ev) => {
  dirty = true;
  ev.target.removeAttribute('aria-invalid'); // a field being fixed is no longer marked
  if (/^questions\[\d+\]\.(name|title)$/.test(ev.target.dataset.field || '')) renderRuleQuestions();
});
ruleShown();
$('job-form').addEventListener('change', () => { dirty = true; });

// ---- save ----

function markInvalid(problems) {
  document.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
  for (const p of problems) {
    // The closest control: the field itself, or its question.
    let f = p.field;
    while (f) {
      const n = document.querySelector(`[data-field="${CSS.escape(f)}"]`);
      if (n) { n.setAttribute('aria-invalid', 'true'); break; }
      f = f.replace(/(\.[^.[\]]+|\[\d+\])$/, '');
      if (f === p.field) break;
    }
  }
}

$('job-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const body = {
    name: $('f-name').value,
    instructions: $('f-instructions').value,
    overlap: Number($('f-overlap').value),
    lease_seconds: Number($('f-lease').value),
    randomize_order: $('f-random').checked,
  };
  body.questions = questions.map(questionBody);
  const rule = ruleBody();
  if (rule !== undefined) body.acceptance = rule;
  const errs = $('form-errors');
  errs.replaceChildren();
  markInvalid([]);
  $('save').disabled = true;
  try {
    if (job) {
      const r = await api('PATCH', `/api/v1/jobs/${job.id}`, body);
      dirty = false;
      show(r.job);
      errs.className = 'ok';
      errs.textContent = 'Saved.';
    } else {
      const r = await api('POST', '/api/v1/jobs', body);
      location.assign(`/jobs/${r.job.id}`);
    }
  } catch (e) {
    showError(errs, e);
    markInvalid(e.problems || (e.field ? [{ field: e.field }] : []));
  } finally {
    $('save').disabled = false;
  }
});

function fillForm(j) {
  $('f-name').value = j.name;
  $('f-instructions').value = j.instructions;
  $('f-overlap').value = String(j.overlap);
  $('f-lease').value = String(j.lease_seconds);
  $('f-random').checked = j.randomize_order;
  fixedOrder();
  questions = structuredClone(j.questions);
  fillRule(j.acceptance || null);
  locked = j.counts.judgments > 0 || j.status === 'closed';
  $('questions-locked').hidden = !locked;
  renderQuestions();
  if (j.status === 'closed') $('job-form').querySelectorAll('input, textarea, button, select').forEach((n) => { n.disabled = true; });
  dirty = false;
  preview();
}

// ---- status ----

const MOVES = {
  draft: [['open', 'Open for labeling', 'Labelers can take tasks once it is open; it needs items first.']],
  open: [['paused', 'Pause'], ['closed', 'Close']],
  paused: [['open', 'Resume'], ['closed', 'Close']],
  closed: [],
};
const HELP = {
  draft: 'A draft: set it up, upload items, add members, then open it.',
  open: 'Open: members are labeling.',
  paused: 'Paused: no new tasks; tasks already leased can still be submitted.',
  closed: 'Closed: nothing changes any more; the data stays for exports and reports.',
};

function renderStatus() {
  $('job-status').textContent = job.status;
  $('job-status').className = `badge ${job.status}`;
  $('state-help').textContent = HELP[job.status];
  $('state-actions').replaceChildren(...MOVES[job.status].map(([to, text]) => el('button', {
    type: 'button', class: to === 'closed' ? 'secondary danger' : '', text,
    onclick: async () => {
      if (to === 'closed' && !confirm(`Close "${job.name}"? A closed job cannot be opened again.`)) return;
      try {
        const r = await api('PATCH', `/api/v1/jobs/${job.id}`, { status: to });
        $('state-msg').className = 'ok';
        $('state-msg').textContent = `The job is ${r.job.status}.`;
        show(r.job);
      } catch (e) { showError($('state-msg'), e); }
    },
  })));
}

// ---- progress ----

function chart(perMinute) {
  const svg = $('rate-chart');
  const ns = 'http://www.w3.org/2000/svg';
  const max = Math.max(1, ...perMinute), w = 300 / perMinute.length;
  svg.replaceChildren(...perMinute.map((n, i) => {
    const r = document.createElementNS(ns, 'rect');
    const h = Math.round((n / max) * 44);
    r.setAttribute('x', String(i * w));
    r.setAttribute('y', String(46 - h));
    r.setAttribute('width', String(Math.max(1, w - 1)));
    r.setAttribute('height', String(h));
    r.setAttribute('fill', '#1d4ed8');
    return r;
  }));
}

async function refresh() {
  try {
    const { stats } = await api('GET', `/api/v1/jobs/${job.id}/stats`);
    const c = stats.items;
    $('counts').replaceChildren(...[['Items', c.total], ['Complete', c.complete], ['In progress', c.in_progress],
      ['Untouched', c.untouched], ['Judgments', stats.judgments], ['Skips', stats.skips], ['Live leases', stats.live_leases]]
      .map(([k, v]) => el('div', { class: 'count' }, el('span', { class: 'n', text: String(v) }), el('span', { class: 'muted', text: k }))));
    $('progress-bar').max = Math.max(1, c.total);
    $('progress-bar').value = c.complete;
    chart(stats.last_hour.per_minute);
    $('rate-caption').textContent = `Judgments per minute over the last hour: ${stats.last_hour.judgments} in all, ${stats.last_hour.judgments_per_minute.toFixed(2)} per minute.`;
    if (job.counts.judgments !== stats.judgments) { job.counts.judgments = stats.judgments; renderExports(); }
    if (!locked && stats.judgments > 0) { // the first judgment locks the questions
      locked = true;
      $('questions-locked').hidden = false;
      renderQuestions();
    }
    $('labelers').querySelector('tbody').replaceChildren(...(stats.labelers.length ? stats.labelers.map((l) => el('tr', {},
      el('th', { scope: 'row', text: l.name }), el('td', { text: String(l.judgments) }), el('td', { text: String(l.skips) }),
      el('td', { text: l.median_seconds === null || l.median_seconds === undefined ? '–' : l.median_seconds.toFixed(1) }))) : [
      el('tr', {}, el('td', { colspan: '4', class: 'muted', text: 'No judgments yet.' }))]));
    $('progress-at').textContent = `; last at ${new Date(Date.parse(stats.at)).toLocaleTimeString()}`;
  } catch (e) {
    $('progress-at').textContent = `; the last refresh failed: ${e.message}`;
  }
}

// ---- items ----

$('upload-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const file = $('items-file').files[0];
  const out = $('upload-status'), table = $('upload-errors');
  table.hidden = true;
  if (!file) { out.className = 'error'; out.textContent = 'Choose a file first.'; return; }
  out.className = '';
  out.textContent = `Uploading ${file.name}…`;
  $('upload').disabled = true;
  try {
    const r = await upload(`/api/v1/jobs/${job.id}/items`, file, 'application/x-ndjson');
    out.className = 'ok';
    out.textContent = `Imported ${r.imported} items from ${file.name}.`;
    $('upload-form').reset();
    await reload();
  } catch (e) {
    showError(out, e);
    if (e.lines && e.lines.length) {
      table.querySelector('tbody').replaceChildren(...e.lines.map((l) => el('tr', {},
        el('th', { scope: 'row', text: String(l.line) }), el('td', {}, el('code', { text: l.field || '' })),
        el('td', { text: l.message }))));
      table.hidden = false;
    }
  } finally {
    $('upload').disabled = false;
  }
});

// ---- members ----

async function setMembers(names, msg) {
  const out = $('member-status');
  try {
    const r = await api('PUT', `/api/v1/jobs/${job.id}/members`, { members: names });
    job.members = r.members;
    renderMembers();
    out.className = 'ok';
    out.textContent = msg;
    return true;
  } catch (e) {
    showError(out, e);
    return false;
  }
}

// A member found unreliable: every judgment of theirs in the job rejected
// (their items go back to the pool), their leases released, and they are
// removed, in one write; the lead gives a reason first.
function rejectForm(li, m) {
  const id = `reject-${m.id}`;
  const reason = el('input', { id, maxlength: '1000', autocomplete: 'off' });
  const form = el('form', { class: 'inline reject-form' },
    el('label', { for: id, text: `Why reject all of ${m.name}'s judgments? (optional)` }), reason,
    el('button', { type: 'submit', class: 'danger', text: 'Reject all and remove' }),
    el('button', { type: 'button', class: 'secondary', text: 'Cancel', onclick: () => renderMembers() }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const out = $('member-status');
    try {
      const r = await api('POST', `/api/v1/jobs/${job.id}/labelers/${m.id}/reject`,
        reason.value.trim() ? { reason: reason.value.trim() } : {});
      job.members = r.members;
      renderMembers();
      out.className = 'ok';
      out.textContent = `${m.name} was removed: ${r.rejected} judgment${r.rejected === 1 ? '' : 's'} rejected, `
        + `${r.leases_released} lease${r.leases_released === 1 ? '' : 's'} released; their items are back in the pool.`;
      refresh();
    } catch (e) { showError(out, e); }
  });
  li.replaceChildren(form);
  reason.focus();
}

function renderMembers() {
  const ms = job.members || [];
  const open = job.status !== 'closed';
  $('members').replaceChildren(...(ms.length ? ms.map((m) => {
    const li = el('li', {},
      el('span', { class: 'grow', text: m.name }), el('span', { class: 'muted', text: m.role }),
      el('button', { type: 'button', class: 'secondary danger', text: 'Remove', 'aria-label': `Remove ${m.name}`,
        onclick: () => setMembers(ms.filter((x) => x.id !== m.id).map((x) => x.id), `${m.name} was removed.`) }));
    if (open) {
      li.append(el('button', { type: 'button', class: 'secondary danger', text: 'Reject all',
        'aria-label': `Reject all judgments of ${m.name} and remove them`, onclick: () => rejectForm(li, m) }));
    }
    return li;
  }) : [el('li', { class: 'muted', text: 'No members yet.' })]));
}

$('member-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('member-name').value.trim();
  if (!name) return;
  if (await setMembers([...(job.members || []).map((x) => x.id), name], `${name} was added.`)) $('member-name').value = '';
});

// ---- exports ----

// The formats this job's questions give rows in (src/export.c decides the
// same; a format without rows answers 422).
const FORMATS = [
  ['raw', 'every judgment, with times and labeler pseudonyms', () => true, false],
  ['sft', 'demonstrations (TRL)', (q) => q.type === 'text', false],
  ['openai-chat', 'demonstrations (OpenAI chat fine-tuning)', (q) => q.type === 'text', false],
  ['preference', 'chosen and rejected pairs (TRL)', (q) => q.type === 'pairwise' || q.type === 'rank' || (q.type === 'rating' && q.per_response), true],
  ['openai-preference', 'pairs (OpenAI preference fine-tuning)', (q) => q.type === 'pairwise' || q.type === 'rank' || (q.type === 'rating' && q.per_response), true],
  ['kto', 'good and bad labels (TRL KTO)', (q) => q.type === 'rating', true],
];

function renderExports() {
  const any = job.counts.judgments > 0;
  $('exports-none').hidden = any;
  $('exports-ready').hidden = !any;
  if (!any) return;
  const aggregate = $('export-aggregate').value;
  const together = aggregate !== 'none';
  $('exports').replaceChildren(...FORMATS.filter(([, , fits, agg]) => job.questions.some(fits) && (agg || !together))
    .map(([f, what, , agg]) => {
      const href = `/api/v1/jobs/${job.id}/export?format=${f}${together && agg ? `&aggregate=${aggregate}` : ''}`;
      return el('li', {}, el('span', { class: 'grow', text: f }), el('span', { class: 'muted', text: what }),
        el('a', { class: 'button', href, download: '', 'aria-label': `Download ${f}`, text: 'Download' }));
    }));
}
$('export-aggregate').addEventListener('change', renderExports);

// ---- the page ----

function show(j) {
  const first = job === null;
  job = j;
  document.title = `${j.name} · Arbiter`;
  $('title').textContent = j.name;
  $('manage').hidden = false;
  $('save').textContent = 'Save changes';
  $('report-link').href = `/jobs/${j.id}/report`;
  $('items-link').href = `/jobs/${j.id}/items`;
  renderStatus();
  renderMembers();
  renderExports();
  // The form is refilled unless it holds edits not saved yet.
  if (first || !dirty || j.status === 'closed') fillForm(j);
}

async function reload() {
  show((await api('GET', `/api/v1/jobs/${jobId}`)).job);
  await refresh();
}

async function init() {
  await shell();
  if (!jobId) {
    questions = [];
    renderQuestions();
    preview();
    $('f-name').focus();
    return;
  }
  await reload();
  setInterval(() => { if (document.visibilityState === 'visible') refresh(); }, 5000);
}

init().catch((e) => showError($('status'), e));
