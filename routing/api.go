package routing

import (
	"fmt"
	"slices"
	"time"
)

// lock takes the clock reading (outside the lock), then the lock, and starts
// the call.
func (e *Engine) lock() {
	now := e.now()
	e.mu.Lock()
	e.begin(now)
}

func (e *Engine) unlock() { e.mu.Unlock() }

// ---- configuration ----

// UpsertGroup creates or updates a group. Updates apply to tasks already
// queued (strategy, costs, boosts, escalation, max wait) and re-run routing
// for the group.
func (e *Engine) UpsertGroup(cfg GroupConfig) ([]Event, error) {
	e.lock()
	defer e.unlock()
	if err := e.validateGroup(&cfg); err != nil {
		return nil, err
	}
	norm := normalizeGroup(cfg)
	g := e.groups[cfg.ID]
	if g == nil {
		e.groups[cfg.ID] = e.newGroup(norm)
		e.updateMinCost()
		return e.end(), nil
	}
	e.applyGroupConfig(g, norm)
	e.updateMinCost()
	for _, m := range sortedMembers(g) {
		e.markAgent(m.a) // new keys, costs and fits on refresh
	}
	for _, t := range e.waitingIn(g) {
		t.boostIdx = min(t.boostIdx, len(norm.PriorityBoosts))
		t.escIdx = min(t.escIdx, len(norm.Escalation))
		e.taskSteps(t)
		e.markTask(t)
	}
	return e.end(), nil
}

func sortedMembers(g *group) []*membership {
	ms := make([]*membership, 0, len(g.members))
	for _, m := range g.members {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *membership) int { return int(a.a.ord - b.a.ord) })
	return ms
}

// waitingIn lists the queued tasks whose group is g, best first.
func (e *Engine) waitingIn(g *group) []*task {
	var ts []*task
	for bi := range g.buckets {
		b := &g.buckets[bi]
		for _, q := range b.h.s {
			if q.q.t.group == g {
				ts = append(ts, q.q.t)
			}
		}
	}
	for _, m := range sortedMembers(g) {
		for _, t := range m.a.reserved {
			if t.group == g {
				ts = append(ts, t)
			}
		}
	}
	slices.SortFunc(ts, func(a, b *task) int {
		if taskLess(a, b) {
			return -1
		}
		if taskLess(b, a) {
			return 1
		}
		return 0
	})
	return ts
}

// RemoveGroup removes a group; it fails with ErrGroupBusy while any task is
// queued in, offered or assigned through it. Agents lose the membership.
func (e *Engine) RemoveGroup(id GroupID) ([]Event, error) {
	e.lock()
	defer e.unlock()
	g := e.groups[id]
	if g == nil {
		return nil, fmt.Errorf("group %q: %w", id, ErrUnknownGroup)
	}
	busy := g.waiting > 0 || g.entries > 0 || g.offersOut > 0
	for _, s := range e.tasks.slots {
		t := s.t
		if busy {
			break
		}
		if t == nil {
			continue
		}
		if t.group == g || (t.assigned != nil && t.assigned.g == g) {
			busy = true
		}
	}
	if busy {
		return nil, fmt.Errorf("group %q: %w", id, ErrGroupBusy)
	}
	for _, m := range sortedMembers(g) {
		e.removeMembership(m.a, m)
		e.touch(m.a)
	}
	delete(e.groups, id)
	e.updateMinCost()
	return e.end(), nil
}

func (e *Engine) removeMembership(a *agent, m *membership) {
	g := m.g
	g.dropAvail(m)
	delete(g.members, a.id)
	e.countState(g, a.state, -1)
	delete(a.membIdx, g.id)
	delete(a.cfg.Groups, g.id)
	delete(a.cfg.GroupCap, g.id)
	for i, x := range a.memb {
		if x == m {
			a.memb = append(a.memb[:i], a.memb[i+1:]...)
			break
		}
	}
	for _, o := range a.held {
		if o.m == m {
			o.m = nil
		}
	}
	for i := 0; i < len(a.reserved); {
		t := a.reserved[i]
		if t.group != g {
			i++
			continue
		}
		e.unreserveFrom(a, t)
		e.insertEntries(t)
		e.scheduleTask(t)
		e.markTask(t)
	}
}

