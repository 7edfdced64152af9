// Chinese and English texts of the pages. The choice is kept in the browser.
const texts = {
  zh: {
    product: '全媒体客服中心',
    'login.subtitle': '坐席、班长与管理员登录',
    'login.username': '用户名', 'login.password': '密码', 'login.tenantToggle': '其他企业（租户）',
    'login.tenant': '企业代码', 'login.submit': '登录', 'login.busy': '正在登录…',
    'login.bad': '用户名或密码错误', 'login.limited': '失败次数过多，请稍后再试', 'login.disabled': '账号已停用',
    'login.required': '请输入用户名和密码', 'login.network': '无法连接服务器',
    'login.ended': '会话已结束，请重新登录', 'socket.rights': '您的角色或技能组已变更，正在刷新页面',
    'nav.home': '概览', 'nav.users': '坐席与用户', 'nav.groups': '技能组', 'nav.audit': '登录日志', 'nav.account': '我的账号',
    logout: '退出', role: '角色', 'role.agent': '坐席', 'role.supervisor': '班长', 'role.qa': '质检', 'role.admin': '管理员',
    'home.welcome': '欢迎', 'home.tenant': '企业',
    'users.title': '坐席与用户', 'users.add': '新增用户', 'users.username': '用户名', 'users.name': '姓名', 'users.empno': '工号',
    'users.ext': '分机', 'users.groups': '技能组', 'users.status': '状态', 'users.active': '启用', 'users.disabled': '停用',
    'users.password': '初始密码', 'users.role': '角色', 'users.save': '保存', 'users.disable': '停用', 'users.enable': '启用',
    'groups.title': '技能组', 'groups.add': '新增技能组', 'groups.name': '名称', 'groups.desc': '说明',
    'audit.title': '登录日志', 'audit.time': '时间', 'audit.user': '用户', 'audit.ip': 'IP', 'audit.ua': '客户端', 'audit.outcome': '结果',
    'audit.more': '加载更多', 'audit.filter': '按用户筛选',
    'outcome.success': '成功', 'outcome.bad_password': '密码错误', 'outcome.unknown_user': '用户不存在', 'outcome.disabled': '账号停用', 'outcome.rate_limited': '已限制',
    'account.title': '我的账号', 'account.change': '修改密码', 'account.old': '当前密码', 'account.new': '新密码', 'account.saved': '密码已修改',
    'inbox.kb': '知识库推荐', 'inbox.kbSearch': '搜索知识库…', 'inbox.insert': '插入', 'nav.inbox': '工作台', 'inbox.mine': '我的会话', 'inbox.empty': '选择左侧会话 · Alt+↑/↓ 切换', 'inbox.offer': '新会话', 'inbox.send': '发送',
    'inbox.note': '内部备注', 'inbox.close': '结束会话', 'inbox.transfer': '转接', 'inbox.toGroup': '转到技能组', 'inbox.toAgent': '转给坐席',
    'inbox.contact': '客户资料', 'inbox.history': '历史会话', 'inbox.disposition': '话务标识', 'inbox.purpose': '来电目的', 'inbox.subtype': '子类',
    'inbox.save': '保存', 'inbox.quick': '快捷回复', 'inbox.typing': '客户正在输入…', 'inbox.image': '图片', 'inbox.ended': '会话已结束',
    'nav.routing': '坐席状态', 'nav.monitor': '实时监控',
    'st.signed_out': '已签出', 'st.ready': '示闲', 'st.not_ready': '示忙', 'st.break': '小休', 'st.after_call_work': '话后整理',
    'act.signin': '签入', 'act.signout': '签出', 'act.ready': '示闲', 'act.notready': '示忙', 'act.break': '申请小休', 'act.continue': '继续接待',
    'act.accept': '接受', 'act.reject': '拒绝', 'act.approve': '批准', 'act.deny': '拒绝', 'act.forceNotReady': '强制示忙', 'act.forceSignOut': '强制签出',
    'my.status': '我的状态', 'my.since': '持续', 'my.load': '饱和度', 'my.offers': '待接受', 'my.tasks': '接待中', 'my.notInGroup': '您还没有加入技能组，请联系管理员。',
    'my.breakPending': '小休申请待班长批准', 'reason.meeting': '会议', 'reason.training': '培训', 'reason.other': '其他', 'reason.meal': '用餐', 'reason.rest': '小休',
    'mon.queues': '队列', 'mon.agents': '坐席', 'mon.group': '技能组', 'mon.queued': '排队', 'mon.longest': '最长等待', 'mon.available': '空闲/签入',
    'mon.accepted': '接起', 'mon.abandoned': '放弃', 'mon.sl': '服务水平', 'mon.agent': '坐席', 'mon.state': '状态', 'mon.load': '负载', 'mon.actions': '操作',
    'live.on': '实时', 'live.off': '重连中…', 'minutes': '分钟',
    'account.mylogins': '我的登录记录', 'settings.title': '产品名称', 'settings.save': '保存名称', 'saved': '已保存',
  },
  en: {
    product: 'Omnichannel Contact Center',
    'login.subtitle': 'Sign in for agents, supervisors and admins',
    'login.username': 'Username', 'login.password': 'Password', 'login.tenantToggle': 'Another company (tenant)',
    'login.tenant': 'Company code', 'login.submit': 'Sign in', 'login.busy': 'Signing in…',
    'login.bad': 'Wrong username or password', 'login.limited': 'Too many failed attempts, try again later', 'login.disabled': 'This account is disabled',
    'login.required': 'Enter your username and password', 'login.network': 'Cannot reach the server',
    'login.ended': 'Your session ended; sign in again', 'socket.rights': 'Your role or skill groups changed; reloading the page',
    'nav.home': 'Overview', 'nav.users': 'Agents & users', 'nav.groups': 'Skill groups', 'nav.audit': 'Login log', 'nav.account': 'My account',
    logout: 'Sign out', role: 'Role', 'role.agent': 'Agent', 'role.supervisor': 'Supervisor', 'role.qa': 'QA', 'role.admin': 'Admin',
    'home.welcome': 'Welcome', 'home.tenant': 'Company',
    'users.title': 'Agents & users', 'users.add': 'Add user', 'users.username': 'Username', 'users.name': 'Name', 'users.empno': 'Employee no.',
    'users.ext': 'Extension', 'users.groups': 'Skill groups', 'users.status': 'Status', 'users.active': 'Active', 'users.disabled': 'Disabled',
    'users.password': 'Initial password', 'users.role': 'Role', 'users.save': 'Save', 'users.disable': 'Disable', 'users.enable': 'Enable',
    'groups.title': 'Skill groups', 'groups.add': 'Add skill group', 'groups.name': 'Name', 'groups.desc': 'Description',
    'audit.title': 'Login log', 'audit.time': 'Time', 'audit.user': 'User', 'audit.ip': 'IP', 'audit.ua': 'Client', 'audit.outcome': 'Outcome',
    'audit.more': 'Load more', 'audit.filter': 'Filter by user',
    'outcome.success': 'Success', 'outcome.bad_password': 'Wrong password', 'outcome.unknown_user': 'Unknown user', 'outcome.disabled': 'Disabled', 'outcome.rate_limited': 'Rate limited',
    'account.title': 'My account', 'account.change': 'Change password', 'account.old': 'Current password', 'account.new': 'New password', 'account.saved': 'Password changed',
    'inbox.kb': 'Knowledge base', 'inbox.kbSearch': 'Search the knowledge base…', 'inbox.insert': 'Insert', 'nav.inbox': 'Inbox', 'inbox.mine': 'My conversations', 'inbox.empty': 'Pick a conversation · Alt+↑/↓ to switch', 'inbox.offer': 'New conversation', 'inbox.send': 'Send',
    'inbox.note': 'Internal note', 'inbox.close': 'Close', 'inbox.transfer': 'Transfer', 'inbox.toGroup': 'To group', 'inbox.toAgent': 'To agent',
    'inbox.contact': 'Contact', 'inbox.history': 'Earlier conversations', 'inbox.disposition': 'Disposition', 'inbox.purpose': 'Purpose', 'inbox.subtype': 'Sub-type',
    'inbox.save': 'Save', 'inbox.quick': 'Quick replies', 'inbox.typing': 'Customer is typing…', 'inbox.image': 'Image', 'inbox.ended': 'Conversation ended',
    'nav.routing': 'My status', 'nav.monitor': 'Live monitor',
    'st.signed_out': 'Signed out', 'st.ready': 'Ready', 'st.not_ready': 'Not ready', 'st.break': 'On break', 'st.after_call_work': 'Wrap-up',
    'act.signin': 'Sign in', 'act.signout': 'Sign out', 'act.ready': 'Ready', 'act.notready': 'Not ready', 'act.break': 'Request break', 'act.continue': 'Continue',
    'act.accept': 'Accept', 'act.reject': 'Reject', 'act.approve': 'Approve', 'act.deny': 'Deny', 'act.forceNotReady': 'Force not ready', 'act.forceSignOut': 'Force sign-out',
    'my.status': 'My status', 'my.since': 'for', 'my.load': 'Load', 'my.offers': 'Offers', 'my.tasks': 'Handling', 'my.notInGroup': 'You are not in a skill group yet; ask an admin.',
    'my.breakPending': 'Break requested, waiting for a supervisor', 'reason.meeting': 'Meeting', 'reason.training': 'Training', 'reason.other': 'Other', 'reason.meal': 'Meal', 'reason.rest': 'Rest',
    'mon.queues': 'Queues', 'mon.agents': 'Agents', 'mon.group': 'Skill group', 'mon.queued': 'Waiting', 'mon.longest': 'Longest wait', 'mon.available': 'Available/signed in',
    'mon.accepted': 'Answered', 'mon.abandoned': 'Abandoned', 'mon.sl': 'Service level', 'mon.agent': 'Agent', 'mon.state': 'State', 'mon.load': 'Load', 'mon.actions': 'Actions',
    'live.on': 'Live', 'live.off': 'Reconnecting…', 'minutes': 'minutes',
    'account.mylogins': 'My sign-ins', 'settings.title': 'Product title', 'settings.save': 'Save title', 'saved': 'Saved',
  },
};

export function lang() {
  const l = localStorage.getItem('hub.lang');
  if (l === 'zh' || l === 'en') return l;
  return navigator.language && navigator.language.startsWith('zh') ? 'zh' : 'zh';
}

export function setLang(l) { localStorage.setItem('hub.lang', l); apply(); }

export function t(key) { return texts[lang()][key] ?? texts.zh[key] ?? key; }

// apply fills every element carrying data-i18n with its text.
export function apply(root = document) {
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  const toggle = document.getElementById('lang-toggle');
  if (toggle) toggle.textContent = lang() === 'zh' ? 'English' : '中文';
}
