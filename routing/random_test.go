package routing

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)} // a Monday
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// ---- shadow: rebuild task and agent state from events alone ----

type shTask struct {
	status  TaskStatus // queued, offered, assigned, or "limbo" inside a call
	holders map[AgentID]bool
}

type shadow struct {
	tasks    map[TaskID]*shTask
	done     map[TaskID]EventType
	agents   map[AgentID]AgentState
	lastSeq  uint64
	lastTime time.Time
	offers   int
}

func newShadow() *shadow {
	return &shadow{tasks: map[TaskID]*shTask{}, done: map[TaskID]EventType{}, agents: map[AgentID]AgentState{}}
}

const limbo TaskStatus = "limbo"

func (s *shadow) task(ev Event) (*shTask, error) {
	if _, ok := s.done[ev.TaskID]; ok {
		return nil, fmt.Errorf("event %s for finished task %q", ev.Type, ev.TaskID)
	}
	t := s.tasks[ev.TaskID]
	if t == nil {
		t = &shTask{status: limbo, holders: map[AgentID]bool{}}
		s.tasks[ev.TaskID] = t
	}
	return t, nil
}

func (s *shadow) apply(ev Event) error {
	if s.lastSeq != 0 && ev.Seq != s.lastSeq+1 {
		return fmt.Errorf("seq %d after %d", ev.Seq, s.lastSeq)
	}
	if ev.Time.Before(s.lastTime) {
		return fmt.Errorf("seq %d: time goes back", ev.Seq)
	}
	s.lastSeq, s.lastTime = ev.Seq, ev.Time
	switch ev.Type {
	case EventAgentStateChanged:
		from, ok := s.agents[ev.AgentID]
		if !ok {
			from = StateSignedOut
		}
		if from != ev.FromState {
			return fmt.Errorf("seq %d: agent %q from %s, shadow has %s", ev.Seq, ev.AgentID, ev.FromState, from)
		}
		s.agents[ev.AgentID] = ev.ToState
		return nil
	case EventTaskQueued, EventTaskOffered, EventOfferAccepted, EventOfferRejected, EventOfferTimeout,
		EventOfferWithdrawn, EventTaskTransferred, EventTaskCompleted, EventTaskAbandoned, EventTaskOverflowed:
	default:
		return nil
	}
	if ev.EnqueuedAt.IsZero() {
		return fmt.Errorf("seq %d: %s without EnqueuedAt", ev.Seq, ev.Type)
	}
	t, err := s.task(ev)
	if err != nil {
		return err
	}
	bad := func() error {
		return fmt.Errorf("seq %d: %s for task %q in %s holders %v agent %q", ev.Seq, ev.Type, ev.TaskID, t.status, t.holders, ev.AgentID)
	}
	switch ev.Type {
	case EventTaskQueued:
		if len(t.holders) != 0 || t.status != limbo {
			return bad()
		}
		t.status = TaskQueued
	case EventTaskOffered:
		if t.holders[ev.AgentID] || (t.status == TaskAssigned) {
			return bad()
		}
		s.offers++
		t.holders[ev.AgentID] = true
		t.status = TaskOffered
	case EventOfferAccepted:
		if t.status != TaskOffered || len(t.holders) != 1 || !t.holders[ev.AgentID] {
			return bad()
		}
		t.status = TaskAssigned
	case EventOfferRejected, EventOfferTimeout, EventOfferWithdrawn:
		if !t.holders[ev.AgentID] || t.status == TaskAssigned || t.status == TaskQueued {
			return bad()
		}
		delete(t.holders, ev.AgentID)
		if len(t.holders) == 0 {
			t.status = limbo
		}
	case EventTaskTransferred:
		if ev.FromAgent != "" {
			if t.status != TaskAssigned || !t.holders[ev.FromAgent] {
				return bad()
			}
			delete(t.holders, ev.FromAgent)
		}
		t.status = limbo
	case EventTaskCompleted:
		if t.status != TaskAssigned || !t.holders[ev.AgentID] || ev.AgentID == "" {
			return bad()
		}
		delete(s.tasks, ev.TaskID)
		s.done[ev.TaskID] = ev.Type
	case EventTaskAbandoned:
		if len(t.holders) != 0 || (t.status != TaskQueued && t.status != limbo) {
			return bad()
		}
		delete(s.tasks, ev.TaskID)
		s.done[ev.TaskID] = ev.Type
	case EventTaskOverflowed:
		if len(t.holders) != 0 || (t.status != TaskQueued && t.status != limbo) || ev.Action == nil {
			return bad()
		}
		if ev.Action.Kind == OverflowGroup {
			t.status = limbo
		} else {
			delete(s.tasks, ev.TaskID)
			s.done[ev.TaskID] = ev.Type
		}
	}
	return nil
}