func (e *Engine) addMembership(a *agent, g *group, level, cp int) {
	m := &membership{a: a, g: g, level: level, cap: cp}
	if n := len(e.chNames); n > len(m.apos) {
		m.aposX = make([]int32, n-len(m.apos))
	}
	g.members[a.id] = m
	e.countState(g, a.state, 1)
	a.memb = append(a.memb, m)
	a.membIdx[g.id] = m
	e.touch(a)
	for _, o := range a.held {
		if o.g == g && o.m == nil {
			o.m = m
			m.held++
		}
	}
}

// UpsertAgent creates (signed out) or updates an agent. Lowering a capacity
// or cap below the current load is allowed: the agent then gets nothing new
// until back under its limits.
func (e *Engine) UpsertAgent(cfg AgentConfig) ([]Event, error) {
	e.lock()
	defer e.unlock()
	if err := e.validateAgent(&cfg); err != nil {
		return nil, err
	}
	cfg = cloneAgentConfig(cfg)
	a := e.agents[cfg.ID]
	if a == nil {
		e.agentOrd++
		a = &agent{id: cfg.ID, ord: e.agentOrd, state: StateSignedOut, since: e.cur, connected: true,
			membIdx: map[GroupID]*membership{}, idleAt: e.curNs}
		n := len(e.chNames)
		counts := make([]int, 2*n) // chCount and chMax side by side
		a.chCount, a.chMax = counts[:n:n], counts[n:]
		a.graceTm = timer{kind: tmGrace, a: a}
		a.breakTm = timer{kind: tmBreak, a: a}
		a.acwTm = timer{kind: tmWrap, a: a}
		e.agents[cfg.ID] = a
	}
	a.cfg = cfg
	a.capacity = cfg.Capacity
	if a.capacity == 0 {
		a.capacity = e.opts.DefaultCapacity
	}
	clear(a.chMax)
	a.hasChMax = false
	for ch, n := range cfg.ChannelMax {
		a.chMax[e.chIdx[ch]] = n
		if n > 0 {
			a.hasChMax = true
		}
	}
	for _, m := range slices.Clone(a.memb) {
		if _, ok := cfg.Groups[m.g.id]; !ok {
			e.removeMembership(a, m)
		}
	}
	gids := make([]GroupID, 0, len(cfg.Groups))
	for gid := range cfg.Groups {
		gids = append(gids, gid)
	}
	slices.Sort(gids)
	for _, gid := range gids {
		lvl := max(cfg.Groups[gid], 1)
		cp := cfg.GroupCap[gid]
		if m := a.membIdx[gid]; m != nil {
			m.level, m.cap = lvl, cp
		} else {
			e.addMembership(a, e.groups[gid], lvl, cp)
		}
	}
	e.touch(a)
	e.markAgent(a)
	return e.end(), nil
}

// RemoveAgent signs the agent out (returning its tasks to their queues) and
// removes it.
func (e *Engine) RemoveAgent(id AgentID) ([]Event, error) {
	e.lock()
	defer e.unlock()
	a, err := e.agentByID(id)
	if err != nil {
		return nil, err
	}
	e.signOut(a, ReasonRemoved)
	for _, m := range slices.Clone(a.memb) {
		e.removeMembership(a, m)
	}
	e.unschedule(&a.graceTm)
	e.unschedule(&a.breakTm)
	e.unschedule(&a.acwTm)
	delete(e.agents, id)
	a.dirty = true // never matched again
	return e.end(), nil
}

// UpsertCustomState adds or changes an admin-defined agent state.
func (e *Engine) UpsertCustomState(cs CustomState) ([]Event, error) {
	e.lock()
	defer e.unlock()
	if err := validateCustomState(cs); err != nil {
		return nil, err
	}
	e.custom[cs.Name] = cs.Routable
	for _, a := range e.sortedAgents() {
		if a.state == cs.Name {
			if !cs.Routable {
				e.withdrawOffers(a, ReasonAgentNotReady)
			}
			e.touch(a)
			e.markAgent(a)
		}
	}
	return e.end(), nil
}

func (e *Engine) sortedAgents() []*agent {
	as := make([]*agent, 0, len(e.agents))
	for _, a := range e.agents {
		as = append(as, a)
	}
	slices.SortFunc(as, func(x, y *agent) int { return int(x.ord - y.ord) })
	return as
}

