// run.mjs: browser tests of `make check`. Debian's chromium, driven by
// playwright-core, against the real binary on a loopback port with a
// temporary database. Each test checks the database, not only the page.
// Screenshots go to tests/screenshots/ (git-ignored). Prints
// "N passed, M failed" like the other suites.
import { chromium, firefox } from 'playwright-core';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import assert from 'node:assert/strict';

const args = process.argv.slice(2);
const BINARY = resolve(args[args.indexOf('--binary') + 1] || './arbiter');
const SHOTS = resolve('tests/screenshots');
const PASSWORD = 'browser test password';
mkdirSync(SHOTS, { recursive: true });

function cli(db, argv, input) {
  const p = spawnSync(BINARY, [...argv, '--db', db, '--pwhash-mem', '8', '--pwhash-ops', '1'],
    { input, encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`arbiter ${argv.join(' ')}: ${p.stderr}`);
  return p.stdout.trim();
}

function sql(db, query) {
  const p = spawnSync('sqlite3', ['-json', db, query], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`sqlite3: ${p.stderr}`);
  return p.stdout.trim() ? JSON.parse(p.stdout) : [];
}

const freePort = () => new Promise((res) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
});

// A server on a fresh database with CLI-made users, or (users: false) none:
// then `serve` makes the first-run admin as `make run` does, and out()
// holds what it printed (the one-time password).
async function startServer({ users = true } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'arbiter-browser-'));
  const db = join(dir, 'arbiter.db');
  if (users) for (const [u, role] of [['admin', 'admin'], ['lead', 'lead'], ['lab', 'labeler']]) cli(db, ['user', 'add', u, '--role', role], `${PASSWORD}\n`);
  const port = await freePort();
  const proc = spawn(BINARY, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--pwhash-mem', '8', '--pwhash-ops', '1'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '', out = '';
  proc.stderr.on('data', (d) => { log += d; });
  proc.stdout.on('data', (d) => { out += d; });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch (e) { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { dir, db, base, proc, log: () => log, out: () => out, stop() { proc.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); } };
}

// Creates a job through the CLI (config, items), with lab as its member,
// and opens it; returns its id.
function cliJob(s, name, config, items) {
  const jobFile = join(s.dir, `${name}.json`), itemsFile = join(s.dir, `${name}.jsonl`);
  writeFileSync(jobFile, JSON.stringify({ overlap: 1, lease_seconds: 600, randomize_order: false, ...config }));
  const job = cli(s.db, ['job', 'create', '--file', jobFile, '--owner', 'lead']);
  writeFileSync(itemsFile, items.map((i) => JSON.stringify(i)).join('\n') + '\n');
  cli(s.db, ['job', 'import', job, itemsFile]);
  cli(s.db, ['job', 'members', job, 'lab']);
  cli(s.db, ['job', 'open', job]);
  return job;
}

// A job with a pairwise and a rating question; item 1 carries hostile text.
const makeJob = (s) => cliJob(s, 'job', {
  name: 'Helpfulness A/B', instructions: '# Read both\nPick the **more helpful** answer.',
  questions: [{ name: 'better', type: 'pairwise', allow_tie: true },
    { name: 'quality', type: 'rating', scale: { min: 1, max: 5 } }],
}, [
  { id: 'x1', prompt: 'Say hi <b>bold</b>', responses: [
    { id: 'a', model: 'm1', text: 'Hello <script>window.__pwned = 1</script> there' },
    { id: 'b', model: 'm2', text: '<img src=x onerror="window.__pwned = 2"> and ```\ncode <i>\n```' }] },
  { id: 'x2', prompt: 'Explain `ls`', responses: [
    { id: 'a', model: 'm1', text: 'Lists files.\n\n```sh\nls -la\n```' },
    { id: 'b', model: 'm2', text: '- one\n- two' }] },
  { id: 'x3', prompt: 'Third', responses: [{ id: 'a', text: 'A3' }, { id: 'b', text: 'B3' }] },
]);

// A job with a rank question (ties allowed), a text question that starts
// from the labeler's favourite response, and a 0-10 overall rating.
const makeRankJob = (s) => cliJob(s, 'rank', {
  name: 'Rank and rewrite', instructions: 'Rank, then improve the best.',
  questions: [{ name: 'order', type: 'rank', allow_ties: true },
    { name: 'rewrite', type: 'text', prefill: 'best', min_chars: 1 },
    { name: 'overall', type: 'rating', scale: { min: 0, max: 10 }, per_response: false }],
}, [1, 2].map((n) => ({ id: `r${n}`, prompt: `Rank set ${n}`,
  responses: ['a', 'b', 'c'].map((id) => ({ id, text: `Answer ${id.toUpperCase()}${n} is here.` })) })));

// Debian's chromium, and Debian's Firefox ESR through WebDriver BiDi
// (playwright-core's "moz-firefox" channel): --browsers chromium,firefox.
const BROWSERS = {
  chromium: () => chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox',
    '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] }),
  firefox: () => firefox.launch({ channel: 'moz-firefox', executablePath: '/usr/bin/firefox-esr', headless: true }),
};
let SHOT = ''; // file name prefix of the browser under test
// Page errors, less Firefox's report of the style Playwright injects for a
// screenshot (refused by the pages' CSP; this hash is that style's).
const PW_STYLE = 'sha256-YjaKGiklmzC6wjXA513HAMmzus8VE61XCOT+SmwNZWA=';
const collect = (page, errors) => page.on('pageerror', (e) => { if (!String(e).includes(PW_STYLE)) errors.push(String(e)); });

// A page in a fresh context: its errors collected, its dialogs (confirm)
// accepted.
async function newPage(browser, height = 900) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height } });
  const page = await ctx.newPage();
  const errors = [];
  collect(page, errors);
  page.on('dialog', (d) => d.accept());
  return { ctx, page, errors };
}
// The caret is left as it is: hiding it injects an inline style, which the
// pages' Content-Security-Policy refuses (and Firefox reports).
// Every page screenshot is also audited (see audit()).
async function shot(page, name, fullPage = false) {
  await page.screenshot({ path: join(SHOTS, SHOT + name), fullPage, caret: 'initial' });
  assert.deepEqual(await audit(page), [], `WCAG audit of ${name}`);
}

// Nothing widens a page past a 390 px phone: wide tables and code scroll
// inside their own frames.
async function narrow(page, name) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= 390, `${name} is ${w} px wide at 390`);
}

// NAME-desktop.png, then NAME-phone.png at a phone's width, where the
// page must not be wider than the phone; the page is left at its desktop
// size.
async function shots(page, name, fullPage = false) {
  const desk = page.viewportSize();
  await shot(page, `${name}-desktop.png`, fullPage);
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, `${name}-phone.png`, fullPage);
  await narrow(page, name);
  await page.setViewportSize(desk);
}

// WCAG checks on the page as it stands: every visible text has at least
// AA contrast against its background (4.5:1, 3:1 for large text; disabled
// controls are exempt), and every control has a name. Returns problems.
function audit(page) {
  return page.evaluate(() => {
    const problems = [];
    const rgba = (c) => { const m = c.match(/[\d.]+/g).map(Number); return m.length === 3 ? [...m, 1] : m; };
    const lum = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (node) => {
      for (let n = node; n; n = n.parentElement) {
        const c = rgba(getComputedStyle(n).backgroundColor);
        if (c[3] > 0.5) return c;
      }
      return [255, 255, 255, 1];
    };
    const visible = (n) => n.getClientRects().length > 0 && getComputedStyle(n).visibility !== 'hidden';
    for (const n of document.querySelectorAll('body *')) {
      if (!visible(n) || n.closest('[disabled], [aria-disabled="true"], :disabled')) continue;
      const text = [...n.childNodes].filter((c) => c.nodeType === 3).map((c) => c.textContent).join('').trim();
      if (!text) continue;
      const st = getComputedStyle(n);
      const fg = rgba(st.color), bg = background(n);
      const a = fg[3], mix = fg.slice(0, 3).map((v, i) => v * a + bg[i] * (1 - a));
      const [l1, l2] = [lum(mix), lum(bg)].sort((x, y) => y - x);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const size = parseFloat(st.fontSize), bold = Number(st.fontWeight) >= 700;
      const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
      if (ratio < need) problems.push(`contrast ${ratio.toFixed(2)} < ${need}: <${n.tagName.toLowerCase()}> "${text.slice(0, 30)}"`);
    }
    for (const n of document.querySelectorAll('input, select, textarea, button')) {
      if (!visible(n) || n.type === 'hidden') continue;
      const named = n.getAttribute('aria-label') || n.getAttribute('aria-labelledby') || n.closest('label') ||
        (n.id && document.querySelector(`label[for="${CSS.escape(n.id)}"]`)) || (n.tagName === 'BUTTON' && n.textContent.trim());
      if (!named) problems.push(`no name: <${n.tagName.toLowerCase()} id="${n.id}">`);
    }
    return problems;
  });
}