// compare checks the shadow against the engine's views.
func (s *shadow) compare(e *Engine) error {
	live := map[TaskID]bool{}
	for _, ts := range e.Tasks() {
		live[ts.ID] = true
		st := s.tasks[ts.ID]
		if st == nil {
			return fmt.Errorf("task %q live in engine (%s) but not in events", ts.ID, ts.Status)
		}
		if st.status != ts.Status {
			return fmt.Errorf("task %q: engine %s, events %s", ts.ID, ts.Status, st.status)
		}
		if len(ts.Agents) != len(st.holders) {
			return fmt.Errorf("task %q: engine holders %v, events %v", ts.ID, ts.Agents, st.holders)
		}
		for _, a := range ts.Agents {
			if !st.holders[a] {
				return fmt.Errorf("task %q: engine holders %v, events %v", ts.ID, ts.Agents, st.holders)
			}
		}
	}
	for id, st := range s.tasks {
		if !live[id] {
			return fmt.Errorf("task %q %s in events but gone from engine", id, st.status)
		}
	}
	for _, a := range e.Agents() {
		st, ok := s.agents[a.ID]
		if !ok {
			st = StateSignedOut
		}
		if st != a.State {
			return fmt.Errorf("agent %q: engine %s, events %s", a.ID, a.State, st)
		}
	}
	return nil
}

// ---- capacity model: the work each agent holds, from events alone ----

// capModel rebuilds from events, and from the configuration the test itself
// applies, the work every agent holds (offers and assignments, per channel
// and per group, with their costs), and checks it against the agent's limits
// as the engine defines them (see fitsCost): total cost <= capacity, tasks of
// a channel <= ChannelMax, tasks of a group <= GroupCap for a member, and an
// exclusive channel (voice, video) never shared with anything.
//
// It trusts no engine flag. Every task_offered must fit at the moment it is
// made; an agent may otherwise be over a limit only for a reason the model
// saw itself and keeps as an excuse until the agent is back within that
// limit: the test lowered the limit (UpsertAgent) while the agent held work,
// or a silent chat's customer wrote again (task_active: full cost back).
// Transfers to a named agent must fit like any other offer.
type capModel struct {
	defCost    map[Channel]int
	exclusive  map[Channel]bool
	silentCost int
	defCap     int
	groups     map[GroupID]GroupConfig
	agents     map[AgentID]*capAgent
}

type capAgent struct {
	cfg     AgentConfig
	held    map[TaskID]*capHold
	excused map[capLimit]string // limit -> why it may be exceeded
}

type capHold struct {
	ch               Channel
	g                GroupID
	full, cost       int
	accepted, silent bool
}

// capLimit names one limit of an agent.
type capLimit struct {
	kind string // "capacity", "channel", "group" or "exclusive"
	ch   Channel
	g    GroupID
}

func (l capLimit) String() string {
	switch l.kind {
	case "channel":
		return "channel max of " + string(l.ch)
	case "group":
		return "group cap of " + string(l.g)
	}
	return l.kind
}

// cfgChange is a configuration the test applied after the event numbered
// after (and before every later one).
type cfgChange struct {
	after uint64
	agent *AgentConfig
	group *GroupConfig
}

func newCapModel(opts Options) *capModel {
	m := &capModel{defCost: DefaultChannelCost(), exclusive: map[Channel]bool{}, silentCost: opts.SilentCost,
		defCap: opts.DefaultCapacity, groups: map[GroupID]GroupConfig{}, agents: map[AgentID]*capAgent{}}
	if m.defCap == 0 {
		m.defCap = DefaultCapacity
	}
	for ch, c := range opts.ChannelCost {
		m.defCost[ch] = c
	}
	if !opts.AllowMixedMedia {
		m.exclusive[ChannelVoice], m.exclusive[ChannelVideo] = true, true
	}
	return m
}

// config applies a configuration change the test made.
func (m *capModel) config(c cfgChange) {
	if c.group != nil {
		m.groups[c.group.ID] = *c.group
	}
	if c.agent != nil {
		cfg := cloneAgentConfig(*c.agent)
		if cfg.Capacity == 0 {
			cfg.Capacity = m.defCap
		}
		a := m.agents[cfg.ID]
		if a == nil {
			a = &capAgent{held: map[TaskID]*capHold{}, excused: map[capLimit]string{}}
			m.agents[cfg.ID] = a
		}
		a.cfg = cfg
		for _, l := range m.over(a) {
			if l.kind != "exclusive" && a.excused[l] == "" {
				a.excused[l] = "limit lowered by the test while the agent held work"
			}
		}
		m.refresh(a)
	}
}

