// shell.js: the header every signed-in page shares: who I am, the links my
// role may follow, and sign out. Pages call shell() first; it returns /me.
import { api, me } from './api.js';
import { $, el } from './dom.js';

const LINKS = [['/', 'Jobs', 1], ['/tokens', 'API tokens', 2], ['/admin/users', 'Users', 3]];
const RANK = { labeler: 1, lead: 2, admin: 3 };

export async function shell() {
  const m = await me();
  const nav = $('nav');
  if (nav && !m.user.must_change_password) {
    const here = location.pathname;
    nav.replaceChildren(...LINKS.filter(([, , r]) => RANK[m.user.role] >= r).map(([href, text]) =>
      el('a', { href, text, ...(href === here ? { 'aria-current': 'page' } : {}) })));
  }
  const name = $('who-name');
  if (name) name.textContent = m.user.name;
  const role = $('who-role');
  if (role) role.textContent = m.user.role;
  const out = $('logout');
  if (out) out.addEventListener('click', async () => {
    try { await api('DELETE', '/api/v1/session'); } finally { location.assign('/login'); }
  });
  return m;
}

// "2026-11-22T10:40:00Z" -> local "2026-11-22 11:40", "" for null.
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

// Shows an API error in a status element: the message, and every problem
// the server listed (field: message).
export function showError(node, e) {
  node.className = 'error';
  const one = e.problems && e.problems.length === 1 ? e.problems[0] : null;
  // One problem is shown as what it is: its field and its message.
  if (one) node.replaceChildren(one.field ? `${one.field}: ${one.message}` : one.message);
  else node.replaceChildren(e.field && !e.message.startsWith(`${e.field}:`) ? `${e.message} (${e.field})` : e.message);
  if (e.problems && e.problems.length > 1) {
    node.append(el('ul', {}, ...e.problems.map((p) => el('li', { text: `${p.field}: ${p.message}` }))));
  }
}

// Copies the text of source when button is pressed; where the clipboard is
// not available (plain http), selects it for Ctrl+C instead.
export function copyButton(button, source) {
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(source.textContent);
      button.textContent = 'Copied';
    } catch (e) {
      getSelection().selectAllChildren(source);
      button.textContent = 'Selected: press Ctrl+C';
    }
  });
}