// ResetDailyCounters zeroes the agents' handled-today counts (used by
// fewest_handled) and the groups' counters. Call it at the start of a day.
func (e *Engine) ResetDailyCounters() {
	e.lock()
	defer e.unlock()
	for _, a := range e.sortedAgents() {
		a.handled = 0
		e.touch(a)
	}
	for _, g := range e.groups {
		g.accepted, g.acceptedInSL, g.abandoned, g.overflowed, g.completed = 0, 0, 0, 0, 0
	}
	e.end()
}

// ---- agent states ----

// SignIn signs the agent in as ready (签入). Signing in an agent already
// signed in does nothing. To sign in not ready, use SetState(not_ready).
func (e *Engine) SignIn(id AgentID) ([]Event, error) {
	e.lock()
	defer e.unlock()
	a, err := e.agentByID(id)
	if err != nil {
		return nil, err
	}
	if a.state != StateSignedOut {
		return nil, nil
	}
	a.connected = true
	e.unschedule(&a.graceTm)
	e.setState(a, StateReady, ReasonSignIn)
	return e.end(), nil
}

// SignOut signs the agent out (签出): pending offers are withdrawn and
// assigned tasks go back to the head of their queues (original order kept).
// Pending dispositions, wrap-up and break are cleared.
func (e *Engine) SignOut(id AgentID, reason string) ([]Event, error) {
	e.lock()
	defer e.unlock()
	a, err := e.agentByID(id)
	if err != nil {
		return nil, err
	}
	if reason == "" {
		reason = ReasonSignedOut
	}
	e.signOut(a, reason)
	return e.end(), nil
}

// SetState changes the agent's state: ready (示闲), not_ready with a reason
// (示忙), signed_out, or a custom state. From signed_out it signs the agent
// in. Ready (or a routable custom state) fails with ErrDispositionRequired
// while a disposition is pending; leaving after_call_work for ready is
// ContinueWork. Break and after_call_work cannot be set directly
// (ErrInvalidState): use RequestBreak/ApproveBreak; wrap-up starts on
// Complete.
func (e *Engine) SetState(id AgentID, to AgentState, reason string) ([]Event, error) {
	e.lock()
	defer e.unlock()
	a, err := e.agentByID(id)
	if err != nil {
		return nil, err
	}
	switch to {
	case StateSignedOut:
		if reason == "" {
			reason = ReasonSignedOut
		}
		e.signOut(a, reason)
		return e.end(), nil
	case StateBreak, StateAfterCallWork:
		return nil, fmt.Errorf("agent %q: cannot set %s directly: %w", id, to, ErrInvalidState)
	case StateReady:
	case StateNotReady:
	default:
		if _, ok := e.custom[to]; !ok {
			return nil, fmt.Errorf("agent %q: state %q: %w", id, to, ErrUnknownState)
		}
	}
	if e.stateRoutable(to) && len(a.pending) > 0 {
		return nil, fmt.Errorf("agent %q: %w", id, ErrDispositionRequired)
	}
	if a.state == StateSignedOut {
		a.connected = true
		e.unschedule(&a.graceTm)
	}
	if a.state == StateAfterCallWork && to != StateAfterCallWork {
		r := reason
		if r == "" {
			r = ReasonStateChange
		}
		e.emitWrapUpEnded(a, r)
	}
	if to == StateReady {
		a.noAnswer = 0
	}
	e.setState(a, to, reason)
	return e.end(), nil
}

// RequestBreak asks for a break (小休, 用餐) of duration d (0 = until the
// agent sets another state). The agent keeps working until a supervisor
// calls ApproveBreak.
func (e *Engine) RequestBreak(id AgentID, reason string, d time.Duration) ([]Event, error) {
	e.lock()
	defer e.unlock()
	a, err := e.agentByID(id)
	if err != nil {
		return nil, err
	}
	if d < 0 {
		return nil, cfgErr(fmt.Sprintf("agent %q", id), "break_duration", "must be >= 0")
	}
	if a.state == StateSignedOut || a.state == StateBreak {
		return nil, fmt.Errorf("agent %q: break request in state %s: %w", id, a.state, ErrInvalidState)
	}
	a.breakReq, a.breakWhy, a.breakDur = true, reason, d
	e.emit(Event{Type: EventBreakRequested, AgentID: a.id, Reason: reason, Duration: d})
	return e.end(), nil
}

