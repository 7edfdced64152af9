package routing

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestStateRules(t *testing.T) {
	t.Run("break_cap", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", BreakCap: 1})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.agent("a2", map[GroupID]int{"g": 1})
		h.must(h.e.RequestBreak("a1", "lunch", 10*time.Minute))
		h.wantState("a1", StateReady) // needs approval
		h.must(h.e.RequestBreak("a2", "rest", 0))
		evs := h.must(h.e.ApproveBreak("a1"))
		h.wantEvent(evs, EventBreakApproved, nil)
		h.wantState("a1", StateBreak)
		evs = h.fails(ErrBreakCapReached)(h.e.ApproveBreak("a2"))
		h.wantEvent(evs, EventBreakDenied, func(ev Event) bool { return ev.GroupID == "g" && ev.Reason == ReasonBreakCap })
		h.wantState("a2", StateReady)
		if st, _ := h.e.GroupStats("g"); st.OnBreak != 1 {
			t.Fatalf("on break %d", st.OnBreak)
		}
		h.voice("t", "g")
		h.wantHolder("t", "a2") // nobody on break gets work
		evs = h.advance(10 * time.Minute)
		h.wantEvent(evs, EventAgentStateChanged, func(ev Event) bool {
			return ev.AgentID == "a1" && ev.FromState == StateBreak && ev.ToState == StateReady && ev.Duration == 10*time.Minute
		})
		h.must(h.e.RequestBreak("a2", "rest", 0))
		h.must(h.e.ApproveBreak("a2")) // the slot is free again
		h.wantState("a2", StateBreak)
		h.must(h.e.RequestBreak("a1", "x", 0))
		h.must(h.e.DenyBreak("a1", "busy hour"))
		h.fails(ErrInvalidState)(h.e.ApproveBreak("a1"))
	})
	t.Run("wrap_up_timer", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", WrapUp: 30 * time.Second, AutoAccept: true})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.voice("t1", "g")
		h.clk.Advance(time.Minute)
		evs := h.complete("t1")
		ev := h.wantEvent(evs, EventTaskCompleted, nil)
		if ev.Duration != time.Minute || ev.AgentID != "a1" {
			t.Fatalf("completed %+v", ev)
		}
		h.wantEvent(evs, EventWrapUpStarted, nil)
		h.wantState("a1", StateAfterCallWork)
		h.voice("t2", "g")
		h.wantStatus("t2", TaskQueued)
		h.advance(29 * time.Second)
		h.wantState("a1", StateAfterCallWork)
		evs = h.advance(time.Second)
		h.wantEvent(evs, EventWrapUpEnded, func(ev Event) bool { return ev.Duration == 30*time.Second })
		h.wantHolder("t2", "a1") // offered in the same Tick
	})
	t.Run("wrap_up_continue_early", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", WrapUp: time.Hour, AutoAccept: true})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.voice("t1", "g")
		h.complete("t1")
		h.voice("t2", "g")
		evs := h.must(h.e.ContinueWork("a1"))
		h.wantEvent(evs, EventWrapUpEnded, func(ev Event) bool { return ev.Reason == ReasonContinueWork })
		h.wantHolder("t2", "a1")
	})
	t.Run("disposition_required", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", RequireDisposition: true, AutoAccept: true})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.voice("t1", "g")
		h.complete("t1")
		h.wantState("a1", StateAfterCallWork)
		h.voice("t2", "g")
		h.fails(ErrDispositionRequired)(h.e.ContinueWork("a1"))
		h.fails(ErrDispositionRequired)(h.e.SetState("a1", StateReady, ""))
		h.wantStatus("t2", TaskQueued)
		evs := h.must(h.e.SetDisposition("a1", "t1", "repair/fiber"))
		h.wantEvent(evs, EventDispositionSet, func(ev Event) bool { return ev.Code == "repair/fiber" })
		h.wantHolder("t2", "a1")
	})
	t.Run("disposition_for_unknown_task", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", AutoAccept: true})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.agent("a2", map[GroupID]int{"g": 1})
		h.voice("t1", "g")
		holder := h.holder("t1")
		other := AgentID("a1")
		if holder == "a1" {
			other = "a2"
		}
		h.fails(ErrUnknownTask)(h.e.SetDisposition(other, "t1", "x"))
		h.fails(ErrUnknownTask)(h.e.SetDisposition(holder, "nope", "x"))
		evs := h.must(h.e.SetDisposition(holder, "t1", "ok"))
		h.wantEvent(evs, EventDispositionSet, func(ev Event) bool { return ev.Code == "ok" })
	})
	t.Run("disposition_while_not_ready", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", RequireDisposition: true, AutoAccept: true})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.voice("t1", "g")
		h.must(h.e.SetState("a1", StateNotReady, "lunch"))
		h.complete("t1")
		h.wantState("a1", StateNotReady)
		h.fails(ErrDispositionRequired)(h.e.SetState("a1", StateReady, ""))
		h.must(h.e.SetDisposition("a1", "t1", "ok"))
		h.must(h.e.SetState("a1", StateReady, ""))
	})
	t.Run("custom_states", func(t *testing.T) {
		h := newEnv(t, Options{CustomStates: []CustomState{{Name: "training"}, {Name: "outbound", Routable: true}}}, GroupConfig{ID: "g"})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.must(h.e.SetState("a1", "training", "course"))
		h.voice("t1", "g")
		h.wantStatus("t1", TaskQueued)
		h.must(h.e.SetState("a1", "outbound", ""))
		h.wantHolder("t1", "a1")
		h.must(h.e.SetState("a1", "training", ""))
		h.wantStatus("t1", TaskQueued) // pending offer withdrawn on a non-routable state
		h.must(h.e.UpsertCustomState(CustomState{Name: "training", Routable: true}))
		h.wantHolder("t1", "a1")
	})
	t.Run("not_ready_withdraws_pending_offer_keeps_order", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g"})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.voice("t1", "g")
		h.voice("t2", "g")
		h.must(h.e.SetState("a1", StateNotReady, "toilet"))
		h.wantPos("t1", 1)
		h.wantPos("t2", 2)
	})
}

