// label.js: the labeling page. One task at a time, keyboard first: every
// question type has keys, Ctrl+Enter submits, S skips, ? lists the keys.
// Work is never lost: answers are saved as a draft in localStorage as they
// are made (restored after a reload: the server hands back the same live
// lease), and a submit that fails for want of the server is retried until
// it lands (the server stores a retried submit once). F flags the item for
// the lead, Z (Back) reopens the labeler's last judgments to revise them.
import { api, me } from './api.js';
import { $, el } from './dom.js';
import { rendered } from './rendered.js';
import { diffWords } from './diff.js';

const jobId = document.body.dataset.job;
// Label shortcuts: not the page's own keys (S skip, F flag, J/K questions,
// Z back) nor B. Labels past these are reached with the arrows.
const LETTERS = 'acdeghilmnopqrtuvwxy';
let job = null, task = null, answers = {}, current = 0, row = 0, done = 0, left = null, busy = false;
// Revising: { judgment } while a past judgment is on screen; held is the
// task it stands in front of (null when there was none).
let revising = null, held = null;
const titleOf = (q) => q.title || q.name;
const views = []; // per question: { fs, update(), key(ev) -> handled }

const draftKey = () => `arbiter.draft.${task.id}`;
function saveDraft() {
  if (revising) return; // a revision is saved by its own button, never restored
  try {
    localStorage.setItem(draftKey(), JSON.stringify(answers));
    localStorage.setItem(`arbiter.comment.${task.id}`, $('comment').value);
  } catch (e) { /* full */ }
}
function dropDraft(id) {
  localStorage.removeItem(`arbiter.draft.${id}`);
  localStorage.removeItem(`arbiter.comment.${id}`);
}
function loadDraft() {
  try { return JSON.parse(localStorage.getItem(draftKey()) || 'null'); } catch (e) { return null; }
}
// kind 'missing': the message about unanswered questions, which follows the
// answers (and goes once they are given).
function setStatus(text, cls = '', kind = '') {
  const s = $('status');
  s.textContent = text;
  s.className = `status ${cls}`;
  s.dataset.kind = kind;
}
function saved(text) {
  const n = $('saved');
  n.textContent = text;
  n.hidden = !text;
}

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
  answersChanged();
  if (advance && answered(q)) focusQuestion(Math.min(current + 1, job.questions.length - 1));
}

// Messages about the answers follow them: a question answered is no longer
// marked, and a message of a failed submit goes with the next change.
function answersChanged() {
  views.forEach((v) => v.fs.classList.toggle('missing', v.fs.classList.contains('missing') && !answered(v.q)));
  if ($('status').dataset.kind === 'missing') {
    const lack = missing();
    if (lack.length) setStatus(`Answer ${lack.map(titleOf).join('; ')} first.`, 'error', 'missing');
    else setStatus('');
  }
  const state = $('save-state');
  if (state.classList.contains('error')) { state.className = 'save-state'; state.textContent = ''; }
}