// ApproveBreak approves the agent's requested break. If a group of the
// agent already has BreakCap members on break, the request is denied: the
// break_denied event is returned with an error wrapping ErrBreakCapReached.
// Pending offers are withdrawn; accepted tasks stay with the agent.
func (e *Engine) ApproveBreak(id AgentID) ([]Event, error) {
	e.lock()
	defer e.unlock()
	a, err := e.agentByID(id)
	if err != nil {
		return nil, err
	}
	if !a.breakReq || a.state == StateSignedOut || a.state == StateBreak {
		return nil, fmt.Errorf("agent %q: no break requested: %w", id, ErrInvalidState)
	}
	a.breakReq = false
	for _, m := range a.memb {
		if c := m.g.cfg.BreakCap; c > 0 && m.g.onBreak >= c {
			e.emit(Event{Type: EventBreakDenied, AgentID: a.id, GroupID: m.g.id, Reason: ReasonBreakCap})
			return e.end(), fmt.Errorf("agent %q: group %q: %w", id, m.g.id, ErrBreakCapReached)
		}
	}
	e.emit(Event{Type: EventBreakApproved, AgentID: a.id, Reason: a.breakWhy, Duration: a.breakDur})
	if a.state == StateAfterCallWork {
		e.emitWrapUpEnded(a, string(StateBreak))
	}
	reason := a.breakWhy
	if reason == "" {
		reason = string(StateBreak)
	}
	e.setState(a, StateBreak, reason)
	if a.breakDur > 0 {
		a.breakUntil = e.cur.Add(a.breakDur)
		e.schedule(&a.breakTm, a.breakUntil.UnixNano())
	}
	return e.end(), nil
}

// DenyBreak denies the agent's requested break.
func (e *Engine) DenyBreak(id AgentID, reason string) ([]Event, error) {
	e.lock()
	defer e.unlock()
	a, err := e.agentByID(id)
	if err != nil {
		return nil, err
	}
	if !a.breakReq {
		return nil, fmt.Errorf("agent %q: no break requested: %w", id, ErrInvalidState)
	}
	a.breakReq = false
	e.emit(Event{Type: EventBreakDenied, AgentID: a.id, Reason: reason})
	return e.end(), nil
}

// ContinueWork ends the agent's wrap-up early. It fails with
// ErrDispositionRequired while a disposition is pending and with
// ErrInvalidState outside after_call_work.
func (e *Engine) ContinueWork(id AgentID) ([]Event, error) {
	e.lock()
	defer e.unlock()
	a, err := e.agentByID(id)
	if err != nil {
		return nil, err
	}
	if a.state != StateAfterCallWork {
		return nil, fmt.Errorf("agent %q: not in wrap-up: %w", id, ErrInvalidState)
	}
	if len(a.pending) > 0 {
		return nil, fmt.Errorf("agent %q: %w", id, ErrDispositionRequired)
	}
	a.acwDone = true
	e.maybeEndACW(a, ReasonContinueWork)
	return e.end(), nil
}

// SetDisposition records the disposition code (话务标识) of a task the agent
// handled and clears the pending requirement for it; wrap-up ends if its
// timer is done. The task may already be completed.
func (e *Engine) SetDisposition(agentID AgentID, taskID TaskID, code string) ([]Event, error) {
	e.lock()
	defer e.unlock()
	a, err := e.agentByID(agentID)
	if err != nil {
		return nil, err
	}
	if i := slices.Index(a.pending, taskID); i >= 0 {
		a.pending = append(a.pending[:i], a.pending[i+1:]...)
	} else if t := e.tasks.get(taskID); t == nil || t.assigned == nil || t.assigned.a != a {
		// Only a task the agent holds or owes a disposition for: anything
		// else would write events about tasks that do not exist.
		return nil, fmt.Errorf("task %q of agent %q: %w", taskID, agentID, ErrUnknownTask)
	}
	e.emit(Event{Type: EventDispositionSet, AgentID: a.id, TaskID: taskID, Code: code})
	e.maybeEndACW(a, ReasonWrapUpEnded)
	e.touch(a)
	e.markAgent(a)
	return e.end(), nil
}