func TestPresenceGrace(t *testing.T) {
	t.Run("expiry_returns_offers_to_head", func(t *testing.T) {
		h := newEnv(t, Options{PresenceGrace: 30 * time.Second}, GroupConfig{ID: "g", OfferTimeout: time.Hour})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.chat("c1", "g")
		h.chat("c2", "g")
		h.accept("a1", "c2") // c1 pending offer, c2 assigned
		h.chat("c3", "g")    // a1 has room: offered
		h.chat("c4", "g")
		h.chat("c5", "g")
		h.chat("c6", "g") // queued: a1 full
		h.wantPos("c5", 1)
		h.wantPos("c6", 2)
		evs := h.must(h.e.Disconnected("a1", h.clk.Now()))
		h.wantEvent(evs, EventAgentPresence, nil)
		h.advance(29 * time.Second)
		h.wantState("a1", StateReady)
		evs = h.advance(time.Second)
		h.wantEvent(evs, EventAgentStateChanged, func(ev Event) bool {
			return ev.AgentID == "a1" && ev.ToState == StateSignedOut && ev.Reason == ReasonDisconnected
		})
		h.wantEvent(evs, EventTaskTransferred, func(ev Event) bool { return ev.TaskID == "c2" && ev.FromAgent == "a1" })
		// c1..c5 are back at the head, in their original order, ahead of c6
		for i, id := range []TaskID{"c1", "c2", "c3", "c4", "c5", "c6"} {
			h.wantPos(id, i+1)
		}
		if s := h.snap("a1"); s.Used != 0 || len(s.Tasks) != 0 {
			t.Fatalf("signed-out agent holds %+v", s)
		}
	})
	t.Run("reconnect_cancels", func(t *testing.T) {
		h := newEnv(t, Options{PresenceGrace: 30 * time.Second}, GroupConfig{ID: "g"})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.must(h.e.Disconnected("a1", h.clk.Now()))
		h.voice("t", "g")
		h.wantStatus("t", TaskQueued) // disconnected agents get nothing new
		h.clk.Advance(10 * time.Second)
		h.must(h.e.Connected("a1"))
		h.wantHolder("t", "a1")
		h.advance(time.Minute)
		h.wantState("a1", StateReady)
	})
}

