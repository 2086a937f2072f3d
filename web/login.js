// login.js: the sign-in form. Enter submits; errors are announced in the
// alert region and focus returns to the field to fix.
import { api } from './api.js';

const form = document.getElementById('login');
const error = document.getElementById('error');
const button = document.getElementById('submit');

function show(message, field) {
  error.textContent = message;
  error.hidden = false;
  (field || document.getElementById('password')).focus();
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username) return show('Enter your user name.', form.username);
  if (!password) return show('Enter your password.', form.password);
  button.disabled = true;
  try {
    // A busy server (every password check taken: a login flood) says so at
    // once with 503; try again a few times, a second apart, saying why.
    for (let attempt = 1; ; attempt++) {
      try {
        await api('POST', '/api/v1/session', { name: username, password });
        break;
      } catch (e) {
        if (e.status !== 503 || attempt === 5) throw e;
        error.textContent = 'The server is busy; trying again…';
        error.hidden = false;
        await new Promise((done) => { setTimeout(done, 1000); });
      }
    }
    location.assign('/');
  } catch (e) {
    if (e.status === 503) show('The server is busy. Try again in a moment.');
    else if (e.status === 429) show('Too many failed attempts. Wait a few minutes and try again.');
    else if (e.status === 401) { form.password.value = ''; show('Wrong username or password.'); }
    else show(e.message);
  } finally {
    button.disabled = false;
  }
});
