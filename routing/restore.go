package routing

import (
	"fmt"
	"slices"
	"time"
)

// Restore after a restart. The hub replays its persisted state:
//
//	e.UpsertGroup(...) and e.UpsertAgent(...) for the configuration, then
//	e.BeginRestore()
//	e.RestoreAgent(...) for each signed-in agent (state, since, break or
//	    wrap-up end, pending dispositions)
//	e.RestoreAssigned(...) for each accepted task with its agent
//	e.Enqueue(...) for each waiting task with its ORIGINAL EnqueuedAt and
//	    base priority (boosts and escalations are re-applied from the times)
//	e.EndRestore()
//
// Between BeginRestore and EndRestore nothing is routed, no event is
// emitted and Tick does nothing; EndRestore applies the steps that fell due
// meanwhile and routes everything, returning those events. Queue order
// follows EnqueuedAt, so tasks return to their original order whatever the
// replay order. Offers that were pending at the crash are not restored:
// re-enqueue those tasks.
//
// Restored agents are not connected: their clients' connections ended with
// the previous process. Each gets the presence grace of a dropped
// connection (Disconnected), counted from the restore: no new offer until
// the hub reports the agent Connected again, and an agent who does not
// come back within Options.PresenceGrace is signed out by Tick, their
// tasks going back to the head of their queues. Without this an agent who
// never returned after a crash stayed routable and was assigned new work.

// BeginRestore starts a restore (see above).
func (e *Engine) BeginRestore() error {
	e.lock()
	defer e.unlock()
	if e.restoring {
		return fmt.Errorf("begin restore: %w", ErrRestoring)
	}
	e.restoring = true
	return nil
}

// RestoreAgent restores an agent's state during a restore. The agent must
// have been configured with UpsertAgent. An agent restored in any state but
// signed out is disconnected, with the presence grace running from now
// (see above): report Connected when their client is back.
func (e *Engine) RestoreAgent(r AgentRestore) error {
	e.lock()
	defer e.unlock()
	if !e.restoring {
		return fmt.Errorf("restore agent: %w", ErrRestoring)
	}
	a, err := e.agentByID(r.ID)
	if err != nil {
		return err
	}
	switch r.State {
	case StateSignedOut, StateReady, StateNotReady, StateBreak, StateAfterCallWork:
	default:
		if _, ok := e.custom[r.State]; !ok {
			return fmt.Errorf("agent %q: state %q: %w", r.ID, r.State, ErrUnknownState)
		}
	}
	if r.State == StateSignedOut && len(a.held) > 0 {
		return fmt.Errorf("agent %q holds tasks: %w", r.ID, ErrInvalidState)
	}
	for _, m := range a.memb {
		e.countState(m.g, a.state, -1)
		e.countState(m.g, r.State, 1)
	}
	e.unschedule(&a.breakTm)
	e.unschedule(&a.acwTm)
	a.breakUntil, a.acwUntil, a.acwDone = time.Time{}, time.Time{}, false
	a.state, a.reason, a.since = r.State, r.Reason, r.Since
	if a.since.IsZero() {
		a.since = e.cur
	}
	e.unschedule(&a.graceTm)
	a.connected = r.State == StateSignedOut // signed-out agents count as connected
	if !a.connected {
		// Due at once with a negative grace (signed out at the first Tick).
		e.schedule(&a.graceTm, addDur(e.curNs, e.opts.PresenceGrace))
	}
	a.handled = r.HandledToday
	a.pending = slices.Clone(r.PendingDispositions)
	switch r.State {
	case StateBreak:
		if !r.Until.IsZero() {
			a.breakUntil = r.Until
			e.schedule(&a.breakTm, r.Until.UnixNano())
		}
	case StateAfterCallWork:
		a.acwStart = a.since
		if r.Until.IsZero() {
			a.acwDone = true
		} else {
			a.acwUntil = r.Until
			e.schedule(&a.acwTm, r.Until.UnixNano())
		}
	}
	if e.stateRoutable(a.state) {
		a.idleAt = a.since.UnixNano()
	}
	e.touch(a)
	e.refreshAvail()
	return nil
}

// RestoreAssigned restores an accepted task held by an agent during a
// restore. spec.Group is the group it was routed through. The reservation
// is made even above the agent's limits (the conversation exists).
func (e *Engine) RestoreAssigned(spec TaskSpec, agentID AgentID, acceptedAt time.Time) error {
	e.lock()
	defer e.unlock()
	if !e.restoring {
		return fmt.Errorf("restore assigned: %w", ErrRestoring)
	}
	a, err := e.agentByID(agentID)
	if err != nil {
		return err
	}
	if a.state == StateSignedOut {
		return fmt.Errorf("agent %q is signed out: %w", agentID, ErrInvalidState)
	}
	t, err := e.newTask(spec)
	if err != nil {
		return err
	}
	if acceptedAt.IsZero() {
		acceptedAt = e.cur
	}
	g := t.group
	m := a.membIdx[g.id]
	cost := g.cost[t.ch]
	o := e.newOffer()
	*o = offer{t: t, a: a, g: g, m: m, ch: int(t.ch), cost: cost, fullCost: cost, at: acceptedAt,
		accepted: true, acceptedAt: acceptedAt, lastAct: acceptedAt.UnixNano()}
	o.tm = timer{kind: tmSilent, o: o}
	a.used += cost
	a.chCount[t.ch]++
	if e.exclusive[t.ch] {
		a.exclusive++
	}
	if m != nil {
		m.held++
	}
	a.held = append(a.held, o)
	t.assigned = o
	t.status = TaskAssigned
	t.offersCount = 1
	e.tasks.put(t)
	e.scheduleSilence(o)
	e.touch(a)
	e.refreshAvail()
	return nil
}

// EndRestore ends a restore: steps due meanwhile are applied and every
// queued task and available agent is routed. It returns the events.
func (e *Engine) EndRestore() ([]Event, error) {
	e.lock()
	defer e.unlock()
	if !e.restoring {
		return nil, fmt.Errorf("end restore: %w", ErrRestoring)
	}
	e.restoring = false
	var ts []*task
	for _, s := range e.tasks.slots {
		if t := s.t; t != nil && t.status == TaskQueued {
			ts = append(ts, t)
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
	for _, t := range ts {
		e.taskSteps(t)
		e.markTask(t)
	}
	for _, a := range e.sortedAgents() {
		e.markAgent(a)
	}
	return e.end(), nil
}
