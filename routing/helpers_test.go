package routing

import (
	"errors"
	"slices"
	"testing"
	"time"
)

type tenv struct {
	t   *testing.T
	e   *Engine
	clk *fakeClock
	log []Event
}

func newEnv(t *testing.T, opts Options, groups ...GroupConfig) *tenv {
	t.Helper()
	clk := newClock()
	opts.Now = clk.Now
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h := &tenv{t: t, e: e, clk: clk}
	for _, g := range groups {
		h.must(e.UpsertGroup(g))
	}
	return h
}

// must fails on error, checks invariants and logs the events.
func (h *tenv) must(evs []Event, err error) []Event {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
	h.check()
	h.log = append(h.log, evs...)
	return evs
}

// fails returns a check that the call's error wraps target:
// h.fails(ErrX)(h.e.Call(...)).
func (h *tenv) fails(target error) func([]Event, error) []Event {
	return func(evs []Event, err error) []Event {
		h.t.Helper()
		if !errors.Is(err, target) {
			h.t.Fatalf("got error %v, want %v", err, target)
		}
		h.check()
		h.log = append(h.log, evs...)
		return evs
	}
}

func (h *tenv) check() {
	h.t.Helper()
	if err := h.e.CheckInvariants(); err != nil {
		h.t.Fatal("invariant: ", err)
	}
}

// agent configures and signs in an agent (ready), one second apart so that
// idle order is the creation order.
func (h *tenv) agent(id AgentID, groups map[GroupID]int, mod ...func(*AgentConfig)) {
	h.t.Helper()
	c := AgentConfig{ID: id, Groups: groups}
	for _, m := range mod {
		m(&c)
	}
	h.must(h.e.UpsertAgent(c))
	h.must(h.e.SignIn(id))
	h.clk.Advance(time.Second)
}

func (h *tenv) enqueue(spec TaskSpec) (EnqueueResult, []Event) {
	h.t.Helper()
	res, evs, err := h.e.Enqueue(spec)
	h.must(evs, err)
	return res, evs
}

func (h *tenv) voice(id TaskID, g GroupID) EnqueueResult {
	h.t.Helper()
	res, _ := h.enqueue(TaskSpec{ID: id, Channel: ChannelVoice, Group: g})
	return res
}

func (h *tenv) chat(id TaskID, g GroupID) EnqueueResult {
	h.t.Helper()
	res, _ := h.enqueue(TaskSpec{ID: id, Channel: ChannelWebChat, Group: g})
	return res
}

// advance moves the clock and ticks.
func (h *tenv) advance(d time.Duration) []Event {
	h.t.Helper()
	return h.must(h.e.Tick(h.clk.Advance(d)), nil)
}

func (h *tenv) task(id TaskID) TaskSnapshot {
	h.t.Helper()
	s, err := h.e.Task(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *tenv) snap(id AgentID) AgentSnapshot {
	h.t.Helper()
	s, err := h.e.Agent(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// holder returns the single agent holding the task ("" if none).
func (h *tenv) holder(id TaskID) AgentID {
	h.t.Helper()
	s := h.task(id)
	if len(s.Agents) > 1 {
		h.t.Fatalf("task %q held by %v", id, s.Agents)
	}
	if len(s.Agents) == 0 {
		return ""
	}
	return s.Agents[0]
}

func (h *tenv) wantHolder(id TaskID, a AgentID) {
	h.t.Helper()
	if got := h.holder(id); got != a {
		h.t.Fatalf("task %q held by %q, want %q", id, got, a)
	}
}

func (h *tenv) wantStatus(id TaskID, st TaskStatus) {
	h.t.Helper()
	if got := h.task(id).Status; got != st {
		h.t.Fatalf("task %q is %s, want %s", id, got, st)
	}
}

func (h *tenv) wantState(id AgentID, st AgentState) {
	h.t.Helper()
	if got := h.snap(id).State; got != st {
		h.t.Fatalf("agent %q is %s, want %s", id, got, st)
	}
}

func (h *tenv) wantPos(id TaskID, pos int) {
	h.t.Helper()
	got, ok := h.e.QueuePosition(id)
	if !ok || got != pos {
		h.t.Fatalf("task %q position %d (%v), want %d", id, got, ok, pos)
	}
}

// accept accepts an offer.
func (h *tenv) accept(a AgentID, id TaskID) []Event {
	h.t.Helper()
	return h.must(h.e.Accept(a, id))
}

func (h *tenv) complete(id TaskID) []Event {
	h.t.Helper()
	return h.must(h.e.Complete(id, ""))
}

func has(evs []Event, typ EventType, match func(Event) bool) bool {
	return slices.ContainsFunc(evs, func(ev Event) bool { return ev.Type == typ && (match == nil || match(ev)) })
}

func (h *tenv) wantEvent(evs []Event, typ EventType, match func(Event) bool) Event {
	h.t.Helper()
	i := slices.IndexFunc(evs, func(ev Event) bool { return ev.Type == typ && (match == nil || match(ev)) })
	if i < 0 {
		h.t.Fatalf("no %s event in %+v", typ, evs)
	}
	return evs[i]
}

func forTask(id TaskID) func(Event) bool { return func(ev Event) bool { return ev.TaskID == id } }

func auto(c *AgentConfig) { c.AutoAccept = true }
