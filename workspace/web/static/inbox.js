// The agent's unified inbox: offers (with sound), my conversations across
// channels with unread counts, the conversation with the contact's earlier
// history, composer with notes and images, transfer, close and disposition.
// Keyboard: Alt+A accept the oldest offer, Alt+↑/↓ switch conversation,
// Ctrl+Enter send, Alt+N toggle note.
import { api, el, socketEnded } from './api.js';
import { apply, lang, setLang, t } from './i18n.js';
import { Live } from './live.js';
import { applyMessage, live } from './routing.js';

const st = { replies: [], codes: [], me: null, convs: new Map(), unread: new Map(), active: null, groups: [], ws: null, seen: new Set(), lastOffers: '', lastStateSig: '' };
const $ = (id) => document.getElementById(id);

function beep() {
  try {
    const ctx = new AudioContext();
    const o = ctx.createOscillator();
    o.frequency.value = 880;
    o.connect(ctx.destination);
    o.start();
    o.stop(ctx.currentTime + 0.15);
  } catch (e) { /* no audio */ }
}

// fill replaces node's children, skipping empty slots.
function fill(node, ...kids) { node.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false)); }

// showError shows a message for a few seconds without blocking the page.
function showError(msg) {
  const box = $('inbox-error');
  box.textContent = msg;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

function fmt(ts) { return ts ? new Date(ts).toLocaleTimeString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { hour: '2-digit', minute: '2-digit' }) : ''; }
function newClientId() { return 'a-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10); }

async function boot() {
  let me;
  try { me = await api('GET', '/me'); } catch (e) { location.replace('/login'); return; }
  st.me = me.user;
  $('product-title').textContent = me.tenant.title;
  $('user-name').textContent = st.me.name;
  document.title = me.tenant.title;
  $('lang-toggle').addEventListener('click', () => { setLang(lang() === 'zh' ? 'en' : 'zh'); drawAll(); });
  st.groups = (await api('GET', '/groups')).groups;
  st.replies = (await api('GET', '/quick-replies')).quick_replies;
  st.codes = (await api('GET', '/disposition-codes')).codes;
  try { live.me = await api('GET', '/agent/me'); } catch (e) { live.me = null; }
  live.listeners.add(() => { drawState(); drawOffers(); });
  setInterval(tickOffers, 1000); // countdowns
  new Live(applyMessage, (on) => { live.connected = on; drawState(); if (on) loadConversations(); });
  connectInbox();
  await loadConversations();
  document.addEventListener('keydown', keys);
  drawAll();
}

function drawAll() { apply(); drawState(); drawOffers(true); drawList(); drawThread(); }

function drawState() {
  const bar = $('statebar');
  const me = live.me;
  if (!me) { bar.replaceChildren(); st.lastStateSig = ''; return; }
  // The buttons are rebuilt only when the state (or language) changes, so a
  // live update (connection, capacity) never replaces one under a click.
  const sig = me.state + '|' + lang();
  if (st.lastStateSig === sig && bar.children.length) {
    const live0 = bar.querySelector('.live');
    live0.className = live.connected ? 'live on' : 'live off';
    live0.textContent = t(live.connected ? 'live.on' : 'live.off');
    bar.querySelector('.cap').textContent = `${me.used}/${me.capacity}`;
    return;
  }
  st.lastStateSig = sig;
  const b = (id, key, fn) => el('button', { type: 'button', id, text: t(key), onclick: fn });
  const put = (body) => api('PUT', '/agent/state', body).then((m) => { live.me = m; drawState(); }).catch((e) => showError(e.message));
  fill(bar,
    el('span', { class: 'state st-' + me.state, id: 'inbox-state', text: t('st.' + me.state) }),
    el('span', { class: live.connected ? 'live on' : 'live off', text: t(live.connected ? 'live.on' : 'live.off') }),
    el('span', { class: 'cap', text: `${me.used}/${me.capacity}` }),
    me.state === 'signed_out' ? b('sb-signin', 'act.signin', () => api('POST', '/agent/sign-in').then((m) => { live.me = m; drawState(); })) : null,
    me.state !== 'ready' && me.state !== 'signed_out' ? b('sb-ready', 'act.ready', () => put({ state: 'ready' })) : null,
    me.state === 'ready' ? b('sb-notready', 'act.notready', () => put({ state: 'not_ready', reason: 'other' })) : null,
    me.state === 'after_call_work' ? b('sb-continue', 'act.continue', () => api('POST', '/agent/continue').then((m) => { live.me = m; drawState(); }).catch((e) => showError(e.message))) : null);
}

// drawOffers rebuilds the offer cards when the offers change (or force is
// true, e.g. a new language); the countdowns tick on their own, so a card's
// buttons are never replaced under the agent's click.
function drawOffers(force) {
  const offers = live.me ? live.me.tasks.filter((x) => !x.accepted) : [];
  const sig = offers.map((o) => o.task_id).join(',');
  if (sig && sig !== st.lastOffers && offers.length >= st.lastOffers.split(',').filter(Boolean).length) beep();
  const changed = force === true || sig !== st.lastOffers || $('offers').children.length !== offers.length;
  st.lastOffers = sig;
  if (changed) {
    const gname = (id) => (st.groups.find((g) => g.id === id) || {}).name || id;
    $('offers').replaceChildren(...offers.map((o) => el('div', { class: 'offer-card', dataset: { task: o.task_id } },
      el('strong', { text: `${t('inbox.offer')} · ${o.channel}` }),
      el('span', { class: 'muted countdown', dataset: { group: gname(o.group), expires: o.expires_at || '' } }),
      el('div', { class: 'row' },
        el('button', { type: 'button', class: 'primary small accept', text: t('act.accept') + ' (Alt+A)', onclick: () => accept(o.task_id) }),
        el('button', { type: 'button', class: 'small reject', text: t('act.reject'), onclick: () => api('POST', `/tasks/${o.task_id}/reject`).catch(() => {}) })))));
  }
  tickOffers();
}

function tickOffers() {
  for (const e of $('offers').querySelectorAll('.countdown')) {
    const x = e.dataset.expires;
    e.textContent = `${e.dataset.group} · ${x ? Math.max(0, Math.round((new Date(x) - Date.now()) / 1000)) + 's' : ''}`;
  }
}

async function accept(id) {
  try {
    live.me = await api('POST', `/tasks/${id}/accept`);
    drawOffers();
    const conv = await api('GET', `/conversations/${id}`);
    st.convs.set(conv.id, conv);
    select(conv.id);
  } catch (e) { showError(e.message); }
}

async function loadConversations() {
  const { conversations } = await api('GET', '/inbox/conversations');
  for (const c of conversations) st.convs.set(c.id, c);
  drawList();
}

function drawList() {
  const items = [...st.convs.values()].sort((a, b) => (b.last_message_at || b.created_at).localeCompare(a.last_message_at || a.created_at));
  $('conversations').replaceChildren(...items.map((c) => el('li', { class: c.id === st.active ? 'active' : '', dataset: { conv: c.id }, onclick: () => select(c.id) },
    el('span', {}, el('span', { class: 'chan', text: c.channel }), c.subject || c.contact_id.slice(-6)),
    st.unread.get(c.id) ? el('span', { class: 'unread', text: st.unread.get(c.id) }) : el('span', { class: 'muted', text: fmt(c.last_message_at) }),
    el('span', { class: 'preview', text: c.status === 'closed' ? t('inbox.ended') : (c.preview || '') }))));
}

function keys(ev) {
  if (ev.altKey && (ev.key === 'a' || ev.key === 'A')) {
    const o = live.me && live.me.tasks.find((x) => !x.accepted);
    if (o) { ev.preventDefault(); accept(o.task_id); }
  } else if (ev.altKey && (ev.key === 'ArrowDown' || ev.key === 'ArrowUp')) {
    const ids = [...$('conversations').children].map((li) => li.dataset.conv);
    if (!ids.length) return;
    ev.preventDefault();
    const i = ids.indexOf(st.active);
    select(ids[(i + (ev.key === 'ArrowDown' ? 1 : ids.length - 1)) % ids.length] || ids[0]);
  } else if (ev.altKey && (ev.key === 'n' || ev.key === 'N')) {
    const n = document.getElementById('note-toggle');
    if (n) { ev.preventDefault(); n.checked = !n.checked; }
  }
}

function bubble(m, earlier) {
  const cls = m.kind === 'system' ? 'system' : m.direction === 'internal' ? 'internal' : m.direction === 'out' ? 'out' : 'in';
  const b = el('div', { class: `bubble ${cls}${earlier ? ' earlier' : ''}`, dataset: { id: m.id } });
  if (m.kind !== 'system') b.append(el('span', { class: 'meta', text: `${m.sender.name || (m.sender.type === 'customer' ? '客户' : m.sender.type)} · ${fmt(m.created_at)}` }));
  if (m.kind === 'image' && m.attachments && m.attachments.length) {
    const img = el('img', { alt: m.attachments[0].name });
    img.src = '/api/v1/attachments/' + m.attachments[0].id;
    b.append(img);
  } else b.append(document.createTextNode(m.body));
  return b;
}

async function select(id) {
  st.active = id;
  st.unread.delete(id);
  drawList();
  await drawThread();
}

async function drawThread() {
  const box = $('thread');
  const conv = st.convs.get(st.active);
  if (!conv) { box.replaceChildren(el('div', { class: 'empty', text: t('inbox.empty') })); $('side').replaceChildren(); return; }
  const msgs = el('div', { class: 'msgs', id: 'msgs' });
  const input = el('textarea', { id: 'composer-input', placeholder: 'Ctrl+Enter', maxlength: 8000 });
  const note = el('input', { type: 'checkbox', id: 'note-toggle' });
  const file = el('input', { type: 'file', accept: 'image/*', hidden: true });
  const open = conv.status !== 'closed';
  const quick = el('div', { class: 'quick', id: 'quick-replies' }, st.replies.slice(0, 9).map((r, i) => el('button', {
    type: 'button', class: 'small', title: `/${r.shortcut} · Alt+${i + 1}`, text: r.title || '/' + r.shortcut,
    onclick: () => { input.value += r.body; input.focus(); } })));
  const composer = el('form', { class: 'composer', id: 'composer' }, quick, input,
    el('div', { class: 'row' }, el('label', { class: 'check' }, note, t('inbox.note')),
      el('button', { type: 'button', text: t('inbox.image'), onclick: () => file.click() }), file,
      el('span', { class: 'grow' }), el('button', { type: 'submit', class: 'primary', id: 'composer-send', text: t('inbox.send') })));
  composer.hidden = !open;
  composer.addEventListener('submit', (ev) => { ev.preventDefault(); const body = input.value.trim(); if (!body) return; input.value = ''; sendFrame({ type: 'message', conversation_id: conv.id, client_id: newClientId(), kind: 'text', body, note: note.checked }); });
  input.addEventListener('keydown', (ev) => {
    const sc = /^\/(\S+)$/.exec(input.value);
    if (ev.key === 'Tab' && sc) {
      const r = st.replies.find((x) => x.shortcut === sc[1]);
      if (r) { ev.preventDefault(); input.value = r.body; return; }
    }
    if (ev.altKey && ev.key >= '1' && ev.key <= '9') {
      const r = st.replies[Number(ev.key) - 1];
      if (r) { ev.preventDefault(); input.value += r.body; return; }
    }
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); composer.requestSubmit(); }
    else if (Date.now() - (st.typingAt || 0) > 2000) { st.typingAt = Date.now(); sendFrame({ type: 'typing', conversation_id: conv.id }); }
  });
  file.addEventListener('change', async () => {
    const f = file.files[0]; file.value = '';
    if (!f) return;
    const fd = new FormData(); fd.append('file', f);
    const r = await fetch('/api/v1/inbox/attachments', { method: 'POST', body: fd, credentials: 'same-origin' });
    const a = await r.json();
    if (!r.ok) { showError(a.error.message); return; }
    sendFrame({ type: 'message', conversation_id: conv.id, client_id: newClientId(), kind: 'image', body: '', attachments: [a] });
  });
  const head = el('div', { class: 'head' }, el('span', { class: 'chan', text: conv.channel }), el('span', { class: 'title', text: conv.subject || conv.contact_id }),
    open ? el('button', { type: 'button', id: 'close-conv', class: 'danger', text: t('inbox.close'), onclick: () => api('POST', `/inbox/conversations/${conv.id}/close`).catch((e) => showError(e.message)) }) : null);
  fill(box, head, msgs, el('div', { class: 'typing-hint', id: 'typing-hint', hidden: true, text: t('inbox.typing') }), composer);
  st.seen = new Set();
  // The contact's earlier conversations on any channel, then this one.
  const [{ conversations }, { messages }] = await Promise.all([api('GET', `/contacts/${conv.contact_id}/conversations?limit=5`), api('GET', `/conversations/${conv.id}/messages?limit=100`)]);
  for (const past of conversations.filter((c) => c.id !== conv.id).reverse()) {
    const { messages: pm } = await api('GET', `/conversations/${past.id}/messages?limit=20`);
    msgs.append(el('div', { class: 'sep', text: `${past.channel} · ${new Date(past.created_at).toLocaleString()}` }), ...pm.map((m) => bubble(m, true)));
  }
  if (conversations.length > 1) msgs.append(el('div', { class: 'sep', text: '— ' + t('inbox.mine') + ' —' }));
  for (const m of messages) { st.seen.add(m.id); msgs.append(bubble(m)); }
  msgs.scrollTop = msgs.scrollHeight;
  drawSide(conv, conversations, messages);
  if (open) input.focus();
}

