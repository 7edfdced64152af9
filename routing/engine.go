package routing

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Engine routes tasks to agents. Create one with New. It is safe for
// concurrent use: one mutex guards all state (see the package doc).
type Engine struct {
	mu  sync.Mutex
	now func() time.Time

	opts      Options
	chIdx     map[Channel]int
	chNames   []Channel
	defCost   []int
	exclusive []bool // voice and video unless AllowMixedMedia
	custom    map[AgentState]bool

	groups map[GroupID]*group
	agents map[AgentID]*agent
	tasks  taskTable

	timers   iheap[*timer]
	timerSeq uint64

	minCost  int // cheapest cost of any channel in any group
	seq      uint64
	taskSeq  uint64
	agentOrd int64
	markGen  uint64

	cur       time.Time // time of the current call
	curNs     int64
	last      time.Time
	out       []Event
	restoring bool

	dirtyTasks  []*task
	freeTasks   []*task  // finished tasks for newTask to reuse
	relOffers   []*offer // offers released by the current call
	freeOffers  []*offer // offers released by ended calls, for newOffer
	dirtyAgents []*agent
	spareTasks  []*task  // flush's other buffer for dirtyTasks
	spareAgents []*agent // flush's other buffer for dirtyAgents
	availQ      []*agent
	arena       []Event // returned events (see evChunk)
	arStart     int     // start of the current call's events in arena
	outbox      []Event // Options.Outbox
	obDone      int     // outbox events of ended calls
	scratch     Event   // event built while restoring (not emitted)
	walkBuf     []int32
	candBuf     []*membership
	fbBuf       []*membership
}

// New returns an Engine configured by opts.
func New(opts Options) (*Engine, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DefaultCapacity == 0 {
		opts.DefaultCapacity = DefaultCapacity
	}
	if opts.PresenceGrace == 0 {
		opts.PresenceGrace = DefaultPresenceGrace
	}
	if opts.RejectCooldown == 0 {
		opts.RejectCooldown = DefaultRejectCooldown
	}
	if opts.ServiceLevel == 0 {
		opts.ServiceLevel = DefaultServiceLevel
	}
	if opts.MaxOverflowHops == 0 {
		opts.MaxOverflowHops = DefaultMaxOverflow
	}
	costs := DefaultChannelCost()
	for ch, c := range opts.ChannelCost {
		costs[ch] = c
	}
	opts.ChannelCost = costs
	opts.CustomStates = slices.Clone(opts.CustomStates)
	e := &Engine{
		now:    opts.Now,
		opts:   opts,
		chIdx:  map[Channel]int{},
		custom: map[AgentState]bool{},
		groups: map[GroupID]*group{},
		agents: map[AgentID]*agent{},
		tasks:  newTaskTable(),
	}
	names := []Channel{ChannelVoice, ChannelVideo, ChannelWebChat, ChannelWeChat, ChannelSMS}
	var extra []Channel
	for ch := range costs {
		if !slices.Contains(names, ch) {
			extra = append(extra, ch)
		}
	}
	slices.Sort(extra)
	names = append(names, extra...)
	for i, ch := range names {
		e.chIdx[ch] = i
		e.chNames = append(e.chNames, ch)
		e.defCost = append(e.defCost, costs[ch])
		e.exclusive = append(e.exclusive, !opts.AllowMixedMedia && (ch == ChannelVoice || ch == ChannelVideo))
	}
	for _, cs := range opts.CustomStates {
		e.custom[cs.Name] = cs.Routable
	}
	e.updateMinCost()
	if opts.FirstSeq > 0 {
		e.seq = opts.FirstSeq - 1
	}
	e.timers = iheap[*timer]{
		less: func(a, b *timer) bool {
			if a.at != b.at {
				return a.at < b.at
			}
			return a.seq < b.seq
		},
		setPos: func(x *timer, p int) { x.pos = p },
	}
	return e, nil
}

// group is a skill group and its queue.
type group struct {
	// first cache line: what an agent looking for a task reads
	buckets []bucket // by value; queue entries refer to them by index
	entries int      // queue entries (incl. tasks escalated here)
	cost    []int
	minCost int

	// avail holds, per channel, the members that could take a task of
	// that channel now, ordered by the group's strategy. A channel's heap
	// is created when a task of that channel first queues in the group.
	avail    []*aheap
	activeCh []int
	id       GroupID
	members  map[AgentID]*membership

	waiting   int // tasks of this group queued (incl. reserved)
	offersOut int
	signedIn  int
	onBreak   int
	prio      []prioCount
	maxEnq    int64
	maxSeq    uint64
	rr        int64

	accepted, acceptedInSL, abandoned, overflowed, completed int64
	ewmaWait, ewmaHandle                                     float64
	hasHandle                                                bool

	cfg GroupConfig
}

