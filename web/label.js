// label.js: the labeling page. One task at a time, keyboard first: every
// question type has keys, Ctrl+Enter submits, S skips, ? lists the keys.
// Work is never lost: answers are saved as a draft in localStorage as they
// are made (restored after a reload: the server hands back the same live
// lease), and a submit that fails for want of the server is retried until
// it lands (the server stores a retried submit once).
import { api, me } from './api.js';
import { $, el } from './dom.js';
import { rendered } from './rendered.js';
import { diffWords } from './diff.js';

const jobId = document.body.dataset.job;
const LETTERS = 'acdefghijklmnopqrtuvwxyz'; // label shortcuts: not s (skip), not b
let job = null, task = null, answers = {}, current = 0, row = 0, done = 0, busy = false;
const views = []; // per question: { fs, update(), key(ev) -> handled }

const draftKey = () => `arbiter.draft.${task.id}`;
function saveDraft() {
  try { localStorage.setItem(draftKey(), JSON.stringify(answers)); } catch (e) { /* full */ }
}
function loadDraft() {
  try { return JSON.parse(localStorage.getItem(draftKey()) || 'null'); } catch (e) { return null; }
}
function setStatus(text, cls = '') { const s = $('status'); s.textContent = text; s.className = `status ${cls}`; }

function answered(q) {
  const a = answers[q.name];
  if (a === undefined || a === null) return false;
  if (q.type === 'rating' && q.per_response !== false) return task.item.responses.every((r) => a[r.id] !== undefined);
  if (q.type === 'text') return a.trim() !== '' || q.required === false;
  return true;
}

function setAnswer(q, value, advance) {
  answers[q.name] = value;
  saveDraft();
  views.forEach((v) => v.update());
  if (advance && answered(q)) focusQuestion(Math.min(current + 1, job.questions.length - 1));
}

function focusQuestion(i) {
  current = i;
  // A rating question starts at its first response without a score.
  const q = job.questions[i], a = answers[q.name];
  row = 0;
  if (q.type === 'rating' && q.per_response !== false && a) {
    const k = task.item.responses.findIndex((r) => a[r.id] === undefined);
    row = k < 0 ? 0 : k;
  }
  views.forEach((v, k) => v.fs.classList.toggle('current', k === i));
  views.forEach((v) => v.update());
  views[i].fs.scrollIntoView({ block: 'nearest' });
}

// ---- one view per question type ----

function pairwiseView(q) {
  const rs = task.item.responses;
  const choices = [['1', rs[0].id, 'Response 1 is better'], ['2', rs[1].id, 'Response 2 is better']];
  if (q.allow_tie) choices.push(['0', 'tie', 'Tie']);
  if (q.allow_both_bad) choices.push(['B', 'both_bad', 'Both are bad']);
  const buttons = choices.map(([key, value, text]) => el('button', {
    type: 'button', 'data-value': value, 'aria-pressed': 'false',
    onclick: () => choose(value),
  }, el('kbd', { text: key }), ` ${text}`));
  const strength = [];
  for (let s = 1; q.strength && s <= q.strength; s++) {
    strength.push(el('button', { type: 'button', 'data-strength': s, 'aria-pressed': 'false',
      onclick: () => setAnswer(q, { ...answers[q.name], strength: s }, true) },
    el('kbd', { text: `Shift+${s}` }), ` ${['', 'slightly', 'clearly', 'much'][s] || s} better`));
  }
  function choose(value) {
    const prev = answers[q.name] || {};
    const a = { winner: value };
    if (q.strength && value !== 'tie' && value !== 'both_bad') {
      a.strength = prev.strength || undefined;
      if (a.strength === undefined) delete a.strength;
    }
    setAnswer(q, a, !q.strength || value === 'tie' || value === 'both_bad');
  }
  const body = [el('div', { class: 'choices', role: 'group', 'aria-label': 'Which is better' }, ...buttons)];
  if (strength.length) body.push(el('div', { class: 'choices', role: 'group', 'aria-label': 'How much better' }, ...strength));
  return {
    body,
    update() {
      const a = answers[q.name] || {};
      buttons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.value === a.winner)));
      strength.forEach((b) => {
        b.disabled = !a.winner || a.winner === 'tie' || a.winner === 'both_bad';
        b.setAttribute('aria-pressed', String(Number(b.dataset.strength) === a.strength));
      });
    },
    key(ev) {
      if (ev.shiftKey && /^Digit[1-9]$/.test(ev.code) && q.strength) {
        const s = Number(ev.code.slice(5));
        const a = answers[q.name];
        if (s <= q.strength && a && a.winner !== 'tie' && a.winner !== 'both_bad') {
          setAnswer(q, { ...a, strength: s }, true);
          return true;
        }
        return false;
      }
      const k = ev.key.toUpperCase();
      const c = choices.find(([key]) => key === k);
      if (c) { choose(c[1]); return true; }
      return false;
    },
    keys: choices.map(([key, , text]) => [key, text]).concat(q.strength ? [[`Shift+1…${q.strength}`, 'how much better']] : []),
  };
}

