package routing

import "time"

// ---- task side: a task looks for an agent ----

// dispatch offers a queued task to the best eligible available agent, if any.
func (e *Engine) dispatch(t *task) {
	if t.status != TaskQueued || e.restoring {
		return
	}
	e.refreshAvail()
	if a := t.reservedFor; a != nil {
		m := a.membIdx[t.group.id]
		if e.eligible(a, m, t.group, t, 0) {
			e.dequeue(t)
			e.makeOffer(t, a, t.group, m, true)
		}
		return
	}
	g := t.group
	if g.cfg.Strategy == StrategyRingAll {
		e.ring(t)
		return
	}
	if g.cfg.Strategy == StrategyLastAgent && t.lastAgent != "" {
		if a := e.agents[t.lastAgent]; a != nil {
			if m := a.membIdx[g.id]; m != nil && e.eligible(a, m, g, t, t.maxLevel) {
				if _, ex := t.exclusion(a.id); !ex {
					e.dequeue(t)
					e.makeOffer(t, a, g, m, true)
					return
				}
			}
		}
	}
	var fb *membership
	for i := -1; i < len(t.extra); i++ {
		gg, lvl := g, t.maxLevel
		if i >= 0 {
			gg, lvl = t.extra[i], 0
		}
		h := gg.avail[t.ch]
		if h == nil {
			continue
		}
		var found *membership
		h.walk(&e.walkBuf, func(sl aslot) walkAction {
			m := sl.m
			if !e.eligible(m.a, m, gg, t, lvl) {
				return walkExpand
			}
			if until, ok := t.exclusion(m.a.id); ok {
				if until <= e.curNs && fb == nil {
					fb = m
				}
				return walkExpand
			}
			found = m
			return walkStop
		})
		if found != nil {
			e.dequeue(t)
			e.makeOffer(t, found.a, gg, found, true)
			return
		}
	}
	if fb != nil {
		e.dequeue(t)
		e.makeOffer(t, fb.a, fb.g, fb, true)
	}
}

// ring offers t to every eligible available agent of its groups at once
// (ring-all). If one of them auto-accepts, only that one is offered. It
// reports whether any offer was made.
func (e *Engine) ring(t *task) bool {
	e.refreshAvail()
	e.markGen++
	cands := e.candBuf[:0]
	fbs := e.fbBuf[:0]
	for i := -1; i < len(t.extra); i++ {
		gg, lvl := t.group, t.maxLevel
		if i >= 0 {
			gg, lvl = t.extra[i], 0
		}
		h := gg.avail[t.ch]
		if h == nil {
			continue
		}
		h.walk(&e.walkBuf, func(sl aslot) walkAction {
			m := sl.m
			a := m.a
			if a.mark == e.markGen || !e.eligible(a, m, gg, t, lvl) {
				return walkExpand
			}
			a.mark = e.markGen
			if until, ok := t.exclusion(a.id); ok {
				if until <= e.curNs {
					fbs = append(fbs, m)
				}
				return walkExpand
			}
			cands = append(cands, m)
			return walkExpand
		})
	}
	if len(cands) == 0 {
		cands = fbs
	}
	defer func() {
		clear(e.candBuf[:cap(e.candBuf)])
		clear(e.fbBuf[:cap(e.fbBuf)])
	}()
	e.candBuf, e.fbBuf = cands[:0], fbs[:0]
	if len(cands) == 0 {
		return false
	}
	e.dequeue(t)
	for _, m := range cands {
		if m.a.cfg.AutoAccept || m.g.cfg.AutoAccept {
			e.makeOffer(t, m.a, m.g, m, true)
			return true
		}
	}
	t.ringing = true
	for _, m := range cands {
		e.makeOffer(t, m.a, m.g, m, false)
	}
	return true
}

// ---- agent side: an agent with room looks for a task ----

// matchAgent offers a the best queued tasks it can take, until it is full
// or nothing fits.
func (e *Engine) matchAgent(a *agent) {
	for e.routable(a) {
		t, g, m := e.bestTaskFor(a)
		if t == nil {
			return
		}
		if t.group.cfg.Strategy == StrategyRingAll && t.reservedFor == nil {
			// Ring every eligible agent; a may lose to agents preferred
			// over it (it rejected this task before): then look further.
			if !e.ring(t) {
				return
			}
			continue
		}
		e.dequeue(t)
		e.makeOffer(t, a, g, m, true)
	}
}