type prioCount struct{ p, n int }

// bucket holds the queued tasks of a group with one channel and one level
// restriction, so an agent skips whole buckets it cannot take.
type bucket struct {
	ch       int
	maxLevel int
	h        qheap
}

// qentry is a task in one bucket.
type qentry struct {
	t   *task
	g   *group
	bi  int // index of the bucket in g.buckets
	pos int
}

// qslot is a bucket heap element: the task's sort key is copied in so that
// heap operations do not chase pointers; special says the task has
// exclusions or required skills to check.
type qslot struct {
	prio    int
	enq     int64
	seq     uint64
	q       *qentry
	special bool
}

func qLess(x, y qslot) bool {
	if x.prio != y.prio {
		return x.prio > y.prio
	}
	if x.enq != y.enq {
		return x.enq < y.enq
	}
	return x.seq < y.seq
}

// membership is an agent in a group; for each active channel of the group
// the membership sits in that channel's avail heap while the agent could
// take a task of that channel (*pos(ch) is its 1-based place there, 0 when
// out). The places of the built-in channels are stored inline.
type membership struct {
	a     *agent
	g     *group
	level int
	cap   int
	held  int
	rr    int64
	apos  [nBuiltinCh]int32
	aposX []int32 // channels added by Options.ChannelCost
}

// nBuiltinCh is the number of built-in channels (indices 0-4, see New).
const nBuiltinCh = 5

// pos returns where m's place in its group's avail heap of channel ch is
// kept.
func (m *membership) pos(ch int) *int32 {
	if ch < nBuiltinCh {
		return &m.apos[ch]
	}
	return &m.aposX[ch-nBuiltinCh]
}

// aslot is an avail heap element with the strategy key inline.
type aslot struct {
	key [3]int64
	m   *membership
}

// agent is an agent. The fields read by routing decisions come first, so
// that they share the first cache lines of the object.
type agent struct {
	id         AgentID
	state      AgentState
	used       int
	capacity   int
	exclusive  int
	inAvail    int // avail heap entries of this agent
	held       []*offer
	memb       []*membership
	idleAt     int64
	ord        int64
	chCount    []int
	chMax      []int // adjacent to chCount in memory
	pending    []TaskID
	handled    int
	connected  bool
	hasChMax   bool // some chMax is set
	dirty      bool
	availDirty bool
	acwDone    bool
	breakReq   bool
	reserved   []*task
	mark       uint64
	membIdx    map[GroupID]*membership
	noAnswer   int
	cfg        AgentConfig
	reason     string
	since      time.Time
	breakWhy   string
	breakDur   time.Duration
	breakUntil time.Time
	acwStart   time.Time
	acwUntil   time.Time
	graceTm    timer
	breakTm    timer
	acwTm      timer
}

type offer struct {
	t          *task
	a          *agent
	g          *group
	m          *membership
	ch         int
	cost       int
	fullCost   int
	accepted   bool
	silent     bool
	at         time.Time
	acceptedAt time.Time
	lastAct    int64
	tm         timer
}

type exclusion struct {
	a     AgentID
	until int64
}

// task is a task. The fields read by routing decisions and events come
// first (task objects are 64-byte aligned: 448 bytes is a size class).
type task struct {
	id          TaskID
	status      TaskStatus
	group       *group
	prio        int
	enq         int64
	seq         uint64
	ch          int32 // channel index (see Engine.chNames)
	maxWaitDone bool
	ringing     bool // offered to several agents at once (ring-all)
	dirty       bool
	offersCount int
	enqAt       time.Time
	contact     ContactID
	assigned    *offer
	qe0         qentry    // the entry in the task's own group, in use when qe0.t != nil
	more        []*qentry // entries in groups the task was escalated to
	offers      []*offer  // pending offers; backed by offBuf unless ringing
	offBuf      [1]*offer
	maxLevel    int
	reqSkills   []GroupID
	excl        []exclusion
	reservedFor *agent
	resUntil    int64
	extra       []*group
	lastAgent   AgentID
	reqLevel    int
	groupSince  time.Time
	boostIdx    int
	escIdx      int
	lastAct     int64
	action      *OverflowAction
	tm          timer
}

type timerKind uint8

const (
	tmOffer timerKind = iota
	tmSilent
	tmTask
	tmWrap
	tmBreak
	tmGrace
)