func (m *capModel) cost(g GroupID, ch Channel) int {
	if c, ok := m.groups[g].ChannelCost[ch]; ok {
		return c
	}
	return m.defCost[ch]
}

// load sums what a holds.
func (m *capModel) load(a *capAgent) (used int, perCh map[Channel]int, perG map[GroupID]int, excl int) {
	perCh, perG = map[Channel]int{}, map[GroupID]int{}
	for _, h := range a.held {
		used += h.cost
		perCh[h.ch]++
		perG[h.g]++
		if m.exclusive[h.ch] {
			excl++
		}
	}
	return used, perCh, perG, excl
}

// over lists the limits a is above, in a stable order.
func (m *capModel) over(a *capAgent) []capLimit {
	used, perCh, perG, excl := m.load(a)
	var out []capLimit
	if used > a.cfg.Capacity {
		out = append(out, capLimit{kind: "capacity"})
	}
	for ch, mx := range a.cfg.ChannelMax {
		if mx > 0 && perCh[ch] > mx {
			out = append(out, capLimit{kind: "channel", ch: ch})
		}
	}
	for g, cp := range a.cfg.GroupCap {
		// held tasks of a group count towards its cap while the agent is
		// a member, whether taken as a member or not (addMembership)
		if _, member := a.cfg.Groups[g]; member && cp > 0 && perG[g] > cp {
			out = append(out, capLimit{kind: "group", g: g})
		}
	}
	if excl > 0 && len(a.held) > 1 {
		out = append(out, capLimit{kind: "exclusive"})
	}
	slices.SortFunc(out, func(x, y capLimit) int {
		return cmp.Compare(x.kind+"/"+string(x.ch)+"/"+string(x.g), y.kind+"/"+string(y.ch)+"/"+string(y.g))
	})
	return out
}

// refresh drops the excuses of the limits a is back within.
func (m *capModel) refresh(a *capAgent) {
	over := m.over(a)
	for l := range a.excused {
		if !slices.Contains(over, l) {
			delete(a.excused, l)
		}
	}
}

func (m *capModel) describe(id AgentID, a *capAgent) string {
	used, perCh, perG, _ := m.load(a)
	return fmt.Sprintf("agent %q used %d/%d per channel %v (max %v) per group %v (cap %v, member of %v) held %d",
		id, used, a.cfg.Capacity, perCh, a.cfg.ChannelMax, perG, a.cfg.GroupCap, a.cfg.Groups, len(a.held))
}

// apply follows one event. An offer that does not fit is an error.
func (m *capModel) apply(ev Event) error {
	switch ev.Type {
	case EventTaskOffered, EventOfferAccepted, EventOfferRejected, EventOfferTimeout, EventOfferWithdrawn,
		EventTaskCompleted, EventTaskSilent, EventTaskActive:
	case EventTaskTransferred:
		if ev.FromAgent == "" {
			return nil
		}
	default:
		return nil
	}
	id := ev.AgentID
	if ev.Type == EventTaskTransferred {
		id = ev.FromAgent
	}
	a := m.agents[id]
	if a == nil {
		return fmt.Errorf("seq %d: %s for agent %q the test never configured", ev.Seq, ev.Type, id)
	}
	h := a.held[ev.TaskID]
	if ev.Type == EventTaskOffered {
		if h != nil {
			return fmt.Errorf("seq %d: task %q offered to %q, who holds it already", ev.Seq, ev.TaskID, id)
		}
		c := m.cost(ev.GroupID, ev.Channel)
		a.held[ev.TaskID] = &capHold{ch: ev.Channel, g: ev.GroupID, full: c, cost: c}
		for _, l := range m.over(a) {
			if l.kind == "capacity" || l.kind == "exclusive" || (l.kind == "channel" && l.ch == ev.Channel) ||
				(l.kind == "group" && l.g == ev.GroupID) {
				return fmt.Errorf("seq %d: offer of %q (%s through %s, cost %d) takes it over its %s: %s",
					ev.Seq, ev.TaskID, ev.Channel, ev.GroupID, c, l, m.describe(id, a))
			}
		}
		return nil
	}
	if h == nil {
		return fmt.Errorf("seq %d: %s of task %q by agent %q, who does not hold it", ev.Seq, ev.Type, ev.TaskID, id)
	}
	switch ev.Type {
	case EventOfferAccepted:
		if h.accepted {
			return fmt.Errorf("seq %d: task %q accepted twice by %q", ev.Seq, ev.TaskID, id)
		}
		h.accepted = true
	case EventOfferRejected, EventOfferTimeout, EventOfferWithdrawn:
		if h.accepted {
			return fmt.Errorf("seq %d: %s of task %q, accepted by %q", ev.Seq, ev.Type, ev.TaskID, id)
		}
		delete(a.held, ev.TaskID)
	case EventTaskCompleted, EventTaskTransferred:
		if !h.accepted {
			return fmt.Errorf("seq %d: %s of task %q, not accepted by %q", ev.Seq, ev.Type, ev.TaskID, id)
		}
		delete(a.held, ev.TaskID)
	case EventTaskSilent:
		if !h.accepted || h.silent {
			return fmt.Errorf("seq %d: task %q went silent twice or before it was accepted", ev.Seq, ev.TaskID)
		}
		h.cost, h.silent = min(m.silentCost, h.full), true
	case EventTaskActive:
		if !h.silent {
			return fmt.Errorf("seq %d: task %q active again but was not silent", ev.Seq, ev.TaskID)
		}
		h.cost, h.silent = h.full, false
		if slices.Contains(m.over(a), capLimit{kind: "capacity"}) && a.excused[capLimit{kind: "capacity"}] == "" {
			a.excused[capLimit{kind: "capacity"}] = fmt.Sprintf("seq %d: customer of %q wrote again", ev.Seq, ev.TaskID)
		}
	}
	m.refresh(a)
	return nil
}

