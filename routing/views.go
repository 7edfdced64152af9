package routing

import (
	"fmt"
	"slices"
	"time"
)

// Agent returns a snapshot of the agent.
func (e *Engine) Agent(id AgentID) (AgentSnapshot, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.agentByID(id)
	if err != nil {
		return AgentSnapshot{}, err
	}
	return e.agentSnapshot(a), nil
}

// Agents returns snapshots of all agents, in the order they were added.
func (e *Engine) Agents() []AgentSnapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	as := e.sortedAgents()
	out := make([]AgentSnapshot, len(as))
	for i, a := range as {
		out[i] = e.agentSnapshot(a)
	}
	return out
}

func (e *Engine) agentSnapshot(a *agent) AgentSnapshot {
	s := AgentSnapshot{ID: a.id, State: a.state, Reason: a.reason, Since: a.since, Connected: a.connected,
		Routable: a.state != StateSignedOut && e.routable(a), Capacity: a.capacity, Used: a.used,
		Groups: cloneMap(a.cfg.Groups), NoAnswer: a.noAnswer, HandledToday: a.handled,
		BreakRequested: a.breakReq, BreakReason: a.breakWhy, BreakUntil: a.breakUntil, WrapUpUntil: a.acwUntil,
		PendingDispositions: slices.Clone(a.pending)}
	for _, o := range a.held {
		h := HeldTask{TaskID: o.t.id, Channel: e.chNames[o.t.ch], Group: o.g.id, Accepted: o.accepted, Cost: o.cost, Silent: o.silent, Since: o.at}
		if o.accepted {
			h.Since = o.acceptedAt
		}
		s.Tasks = append(s.Tasks, h)
	}
	for _, t := range a.reserved {
		s.ReservedTasks = append(s.ReservedTasks, t.id)
	}
	return s
}

// Task returns a snapshot of a live task.
func (e *Engine) Task(id TaskID) (TaskSnapshot, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.taskByID(id)
	if err != nil {
		return TaskSnapshot{}, err
	}
	return e.taskSnapshot(t), nil
}

func (e *Engine) taskSnapshot(t *task) TaskSnapshot {
	s := TaskSnapshot{ID: t.id, Channel: e.chNames[t.ch], Group: t.group.id, Priority: t.prio, EnqueuedAt: t.enqAt,
		GroupSince: t.groupSince, Contact: t.contact, LastAgent: t.lastAgent, RequiredLevel: t.reqLevel,
		MaxLevel: t.maxLevel, Status: t.status, Agents: t.holders(), Offers: t.offersCount,
		QueuePosition: e.position(t)}
	s.Groups = append(s.Groups, t.group.id)
	for _, g := range t.extra {
		s.Groups = append(s.Groups, g.id)
	}
	if t.reservedFor != nil {
		s.ReservedFor = t.reservedFor.id
	}
	return s
}

// QueuePosition returns the 1-based place of a queued task in its group's
// queue (priority, then age; tasks escalated into the group count).
func (e *Engine) QueuePosition(id TaskID) (int, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tasks.get(id)
	if t == nil || t.status != TaskQueued {
		return 0, false
	}
	return e.position(t), true
}

// EstimatedWait estimates how much longer a queued task will wait: its
// position times the group's recent average handle time, divided by the
// members signed in. ok is false when there is no honest estimate: the
// task is not queued, the group has no handle time yet, or nobody in the
// group is signed in (the wait is then unknown, not "about a minute").
func (e *Engine) EstimatedWait(id TaskID) (time.Duration, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tasks.get(id)
	if t == nil || t.status != TaskQueued || !t.group.hasHandle || t.group.signedIn == 0 {
		return 0, false
	}
	g := t.group
	pos := e.position(t)
	return time.Duration(float64(pos) * g.ewmaHandle / float64(g.signedIn)), true
}

// GroupStats returns the wallboard figures of a group. It costs
// O(members + queued tasks of the group).
func (e *Engine) GroupStats(id GroupID) (GroupStats, error) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groups[id]
	if g == nil {
		return GroupStats{}, fmt.Errorf("group %q: %w", id, ErrUnknownGroup)
	}
	s := GroupStats{ID: g.id, Queued: g.waiting, QueuedWithEscalated: g.entries, OffersOut: g.offersOut,
		SignedIn: g.signedIn, OnBreak: g.onBreak, Available: g.availCount(), AgentsByState: map[AgentState]int{},
		Accepted: g.accepted, AcceptedInSL: g.acceptedInSL, Abandoned: g.abandoned, Overflowed: g.overflowed,
		Completed: g.completed, AvgWait: time.Duration(g.ewmaWait), AvgHandle: time.Duration(g.ewmaHandle)}
	oldest := int64(1<<63 - 1)
	for bi := range g.buckets {
		b := &g.buckets[bi]
		for _, q := range b.h.s {
			if t := q.q.t; t.group == g && t.enq < oldest {
				oldest = t.enq
			}
		}
	}
	for _, m := range g.members {
		s.AgentsByState[m.a.state]++
		for _, t := range m.a.reserved {
			if t.group == g && t.enq < oldest {
				oldest = t.enq
			}
		}
	}
	if oldest != int64(1<<63-1) {
		s.LongestWait = max(0, now.Sub(time.Unix(0, oldest)))
	}
	return s, nil
}

// Groups returns the configured group ids, sorted.
func (e *Engine) Groups() []GroupID {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]GroupID, 0, len(e.groups))
	for id := range e.groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// GroupConfig returns a copy of the group's normalized configuration.
func (e *Engine) GroupConfig(id GroupID) (GroupConfig, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groups[id]
	if g == nil {
		return GroupConfig{}, fmt.Errorf("group %q: %w", id, ErrUnknownGroup)
	}
	return normalizeGroup(g.cfg), nil
}

// Tasks returns snapshots of every live task, in queue order (priority,
// then age). It costs O(tasks log tasks); meant for admin views and tests.
func (e *Engine) Tasks() []TaskSnapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	ts := e.tasks.appendTo(make([]*task, 0, e.tasks.len()))
	slices.SortFunc(ts, func(a, b *task) int {
		if taskLess(a, b) {
			return -1
		}
		if taskLess(b, a) {
			return 1
		}
		return 0
	})
	out := make([]TaskSnapshot, len(ts))
	for i, t := range ts {
		out[i] = e.taskSnapshot(t)
	}
	return out
}