function focusQuestion(i, scroll = true) {
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
  if (scroll) views[i].fs.scrollIntoView({ block: 'nearest' });
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
  const list = el('ol', { class: 'rank', 'aria-label': `${titleOf(q)}: best first` });
  const status = el('p', { class: 'hint', 'aria-live': 'polite' });
  const accept = el('button', { type: 'button', class: 'secondary', onclick: () => commit(groups(), true) },
    'Keep this order ', el('kbd', { text: 'Enter' }));
  function row(id, place, tied) {
    const n = num(id);
    const li = el('li', { draggable: 'true', 'data-id': id, class: id === selected ? 'selected' : '' },
      el('span', { class: 'place', text: tied ? `${place}=` : String(place) }),
      el('span', { class: 'tag', text: String(n) }),
      el('span', { class: 'grow' }, el('span', { class: 'rank-name', text: `Response ${n}` }),
        el('span', { class: 'rank-start', text: startOf(rs[n - 1].text) })),
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

// Labels: a letter per label (as many as LETTERS has), and for every label
// the arrows move a mark and Space picks the marked one.
function labelsView(q) {
  let mark = -1;
  const boxes = q.options.map((opt, i) => {
    const key = LETTERS[i] || '';
    const input = el('input', { type: q.multiple ? 'checkbox' : 'radio', name: `q-${q.name}`,
      id: `q-${q.name}-${i}`, value: opt });
    input.addEventListener('change', () => { mark = i; pick(opt, input.checked); });
    return { input, key, opt, label: el('label', { class: 'choice', for: `q-${q.name}-${i}` }, input, ' ',
      key ? el('kbd', { text: key.toUpperCase() }) : '', ` ${opt}`) };
  });
  function pick(opt, on) {
    let a = q.multiple ? [...(answers[q.name] || [])] : [];
    a = a.filter((x) => x !== opt);
    if (on) a.push(opt);
    setAnswer(q, a, !q.multiple);
  }
  const toggle = (b) => pick(b.opt, q.multiple ? !(answers[q.name] || []).includes(b.opt) : true);
  return {
    body: [el('div', { class: 'choices', role: 'group', 'aria-label': titleOf(q) }, ...boxes.map((b) => b.label))],
    update() {
      const a = answers[q.name] || [];
      boxes.forEach((b, i) => { b.input.checked = a.includes(b.opt); b.label.classList.toggle('marked', i === mark); });
    },
    key(ev) {
      if (['ArrowRight', 'ArrowDown', 'ArrowLeft', 'ArrowUp'].includes(ev.key)) {
        const step = ev.key === 'ArrowRight' || ev.key === 'ArrowDown' ? 1 : -1;
        mark = mark < 0 ? (step > 0 ? 0 : boxes.length - 1) : (mark + step + boxes.length) % boxes.length;
        this.update();
        boxes[mark].label.scrollIntoView({ block: 'nearest' });
        return true;
      }
      if (ev.key === ' ' && mark >= 0) { toggle(boxes[mark]); return true; }
      const b = boxes.find((x) => x.key && x.key === ev.key.toLowerCase());
      if (!b) return false;
      mark = boxes.indexOf(b);
      toggle(b);
      return true;
    },
    keys: boxes.filter((b) => b.key).map((b) => [b.key.toUpperCase(), b.opt])
      .concat([['← / →', 'mark the previous / next label'], ['Space', 'pick the marked label']]),
  };
}

// Text: an editor prefilled per the question, a character count, and the
// changes against the original (a word diff, refreshed as one types).
function textView(q) {
  let original = prefill(q);
  const area = el('textarea', { id: `q-${q.name}`, 'aria-label': titleOf(q), spellcheck: 'true' });
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
  area.addEventListener('input', () => { answers[q.name] = area.value; saveDraft(); refresh(); answersChanged(); });
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

// The start of a response's text as a rank row shows it: one line, the
// Markdown marks that carry no words left out.
function startOf(text) {
  const t = String(text || '').replace(/```[^\n]*\n?/g, ' ').replace(/[#>*_`|~]+/g, ' ').replace(/\s+/g, ' ').trim();
  return t.length > 140 ? `${t.slice(0, 140)}…` : t;
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
  const draft = revising ? null : loadDraft();
  answers = revising ? structuredClone(revising.judgment.answers) : (draft || {});
  $('comment').value = revising ? (revising.judgment.comment || '')
    : (localStorage.getItem(`arbiter.comment.${task.id}`) || '');
  views.length = 0;
  const form = $('questions');
  form.replaceChildren();
  job.questions.forEach((q, i) => {
    const make = VIEWS[q.type];
    const v = make ? make(q) : { body: [el('p', { text: `This page cannot show ${q.type} questions yet.` })], update() {}, key: () => false, keys: [] };
    v.q = q;
    v.fs = el('fieldset', { onclick: () => { if (current !== i) focusQuestion(i); } },
      el('legend', { text: titleOf(q) }), ...(q.help ? [el('p', { class: 'hint', text: q.help })] : []), ...v.body);
    views.push(v);
    form.append(v.fs);
  });
  renderHelp();
  $('task').hidden = false;
  $('empty').hidden = true;
  $('revising').hidden = !revising;
  $('skip').hidden = Boolean(revising);
  $('submit').firstChild.textContent = revising ? 'Save changes ' : 'Submit ';
  $('lease-label').textContent = revising ? 'revising' : 'lease';
  if (revising) {
    const g = revising.judgment;
    $('revising-text').textContent = `Your judgment of item ${g.item_id}, submitted ${new Date(Date.parse(g.submitted_at)).toLocaleString()}`
      + `${g.revision > 1 ? `, revised ${g.revision - 1} time${g.revision > 2 ? 's' : ''}` : ''}. Change it and save, or go back.`;
  }
  renderFlags(task.flags || []);
  const first = job.questions.findIndex((q) => !answered(q));
  // Each task opens at the top of its prompt, not at its first question.
  focusQuestion(first < 0 ? 0 : first, false);
  window.scrollTo(0, 0);
  $('save-state').className = 'save-state';
  $('save-state').textContent = draft ? 'Draft restored.' : '';
  if ($('status').dataset.kind === 'missing') setStatus('');
  clockStart();
  tick();
}

function renderHelp() {
  const rows = [['Ctrl+Enter', 'submit'], ['S', 'skip (with a reason)'], ['F', 'flag the item for the lead'],
    ['Z', 'back: reopen your last judgment (again: the one before)'], ['J / K', 'next / previous question'],
    ['?', 'this list'], ['Esc', 'close; back to the current task']];
  views.forEach((v) => v.keys.forEach(([k, t]) => rows.push([k, `${titleOf(v.q)}: ${t}`])));
  $('help-keys').replaceChildren(...rows.flatMap(([k, t]) => [el('dt', {}, el('kbd', { text: k })), el('dd', { text: t })]));
}

function tick() {
  const t = $('lease');
  if (!task || revising) { t.textContent = revising ? '' : '--:--'; return; }
  const secs = Math.round((Date.parse(task.expires_at) - Date.now()) / 1000);
  if (secs <= 0) { t.textContent = 'expired'; return; }
  t.textContent = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;
}
setInterval(tick, 1000);

// "12 done, about 28 left for you": left is the server's figure (an upper
// bound: others may take some first), counted down here and asked again
// every 20 tasks; 0 comes from the server only.
function showProgress() {
  $('done-count').textContent = String(done);
  $('left-text').textContent = left === null ? '' : left === 0 ? ', nothing left for you'
    : `, about ${left} left for you`;
}
async function refreshLeft() {
  try {
    const j = (await api('GET', `/api/v1/jobs/${jobId}`)).job;
    left = j.my_left;
    done = j.my_judgments;
    showProgress();
  } catch (e) { /* the count waits for the next refresh */ }
}
function counted(judged) {
  if (judged) done++;
  if (left !== null && left > 1) left--;
  showProgress();
  if (done % 20 === 0) refreshLeft();
}

// The task after the one on screen is leased in the background (the server
// keeps at most two live leases per labeler), so it appears at once after
// a submit or skip. Only a task is trusted: "nothing left" is asked again.
let prefetched = null; // { after, promise }

function prefetch() {
  const after = task.id;
  prefetched = { after, promise: api('POST', `/api/v1/jobs/${jobId}/tasks/next?html=1&after=${after}`).catch(() => null) };
}

function showEmpty() {
  task = null;
  $('task').hidden = true;
  $('empty').hidden = false;
  $('empty-text').textContent = done
    ? `Nothing is left for you in this job. You judged ${done} item${done === 1 ? '' : 's'}; thank you.`
    : 'Nothing is left for you in this job: every item has its judgments, or you have judged or skipped what is left.';
  $('empty-back').hidden = done === 0;
  left = 0;
  showProgress();
  tick();
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
  if (r === null) { showEmpty(); return; }
  task = r.task;
  renderTask();
  prefetch();
}

function missing() {
  return job.questions.filter((q) => q.required !== false && !answered(q));
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// The answers as sent: an optional text left as it was prefilled is no
// answer (and no demonstration), so it is left out.
function answersBody() {
  const out = {};
  for (const q of job.questions) {
    if (answers[q.name] === undefined) continue;
    if (q.type === 'text' && q.required === false && (q.prefill || 'none') !== 'none' && answers[q.name] === prefill(q)) continue;
    out[q.name] = answers[q.name];
  }
  return out;
}

async function submit() {
  if (busy || !task) return;
  const lack = missing();
  if (lack.length) {
    setStatus(`Answer ${lack.map(titleOf).join('; ')} first.`, 'error', 'missing');
    views.forEach((v) => v.fs.classList.toggle('missing', lack.includes(v.q)));
    focusQuestion(job.questions.indexOf(lack[0]));
    return;
  }
  if (revising) { await saveRevision(); return; }
  busy = true;
  const body = { answers: answersBody(), timing: timing() };
  const comment = $('comment').value.trim();
  if (comment) body.comment = comment;
  const state = $('save-state');
  state.className = 'save-state';
  state.textContent = 'Saving…';
  const item = task.item.id;
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
    dropDraft(task.id);
    counted(true);
    saved(`✓ Saved your judgment of item ${item}. Z reopens it.`);
    state.className = 'save-state';
    state.textContent = '';
    setStatus('');
    await next(task.id);
  } catch (e) {
    state.className = 'save-state error';
    state.textContent = e.field ? `${e.message} (${e.field})` : e.message;
    if (e.status === 409 || e.status === 404) {
      dropDraft(task.id);
      setStatus(`${e.message} Moving on.`, 'error');
      await next(task.id);
    }
  } finally {
    busy = false;
  }
}

async function skip(reason) {
  if (busy || !task || revising) return;
  busy = true;
  try {
    await api('POST', `/api/v1/tasks/${task.id}/skip`, reason ? { reason } : {});
    dropDraft(task.id);
    counted(false);
    saved(`Skipped item ${task.item.id}.`);
    await next(task.id);
  } catch (e) {
    setStatus(e.message, 'error');
  } finally {
    busy = false;
  }
}

// ---- flags ----

const FLAG_NAMES = { broken: 'broken', unsafe: 'unsafe', needs_expertise: 'needs expertise', other: 'other' };
function renderFlags(flags) {
  $('flag-state').textContent = flags.length
    ? `Flagged: ${flags.map((f) => FLAG_NAMES[f.kind] + (f.note ? ` (${f.note})` : '')).join(', ')}.` : '';
}
function openFlag() {
  if (!task) return;
  $('flag-form').reset();
  $('flag-error').hidden = true;
  flagKindChanged();
  open('flag-dialog');
  $('flag-form').querySelector('input[name="flag-kind"]:checked').focus();
}
function flagKindChanged() {
  const other = $('flag-form').querySelector('input[name="flag-kind"]:checked').value === 'other';
  $('flag-note-hint').textContent = other ? '(needed for "something else")' : '(optional)';
  $('flag-note').required = other;
}
$('flag-form').addEventListener('change', flagKindChanged);
$('flag-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const kind = $('flag-form').querySelector('input[name="flag-kind"]:checked').value;
  const note = $('flag-note').value.trim();
  try {
    const r = await api('POST', `/api/v1/tasks/${task.id}/flag`, note ? { kind, note } : { kind });
    task.flags = r.flags;
    renderFlags(r.flags);
    close('flag-dialog');
  } catch (e) {
    $('flag-error').textContent = e.message;
    $('flag-error').hidden = false;
  }
});
$('flag-form').addEventListener('keydown', (ev) => {
  // 1…4 pick the kind while the note is not being typed.
  if (ev.target.id === 'flag-note' || !/^[1-4]$/.test(ev.key)) return;
  const r = $('flag-form').querySelectorAll('input[name="flag-kind"]')[Number(ev.key) - 1];
  r.checked = true;
  r.focus();
  flagKindChanged();
  ev.preventDefault();
});

// ---- history: the labeler's own judgments, reopened and revised ----

let mine = { rows: [], next: null, loaded: false };
async function loadHistory(more = false) {
  const q = more && mine.next ? `?before=${mine.next}` : '';
  const r = await api('GET', `/api/v1/jobs/${jobId}/judgments/mine${q}`);
  mine = { rows: more ? mine.rows.concat(r.judgments) : r.judgments, next: r.next, loaded: true };
  return mine;
}
const revisable = (g) => job.status === 'open' && g.review !== 'rejected';
function historyState(g) {
  const parts = [new Date(Date.parse(g.updated_at)).toLocaleString()];
  if (g.revision > 1) parts.push(`revision ${g.revision}`);
  if (g.review) parts.push(g.review);
  if (g.comment) parts.push('commented');
  return parts.join(' · ');
}
function renderHistory() {
  $('history-list').replaceChildren(...(mine.rows.length ? mine.rows.map((g) => el('li', {},
    el('div', { class: 'grow' }, el('strong', { text: g.item_id }), ' ', el('span', { class: 'muted', text: historyState(g) }),
      el('div', { class: 'history-excerpt', dir: 'auto', text: g.excerpt })),
    el('button', { type: 'button', class: 'secondary', 'aria-label': `Reopen your judgment of ${g.item_id}`,
      ...(revisable(g) ? {} : { disabled: '', title: g.review === 'rejected' ? 'rejected in review' : 'the job is not open' }),
      onclick: () => { close('history'); reopen(g.task_id); } }, 'Reopen')))
    : [el('li', { class: 'muted', text: 'No judgments yet.' })]));
  $('history-more').hidden = !mine.next;
}
async function openHistory() {
  open('history');
  $('close-history').focus();
  $('history-status').textContent = 'Loading…';
  try {
    await loadHistory();
    renderHistory();
    $('history-status').textContent = '';
  } catch (e) { $('history-status').textContent = e.message; }
}
$('history-more').addEventListener('click', async () => {
  try { await loadHistory(true); renderHistory(); } catch (e) { $('history-status').textContent = e.message; }
});

// Z: the judgment before the one on screen (the newest when a task is).
async function back() {
  if (busy) return;
  try {
    if (!mine.loaded || !revising) await loadHistory();
    let i = revising ? mine.rows.findIndex((g) => g.task_id === task.id) + 1 : 0;
    while (i >= 0 && i < mine.rows.length && !revisable(mine.rows[i])) i++;
    if (i >= mine.rows.length && mine.next) { await loadHistory(true); return back(); }
    if (i < 0 || i >= mine.rows.length) {
      setStatus(mine.rows.length ? 'No earlier judgment can be changed.' : 'You have no judgments in this job yet.');
      return;
    }
    await reopen(mine.rows[i].task_id);
  } catch (e) { setStatus(e.message, 'error'); }
}

async function reopen(taskId) {
  if (busy) return;
  busy = true;
  try {
    const r = await api('GET', `/api/v1/tasks/${taskId}?html=1`);
    if (!r.judgment) throw new Error('That task has no judgment to change.');
    if (!revising) { held = task; heldClock = { ...clock, at: performance.now() }; }
    revising = { judgment: r.judgment };
    task = r.task;
    saved('');
    renderTask();
  } catch (e) {
    setStatus(e.message, 'error');
  } finally {
    busy = false;
  }
}

// Back to the task the revision stood in front of (or to what is next).
// The task's clock stands still while a revision is on screen.
let heldClock = null;
async function leaveRevision() {
  revising = null;
  task = held;
  held = null;
  if (task) {
    renderTask();
    const now = performance.now();
    Object.assign(clock, heldClock, { shown: heldClock.shown + (now - heldClock.at), last: now, input: now });
    $('save-state').textContent = '';
    return;
  }
  await next();
}

async function saveRevision() {
  busy = true;
  const g = revising.judgment;
  const state = $('save-state');
  state.className = 'save-state';
  state.textContent = 'Saving…';
  try {
    const r = await api('PUT', `/api/v1/judgments/${g.id}`, { answers: answersBody(), comment: $('comment').value.trim() });
    const now = r.judgment;
    mine.loaded = false;
    busy = false;
    await leaveRevision();
    saved(now.revision > g.revision ? `✓ Saved your changes to item ${g.item_id} (revision ${now.revision}).`
      : `✓ Item ${g.item_id}: nothing changed.`);
  } catch (e) {
    state.className = 'save-state error';
    state.textContent = e.field ? `${e.message} (${e.field})` : e.message;
  } finally {
    busy = false;
  }
}

// ---- keys and dialogs ----

function open(id) { $(id).hidden = false; }
function close(id) { $(id).hidden = true; }
const DIALOGS = ['help', 'skip-dialog', 'flag-dialog', 'history'];

document.addEventListener('keydown', (ev) => {
  const typing = ev.target instanceof HTMLTextAreaElement || ev.target instanceof HTMLInputElement && ev.target.type === 'text' || ev.target.id === 'skip-reason' || ev.target.id === 'flag-note';
  const dialog = DIALOGS.find((d) => !$(d).hidden);
  if (ev.key === 'Escape') {
    if (dialog) close(dialog);
    else if (typing) ev.target.blur();
    else if (revising) leaveRevision();
    return;
  }
  if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey) && !dialog) { ev.preventDefault(); submit(); return; }
  if (typing || dialog || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  if (ev.key === 'z' || ev.key === 'Z') { back(); ev.preventDefault(); return; }
  if (!task) return;
  if (ev.key === '?') { open('help'); $('close-help').focus(); ev.preventDefault(); return; }
  if ((ev.key === 's' || ev.key === 'S') && !revising) {
    open('skip-dialog');
    $('skip-reason').value = '';
    $('skip-reason').focus();
    ev.preventDefault();
    return;
  }
  if (ev.key === 'f' || ev.key === 'F') { openFlag(); ev.preventDefault(); return; }
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
$('flag').addEventListener('click', openFlag);
$('flag-cancel').addEventListener('click', () => close('flag-dialog'));
$('back').addEventListener('click', back);
$('empty-back').addEventListener('click', back);
$('show-history').addEventListener('click', openHistory);
$('close-history').addEventListener('click', () => close('history'));
$('revise-cancel').addEventListener('click', leaveRevision);
$('submit').addEventListener('click', submit);
$('comment').addEventListener('input', saveDraft);
function showInstructions(show) {
  $('instructions').hidden = !show;
  $('show-instructions').setAttribute('aria-expanded', String(show));
}
$('show-instructions').addEventListener('click', () => showInstructions($('instructions').hidden));

// The instructions open by themselves the first time a labeler opens the
// job, and again when they have changed since (a hash of the text is kept
// in localStorage).
function hashOf(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h.toString(16);
}
function instructionsFirstTime() {
  const key = `arbiter.instructions.${jobId}`, now = hashOf(job.instructions || '');
  let seen = null;
  try { seen = localStorage.getItem(key); localStorage.setItem(key, now); } catch (e) { /* private mode */ }
  if (seen === now || !job.instructions) return;
  if (seen !== null) $('instructions').prepend(el('p', { class: 'notice', text: 'The instructions changed since you last read them.' }));
  showInstructions(true);
}

async function init() {
  await me();
  job = (await api('GET', `/api/v1/jobs/${jobId}`)).job;
  $('job-name').textContent = job.name;
  done = job.my_judgments;
  left = job.my_left;
  showProgress();
  document.title = `${job.name} · Arbiter`;
  // instructions_html comes from the server's CommonMark renderer in safe
  // mode (raw HTML dropped), the one HTML this page inserts.
  const box = $('instructions');
  box.innerHTML = job.instructions_html || '<p>No instructions.</p>';
  instructionsFirstTime();
  await next();
}

init().catch((e) => setStatus(e.message, 'error'));
