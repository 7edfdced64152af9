import { api } from './api.js';
import { apply, lang, setLang, t } from './i18n.js';

apply();
document.getElementById('lang-toggle').addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh'));

// Already signed in? Go straight to the workspace.
api('GET', '/me').then(() => location.replace('/app')).catch(() => {});

const form = document.getElementById('login-form');
const errBox = document.getElementById('login-error');
const submit = document.getElementById('login-submit');

function showError(msg) { errBox.textContent = msg; errBox.hidden = false; }

// A page whose socket was closed because the session ended sends the user
// here with the reason (see socketEnded in api.js).
const ended = new URLSearchParams(location.search).get('ended');
if (ended !== null) showError(t('login.ended') + (ended ? ` (${ended})` : ''));

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  errBox.hidden = true;
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) { showError(t('login.required')); return; }
  submit.disabled = true;
  submit.textContent = t('login.busy');
  try {
    await api('POST', '/auth/login', { username, password, tenant: form.tenant.value.trim() });
    location.replace('/app');
  } catch (e) {
    if (e.status === 429) showError(t('login.limited'));
    else if (e.code === 'account_disabled') showError(t('login.disabled'));
    else if (e.status === 401) showError(t('login.bad'));
    else if (e.status) showError(e.message);
    else showError(t('login.network'));
    form.password.value = '';
    form.password.focus();
  } finally {
    submit.disabled = false;
    submit.textContent = t('login.submit');
  }
});