// Keyboard focus is visible: the focused control gets an outline.
async function focusRing(page) {
  // On a freshly loaded page the first Tab reaches the header's first link.
  await page.goto(page.url());
  await page.locator('#who-name').filter({ hasText: /./ }).waitFor();
  await page.keyboard.press('Tab');
  return page.evaluate(() => {
    const a = document.activeElement;
    if (!a || a === document.body) return 'nothing took the focus';
    const st = getComputedStyle(a);
    return st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) >= 2 ? '' : `no focus ring on <${a.tagName.toLowerCase()} ${a.id || a.className}> (focus-visible: ${a.matches(':focus-visible')}, outline ${st.outlineStyle} ${st.outlineWidth})`;
  });
}

async function login(page, base, user, password = PASSWORD) {
  await page.goto(`${base}/login`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.press('#password', 'Enter');
  await page.waitForURL(`${base}/`);
}

// A session of user's outside the browser (to set the scene through the
// API), and a call with it: { status, body }.
async function apiSession(base, user, password = PASSWORD) {
  const r = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: base },
    body: JSON.stringify({ name: user, password }) });
  const b = await r.json();
  return { base, cookie: r.headers.get('set-cookie').split(';')[0], csrf: b.csrf_token };
}
async function apiCall(who, method, path, body) {
  const r = await fetch(`${who.base}${path}`, { method, headers: { 'Content-Type': 'application/json', Origin: who.base,
    Cookie: who.cookie, 'X-CSRF-Token': who.csrf }, body: body ? JSON.stringify(body) : undefined });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}

// Signs in with a one-time password, as a new user does: the browser lands
// on the home page (no redirect loop), which asks for a new password and
// shows nothing else; choosing one leads to the home page proper.
async function firstSignIn(page, base, user, oneTime, chosen, shotName) {
  const seen = [];
  page.on('response', (r) => { if (r.request().resourceType() === 'document') seen.push(`${r.status()} ${r.url()}`); });
  await login(page, base, user, oneTime);
  await page.locator('#must-change').waitFor();
  assert.ok(seen.length <= 3, `documents loaded: ${seen.join(', ')}`);
  assert.equal(await page.locator('#mine').count(), 1);
  assert.equal(await page.locator('#mine').isHidden(), true);
  assert.equal(await page.getByRole('link', { name: 'Users' }).count(), 0);
  if (shotName) await shots(page, shotName);
  // Every other page sends the user back here, once.
  await page.goto(`${base}/tokens`);
  await page.waitForURL(`${base}/`);
  await page.locator('#must-change').waitFor();
  await page.fill('#current', oneTime);
  await page.fill('#next', chosen);
  await page.fill('#again', chosen);
  await page.click('#password-form button[type=submit]');
  await page.locator('#must-change').waitFor({ state: 'hidden' });
  await page.locator('#mine').waitFor();
  // The new password is the one that works now.
  const res = await page.evaluate(async ([u, pw]) => (await fetch('/api/v1/session', { method: 'POST',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: u, password: pw }) })).status, [user, oneTime]);
  assert.equal(res, 401);
}