type timer struct {
	at   int64
	seq  uint64
	pos  int
	kind timerKind
	t    *task
	a    *agent
	o    *offer
}

// ---- call framing ----

// begin starts a call at now (read before the lock).
func (e *Engine) begin(now time.Time) {
	if now.Before(e.last) {
		now = e.last
	}
	e.last = now
	e.cur = now
	e.curNs = now.UnixNano()
	e.discardUncommitted()
}

// maxFree bounds the finished tasks and released offers kept for reuse
// (the rest is left to the garbage collector): reuse saves an allocation
// per task and per offer at a steady rate without holding on to the
// memory of a past peak.
const maxFree = 1024

// evChunk is the number of events in one chunk of the event arena: the
// events of consecutive calls are written into one chunk one after the
// other, and each call returns its own part of the chunk (with its capacity
// capped at its length, so that appending to it never touches a
// neighbour's events). The engine never writes to a part once returned, so
// returned slices stay valid for as long as the caller keeps them; one
// allocation serves many calls and no copy is made.
const evChunk = 97 // 97 events of 336 bytes fill a 32 KiB size class

// discardUncommitted drops the events of a call that returned without
// ending (an error after an emit): they are never delivered.
func (e *Engine) discardUncommitted() {
	if e.opts.Outbox {
		if len(e.outbox) > e.obDone {
			clear(e.outbox[e.obDone:])
			e.outbox = e.outbox[:e.obDone]
		}
		return
	}
	if len(e.arena) > e.arStart {
		clear(e.arena[e.arStart:])
		e.arena = e.arena[:e.arStart]
	}
}

// end routes whatever became routable and returns the call's events (its
// own part of the event arena, see evChunk; nil with Options.Outbox or
// when there are none).
func (e *Engine) end() []Event {
	e.flush()
	e.refreshAvail()
	for i, o := range e.relOffers {
		if len(e.freeOffers) < maxFree {
			*o = offer{}
			e.freeOffers = append(e.freeOffers, o)
		}
		e.relOffers[i] = nil
	}
	e.relOffers = e.relOffers[:0]
	if e.opts.Outbox {
		e.obDone = len(e.outbox)
		return nil
	}
	n := len(e.arena)
	if n == e.arStart {
		return nil
	}
	out := e.arena[e.arStart:n:n]
	e.arStart = n
	if cap(e.arena) > evChunk {
		// a chunk grown for a call with many events: later calls start a
		// normal one rather than pin this one
		e.arena, e.arStart = nil, 0
	}
	return out
}

// newEvent appends a zero event for the current call and returns it for
// the caller to fill; Seq and Time are set.
func (e *Engine) newEvent() *Event {
	e.seq++
	var ev *Event
	if e.opts.Outbox {
		e.outbox = append(e.outbox, Event{})
		ev = &e.outbox[len(e.outbox)-1]
	} else {
		if len(e.arena) == cap(e.arena) {
			e.growArena()
		}
		e.arena = e.arena[:len(e.arena)+1]
		ev = &e.arena[len(e.arena)-1]
	}
	ev.Seq = e.seq
	ev.Time = e.cur
	return ev
}

// growArena starts a new arena chunk, moving the current call's events to
// it (the old chunk keeps only events already returned).
func (e *Engine) growArena() {
	n := len(e.arena) - e.arStart
	c := evChunk
	if n >= c/2 {
		c = 2 * n
	}
	a := make([]Event, n, c)
	copy(a, e.arena[e.arStart:])
	clear(e.arena[e.arStart:])
	e.arena, e.arStart = a, 0
}

func (e *Engine) emit(ev Event) {
	if e.restoring {
		return
	}
	p := e.newEvent()
	ev.Seq, ev.Time = p.Seq, p.Time
	*p = ev
}

// emitTask emits a task event (see taskEvent), built in place, and returns
// it for the caller to set more fields before emitting anything else.
func (e *Engine) emitTask(typ EventType, t *task, a *agent, g *group, reason string) *Event {
	var ev *Event
	if e.restoring {
		e.scratch = Event{}
		ev = &e.scratch
	} else {
		ev = e.newEvent()
	}
	ev.Type, ev.TaskID, ev.ContactID, ev.Channel, ev.Reason = typ, t.id, t.contact, e.chNames[t.ch], reason
	ev.Priority, ev.EnqueuedAt, ev.Offers = t.prio, t.enqAt, t.offersCount
	if a != nil {
		ev.AgentID = a.id
	}
	if g != nil {
		ev.GroupID = g.id
	} else if t.group != nil {
		ev.GroupID = t.group.id
	}
	return ev
}