function ratingView(q) {
  const thumbs = q.scale === 'thumbs';
  const points = [];
  if (!thumbs) for (let v = q.scale.min; v <= q.scale.max; v++) points.push(v);
  const perResponse = q.per_response !== false;
  const targets = perResponse ? task.item.responses.map((r, i) => [r.id, `Response ${i + 1}`]) : [[null, 'Overall']];
  const get = (id) => { const a = answers[q.name]; return a === undefined ? undefined : (id === null ? a : a[id]); };
  const put = (id, v, advance) => {
    let a = v;
    if (id !== null) { a = { ...(answers[q.name] || {}) }; a[id] = v; }
    if (advance && row < targets.length - 1) { row++; advance = false; }
    setAnswer(q, a, advance === true); // 'row': a digit that may go on stays on this question
  };
  let typed = null; // the last digit typed: { digits, row, at }
  const labelOf = (v) => (q.scale.labels && q.scale.labels[String(v)]) ? ` ${q.scale.labels[String(v)]}` : '';
  const rows = targets.map(([id, name], i) => {
    const opts = thumbs
      ? [[true, 'U', '👍 Good'], [false, 'D', '👎 Bad']].map(([v, key, text]) => el('button', {
        type: 'button', 'data-value': String(v), 'aria-pressed': 'false',
        'aria-label': `${name}: ${text.slice(2)}`, onclick: () => { row = i; put(id, v, true); },
      }, el('kbd', { text: key }), ` ${text}`))
      : points.map((v) => el('button', {
        type: 'button', 'data-value': String(v), 'aria-pressed': 'false',
        'aria-label': `${name}: ${v}${labelOf(v)}`, onclick: () => { row = i; put(id, v, true); },
      }, String(v), labelOf(v) ? el('span', { class: 'muted', text: labelOf(v) }) : ''));
    return { div: el('div', { class: 'row' }, el('span', { class: 'row-label', text: name }), ...opts), opts, id };
  });
  return {
    body: rows.map((r) => r.div),
    update() {
      rows.forEach((r, i) => {
        r.div.classList.toggle('current', views[current] && views[current].q === q && i === row);
        r.opts.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.value === String(get(r.id)))));
      });
    },
    key(ev) {
      const r = targets[row];
      if (ev.key === 'ArrowDown' && row < targets.length - 1) { row++; this.update(); return true; }
      if (ev.key === 'ArrowUp' && row > 0) { row--; this.update(); return true; }
      if (thumbs) {
        const k = ev.key.toUpperCase();
        if (k === 'U' || k === 'D') { put(r[0], k === 'U', true); return true; }
        return false;
      }
      if (/^[0-9]$/.test(ev.key)) {
        // Scales past 9 take two digits typed quickly ("1", "0": 10) for
        // the row the first one scored.
        const now = Date.now();
        if (typed && now - typed.at < 800 && q.scale.max > 9) {
          const v2 = Number(typed.digits + ev.key);
          if (v2 <= q.scale.max) {
            const back = row;
            row = typed.row;
            put(targets[typed.row][0], v2, false);
            row = back;
            typed = null;
            this.update();
            return true;
          }
        }
        const v = Number(ev.key);
        if (v >= q.scale.min && v <= q.scale.max) {
          typed = { digits: ev.key, row, at: now };
          put(r[0], v, q.scale.max > 9 && v * 10 <= q.scale.max ? 'row' : true);
          return true;
        }
        typed = null;
      }
      return false;
    },
    keys: thumbs ? [['U / D', 'thumbs up / down for the marked row'], ['↑ / ↓', 'previous / next row']]
      : [[`${q.scale.min}…${Math.min(q.scale.max, 9)}`, 'score the marked row'], ['↑ / ↓', 'previous / next row'],
        ...(q.scale.max > 9 ? [['two digits', `scores past 9 (quickly: "1", "0" is 10)`]] : [])],
  };
}