// plainText turns an article's rich answer into text for the composer.
function plainText(html) { const d = new DOMParser().parseFromString(html, 'text/html'); return d.body.textContent.trim(); }

// kbPanel suggests articles for the customer's last message and searches
// as the agent types; one click inserts an answer into the composer.
function kbPanel(messages) {
  const list = el('ul', { class: 'kb-hits', id: 'kb-hits' });
  const q = el('input', { id: 'kb-search', type: 'search', placeholder: t('inbox.kbSearch') });
  const show = (hits) => list.replaceChildren(...hits.map((h) => el('li', { dataset: { article: h.id } },
    el('strong', { text: h.question }), el('p', { class: 'muted', text: plainText(h.answer).slice(0, 80) }),
    el('button', { type: 'button', class: 'small insert', text: t('inbox.insert'), onclick: () => {
      const input = $('composer-input');
      if (input) { input.value = plainText(h.answer); input.focus(); }
    } }))));
  const last = [...messages].reverse().find((m) => m.direction === 'in' && m.kind === 'text');
  if (last) api('GET', '/kb/suggest?limit=3&text=' + encodeURIComponent(last.body)).then((r) => { if (!q.value) show(r.hits); }).catch(() => {});
  let timer;
  q.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!q.value.trim()) return;
      api('GET', '/kb/search?limit=5&q=' + encodeURIComponent(q.value)).then((r) => show(r.hits)).catch(() => {});
    }, 150);
  });
  return [el('h3', { text: t('inbox.kb') }), q, list];
}

