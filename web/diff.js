// diff.js: a word-level diff of an edited text against its original, for
// the text editor's "changes" view. Tokens are words and the whitespace
// between them; the common head and tail are cut first (edits are mostly
// local), then the middle is aligned by a longest common subsequence. A
// middle too large to align quickly is shown as one deletion and one
// insertion. Returns [[op, text], ...] with op '=' kept, '-' deleted,
// '+' inserted; adjacent runs of one op are merged.

const MAX_CELLS = 2_000_000;

const tokens = (s) => s.match(/\s+|[^\s]+/g) || [];

function push(out, op, text) {
  if (!text) return;
  const last = out[out.length - 1];
  if (last && last[0] === op) last[1] += text;
  else out.push([op, text]);
}

export function diffWords(before, after) {
  const a = tokens(before), b = tokens(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head &&
         a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const out = [];
  push(out, '=', a.slice(0, head).join(''));
  const x = a.slice(head, a.length - tail), y = b.slice(head, b.length - tail);
  const n = x.length, m = y.length;
  if (n * m > MAX_CELLS) {
    push(out, '-', x.join(''));
    push(out, '+', y.join(''));
  } else {
    // lcs[i * (m + 1) + j]: the LCS length of x[i..] and y[j..].
    const w = m + 1, lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1] + 1
          : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    let i = 0, j = 0;
    while (i < n && j < m) {
      if (x[i] === y[j]) { push(out, '=', x[i]); i++; j++; }
      else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) push(out, '-', x[i++]);
      else push(out, '+', y[j++]);
    }
    while (i < n) push(out, '-', x[i++]);
    while (j < m) push(out, '+', y[j++]);
  }
  push(out, '=', a.slice(a.length - tail).join(''));
  return out;
}