// Rank: a list, best first. Keys: a response's number selects it, arrows
// move it, T ties it with the one above (again: unties), Enter accepts the
// order as it stands. Rows also drag and drop, and have buttons for touch.
// The answer is groups of ids (ties allowed: [["b"], ["a", "c"]]) or ids.
function rankView(q) {
  const rs = task.item.responses;
  const num = (id) => rs.findIndex((r) => r.id === id) + 1;
  let selected = null, dragged = null;
  const groups = () => {
    const a = answers[q.name];
    if (a === undefined) return rs.map((r) => [r.id]);
    return a.map((g) => (Array.isArray(g) ? [...g] : [g]));
  };
  const commit = (gs, advance = false) => {
    gs = gs.filter((g) => g.length);
    setAnswer(q, q.allow_ties ? gs : gs.map((g) => g[0]), advance);
  };
  const where = (gs, id) => { const g = gs.findIndex((x) => x.includes(id)); return [g, gs[g]]; };
  function move(id, dir) {
    const gs = groups();
    const [g, grp] = where(gs, id);
    if (grp.length > 1) { // leave the tie, on the side it moves to
      grp.splice(grp.indexOf(id), 1);
      gs.splice(dir < 0 ? g : g + 1, 0, [id]);
    } else {
      const to = g + dir;
      if (to < 0 || to >= gs.length) return;
      [gs[g], gs[to]] = [gs[to], gs[g]];
    }
    commit(gs);
  }
  function tie(id) {
    const gs = groups();
    const [g, grp] = where(gs, id);
    if (grp.length > 1) { grp.splice(grp.indexOf(id), 1); gs.splice(g + 1, 0, [id]); }
    else if (g > 0) { gs[g - 1].push(id); gs.splice(g, 1); }
    else return;
    commit(gs);
  }
  function dropOn(id, before) {
    if (dragged === null || dragged === id) return;
    const gs = groups();
    const [g0, grp0] = where(gs, dragged);
    grp0.splice(grp0.indexOf(dragged), 1);
    if (!grp0.length) gs.splice(g0, 1);
    const [g] = where(gs, id);
    gs.splice(before ? g : g + 1, 0, [dragged]);
    selected = dragged;
    commit(gs);
  }
  const list = el('ol', { class: 'rank', 'aria-label': `${q.name}: best first` });
  const status = el('p', { class: 'hint', 'aria-live': 'polite' });
  const accept = el('button', { type: 'button', class: 'secondary', onclick: () => commit(groups(), true) },
    'Keep this order ', el('kbd', { text: 'Enter' }));
  function row(id, place, tied) {
    const n = num(id);
    const li = el('li', { draggable: 'true', 'data-id': id, class: id === selected ? 'selected' : '' },
      el('span', { class: 'place', text: tied ? `${place}=` : String(place) }),
      el('span', { class: 'tag', text: String(n) }),
      el('span', { class: 'grow', text: `Response ${n}` }),
      el('button', { type: 'button', class: 'secondary', 'aria-label': `Move response ${n} up`,
        onclick: (ev) => { ev.stopPropagation(); selected = id; move(id, -1); } }, '↑'),
      el('button', { type: 'button', class: 'secondary', 'aria-label': `Move response ${n} down`,
        onclick: (ev) => { ev.stopPropagation(); selected = id; move(id, 1); } }, '↓'));
    if (q.allow_ties)
      li.append(el('button', { type: 'button', class: 'secondary', 'aria-pressed': String(tied),
        'aria-label': `Tie response ${n} with the one above`,
        onclick: (ev) => { ev.stopPropagation(); selected = id; tie(id); } }, '='));
    li.addEventListener('click', () => { selected = id; update(); });
    li.addEventListener('dragstart', (ev) => { dragged = id; ev.dataTransfer.setData('text/plain', id); ev.dataTransfer.effectAllowed = 'move'; });
    li.addEventListener('dragend', () => { dragged = null; });
    li.addEventListener('dragover', (ev) => { ev.preventDefault(); });
    li.addEventListener('drop', (ev) => {
      ev.preventDefault();
      const box = li.getBoundingClientRect();
      dropOn(id, ev.clientY < box.top + box.height / 2);
    });
    return li;
  }
  function update() {
    const gs = groups();
    let place = 1;
    const items = [];
    for (const g of gs) {
      for (const id of g) items.push(row(id, place, g.length > 1));
      place += g.length;
    }
    list.replaceChildren(...items);
    status.textContent = answers[q.name] === undefined
      ? 'Not ranked yet: move responses, or press Enter to keep this order.'
      : `Ranked, best first: ${gs.map((g) => g.map(num).join(' = ')).join(', ')}.`;
  }
  return {
    body: [list, el('div', { class: 'choices' }, accept), status],
    update,
    key(ev) {
      if (/^[1-9]$/.test(ev.key) && Number(ev.key) <= rs.length) { selected = rs[Number(ev.key) - 1].id; update(); return true; }
      if (ev.key === 'Enter') { commit(groups(), true); return true; }
      if (selected === null) return false;
      if (ev.key === 'ArrowUp' || ev.key === 'ArrowDown') { move(selected, ev.key === 'ArrowUp' ? -1 : 1); return true; }
      if (q.allow_ties && (ev.key === 't' || ev.key === 'T')) { tie(selected); return true; }
      return false;
    },
    keys: [[`1…${Math.min(rs.length, 9)}`, 'select a response'], ['↑ / ↓', 'move the selected response'],
      ...(q.allow_ties ? [['T', 'tie the selected response with the one above (again: untie)']] : []),
      ['Enter', 'keep the order as it stands']],
  };
}