// bestTaskFor returns the best queued task a can take, with the group it is
// taken through. Tasks waiting for a as their last agent come first.
func (e *Engine) bestTaskFor(a *agent) (*task, *group, *membership) {
	var rb *task
	for _, t := range a.reserved {
		if !e.eligible(a, a.membIdx[t.group.id], t.group, t, 0) {
			continue
		}
		if rb == nil || taskLess(t, rb) {
			rb = t
		}
	}
	if rb != nil {
		return rb, rb.group, a.membIdx[rb.group.id]
	}
	var best qslot
	found := false
	var bestM *membership
	for _, m := range a.memb {
		g := m.g
		if g.entries == 0 || (m.cap > 0 && m.held >= m.cap) {
			continue
		}
		for bi := range g.buckets {
			b := &g.buckets[bi]
			if b.h.len() == 0 || (b.maxLevel > 0 && m.level > b.maxLevel) {
				continue
			}
			if found && !qLess(b.h.s[0], best) {
				continue
			}
			if !e.fitsCost(a, m, g, b.ch) {
				continue
			}
			if top := b.h.s[0]; !top.special || e.taskOKFor(top.q.t, a) {
				best, bestM, found = top, m, true
				continue
			}
			b.h.walk(&e.walkBuf, func(q qslot) walkAction {
				if found && !qLess(q, best) {
					return walkStop
				}
				if !q.special || e.taskOKFor(q.q.t, a) {
					best, bestM, found = q, m, true
					return walkStop
				}
				return walkExpand
			})
		}
	}
	if !found {
		return nil, nil, nil
	}
	return best.q.t, best.q.g, bestM
}

// taskOKFor checks the per-task conditions of a queued task for a (the
// bucket already matched channel, level and capacity).
func (e *Engine) taskOKFor(t *task, a *agent) bool {
	if until, ok := t.exclusion(a.id); ok && until > e.curNs {
		return false
	}
	return e.skillsOK(a, t)
}

// ---- offers ----

// makeOffer reserves capacity on a for t and emits task_offered; with
// allowAuto an auto-accepting agent or group accepts at once.
func (e *Engine) makeOffer(t *task, a *agent, g *group, m *membership, allowAuto bool) {
	cost := g.cost[t.ch]
	o := e.newOffer()
	*o = offer{t: t, a: a, g: g, m: m, ch: int(t.ch), cost: cost, fullCost: cost, at: e.cur}
	o.tm = timer{kind: tmOffer, o: o}
	a.used += cost
	a.chCount[t.ch]++
	if e.exclusive[t.ch] {
		a.exclusive++
	}
	if m != nil {
		m.held++
		if g.cfg.Strategy == StrategyRoundRobin {
			g.rr++
			m.rr = g.rr
		}
	}
	a.held = append(a.held, o)
	if t.offers == nil {
		t.offers = t.offBuf[:0]
	}
	t.offers = append(t.offers, o)
	t.status = TaskOffered
	t.offersCount++
	g.offersOut++
	e.emitTask(EventTaskOffered, t, a, g, "")
	if allowAuto && (a.cfg.AutoAccept || g.cfg.AutoAccept) {
		e.accept(o, "auto_accept")
	} else {
		e.schedule(&o.tm, addDur(e.curNs, g.cfg.OfferTimeout))
	}
	e.touch(a)
}

// accept turns offer o into the assignment, withdrawing the other offers of
// the task (ring-all losers) in the same call.
func (e *Engine) accept(o *offer, reason string) {
	t, a, g := o.t, o.a, o.g
	for len(t.offers) > 1 {
		other := t.offers[0]
		if other == o {
			other = t.offers[1]
		}
		e.emitTask(EventOfferWithdrawn, t, other.a, other.g, ReasonAnsweredElsewhere)
		e.release(other)
	}
	e.unschedule(&o.tm)
	o.accepted = true
	o.acceptedAt = e.cur
	o.lastAct = e.curNs
	if t.lastAct > o.lastAct {
		o.lastAct = t.lastAct
	}
	clear(t.offers)
	t.offers = t.offers[:0]
	t.ringing = false
	t.assigned = o
	t.status = TaskAssigned
	g.offersOut--
	a.noAnswer = 0
	a.handled++
	wait := e.cur.Sub(t.enqAt)
	g.accepted++
	if wait <= e.opts.ServiceLevel {
		g.acceptedInSL++
	}
	g.ewmaWait = ewma(g.ewmaWait, float64(wait), g.accepted == 1)
	e.emitTask(EventOfferAccepted, t, a, g, reason).Duration = wait
	o.tm = timer{kind: tmSilent, o: o}
	e.scheduleSilence(o)
	e.touch(a)
}

func ewma(old, v float64, first bool) float64 {
	if first {
		return v
	}
	return old*0.8 + v*0.2
}

