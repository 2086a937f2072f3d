// charts.js: the report's charts as inline SVG, drawn here (no library,
// nothing fetched): a heat map, ratings with interval bars, histograms.
// Text goes in as textContent; every chart has a label for screen readers
// and the same numbers are in tables next to it.

const NS = 'http://www.w3.org/2000/svg';

function svg(w, h, label) {
  const s = document.createElementNS(NS, 'svg');
  s.setAttribute('viewBox', `0 0 ${w} ${h}`);
  s.setAttribute('width', String(w));
  s.setAttribute('role', 'img');
  s.setAttribute('aria-label', label);
  s.setAttribute('class', 'chart');
  return s;
}

function node(parent, tag, attrs, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  parent.append(n);
  return n;
}

const fmt = (v, d = 2) => (v === null || v === undefined ? '–' : Number(v).toFixed(d));

// Win rate 0..1 as a colour: red below one half, blue above, white at it.
// The end colours are light enough for dark labels (contrast over 5:1).
function heat(v) {
  const t = Math.max(-1, Math.min(1, (v - 0.5) * 2));
  const mix = (a, b) => Math.round(a + (b - a) * Math.abs(t));
  return t < 0 ? `rgb(${mix(255, 239)},${mix(255, 100)},${mix(255, 100)})`
    : `rgb(${mix(255, 96)},${mix(255, 140)},${mix(255, 230)})`;
}

// models: names; rates: [{model, opponent, win_rate, n}]. Row beats column.
export function heatMap(models, rates) {
  const cell = 56, left = 110, top = 90, w = left + cell * models.length + 10, h = top + cell * models.length + 10;
  const s = svg(w, h, `Win rate of each model (row) against each other (column), ${models.length} models`);
  const by = new Map(rates.map((r) => [`${r.model}\u0000${r.opponent}`, r]));
  models.forEach((m, i) => {
    node(s, 'text', { x: left - 6, y: top + i * cell + cell / 2 + 4, 'text-anchor': 'end' }, m);
    node(s, 'text', { x: left + i * cell + cell / 2, y: top - 8, 'text-anchor': 'start',
      transform: `rotate(-40 ${left + i * cell + cell / 2} ${top - 8})` }, m);
    models.forEach((o, j) => {
      const r = by.get(`${m}\u0000${o}`), x = left + j * cell, y = top + i * cell;
      node(s, 'rect', { x, y, width: cell - 2, height: cell - 2, fill: r ? heat(r.win_rate) : '#f3f4f6' });
      if (r) node(s, 'text', { x: x + cell / 2 - 1, y: y + cell / 2 + 4, 'text-anchor': 'middle' }, fmt(r.win_rate));
    });
  });
  return s;
}

// rows: [{model, rating, ci: [lo, hi]}], best first: dots with interval bars.
export function intervals(rows, label) {
  const rowH = 28, left = 110, right = 20, top = 16, width = 520;
  const vals = rows.flatMap((r) => [r.rating, ...(r.ci || [])]).filter((v) => v !== null && v !== undefined);
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (hi - lo < 1) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.08;
  lo -= pad; hi += pad;
  const h = top + rows.length * rowH + 30;
  const x = (v) => left + ((v - lo) / (hi - lo)) * (width - left - right);
  const s = svg(width, h, label);
  // About five ticks, at 1, 2 or 5 times a power of ten.
  const raw = (hi - lo) / 5, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = raw / mag >= 5 ? 5 * mag : raw / mag >= 2 ? 2 * mag : mag;
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) {
    node(s, 'line', { x1: x(t), x2: x(t), y1: top - 6, y2: h - 24, class: 'grid' });
    node(s, 'text', { x: x(t), y: h - 8, 'text-anchor': 'middle' }, String(Math.round(t)));
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH + rowH / 2;
    node(s, 'text', { x: left - 8, y: y + 4, 'text-anchor': 'end' }, r.model);
    if (r.ci && r.ci[0] !== null) node(s, 'line', { x1: x(r.ci[0]), x2: x(r.ci[1]), y1: y, y2: y, class: 'ci' });
    node(s, 'circle', { cx: x(r.rating), cy: y, r: 5, class: 'dot' });
  });
  return s;
}

// hist: {"1": n, ...} in scale order: a bar per point.
export function histogram(hist, label) {
  const keys = Object.keys(hist), w = 240, h = 120, base = 96, barW = (w - 20) / keys.length;
  const max = Math.max(1, ...keys.map((k) => hist[k]));
  const s = svg(w, h, label);
  node(s, 'line', { x1: 10, x2: w - 10, y1: base, y2: base, class: 'axis' });
  keys.forEach((k, i) => {
    const bh = Math.round((hist[k] / max) * 80), x = 10 + i * barW;
    node(s, 'rect', { x: x + 2, y: base - bh, width: barW - 4, height: bh, class: 'bar' });
    node(s, 'text', { x: x + barW / 2, y: base + 14, 'text-anchor': 'middle' }, k);
    if (hist[k]) node(s, 'text', { x: x + barW / 2, y: base - bh - 3, 'text-anchor': 'middle' }, String(hist[k]));
  });
  return s;
}