function labelsView(q) {
  const boxes = q.options.map((opt, i) => {
    const key = LETTERS[i] || '';
    const input = el('input', { type: q.multiple ? 'checkbox' : 'radio', name: `q-${q.name}`,
      id: `q-${q.name}-${i}`, value: opt });
    input.addEventListener('change', () => pick(opt, input.checked));
    return { input, key, opt, label: el('label', { class: 'choice', for: `q-${q.name}-${i}` }, input, ' ',
      key ? el('kbd', { text: key.toUpperCase() }) : '', ` ${opt}`) };
  });
  function pick(opt, on) {
    let a = q.multiple ? [...(answers[q.name] || [])] : [];
    a = a.filter((x) => x !== opt);
    if (on) a.push(opt);
    setAnswer(q, a, !q.multiple);
  }
  return {
    body: [el('div', { class: 'choices', role: 'group', 'aria-label': q.name }, ...boxes.map((b) => b.label))],
    update() { const a = answers[q.name] || []; boxes.forEach((b) => { b.input.checked = a.includes(b.opt); }); },
    key(ev) {
      const b = boxes.find((x) => x.key && x.key === ev.key.toLowerCase());
      if (!b) return false;
      pick(b.opt, q.multiple ? !(answers[q.name] || []).includes(b.opt) : true);
      return true;
    },
    keys: boxes.filter((b) => b.key).map((b) => [b.key.toUpperCase(), b.opt]),
  };
}