func (e *Engine) taskEvent(typ EventType, t *task, a *agent, g *group, reason string) Event {
	ev := Event{Type: typ, TaskID: t.id, ContactID: t.contact, Channel: e.chNames[t.ch], Reason: reason,
		Priority: t.prio, EnqueuedAt: t.enqAt, Offers: t.offersCount}
	if a != nil {
		ev.AgentID = a.id
	}
	if g != nil {
		ev.GroupID = g.id
	} else if t.group != nil {
		ev.GroupID = t.group.id
	}
	return ev
}

func (e *Engine) markTask(t *task) {
	if !t.dirty {
		t.dirty = true
		e.dirtyTasks = append(e.dirtyTasks, t)
	}
}

// markAgent schedules a's agent-side matching and avail refresh.
func (e *Engine) markAgent(a *agent) {
	if !a.dirty {
		a.dirty = true
		e.dirtyAgents = append(e.dirtyAgents, a)
	}
	e.touch(a)
}

// touch schedules a refresh of a's place in the avail heaps. Refreshes are
// batched: an agent freed and re-offered work within one call never enters
// the heaps at all. dispatch and ring refresh first.
func (e *Engine) touch(a *agent) {
	if !a.availDirty {
		a.availDirty = true
		e.availQ = append(e.availQ, a)
	}
}

func (e *Engine) refreshAvail() {
	for i := 0; i < len(e.availQ); i++ {
		a := e.availQ[i]
		a.availDirty = false
		e.updateAvail(a)
		e.availQ[i] = nil
	}
	e.availQ = e.availQ[:0]
}

// flush makes the routing decisions that the call made possible: tasks that
// became routable are dispatched (best first), then agents that gained room
// pick the best queued task of their groups.
func (e *Engine) flush() {
	if e.restoring {
		return
	}
	for len(e.dirtyTasks) > 0 || len(e.dirtyAgents) > 0 {
		if len(e.dirtyTasks) > 0 {
			ts := e.dirtyTasks
			e.dirtyTasks, e.spareTasks = e.spareTasks[:0], nil
			if len(ts) > 1 {
				slices.SortFunc(ts, func(a, b *task) int {
					if taskLess(a, b) {
						return -1
					}
					if taskLess(b, a) {
						return 1
					}
					return 0
				})
			}
			for _, t := range ts {
				t.dirty = false
				e.dispatch(t)
			}
			clear(ts)
			e.spareTasks = ts[:0]
			continue
		}
		as := e.dirtyAgents
		e.dirtyAgents, e.spareAgents = e.spareAgents[:0], nil
		if len(as) > 1 {
			slices.SortFunc(as, func(a, b *agent) int {
				if a.idleAt != b.idleAt {
					if a.idleAt < b.idleAt {
						return -1
					}
					return 1
				}
				return int(a.ord - b.ord)
			})
		}
		for _, a := range as {
			a.dirty = false
			e.matchAgent(a)
		}
		clear(as)
		e.spareAgents = as[:0]
	}
}

// ---- timers ----

func (e *Engine) schedule(tm *timer, at int64) {
	tm.at = at
	e.timerSeq++
	tm.seq = e.timerSeq
	if tm.pos == 0 {
		e.timers.push(tm)
	} else {
		e.timers.fix(tm.pos - 1)
	}
}

func (e *Engine) unschedule(tm *timer) {
	if tm.pos != 0 {
		e.timers.remove(tm.pos - 1)
	}
}

func addDur(ns int64, d time.Duration) int64 {
	r := ns + int64(d)
	if d > 0 && r < ns {
		return math.MaxInt64
	}
	return r
}

// Tick processes every deadline due at or before now (offer time-outs,
// wrap-up and break ends, escalation, boosts, max wait, last-agent wait,
// presence grace, silent chats) and returns the events caused. Call it when
// NextDeadline says so; calling it more often is harmless.
func (e *Engine) Tick(now time.Time) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.restoring {
		return nil
	}
	e.begin(now)
	n := now.UnixNano()
	if e.curNs > n {
		n = e.curNs
	}
	for e.timers.len() > 0 && e.timers.s[0].at <= n {
		tm := e.timers.pop()
		e.fire(tm)
		e.flush()
	}
	return e.end()
}

// Drain appends the events waiting in the outbox (Options.Outbox) to dst, in
// Seq order, empties the outbox and returns the extended slice. Reusing dst
// makes event delivery allocation-free.
func (e *Engine) Drain(dst []Event) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	dst = append(dst, e.outbox[:e.obDone]...)
	clear(e.outbox)
	e.outbox = e.outbox[:0]
	e.obDone = 0
	return dst
}