async function drawSide(conv, history, messages) {
  const side = $('side');
  let contact = {};
  try { contact = await api('GET', `/contacts/${conv.contact_id}`); } catch (e) { /* shown empty */ }
  const purposes = el('datalist', { id: 'purposes' }, st.codes.map((c) => el('option', { value: c.purpose })));
  const subs = el('datalist', { id: 'subtypes' });
  const purpose = el('input', { name: 'purpose', id: 'disp-purpose', list: 'purposes', value: conv.disposition ? conv.disposition.purpose : '' });
  const sub = el('input', { name: 'sub_type', id: 'disp-sub', list: 'subtypes', value: conv.disposition ? conv.disposition.sub_type || '' : '' });
  const fillSubs = () => { const c = st.codes.find((x) => x.purpose === purpose.value); subs.replaceChildren(...(c ? c.sub_types : []).map((x) => el('option', { value: x }))); };
  purpose.addEventListener('input', fillSubs);
  fillSubs();
  const disp = el('form', { id: 'disposition-form' }, purposes, subs, el('label', {}, t('inbox.purpose'), purpose), el('label', {}, t('inbox.subtype'), sub),
    el('button', { type: 'submit', class: 'primary small', text: t('inbox.save') }));
  disp.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { const c = await api('POST', `/inbox/conversations/${conv.id}/disposition`, { purpose: purpose.value, sub_type: sub.value }); st.convs.set(c.id, c); disp.append(el('span', { class: 'badge on', text: '✓' })); } catch (e) { disp.append(el('p', { class: 'error', text: e.message })); }
  });
  const grp = el('select', { id: 'transfer-group' }, st.groups.map((g) => el('option', { value: g.id, text: g.name })));
  const transfer = el('form', { id: 'transfer-form' }, grp, el('button', { type: 'submit', class: 'small', text: t('inbox.toGroup') }));
  transfer.addEventListener('submit', async (ev) => { ev.preventDefault(); try { await api('POST', `/tasks/${conv.id}/transfer`, { group_id: grp.value }); } catch (e) { showError(e.message); } });
  fill(side,
    el('h3', { text: t('inbox.contact') }),
    el('dl', { class: 'kv' }, el('dt', { text: 'ID' }), el('dd', { text: contact.id || '' }), el('dt', { text: t('users.name') }), el('dd', { text: contact.name || '—' }),
      ...(contact.identities || []).flatMap((i) => [el('dt', { text: i.kind }), el('dd', { text: i.value })])),
    el('h3', { text: t('inbox.history') }),
    el('ol', { id: 'contact-history' }, history.map((c) => el('li', { text: `${new Date(c.created_at).toLocaleDateString()} ${c.channel} ${c.disposition ? c.disposition.purpose : ''}` }))),
    kbPanel(messages || []),
    el('h3', { text: t('inbox.disposition') }), disp,
    conv.status !== 'closed' ? el('h3', { text: t('inbox.transfer') }) : null, conv.status !== 'closed' ? transfer : null);
}