// Text: an editor prefilled per the question, a character count, and the
// changes against the original (a word diff, refreshed as one types).
function textView(q) {
  let original = prefill(q);
  const area = el('textarea', { id: `q-${q.name}`, 'aria-label': q.name, spellcheck: 'true' });
  const count = el('p', { class: 'hint', 'aria-live': 'polite' });
  const changes = el('div', { class: 'diff', 'aria-label': 'Changes against the original' });
  const details = el('details', { class: 'changes', open: '' }, el('summary', { text: 'Changes' }), changes);
  let timer = 0;
  const counter = () => {
    const n = [...area.value].length;
    let t = `${n} characters`;
    if (q.min_chars && q.max_chars) t += ` (${q.min_chars} to ${q.max_chars})`;
    else if (q.max_chars) t += ` of at most ${q.max_chars}`;
    if (original && area.value !== original) t += ' · edited';
    return t;
  };
  function showDiff() {
    details.hidden = !original;
    if (!original) return;
    const ops = diffWords(original, area.value);
    changes.replaceChildren(...(ops.length === 1 && ops[0][0] === '='
      ? [el('span', { class: 'muted', text: 'No changes yet.' })]
      : ops.map(([op, text]) => (op === '=' ? document.createTextNode(text)
        : el(op === '-' ? 'del' : 'ins', { text })))));
  }
  function refresh() { count.textContent = counter(); clearTimeout(timer); timer = setTimeout(showDiff, 120); }
  area.value = answers[q.name] !== undefined ? answers[q.name] : original;
  area.addEventListener('input', () => { answers[q.name] = area.value; saveDraft(); refresh(); });
  if (answers[q.name] === undefined && original) answers[q.name] = original;
  count.textContent = counter();
  showDiff();
  return {
    body: [area, count, details],
    update() {
      // "best" follows the labeler's preference until the text is edited.
      const p = prefill(q);
      if (p !== original) {
        if (area.value === original) { area.value = p; answers[q.name] = p || undefined; }
        original = p;
        showDiff();
      }
      if (document.activeElement !== area && answers[q.name] !== undefined) area.value = answers[q.name];
      refresh();
    },
    key(ev) { if (ev.key === 'Enter' && !ev.ctrlKey) { area.focus(); return true; } return false; },
    keys: [['Enter', 'edit the text'], ['Esc', 'leave the editor']],
  };
}

// The text a text question starts from: a given response, or with "best"
// the response this labeler prefers so far in the same task (a pairwise
// winner, the top of a ranking, else the best score).
function prefill(q) {
  const p = q.prefill || 'none';
  const text = (id) => { const r = task.item.responses.find((x) => x.id === id); return r ? r.text : ''; };
  if (p.startsWith('response:')) return text(p.slice(9));
  if (p !== 'best') return '';
  for (const o of job.questions) {
    const a = answers[o.name];
    if (a === undefined || a === null) continue;
    if (o.type === 'pairwise' && a.winner && a.winner !== 'tie' && a.winner !== 'both_bad') return text(a.winner);
    if (o.type === 'rank' && a.length) { const top = Array.isArray(a[0]) ? a[0] : [a[0]]; if (top.length === 1) return text(top[0]); }
  }
  for (const o of job.questions) {
    const a = answers[o.name];
    if (o.type !== 'rating' || o.per_response === false || !a || o.scale === 'thumbs') continue;
    let best = null;
    for (const r of task.item.responses) if (a[r.id] !== undefined && (best === null || a[r.id] > a[best])) best = r.id;
    if (best !== null) return text(best);
  }
  return '';
}

const VIEWS = { pairwise: pairwiseView, rank: rankView, rating: ratingView, labels: labelsView, text: textView };

// ---- the task ----

// What the labeler's time on a task was: from when it appeared (the next
// task is leased ahead, while this one is worked on), and of that the time
// the page was visible, focused and used (an input within the last
// minute). Sent with the judgment as durations; the server bounds them.
const IDLE_MS = 60000;
const clock = { shown: 0, active: 0, last: 0, input: 0 };
const inUse = (now) => document.visibilityState === 'visible' && document.hasFocus() && now - clock.input < IDLE_MS;
function clockTick() {
  const now = performance.now();
  if (clock.shown && inUse(now)) clock.active += now - clock.last;
  clock.last = now;
}
function clockStart() {
  const now = performance.now();
  Object.assign(clock, { shown: now, active: 0, last: now, input: now });
}
for (const ev of ['keydown', 'pointerdown', 'input', 'wheel', 'scroll']) {
  addEventListener(ev, () => { clockTick(); clock.input = performance.now(); }, { capture: true, passive: true });
}
document.addEventListener('visibilitychange', clockTick);
addEventListener('blur', clockTick);
addEventListener('focus', () => { clock.last = performance.now(); });
setInterval(clockTick, 1000);
function timing() {
  clockTick();
  const now = performance.now();
  return { shown_seconds: Math.round(now - clock.shown) / 1000, active_seconds: Math.round(clock.active) / 1000 };
}

