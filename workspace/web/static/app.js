import { api, el } from './api.js';
import { apply, lang, setLang, t } from './i18n.js';
import { Live } from './live.js';
import { applyMessage, live, renderMonitor, renderRouting } from './routing.js';

const state = { me: null, tenant: null };
const view = document.getElementById('view');
const staff = (r) => r === 'supervisor' || r === 'admin';

// Sections of the console: who may see each, and its keyboard shortcut (Alt+n).
const sections = [
  { id: 'home', key: 'nav.home', show: () => true, render: renderHome },
  { id: 'routing', key: 'nav.routing', show: () => true, render: (root) => renderRouting(root, state) },
  { id: 'monitor', key: 'nav.monitor', show: (r) => staff(r), render: renderMonitor },
  { id: 'users', key: 'nav.users', show: (r) => staff(r), render: renderUsers },
  { id: 'groups', key: 'nav.groups', show: () => true, render: renderGroups },
  { id: 'audit', key: 'nav.audit', show: (r) => staff(r), render: renderAudit },
  { id: 'account', key: 'nav.account', show: () => true, render: renderAccount },
];

function toast(msg) {
  const box = document.getElementById('toast');
  box.textContent = msg;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 2500);
}

function fmtTime(s) { return s ? new Date(s).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB') : ''; }

function errorLine(e) { return el('p', { class: 'error', role: 'alert', text: e.field ? `${e.field}: ${e.message}` : e.message }); }

async function boot() {
  try {
    const me = await api('GET', '/me');
    state.me = me.user;
    state.tenant = me.tenant;
  } catch (e) {
    location.replace('/login');
    return;
  }
  document.getElementById('logout').addEventListener('click', async () => {
    await api('POST', '/auth/logout').catch(() => {});
    location.replace('/login');
  });
  document.getElementById('lang-toggle').addEventListener('click', () => { setLang(lang() === 'zh' ? 'en' : 'zh'); render(); });
  window.addEventListener('hashchange', render);
  new Live(applyMessage, (on) => { live.connected = on; for (const f of live.listeners) f({}); });
  document.addEventListener('keydown', (ev) => {
    if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const visible = sections.filter((s) => s.show(state.me.role));
    const n = Number(ev.key);
    if (n >= 1 && n <= visible.length) { ev.preventDefault(); location.hash = visible[n - 1].id; }
  });
  render();
}

function render() {
  apply();
  const role = state.me.role;
  document.title = state.tenant.title;
  document.getElementById('product-title').textContent = state.tenant.title;
  document.getElementById('user-name').textContent = state.me.name;
  document.getElementById('user-role').textContent = t('role.' + role);
  const visible = sections.filter((s) => s.show(role));
  const current = visible.find((s) => '#' + s.id === location.hash) || visible[0];
  const nav = document.getElementById('nav');
  nav.replaceChildren(...visible.map((s, i) => el('a', {
    href: '#' + s.id, class: s === current ? 'active' : '', title: `Alt+${i + 1}`, text: t(s.key),
  })));
  view.replaceChildren();
  current.render(view).catch((e) => view.append(errorLine(e)));
}

async function renderHome(root) {
  root.append(el('section', { class: 'card' },
    el('h2', { text: `${t('home.welcome')}, ${state.me.name}` }),
    el('dl', { class: 'facts' },
      el('dt', { text: t('home.tenant') }), el('dd', { id: 'tenant-name', text: state.tenant.name }),
      el('dt', { text: t('role') }), el('dd', { text: t('role.' + state.me.role) }),
      el('dt', { text: t('users.empno') }), el('dd', { text: state.me.employee_no || '—' }),
      el('dt', { text: t('users.ext') }), el('dd', { text: state.me.extension || '—' }))));
  if (state.me.role === 'admin') {
    const input = el('input', { id: 'title-input', value: state.tenant.title, maxlength: 64 });
    const form = el('form', { class: 'card inline', id: 'title-form' },
      el('h3', { text: t('settings.title') }), input,
      el('button', { type: 'submit', class: 'primary', text: t('settings.save') }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        state.tenant = await api('PATCH', '/tenant', { title: input.value });
        toast(t('saved'));
        render();
      } catch (e) { form.append(errorLine(e)); }
    });
    root.append(form);
  }
}

