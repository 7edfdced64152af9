package routing

import "time"

// setState moves a to state `to` with reason, keeping the group counters,
// emitting agent_state_changed and withdrawing pending offers when the new
// state takes no work.
func (e *Engine) setState(a *agent, to AgentState, reason string) {
	from := a.state
	if from == to && a.reason == reason {
		return
	}
	if from != to {
		for _, m := range a.memb {
			e.countState(m.g, from, -1)
			e.countState(m.g, to, 1)
		}
	}
	if from == StateBreak && to != StateBreak {
		e.unschedule(&a.breakTm)
		a.breakUntil = time.Time{}
	}
	if from == StateAfterCallWork && to != StateAfterCallWork {
		e.unschedule(&a.acwTm)
		a.acwDone = false
		a.acwUntil = time.Time{}
	}
	ev := Event{Type: EventAgentStateChanged, AgentID: a.id, FromState: from, ToState: to, Reason: reason}
	if !a.since.IsZero() {
		ev.Duration = e.cur.Sub(a.since)
	}
	a.state, a.reason, a.since = to, reason, e.cur
	e.emit(ev)
	if e.stateRoutable(to) && !e.stateRoutable(from) {
		a.idleAt = e.curNs
	}
	if !e.stateRoutable(to) || len(a.pending) > 0 {
		e.withdrawOffers(a, ReasonAgentNotReady)
	}
	e.touch(a)
	e.markAgent(a)
}

func (e *Engine) countState(g *group, s AgentState, d int) {
	switch s {
	case StateSignedOut:
		return
	case StateBreak:
		g.onBreak += d
	}
	g.signedIn += d
}

// signOut signs a out: pending offers are withdrawn and assigned tasks
// requeued at their original place (task_transferred then task_queued), so
// nothing stays stuck with an absent agent.
func (e *Engine) signOut(a *agent, reason string) {
	if a.state == StateSignedOut {
		return
	}
	e.unschedule(&a.graceTm)
	a.breakReq = false
	a.pending = nil
	a.noAnswer = 0
	if a.state == StateAfterCallWork {
		e.emitWrapUpEnded(a, reason)
	}
	e.setState(a, StateSignedOut, reason)
	for len(a.held) > 0 {
		o := a.held[0]
		t := o.t
		if !o.accepted { // setState withdrew them; defensive
			e.emitTask(EventOfferWithdrawn, t, a, o.g, reason)
			e.release(o)
			if len(t.offers) == 0 && t.status == TaskOffered {
				e.requeue(t, reason)
			}
			continue
		}
		ev := e.taskEvent(EventTaskTransferred, t, a, o.g, reason)
		ev.FromAgent = a.id
		ev.ToGroup = t.group.id
		e.emit(ev)
		e.release(o)
		e.requeue(t, reason)
	}
	for len(a.reserved) > 0 {
		t := a.reserved[0]
		e.unreserveFrom(a, t)
		e.insertEntries(t)
		e.scheduleTask(t)
		e.markTask(t)
	}
	a.connected = true
}

// startWrapUp starts after-call work for a after a task of g ended.
func (e *Engine) startWrapUp(a *agent, g *group, id TaskID) {
	if g.cfg.WrapUp <= 0 && !g.cfg.RequireDisposition {
		return
	}
	if a.state == StateSignedOut {
		return
	}
	if g.cfg.RequireDisposition {
		a.pending = append(a.pending, id)
	}
	if a.state != StateAfterCallWork && !e.stateRoutable(a.state) {
		// not_ready, break or a custom state: no wrap-up state, but a
		// required disposition still blocks work until it is set.
		e.touch(a)
		return
	}
	if a.state != StateAfterCallWork {
		a.acwDone = true
		a.acwStart = e.cur
		e.emit(Event{Type: EventWrapUpStarted, AgentID: a.id, GroupID: g.id, TaskID: id, Reason: ReasonWrapUp})
		e.setState(a, StateAfterCallWork, ReasonWrapUp)
	}
	if g.cfg.WrapUp > 0 {
		until := e.cur.Add(g.cfg.WrapUp)
		if until.After(a.acwUntil) {
			a.acwUntil = until
			a.acwDone = false
			e.schedule(&a.acwTm, until.UnixNano())
		}
	}
	e.touch(a)
	e.maybeEndACW(a, ReasonWrapUpEnded)
}

func (e *Engine) emitWrapUpEnded(a *agent, reason string) {
	ev := Event{Type: EventWrapUpEnded, AgentID: a.id, Reason: reason}
	if !a.acwStart.IsZero() {
		ev.Duration = e.cur.Sub(a.acwStart)
	}
	e.emit(ev)
}

// maybeEndACW ends wrap-up when its timer is done (or was ended early) and
// no disposition is pending.
func (e *Engine) maybeEndACW(a *agent, reason string) {
	if a.state != StateAfterCallWork || !a.acwDone || len(a.pending) > 0 {
		return
	}
	e.emitWrapUpEnded(a, reason)
	e.setState(a, StateReady, reason)
}

// endBreak ends a's break: back to ready, or to after-call work when a
// disposition is still pending.
func (e *Engine) endBreak(a *agent, reason string) {
	if len(a.pending) > 0 {
		a.acwDone = true
		a.acwStart = e.cur
		e.setState(a, StateAfterCallWork, ReasonDisposition)
		return
	}
	e.setState(a, StateReady, reason)
}