func TestRestoreOrder(t *testing.T) {
	// First life: tasks arrive with various priorities and times.
	h := newEnv(t, Options{}, GroupConfig{ID: "g", WrapUp: time.Minute}, GroupConfig{ID: "o"})
	h.agent("a1", map[GroupID]int{"g": 1, "o": 1}, auto)
	h.voice("held", "g") // assigned to a1
	r := rand.New(rand.NewPCG(3, 3))
	var specs []TaskSpec
	for i := range 30 {
		id := TaskID(rune('A' + i))
		g := GroupID("g")
		if i%3 == 0 {
			g = "o"
		}
		spec := TaskSpec{ID: id, Channel: ChannelVoice, Group: g, Priority: r.IntN(2)}
		_, evs := h.enqueue(spec)
		spec.EnqueuedAt = h.task(id).EnqueuedAt
		spec.Seq = h.wantEvent(evs, EventTaskQueued, nil).Seq
		specs = append(specs, spec)
		if r.IntN(2) == 0 {
			h.clk.Advance(time.Second)
		}
	}
	before := map[TaskID]int{}
	for _, s := range specs {
		p, _ := h.e.QueuePosition(s.ID)
		before[s.ID] = p
	}
	heldSince := h.task("held").EnqueuedAt
	h.clk.Advance(time.Minute)

	// Restart: a new engine, state replayed in a shuffled order.
	h2 := newEnv(t, Options{FirstSeq: 1000}, GroupConfig{ID: "g", WrapUp: time.Minute}, GroupConfig{ID: "o"})
	h2.clk.Advance(h.clk.Now().Sub(h2.clk.Now()))
	h2.must(h2.e.UpsertAgent(AgentConfig{ID: "a1", Groups: map[GroupID]int{"g": 1, "o": 1}, AutoAccept: true}))
	if err := h2.e.BeginRestore(); err != nil {
		t.Fatal(err)
	}
	if err := h2.e.RestoreAgent(AgentRestore{ID: "a1", State: StateReady, Since: heldSince, HandledToday: 1}); err != nil {
		t.Fatal(err)
	}
	if err := h2.e.RestoreAssigned(TaskSpec{ID: "held", Channel: ChannelVoice, Group: "g", EnqueuedAt: heldSince}, "a1", heldSince); err != nil {
		t.Fatal(err)
	}
	shuffled := append([]TaskSpec(nil), specs...)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, s := range shuffled {
		if _, evs, err := h2.e.Enqueue(s); err != nil || len(evs) != 0 {
			t.Fatalf("restore enqueue: %v %v", evs, err)
		}
	}
	evs, err := h2.e.EndRestore()
	h2.must(evs, err)
	for _, s := range specs {
		h2.wantPos(s.ID, before[s.ID])
	}
	h2.must(h2.e.Connected("a1")) // a1's client is back
	if s := h2.snap("a1"); s.Used != 100 || s.HandledToday != 1 {
		t.Fatalf("restored agent %+v", s)
	}
	// Serving order after the restart is the original queue order.
	want := h.e.Tasks()
	var order []TaskID
	for range specs {
		cur := h2.snap("a1").Tasks[0].TaskID
		evs := h2.complete(cur)
		if len(evs) > 0 && evs[0].Seq < 1000 {
			t.Fatalf("seq %d below FirstSeq", evs[0].Seq)
		}
		if h2.snap("a1").State == StateAfterCallWork {
			h2.must(h2.e.ContinueWork("a1"))
		}
		order = append(order, h2.snap("a1").Tasks[0].TaskID)
	}
	var wantOrder []TaskID
	for _, s := range want {
		if s.Status == TaskQueued {
			wantOrder = append(wantOrder, s.ID)
		}
	}
	// across the two groups a1 serves by priority then age: the same order
	// as Tasks() of the first engine.
	for i := range wantOrder {
		if order[i] != wantOrder[i] {
			t.Fatalf("served %v\nwant   %v", order, wantOrder)
		}
	}
}