const tests = {
  async 'the first-run admin and a user made on the Users page sign in with one-time passwords, choose their own and land at home'(browser) {
    const s = await startServer({ users: false });
    try {
      const m = s.out().match(/One-time password: (\S+)/);
      assert.ok(m, `no first-run password in: ${s.out()}`);
      const { ctx, page, errors } = await newPage(browser);
      await firstSignIn(page, s.base, 'admin', m[1], 'the admin chose this one', 'first-signin');
      assert.equal(await page.getByRole('link', { name: 'Users' }).count(), 1);
      await page.getByRole('link', { name: 'Users' }).click();
      await page.waitForURL(`${s.base}/admin/users`);
      await page.fill('#u-name', 'newbie');
      await page.click('#u-generate');
      const otp = await page.inputValue('#u-password');
      await page.click('#user-form button[type=submit]');
      await page.locator('#form-status').filter({ hasText: 'newbie was created' }).waitFor();
      // The form is reset; the one-time password stays on screen to copy.
      assert.equal(await page.inputValue('#u-password'), '');
      await page.locator('#otp-box').waitFor();
      assert.equal(await page.locator('#otp').innerText(), otp);
      await page.getByRole('button', { name: 'Copy' }).click();
      await page.locator('#otp-copy').filter({ hasText: /Copied|Selected/ }).waitFor();
      await shots(page, 'users-otp');
      await page.waitForTimeout(300);
      assert.equal(await page.locator('#otp').innerText(), otp);
      await page.getByRole('button', { name: 'Done' }).click();
      await page.locator('#otp-box').waitFor({ state: 'hidden' });
      // A reset shows its password the same way.
      await page.getByRole('button', { name: 'Reset the password of newbie' }).click();
      const reset = await page.inputValue('#reset-password');
      await page.click('#reset-form button[type=submit]');
      await page.locator('#otp-box').waitFor();
      assert.equal(await page.locator('#otp').innerText(), reset);
      const { ctx: ctx2, page: p2, errors: errors2 } = await newPage(browser);
      await firstSignIn(p2, s.base, 'newbie', reset, 'newbie picked this one');
      const u = sql(s.db, "SELECT must_change_password FROM users WHERE name IN ('admin', 'newbie') ORDER BY name");
      assert.deepEqual(u, [{ must_change_password: 0 }, { must_change_password: 0 }]);
      assert.deepEqual(errors, []);
      assert.deepEqual(errors2, []);
      await ctx.close();
      await ctx2.close();
    } finally {
      s.stop();
    }
  },

  async 'a labeler completes tasks with the keyboard; drafts survive a reload; a submit retried through an outage is stored once; hostile text stays text'(browser) {
    const s = await startServer();
    try {
      const job = makeJob(s);
      const { ctx, page, errors } = await newPage(browser, 800);
      await login(page, s.base, 'lab');
      await page.getByRole('link', { name: 'Start labeling Helpfulness A/B' }).waitFor();
      await shot(page, 'home-desktop.png', true);
      await page.getByRole('link', { name: 'Start labeling Helpfulness A/B' }).click();
      await page.waitForURL(`${s.base}/jobs/${job}/label`);
      await page.locator('.response').first().waitFor();

      // Task 1: hostile text is shown as text and runs nothing.
      assert.match(await page.locator('.response').nth(0).innerText(), /<script>window.__pwned = 1<\/script>/);
      assert.match(await page.locator('.response').nth(1).innerText(), /<img src=x onerror=/);
      assert.equal(await page.locator('.response img, .response script').count(), 0);
      await shot(page, 'label-desktop.png', true);
      // The audit itself finds faint text and a control without a name.
      await page.evaluate(() => {
        const p = document.createElement('p'), i = document.createElement('input');
        p.id = 'faint'; p.textContent = 'faint'; p.style.color = '#bbbbbb'; p.style.background = '#ffffff';
        i.id = 'nameless';
        document.querySelector('main').append(p, i);
      });
      const found = await audit(page);
      assert.equal(found.length, 2, found.join('; '));
      assert.match(found[0], /^contrast 1\.\d+ < 4\.5: <p> "faint"/);
      assert.match(found[1], /no name: <input id="nameless">/);
      await page.evaluate(() => { document.getElementById('faint').remove(); document.getElementById('nameless').remove(); });
      await page.keyboard.press('?');
      await page.locator('#help').waitFor();
      await shot(page, 'label-help-desktop.png');
      await page.keyboard.press('Escape');
      // Keyboard only: 1 (response 1 better), 4 and 2 (ratings), Ctrl+Enter.
      await page.keyboard.press('1');
      await page.keyboard.press('4');
      await page.keyboard.press('2');
      await page.keyboard.press('Control+Enter');
      await page.waitForFunction(() => document.getElementById('done-count').textContent === '1');
      let rows = sql(s.db, 'SELECT i.ext_id, j.answers FROM judgments j JOIN items i ON i.id = j.item_id');
      assert.equal(rows.length, 1);
      assert.equal(rows[0].ext_id, 'x1');
      assert.deepEqual(JSON.parse(rows[0].answers), { better: { winner: 'a' }, quality: { a: 4, b: 2 } });
      assert.equal(await page.evaluate(() => window.__pwned), undefined);

      // Task 2: answer part of it, reload, the draft is back.
      await page.locator('.response').first().filter({ hasText: 'Lists files.' }).waitFor();
      assert.equal(await page.locator('.response pre code').count(), 1); // the fenced code block
      await page.keyboard.press('2');
      await page.keyboard.press('5');
      await page.reload();
      await page.locator('.response').first().filter({ hasText: 'Lists files.' }).waitFor();
      assert.equal(await page.locator('button[data-value="b"][aria-pressed="true"]').count(), 1);
      assert.equal(await page.locator('button[aria-label="Response 1: 5"][aria-pressed="true"]').count(), 1);
      assert.match(await page.locator('#save-state').innerText(), /Draft restored/);
      await page.keyboard.press('3');

      // The server is unreachable for the first two tries of the submit.
      let refused = 0;
      await page.route('**/api/v1/tasks/*/judgment', (route) => {
        if (refused < 2) { refused++; return route.abort('connectionrefused'); }
        return route.continue();
      });
      await page.keyboard.press('Control+Enter');
      await page.locator('#save-state.retrying').waitFor();
      await page.waitForFunction(() => document.getElementById('done-count').textContent === '2', null, { timeout: 15000 });
      assert.equal(refused, 2);
      rows = sql(s.db, "SELECT j.answers, j.revision FROM judgments j JOIN items i ON i.id = j.item_id WHERE i.ext_id = 'x2'");
      assert.equal(rows.length, 1);
      assert.deepEqual(JSON.parse(rows[0].answers), { better: { winner: 'b' }, quality: { a: 5, b: 3 } });
      assert.equal(rows[0].revision, 1);
      await page.unroute('**/api/v1/tasks/*/judgment');

      // Task 3 at phone width, then skip it with a reason, by keyboard.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.locator('.response').first().filter({ hasText: 'A3' }).waitFor();
      await shot(page, 'label-phone.png', true);
      await narrow(page, 'label-phone.png');
      await page.keyboard.press('s');
      await page.locator('#skip-reason').waitFor();
      await page.keyboard.type('unclear prompt');
      await page.keyboard.press('Enter');
      await page.locator('#empty').waitFor();
      rows = sql(s.db, "SELECT state, skip_reason FROM tasks WHERE state = 'skipped'");
      assert.deepEqual(rows, [{ state: 'skipped', skip_reason: 'unclear prompt' }]);
      assert.equal(sql(s.db, 'SELECT count(*) AS n FROM judgments')[0].n, 2);
      await page.goto(`${s.base}/`);
      await page.getByText('2 judged by me').waitFor();
      await shot(page, 'home-phone.png', true);
      await narrow(page, 'home-phone.png');
      assert.deepEqual(errors, []);
      await ctx.close();
    } finally {
      s.stop();
    }
  },

  async 'an optional prefilled text left as it was is not sent; the time on screen counts from when a prefetched task is shown; one problem shows its message'(browser) {
    const s = await startServer();
    try {
      const job = cliJob(s, 'optional', {
        name: 'Optional fix', instructions: 'Pick, and fix only if needed.',
        questions: [{ name: 'better', type: 'pairwise' }, { name: 'fix', type: 'text', prefill: 'best', required: false }],
      }, [1, 2].map((n) => ({ id: `o${n}`, prompt: `Prompt ${n}`,
        responses: [{ id: 'a', text: `Alpha ${n}.` }, { id: 'b', text: `Beta ${n}.` }] })));
      const { ctx, page, errors } = await newPage(browser);
      await login(page, s.base, 'lab');
      await page.goto(`${s.base}/jobs/${job}/label`);
      await page.locator('.response').first().waitFor();
      // The next task is leased in the background while this one is worked on.
      for (let i = 0; i < 100 && sql(s.db, "SELECT count(*) AS n FROM tasks WHERE state = 'leased'")[0].n < 2; i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.equal(sql(s.db, "SELECT count(*) AS n FROM tasks WHERE state = 'leased'")[0].n, 2);
      await page.keyboard.press('2');
      assert.equal(await page.locator('#questions textarea').inputValue(), 'Beta 1.'); // the favourite, as it was
      await page.keyboard.press('Control+Enter');
      await page.waitForFunction(() => document.getElementById('done-count').textContent === '1');
      // Task 2 (prefetched): edit the text this time.
      await page.locator('.response').first().filter({ hasText: '2.' }).waitFor();
      await page.keyboard.press('1');
      await page.keyboard.press('j');
      await page.keyboard.press('Enter');
      await page.keyboard.press('End');
      await page.keyboard.type(' Fixed.');
      await page.locator('#questions textarea').focus();
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+Enter');
      await page.waitForFunction(() => document.getElementById('done-count').textContent === '2');
      const rows = sql(s.db, 'SELECT g.answers, g.created_at, g.shown_at, g.active_ms, t.leased_at FROM judgments g'
        + ' JOIN tasks t ON t.id = g.task_id ORDER BY g.id');
      assert.equal(rows.length, 2);
      const [a1, a2] = rows.map((r) => JSON.parse(r.answers));
      assert.deepEqual(Object.keys(a1), ['better']); // the untouched prefill was no answer
      assert.match(a2.fix, / Fixed\.$/);
      for (const r of rows) {
        assert.ok(r.shown_at >= r.leased_at && r.shown_at <= r.created_at, JSON.stringify(r));
        assert.ok(r.active_ms >= 0 && r.active_ms <= r.created_at - r.shown_at, JSON.stringify(r));
      }
      // Task 2 was leased before task 1 was submitted, and shown after it.
      assert.ok(rows[1].leased_at < rows[0].created_at, JSON.stringify(rows));
      assert.ok(rows[1].shown_at >= rows[0].created_at - 5, JSON.stringify(rows)); // (ms rounding)
      assert.deepEqual(errors, []);
      await ctx.close();

      // One validation problem is shown with its message, not only its field.
      const { ctx: ctx2, page: lead, errors: leadErrors } = await newPage(browser);
      await login(lead, s.base, 'lead');
      await lead.goto(`${s.base}/jobs/new`);
      await lead.locator('#who-name').filter({ hasText: /./ }).waitFor();
      const shown = await lead.evaluate(async () => {
        const { api } = await import('/web/api.js');
        const { showError } = await import('/web/shell.js');
        const node = document.createElement('p');
        document.querySelector('main').append(node);
        try {
          await api('POST', '/api/v1/jobs', { name: 'x', questions: [{ name: 't', type: 'text', max_chars: 0 }] });
        } catch (e) { showError(node, e); }
        return node.innerText;
      });
      assert.match(shown, /questions\[0\]\.max_chars: must be/);
      assert.deepEqual(leadErrors, []);
      await ctx2.close();
    } finally {
      s.stop();
    }
  },

  async 'a rank is done by keyboard (with a tie) and by drag and drop; the text editor shows its diff; the next task is prefetched'(browser) {
    const s = await startServer();
    try {
      const job = makeRankJob(s);
      const { ctx, page, errors } = await newPage(browser);
      const leases = [];
      page.on('request', (r) => { if (r.url().includes('/tasks/next')) leases.push(new URL(r.url()).search); });
      await login(page, s.base, 'lab');
      await page.goto(`${s.base}/jobs/${job}/label`);
      await page.locator('.rank li').nth(2).waitFor();
      // The task after this one is leased in the background.
      for (let i = 0; i < 50 && sql(s.db, "SELECT count(*) AS n FROM tasks WHERE state = 'leased'")[0].n < 2; i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.equal(sql(s.db, "SELECT count(*) AS n FROM tasks WHERE state = 'leased'")[0].n, 2);
      // 3, up, up: response 3 first; 2, T: response 2 tied with response 1.
      for (const k of ['3', 'ArrowUp', 'ArrowUp', '2', 't']) await page.keyboard.press(k);
      assert.match(await page.locator('.rank').innerText(), /1\s*3\s*Response 3[\s\S]*2=\s*1\s*Response 1[\s\S]*2=\s*2\s*Response 2/);
      // The text starts from the favourite (response 3); edit it by keyboard.
      await page.keyboard.press('j');
      await page.keyboard.press('Enter');
      assert.equal(await page.locator('#questions textarea').inputValue(), 'Answer C1 is here.');
      await page.keyboard.press('End');
      await page.keyboard.type(' Now better');
      await page.locator('.diff ins').filter({ hasText: 'Now better' }).waitFor();
      assert.match(await page.locator('.hint').last().innerText(), /29 characters.*edited/);
      await shots(page, 'label-rank', true);
      await page.locator('#questions textarea').focus();
      await page.keyboard.press('Escape');
      // 0–10: two digits typed quickly make 10.
      for (const k of ['j', '1', '0']) await page.keyboard.press(k);
      await page.keyboard.press('Control+Enter');
      await page.waitForFunction(() => document.getElementById('done-count').textContent === '1');
      let rows = sql(s.db, "SELECT j.answers FROM judgments j JOIN items i ON i.id = j.item_id WHERE i.ext_id = 'r1'");
      assert.deepEqual(JSON.parse(rows[0].answers), { order: [['c'], ['a', 'b']], rewrite: 'Answer C1 is here. Now better', overall: 10 });

      // Task 2 came from the prefetch: no plain lease request after the first.
      await page.locator('.prompt').filter({ hasText: 'Rank set 2' }).waitFor();
      assert.equal(leases.filter((q) => !q.includes('after=')).length, 1, leases.join(' '));
      // Drag response 2 above response 1, then keep the order with Enter.
      if (SHOT === '') {
        await page.dragAndDrop('.rank li[data-id="b"]', '.rank li[data-id="a"]', { targetPosition: { x: 20, y: 3 } });
      } else {
        // Playwright cannot drive a native drag in Firefox: the same events,
        // dispatched by hand, reach the page's handlers.
        await page.evaluate(() => {
          const from = document.querySelector('.rank li[data-id="b"]'), to = document.querySelector('.rank li[data-id="a"]');
          const dataTransfer = new DataTransfer(), y = to.getBoundingClientRect().top + 3;
          from.dispatchEvent(new DragEvent('dragstart', { bubbles: true, dataTransfer }));
          to.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer, clientY: y }));
          to.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer, clientY: y }));
          from.dispatchEvent(new DragEvent('dragend', { bubbles: true, dataTransfer }));
        });
      }
      assert.match(await page.locator('.rank').innerText(), /1\s*2\s*Response 2[\s\S]*2\s*1\s*Response 1[\s\S]*3\s*3\s*Response 3/);
      assert.equal(await page.locator('#questions textarea').inputValue(), 'Answer B2 is here.');
      for (const k of ['j', 'j', '0']) await page.keyboard.press(k); // 0 is a score too
      await page.keyboard.press('Control+Enter');
      await page.locator('#empty').waitFor();
      rows = sql(s.db, "SELECT j.answers FROM judgments j JOIN items i ON i.id = j.item_id WHERE i.ext_id = 'r2'");
      assert.deepEqual(JSON.parse(rows[0].answers), { order: [['b'], ['a'], ['c']], rewrite: 'Answer B2 is here.', overall: 0 });
      assert.deepEqual(errors, []);
      await ctx.close();
    } finally {
      s.stop();
    }
  },

  async 'a lead creates a job in the form, sees a bad upload by line, uploads, adds a labeler, opens it, and watches progress live'(browser) {
    const s = await startServer();
    try {
      const { ctx, page, errors } = await newPage(browser);
      await login(page, s.base, 'lead');
      await page.getByRole('link', { name: 'New job' }).click();
      await page.waitForURL(`${s.base}/jobs/new`);
      await page.fill('#f-name', 'Browser-made job');
      await page.fill('#f-instructions', '## Judge well\n\nPrefer **correct** answers. <script>window.__pwned = 3</script>');
      await page.locator('#preview h2').filter({ hasText: 'Judge well' }).waitFor();
      assert.equal(await page.locator('#preview strong').innerText(), 'correct');
      assert.equal(await page.locator('#preview script').count(), 0);
      await page.fill('#f-overlap', '1');
      await page.uncheck('#f-random'); // the keys below assume the imported order
      await page.selectOption('#new-type', 'pairwise');
      await page.click('#add');
      await page.fill('#q0-name', 'better');
      await page.selectOption('#new-type', 'rating');
      await page.click('#add');
      await page.fill('#q1-name', 'quality');
      await page.fill('#q1-max', '7');
      // A bad setting is refused with its field marked, and nothing is made.
      await page.fill('#f-lease', '1');
      await page.click('#save');
      await page.locator('#form-errors').filter({ hasText: 'lease_seconds' }).waitFor();
      assert.equal(await page.getAttribute('#f-lease', 'aria-invalid'), 'true');
      assert.equal(sql(s.db, 'SELECT count(*) AS n FROM jobs')[0].n, 0);
      await page.fill('#f-lease', '600');
      await shots(page, 'job-new', true);
      await page.click('#save');
      await page.waitForURL(/\/jobs\/\d+$/);
      const job = page.url().split('/').pop();
      const stored = sql(s.db, `SELECT name, status, overlap, lease_seconds, randomize_order, questions FROM jobs WHERE id = ${job}`)[0];
      assert.equal(stored.randomize_order, 0);
      assert.equal(stored.name, 'Browser-made job');
      assert.equal(stored.status, 'draft');
      assert.deepEqual(JSON.parse(stored.questions).map((q) => [q.name, q.type]), [['better', 'pairwise'], ['quality', 'rating']]);
      assert.equal(JSON.parse(stored.questions)[1].scale.max, 7);

      // An upload with a bad line 2 imports nothing and names line 2.
      const good = [1, 2, 3].map((n) => JSON.stringify({ id: `g${n}`, prompt: `Question ${n}?`,
        responses: [{ id: 'a', model: 'm1', text: `A${n}` }, { id: 'b', model: 'm2', text: `B${n}` }] }));
      await page.setInputFiles('#items-file', { name: 'bad.jsonl', mimeType: 'application/x-ndjson',
        buffer: Buffer.from([good[0], '{"id": "g9", "prompt": "no responses"}', good[2]].join('\n')) });
      await page.click('#upload');
      await page.locator('#upload-errors').waitFor();
      const bad = await page.locator('#upload-errors tbody tr').allInnerTexts();
      assert.equal(bad.length, 1);
      assert.match(bad[0], /^2\s+responses/);
      assert.equal(sql(s.db, 'SELECT count(*) AS n FROM items')[0].n, 0);
      await page.setInputFiles('#items-file', { name: 'good.jsonl', mimeType: 'application/x-ndjson',
        buffer: Buffer.from(good.join('\n') + '\n') });
      await page.click('#upload');
      await page.locator('#upload-status').filter({ hasText: 'Imported 3 items' }).waitFor();
      assert.ok(await page.locator('#upload-errors').isHidden());
      assert.equal(sql(s.db, `SELECT count(*) AS n FROM items WHERE job_id = ${job}`)[0].n, 3);

      // Members: an unknown name is refused; lab is added; lead added and removed.
      await page.fill('#member-name', 'nobody');
      await page.click('#member-form button');
      await page.locator('#member-status.error').waitFor();
      for (const u of ['lab', 'lead']) {
        await page.fill('#member-name', u);
        await page.click('#member-form button');
        await page.locator('#members li').filter({ hasText: u }).waitFor();
      }
      await page.getByRole('button', { name: 'Remove lead' }).click();
      await page.locator('#member-status').filter({ hasText: 'lead was removed' }).waitFor();
      assert.deepEqual(sql(s.db, `SELECT u.name FROM job_members m JOIN users u ON u.id = m.user_id WHERE m.job_id = ${job}`), [{ name: 'lab' }]);

      await page.getByRole('button', { name: 'Open for labeling' }).click();
      await page.locator('#job-status').filter({ hasText: 'open' }).waitFor();
      assert.equal(sql(s.db, `SELECT status FROM jobs WHERE id = ${job}`)[0].status, 'open');

      // The labeler judges two items by keyboard; the lead's page follows.
      const { ctx: ctx2, page: lab, errors: labErrors } = await newPage(browser, 800);
      await login(lab, s.base, 'lab');
      await lab.goto(`${s.base}/jobs/${job}/label`);
      for (let n = 1; n <= 2; n++) {
        await lab.locator('.prompt').filter({ hasText: `Question ${n}?` }).waitFor();
        for (const k of ['2', '6', '3', 'Control+Enter']) await lab.keyboard.press(k);
        await lab.waitForFunction((d) => document.getElementById('done-count').textContent === String(d), n);
      }
      assert.deepEqual(sql(s.db, `SELECT answers FROM judgments WHERE job_id = ${job}`).map((r) => JSON.parse(r.answers)),
        [1, 2].map(() => ({ better: { winner: 'b' }, quality: { a: 6, b: 3 } })));
      await page.waitForFunction(() => /2\s+Complete/.test(document.getElementById('counts').innerText), null, { timeout: 12000 });
      assert.match(await page.locator('#labelers tbody').innerText(), /^lab\s+2\s+0\s/);
      await shot(page, 'job-desktop.png', true);
      // Exports appear with the judgments; the links download them.
      await page.getByRole('link', { name: 'Download raw' }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'Download sft' }).count(), 0); // no text question
      for (const [f, n] of [['raw', 2], ['preference', 4], ['kto', 4]]) {
        const href = await page.getByRole('link', { name: `Download ${f}` }).getAttribute('href');
        const res = await page.request.get(`${s.base}${href}`);
        assert.equal(res.status(), 200);
        assert.match(res.headers()['content-disposition'], new RegExp(`job-${job}-${f}`));
        assert.equal((await res.text()).trim().split('\n').length, n, f);
      }
      await page.selectOption('#export-aggregate', 'majority');
      assert.equal(await page.getByRole('link', { name: 'Download raw' }).count(), 0);
      assert.match(await page.getByRole('link', { name: 'Download kto' }).getAttribute('href'), /aggregate=majority/);
      await page.selectOption('#export-aggregate', 'dawid-skene');
      const dsHref = await page.getByRole('link', { name: 'Download preference' }).getAttribute('href');
      assert.match(dsHref, /aggregate=dawid-skene/);
      assert.equal((await page.request.get(`${s.base}${dsHref}`)).status(), 200);
      // The report page: charts and tables from the two judgments.
      await page.getByRole('link', { name: 'The human-evaluation report' }).click();
      await page.waitForURL(`${s.base}/jobs/${job}/report`);
      await page.locator('svg[aria-label^="Win rate of each model"]').waitFor();
      assert.equal(await page.locator('svg[aria-label^="Bradley-Terry"] circle').count(), 2);
      assert.match(await page.locator('#labelers tbody').innerText(), /^lab\s+2\s+0/);
      assert.match(await page.locator('#questions').innerText(), /m2\s+2\s+0\s+0\s+1\.000/); // m2 won both
      await shots(page, 'report', true);
      await page.fill('#filter', 'category=none');
      await page.click('#filter-form button');
      await page.locator('#summary').filter({ hasText: /Items0\s*Judgments/ }).waitFor();
      await page.goto(`${s.base}/jobs/${job}`);
      await page.locator('#job-status').filter({ hasText: 'open' }).waitFor();
      // Pause and resume; the labeler's page is refused new tasks meanwhile.
      await page.getByRole('button', { name: 'Pause' }).click();
      await page.locator('#job-status').filter({ hasText: 'paused' }).waitFor();
      assert.equal((await lab.request.post(`${s.base}/api/v1/jobs/${job}/tasks/next`, { headers: {
        'X-CSRF-Token': await lab.evaluate(async () => (await (await fetch('/api/v1/me')).json()).csrf_token),
        Origin: s.base } })).status(), 409);
      await page.getByRole('button', { name: 'Resume' }).click();
      await page.locator('#job-status').filter({ hasText: 'open' }).waitFor();
      // Questions are locked now that judgments exist.
      await page.locator('#questions-locked').waitFor();
      assert.ok(await page.locator('#q0-name').isDisabled());
      await page.setViewportSize({ width: 390, height: 844 });
      await shot(page, 'job-phone.png', true);
      // Close (confirmed in a dialog): the job is closed and its form frozen.
      await page.getByRole('button', { name: 'Close' }).click();
      await page.locator('#job-status').filter({ hasText: 'closed' }).waitFor();
      assert.equal(sql(s.db, `SELECT status FROM jobs WHERE id = ${job}`)[0].status, 'closed');
      assert.ok(await page.locator('#f-name').isDisabled());
      // (Firefox, after this test's many automated clicks, treats even a Tab
      // as pointer focus and shows no :focus-visible; the admin test checks
      // the ring in both browsers on a fresh session.)
      if (SHOT === '') assert.equal(await focusRing(page), '');
      await page.goto(`${s.base}/`);
      await page.locator('#runs-table').getByRole('link', { name: 'Browser-made job' }).waitFor();
      await shot(page, 'home-lead-phone.png', true);
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
      assert.deepEqual(errors, []);
      assert.deepEqual(labErrors, []);
      await ctx2.close();
      await ctx.close();
    } finally {
      s.stop();
    }
  },

  async 'an admin creates a user, sets a role, disables, resets a password; a lead creates and revokes an API token'(browser) {
    const s = await startServer();
    try {
      const { ctx, page, errors } = await newPage(browser);
      await page.goto(`${s.base}/login`);
      await page.locator('#username').waitFor();
      await shots(page, 'login');
      await login(page, s.base, 'admin');
      assert.equal(await focusRing(page), '');
      await page.getByRole('link', { name: 'Users' }).click();
      await page.waitForURL(`${s.base}/admin/users`);
      await page.fill('#u-name', 'newbie');
      await page.selectOption('#u-role', 'labeler');
      await page.click('#u-generate');
      const first = await page.inputValue('#u-password');
      assert.equal(first.length, 16);
      await page.click('#user-form button[type=submit]');
      await page.locator('#form-status').filter({ hasText: 'newbie was created' }).waitFor();
      await page.getByLabel('Role of newbie').selectOption('lead');
      await page.locator('#list-status').filter({ hasText: 'newbie is now lead' }).waitFor();
      await page.getByRole('button', { name: 'Disable newbie' }).click();
      await page.getByRole('button', { name: 'Enable newbie' }).waitFor();
      let u = sql(s.db, "SELECT role, disabled, must_change_password FROM users WHERE name = 'newbie'")[0];
      assert.deepEqual(u, { role: 'lead', disabled: 1, must_change_password: 1 });
      await page.getByRole('button', { name: 'Enable newbie' }).click();
      await page.getByRole('button', { name: 'Disable newbie' }).waitFor();
      await page.getByRole('button', { name: 'Reset the password of newbie' }).click();
      await page.fill('#reset-password', 'short');
      await page.click('#reset-form button[type=submit]');
      await page.locator('#reset-status.error').waitFor();
      await page.fill('#reset-password', 'a fresh one-time password');
      await page.click('#reset-form button[type=submit]');
      await page.locator('#list-status').filter({ hasText: 'password of newbie was reset' }).waitFor();
      await shots(page, 'users', true);
      // The reset password works (and must be replaced at sign-in).
      const r = await fetch(`${s.base}/api/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: s.base },
        body: JSON.stringify({ username: 'newbie', password: 'a fresh one-time password' }) });
      assert.equal(r.status, 200);
      assert.equal((await r.json()).user.must_change_password, true);
      await ctx.close();

      const { ctx: ctx2, page: lead, errors: leadErrors } = await newPage(browser);
      await login(lead, s.base, 'lead');
      assert.equal(await lead.getByRole('link', { name: 'Users' }).count(), 0);
      await lead.getByRole('link', { name: 'API tokens' }).click();
      await lead.fill('#t-name', 'nightly export');
      await lead.click('#token-form button[type=submit]');
      await lead.locator('#new-secret').waitFor();
      const secret = await lead.locator('#secret').innerText();
      assert.match(secret, /^arb_/);
      let res = await fetch(`${s.base}/api/v1/jobs`, { headers: { Authorization: `Bearer ${secret}` } });
      assert.equal(res.status, 200);
      await shot(lead, 'tokens-desktop.png', true);
      await lead.getByRole('button', { name: 'Revoke nightly export' }).click();
      await lead.locator('#list-status').filter({ hasText: 'was revoked' }).waitFor();
      res = await fetch(`${s.base}/api/v1/jobs`, { headers: { Authorization: `Bearer ${secret}` } });
      assert.equal(res.status, 401);
      assert.equal(sql(s.db, 'SELECT count(*) AS n FROM api_tokens WHERE revoked_at IS NOT NULL')[0].n, 1);
      await lead.setViewportSize({ width: 390, height: 844 });
      await shot(lead, 'tokens-phone.png', true);
      await narrow(lead, 'tokens-phone.png');
      // A lead asking for the users page is sent home.
      await lead.goto(`${s.base}/admin/users`);
      await lead.waitForURL(`${s.base}/`);
      assert.deepEqual(errors, []);
      assert.deepEqual(leadErrors, []);
      await ctx2.close();
    } finally {
      s.stop();
    }
  },

  async 'a labeler an admin made flags an item, comments, and revises past judgments (Z and the list); titles, far labels by keyboard, instructions open by themselves'(browser) {
    const s = await startServer();
    try {
      const session = (u) => apiSession(s.base, u), call = apiCall;
      // The admin makes the labeler with a one-time password, as on the Users page.
      const admin = await session('admin');
      assert.equal((await call(admin, 'POST', '/api/v1/users', { name: 'newlab', role: 'labeler', password: 'one-time-pass-1234' })).status, 201);
      const topics = Array.from({ length: 22 }, (_, i) => `topic ${i + 1}`);
      const job = cliJob(s, 'flags', {
        name: 'Flags and history', instructions: '## How to judge\n\nPrefer **correct** answers.',
        questions: [{ name: 'better', type: 'pairwise', title: 'Which response is better?' },
          { name: 'topic', type: 'labels', title: 'What is the prompt about?', options: topics }],
      }, [1, 2, 3].map((n) => ({ id: `i${n}`, prompt: `Prompt number ${n}`,
        responses: [{ id: 'a', text: `Alpha ${n}. ` + 'long words '.repeat(40) }, { id: 'b', text: `Beta ${n}.` }] })));
      cli(s.db, ['job', 'members', job, 'lab', 'newlab']);
      const { ctx, page, errors } = await newPage(browser, 700);
      await firstSignIn(page, s.base, 'newlab', 'one-time-pass-1234', 'newlab chose this one');
      await page.getByRole('link', { name: 'Start labeling Flags and history' }).click();
      await page.locator('.response').first().filter({ hasText: 'Alpha 1.' }).waitFor();
      // The first visit opens the instructions; the labeler reads titles.
      assert.equal(await page.locator('#instructions').isVisible(), true);
      assert.match(await page.locator('#instructions').innerText(), /How to judge/);
      assert.deepEqual(await page.locator('#questions legend').allInnerTexts(), ['Which response is better?', 'What is the prompt about?']);
      assert.match(await page.locator('.who').innerText(), /0 done, about 3 left for you/);
      assert.equal(await page.evaluate(() => window.scrollY), 0);

      // A submit with nothing answered names both; the message follows the answers.
      await page.keyboard.press('Control+Enter');
      await page.locator('#status').filter({ hasText: 'Which response is better?; What is the prompt about?' }).waitFor();
      assert.equal(await page.locator('fieldset.missing').count(), 2);
      await page.keyboard.press('1');
      assert.match(await page.locator('#status').innerText(), /^Answer What is the prompt about\? first\.$/);
      assert.equal(await page.locator('fieldset.missing').count(), 1);
      // 22 labels, 20 letters: the last two by the arrows (back from the start wraps).
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('ArrowLeft');
      assert.match(await page.locator('.choice.marked').innerText(), /topic 21$/);
      await page.keyboard.press(' ');
      assert.equal(await page.locator('#q-topic-20').isChecked(), true);
      assert.equal(await page.locator('#status').innerText(), '');
      assert.equal(await page.locator('fieldset.missing').count(), 0);

      // F flags the item: kind by number, a note, Enter.
      await page.keyboard.press('f');
      await page.locator('#flag-dialog').waitFor();
      await page.keyboard.press('2');
      await page.fill('#flag-note', 'asks for a weapon');
      await shots(page, 'label-flag');
      await page.press('#flag-note', 'Enter');
      await page.locator('#flag-state').filter({ hasText: 'Flagged: unsafe (asks for a weapon).' }).waitFor();
      assert.deepEqual(sql(s.db, 'SELECT kind, note FROM flags'), [{ kind: 'unsafe', note: 'asks for a weapon' }]);
      await page.fill('#comment', 'hard one');
      await page.locator('#comment').blur();
      await page.keyboard.press('Control+Enter');
      await page.locator('#saved').filter({ hasText: '✓ Saved your judgment of item i1.' }).waitFor();
      await page.locator('.response').first().filter({ hasText: 'Alpha 2.' }).waitFor();
      assert.equal(await page.locator('#done-count').innerText(), '1');
      assert.match(await page.locator('.who').innerText(), /1 done, about 2 left for you/);
      assert.equal(await page.locator('#comment').inputValue(), '');
      assert.equal(await page.evaluate(() => window.scrollY), 0); // the next task opens at its prompt
      let rows = sql(s.db, "SELECT g.answers, g.comment FROM judgments g JOIN items i ON i.id = g.item_id WHERE i.ext_id = 'i1'");
      assert.deepEqual(JSON.parse(rows[0].answers), { better: { winner: 'a' }, topic: ['topic 21'] });
      assert.equal(rows[0].comment, 'hard one');
      // Task 2 by letters.
      for (const k of ['2', 'a']) await page.keyboard.press(k);
      await page.keyboard.press('Control+Enter');
      await page.locator('.response').first().filter({ hasText: 'Alpha 3.' }).waitFor();
      await page.keyboard.press('1'); // a draft on task 3

      // Z: back to i2, Z again: i1 (with its comment); change it and save.
      await page.keyboard.press('z');
      await page.locator('#revising-text').filter({ hasText: 'item i2' }).waitFor();
      assert.equal(await page.locator('button[data-value="b"][aria-pressed="true"]').count(), 1);
      await page.keyboard.press('z');
      await page.locator('#revising-text').filter({ hasText: 'item i1' }).waitFor();
      assert.equal(await page.locator('#comment').inputValue(), 'hard one');
      assert.equal(await page.locator('#q-topic-20').isChecked(), true);
      assert.equal(await page.locator('#skip').isVisible(), false);
      await page.keyboard.press('2');
      await shots(page, 'label-revise', true);
      await page.keyboard.press('Control+Enter');
      await page.locator('#saved').filter({ hasText: 'Saved your changes to item i1 (revision 2)' }).waitFor();
      // Back on task 3, its draft as it was.
      assert.equal(await page.locator('#revising').isVisible(), false);
      await page.locator('.response').first().filter({ hasText: 'Alpha 3.' }).waitFor();
      assert.equal(await page.locator('button[data-value="a"][aria-pressed="true"]').count(), 1);
      rows = sql(s.db, "SELECT g.answers, g.revision, g.comment FROM judgments g JOIN items i ON i.id = g.item_id WHERE i.ext_id = 'i1'");
      assert.deepEqual(JSON.parse(rows[0].answers), { better: { winner: 'b' }, topic: ['topic 21'] });
      assert.equal(rows[0].revision, 2);
      assert.equal(rows[0].comment, 'hard one');
      // The first version is kept.
      assert.deepEqual(sql(s.db, 'SELECT revision, answers FROM judgment_versions').map((v) => [v.revision, JSON.parse(v.answers).better]),
        [[1, { winner: 'a' }]]);

      // The list: newest first; Reopen, then Esc goes back to the task.
      await page.getByRole('button', { name: 'Your judgments' }).click();
      await page.locator('#history-list li').nth(1).waitFor();
      assert.match(await page.locator('#history-list li').nth(0).innerText(), /i2/);
      assert.match(await page.locator('#history-list li').nth(1).innerText(), /i1[\s\S]*revision 2 · commented[\s\S]*Prompt number 1/);
      await shots(page, 'label-history');
      await page.getByRole('button', { name: 'Reopen your judgment of i2' }).click();
      await page.locator('#revising-text').filter({ hasText: 'item i2' }).waitFor();
      await page.keyboard.press('Escape');
      await page.locator('#revising').waitFor({ state: 'hidden' });
      await page.locator('.response').first().filter({ hasText: 'Alpha 3.' }).waitFor();
      await page.keyboard.press('c');
      await page.keyboard.press('Control+Enter');
      await page.locator('#empty').waitFor();
      assert.match(await page.locator('#empty-text').innerText(), /You judged 3 items/);
      assert.match(await page.locator('.who').innerText(), /3 done, nothing left for you/);
      await shots(page, 'label-done');

      // A rejected judgment cannot be reopened; the list says why.
      const lead = await session('lead');
      const gid = sql(s.db, "SELECT g.id FROM judgments g JOIN items i ON i.id = g.item_id WHERE i.ext_id = 'i2'")[0].id;
      assert.equal((await call(lead, 'POST', `/api/v1/judgments/${gid}/review`, { decision: 'reject', reason: 'no' })).status, 200);
      await page.getByRole('button', { name: 'Your judgments' }).click();
      await page.locator('#history-list li').nth(2).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Reopen your judgment of i2' }).isDisabled(), true);
      await page.keyboard.press('Escape');

      // Home: nothing left here, so no Start.
      await page.goto(`${s.base}/`);
      await page.getByText('Nothing left for you').waitFor();
      assert.equal(await page.getByRole('link', { name: 'Start labeling Flags and history' }).count(), 0);
      // Changed instructions open again, saying so; unchanged ones stay shut.
      await page.goto(`${s.base}/jobs/${job}/label`);
      await page.locator('#empty').waitFor();
      assert.equal(await page.locator('#instructions').isVisible(), false);
      assert.equal((await call(lead, 'PATCH', `/api/v1/jobs/${job}`, { instructions: '## How to judge\n\nPrefer **short** answers.' })).status, 200);
      await page.reload();
      await page.locator('#instructions .notice').filter({ hasText: 'changed since you last read them' }).waitFor();
      assert.deepEqual(errors, []);
      await ctx.close();
    } finally {
      s.stop();
    }
  },

  async 'a lead sets the acceptance rule on the job page and retitles a question after judgments; labelers read the new title'(browser) {
    const s = await startServer();
    try {
      const job = cliJob(s, 'rule', { name: 'Rule job', questions: [{ name: 'better', type: 'pairwise', allow_tie: true }] },
        [1, 2].map((n) => ({ id: `r${n}`, prompt: `P${n}`, responses: [{ id: 'a', model: 'm1', text: 'A' }, { id: 'b', model: 'm2', text: 'B' }] })));
      const { ctx, page, errors } = await newPage(browser);
      await login(page, s.base, 'lab');
      await page.goto(`${s.base}/jobs/${job}/label`);
      await page.locator('.response').first().waitFor();
      assert.deepEqual(await page.locator('#questions legend').allInnerTexts(), ['better']); // no title: the name
      await page.keyboard.press('1');
      await page.keyboard.press('Control+Enter');
      await page.locator('#done-count').filter({ hasText: '1' }).waitFor();

      const { ctx: ctx2, page: lead, errors: leadErrors } = await newPage(browser);
      await login(lead, s.base, 'lead');
      await lead.goto(`${s.base}/jobs/${job}`);
      await lead.locator('#questions-locked').waitFor();
      // Judged: the question's settings are locked, its wording is not.
      assert.equal(await lead.locator('[data-field="questions[0].name"]').isDisabled(), true);
      assert.equal(await lead.locator('[data-field="questions[0].allow_tie"]').isDisabled(), true);
      assert.equal(await lead.locator('[data-field="questions[0].title"]').isDisabled(), false);
      await lead.fill('[data-field="questions[0].title"]', 'Which response helps more?');
      // A rule with a blank candidate is refused, naming the field.
      await lead.check('#a-on');
      await lead.check('#a-win');
      await lead.fill('#a-baseline', 'm2');
      await lead.click('#save');
      await lead.locator('#form-errors').filter({ hasText: 'acceptance.candidate' }).waitFor();
      assert.equal(await lead.locator('#a-candidate').getAttribute('aria-invalid'), 'true');
      assert.equal(sql(s.db, `SELECT acceptance FROM jobs WHERE id = ${job}`)[0].acceptance, null);
      await lead.fill('#a-candidate', 'm1');
      await lead.fill('#a-lower', '0.4');
      await lead.check('#a-agree');
      await lead.fill('#a-alpha', '0.5');
      await lead.check('#a-bias');
      await shots(lead, 'job-rule', true);
      await lead.click('#save');
      await lead.locator('#form-errors.ok').filter({ hasText: 'Saved.' }).waitFor();
      const row = sql(s.db, `SELECT acceptance, questions FROM jobs WHERE id = ${job}`)[0];
      assert.deepEqual(JSON.parse(row.acceptance), { question: 'better', candidate: 'm1', baseline: 'm2', min_win_rate_lower: 0.4, min_alpha: 0.5, no_position_bias: true });
      assert.equal(JSON.parse(row.questions)[0].title, 'Which response helps more?');
      // The report decides with it.
      const rep = await lead.evaluate(async (id) => (await (await fetch(`/api/v1/jobs/${id}/report`)).json()).report, job);
      assert.equal(rep.decision.rule.candidate, 'm1');
      // A reload shows the rule as saved; turning it off removes it.
      await lead.reload();
      await lead.locator('#a-rule').waitFor();
      assert.equal(await lead.locator('#a-candidate').inputValue(), 'm1');
      await lead.uncheck('#a-on');
      await lead.click('#save');
      await lead.locator('#form-errors.ok').filter({ hasText: 'Saved.' }).waitFor();
      assert.equal(sql(s.db, `SELECT acceptance FROM jobs WHERE id = ${job}`)[0].acceptance, null);

      // The labeler's next task reads the new title.
      await page.reload();
      await page.locator('#questions legend').filter({ hasText: 'Which response helps more?' }).waitFor();
      // The lead takes lab out with its work, giving a reason.
      await lead.getByRole('button', { name: 'Reject all judgments of lab and remove them' }).click();
      await lead.fill('#members input', 'clicked at random');
      await shots(lead, 'job-reject-labeler');
      await lead.getByRole('button', { name: 'Reject all and remove' }).click();
      await lead.locator('#member-status.ok').filter({ hasText: 'lab was removed: 1 judgment rejected, 1 lease released' }).waitFor();
      assert.deepEqual(sql(s.db, 'SELECT review FROM judgments'), [{ review: 'rejected' }]);
      assert.deepEqual(sql(s.db, `SELECT count(*) AS n FROM job_members WHERE job_id = ${job}`), [{ n: 0 }]);
      assert.equal(JSON.parse(sql(s.db, "SELECT detail FROM audit_log WHERE action = 'labeler_reject'")[0].detail).reason, 'clicked at random');
      assert.deepEqual(errors, []);
      assert.deepEqual(leadErrors, []);
      await ctx.close();
      await ctx2.close();
    } finally {
      s.stop();
    }
  },
};


tests['a lead filters to disagreements, opens an item, rejects a judgment and sees it back in progress; GFM, code and Arabic render as written'] = async (browser) => {
  const s = await startServer();
  try {
    for (const u of ['lab2', 'lab3']) cli(s.db, ['user', 'add', u, '--role', 'labeler'], `${PASSWORD}\n`);
    const gfm = '| model | score |\n|---|---:|\n| a | **3** |\n\n> a quote\n\n1. one\n   - nested\n2. two\n\n'
      + 'See [the docs](https://example.org/d).\n\n```python\nprint("' + 'x'.repeat(200) + '")\n```\n\n'
      + 'مرحبا بالعالم مع كلمة English هنا.\n\n<b>raw</b>';
    const job = cliJob(s, 'rev', { name: 'Review me', overlap: 2,
      questions: [{ name: 'better', type: 'pairwise', allow_tie: true }] },
    [{ id: 'd1', prompt: 'Which is right?', responses: [{ id: 'a', model: 'm1', text: gfm }, { id: 'b', model: 'm2', text: 'Plain B' }] },
      { id: 'd2', prompt: 'Calm one', responses: [{ id: 'a', text: 'A' }, { id: 'b', text: 'B' }] }]);
    cli(s.db, ['job', 'members', job, 'lab', 'lab2', 'lab3']);
    // Two labelers disagree on d1 and agree on d2 (through the API).
    const tokens = {};
    for (const u of ['lab', 'lab2', 'lab3']) tokens[u] = await apiSession(s.base, u);
    const call = async (u, method, path, body) => (await apiCall(tokens[u], method, path, body)).body;
    for (const [u, w1, w2] of [['lab', 'a', 'a'], ['lab2', 'b', 'a']]) {
      for (const w of [w1, w2]) {
        const t = (await call(u, 'POST', `/api/v1/jobs/${job}/tasks/next`)).task;
        const win = t.item.id === 'd1' ? w1 : w2;
        await call(u, 'POST', `/api/v1/tasks/${t.id}/judgment`, { answers: { better: { winner: win } } });
        void w;
      }
    }
    const { ctx, page, errors } = await newPage(browser);
    await login(page, s.base, 'lead');
    await page.goto(`${s.base}/jobs/${job}`);
    await page.getByRole('link', { name: 'The items' }).click();
    await page.waitForURL(`${s.base}/jobs/${job}/items`);
    await page.locator('#items tbody tr').nth(1).waitFor();
    // Filter to disagreements: the address keeps the filter.
    await page.selectOption('select[name=sort]', 'disagreement');
    await page.fill('input[name=min_disagreement]', '0.5');
    await page.click('#filters button[type=submit]');
    await page.waitForURL(/sort=disagreement/);
    assert.match(page.url(), /min_disagreement=0\.5/);
    await page.locator('#status').filter({ hasText: '1 item shown' }).waitFor();
    assert.equal(await page.locator('#items tbody tr').count(), 1);
    await page.getByRole('button', { name: 'd1' }).click();
    await page.locator('#item-title').filter({ hasText: 'Item d1' }).waitFor();
    assert.match(await page.locator('#item-state').innerText(), /complete/);
    // GFM as written: a table, a quote, a nested list, a safe link, code
    // with its language, right-to-left Arabic, raw HTML as text.
    const md = page.locator('#item-responses .response').first();
    assert.equal(await md.locator('table td').nth(1).innerText(), '3');
    assert.equal(await md.locator('blockquote').count(), 1);
    assert.equal(await md.locator('ol > li > ul > li').innerText(), 'nested');
    assert.equal(await md.locator('a[href="https://example.org/d"]').getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await md.locator('.code-lang').innerText(), 'python');
    assert.equal(await md.getByRole('button', { name: 'Copy' }).count(), 1);
    const dir = await md.locator('p', { hasText: 'مرحبا' }).evaluate((p) => getComputedStyle(p).direction);
    assert.equal(dir, 'rtl');
    assert.match(await md.innerText(), /<b>raw<\/b>/);
    assert.equal(await md.locator('b').count(), 0);
    await shots(page, 'items-review', true);
    // Reject lab2's judgment with a reason, from the keyboard.
    const cards = page.locator('.judgment');
    assert.equal(await cards.count(), 2);
    await page.fill('#reason', 'picked the wrong one');
    await page.locator('#reason').blur();
    await page.keyboard.press('j');
    await page.locator('.judgment.current', { hasText: 'lab2' }).waitFor();
    await page.keyboard.press('r');
    await page.locator('.judgment', { hasText: 'lab2' }).locator('.review-state.rejected').waitFor();
    await page.locator('#item-state').filter({ hasText: 'in progress' }).waitFor();
    assert.match(await page.locator('.judgment', { hasText: 'lab2' }).innerText(), /reject by lead: picked the wrong one/);
    // The slot went back to the pool: lab3 (not lab2) is given d1.
    assert.equal((await call('lab3', 'POST', `/api/v1/jobs/${job}/tasks/next`)).task.item.id, 'd1');
    assert.equal(await call('lab2', 'POST', `/api/v1/jobs/${job}/tasks/next`), null);
    await page.keyboard.press('k');
    await page.keyboard.press('a');
    await page.locator('.judgment', { hasText: 'lab' }).first().locator('.review-state.accepted').waitFor();
    assert.deepEqual(sql(s.db, "SELECT g.review FROM judgments g JOIN items i ON i.id = g.item_id WHERE i.ext_id = 'd1' ORDER BY g.id"),
      [{ review: 'accepted' }, { review: 'rejected' }]);
    // The address opens the same view.
    await page.reload();
    await page.locator('#item-title').filter({ hasText: 'Item d1' }).waitFor();
    await shots(page, 'items-after-review', true);
    assert.deepEqual(errors, []);
    await ctx.close();
  } finally {
    s.stop();
  }
};

const which = args.includes('--browsers') ? args[args.indexOf('--browsers') + 1].split(',') : ['chromium'];
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : '';
let passed = 0, failed = 0;

// The text editor's diff, without a browser.
{
  const { diffWords } = await import('../../web/diff.js');
  const cases = [
    ['a b c', 'a b c', [['=', 'a b c']]],
    ['a b c', 'a x c', [['=', 'a '], ['-', 'b'], ['+', 'x'], ['=', ' c']]],
    ['', 'new text', [['+', 'new text']]],
    ['old', '', [['-', 'old']]],
    ['The cat sat.', 'The big cat sat down.', [['=', 'The '], ['+', 'big '], ['=', 'cat '], ['-', 'sat.'], ['+', 'sat down.']]],
  ];
  try {
    for (const [a, b, want] of cases) assert.deepEqual(diffWords(a, b), want, `${a} -> ${b}`);
    // Any diff rebuilds both texts; a huge middle falls back to - and +.
    const big = Array.from({ length: 3000 }, (_, i) => `w${i}`).join(' ');
    const other = Array.from({ length: 3000 }, (_, i) => `v${i}`).join(' ');
    for (const [a, b] of [[big, other], ['x ' + big, 'y ' + big + ' z'], ['a  b\n\nc', 'a b\nc d']]) {
      const ops = diffWords(a, b);
      assert.equal(ops.filter(([o]) => o !== '+').map(([, t]) => t).join(''), a);
      assert.equal(ops.filter(([o]) => o !== '-').map(([, t]) => t).join(''), b);
    }
    passed++;
    console.log('ok   node web/diff.js diffWords');
  } catch (e) {
    failed++;
    console.log(`FAIL node web/diff.js diffWords\n${e.stack}`);
  }
}

tests['a lead reads model judges beside the people on the report: agreement with the consensus, position bias, win rates'] = async (browser) => {
  const s = await startServer();
  try {
    const job = cliJob(s, 'judged', { name: 'Judged job', overlap: 2, questions: [{ name: 'better', type: 'pairwise', allow_tie: true }] },
      [0, 1, 2, 3, 4, 5].map((n) => ({ id: `q${n}`, prompt: `P${n}`, responses: [{ id: 'a', model: 'm1', text: `A${n}` }, { id: 'b', model: 'm2', text: `B${n}` }] })));
    cli(s.db, ['user', 'add', 'lab2', '--role', 'labeler'], `${PASSWORD}\n`);
    cli(s.db, ['job', 'members', job, 'lab', 'lab2']);
    for (const u of ['lab', 'lab2']) {
      const who = await apiSession(s.base, u);
      for (;;) {
        const r = await apiCall(who, 'POST', `/api/v1/jobs/${job}/tasks/next`);
        if (r.status === 204) break;
        await apiCall(who, 'POST', `/api/v1/tasks/${r.body.task.id}/judgment`, { answers: { better: { winner: r.body.task.item.id === 'q0' ? 'b' : 'a' } } });
      }
    }
    const lead = await apiSession(s.base, 'lead');
    const sent = await apiCall(lead, 'POST', `/api/v1/jobs/${job}/judge-judgments`, { judge: 'judge-model-v2',
      judgments: [0, 1, 2, 3, 4, 5].map((n) => ({ item: `q${n}`, shown: n % 2 ? ['b', 'a'] : ['a', 'b'], answers: { better: { winner: n < 4 ? 'a' : 'b' } } })) });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const { ctx, page, errors } = await newPage(browser);
    await login(page, s.base, 'lead');
    await page.goto(`${s.base}/jobs/${job}/report`);
    await page.locator('#judges').waitFor();
    const body = await page.locator('#judges-body').innerText();
    assert.match(body, /judge-model-v2\s+better\s+6\s+50\.0%/); // 3 of 6: q0 (people b), q1–q3 (a) right; q4, q5 wrong
    assert.match(body, /better: overall win rate, the people and each judge/);
    assert.equal(await page.locator('#labelers tbody tr').count(), 2); // the judge is no labeler
    await page.locator('#judges').scrollIntoViewIfNeeded();
    await shots(page, 'report-judges', true);
    assert.deepEqual(errors, []);
    await ctx.close();
  } finally {
    s.stop();
  }
};

for (const kind of which) {
  SHOT = kind === 'chromium' ? '' : `${kind}-`;
  const browser = await BROWSERS[kind]();
  for (const [name, fn] of Object.entries(tests)) {
    if (!name.includes(only)) continue;
    const t0 = Date.now();
    try {
      await fn(browser);
      passed++;
      console.log(`ok   ${kind} ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${kind} ${name}\n${e.stack}`);
    }
  }
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