// Disconnected reports that the agent's client connection dropped at `at`.
// The agent gets no new offers; if it does not come back (Connected) within
// Options.PresenceGrace it is signed out and its tasks go back to the head
// of their queues.
func (e *Engine) Disconnected(id AgentID, at time.Time) ([]Event, error) {
	e.lock()
	defer e.unlock()
	a, err := e.agentByID(id)
	if err != nil {
		return nil, err
	}
	if a.state == StateSignedOut || !a.connected {
		return nil, nil
	}
	if at.IsZero() || at.After(e.cur) {
		at = e.cur
	}
	a.connected = false
	e.emit(Event{Type: EventAgentPresence, AgentID: a.id, Reason: ReasonDisconnected})
	e.touch(a)
	deadline := addDur(at.UnixNano(), e.opts.PresenceGrace)
	if e.opts.PresenceGrace < 0 || deadline <= e.curNs {
		e.signOut(a, ReasonDisconnected)
	} else {
		e.schedule(&a.graceTm, deadline)
	}
	return e.end(), nil
}

// Connected reports that the agent's client is connected again, cancelling
// the presence grace period.
func (e *Engine) Connected(id AgentID) ([]Event, error) {
	e.lock()
	defer e.unlock()
	a, err := e.agentByID(id)
	if err != nil {
		return nil, err
	}
	if a.connected {
		return nil, nil
	}
	a.connected = true
	e.unschedule(&a.graceTm)
	e.emit(Event{Type: EventAgentPresence, AgentID: a.id, Reason: ReasonConnected})
	e.touch(a)
	e.markAgent(a)
	return e.end(), nil
}

// ---- tasks ----

// Enqueue adds a task to its group's queue and routes it at once if an
// eligible agent is available. The group's entry rules (closed hours,
// nobody signed in, queue full) may overflow it: the result then carries
// the action for the channel to carry out. Between BeginRestore and
// EndRestore, Enqueue restores a waiting task: no entry rule, no event, no
// routing until EndRestore.
func (e *Engine) Enqueue(spec TaskSpec) (EnqueueResult, []Event, error) {
	e.lock()
	defer e.unlock()
	t, err := e.newTask(spec)
	if err != nil {
		return EnqueueResult{}, nil, err
	}
	e.tasks.put(t)
	e.placeTask(t, t.group, ReasonNew, t.groupSince, !e.restoring, 0)
	e.flush()
	res := EnqueueResult{Task: t.id, Status: t.status, Group: t.group.id, Action: t.action}
	if t.status == TaskQueued {
		res.QueuePosition = e.position(t)
	}
	res.Agents = t.holders()
	return res, e.end(), nil
}

func (t *task) holders() []AgentID {
	var ids []AgentID
	if t.assigned != nil {
		ids = append(ids, t.assigned.a.id)
	}
	for _, o := range t.offers {
		ids = append(ids, o.a.id)
	}
	return ids
}

func (e *Engine) newTask(spec TaskSpec) (*task, error) {
	if spec.ID == "" {
		return nil, cfgErr("task", "id", "must not be empty")
	}
	scope := func() string { return fmt.Sprintf("task %q", spec.ID) } // only built on errors
	if e.tasks.get(spec.ID) != nil {
		return nil, fmt.Errorf("%s: %w", scope(), ErrDuplicateTask)
	}
	ch, ok := e.chIndex(spec.Channel)
	if !ok {
		return nil, fmt.Errorf("%s: channel %q: %w", scope(), spec.Channel, ErrUnknownChannel)
	}
	g := e.groups[spec.Group]
	if g == nil {
		return nil, fmt.Errorf("%s: group %q: %w", scope(), spec.Group, ErrUnknownGroup)
	}
	if spec.RequiredLevel < 0 {
		return nil, cfgErr(scope(), "required_level", "must be >= 0")
	}
	for _, s := range spec.RequiredSkills {
		if e.groups[s] == nil {
			return nil, fmt.Errorf("%s: required_skills: group %q: %w", scope(), s, ErrUnknownGroup)
		}
	}
	enq := spec.EnqueuedAt
	if enq.IsZero() {
		enq = e.cur
	}
	since := spec.GroupSince
	if since.IsZero() {
		since = enq
	}
	seq := spec.Seq
	if seq == 0 {
		seq = e.taskSeq + 1
	}
	e.taskSeq = max(e.taskSeq, seq)
	var t *task
	if n := len(e.freeTasks); n > 0 {
		t = e.freeTasks[n-1]
		e.freeTasks[n-1] = nil
		e.freeTasks = e.freeTasks[:n-1]
	} else {
		t = new(task)
	}
	*t = task{id: spec.ID, ch: int32(ch), contact: spec.Contact, lastAgent: spec.LastAgent,
		reqLevel: spec.RequiredLevel, reqSkills: slices.Clone(spec.RequiredSkills), prio: spec.Priority,
		enq: enq.UnixNano(), enqAt: enq, seq: seq, groupSince: since, group: g}
	t.tm = timer{kind: tmTask, t: t}
	return t, nil
}

