import { t } from './i18n.js';

// Small fetch wrapper: same-origin cookie session, JSON in and out, errors
// as thrown objects carrying the API's error envelope.
export async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch('/api/v1' + path, opts);
  if (resp.status === 204) return null;
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new Error((data.error && data.error.message) || resp.statusText);
    err.status = resp.status;
    err.code = data.error && data.error.code;
    err.field = data.error && data.error.field;
    throw err;
  }
  return data;
}

// el builds an element; text is always set as text, never parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// Close codes of the hub's sockets (inbox, live stream) when the session
// ends (logout, account disabled, password changed: 4401) or the user's
// role or skill groups change (4403). socketEnded handles them and tells
// whether it did (the caller then does not reconnect): the sign-in page
// shows why the session ended; a rights change is shown, then the page
// reloads with the new rights.
export const CLOSE_SESSION_ENDED = 4401;
export const CLOSE_RIGHTS_CHANGED = 4403;

export function socketEnded(ev) {
  if (ev.code === CLOSE_SESSION_ENDED) {
    location.replace('/login?ended=' + encodeURIComponent(ev.reason || ''));
    return true;
  }
  if (ev.code === CLOSE_RIGHTS_CHANGED) {
    if (!document.getElementById('socket-notice')) {
      document.body.append(el('p', { id: 'socket-notice', class: 'error socket-notice', role: 'alert', text: `${t('socket.rights')} (${ev.reason})` }));
      setTimeout(() => location.reload(), 2000);
    }
    return true;
  }
  return false;
}