func TestRestoreAgentStates(t *testing.T) {
	h := newEnv(t, Options{}, GroupConfig{ID: "g", BreakCap: 1})
	for _, id := range []AgentID{"a1", "a2", "a3"} {
		h.must(h.e.UpsertAgent(AgentConfig{ID: id, Groups: map[GroupID]int{"g": 1}}))
	}
	now := h.clk.Now()
	if err := h.e.BeginRestore(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []AgentRestore{
		{ID: "a1", State: StateBreak, Reason: "lunch", Since: now.Add(-10 * time.Minute), Until: now.Add(5 * time.Minute)},
		{ID: "a2", State: StateAfterCallWork, Since: now.Add(-time.Minute), Until: now.Add(30 * time.Second)},
		{ID: "a3", State: StateNotReady, Reason: "meeting", Since: now.Add(-time.Hour)},
	} {
		if err := h.e.RestoreAgent(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.e.BeginRestore(); err == nil {
		t.Fatal("nested restore accepted")
	}
	h.voice("t", "g")
	h.must(h.e.EndRestore())
	for _, id := range []AgentID{"a1", "a2", "a3"} {
		h.must(h.e.Connected(id)) // the clients are back
	}
	h.wantStatus("t", TaskQueued)
	if s := h.snap("a3"); !s.Since.Equal(now.Add(-time.Hour)) || s.Reason != "meeting" {
		t.Fatalf("a3 %+v", s)
	}
	if st, _ := h.e.GroupStats("g"); st.OnBreak != 1 || st.SignedIn != 3 {
		t.Fatalf("stats %+v", st)
	}
	evs := h.advance(30 * time.Second)
	h.wantEvent(evs, EventWrapUpEnded, func(ev Event) bool { return ev.AgentID == "a2" })
	h.wantHolder("t", "a2")
	evs = h.advance(5 * time.Minute)
	h.wantEvent(evs, EventAgentStateChanged, func(ev Event) bool {
		return ev.AgentID == "a1" && ev.ToState == StateReady && ev.Duration == 15*time.Minute+30*time.Second
	})
}

func TestViews(t *testing.T) {
	h := newEnv(t, Options{}, GroupConfig{ID: "g"})
	h.agent("a1", map[GroupID]int{"g": 1}, auto)
	h.voice("t1", "g")
	h.clk.Advance(3 * time.Minute)
	h.complete("t1")
	h.must(h.e.SetState("a1", StateNotReady, "x"))
	h.voice("t2", "g")
	h.clk.Advance(10 * time.Second)
	h.voice("t3", "g")
	d, ok := h.e.EstimatedWait("t3")
	if !ok || d != 6*time.Minute { // position 2 x 3 min AHT / 1 agent
		t.Fatalf("estimated wait %v %v", d, ok)
	}
	st, err := h.e.GroupStats("g")
	if err != nil || st.Queued != 2 || st.LongestWait != 10*time.Second || st.AgentsByState[StateNotReady] != 1 || st.Completed != 1 || st.AvgHandle != 3*time.Minute {
		t.Fatalf("stats %+v %v", st, err)
	}
	s := h.snap("a1")
	s.Groups["g"] = 99 // a copy
	if h.snap("a1").Groups["g"] != 1 {
		t.Fatal("snapshot aliases engine state")
	}
	if ids := h.e.Groups(); len(ids) != 1 || ids[0] != "g" {
		t.Fatalf("groups %v", ids)
	}
	if cfg, err := h.e.GroupConfig("g"); err != nil || cfg.OfferTimeout != DefaultOfferTimeout || cfg.Strategy != StrategyLongestIdle {
		t.Fatalf("config %+v %v", cfg, err)
	}
	// Nobody signed in: no estimate at all (the wait is unknown).
	h.must(h.e.SignOut("a1", "x"))
	if d, ok := h.e.EstimatedWait("t3"); ok {
		t.Fatalf("estimated wait %v with nobody signed in", d)
	}
}

// TestRestoreGrace: after a restart every restored agent is disconnected
// with the presence grace of a dropped connection: nothing new is offered
// to them, and one whose client does not come back within the grace is
// signed out (work back to the queue), while one who reconnects is routed
// as before. Issue 12, defect 7.
func TestRestoreGrace(t *testing.T) {
	grace := 20 * time.Second
	h := newEnv(t, Options{PresenceGrace: grace}, GroupConfig{ID: "g", OfferTimeout: time.Hour})
	for _, id := range []AgentID{"gone", "back"} {
		h.must(h.e.UpsertAgent(AgentConfig{ID: id, Groups: map[GroupID]int{"g": 1}, Capacity: 100, AutoAccept: true}))
	}
	since := h.clk.Now().Add(-time.Hour)
	if err := h.e.BeginRestore(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []AgentID{"gone", "back"} {
		if err := h.e.RestoreAgent(AgentRestore{ID: id, State: StateReady, Since: since}); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.e.RestoreAssigned(TaskSpec{ID: "held", Channel: ChannelWebChat, Group: "g", EnqueuedAt: since}, "gone", since); err != nil {
		t.Fatal(err)
	}
	h.must(h.e.EndRestore())
	for _, id := range []AgentID{"gone", "back"} {
		if s := h.snap(id); s.Connected || s.State != StateReady {
			t.Fatalf("%s restored as %+v, want ready and not connected", id, s)
		}
	}
	if at, ok := h.e.NextDeadline(); !ok || !at.Equal(h.clk.Now().Add(grace)) {
		t.Fatalf("next deadline %v %v, want the grace's end", at, ok)
	}
	// Within the grace nobody is offered anything new; held work stays.
	h.chat("c1", "g")
	h.wantStatus("c1", TaskQueued)
	h.wantHolder("held", "gone")
	h.clk.Advance(grace / 2)
	h.must(h.e.Connected("back"))
	h.wantHolder("c1", "back")
	evs := h.advance(grace / 2)
	h.wantEvent(evs, EventAgentStateChanged, func(ev Event) bool {
		return ev.AgentID == "gone" && ev.ToState == StateSignedOut && ev.Reason == ReasonDisconnected
	})
	h.wantState("gone", StateSignedOut)
	h.wantState("back", StateReady)
	// gone's chat went back to the queue and on to the agent who is back;
	// new work goes there too.
	h.wantHolder("held", "back")
	h.chat("c2", "g")
	h.wantHolder("c2", "back")

	t.Run("negative_grace_signs_out_at_first_tick", func(t *testing.T) {
		h := newEnv(t, Options{PresenceGrace: -1}, GroupConfig{ID: "g"})
		h.must(h.e.UpsertAgent(AgentConfig{ID: "a", Groups: map[GroupID]int{"g": 1}}))
		if err := h.e.BeginRestore(); err != nil {
			t.Fatal(err)
		}
		if err := h.e.RestoreAgent(AgentRestore{ID: "a", State: StateNotReady, Reason: "meeting"}); err != nil {
			t.Fatal(err)
		}
		h.must(h.e.EndRestore())
		h.must(h.e.Tick(h.clk.Now()), nil)
		h.wantState("a", StateSignedOut)
	})
	t.Run("signed_out_restore_is_connected", func(t *testing.T) {
		h := newEnv(t, Options{PresenceGrace: grace}, GroupConfig{ID: "g"})
		h.must(h.e.UpsertAgent(AgentConfig{ID: "a", Groups: map[GroupID]int{"g": 1}}))
		if err := h.e.BeginRestore(); err != nil {
			t.Fatal(err)
		}
		if err := h.e.RestoreAgent(AgentRestore{ID: "a", State: StateSignedOut}); err != nil {
			t.Fatal(err)
		}
		h.must(h.e.EndRestore())
		if _, ok := h.e.NextDeadline(); ok {
			t.Fatal("grace scheduled for a signed-out agent")
		}
		h.must(h.e.SignIn("a"))
		h.voice("v", "g")
		h.wantHolder("v", "a")
	})
}