// Accept accepts an offer: the task is assigned to the agent. For ring-all
// the other offers are withdrawn in the same call.
func (e *Engine) Accept(agentID AgentID, taskID TaskID) ([]Event, error) {
	e.lock()
	defer e.unlock()
	o, err := e.pendingOffer(agentID, taskID)
	if err != nil {
		return nil, err
	}
	e.accept(o, "")
	return e.end(), nil
}

func (e *Engine) pendingOffer(agentID AgentID, taskID TaskID) (*offer, error) {
	a, err := e.agentByID(agentID)
	if err != nil {
		return nil, err
	}
	t, err := e.taskByID(taskID)
	if err != nil {
		return nil, err
	}
	for _, o := range t.offers {
		if o.a == a {
			return o, nil
		}
	}
	return nil, fmt.Errorf("task %q, agent %q: %w", taskID, agentID, ErrNotOffered)
}

// Reject declines an offer. The task is re-routed to another agent (the
// rejecting agent is skipped for Options.RejectCooldown, then used only if
// nobody else is eligible). Rejects do not count as no-answers.
func (e *Engine) Reject(agentID AgentID, taskID TaskID, reason string) ([]Event, error) {
	e.lock()
	defer e.unlock()
	o, err := e.pendingOffer(agentID, taskID)
	if err != nil {
		return nil, err
	}
	t := o.t
	if reason == "" {
		reason = ReasonOfferRejected
	}
	e.emitTask(EventOfferRejected, t, o.a, o.g, reason)
	e.release(o)
	e.exclude(t, o.a)
	if len(t.offers) == 0 {
		e.requeue(t, ReasonOfferRejected)
	}
	return e.end(), nil
}

// Transfer moves a task (same TaskID) to another agent or group. The
// current holder is freed at once (with wrap-up only if the group sets
// WrapUpOnTransfer); pending offers are withdrawn. To an agent: the agent
// must be routable (ErrAgentNotRoutable) with room (ErrAgentAtCapacity); the
// task is offered to them directly and, if they reject or time out, goes to
// its group's queue. To a group: the task joins the group's queue at its
// original age, subject to the group's entry rules.
func (e *Engine) Transfer(taskID TaskID, to TransferTarget, reason string) ([]Event, error) {
	e.lock()
	defer e.unlock()
	t, err := e.taskByID(taskID)
	if err != nil {
		return nil, err
	}
	if (to.Agent == "") == (to.Group == "") {
		return nil, cfgErr(fmt.Sprintf("task %q", taskID), "transfer_target", "set exactly one of agent and group")
	}
	if reason == "" {
		reason = ReasonTransferred
	}
	var a2 *agent
	var m2 *membership
	var g2 *group
	if to.Group != "" {
		if g2 = e.groups[to.Group]; g2 == nil {
			return nil, fmt.Errorf("group %q: %w", to.Group, ErrUnknownGroup)
		}
	} else {
		if a2, err = e.agentByID(to.Agent); err != nil {
			return nil, err
		}
		if (t.assigned != nil && t.assigned.a == a2) || slices.ContainsFunc(t.offers, func(o *offer) bool { return o.a == a2 }) {
			return nil, fmt.Errorf("task %q already with agent %q: %w", taskID, to.Agent, ErrInvalidState)
		}
		if !e.routable(a2) {
			return nil, fmt.Errorf("agent %q: %w", to.Agent, ErrAgentNotRoutable)
		}
		m2 = a2.membIdx[t.group.id]
		if !e.fitsCost(a2, m2, t.group, int(t.ch)) {
			return nil, fmt.Errorf("agent %q: %w", to.Agent, ErrAgentAtCapacity)
		}
	}
	ev := e.taskEvent(EventTaskTransferred, t, nil, t.group, reason)
	ev.FromGroup = t.group.id
	if a2 != nil {
		ev.ToAgent = a2.id
	} else {
		ev.ToGroup = g2.id
	}
	var from *agent
	var fromG *group
	switch t.status {
	case TaskQueued:
		e.dequeue(t)
		e.emit(ev)
	case TaskOffered:
		e.emit(ev)
		for len(t.offers) > 0 {
			o := t.offers[0]
			e.emitTask(EventOfferWithdrawn, t, o.a, o.g, ReasonTransferred)
			e.release(o)
		}
	case TaskAssigned:
		o := t.assigned
		from, fromG = o.a, o.g
		ev.FromAgent = from.id
		ev.AgentID = from.id
		e.emit(ev)
		e.release(o)
	}
	t.status = ""
	if from != nil && fromG.cfg.WrapUpOnTransfer {
		e.startWrapUp(from, fromG, t.id)
	}
	if a2 != nil {
		e.makeOffer(t, a2, t.group, m2, true)
	} else {
		e.placeTask(t, g2, ReasonTransferred, e.cur, true, 0)
	}
	return e.end(), nil
}

