package routing

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestEscalation(t *testing.T) {
	t.Run("widen_level", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", InitialLevel: 1,
			Escalation: []EscalationStep{{After: 10 * time.Second, Level: 2}, {After: 20 * time.Second, AnyLevel: true}}})
		h.agent("a2", map[GroupID]int{"g": 2})
		h.agent("a3", map[GroupID]int{"g": 3})
		h.voice("t", "g")
		h.wantStatus("t", TaskQueued) // only level-1 agents at first
		evs := h.advance(10 * time.Second)
		ev := h.wantEvent(evs, EventTaskEscalated, nil)
		if ev.Level != 2 {
			t.Fatalf("escalated to level %d", ev.Level)
		}
		h.wantHolder("t", "a2")
		h.must(h.e.Reject("a2", "t", ""))
		evs = h.advance(10 * time.Second) // any level now
		h.wantEvent(evs, EventTaskOffered, func(ev Event) bool { return ev.AgentID == "a3" })
	})
	t.Run("add_group_keeps_age", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", Escalation: []EscalationStep{{After: 20 * time.Second, AddGroups: []GroupID{"o"}}}},
			GroupConfig{ID: "o"})
		h.agent("b", map[GroupID]int{"o": 1})
		h.voice("busy", "o")
		h.accept("b", "busy")
		h.voice("older", "o")
		h.clk.Advance(time.Second)
		h.voice("t", "g") // no agent in g
		h.clk.Advance(time.Second)
		h.voice("newer", "o")
		evs := h.advance(20 * time.Second)
		ev := h.wantEvent(evs, EventTaskEscalated, forTask("t"))
		if ev.ToGroup != "o" {
			t.Fatalf("escalated to %q", ev.ToGroup)
		}
		if st, _ := h.e.GroupStats("o"); st.QueuedWithEscalated != 3 || st.Queued != 2 {
			t.Fatalf("stats %+v", st)
		}
		h.wantPos("t", 1) // position in its own group
		// b becomes free three times: older, then t (its age), then newer
		for _, want := range []TaskID{"older", "t", "newer"} {
			h.complete(h.snap("b").Tasks[0].TaskID)
			h.wantHolder(want, "b")
			h.accept("b", want)
		}
	})
}

func TestPriorityBoost(t *testing.T) {
	for _, boost := range []PriorityBoost{{After: 30 * time.Second, Add: 2}, {After: 30 * time.Second, To: 5}} {
		t.Run("", func(t *testing.T) {
			h := newEnv(t, Options{}, GroupConfig{ID: "g", PriorityBoosts: []PriorityBoost{boost}})
			h.enqueue(TaskSpec{ID: "old", Channel: ChannelVoice, Group: "g", Priority: 0})
			h.clk.Advance(10 * time.Second)
			h.enqueue(TaskSpec{ID: "vip", Channel: ChannelVoice, Group: "g", Priority: 1})
			h.wantPos("vip", 1)
			h.wantPos("old", 2)
			evs := h.advance(20 * time.Second)
			ev := h.wantEvent(evs, EventTaskPriorityRaised, forTask("old"))
			if ev.FromPriority != 0 || ev.Priority <= 1 {
				t.Fatalf("raise %+v", ev)
			}
			h.wantPos("old", 1)
			h.agent("a1", map[GroupID]int{"g": 1})
			h.wantHolder("old", "a1")
			h.wantStatus("vip", TaskQueued)
		})
	}
}

func TestQueueOrder(t *testing.T) {
	h := newEnv(t, Options{}, GroupConfig{ID: "g"})
	r := rand.New(rand.NewPCG(7, 7))
	type tk struct {
		id   TaskID
		prio int
	}
	var all []tk
	for i := range 40 {
		id := TaskID(string(rune('A'+i/26)) + string(rune('a'+i%26)))
		p := r.IntN(3)
		all = append(all, tk{id, p})
		h.enqueue(TaskSpec{ID: id, Channel: ChannelVoice, Group: "g", Priority: p})
		h.clk.Advance(time.Duration(r.IntN(3)) * time.Second) // equal times too: sequence decides
	}
	// expected order: priority desc, then enqueue order
	var want []TaskID
	for p := 2; p >= 0; p-- {
		for _, x := range all {
			if x.prio == p {
				want = append(want, x.id)
			}
		}
	}
	for i, id := range want {
		h.wantPos(id, i+1)
	}
	h.agent("a1", map[GroupID]int{"g": 1}, auto)
	for _, id := range want {
		h.wantHolder(id, "a1")
		h.complete(id)
	}
}