function connectInbox() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/inbox/ws`);
  st.ws = ws;
  ws.onmessage = (ev) => onFrame(JSON.parse(ev.data));
  ws.onclose = (ev) => {
    if (socketEnded(ev)) return; // session ended or rights changed: no reconnect
    setTimeout(() => { connectInbox(); loadConversations(); if (st.active) drawThread(); }, 1000);
  };
}

function sendFrame(f) { if (st.ws && st.ws.readyState === WebSocket.OPEN) st.ws.send(JSON.stringify(f)); }

function onFrame(f) {
  if (f.type === 'message' || f.type === 'ack') {
    const m = f.message;
    const conv = st.convs.get(m.conversation_id);
    if (conv) { conv.last_message_at = m.created_at; conv.preview = m.body; }
    if (m.conversation_id === st.active) {
      if (!st.seen.has(m.id)) { st.seen.add(m.id); const box = $('msgs'); box.append(bubble(m)); box.scrollTop = box.scrollHeight; }
      $('typing-hint').hidden = true;
    } else if (f.type === 'message' && m.direction === 'in') {
      st.unread.set(m.conversation_id, (st.unread.get(m.conversation_id) || 0) + 1);
    }
    if (!conv) loadConversations(); else drawList();
  } else if (f.type === 'typing' && f.conversation_id === st.active) {
    $('typing-hint').hidden = false;
    clearTimeout(st.typingTimer);
    st.typingTimer = setTimeout(() => { const h = $('typing-hint'); if (h) h.hidden = true; }, 3000);
  } else if (f.type === 'conversation') {
    const old = st.convs.get(f.conversation.id);
    st.convs.set(f.conversation.id, { ...old, ...f.conversation, disposition: f.conversation.disposition || (old && old.disposition) });
    drawList();
    if (f.conversation.id === st.active) {
      // Update in place: a redraw would lose what the agent is typing.
      const closed = f.conversation.status === 'closed';
      const comp = $('composer');
      if (comp) comp.hidden = closed;
      const btn = $('close-conv');
      if (btn && closed) btn.remove();
      const tf = $('transfer-form');
      if (tf && closed) { tf.previousElementSibling.remove(); tf.remove(); }
    }
  } else if (f.type === 'error') {
    showError(f.error);
  }
}

boot();
