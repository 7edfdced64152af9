// Customer chat page: picks a skill group, chats over the customer socket,
// reconnects without loss (pending messages are resent with the same client
// id, which the hub stores once; missed messages are fetched with sync) and
// rates the conversation at the end. Text is always shown as text.
const q = new URLSearchParams(location.search);
const tenant = q.get('tenant') || 'default';
const presetGroup = q.get('group') || '';
const $ = (id) => document.getElementById(id);
// The browser keeps its visitor token (never a visitor id): presented on
// the next visit, it continues the same visitor; the hub issues the ids.
const key = `hub.visitorToken.${tenant}`;
localStorage.removeItem(`hub.visitor.${tenant}`); // visitor ids kept by older pages prove nothing
// A site that signs its customer in passes the signed claim in the
// fragment (never sent to a server): #user_id=..&user_name=..&user_hash=..
const claim = new URLSearchParams(location.hash.slice(1));

const state = { token: '', ws: null, conv: null, seen: new Map(), pending: new Map(), lastId: '', delay: 500, typingAt: 0 };

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function notice(text) { const n = $('notice'); n.textContent = text; n.hidden = !text; }

function newClientId() { return 'c-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10); }

function render(m, pending) {
  if (m.id && state.seen.has(m.id)) return;
  // The stored copy of a message still pending here (its ack was lost with
  // the connection) confirms it where the customer sent it: shown once.
  if (m.id && m.client_id && state.pending.has(m.client_id)) { confirm(m); return; }
  const cls = m.kind === 'system' ? 'msg system' : `msg ${m.direction === 'in' ? 'in' : 'out'}`;
  const box = el('div', cls + (pending ? ' pending' : ''));
  box.dataset.client = m.client_id || '';
  if (m.id) box.dataset.id = m.id;
  if (m.direction !== 'in' && m.kind !== 'system' && m.sender_name) box.append(el('span', 'who', m.sender_name));
  if (m.kind === 'image' && m.attachments && m.attachments.length) {
    const img = el('img');
    img.src = m.attachments[0].url;
    img.alt = m.attachments[0].name;
    box.append(img);
  } else {
    box.append(document.createTextNode(m.body));
  }
  if (m.client_id && !m.id) {
    const old = document.querySelector(`.msg[data-client="${CSS.escape(m.client_id)}"]`);
    if (old) old.remove();
  }
  $('messages').append(box);
  if (m.id) { state.seen.set(m.id, box); if (m.id > state.lastId) state.lastId = m.id; }
  $('messages').scrollTop = $('messages').scrollHeight;
}

function confirm(m) {
  const box = document.querySelector(`.msg.pending[data-client="${CSS.escape(m.client_id)}"]`);
  state.pending.delete(m.client_id);
  if (box) { box.classList.remove('pending'); box.dataset.id = m.id; state.seen.set(m.id, box); if (m.id > state.lastId) state.lastId = m.id; }
  else render(m);
}

function setConversation(c) {
  state.conv = c;
  const open = c && c.status !== 'closed';
  $('picker').hidden = !!open || !!(c && c.status === 'closed' && !c.rated);
  $('composer').hidden = !open;
  $('end').hidden = !open;
  $('human').hidden = !(c && c.status === 'bot');
  if (c && c.status === 'assigned') notice('');
  if (c && c.status === 'closed' && !c.rated) { $('rate').hidden = false; $('composer').hidden = true; }
}

function send(frame) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) { state.ws.send(JSON.stringify(frame)); return true; }
  return false;
}

function sendMessage(frame) {
  frame.client_id = frame.client_id || newClientId();
  state.pending.set(frame.client_id, frame);
  if (frame.kind !== 'image') render({ client_id: frame.client_id, direction: 'in', kind: 'text', body: frame.body }, true);
  send(frame); // if the socket is down, it is resent on reconnect
}