func TestOverflow(t *testing.T) {
	weekdays := &BusinessHours{Location: time.FixedZone("CST", 8*3600), Weekly: map[time.Weekday][]Span{}}
	for d := time.Monday; d <= time.Friday; d++ {
		weekdays.Weekly[d] = []Span{{From: 9 * time.Hour, To: 12 * time.Hour}, {From: 13 * time.Hour, To: 18 * time.Hour}}
	}
	t.Run("queue_full", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", MaxQueueLength: 1, OnQueueFull: OverflowAction{Kind: OverflowVoicemail}})
		h.voice("t1", "g")
		res, evs := h.enqueue(TaskSpec{ID: "t2", Channel: ChannelVoice, Group: "g"})
		if res.Status != TaskOverflowed || res.Action == nil || res.Action.Kind != OverflowVoicemail {
			t.Fatalf("result %+v", res)
		}
		ev := h.wantEvent(evs, EventTaskOverflowed, nil)
		if ev.Reason != ReasonQueueFull || ev.Action.Kind != OverflowVoicemail {
			t.Fatalf("event %+v", ev)
		}
		h.fails(ErrUnknownTask)(h.e.Cancel("t2", "")) // gone from the engine
	})
	t.Run("queue_full_default_rejects", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", MaxQueueLength: 1})
		h.voice("t1", "g")
		res := h.voice("t2", "g")
		if res.Action == nil || res.Action.Kind != OverflowReject {
			t.Fatalf("result %+v", res)
		}
	})
	t.Run("queue_full_to_group", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", MaxQueueLength: 1, OnQueueFull: OverflowAction{Kind: OverflowGroup, Group: "o"}}, GroupConfig{ID: "o"})
		h.voice("t1", "g")
		res := h.voice("t2", "g")
		if res.Status != TaskQueued || res.Group != "o" {
			t.Fatalf("result %+v", res)
		}
	})
	t.Run("overflow_loop_rejects", func(t *testing.T) {
		h := newEnv(t, Options{},
			GroupConfig{ID: "g", OnNoAgents: OverflowAction{Kind: OverflowGroup, Group: "o"}},
			GroupConfig{ID: "o", OnNoAgents: OverflowAction{Kind: OverflowGroup, Group: "g"}})
		res := h.voice("t1", "g")
		if res.Status != TaskOverflowed || res.Action.Kind != OverflowReject {
			t.Fatalf("result %+v", res)
		}
	})
	t.Run("max_wait_to_group_keeps_age", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", MaxWait: time.Minute, OnMaxWait: OverflowAction{Kind: OverflowGroup, Group: "o"}}, GroupConfig{ID: "o"})
		h.voice("t", "g")
		h.clk.Advance(30 * time.Second)
		h.voice("o1", "o")
		evs := h.advance(30 * time.Second)
		ev := h.wantEvent(evs, EventTaskOverflowed, forTask("t"))
		if ev.Reason != ReasonMaxWait || ev.FromGroup != "g" || ev.ToGroup != "o" {
			t.Fatalf("event %+v", ev)
		}
		if s := h.task("t"); s.Group != "o" || !s.EnqueuedAt.Equal(newClock().Now()) {
			t.Fatalf("task %+v", s)
		}
		h.wantPos("t", 1) // older than o1
		h.wantPos("o1", 2)
	})
	t.Run("max_wait_callback", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", MaxWait: time.Minute, OnMaxWait: OverflowAction{Kind: OverflowCallback}})
		h.voice("t", "g")
		if d, ok := h.e.NextDeadline(); !ok || !d.Equal(h.clk.Now().Add(time.Minute)) {
			t.Fatalf("deadline %v", d)
		}
		evs := h.advance(time.Minute)
		ev := h.wantEvent(evs, EventTaskOverflowed, forTask("t"))
		if ev.Action.Kind != OverflowCallback {
			t.Fatalf("event %+v", ev)
		}
	})
	t.Run("nobody_signed_in", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", OnNoAgents: OverflowAction{Kind: OverflowLeaveMessage}})
		res := h.chat("t", "g")
		if res.Status != TaskOverflowed || res.Action.Kind != OverflowLeaveMessage {
			t.Fatalf("result %+v", res)
		}
		h.agent("a1", map[GroupID]int{"g": 1})
		h.must(h.e.SetState("a1", StateNotReady, "meeting")) // signed in, not ready: queue
		if res := h.chat("t2", "g"); res.Status != TaskQueued {
			t.Fatalf("result %+v", res)
		}
	})
	t.Run("closed", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", Hours: weekdays, OnClosed: OverflowAction{Kind: OverflowVoicemail}})
		// the clock starts Monday 08:00 UTC = 16:00 CST: open
		if res := h.voice("t1", "g"); res.Status != TaskQueued {
			t.Fatalf("open hours: %+v", res)
		}
		h.clk.Advance(2*time.Hour + 30*time.Minute) // 18:30 CST
		res, evs := h.enqueue(TaskSpec{ID: "t2", Channel: ChannelVoice, Group: "g"})
		if res.Status != TaskOverflowed || res.Action.Kind != OverflowVoicemail {
			t.Fatalf("closed hours: %+v", res)
		}
		h.wantEvent(evs, EventTaskOverflowed, func(ev Event) bool { return ev.Reason == ReasonClosed })
	})
}

func TestBusinessHoursOpen(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	h := &BusinessHours{Location: cst, Weekly: map[time.Weekday][]Span{
		time.Monday:   {{From: 9 * time.Hour, To: 12 * time.Hour}, {From: 13 * time.Hour, To: 18 * time.Hour}},
		time.Saturday: {{From: 0, To: 24 * time.Hour}},
	}, Closed: []Date{{2026, time.March, 9}}}
	cases := []struct {
		at   time.Time
		open bool
	}{
		{time.Date(2026, 3, 2, 9, 0, 0, 0, cst), true},
		{time.Date(2026, 3, 2, 8, 59, 59, 0, cst), false},
		{time.Date(2026, 3, 2, 12, 30, 0, 0, cst), false},
		{time.Date(2026, 3, 2, 17, 59, 0, 0, cst), true},
		{time.Date(2026, 3, 2, 18, 0, 0, 0, cst), false},
		{time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC), true}, // 09:00 CST
		{time.Date(2026, 3, 3, 10, 0, 0, 0, cst), false},    // Tuesday: no spans
		{time.Date(2026, 3, 7, 23, 59, 0, 0, cst), true},    // Saturday all day
		{time.Date(2026, 3, 9, 10, 0, 0, 0, cst), false},    // holiday Monday
	}
	for _, c := range cases {
		t.Run(c.at.String(), func(t *testing.T) {
			if got := h.Open(c.at); got != c.open {
				t.Fatalf("Open(%v) = %v", c.at, got)
			}
		})
	}
	var none *BusinessHours
	if !none.Open(time.Now()) {
		t.Fatal("nil hours must be open")
	}
}