// release frees the capacity held by o (pending or accepted).
func (e *Engine) release(o *offer) {
	a, t := o.a, o.t
	a.used -= o.cost
	a.chCount[o.ch]--
	if e.exclusive[o.ch] {
		a.exclusive--
	}
	if o.m != nil {
		o.m.held--
	}
	for i, x := range a.held {
		if x == o {
			a.held = append(a.held[:i], a.held[i+1:]...)
			break
		}
	}
	if o.accepted {
		if t.assigned == o {
			t.assigned = nil
		}
	} else {
		for i, x := range t.offers {
			if x == o {
				t.offers = append(t.offers[:i], t.offers[i+1:]...)
				break
			}
		}
		o.g.offersOut--
	}
	e.unschedule(&o.tm)
	a.idleAt = e.curNs
	e.touch(a)
	e.markAgent(a)
	// Nothing refers to o any more but the caller, which may still read
	// it: it becomes reusable when the call ends.
	e.relOffers = append(e.relOffers, o)
}

// newOffer returns an offer to fill: one released by an earlier call, or
// a new one.
func (e *Engine) newOffer() *offer {
	if n := len(e.freeOffers); n > 0 {
		o := e.freeOffers[n-1]
		e.freeOffers[n-1] = nil
		e.freeOffers = e.freeOffers[:n-1]
		return o
	}
	return new(offer)
}

// timeoutOffer handles an offer not accepted within the group's OfferTimeout.
func (e *Engine) timeoutOffer(o *offer) {
	t, a, g := o.t, o.a, o.g
	e.emitTask(EventOfferTimeout, t, a, g, ReasonOfferTimeout)
	e.release(o)
	e.exclude(t, a)
	a.noAnswer++
	if mx := g.cfg.MaxNoAnswer; mx > 0 && a.noAnswer >= mx && a.state != StateSignedOut && e.stateRoutable(a.state) {
		a.noAnswer = 0
		e.setState(a, StateNotReady, ReasonNoAnswer)
	}
	if len(t.offers) == 0 && t.status == TaskOffered {
		e.requeue(t, ReasonOfferTimeout)
	}
}

// withdrawOffers withdraws every pending offer held by a.
func (e *Engine) withdrawOffers(a *agent, reason string) {
	for i := 0; i < len(a.held); {
		o := a.held[i]
		if o.accepted {
			i++
			continue
		}
		t := o.t
		e.emitTask(EventOfferWithdrawn, t, a, o.g, reason)
		e.release(o)
		if len(t.offers) == 0 && t.status == TaskOffered {
			e.requeue(t, reason)
		}
	}
}

// ---- queue placement ----

// requeue puts a task whose offers all ended back in its queues, at its
// original place (its age is kept).
func (e *Engine) requeue(t *task, reason string) {
	t.status = TaskQueued
	t.ringing = false
	t.group.waiting++
	e.insertEntries(t)
	e.emitTask(EventTaskQueued, t, nil, nil, reason).QueuePosition = e.position(t)
	if !e.restoring {
		e.taskSteps(t)
	}
	e.markTask(t)
}

// placeTask puts t into group g, applying the group's entry checks (closed,
// nobody signed in, queue full) and overflow actions when check is set. It
// reports false when the task left the engine.
func (e *Engine) placeTask(t *task, g *group, reason string, since time.Time, check bool, hops int) bool {
	for check {
		act, why := e.entryAction(g)
		if why == "" {
			break
		}
		if act.Kind != OverflowGroup {
			e.overflowOut(t, g, act, why)
			return false
		}
		to := e.groups[act.Group]
		if to == nil || hops >= e.opts.MaxOverflowHops {
			e.overflowOut(t, g, OverflowAction{Kind: OverflowReject}, ReasonOverflowLoop)
			return false
		}
		ev := e.taskEvent(EventTaskOverflowed, t, nil, g, why)
		ev.FromGroup, ev.ToGroup = g.id, to.id
		a := act
		ev.Action = &a
		e.emit(ev)
		g.overflowed++
		g = to
		hops++
		reason = why
		since = e.cur
	}
	t.group = g
	t.groupSince = since
	t.maxLevel = g.cfg.InitialLevel
	if t.reqLevel > 0 {
		t.maxLevel = t.reqLevel
	}
	t.extra = nil
	t.boostIdx, t.escIdx, t.maxWaitDone = 0, 0, false
	t.status = TaskQueued
	g.waiting++
	if g.cfg.Strategy == StrategyLastAgent && g.cfg.LastAgentWait > 0 && t.lastAgent != "" && !e.restoring {
		until := addDur(t.groupSince.UnixNano(), g.cfg.LastAgentWait)
		if a := e.agents[t.lastAgent]; a != nil && a.state != StateSignedOut && a.membIdx[g.id] != nil && until > e.curNs {
			t.reservedFor = a
			t.resUntil = until
			a.reserved = append(a.reserved, t)
		}
	}
	e.insertEntries(t)
	e.emitTask(EventTaskQueued, t, nil, g, reason).QueuePosition = e.position(t)
	if !e.restoring {
		e.taskSteps(t)
	}
	e.markTask(t)
	return t.status == TaskQueued
}