// check fails for an agent over a limit without a reason the model saw.
func (m *capModel) check() error {
	ids := make([]AgentID, 0, len(m.agents))
	for id := range m.agents {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		a := m.agents[id]
		for _, l := range m.over(a) {
			if a.excused[l] == "" {
				return fmt.Errorf("over its %s with no reason the test saw: %s", l, m.describe(id, a))
			}
		}
	}
	return nil
}

// compare checks the model's holdings against the engine's agent views, so
// that the engine holds no work the model does not count.
func (m *capModel) compare(e *Engine) error {
	snaps := e.Agents()
	if len(snaps) != len(m.agents) {
		return fmt.Errorf("engine has %d agents, model %d", len(snaps), len(m.agents))
	}
	for _, s := range snaps {
		a := m.agents[s.ID]
		if a == nil {
			return fmt.Errorf("agent %q in engine only", s.ID)
		}
		used, _, _, _ := m.load(a)
		if s.Capacity != a.cfg.Capacity || s.Used != used || len(s.Tasks) != len(a.held) {
			return fmt.Errorf("agent %q: engine capacity %d used %d tasks %d, model %s", s.ID, s.Capacity, s.Used, len(s.Tasks), m.describe(s.ID, a))
		}
		for _, ht := range s.Tasks {
			h := a.held[ht.TaskID]
			if h == nil || h.ch != ht.Channel || h.g != ht.Group || h.cost != ht.Cost || h.accepted != ht.Accepted || h.silent != ht.Silent {
				return fmt.Errorf("agent %q: engine holds %+v, model %+v", s.ID, ht, h)
			}
		}
	}
	return nil
}

// ---- random world ----

var allowedErrs = []error{ErrUnknownAgent, ErrUnknownTask, ErrUnknownGroup, ErrNotOffered, ErrInvalidState,
	ErrBreakCapReached, ErrDispositionRequired, ErrAgentAtCapacity, ErrAgentNotRoutable, ErrGroupBusy,
	ErrDuplicateTask, ErrInvalidConfig, ErrUnknownState}

func checkErr(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range allowedErrs {
		if errors.Is(err, s) {
			return nil
		}
	}
	return fmt.Errorf("unexpected error: %w", err)
}

var groupIDs = []GroupID{"g0", "g1", "g2", "g3", "g4", "g5"}

