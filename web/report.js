// report.js: a job's human-evaluation report for leads (docs/reports.md):
// the decision, per question the win-rate heat map, Bradley-Terry ratings
// with their intervals, ratings per model, agreement, and the labelers.
// Every chart has its numbers in a table too.
import { api } from './api.js';
import { $, el } from './dom.js';
import { heatMap, histogram, intervals } from './charts.js';
import { shell, showError } from './shell.js';

const jobId = document.body.dataset.job;
const f = (v, d = 3) => (v === null || v === undefined ? '–' : Number(v).toFixed(d));
const ci = (c) => (c ? `${f(c[0])} – ${f(c[1])}` : '–');
const pct = (v) => (v === null || v === undefined ? '–' : `${(100 * v).toFixed(1)}%`);

function table(caption, heads, rows) {
  return el('div', { class: 'table-wrap' }, el('table', {},
    el('caption', { text: caption }),
    el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c, i) => (i === 0
      ? el('th', { scope: 'row', text: String(c) }) : el('td', { class: 'num', text: String(c) }))))))));
}

function agreement(a) {
  if (!a) return [];
  return [el('p', {}, el('strong', { text: 'Agreement: ' }),
    `Krippendorff's alpha (${a.level}) ${a.alpha === null && a.alpha_undefined ? `undefined (${a.alpha_undefined})` : f(a.alpha)}`
    + `${a.alpha_ci ? ` (95% interval ${ci(a.alpha_ci)})` : ''}, percent agreement ${pct(a.percent)}, `
    + `Fleiss' kappa ${a.fleiss_kappa !== null ? `${f(a.fleiss_kappa)}${a.fleiss_kappa_ci ? ` (${ci(a.fleiss_kappa_ci)})` : ''}` : a.units ? 'n/a (items have different numbers of labelers)' : 'n/a'}; `
    + `${a.units} units with two or more labels.`)];
}

function comparisons(q, models) {
  const out = [];
  const bt = [...q.bradley_terry].sort((a, b) => a.component - b.component || b.rating - a.rating);
  const seen = models.filter((m) => q.overall.some((o) => o.model === m));
  if (seen.length >= 2) out.push(el('h4', { text: 'Win rate, row against column' }), heatMap(seen, q.win_rates));
  // What must be known before reading the ratings: sets never compared,
  // groups that won every comparison with another.
  for (const n of (q.bt && q.bt.notes) || []) out.push(el('p', { class: 'notice', text: n }));
  const sets = q.bt ? q.bt.components.length : 1;
  if (bt.length) {
    out.push(el('h4', { text: 'Bradley–Terry ratings (Elo scale) with 95% intervals' }),
      intervals(bt.map((r) => ({ model: sets > 1 ? `${r.model} (set ${r.component + 1})` : r.model, rating: r.rating, ci: r.ci })),
        `Bradley-Terry ratings of ${bt.length} models with intervals`),
      table('Ratings', ['Model', ...(sets > 1 ? ['Set'] : []), 'Rating', '95% interval', 'Rank (from the tests)'],
        bt.map((r) => [r.model, ...(sets > 1 ? [r.component + 1] : []), f(r.rating, 0),
          r.ci ? `${f(r.ci[0], 0)} – ${f(r.ci[1], 0)}` : '–', r.rank ?? '–'])));
  }
  if (q.differences && q.differences.length) {
    out.push(table('Every pair: the difference of ratings, its 95% interval, and a test (Holm-adjusted over the pairs)',
      ['Pair', 'Difference', '95% interval', 'p', 'p (Holm)', 'Significant'],
      q.differences.map((d) => [`${d.model} − ${d.opponent}`, f(d.difference, 0),
        d.ci ? `${f(d.ci[0], 0)} – ${f(d.ci[1], 0)}` : '–', f(d.p, 4), f(d.p_holm, 4),
        d.significant === null ? '–' : d.significant ? 'yes' : 'no'])));
  }
  out.push(table('Overall win rate (ties count half; intervals count items, not judgments, as independent)',
    ['Model', 'Wins', 'Losses', 'Ties', 'Win rate', '95% interval', 'Design effect'],
    q.overall.map((r) => [r.model, r.wins, r.losses, r.ties, f(r.win_rate), ci(r.ci), f(r.design_effect, 2)])));
  const pb = q.position_bias;
  out.push(el('p', {}, el('strong', { text: 'Position bias: ' }), pb.decided
    ? `the response shown first won ${pct(pb.rate)} of ${pb.decided} decisions (95% interval ${ci(pb.ci)}; `
      + `p = ${f(pb.p, 4)}, ${pb.significant ? 'a significant bias' : 'no significant bias'}).`
    : 'no decisions yet.'));
  return out;
}