async function renderUsers(root) {
  const [{ users }, { groups }] = await Promise.all([api('GET', '/users?include_disabled=true'), api('GET', '/groups')]);
  const groupName = Object.fromEntries(groups.map((g) => [g.id, g.name]));
  const admin = state.me.role === 'admin';
  const table = el('table', { class: 'grid', id: 'users-table' },
    el('thead', {}, el('tr', {}, ['users.username', 'users.name', 'users.empno', 'users.ext', 'users.role', 'users.groups', 'users.status', ''].map((k) => el('th', { text: k ? t(k) : '' })))),
    el('tbody', {}, users.map((u) => el('tr', { dataset: { id: u.id } },
      el('td', { text: u.username }), el('td', { text: u.name }), el('td', { text: u.employee_no || '' }),
      el('td', { text: u.extension || '' }), el('td', { text: t('role.' + u.role) }),
      el('td', { text: (u.groups || []).map((m) => `${groupName[m.group_id] || m.group_id} (L${m.level})`).join(', ') }),
      el('td', {}, el('span', { class: u.disabled ? 'badge off' : 'badge on', text: t(u.disabled ? 'users.disabled' : 'users.active') })),
      el('td', {}, admin && u.id !== state.me.id ? el('button', {
        type: 'button', class: 'small', text: t(u.disabled ? 'users.enable' : 'users.disable'),
        onclick: async () => { await api('PATCH', '/users/' + u.id, { disabled: !u.disabled }); render(); },
      }) : null)))));
  root.append(el('section', { class: 'card' }, el('h2', { text: t('users.title') }), table));
  if (!admin) return;
  const f = el('form', { class: 'card form-grid', id: 'user-form' },
    el('h3', { text: t('users.add') }),
    el('label', {}, t('users.username'), el('input', { name: 'username', required: true })),
    el('label', {}, t('users.name'), el('input', { name: 'name' })),
    el('label', {}, t('users.password'), el('input', { name: 'password', type: 'password', autocomplete: 'new-password' })),
    el('label', {}, t('users.role'), el('select', { name: 'role' }, ['agent', 'supervisor', 'qa', 'admin'].map((r) => el('option', { value: r, text: t('role.' + r) })))),
    el('label', {}, t('users.empno'), el('input', { name: 'employee_no' })),
    el('label', {}, t('users.ext'), el('input', { name: 'extension', inputmode: 'numeric' })),
    el('fieldset', {}, el('legend', { text: t('users.groups') }), groups.map((g) => el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'group', value: g.id }), g.name))),
    el('button', { type: 'submit', class: 'primary', text: t('users.save') }));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const d = new FormData(f);
    f.querySelectorAll('.error').forEach((x) => x.remove());
    try {
      await api('POST', '/users', {
        username: d.get('username'), name: d.get('name'), password: d.get('password'), role: d.get('role'),
        employee_no: d.get('employee_no'), extension: d.get('extension'),
        groups: d.getAll('group').map((id) => ({ group_id: id, level: 1 })),
      });
      toast(t('saved'));
      render();
    } catch (e) { f.append(errorLine(e)); }
  });
  root.append(f);
}

async function renderGroups(root) {
  const { groups } = await api('GET', '/groups?include_disabled=true');
  root.append(el('section', { class: 'card' }, el('h2', { text: t('groups.title') }),
    el('table', { class: 'grid', id: 'groups-table' },
      el('thead', {}, el('tr', {}, el('th', { text: t('groups.name') }), el('th', { text: t('groups.desc') }), el('th', { text: t('users.status') }))),
      el('tbody', {}, groups.map((g) => el('tr', {}, el('td', { text: g.name }), el('td', { text: g.description }),
        el('td', {}, el('span', { class: g.disabled ? 'badge off' : 'badge on', text: t(g.disabled ? 'users.disabled' : 'users.active') }))))))));
  if (state.me.role !== 'admin') return;
  const f = el('form', { class: 'card inline', id: 'group-form' }, el('h3', { text: t('groups.add') }),
    el('input', { name: 'name', placeholder: t('groups.name'), required: true }),
    el('input', { name: 'description', placeholder: t('groups.desc') }),
    el('button', { type: 'submit', class: 'primary', text: t('users.save') }));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', '/groups', { name: f.name.value, description: f.description.value });
      toast(t('saved'));
      render();
    } catch (e) { f.append(errorLine(e)); }
  });
  root.append(f);
}

function loginTable(id, rows) {
  return el('table', { class: 'grid', id },
    el('thead', {}, el('tr', {}, ['audit.time', 'audit.user', 'audit.ip', 'audit.ua', 'audit.outcome'].map((k) => el('th', { text: t(k) })))),
    el('tbody', {}, rows.map(loginRow)));
}

function loginRow(l) {
  return el('tr', { class: 'outcome-' + l.outcome },
    el('td', { text: fmtTime(l.time) }), el('td', { text: l.username }), el('td', { text: l.ip }),
    el('td', { class: 'ua', text: l.user_agent, title: l.user_agent }), el('td', { text: t('outcome.' + l.outcome) }));
}

async function pagedLogins(root, id, path) {
  const box = el('div');
  root.append(box);
  let cursor = '';
  const table = loginTable(id, []);
  const more = el('button', { type: 'button', text: t('audit.more'), hidden: true });
  box.append(table, more);
  async function load() {
    const sep = path.includes('?') ? '&' : '?';
    const res = await api('GET', path + (cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''));
    table.tBodies[0].append(...res.logins.map(loginRow));
    cursor = res.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener('click', load);
  await load();
}

async function renderAudit(root) {
  const filter = el('input', { id: 'audit-user', placeholder: t('audit.filter') });
  const card = el('section', { class: 'card' }, el('h2', { text: t('audit.title') }), filter);
  root.append(card);
  const holder = el('div');
  card.append(holder);
  const load = () => {
    holder.replaceChildren();
    const u = filter.value.trim();
    return pagedLogins(holder, 'audit-table', '/audit/logins?limit=50' + (u ? '&user=' + encodeURIComponent(u) : ''));
  };
  filter.addEventListener('change', load);
  await load();
}

async function renderAccount(root) {
  const f = el('form', { class: 'card form-grid', id: 'password-form' }, el('h2', { text: t('account.change') }),
    el('label', {}, t('account.old'), el('input', { name: 'old', type: 'password', autocomplete: 'current-password' })),
    el('label', {}, t('account.new'), el('input', { name: 'new', type: 'password', autocomplete: 'new-password' })),
    el('button', { type: 'submit', class: 'primary', text: t('users.save') }));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    f.querySelectorAll('.error').forEach((x) => x.remove());
    try {
      await api('PUT', '/me/password', { old_password: f.old.value, new_password: f.new.value });
      f.reset();
      toast(t('account.saved'));
    } catch (e) { f.append(errorLine(e)); }
  });
  const card = el('section', { class: 'card' }, el('h2', { text: t('account.mylogins') }));
  root.append(f, card);
  await pagedLogins(card, 'my-logins', '/me/logins?limit=20');
}

boot();
