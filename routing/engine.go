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
	tasks  map[TaskID]*task

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
	dirtyAgents []*agent
	availQ      []*agent
	buf         []Event
	outbox      []Event
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
		tasks:  map[TaskID]*task{},
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
	id      GroupID
	cfg     GroupConfig
	cost    []int
	minCost int
	buckets []*bucket
	// avail holds, per channel, the members that could take a task of
	// that channel now, ordered by the group's strategy. A channel's heap
	// is created when a task of that channel first queues in the group.
	avail    []*iheap[aslot]
	activeCh []int
	members  map[AgentID]*membership

	waiting   int // tasks of this group queued (incl. reserved)
	entries   int // queue entries (incl. tasks escalated here)
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
}

type prioCount struct{ p, n int }

// bucket holds the queued tasks of a group with one channel and one level
// restriction, so an agent skips whole buckets it cannot take.
type bucket struct {
	ch       int
	maxLevel int
	h        iheap[qslot]
}

// qentry is a task in one bucket.
type qentry struct {
	t   *task
	g   *group
	b   *bucket
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

// membership is an agent in a group; one availEntry per active channel of
// the group sits in that channel's avail heap while the agent could take a
// task of that channel.
type membership struct {
	a     *agent
	g     *group
	level int
	cap   int
	held  int
	av    []availEntry // by channel, allocated with the membership
	rr    int64
}

type availEntry struct {
	m   *membership
	pos int
}

// aslot is an avail heap element with the strategy key inline.
type aslot struct {
	key [3]int64
	en  *availEntry
}

type agent struct {
	id         AgentID
	cfg        AgentConfig
	ord        int64
	capacity   int
	chMax      []int
	state      AgentState
	reason     string
	since      time.Time
	connected  bool
	used       int
	chCount    []int
	exclusive  int
	held       []*offer
	memb       []*membership
	membIdx    map[GroupID]*membership
	idleAt     int64
	handled    int
	noAnswer   int
	overOK     bool
	dirty      bool
	availDirty bool
	inAvail    int // avail heap entries of this agent
	mark       uint64
	breakReq   bool
	breakWhy   string
	breakDur   time.Duration
	breakUntil time.Time
	acwStart   time.Time
	acwUntil   time.Time
	acwDone    bool
	pending    []TaskID
	reserved   []*task
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

type task struct {
	id          TaskID
	channel     Channel
	ch          int
	contact     ContactID
	lastAgent   AgentID
	reqLevel    int
	reqSkills   []GroupID
	prio        int
	enq         int64
	enqAt       time.Time
	seq         uint64
	group       *group
	groupSince  time.Time
	maxLevel    int
	extra       []*group
	boostIdx    int
	escIdx      int
	maxWaitDone bool
	status      TaskStatus
	entries     []*qentry
	qe0         qentry // the entry in the task's own group (no allocation)
	offers      []*offer
	assigned    *offer
	excl        []exclusion
	reservedFor *agent
	resUntil    int64
	offersCount int
	ringing     bool // offered to several agents at once (ring-all)
	lastAct     int64
	action      *OverflowAction
	dirty       bool
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
	e.buf = e.buf[:0]
}

// end routes whatever became routable and returns the call's events (a
// fresh slice of exactly their number; the build buffer is reused).
func (e *Engine) end() []Event {
	e.flush()
	e.refreshAvail()
	if len(e.buf) == 0 {
		return nil
	}
	if e.opts.Outbox {
		e.outbox = append(e.outbox, e.buf...)
		clear(e.buf)
		e.buf = e.buf[:0]
		return nil
	}
	out := make([]Event, len(e.buf))
	copy(out, e.buf)
	clear(e.buf)
	e.buf = e.buf[:0]
	return out
}

func (e *Engine) emit(ev Event) {
	if e.restoring {
		return
	}
	e.seq++
	ev.Seq = e.seq
	ev.Time = e.cur
	e.buf = append(e.buf, ev)
}

func (e *Engine) taskEvent(typ EventType, t *task, a *agent, g *group, reason string) Event {
	ev := Event{Type: typ, TaskID: t.id, ContactID: t.contact, Channel: t.channel, Reason: reason,
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
			e.dirtyTasks = nil
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
			continue
		}
		as := e.dirtyAgents
		e.dirtyAgents = nil
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
	dst = append(dst, e.outbox...)
	clear(e.outbox)
	e.outbox = e.outbox[:0]
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

func (e *Engine) agentByID(id AgentID) (*agent, error) {
	a := e.agents[id]
	if a == nil {
		return nil, fmt.Errorf("agent %q: %w", id, ErrUnknownAgent)
	}
	return a, nil
}

func (e *Engine) taskByID(id TaskID) (*task, error) {
	t := e.tasks[id]
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
	if mx := a.chMax[ch]; mx > 0 && a.chCount[ch] >= mx {
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
	return e.fitsCost(a, m, g, t.ch) && e.skillsOK(a, t)
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

// overLimits reports whether a is above any of its limits.
func (e *Engine) overLimits(a *agent) bool {
	if a.used > a.capacity {
		return true
	}
	for i, mx := range a.chMax {
		if mx > 0 && a.chCount[i] > mx {
			return true
		}
	}
	for _, m := range a.memb {
		if m.cap > 0 && m.held > m.cap {
			return true
		}
	}
	return a.exclusive > 0 && len(a.held) > 1
}