func randomGroups(r *rand.Rand) []GroupConfig {
	hours := &BusinessHours{Weekly: map[time.Weekday][]Span{}, Closed: []Date{{2026, 3, 4}}}
	for d := time.Monday; d <= time.Friday; d++ {
		hours.Weekly[d] = []Span{{9 * time.Hour, 18 * time.Hour}}
	}
	gs := []GroupConfig{
		{ID: "g0", Strategy: StrategyLongestIdle, WrapUp: 10 * time.Second, BreakCap: 1, InitialLevel: 1,
			PriorityBoosts: []PriorityBoost{{After: 20 * time.Second, Add: 5}},
			Escalation:     []EscalationStep{{After: 15 * time.Second, AddGroups: []GroupID{"g1"}}, {After: 30 * time.Second, AnyLevel: true}}},
		{ID: "g1", Strategy: StrategyLeastLoaded, RequireDisposition: true, MaxQueueLength: 5,
			OnQueueFull: OverflowAction{Kind: OverflowGroup, Group: "g2"}, BreakCap: 2},
		{ID: "g2", Strategy: StrategyFewestHandled, MaxWait: 60 * time.Second, OnMaxWait: OverflowAction{Kind: OverflowVoicemail}, AutoAccept: true},
		{ID: "g3", Strategy: StrategyRoundRobin, OnNoAgents: OverflowAction{Kind: OverflowCallback}, Hours: hours,
			OnClosed: OverflowAction{Kind: OverflowLeaveMessage}, ChannelCost: map[Channel]int{ChannelWebChat: 20}},
		{ID: "g4", Strategy: StrategyLastAgent, LastAgentWait: 20 * time.Second, AutoCloseAfter: 90 * time.Second, WrapUpOnTransfer: true, WrapUp: 5 * time.Second},
		{ID: "g5", Strategy: StrategyRingAll, OfferTimeout: 10 * time.Second, MaxNoAnswer: 2, MaxWait: 40 * time.Second,
			OnMaxWait: OverflowAction{Kind: OverflowGroup, Group: "g0"}, InitialLevel: 2, Escalation: []EscalationStep{{After: 5 * time.Second, Level: 3}}},
	}
	return gs
}

func randomAgent(r *rand.Rand, id AgentID) AgentConfig {
	c := AgentConfig{ID: id, Groups: map[GroupID]int{}, AutoAccept: r.IntN(5) == 0}
	n := 1 + r.IntN(3)
	perm := r.Perm(len(groupIDs))[:n]
	for _, i := range perm {
		c.Groups[groupIDs[i]] = 1 + r.IntN(3)
	}
	switch r.IntN(6) { // 0: the default (100)
	case 1, 2:
		c.Capacity = 150
	case 3:
		c.Capacity = 60 // chats only
	}
	if r.IntN(3) == 0 {
		c.ChannelMax = map[Channel]int{ChannelWebChat: 1 + r.IntN(3)}
		if r.IntN(2) == 0 {
			c.ChannelMax[ChannelSMS] = 1 + r.IntN(2)
		}
	}
	if r.IntN(3) == 0 {
		c.GroupCap = map[GroupID]int{groupIDs[perm[0]]: 1 + r.IntN(2)}
	}
	return c
}

var channels = []Channel{ChannelVoice, ChannelVoice, ChannelVideo, ChannelWebChat, ChannelWebChat, ChannelWeChat, ChannelWeChat, ChannelSMS}

type world struct {
	e      *Engine
	opts   Options
	clk    *fakeClock
	agents []AgentID
	mu     sync.Mutex
	ids    []TaskID
	next   int

	// gate lets a configuration step run alone: every other step holds
	// it shared. A configuration change then falls between the events
	// numbered up to seen and those after, which is what a capModel
	// replaying the events in Seq order needs.
	gate sync.RWMutex
	seen atomic.Uint64 // highest Seq returned so far
	// cfgs lists the configuration changes made, in order (appended only
	// with gate held exclusively, or before any step).
	cfgs []cfgChange
}

// noteSeq raises seen to the last Seq of evs.
func (w *world) noteSeq(evs []Event) {
	if len(evs) == 0 {
		return
	}
	n := evs[len(evs)-1].Seq
	for {
		old := w.seen.Load()
		if old >= n || w.seen.CompareAndSwap(old, n) {
			return
		}
	}
}

// model builds a capModel holding the configuration made so far.
func (w *world) model() *capModel {
	m := newCapModel(w.opts)
	for _, c := range w.cfgs {
		m.config(c)
	}
	return m
}

func newWorld(t testing.TB, r *rand.Rand, nAgents int) *world {
	clk := newClock()
	opts := Options{Now: clk.Now, SilentAfter: 30 * time.Second, SilentCost: 5, PresenceGrace: 20 * time.Second,
		RejectCooldown: 10 * time.Second, CustomStates: []CustomState{{Name: "training"}, {Name: "outbound", Routable: true}}}
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{e: e, opts: opts, clk: clk}
	for _, g := range randomGroups(r) {
		if _, err := e.UpsertGroup(g); err != nil {
			t.Fatal(err)
		}
		w.cfgs = append(w.cfgs, cfgChange{group: &g})
	}
	for i := range nAgents {
		id := AgentID(fmt.Sprintf("a%d", i))
		w.agents = append(w.agents, id)
		c := randomAgent(r, id)
		if _, err := e.UpsertAgent(c); err != nil {
			t.Fatal(err)
		}
		w.cfgs = append(w.cfgs, cfgChange{agent: &c})
	}
	return w
}

