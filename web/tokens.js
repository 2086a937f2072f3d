// tokens.js: API tokens: create (the secret shown once), list, revoke.
import { api } from './api.js';
import { $, el } from './dom.js';
import { copyButton, shell, showError, when } from './shell.js';


function state(t) {
  if (t.revoked_at) return `revoked ${when(t.revoked_at)}`;
  if (t.expires_at && Date.parse(t.expires_at) <= Date.now()) return 'expired';
  return 'active';
}

async function load() {
  const { tokens } = await api('GET', '/api/v1/tokens');
  $('tokens').querySelector('tbody').replaceChildren(...(tokens.length ? tokens.map((t) => {
    const s = state(t);
    const revoke = s === 'active' ? el('button', { type: 'button', class: 'secondary danger', text: 'Revoke',
      'aria-label': `Revoke ${t.name}`, onclick: async () => {
        if (!confirm(`Revoke "${t.name}"? Pipelines using it will get 401 from now on.`)) return;
        try {
          await api('DELETE', `/api/v1/tokens/${t.id}`);
          $('list-status').className = 'ok';
          $('list-status').textContent = `"${t.name}" was revoked.`;
          await load();
        } catch (e) { showError($('list-status'), e); }
      } }) : '';
    return el('tr', {}, el('th', { scope: 'row', text: t.name }), el('td', { text: t.user }),
      el('td', { text: t.scopes.join(', ') }), el('td', { text: when(t.created_at) }),
      el('td', { text: t.expires_at ? when(t.expires_at) : 'never' }), el('td', { text: when(t.last_used_at) || 'never' }),
      el('td', { text: s }), el('td', {}, revoke));
  }) : [el('tr', {}, el('td', { colspan: '8', class: 'muted', text: 'No tokens yet.' }))]));
}

$('token-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const body = { name: $('t-name').value.trim(),
    scopes: ['t-export', 't-write', 't-judge'].filter((id) => $(id).checked).map((id) => $(id).value) };
  if ($('t-days').value !== '') body.expires_in_days = Number($('t-days').value);
  $('new-secret').hidden = true;
  try {
    const r = await api('POST', '/api/v1/tokens', body);
    $('secret').textContent = r.secret;
    $('copy').textContent = 'Copy';
    $('new-secret').hidden = false;
    $('form-status').className = 'ok';
    $('form-status').textContent = `Token "${r.token.name}" created.`;
    $('token-form').reset();
    await load();
  } catch (e) { showError($('form-status'), e); }
});

copyButton($('copy'), $('secret'));

shell().then(load).catch((e) => showError($('list-status'), e));
