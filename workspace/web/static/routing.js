// Agent status bar and the supervisor's live monitor, fed by the live
// stream. Both redraw from `live` whenever a message arrives.
import { api, el } from './api.js';
import { t } from './i18n.js';

export const live = { me: null, agents: new Map(), groups: new Map(), connected: false, listeners: new Set() };

// apply merges a stream message into the live state.
export function applyMessage(m) {
  if (m.type === 'snapshot') {
    live.agents.clear();
    live.groups.clear();
  }
  if (m.me) live.me = m.me;
  for (const a of m.agents || []) live.agents.set(a.id, a);
  for (const g of m.groups || []) live.groups.set(g.id, g);
  if (live.me && live.agents.has(live.me.id)) live.me = live.agents.get(live.me.id);
  for (const f of live.listeners) f(m);
}

function dur(sec) {
  sec = Math.max(0, Math.floor(sec));
  const m = Math.floor(sec / 60), s = sec % 60;
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}:${String(s).padStart(2, '0')}`;
}

function since(ts) { return ts ? dur((Date.now() - new Date(ts).getTime()) / 1000) : ''; }

function stateBadge(a) {
  return el('span', { class: 'state st-' + a.state, text: t('st.' + a.state) === 'st.' + a.state ? a.state : t('st.' + a.state) });
}

function reasonText(r) { const k = 'reason.' + r; return t(k) === k ? r : t(k); }

function liveBadge() {
  return el('span', { class: live.connected ? 'live on' : 'live off', text: t(live.connected ? 'live.on' : 'live.off') });
}

// sinceEl is a duration that counts up every second without a redraw.
function sinceEl(tag, ts) { return el(tag, { text: since(ts), dataset: { since: ts || '' } }); }

// mount registers a redraw on every stream message for the lifetime of the
// view. Between messages only the durations tick: redrawing rows every
// second would replace a button between a user's mouse-down and mouse-up,
// and the click would be lost.
function mount(root, draw) {
  const gone = () => { if (root.isConnected) return false; live.listeners.delete(f); clearInterval(timer); return true; };
  const f = () => { if (!gone()) draw(); };
  const tick = () => {
    if (gone()) return;
    for (const e of root.querySelectorAll('[data-since]')) e.textContent = since(e.dataset.since);
  };
  live.listeners.add(f);
  const timer = setInterval(tick, 1000);
  draw();
}

async function act(path, body, box) {
  box.querySelectorAll('.error').forEach((x) => x.remove());
  try {
    const me = await api(path.method || 'POST', path.url || path, body);
    if (me && me.id) { live.me = me; for (const f of live.listeners) f({}); }
  } catch (e) {
    box.append(el('p', { class: 'error', role: 'alert', text: e.message }));
  }
}

export async function renderRouting(root, state) {
  const card = el('section', { class: 'card', id: 'status-card' });
  root.append(card);
  try {
    live.me = await api('GET', '/agent/me');
  } catch (e) {
    if (e.code === 'not_in_routing' || e.status === 404) { card.append(el('h2', { text: t('my.status') }), el('p', { class: 'muted', text: t('my.notInGroup') })); return; }
    throw e;
  }
  const groupNames = Object.fromEntries((await api('GET', '/groups')).groups.map((g) => [g.id, g.name]));
  const reason = el('select', { id: 'notready-reason' }, ['meeting', 'training', 'other'].map((r) => el('option', { value: r, text: t('reason.' + r) })));
  const breakReason = el('select', { id: 'break-reason' }, ['rest', 'meal'].map((r) => el('option', { value: r, text: t('reason.' + r) })));
  const breakMin = el('input', { id: 'break-minutes', type: 'number', min: 0, max: 240, value: 15, class: 'narrow' });
  const actions = el('div', { class: 'actions' });
  const body = el('div');
  card.append(el('h2', {}, t('my.status'), ' ', el('span', { id: 'live-badge' })), body, actions);
  const btn = (id, key, onclick, cls) => el('button', { type: 'button', id, class: cls || '', text: t(key), onclick });
  mount(card, () => {
    const me = live.me;
    card.querySelector('#live-badge').replaceChildren(liveBadge());
    const offers = me.tasks.filter((x) => !x.accepted), held = me.tasks.filter((x) => x.accepted);
    body.replaceChildren(...[el('dl', { class: 'facts' },
      el('dt', { text: t('mon.state') }), el('dd', { id: 'my-state' }, stateBadge(me), me.state === 'not_ready' && me.reason ? ` ${reasonText(me.reason)}` : '', ` · ${t('my.since')} `, sinceEl('span', me.since)),
      el('dt', { text: t('my.load') }), el('dd', { id: 'my-load', text: `${me.used}/${me.capacity}` }),
      el('dt', { text: t('users.groups') }), el('dd', { text: Object.entries(me.groups).map(([g, l]) => `${groupNames[g] || g} (L${l})`).join(', ') }),
      me.break_requested ? el('dd', { class: 'warn', id: 'break-pending', text: t('my.breakPending') }) : null),
    offers.length ? el('div', { id: 'my-offers' }, el('h3', { text: t('my.offers') }), offers.map((o) => el('div', { class: 'offer', dataset: { task: o.task_id } },
      el('span', { text: `${o.channel} · ${groupNames[o.group] || o.group}` }),
      btn('', 'act.accept', () => act(`/tasks/${o.task_id}/accept`, undefined, card), 'primary small'),
      btn('', 'act.reject', () => act(`/tasks/${o.task_id}/reject`, undefined, card), 'small')))) : null,
    held.length ? el('p', { id: 'my-tasks', text: `${t('my.tasks')}: ${held.length}` }) : null].filter(Boolean));
    if (actions.dataset.state === me.state + me.break_requested) return; // keep focus and selections
    actions.dataset.state = me.state + me.break_requested;
    const a = [];
    if (me.state === 'signed_out') a.push(btn('btn-signin', 'act.signin', () => act('/agent/sign-in', undefined, card), 'primary'));
    else {
      if (me.state !== 'ready') a.push(btn('btn-ready', 'act.ready', () => act({ method: 'PUT', url: '/agent/state' }, { state: 'ready' }, card), 'primary'));
      if (me.state !== 'not_ready') a.push(reason, btn('btn-notready', 'act.notready', () => act({ method: 'PUT', url: '/agent/state' }, { state: 'not_ready', reason: reason.value }, card)));
      if (me.state === 'after_call_work') a.push(btn('btn-continue', 'act.continue', () => act('/agent/continue', undefined, card)));
      if (me.state !== 'break' && !me.break_requested) a.push(breakReason, breakMin, el('span', { text: t('minutes') }), btn('btn-break', 'act.break', () => act('/agent/break', { reason: breakReason.value, minutes: Number(breakMin.value) }, card)));
      a.push(btn('btn-signout', 'act.signout', () => act('/agent/sign-out', undefined, card), 'danger'));
    }
    actions.replaceChildren(...a);
  });
}

export async function renderMonitor(root) {
  const [{ users }, { groups }] = await Promise.all([api('GET', '/users?include_disabled=true'), api('GET', '/groups')]);
  const userName = Object.fromEntries(users.map((u) => [u.id, u.name]));
  const groupName = Object.fromEntries(groups.map((g) => [g.id, g.name]));
  const first = await api('GET', '/routing/agents');
  for (const a of first.agents) live.agents.set(a.id, a);
  for (const g of (await api('GET', '/routing/queues')).groups) live.groups.set(g.id, g);
  const qBody = el('tbody'), aBody = el('tbody'), badge = el('span');
  root.append(
    el('section', { class: 'card' }, el('h2', {}, t('mon.queues'), ' ', badge),
      el('table', { class: 'grid', id: 'queues-table' }, el('thead', {}, el('tr', {}, ['mon.group', 'mon.queued', 'mon.longest', 'mon.available', 'mon.accepted', 'mon.abandoned', 'mon.sl'].map((k) => el('th', { text: t(k) })))), qBody)),
    el('section', { class: 'card' }, el('h2', { text: t('mon.agents') }),
      el('table', { class: 'grid', id: 'agents-table' }, el('thead', {}, el('tr', {}, ['mon.agent', 'mon.state', 'my.since', 'mon.load', 'mon.actions'].map((k) => el('th', { text: t(k) })))), aBody)));
  const sup = (url, body) => api(body && body.state ? 'PUT' : 'POST', url, body).catch((e) => alert(e.message));
  mount(root.lastChild, () => {
    badge.replaceChildren(liveBadge());
    qBody.replaceChildren(...[...live.groups.values()].sort((a, b) => (groupName[a.id] || a.id).localeCompare(groupName[b.id] || b.id)).map((g) => el('tr', { dataset: { group: g.id } },
      el('td', { text: groupName[g.id] || g.id }), el('td', { class: g.queued ? 'num hot' : 'num', text: g.queued }),
      el('td', { class: 'num', text: g.queued ? dur(g.longest_wait_s) : '—' }), el('td', { class: 'num', text: `${g.available}/${g.signed_in}` }),
      el('td', { class: 'num', text: g.accepted }), el('td', { class: 'num', text: g.abandoned }),
      el('td', { class: 'num', text: g.accepted ? `${Math.round(100 * g.accepted_in_sl / g.accepted)}%` : '—' }))));
    aBody.replaceChildren(...[...live.agents.values()].sort((a, b) => (userName[a.id] || '').localeCompare(userName[b.id] || '')).map((a) => el('tr', { dataset: { agent: a.id } },
      el('td', { text: userName[a.id] || a.id }),
      el('td', {}, stateBadge(a), a.state === 'not_ready' && a.reason ? ` ${reasonText(a.reason)}` : '', a.break_requested ? el('span', { class: 'warn', text: ` ⏳ ${a.break_reason}` }) : ''),
      sinceEl('td', a.since), el('td', { class: 'num', text: `${a.used}/${a.capacity}` }),
      el('td', { class: 'actions' },
        a.break_requested ? el('button', { type: 'button', class: 'small primary approve', text: t('act.approve'), onclick: () => sup(`/routing/agents/${a.id}/break/approve`) }) : null,
        a.break_requested ? el('button', { type: 'button', class: 'small deny', text: t('act.deny'), onclick: () => sup(`/routing/agents/${a.id}/break/deny`) }) : null,
        a.state !== 'signed_out' && a.state !== 'not_ready' ? el('button', { type: 'button', class: 'small', text: t('act.forceNotReady'), onclick: () => sup(`/routing/agents/${a.id}/state`, { state: 'not_ready', reason: 'supervisor' }) }) : null,
        a.state !== 'signed_out' ? el('button', { type: 'button', class: 'small danger', text: t('act.forceSignOut'), onclick: () => sup(`/routing/agents/${a.id}/sign-out`) }) : null))));
  });
}