func (w *world) newID(prefix string) TaskID {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.next++
	id := TaskID(fmt.Sprintf("%s%d", prefix, w.next))
	w.ids = append(w.ids, id)
	return id
}

func (w *world) randTask(r *rand.Rand) TaskID {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.ids) == 0 {
		return "none"
	}
	// favour recent tasks
	n := len(w.ids)
	lo := max(0, n-60)
	return w.ids[lo+r.IntN(n-lo)]
}

// step performs one random operation and returns its events.
func (w *world) step(r *rand.Rand, prefix string, allowTick bool) ([]Event, string, error) {
	e := w.e
	ag := w.agents[r.IntN(len(w.agents))]
	var evs []Event
	var err error
	op := r.IntN(1000)
	var name string
	if op >= 985 && op < 999 { // configuration: alone (see gate)
		w.gate.Lock()
		defer w.gate.Unlock()
	} else {
		w.gate.RLock()
		defer w.gate.RUnlock()
	}
	defer func() { w.noteSeq(evs) }() // before the gate opens
	switch {
	case op < 200:
		name = "enqueue"
		spec := TaskSpec{ID: w.newID(prefix), Channel: channels[r.IntN(len(channels))], Group: groupIDs[r.IntN(len(groupIDs))],
			Priority: r.IntN(3), Contact: ContactID(fmt.Sprintf("c%d", r.IntN(20)))}
		if r.IntN(3) == 0 {
			spec.LastAgent = w.agents[r.IntN(len(w.agents))]
		}
		if r.IntN(8) == 0 {
			spec.RequiredLevel = 1 + r.IntN(2)
		}
		if r.IntN(15) == 0 {
			spec.RequiredSkills = []GroupID{groupIDs[r.IntN(len(groupIDs))]}
		}
		if r.IntN(20) == 0 {
			spec.EnqueuedAt = w.clk.Now().Add(-time.Duration(r.IntN(100)) * time.Second)
		}
		_, evs, err = e.Enqueue(spec)
	case op < 400, op < 440:
		type pair struct {
			a AgentID
			t TaskID
		}
		var pend []pair
		for _, snap := range e.Agents() {
			for _, h := range snap.Tasks {
				if !h.Accepted {
					pend = append(pend, pair{snap.ID, h.TaskID})
				}
			}
		}
		tid := w.randTask(r)
		if len(pend) > 0 && r.IntN(10) > 0 {
			p := pend[r.IntN(len(pend))]
			ag, tid = p.a, p.t
		}
		if op < 400 {
			name = "accept"
			evs, err = e.Accept(ag, tid)
		} else {
			name = "reject"
			evs, err = e.Reject(ag, tid, "busy")
		}
	case op < 560:
		name = "complete"
		var held []TaskID
		for _, snap := range e.Agents() {
			for _, h := range snap.Tasks {
				if h.Accepted {
					held = append(held, h.TaskID)
				}
			}
		}
		tid := w.randTask(r)
		if len(held) > 0 && r.IntN(10) > 0 {
			tid = held[r.IntN(len(held))]
		}
		evs, err = e.Complete(tid, "")
	case op < 600:
		name = "cancel"
		evs, err = e.Cancel(w.randTask(r), "")
	case op < 640:
		name = "transfer"
		to := TransferTarget{Group: groupIDs[r.IntN(len(groupIDs))]}
		if r.IntN(2) == 0 {
			to = TransferTarget{Agent: w.agents[r.IntN(len(w.agents))]}
		}
		evs, err = e.Transfer(w.randTask(r), to, "")
	case op < 760:
		name = "tick"
		if !allowTick {
			return nil, name, nil
		}
		now := w.clk.Advance(time.Duration(r.IntN(12000)) * time.Millisecond)
		if r.IntN(2) == 0 {
			if d, ok := e.NextDeadline(); ok && d.After(now) && d.Sub(now) < 30*time.Second {
				now = w.clk.Advance(d.Sub(now))
			}
		}
		evs = e.Tick(now)
	case op < 860:
		switch r.IntN(7) {
		case 0, 1:
			name = "signin"
			evs, err = e.SignIn(ag)
		case 2:
			name = "signout"
			evs, err = e.SignOut(ag, "")
		case 3, 4:
			name = "ready"
			evs, err = e.SetState(ag, StateReady, "")
		case 5:
			name = "not_ready"
			evs, err = e.SetState(ag, StateNotReady, "meeting")
		case 6:
			name = "custom"
			evs, err = e.SetState(ag, []AgentState{"training", "outbound", "bogus"}[r.IntN(3)], "")
		}
	case op < 900:
		switch r.IntN(3) {
		case 0:
			name = "request_break"
			evs, err = e.RequestBreak(ag, "lunch", time.Duration(r.IntN(3))*20*time.Second)
		case 1:
			name = "approve_break"
			evs, err = e.ApproveBreak(ag)
		case 2:
			name = "deny_break"
			evs, err = e.DenyBreak(ag, "busy")
		}
	case op < 950:
		snap, _ := e.Agent(ag)
		if len(snap.PendingDispositions) > 0 && r.IntN(3) > 0 {
			name = "disposition"
			evs, err = e.SetDisposition(ag, snap.PendingDispositions[0], "sale")
		} else {
			name = "continue"
			evs, err = e.ContinueWork(ag)
		}
	case op < 970:
		if r.IntN(2) == 0 {
			name = "disconnect"
			evs, err = e.Disconnected(ag, w.clk.Now())
		} else {
			name = "connect"
			evs, err = e.Connected(ag)
		}
	case op < 985:
		name = "touch"
		evs, err = e.Touch(w.randTask(r), w.clk.Now())
	case op < 996:
		name = "upsert_agent"
		c := randomAgent(r, ag)
		if evs, err = e.UpsertAgent(c); err == nil {
			w.cfgs = append(w.cfgs, cfgChange{after: w.seen.Load(), agent: &c})
		}
	case op < 999:
		name = "upsert_group"
		gs := randomGroups(r)
		g := gs[r.IntN(len(gs))]
		strategies := []Strategy{StrategyLongestIdle, StrategyLeastLoaded, StrategyFewestHandled, StrategyRoundRobin, StrategyLastAgent, StrategyRingAll}
		g.Strategy = strategies[r.IntN(len(strategies))]
		g.AutoAccept = r.IntN(3) == 0
		if evs, err = e.UpsertGroup(g); err == nil {
			w.cfgs = append(w.cfgs, cfgChange{after: w.seen.Load(), group: &g})
		}
	default:
		name = "reset_daily"
		e.ResetDailyCounters()
	}
	return evs, name, checkErr(err)
}