// NextDeadline returns when Tick should be called next; ok is false when
// nothing is scheduled.
func (e *Engine) NextDeadline() (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.timers.len() == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, e.timers.s[0].at), true
}

func (e *Engine) fire(tm *timer) {
	switch tm.kind {
	case tmOffer:
		if o := tm.o; !o.accepted {
			e.timeoutOffer(o)
		}
	case tmSilent:
		e.silenceCheck(tm.o)
	case tmTask:
		t := tm.t
		e.taskSteps(t)
		if t.status == TaskQueued {
			e.markTask(t)
		}
	case tmWrap:
		a := tm.a
		a.acwDone = true
		e.maybeEndACW(a, ReasonWrapUpEnded)
	case tmBreak:
		a := tm.a
		if a.state == StateBreak {
			e.endBreak(a, ReasonBreakEnded)
		}
	case tmGrace:
		a := tm.a
		if !a.connected && a.state != StateSignedOut {
			e.signOut(a, ReasonDisconnected)
		}
	}
}

// ---- helpers ----

func taskLess(a, b *task) bool {
	if a.prio != b.prio {
		return a.prio > b.prio
	}
	if a.enq != b.enq {
		return a.enq < b.enq
	}
	return a.seq < b.seq
}

// chIndex returns the index of channel c (the built-in channels come first,
// in a fixed order; see New).
func (e *Engine) chIndex(c Channel) (int, bool) {
	switch c {
	case ChannelVoice:
		return 0, true
	case ChannelVideo:
		return 1, true
	case ChannelWebChat:
		return 2, true
	case ChannelWeChat:
		return 3, true
	case ChannelSMS:
		return 4, true
	}
	i, ok := e.chIdx[c]
	return i, ok
}

func (e *Engine) agentByID(id AgentID) (*agent, error) {
	a := e.agents[id]
	if a == nil {
		return nil, fmt.Errorf("agent %q: %w", id, ErrUnknownAgent)
	}
	return a, nil
}

func (e *Engine) taskByID(id TaskID) (*task, error) {
	t := e.tasks.get(id)
	if t == nil {
		return nil, fmt.Errorf("task %q: %w", id, ErrUnknownTask)
	}
	return t, nil
}

func (e *Engine) stateRoutable(s AgentState) bool {
	if s == StateReady {
		return true
	}
	return e.custom[s]
}

// routable reports whether a may be offered new work (capacity aside).
func (e *Engine) routable(a *agent) bool {
	return a.connected && len(a.pending) == 0 && e.stateRoutable(a.state)
}

// fitsCost reports whether a has room for a task of channel ch routed
// through g (membership m, nil for a non-member).
func (e *Engine) fitsCost(a *agent, m *membership, g *group, ch int) bool {
	if a.used+g.cost[ch] > a.capacity {
		return false
	}
	if a.hasChMax && a.chMax[ch] > 0 && a.chCount[ch] >= a.chMax[ch] {
		return false
	}
	if a.exclusive > 0 || (e.exclusive[ch] && len(a.held) > 0) {
		return false
	}
	if m != nil && m.cap > 0 && m.held >= m.cap {
		return false
	}
	return true
}

func (e *Engine) skillsOK(a *agent, t *task) bool {
	for _, s := range t.reqSkills {
		if a.membIdx[s] == nil {
			return false
		}
	}
	return true
}

// eligible reports whether a can take t through g at level restriction lvl.
func (e *Engine) eligible(a *agent, m *membership, g *group, t *task, lvl int) bool {
	if !e.routable(a) {
		return false
	}
	if lvl > 0 && m != nil && m.level > lvl {
		return false
	}
	return e.fitsCost(a, m, g, int(t.ch)) && e.skillsOK(a, t)
}

// exclusion returns until when a is excluded from t.
func (t *task) exclusion(id AgentID) (int64, bool) {
	for _, x := range t.excl {
		if x.a == id {
			return x.until, true
		}
	}
	return 0, false
}

func (e *Engine) exclude(t *task, a *agent) {
	until := addDur(e.curNs, e.opts.RejectCooldown)
	if e.opts.RejectCooldown < 0 {
		until = e.curNs
	}
	for i := range t.excl {
		if t.excl[i].a == a.id {
			t.excl[i].until = until
			return
		}
	}
	t.excl = append(t.excl, exclusion{a: a.id, until: until})
}