// Complete ends an assigned task (the conversation is over). The agent goes
// to wrap-up if the group has WrapUp or RequireDisposition, else is offered
// the next task in the same call.
func (e *Engine) Complete(taskID TaskID, reason string) ([]Event, error) {
	e.lock()
	defer e.unlock()
	t, err := e.taskByID(taskID)
	if err != nil {
		return nil, err
	}
	if t.status != TaskAssigned {
		return nil, fmt.Errorf("task %q is %s: %w", taskID, t.status, ErrInvalidState)
	}
	e.complete(t, reason)
	return e.end(), nil
}

// Cancel ends a task whose customer left while it was queued or offered
// (task_abandoned). An assigned task is ended with Complete instead
// (ErrInvalidState).
func (e *Engine) Cancel(taskID TaskID, reason string) ([]Event, error) {
	e.lock()
	defer e.unlock()
	t, err := e.taskByID(taskID)
	if err != nil {
		return nil, err
	}
	if reason == "" {
		reason = ReasonAbandoned
	}
	switch t.status {
	case TaskQueued:
		e.dequeue(t)
	case TaskOffered:
		for len(t.offers) > 0 {
			o := t.offers[0]
			e.emitTask(EventOfferWithdrawn, t, o.a, o.g, ReasonAbandoned)
			e.release(o)
		}
	default:
		return nil, fmt.Errorf("task %q is %s: %w", taskID, t.status, ErrInvalidState)
	}
	ev := e.taskEvent(EventTaskAbandoned, t, nil, t.group, reason)
	ev.Duration = e.cur.Sub(t.enqAt)
	e.emit(ev)
	t.group.abandoned++
	e.finish(t, TaskAbandoned)
	return e.end(), nil
}

// Touch reports customer activity on a task at `at` (a message received).
// A silent chat gets its full cost back (task_active), which may put the
// agent over capacity; the engine then offers nothing more to that agent
// until it is back under.
func (e *Engine) Touch(taskID TaskID, at time.Time) ([]Event, error) {
	e.lock()
	defer e.unlock()
	t, err := e.taskByID(taskID)
	if err != nil {
		return nil, err
	}
	n := e.curNs
	if !at.IsZero() && at.UnixNano() < n {
		n = at.UnixNano()
	}
	if n > t.lastAct {
		t.lastAct = n
	}
	if o := t.assigned; o != nil {
		if n > o.lastAct {
			o.lastAct = n
		}
		if o.silent {
			a := o.a
			a.used += o.fullCost - o.cost
			o.cost = o.fullCost
			o.silent = false
			e.emitTask(EventTaskActive, t, a, o.g, "")
			e.touch(a)
		}
		e.scheduleSilence(o)
	}
	return e.end(), nil
}