// drain ends every task, passing the events to sh and cm (either may be
// nil).
func (w *world) drain(t testing.TB, sh *shadow, cm *capModel) {
	for range 100 {
		ts := w.e.Tasks()
		if len(ts) == 0 {
			return
		}
		for _, task := range ts {
			var evs []Event
			var err error
			if task.Status == TaskAssigned {
				evs, err = w.e.Complete(task.ID, "drain")
			} else {
				evs, err = w.e.Cancel(task.ID, "drain")
			}
			if checkErr(err) != nil {
				t.Fatalf("drain %q: %v", task.ID, err)
			}
			for _, ev := range evs {
				if sh != nil {
					if err := sh.apply(ev); err != nil {
						t.Fatalf("drain: %v", err)
					}
				}
				if cm != nil {
					if err := cm.apply(ev); err != nil {
						t.Fatalf("drain: capacity: %v", err)
					}
				}
			}
		}
	}
	t.Fatalf("drain did not finish: %d tasks", len(w.e.Tasks()))
}

func TestRandomSingle(t *testing.T) {
	seeds := 12
	steps := 2500
	if testing.Short() {
		seeds, steps = 3, 1000
	}
	base := uint64(time.Now().UnixNano())
	if v := os.Getenv("ROUTING_SEED"); v != "" {
		base, _ = strconv.ParseUint(v, 10, 64)
		seeds = 1
	}
	for i := range seeds {
		seed := base + uint64(i)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			runSingle(t, seed, steps)
		})
	}
}