function renderTask() {
  const prompt = $('prompt');
  prompt.replaceChildren();
  if (task.item.messages) {
    for (const m of task.item.messages) {
      const div = el('div', { class: 'msg' }, el('div', { class: 'msg-role', text: m.role }));
      div.append(rendered(m.content_html));
      prompt.append(div);
    }
  } else {
    prompt.append(rendered(task.item.prompt_html));
  }
  $('responses').replaceChildren(...task.item.responses.map((r, i) => {
    const card = el('article', { class: 'response', 'aria-label': `Response ${i + 1}` },
      el('h2', {}, el('span', { class: 'tag', text: String(i + 1) }), `Response ${i + 1}`));
    card.append(rendered(r.html));
    return card;
  }));
  const draft = loadDraft();
  answers = draft || {};
  views.length = 0;
  const form = $('questions');
  form.replaceChildren();
  job.questions.forEach((q, i) => {
    const make = VIEWS[q.type];
    const v = make ? make(q) : { body: [el('p', { text: `This page cannot show ${q.type} questions yet.` })], update() {}, key: () => false, keys: [] };
    v.q = q;
    v.fs = el('fieldset', { onclick: () => { if (current !== i) focusQuestion(i); } },
      el('legend', { text: q.name }), ...(q.help ? [el('p', { class: 'hint', text: q.help })] : []), ...v.body);
    views.push(v);
    form.append(v.fs);
  });
  renderHelp();
  $('task').hidden = false;
  $('empty').hidden = true;
  const first = job.questions.findIndex((q) => !answered(q));
  focusQuestion(first < 0 ? 0 : first);
  $('save-state').textContent = draft ? 'Draft restored.' : '';
  clockStart();
  tick();
}

function renderHelp() {
  const rows = [['Ctrl+Enter', 'submit'], ['S', 'skip (with a reason)'], ['J / K', 'next / previous question'],
    ['?', 'this list'], ['Esc', 'close']];
  views.forEach((v) => v.keys.forEach(([k, t]) => rows.push([k, `${v.q.name}: ${t}`])));
  $('help-keys').replaceChildren(...rows.flatMap(([k, t]) => [el('dt', {}, el('kbd', { text: k })), el('dd', { text: t })]));
}

function tick() {
  if (!task) return;
  const left = Math.round((Date.parse(task.expires_at) - Date.now()) / 1000);
  const t = $('lease');
  if (left <= 0) { t.textContent = 'expired'; return; }
  t.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
}
setInterval(tick, 1000);

// The task after the one on screen is leased in the background (the server
// keeps at most two live leases per labeler), so it appears at once after
// a submit or skip. Only a task is trusted: "nothing left" is asked again.
let prefetched = null; // { after, promise }

function prefetch() {
  const after = task.id;
  prefetched = { after, promise: api('POST', `/api/v1/jobs/${jobId}/tasks/next?html=1&after=${after}`).catch(() => null) };
}

async function next(finished) {
  let r = null;
  if (prefetched && prefetched.after === finished) {
    r = await prefetched.promise;
    if (r && Date.parse(r.task.expires_at) - Date.now() < 5000) r = null;
  }
  prefetched = null;
  task = null;
  if (r === null) {
    setStatus('Loading the next task…');
    r = await api('POST', `/api/v1/jobs/${jobId}/tasks/next?html=1`);
    setStatus('');
  }
  if (r === null) {
    $('task').hidden = true;
    $('empty').hidden = false;
    return;
  }
  task = r.task;
  renderTask();
  prefetch();
}