function question(q, models) {
  const sec = el('section', { class: 'panel', 'aria-label': `Question ${q.name}` },
    el('h2', { text: `${q.name} (${q.type})` }), el('p', { class: 'muted', text: `${q.answers} answers.` }));
  if (q.type === 'pairwise' || q.type === 'rank') sec.append(...comparisons(q, models));
  if (q.type === 'pairwise') sec.append(el('p', { text: `Ties: ${q.ties}; both bad: ${q.both_bad}.` }));
  if (q.type === 'rank') {
    sec.append(table('Ranks', ['Model', 'Mean rank', 'Top-1 rate', '95% interval'],
      q.ranks.map((r) => [r.model, f(r.mean_rank, 2), f(r.top1_rate), ci(r.top1_ci)])));
  }
  if (q.type === 'rating') {
    const thumbs = q.scale === 'thumbs';
    sec.append(el('div', { class: 'charts' }, ...q.models.map((m) => el('figure', {},
      histogram(m.histogram, `${q.name}: histogram of ${m.model}`),
      el('figcaption', { text: thumbs ? `${m.model}: ${pct(m.thumbs_up_rate)} up (${ci(m.ci)})`
        : `${m.model}: mean ${f(m.mean, 2)}, median ${f(m.median, 1)}` })))));
    sec.append(thumbs
      ? table('Thumbs', ['Model', 'n', 'Up', 'Up rate', '95% interval'], q.models.map((m) => [m.model, m.n, m.up, f(m.thumbs_up_rate), ci(m.ci)]))
      : table('Scores', ['Model', 'n', 'Items', 'Mean', 'Median', '95% interval of the mean (t, items as clusters)'],
        q.models.map((m) => [m.model, m.n, m.items, f(m.mean, 2), f(m.median, 1), ci(m.ci)])));
    if (q.paired && q.paired.length) {
      sec.append(table('Two models on the same items: Wilcoxon signed-rank test of their mean scores (Holm-adjusted)',
        ['Pair', 'Items', 'Mean difference', 'p', 'p (Holm)', 'Significant'],
        q.paired.map((d) => [`${d.model} − ${d.opponent}`, d.items, f(d.mean_difference, 2), d.p === null ? d.why : f(d.p, 4),
          f(d.p_holm, 4), d.significant === null ? '–' : d.significant ? 'yes' : 'no'])));
    }
  }
  if (q.type === 'labels') {
    sec.append(table('Labels', ['Label', 'Count', 'Share of answers'], q.labels.map((l) => [l.label, l.count, pct(l.rate)])));
  }
  if (q.type === 'text') {
    sec.append(el('p', { text: `${q.edited} edited or written texts (${f(q.mean_chars, 0)} characters on average); `
      + `${q.unchanged} left as a response's text; ${q.unanswered} not answered.` }));
  }
  sec.append(...agreement(q.agreement));
  return sec;
}

function decision(d) {
  $('decision').hidden = !d;
  if (!d) return;
  $('decision-body').replaceChildren(
    el('p', {}, el('span', { class: d.pass ? 'pass' : 'fail', text: d.pass ? 'PASS' : 'FAIL' })),
    el('ul', {}, ...d.checks.map((c) => el('li', { text: c.check === 'alpha'
      ? `alpha of ${c.question}: ${f(c.alpha)} against at least ${c.threshold} — ${c.pass ? 'pass' : 'fail'}${c.why ? ` (${c.why})` : ''}`
      : c.check === 'no_position_bias'
        ? `no significant position bias on ${c.question}: first shown won ${pct(c.rate)} of ${c.decided ?? 0} (p = ${f(c.p, 4)}) — ${c.pass ? 'pass' : 'fail'}${c.why ? ` (${c.why})` : ''}`
      : `${c.candidate ?? ''} against ${c.baseline ?? ''} on ${c.question}: win rate ${f(c.win_rate)}, lower bound ${c.ci ? f(c.ci[0]) : '–'} against at least ${c.threshold} — ${c.pass ? 'pass' : 'fail'}${c.why ? ` (${c.why})` : ''}` }))));
}