// entryAction returns the overflow action that applies to a task arriving
// in g now, with its reason ("" when the task may queue).
func (e *Engine) entryAction(g *group) (OverflowAction, string) {
	c := &g.cfg
	if c.OnClosed.Kind != OverflowNone && !c.Hours.Open(e.cur) {
		return c.OnClosed, ReasonClosed
	}
	if c.OnNoAgents.Kind != OverflowNone && g.signedIn == 0 {
		return c.OnNoAgents, ReasonNoAgents
	}
	if c.MaxQueueLength > 0 && g.waiting >= c.MaxQueueLength {
		act := c.OnQueueFull
		if act.Kind == OverflowNone {
			act.Kind = OverflowReject
		}
		return act, ReasonQueueFull
	}
	return OverflowAction{}, ""
}

// overflowOut ends t with a non-group overflow action for the channel to
// carry out.
func (e *Engine) overflowOut(t *task, g *group, act OverflowAction, why string) {
	a := act
	t.action = &a
	ev := e.taskEvent(EventTaskOverflowed, t, nil, g, why)
	ev.FromGroup = g.id
	ev.Action = &a
	e.emit(ev)
	g.overflowed++
	e.finish(t, TaskOverflowed)
}

// finish removes a task from the engine.
func (e *Engine) finish(t *task, st TaskStatus) {
	e.unschedule(&t.tm)
	t.status = st
	if e.tasks.get(t.id) == t {
		e.tasks.remove(t.id)
		if !t.dirty && len(e.freeTasks) < maxFree {
			// Nothing refers to t any more (it left every queue, offer,
			// reservation and timer): newTask may reuse it from the next
			// call on. This call may still read it.
			e.freeTasks = append(e.freeTasks, t)
		}
	}
}

// taskSteps applies the priority boosts, escalation steps, last-agent wait
// end and max wait that are due for a queued task, then schedules its next
// step.
func (e *Engine) taskSteps(t *task) {
	if t.status != TaskQueued {
		return
	}
	g := t.group
	c := &g.cfg
	gs := t.groupSince.UnixNano()
	now := e.curNs
	moved := false
	for t.boostIdx < len(c.PriorityBoosts) {
		b := c.PriorityBoosts[t.boostIdx]
		if addDur(gs, b.After) > now {
			break
		}
		t.boostIdx++
		np := t.prio + b.Add
		if b.To > np {
			np = b.To
		}
		if np > t.prio {
			if !moved {
				e.removeEntries(t)
				moved = true
			}
			ev := e.taskEvent(EventTaskPriorityRaised, t, nil, g, "boost")
			ev.FromPriority = t.prio
			ev.Priority = np
			t.prio = np
			e.emit(ev)
		}
	}
	for t.escIdx < len(c.Escalation) {
		s := c.Escalation[t.escIdx]
		if addDur(gs, s.After) > now {
			break
		}
		t.escIdx++
		nl := t.maxLevel
		if s.AnyLevel {
			nl = 0
		} else if s.Level > 0 && nl > 0 && s.Level > nl {
			nl = s.Level
		}
		if nl != t.maxLevel {
			if !moved {
				e.removeEntries(t)
				moved = true
			}
			t.maxLevel = nl
			ev := e.taskEvent(EventTaskEscalated, t, nil, g, "level")
			ev.Level = nl
			e.emit(ev)
		}
		for _, gid := range s.AddGroups {
			g2 := e.groups[gid]
			if g2 == nil || g2 == g || containsGroup(t.extra, g2) {
				continue
			}
			if !moved {
				e.removeEntries(t)
				moved = true
			}
			t.extra = append(t.extra, g2)
			ev := e.taskEvent(EventTaskEscalated, t, nil, g, "add_group")
			ev.FromGroup, ev.ToGroup = g.id, g2.id
			e.emit(ev)
		}
	}
	if a := t.reservedFor; a != nil && t.resUntil <= now {
		e.unreserveFrom(a, t)
		if !moved {
			moved = true
		}
	}
	if moved {
		e.removeEntries(t)
		e.insertEntries(t)
	}
	if !t.maxWaitDone && c.MaxWait > 0 && addDur(gs, c.MaxWait) <= now {
		t.maxWaitDone = true
		if act := c.OnMaxWait; act.Kind != OverflowNone {
			e.dequeue(t)
			if act.Kind == OverflowGroup {
				if to := e.groups[act.Group]; to != nil {
					ev := e.taskEvent(EventTaskOverflowed, t, nil, g, ReasonMaxWait)
					ev.FromGroup, ev.ToGroup = g.id, to.id
					a := act
					ev.Action = &a
					e.emit(ev)
					g.overflowed++
					e.placeTask(t, to, ReasonMaxWait, e.cur, true, 1)
					return
				}
				act = OverflowAction{Kind: OverflowReject}
			}
			e.overflowOut(t, g, act, ReasonMaxWait)
			return
		}
	}
	e.scheduleTask(t)
}

