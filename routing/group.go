package routing

import "math"

func (e *Engine) newGroup(cfg GroupConfig) *group {
	g := &group{id: cfg.ID, members: map[AgentID]*membership{}, avail: make([]*aheap, len(e.chNames))}
	e.applyGroupConfig(g, cfg)
	return g
}

func availLess(a, b aslot) bool {
	if a.key[0] != b.key[0] {
		return a.key[0] < b.key[0]
	}
	if a.key[1] != b.key[1] {
		return a.key[1] < b.key[1]
	}
	return a.key[2] < b.key[2]
}

// activate creates g's avail heap for channel ch (first task of that
// channel in the group) and fills it.
func (e *Engine) activate(g *group, ch int) {
	if g.avail[ch] != nil {
		return
	}
	g.avail[ch] = &aheap{ch: ch}
	g.activeCh = append(g.activeCh, ch)
	for _, m := range g.members {
		e.touch(m.a)
	}
}

// availCount is the number of members in at least one avail heap.
func (g *group) availCount() int {
	n := 0
	for _, m := range g.members {
		for _, ch := range g.activeCh {
			p := *m.pos(ch)
			if p != 0 {
				n++
				break
			}
		}
	}
	return n
}

func (g *group) dropAvail(m *membership) {
	for _, ch := range g.activeCh {
		p := *m.pos(ch)
		if p != 0 {
			g.avail[ch].remove(int(p) - 1)
			m.a.inAvail--
		}
	}
}

func (e *Engine) applyGroupConfig(g *group, cfg GroupConfig) {
	g.cfg = cfg
	g.cost = make([]int, len(e.defCost))
	g.minCost = math.MaxInt
	for i, c := range e.defCost {
		if v, ok := cfg.ChannelCost[e.chNames[i]]; ok {
			c = v
		}
		g.cost[i] = c
		if c < g.minCost {
			g.minCost = c
		}
	}
}

// keyFor is m's order in its group's avail heap (lower = offered first).
func (g *group) keyFor(m *membership) [3]int64 {
	a := m.a
	switch g.cfg.Strategy {
	case StrategyLeastLoaded:
		c := int64(a.capacity)
		if c <= 0 {
			c = 1
		}
		return [3]int64{int64(a.used) * 1_000_000 / c, a.idleAt, a.ord}
	case StrategyFewestHandled:
		return [3]int64{int64(a.handled), a.idleAt, a.ord}
	case StrategyRoundRobin:
		return [3]int64{m.rr, a.idleAt, a.ord}
	default:
		return [3]int64{int64(len(a.held)), a.idleAt, a.ord}
	}
}

// updateAvail puts each of a's memberships in, out of, or at its new place
// in the avail heap of each active channel of the group: in when a could
// take a task of that channel through the group now.
func (e *Engine) updateAvail(a *agent) {
	ok := e.routable(a)
	if a.inAvail == 0 && (!ok || a.exclusive > 0 || a.capacity-a.used < e.minCost) {
		return // in no heap and fits nothing: skip touching the memberships
	}
	for _, m := range a.memb {
		g := m.g
		var k [3]int64
		kset := false
		for _, ch := range g.activeCh {
			h := g.avail[ch]
			p := *m.pos(ch)
			if ok && e.fitsCost(a, m, g, ch) {
				if !kset {
					k, kset = g.keyFor(m), true
				}
				if p == 0 {
					h.push(aslot{key: k, m: m})
					a.inAvail++
				} else if i := int(p) - 1; h.s[i].key != k {
					h.s[i].key = k
					h.fix(i)
				}
			} else if p != 0 {
				h.remove(int(p) - 1)
				a.inAvail--
			}
		}
	}
}

// ---- queue entries ----

// bucketFor returns the index in g.buckets of the bucket for channel ch and
// level restriction lvl, creating it if needed. Buckets are never removed,
// so the index is stable (a pointer into g.buckets is not, while the slice
// grows).
func (g *group) bucketFor(ch, lvl int) int {
	for bi := range g.buckets {
		if b := &g.buckets[bi]; b.ch == ch && b.maxLevel == lvl {
			return bi
		}
	}
	g.buckets = append(g.buckets, bucket{ch: ch, maxLevel: lvl})
	return len(g.buckets) - 1
}