function onFrame(f) {
  switch (f.type) {
    case 'welcome':
      if (f.conversation) {
        setConversation(f.conversation);
        for (const m of f.messages || []) render(m);
        for (const p of state.pending.values()) send(p); // resend after a reconnect
        if (state.lastId) send({ type: 'sync', after: state.lastId });
      } else if (presetGroup && !state.conv) send({ type: 'start', group: presetGroup });
      else if (!state.conv || state.conv.status === 'closed') $('picker').hidden = false;
      break;
    case 'started': setConversation(f.conversation); if (f.conversation.status !== 'bot') notice('正在为您接通客服… · Connecting you to an agent…'); break;
    case 'queue': notice(f.wait_s > 0
      ? `您前面还有 ${f.position - 1} 位，预计等待 ${Math.max(1, Math.round(f.wait_s / 60))} 分钟 · Position ${f.position} in queue`
      : `您前面还有 ${f.position - 1} 位，暂时无法估计等待时间 · Position ${f.position} in queue; the wait cannot be estimated yet`); $('notice').dataset.position = f.position; break;
    case 'status': setConversation(f.conversation); break;
    case 'message':
      render(f.message);
      if (f.message.kind === 'system' && /服务|joined/.test(f.message.body)) { $('agent').textContent = f.message.body.split('·')[0]; notice(''); }
      $('typing').hidden = true;
      break;
    case 'ack': confirm(f.message); break;
    case 'sync': for (const m of f.messages || []) render(m); break; // an older hub omits an empty list
    case 'typing': $('typing').hidden = false; clearTimeout(state.typingTimer); state.typingTimer = setTimeout(() => { $('typing').hidden = true; }, 3000); break;
    case 'ended': setConversation(f.conversation); notice(''); break;
    case 'overflow': setConversation(f.conversation); $('leave').hidden = false; $('picker').hidden = true; notice('当前非工作时间或坐席繁忙 · We cannot answer right now'); break;
    case 'bot': {
      // Was this helpful? under the bot's answer.
      const box = el('div', 'msg system helpful');
      box.append(document.createTextNode('这个回答有帮助吗？· Helpful? '));
      for (const [label, v] of [['👍', true], ['👎', false]]) {
        const b = el('button', 'link', label);
        b.type = 'button';
        b.dataset.helpful = String(v);
        b.addEventListener('click', () => { send({ type: 'feedback', article_id: f.article_id, helpful: v }); box.textContent = '谢谢反馈 · Thanks'; });
        box.append(b);
      }
      $('messages').append(box);
      break;
    }
    case 'choices': {
      const box = el('div', 'msg system choices');
      for (const c of f.choices) {
        const b = el('button', 'choice', c.question);
        b.type = 'button';
        b.addEventListener('click', () => sendMessage({ type: 'message', kind: 'text', body: c.question }));
        box.append(b);
      }
      $('messages').append(box);
      $('messages').scrollTop = $('messages').scrollHeight;
      break;
    }
    case 'rated': $('rate').hidden = true; $('thanks').hidden = false; break;
    case 'error': {
      if (f.client_id) { const b = document.querySelector(`.msg[data-client="${CSS.escape(f.client_id)}"]`); if (b) b.classList.add('failed'); state.pending.delete(f.client_id); }
      notice(f.error);
      break;
    }
  }
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/webchat/ws?token=${encodeURIComponent(state.token)}`);
  state.ws = ws;
  ws.onopen = () => { state.delay = 500; $('conn').classList.add('on'); };
  ws.onmessage = (ev) => onFrame(JSON.parse(ev.data));
  ws.onclose = () => {
    $('conn').classList.remove('on');
    setTimeout(connect, state.delay);
    state.delay = Math.min(state.delay * 2, 8000);
  };
}

async function boot() {
  const body = { tenant, token: localStorage.getItem(key) || '' };
  for (const f of ['user_id', 'user_name', 'user_hash']) if (claim.get(f)) body[f] = claim.get(f);
  const resp = await fetch('/api/v1/webchat/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const s = await resp.json();
  if (!resp.ok) { notice(s.error ? s.error.message : 'error'); return; }
  localStorage.setItem(key, s.token);
  state.token = s.token;
  $('title').textContent = s.title;
  document.title = s.title;
  $('groups').replaceChildren(...s.groups.map((g) => {
    const b = el('button', '', g.name);
    b.type = 'button';
    b.dataset.group = g.id;
    b.addEventListener('click', () => { send({ type: 'start', group: g.id }); $('picker').hidden = true; $('thanks').hidden = true; $('rate').hidden = true; });
    return b;
  }));
  connect();
}

$('composer').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const body = $('input').value.trim();
  if (!body) return;
  $('input').value = '';
  sendMessage({ type: 'message', kind: 'text', body });
});
$('input').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); $('composer').requestSubmit(); return; }
  if (Date.now() - state.typingAt > 2000) { state.typingAt = Date.now(); send({ type: 'typing' }); }
});
const emojis = ['😊', '😂', '👍', '🙏', '😢', '😡', '❤️', '🎉', '👌', '🤔', '😅', '👋', '💡', '📶', '📺', '📞'];
$('emoji').replaceChildren(...emojis.map((e) => { const b = el('button', '', e); b.type = 'button'; b.addEventListener('click', () => { $('input').value += e; $('emoji').hidden = true; $('input').focus(); }); return b; }));
$('emoji-btn').addEventListener('click', () => { $('emoji').hidden = !$('emoji').hidden; });
$('image-btn').addEventListener('click', () => $('image-input').click());
$('image-input').addEventListener('change', async () => {
  const file = $('image-input').files[0];
  $('image-input').value = '';
  if (!file) return;
  if (file.size > 10 * 1024 * 1024) { notice('图片不能超过 10 MB · Images up to 10 MB'); return; }
  const fd = new FormData();
  fd.append('file', file);
  const resp = await fetch('/api/v1/webchat/upload?token=' + encodeURIComponent(state.token), { method: 'POST', body: fd });
  const a = await resp.json();
  if (!resp.ok) { notice(a.error ? a.error.message : 'upload failed'); return; }
  sendMessage({ type: 'message', kind: 'image', attachment_id: a.id });
});
$('end').addEventListener('click', () => send({ type: 'end' }));
$('human').addEventListener('click', () => send({ type: 'human' }));
let score = 0;
$('stars').replaceChildren(...[1, 2, 3, 4, 5].map((n) => {
  const b = el('button', '', '★');
  b.type = 'button';
  b.dataset.score = n;
  b.addEventListener('click', () => { score = n; for (const x of $('stars').children) x.classList.toggle('on', Number(x.dataset.score) <= n); });
  return b;
}));
$('rate').addEventListener('submit', (ev) => { ev.preventDefault(); if (score) send({ type: 'rate', score, comment: $('rate').comment.value }); });
$('leave').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = $('leave');
  const resp = await fetch('/api/v1/webchat/leave-message', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: state.token, group: state.conv ? state.conv.group : presetGroup, name: f.name.value, phone: f.phone.value, message: f.message.value }) });
  if (resp.ok) { f.hidden = true; notice('留言已提交，我们会尽快联系您 · Message received'); } else { const e = await resp.json(); notice(e.error.message); }
});

// A handle for tests and for support staff reproducing a dropped network:
// hubChat.drop() closes the socket as a network cut would.
window.hubChat = { drop: () => state.ws && state.ws.close(), pending: () => state.pending.size };

boot();