// Model judges: each against the people's consensus, its position bias,
// and its win rates beside the people's.
function judges(r) {
  $('judges').hidden = !r.judges.length;
  if (!r.judges.length) return;
  const rows = [];
  for (const g of r.judges) {
    for (const q of g.questions) {
      const a = q.agreement_with_people;
      if (a) rows.push([g.judge, q.name, a.units, pct(a.accuracy), ci(a.accuracy_ci), f(a.kappa)]);
    }
  }
  const out = [table("Each judge against the people's consensus (the unique most common answer of an item's labelers)",
    ['Judge', 'Question', 'Units', 'Accuracy', '95% interval', "Cohen's kappa"], rows),
  table('Position bias of each judge', ['Judge', 'Judgments', 'Items the people judged', 'First shown chosen', 'p', 'Biased'],
    r.judges.map((g) => [g.judge, g.judgments, g.items_with_people,
      g.position_bias ? `${pct(g.position_bias.rate)} of ${g.position_bias.decided}` : '–',
      g.position_bias ? f(g.position_bias.p, 4) : '–', g.position_bias ? (g.position_bias.biased ? 'yes' : 'no') : '–']))];
  r.questions.forEach((q, qi) => {
    if (!q.overall || !q.overall.length) return;
    const rate = (list, m) => { const o = (list || []).find((x) => x.model === m); return o ? `${f(o.win_rate)} (${ci(o.ci)})` : '–'; };
    out.push(table(`${q.name}: overall win rate, the people and each judge`, ['Model', 'People', ...r.judges.map((g) => g.judge)],
      q.overall.map((o) => [o.model, rate(q.overall, o.model), ...r.judges.map((g) => rate(g.questions[qi].overall, o.model))])));
  });
  $('judges-body').replaceChildren(...out);
}

function query() {
  const v = $('filter').value.trim();
  const m = v.match(/^([^=\s]+)\s*=\s*(.*)$/);
  return m ? `?metadata.${encodeURIComponent(m[1])}=${encodeURIComponent(m[2])}` : '';
}

async function load() {
  const q = query();
  $('json-link').href = `/api/v1/jobs/${jobId}/report${q}`;
  $('jsonl-link').href = `/api/v1/jobs/${jobId}/report${q ? `${q}&` : '?'}format=jsonl`;
  $('status').className = '';
  $('status').textContent = 'Computing the report…';
  const { report: r } = await api('GET', `/api/v1/jobs/${jobId}/report${q}`);
  $('status').textContent = '';
  document.title = `Report: ${r.job.name} · Arbiter`;
  $('title').textContent = `Report: ${r.job.name}`;
  decision(r.decision);
  $('warnings').replaceChildren(...(r.warnings || []).map((w) => el('p', { class: 'notice', role: 'note', text: w })));
  $('summary').replaceChildren(...[['Items', r.items], ['Judgments', r.judgments], ['Models', r.models.length],
    ['Bootstrap samples', r.bootstrap.samples]].map(([k, v]) => el('div', { class: 'count' },
    el('span', { class: 'n', text: String(v) }), el('span', { class: 'muted', text: k }))));
  $('questions').replaceChildren(...r.questions.map((x) => question(x, r.models)));
  $('labelers').querySelector('tbody').replaceChildren(...r.labelers.map((l) => el('tr', {},
    el('th', { scope: 'row', text: l.labeler }), el('td', { class: 'num', text: String(l.judgments) }),
    el('td', { class: 'num', text: String(l.skips) }), el('td', { class: 'num', text: f(l.median_seconds, 1) }),
    el('td', { class: 'num', text: f(l.median_active_seconds, 1) }),
    el('td', { class: 'num', text: pct(l.agreement) }),
    el('td', { class: 'num', text: l.gold_answers ? `${pct(l.gold_accuracy)} of ${l.gold_answers}` : '–' }),
    el('td', { class: 'num', text: l.position_bias ? `${pct(l.position_bias.rate)} of ${l.position_bias.decided}` : '–' }),
    el('td', { text: Object.entries(l.competence || {}).map(([q, v]) => `${q}: ${pct(v)}`).join('; ') || '–' }),
    el('td', { text: l.flag ? `⚑ ${l.flag_reason}` : '' }))));
  judges(r);
}

$('filter-form').addEventListener('submit', (ev) => { ev.preventDefault(); load().catch((e) => showError($('status'), e)); });
$('back').href = `/jobs/${jobId}`;
shell().then(load).catch((e) => showError($('status'), e));