func containsGroup(gs []*group, g *group) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

// scheduleTask sets the task timer to its next step.
func (e *Engine) scheduleTask(t *task) {
	const never = int64(1<<63 - 1)
	next := never
	c := &t.group.cfg
	gs := t.groupSince.UnixNano()
	if t.boostIdx < len(c.PriorityBoosts) {
		next = min(next, addDur(gs, c.PriorityBoosts[t.boostIdx].After))
	}
	if t.escIdx < len(c.Escalation) {
		next = min(next, addDur(gs, c.Escalation[t.escIdx].After))
	}
	if !t.maxWaitDone && c.MaxWait > 0 && c.OnMaxWait.Kind != OverflowNone {
		next = min(next, addDur(gs, c.MaxWait))
	}
	if t.reservedFor != nil {
		next = min(next, t.resUntil)
	}
	for _, x := range t.excl {
		if x.until > e.curNs {
			next = min(next, x.until)
		}
	}
	if next == never {
		e.unschedule(&t.tm)
		return
	}
	if next <= e.curNs {
		next = e.curNs + 1
	}
	e.schedule(&t.tm, next)
}

// ---- silent chats ----

func (e *Engine) silenceApplies(o *offer) bool {
	return !e.isVoiceLike(o.ch) && (e.opts.SilentAfter > 0 || o.g.cfg.AutoCloseAfter > 0)
}

func (e *Engine) isVoiceLike(ch int) bool {
	n := e.chNames[ch]
	return n == ChannelVoice || n == ChannelVideo
}

func (e *Engine) scheduleSilence(o *offer) {
	if !o.accepted || !e.silenceApplies(o) {
		e.unschedule(&o.tm)
		return
	}
	const never = int64(1<<63 - 1)
	next := never
	if sa := e.opts.SilentAfter; sa > 0 && !o.silent {
		next = min(next, addDur(o.lastAct, sa))
	}
	if ac := o.g.cfg.AutoCloseAfter; ac > 0 {
		next = min(next, addDur(o.lastAct, ac))
	}
	if next == never {
		e.unschedule(&o.tm)
		return
	}
	if next <= e.curNs {
		next = e.curNs + 1
	}
	e.schedule(&o.tm, next)
}

func (e *Engine) silenceCheck(o *offer) {
	if !o.accepted || o.t.assigned != o {
		return
	}
	n := e.curNs
	if ac := o.g.cfg.AutoCloseAfter; ac > 0 && addDur(o.lastAct, ac) <= n {
		e.complete(o.t, ReasonAutoCloseSilent)
		return
	}
	if sa := e.opts.SilentAfter; sa > 0 && !o.silent && addDur(o.lastAct, sa) <= n {
		nc := min(e.opts.SilentCost, o.fullCost)
		a := o.a
		a.used -= o.cost - nc
		o.cost = nc
		o.silent = true
		e.emitTask(EventTaskSilent, o.t, a, o.g, "")
		e.touch(a)
		e.markAgent(a)
	}
	e.scheduleSilence(o)
}

// complete ends an assigned task and starts wrap-up per its group.
func (e *Engine) complete(t *task, reason string) {
	o := t.assigned
	a, g := o.a, o.g
	handle := e.cur.Sub(o.acceptedAt)
	e.emitTask(EventTaskCompleted, t, a, g, reason).Duration = handle
	g.completed++
	g.ewmaHandle = ewma(g.ewmaHandle, float64(handle), !g.hasHandle)
	g.hasHandle = true
	e.release(o)
	e.finish(t, TaskCompleted)
	e.startWrapUp(a, g, t.id)
}