func (g *group) addPrio(p, d int) {
	for i := range g.prio {
		if g.prio[i].p == p {
			g.prio[i].n += d
			if g.prio[i].n == 0 {
				g.prio = append(g.prio[:i], g.prio[i+1:]...)
			}
			return
		}
		if g.prio[i].p < p {
			g.prio = append(g.prio, prioCount{})
			copy(g.prio[i+1:], g.prio[i:])
			g.prio[i] = prioCount{p, d}
			return
		}
	}
	g.prio = append(g.prio, prioCount{p, d})
}

func (e *Engine) addEntry(t *task, g *group, lvl int) {
	e.activate(g, int(t.ch))
	bi := g.bucketFor(int(t.ch), lvl)
	var q *qentry
	if g == t.group && t.qe0.pos == 0 && t.qe0.t == nil {
		q = &t.qe0
	} else {
		q = new(qentry)
	}
	*q = qentry{t: t, g: g, bi: bi}
	g.buckets[bi].h.push(qslot{prio: t.prio, enq: t.enq, seq: t.seq, q: q, special: len(t.excl) > 0 || len(t.reqSkills) > 0})
	if q != &t.qe0 {
		t.more = append(t.more, q)
	}
	g.entries++
	g.addPrio(t.prio, 1)
	if t.enq > g.maxEnq {
		g.maxEnq = t.enq
	}
	if t.seq > g.maxSeq {
		g.maxSeq = t.seq
	}
}

// insertEntries puts a queued task into the queues of its group and of the
// groups it was escalated to.
func (e *Engine) insertEntries(t *task) {
	if t.reservedFor != nil {
		return
	}
	e.addEntry(t, t.group, t.maxLevel)
	for _, g := range t.extra {
		e.addEntry(t, g, 0)
	}
}

func (e *Engine) removeEntries(t *task) {
	if t.qe0.t != nil {
		removeEntry(t, &t.qe0)
	}
	for i, q := range t.more {
		removeEntry(t, q)
		t.more[i] = nil
	}
	t.more = t.more[:0]
}

func removeEntry(t *task, q *qentry) {
	if q.pos != 0 {
		q.g.buckets[q.bi].h.remove(q.pos - 1)
	}
	q.g.entries--
	q.g.addPrio(t.prio, -1)
	*q = qentry{}
}

// dequeue takes a queued task out of every queue and reservation.
func (e *Engine) dequeue(t *task) {
	if t.status != TaskQueued {
		return
	}
	e.removeEntries(t)
	if a := t.reservedFor; a != nil {
		e.unreserveFrom(a, t)
	}
	t.group.waiting--
	e.unschedule(&t.tm)
	t.status = ""
}

func (e *Engine) unreserveFrom(a *agent, t *task) {
	for i, x := range a.reserved {
		if x == t {
			a.reserved = append(a.reserved[:i], a.reserved[i+1:]...)
			break
		}
	}
	t.reservedFor = nil
}

// position is t's 1-based place in its group's queue: priority then age,
// counting tasks escalated into the group too. O(1) in the number of queued
// tasks for the newest task of its group, O(position) otherwise.
func (e *Engine) position(t *task) int {
	if t.status != TaskQueued {
		return 0
	}
	g := t.group
	self := 0
	if t.reservedFor == nil {
		self = 1
	}
	if t.enq >= g.maxEnq && t.seq >= g.maxSeq {
		n := 0
		for _, pc := range g.prio {
			if pc.p < t.prio {
				break
			}
			n += pc.n
		}
		return n - self + 1
	}
	n := 0
	for bi := range g.buckets {
		b := &g.buckets[bi]
		b.h.each(&e.walkBuf, func(q qslot) walkAction {
			if taskLess(q.q.t, t) {
				n++
				return walkExpand
			}
			return walkPrune
		})
	}
	return n + 1
}

// updateMinCost keeps e.minCost, the cheapest task cost of any group.
func (e *Engine) updateMinCost() {
	e.minCost = math.MaxInt
	for _, c := range e.defCost {
		e.minCost = min(e.minCost, c)
	}
	for _, g := range e.groups {
		e.minCost = min(e.minCost, g.minCost)
	}
}