func runSingle(t *testing.T, seed uint64, steps int) {
	r := rand.New(rand.NewPCG(seed, 0))
	w := newWorld(t, r, 6+r.IntN(8))
	sh := newShadow()
	cm := w.model()
	nCfg := len(w.cfgs)
	fail := func(step int, name string, format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d step %d (%s): %s", seed, step, name, fmt.Sprintf(format, args...))
	}
	for i := range steps {
		evs, name, err := w.step(r, "t", true)
		if err != nil {
			fail(i, name, "%v", err)
		}
		for ; nCfg < len(w.cfgs); nCfg++ { // a change made by this step precedes its events
			cm.config(w.cfgs[nCfg])
		}
		for _, ev := range evs {
			if err := sh.apply(ev); err != nil {
				fail(i, name, "%v\nevents: %+v", err, evs)
			}
			if err := cm.apply(ev); err != nil {
				fail(i, name, "capacity: %v", err)
			}
		}
		if err := cm.check(); err != nil {
			fail(i, name, "capacity: %v", err)
		}
		if err := cm.compare(w.e); err != nil {
			fail(i, name, "capacity model vs engine: %v", err)
		}
		if err := w.e.CheckInvariants(); err != nil {
			for _, ev := range evs {
				t.Logf("%d %s task=%s agent=%s group=%s reason=%s prio=%d %s->%s", ev.Seq, ev.Type, ev.TaskID, ev.AgentID, ev.GroupID, ev.Reason, ev.Priority, ev.FromState, ev.ToState)
			}
			fail(i, name, "invariant: %v", err)
		}
		if err := sh.compare(w.e); err != nil {
			fail(i, name, "events vs engine: %v", err)
		}
	}
	w.drain(t, sh, cm)
	if err := w.e.CheckInvariants(); err != nil {
		t.Fatalf("seed %d after drain: %v", seed, err)
	}
	if err := cm.compare(w.e); err != nil {
		t.Fatalf("seed %d after drain: capacity model vs engine: %v", seed, err)
	}
	if len(sh.tasks) != 0 {
		t.Fatalf("seed %d: tasks not terminal in events: %v", seed, sh.tasks)
	}
	w.mu.Lock()
	for _, id := range w.ids {
		if _, ok := sh.done[id]; !ok {
			if _, err := w.e.Task(id); err == nil {
				t.Fatalf("seed %d: task %q lost", seed, id)
			}
			// rejected at validation (never created) is fine only if no event names it
		}
	}
	w.mu.Unlock()
	if sh.offers == 0 {
		t.Fatalf("seed %d: no offer made; the test exercises nothing", seed)
	}
}

func TestRandomConcurrent(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	workers, steps := 4, 2500
	if testing.Short() {
		steps = 800
	}
	r := rand.New(rand.NewPCG(seed, 1))
	w := newWorld(t, r, 12)
	nInit := len(w.cfgs)
	var mu sync.Mutex
	var all []Event
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(wk)+2))
			var mine []Event
			for i := range steps {
				evs, name, err := w.step(r, fmt.Sprintf("w%d-", wk), wk == 0)
				if err == nil {
					err = w.e.CheckInvariants()
				}
				if err != nil {
					errc <- fmt.Errorf("seed %d worker %d step %d (%s): %w", seed, wk, i, name, err)
					return
				}
				mine = append(mine, evs...)
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	slices.SortFunc(all, func(a, b Event) int { return int(a.Seq) - int(b.Seq) })
	sh := newShadow()
	cm := newCapModel(w.opts)
	cfgs := w.cfgs
	for _, c := range cfgs[:nInit] {
		cm.config(c)
	}
	cfgs = cfgs[nInit:]
	for _, ev := range all {
		for len(cfgs) > 0 && cfgs[0].after < ev.Seq {
			cm.config(cfgs[0])
			cfgs = cfgs[1:]
		}
		if err := sh.apply(ev); err != nil {
			t.Fatalf("seed %d: replay: %v", seed, err)
		}
		if err := cm.apply(ev); err != nil {
			t.Fatalf("seed %d: replay: capacity: %v", seed, err)
		}
		if err := cm.check(); err != nil {
			t.Fatalf("seed %d: replay after seq %d: capacity: %v", seed, ev.Seq, err)
		}
	}
	for _, c := range cfgs {
		cm.config(c)
	}
	if err := sh.compare(w.e); err != nil {
		t.Fatalf("seed %d: events vs engine: %v", seed, err)
	}
	if err := cm.compare(w.e); err != nil {
		t.Fatalf("seed %d: capacity model vs engine: %v", seed, err)
	}
	w.drain(t, sh, cm)
	if len(sh.tasks) != 0 {
		t.Fatalf("seed %d: tasks not terminal: %v", seed, sh.tasks)
	}
}

// TestDeterministic runs the same seeded scenario twice: the event streams
// must be identical (no map-order dependence in routing decisions).
func TestDeterministic(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	run := func() []Event {
		r := rand.New(rand.NewPCG(seed, 0))
		w := newWorld(t, r, 10)
		var all []Event
		for range 1500 {
			evs, _, err := w.step(r, "t", true)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			all = append(all, evs...)
		}
		return all
	}
	a, b := run(), run()
	if len(a) != len(b) {
		t.Fatalf("seed %d: %d vs %d events", seed, len(a), len(b))
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			t.Fatalf("seed %d: event %d differs:\n%+v\n%+v", seed, i, a[i], b[i])
		}
	}
}