function missing() {
  return job.questions.filter((q) => q.required !== false && !answered(q));
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

async function submit() {
  if (busy || !task) return;
  const lack = missing();
  if (lack.length) {
    setStatus(`Answer ${lack.map((q) => q.name).join(', ')} first.`, 'error');
    focusQuestion(job.questions.indexOf(lack[0]));
    return;
  }
  busy = true;
  const body = { answers: {}, timing: timing() };
  for (const q of job.questions) {
    if (answers[q.name] === undefined) continue;
    // An optional text left as it was prefilled is no answer (and no
    // demonstration): it is not sent.
    if (q.type === 'text' && q.required === false && (q.prefill || 'none') !== 'none' && answers[q.name] === prefill(q)) continue;
    body.answers[q.name] = answers[q.name];
  }
  const state = $('save-state');
  state.className = 'save-state';
  state.textContent = 'Saving…';
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await api('POST', `/api/v1/tasks/${task.id}/judgment`, body);
        break;
      } catch (e) {
        if (e.status !== 0 && e.status < 500 && e.status !== 429) throw e;
        // The server is unreachable or busy: the answers stay in the
        // draft, and the same submission is sent again (stored once).
        state.className = 'save-state retrying';
        state.textContent = `Not saved yet: ${e.message} Retrying (attempt ${attempt + 1})…`;
        await sleep(Math.min(8000, 500 * 2 ** Math.min(attempt - 1, 4)));
      }
    }
    localStorage.removeItem(draftKey());
    done++;
    $('done-count').textContent = String(done);
    state.className = 'save-state';
    state.textContent = '';
    setStatus('');
    await next(task.id);
  } catch (e) {
    state.className = 'save-state error';
    state.textContent = e.field ? `${e.message} (${e.field})` : e.message;
    if (e.status === 409 || e.status === 404) {
      localStorage.removeItem(draftKey());
      setStatus(`${e.message} Moving on.`, 'error');
      await next(task.id);
    }
  } finally {
    busy = false;
  }
}

async function skip(reason) {
  if (busy || !task) return;
  busy = true;
  try {
    await api('POST', `/api/v1/tasks/${task.id}/skip`, reason ? { reason } : {});
    localStorage.removeItem(draftKey());
    await next(task.id);
  } catch (e) {
    setStatus(e.message, 'error');
  } finally {
    busy = false;
  }
}

// ---- keys and dialogs ----

function open(id) { $(id).hidden = false; }
function close(id) { $(id).hidden = true; }

document.addEventListener('keydown', (ev) => {
  const typing = ev.target instanceof HTMLTextAreaElement || ev.target instanceof HTMLInputElement && ev.target.type === 'text' || ev.target.id === 'skip-reason';
  if (ev.key === 'Escape') {
    if (!$('help').hidden) close('help');
    else if (!$('skip-dialog').hidden) close('skip-dialog');
    else if (typing) ev.target.blur();
    return;
  }
  if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submit(); return; }
  if (typing || !$('help').hidden || !$('skip-dialog').hidden || !task || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  if (ev.key === '?') { open('help'); $('close-help').focus(); ev.preventDefault(); return; }
  if (ev.key === 's' || ev.key === 'S') {
    open('skip-dialog');
    $('skip-reason').value = '';
    $('skip-reason').focus();
    ev.preventDefault();
    return;
  }
  if (ev.key === 'j' || ev.key === 'J') { focusQuestion(Math.min(current + 1, views.length - 1)); return; }
  if (ev.key === 'k' || ev.key === 'K') { focusQuestion(Math.max(current - 1, 0)); return; }
  if (views[current] && views[current].key(ev)) ev.preventDefault();
});

$('show-help').addEventListener('click', () => { open('help'); $('close-help').focus(); });
$('close-help').addEventListener('click', () => close('help'));
$('skip').addEventListener('click', () => { open('skip-dialog'); $('skip-reason').focus(); });
$('skip-cancel').addEventListener('click', () => close('skip-dialog'));
$('skip-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  close('skip-dialog');
  skip($('skip-reason').value.trim());
});
$('submit').addEventListener('click', submit);
$('show-instructions').addEventListener('click', () => {
  const box = $('instructions');
  box.hidden = !box.hidden;
  $('show-instructions').setAttribute('aria-expanded', String(!box.hidden));
});

async function init() {
  await me();
  job = (await api('GET', `/api/v1/jobs/${jobId}`)).job;
  $('job-name').textContent = job.name;
  done = job.my_judgments;
  $('done-count').textContent = String(done);
  document.title = `${job.name} · Arbiter`;
  // instructions_html comes from the server's CommonMark renderer in safe
  // mode (raw HTML dropped), the one HTML this page inserts.
  const box = $('instructions');
  box.innerHTML = job.instructions_html || '<p>No instructions.</p>';
  await next();
}

init().catch((e) => setStatus(e.message, 'error'));
