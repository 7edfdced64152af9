package routing

import (
	"errors"
	"testing"
	"time"
)

func TestStrategies(t *testing.T) {
	t.Run("longest_idle", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g"})
		for _, a := range []AgentID{"a1", "a2", "a3"} {
			h.agent(a, map[GroupID]int{"g": 1})
		}
		h.voice("t1", "g")
		h.wantHolder("t1", "a1")
		h.voice("t2", "g")
		h.wantHolder("t2", "a2")
		h.accept("a1", "t1")
		h.clk.Advance(time.Second)
		h.complete("t1") // a1 idle again, but since now: a3 has waited longer
		h.voice("t3", "g")
		h.wantHolder("t3", "a3")
		h.voice("t4", "g")
		h.wantHolder("t4", "a1")
	})
	t.Run("least_loaded", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", Strategy: StrategyLeastLoaded, AutoAccept: true})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.agent("a2", map[GroupID]int{"g": 1}, func(c *AgentConfig) { c.Capacity = 200 })
		// load before each offer (a1/a2): 0/0, 25/0, 25/12.5, 25/25, 50/25, 50/37.5, 50/50
		want := []AgentID{"a1", "a2", "a2", "a1", "a2", "a2", "a1"}
		for i, w := range want {
			id := TaskID(rune('a' + i))
			h.chat(id, "g")
			h.wantHolder(id, w)
		}
	})
	t.Run("fewest_handled", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", Strategy: StrategyFewestHandled, AutoAccept: true})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.voice("t1", "g")
		h.wantHolder("t1", "a1")
		h.complete("t1")
		h.agent("a2", map[GroupID]int{"g": 1}) // a1 idle longer, but handled 1
		h.voice("t2", "g")
		h.wantHolder("t2", "a2")
		h.complete("t2")
		h.clk.Advance(time.Second)
		h.voice("t3", "g") // 1 each: idle order (a1 freed first)
		h.wantHolder("t3", "a1")
		h.complete("t3")
		h.e.ResetDailyCounters()
		h.clk.Advance(time.Second)
		h.voice("t4", "g") // 0 each after reset: a2 idle longest
		h.wantHolder("t4", "a2")
	})
	t.Run("round_robin", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", Strategy: StrategyRoundRobin, AutoAccept: true})
		for _, a := range []AgentID{"a1", "a2", "a3"} {
			h.agent(a, map[GroupID]int{"g": 1})
		}
		want := []AgentID{"a1", "a2", "a3", "a1", "a2", "a3", "a1"}
		for i, w := range want {
			id := TaskID(rune('a' + i))
			h.voice(id, "g")
			h.wantHolder(id, w)
			h.complete(id) // everyone free again: only the rotation decides
		}
	})
	t.Run("last_agent_waits_for_previous_agent", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", Strategy: StrategyLastAgent, LastAgentWait: 30 * time.Second})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.agent("a2", map[GroupID]int{"g": 1})
		h.voice("busy", "g") // a1 takes it
		h.accept("a1", "busy")
		h.enqueue(TaskSpec{ID: "t", Channel: ChannelVoice, Group: "g", Contact: "c1", LastAgent: "a1"})
		h.wantStatus("t", TaskQueued) // a2 is free but t waits for a1
		if got := h.task("t").ReservedFor; got != "a1" {
			t.Fatalf("reserved for %q", got)
		}
		h.clk.Advance(10 * time.Second)
		evs := h.complete("busy")
		h.wantEvent(evs, EventTaskOffered, func(ev Event) bool { return ev.TaskID == "t" && ev.AgentID == "a1" })
	})
	t.Run("last_agent_wait_expires", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", Strategy: StrategyLastAgent, LastAgentWait: 30 * time.Second})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.agent("a2", map[GroupID]int{"g": 1})
		h.voice("busy", "g")
		h.accept("a1", "busy")
		h.enqueue(TaskSpec{ID: "t", Channel: ChannelVoice, Group: "g", LastAgent: "a1"})
		if d, ok := h.e.NextDeadline(); !ok || d.After(h.clk.Now().Add(30*time.Second)) {
			t.Fatalf("next deadline %v %v", d, ok)
		}
		h.advance(29 * time.Second)
		h.wantStatus("t", TaskQueued)
		evs := h.advance(time.Second)
		h.wantEvent(evs, EventTaskOffered, func(ev Event) bool { return ev.TaskID == "t" && ev.AgentID == "a2" })
	})
	t.Run("last_agent_signed_out_falls_back_at_once", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", Strategy: StrategyLastAgent, LastAgentWait: 30 * time.Second})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.agent("a2", map[GroupID]int{"g": 1})
		h.must(h.e.SignOut("a1", ""))
		h.enqueue(TaskSpec{ID: "t", Channel: ChannelVoice, Group: "g", LastAgent: "a1"})
		h.wantHolder("t", "a2")
	})
	t.Run("last_agent_free_gets_it_first", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", Strategy: StrategyLastAgent, LastAgentWait: 30 * time.Second})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.agent("a2", map[GroupID]int{"g": 1})
		h.enqueue(TaskSpec{ID: "t", Channel: ChannelVoice, Group: "g", LastAgent: "a2"})
		h.wantHolder("t", "a2") // a1 idle longer, but a2 served the contact
	})
	t.Run("ring_all_first_accept_wins", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", Strategy: StrategyRingAll})
		for _, a := range []AgentID{"a1", "a2", "a3"} {
			h.agent(a, map[GroupID]int{"g": 1})
		}
		_, evs := h.enqueue(TaskSpec{ID: "t", Channel: ChannelVoice, Group: "g"})
		n := 0
		for _, ev := range evs {
			if ev.Type == EventTaskOffered {
				n++
			}
		}
		if n != 3 || len(h.task("t").Agents) != 3 {
			t.Fatalf("ring-all offered %d times: %+v", n, evs)
		}
		if st, _ := h.e.GroupStats("g"); st.OffersOut != 3 {
			t.Fatalf("offers out %d", st.OffersOut)
		}
		evs = h.accept("a2", "t")
		for _, a := range []AgentID{"a1", "a3"} {
			h.wantEvent(evs, EventOfferWithdrawn, func(ev Event) bool { return ev.AgentID == a && ev.Reason == ReasonAnsweredElsewhere })
		}
		h.wantHolder("t", "a2")
		h.fails(ErrNotOffered)(h.e.Accept("a1", "t"))
		if s := h.snap("a1"); s.Used != 0 || len(s.Tasks) != 0 {
			t.Fatalf("loser still holds capacity: %+v", s)
		}
	})
	t.Run("ring_all_all_time_out_rings_again", func(t *testing.T) {
		h := newEnv(t, Options{RejectCooldown: -1}, GroupConfig{ID: "g", Strategy: StrategyRingAll, OfferTimeout: 10 * time.Second, MaxNoAnswer: 5})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.agent("a2", map[GroupID]int{"g": 1})
		h.voice("t", "g")
		evs := h.advance(10 * time.Second)
		if !has(evs, EventOfferTimeout, nil) || len(h.task("t").Agents) != 2 {
			t.Fatalf("after time-out: %+v, holders %v", evs, h.task("t").Agents)
		}
	})
}

func TestRejectReroutes(t *testing.T) {
	h := newEnv(t, Options{RejectCooldown: 20 * time.Second}, GroupConfig{ID: "g"})
	h.agent("a1", map[GroupID]int{"g": 1})
	h.voice("t", "g")
	h.wantHolder("t", "a1")
	evs := h.must(h.e.Reject("a1", "t", "busy"))
	h.wantEvent(evs, EventOfferRejected, forTask("t"))
	h.wantStatus("t", TaskQueued) // the only agent is skipped during the cooldown
	h.agent("a2", map[GroupID]int{"g": 1})
	h.wantHolder("t", "a2")
	h.must(h.e.Reject("a2", "t", ""))
	// both rejected: after the cooldown the first to be free is used again
	evs = h.advance(20 * time.Second)
	h.wantEvent(evs, EventTaskOffered, forTask("t"))
	if s := h.task("t"); s.Offers != 3 {
		t.Fatalf("offers %d", s.Offers)
	}
}

func TestOfferTimeoutReroutesAndNoAnswer(t *testing.T) {
	h := newEnv(t, Options{}, GroupConfig{ID: "g", OfferTimeout: 15 * time.Second, MaxNoAnswer: 2})
	h.agent("a1", map[GroupID]int{"g": 1})
	h.agent("a2", map[GroupID]int{"g": 1})
	h.voice("t1", "g")
	h.wantHolder("t1", "a1")
	if d, ok := h.e.NextDeadline(); !ok || !d.Equal(h.clk.Now().Add(15*time.Second)) {
		t.Fatalf("next deadline %v, want offer timeout", d)
	}
	evs := h.advance(15 * time.Second)
	h.wantEvent(evs, EventOfferTimeout, func(ev Event) bool { return ev.AgentID == "a1" })
	h.wantEvent(evs, EventTaskOffered, func(ev Event) bool { return ev.AgentID == "a2" }) // 超时转接 in the same Tick
	h.wantHolder("t1", "a2")
	if s := h.snap("a1"); s.NoAnswer != 1 || s.State != StateReady {
		t.Fatalf("a1 after one no-answer: %+v", s)
	}
	h.accept("a2", "t1")
	h.voice("t2", "g")
	h.wantHolder("t2", "a1")
	evs = h.advance(15 * time.Second)
	h.wantEvent(evs, EventAgentStateChanged, func(ev Event) bool {
		return ev.AgentID == "a1" && ev.ToState == StateNotReady && ev.Reason == ReasonNoAnswer
	})
	h.wantState("a1", StateNotReady)
	h.wantStatus("t2", TaskQueued)
}

func TestAutoAcceptEmitsOfferedAndAccepted(t *testing.T) {
	h := newEnv(t, Options{}, GroupConfig{ID: "g", AutoAccept: true})
	h.agent("a1", map[GroupID]int{"g": 1})
	_, evs := h.enqueue(TaskSpec{ID: "t", Channel: ChannelVoice, Group: "g"})
	h.wantEvent(evs, EventTaskQueued, nil)
	h.wantEvent(evs, EventTaskOffered, nil)
	ev := h.wantEvent(evs, EventOfferAccepted, nil)
	if ev.Reason != "auto_accept" {
		t.Fatalf("reason %q", ev.Reason)
	}
	h.wantStatus("t", TaskAssigned)
}

func TestCapacity(t *testing.T) {
	t.Run("one_call_or_four_chats", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", AutoAccept: true})
		h.agent("a1", map[GroupID]int{"g": 1})
		for _, id := range []TaskID{"c1", "c2", "c3", "c4", "c5"} {
			h.chat(id, "g")
		}
		if s := h.snap("a1"); s.Used != 100 || len(s.Tasks) != 4 {
			t.Fatalf("four chats: %+v", s)
		}
		h.wantStatus("c5", TaskQueued)
		h.complete("c1") // c5 takes the room at once
		h.wantHolder("c5", "a1")
		h.voice("v", "g")
		h.wantStatus("v", TaskQueued)
		for _, id := range []TaskID{"c2", "c3", "c4"} {
			h.complete(id)
		}
		h.wantStatus("v", TaskQueued) // still one chat: never a call on top of chats
		h.complete("c5")
		h.wantHolder("v", "a1")
		h.chat("c6", "g")
		h.wantStatus("c6", TaskQueued) // nothing on top of a call
	})
	t.Run("mixed_media_allowed", func(t *testing.T) {
		h := newEnv(t, Options{AllowMixedMedia: true}, GroupConfig{ID: "g", AutoAccept: true})
		h.agent("a1", map[GroupID]int{"g": 1}, func(c *AgentConfig) { c.Capacity = 125 })
		h.chat("c1", "g")
		h.voice("v", "g")
		h.wantHolder("v", "a1")
	})
	t.Run("channel_max_and_group_cap", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g", AutoAccept: true}, GroupConfig{ID: "h", AutoAccept: true})
		h.agent("a1", map[GroupID]int{"g": 1, "h": 1}, func(c *AgentConfig) {
			c.ChannelMax = map[Channel]int{ChannelWeChat: 1}
			c.GroupCap = map[GroupID]int{"g": 2}
		})
		h.enqueue(TaskSpec{ID: "w1", Channel: ChannelWeChat, Group: "h"})
		h.enqueue(TaskSpec{ID: "w2", Channel: ChannelWeChat, Group: "h"})
		h.wantStatus("w2", TaskQueued) // wechat max 1
		h.chat("c1", "g")
		h.chat("c2", "g")
		h.chat("c3", "g")
		h.wantStatus("c3", TaskQueued) // group cap 2 (接待上限), capacity would allow it
		if s := h.snap("a1"); s.Used != 75 {
			t.Fatalf("used %d", s.Used)
		}
	})
	t.Run("group_channel_cost", func(t *testing.T) {
		h := newEnv(t, Options{ChannelCost: map[Channel]int{ChannelSMS: 20}},
			GroupConfig{ID: "g", AutoAccept: true, ChannelCost: map[Channel]int{ChannelWebChat: 50}})
		h.agent("a1", map[GroupID]int{"g": 1})
		h.chat("c1", "g")
		h.enqueue(TaskSpec{ID: "s1", Channel: ChannelSMS, Group: "g"})
		if s := h.snap("a1"); s.Used != 70 {
			t.Fatalf("used %d, want 50+20", s.Used)
		}
	})
	t.Run("concurrent_accepts_never_overshoot", func(t *testing.T) {
		h := newEnv(t, Options{}, GroupConfig{ID: "g"})
		h.agent("a1", map[GroupID]int{"g": 1})
		done := make(chan struct{})
		for i := range 8 {
			go func() {
				defer func() { done <- struct{}{} }()
				for j := range 50 {
					id := TaskID(string(rune('A'+i)) + string(rune('a'+j%26)) + string(rune('0'+j/26)))
					h.e.Enqueue(TaskSpec{ID: id, Channel: ChannelWebChat, Group: "g"})
					h.e.Accept("a1", id)
				}
			}()
		}
		for range 8 {
			<-done
		}
		h.check()
		if s := h.snap("a1"); s.Used > 100 || len(s.Tasks) > 4 {
			t.Fatalf("overshoot: %+v", s)
		}
	})
}

func TestSilentChatCost(t *testing.T) {
	h := newEnv(t, Options{SilentAfter: time.Minute, SilentCost: 5}, GroupConfig{ID: "g", AutoAccept: true})
	h.agent("a1", map[GroupID]int{"g": 1})
	for _, id := range []TaskID{"c1", "c2", "c3", "c4", "c5"} {
		h.chat(id, "g")
	}
	h.wantStatus("c5", TaskQueued)
	h.advance(30 * time.Second)
	h.must(h.e.Touch("c1", h.clk.Now())) // c1's customer writes: c1 stays active
	evs := h.advance(30 * time.Second)   // c2..c4 silent: 25 + 3*5 = 40, c5 fits
	if n := countType(evs, EventTaskSilent); n != 3 {
		t.Fatalf("%d task_silent events", n)
	}
	h.wantHolder("c5", "a1")
	if s := h.snap("a1"); s.Used != 65 {
		t.Fatalf("used %d, want 65", s.Used)
	}
	h.chat("c6", "g")
	h.chat("c7", "g")
	if s := h.snap("a1"); s.Used != 90 || len(s.Tasks) != 6 { // c6 fits (90), c7 would not (115)
		t.Fatalf("used %d with %d tasks", s.Used, len(s.Tasks))
	}
	h.wantStatus("c7", TaskQueued)
	// every silent customer writes again: the agent is over capacity, which
	// only silence ending can cause, and gets nothing new until under again.
	for _, id := range []TaskID{"c2", "c3", "c4"} {
		evs := h.must(h.e.Touch(id, h.clk.Now()))
		h.wantEvent(evs, EventTaskActive, forTask(id))
	}
	if s := h.snap("a1"); s.Used != 150 {
		t.Fatalf("used %d, want 150", s.Used)
	}
	h.complete("c1")
	h.complete("c2")
	h.wantStatus("c7", TaskQueued) // 100: full
	h.complete("c3")
	h.wantHolder("c7", "a1")
}

func countType(evs []Event, typ EventType) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func TestAutoCloseSilentChat(t *testing.T) {
	h := newEnv(t, Options{}, GroupConfig{ID: "g", AutoAccept: true, AutoCloseAfter: 2 * time.Minute})
	h.agent("a1", map[GroupID]int{"g": 1})
	h.chat("c1", "g")
	h.voice("v", "g")
	h.advance(time.Minute)
	h.must(h.e.Touch("c1", h.clk.Now()))
	h.advance(time.Minute + 59*time.Second)
	h.wantStatus("c1", TaskAssigned)
	evs := h.advance(time.Second)
	h.wantEvent(evs, EventTaskCompleted, func(ev Event) bool { return ev.Reason == ReasonAutoCloseSilent })
	h.wantEvent(evs, EventTaskOffered, forTask("v"))
}

func TestTransfer(t *testing.T) {
	h := newEnv(t, Options{}, GroupConfig{ID: "g", WrapUp: time.Minute, WrapUpOnTransfer: true}, GroupConfig{ID: "h"})
	h.agent("a1", map[GroupID]int{"g": 1})
	h.agent("a2", map[GroupID]int{"h": 1})
	h.agent("a3", map[GroupID]int{"g": 1})
	h.voice("t", "g")
	h.accept("a1", "t")
	h.fails(ErrInvalidState)(h.e.Transfer("t", TransferTarget{Agent: "a1"}, ""))
	evs := h.must(h.e.Transfer("t", TransferTarget{Group: "h"}, "billing"))
	ev := h.wantEvent(evs, EventTaskTransferred, nil)
	if ev.FromAgent != "a1" || ev.ToGroup != "h" || ev.FromGroup != "g" {
		t.Fatalf("transfer event %+v", ev)
	}
	h.wantHolder("t", "a2") // same TaskID
	h.wantState("a1", StateAfterCallWork)
	h.accept("a2", "t")
	evs = h.must(h.e.Transfer("t", TransferTarget{Agent: "a3"}, ""))
	h.wantEvent(evs, EventTaskOffered, func(ev Event) bool { return ev.AgentID == "a3" })
	h.wantState("a2", StateReady) // h has no wrap-up
	// the target rejects: the task goes to its group's queue (h), not lost
	h.must(h.e.Reject("a3", "t", ""))
	h.wantHolder("t", "a2")
	h.fails(ErrUnknownAgent)(h.e.Transfer("t", TransferTarget{Agent: "nobody"}, ""))
	h.fails(ErrInvalidConfig)(h.e.Transfer("t", TransferTarget{}, ""))
}

func TestCancelWhileOffered(t *testing.T) {
	h := newEnv(t, Options{}, GroupConfig{ID: "g"})
	h.agent("a1", map[GroupID]int{"g": 1})
	h.voice("t", "g")
	h.clk.Advance(3 * time.Second)
	evs := h.must(h.e.Cancel("t", ""))
	h.wantEvent(evs, EventOfferWithdrawn, func(ev Event) bool { return ev.AgentID == "a1" })
	ab := h.wantEvent(evs, EventTaskAbandoned, nil)
	if ab.Duration != 3*time.Second {
		t.Fatalf("abandon wait %v", ab.Duration)
	}
	h.fails(ErrUnknownTask)(h.e.Cancel("t", ""))
	if s := h.snap("a1"); s.Used != 0 {
		t.Fatalf("used %d", s.Used)
	}
}

func TestUnknownIDsAndValidation(t *testing.T) {
	h := newEnv(t, Options{}, GroupConfig{ID: "g"})
	h.agent("a1", map[GroupID]int{"g": 1})
	cases := []struct {
		name string
		err  error
		call func() error
	}{
		{"accept unknown agent", ErrUnknownAgent, func() error { _, err := h.e.Accept("x", "t"); return err }},
		{"accept unknown task", ErrUnknownTask, func() error { _, err := h.e.Accept("a1", "t"); return err }},
		{"complete unknown", ErrUnknownTask, func() error { _, err := h.e.Complete("t", ""); return err }},
		{"enqueue unknown group", ErrUnknownGroup, func() error {
			_, _, err := h.e.Enqueue(TaskSpec{ID: "t", Channel: ChannelVoice, Group: "nope"})
			return err
		}},
		{"enqueue unknown channel", ErrUnknownChannel, func() error {
			_, _, err := h.e.Enqueue(TaskSpec{ID: "t", Channel: "fax", Group: "g"})
			return err
		}},
		{"enqueue empty id", ErrInvalidConfig, func() error { _, _, err := h.e.Enqueue(TaskSpec{Channel: ChannelVoice, Group: "g"}); return err }},
		{"set unknown state", ErrUnknownState, func() error { _, err := h.e.SetState("a1", "dancing", ""); return err }},
		{"set break directly", ErrInvalidState, func() error { _, err := h.e.SetState("a1", StateBreak, ""); return err }},
		{"approve without request", ErrInvalidState, func() error { _, err := h.e.ApproveBreak("a1"); return err }},
		{"continue outside wrap-up", ErrInvalidState, func() error { _, err := h.e.ContinueWork("a1"); return err }},
		{"remove unknown group", ErrUnknownGroup, func() error { _, err := h.e.RemoveGroup("zz"); return err }},
		{"agent in unknown group", ErrUnknownGroup, func() error {
			_, err := h.e.UpsertAgent(AgentConfig{ID: "a9", Groups: map[GroupID]int{"zz": 1}})
			return err
		}},
		{"stats unknown group", ErrUnknownGroup, func() error { _, err := h.e.GroupStats("zz"); return err }},
		{"touch unknown", ErrUnknownTask, func() error { _, err := h.e.Touch("zz", time.Time{}); return err }},
		{"restore outside restore", ErrRestoring, func() error { return h.e.RestoreAgent(AgentRestore{ID: "a1"}) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, c.err) {
				t.Fatalf("got %v, want %v", err, c.err)
			}
			h.check()
		})
	}
	h.voice("dup", "g")
	if _, _, err := h.e.Enqueue(TaskSpec{ID: "dup", Channel: ChannelVoice, Group: "g"}); !errors.Is(err, ErrDuplicateTask) {
		t.Fatalf("dup: %v", err)
	}

	fields := []struct {
		cfg   GroupConfig
		field string
	}{
		{GroupConfig{ID: "x", OfferTimeout: -1}, "offer_timeout"},
		{GroupConfig{ID: "x", Strategy: "random"}, "strategy"},
		{GroupConfig{ID: "x", BreakCap: -1}, "break_cap"},
		{GroupConfig{ID: "x", MaxWait: -time.Second}, "max_wait"},
		{GroupConfig{ID: "x", OnMaxWait: OverflowAction{Kind: OverflowGroup}}, "on_max_wait.group"},
		{GroupConfig{ID: "x", OnClosed: OverflowAction{Kind: "pigeon"}}, "on_closed.kind"},
		{GroupConfig{ID: "x", PriorityBoosts: []PriorityBoost{{After: time.Second}}}, "priority_boosts[0]"},
		{GroupConfig{ID: "x", Escalation: []EscalationStep{{After: -1}}}, "escalation[0].after"},
		{GroupConfig{ID: "x", ChannelCost: map[Channel]int{"fax": 1}}, "channel_cost"},
		{GroupConfig{ID: "x", Hours: &BusinessHours{Weekly: map[time.Weekday][]Span{time.Monday: {{From: 10 * time.Hour, To: 9 * time.Hour}}}}}, "hours.weekly[Monday][0]"},
	}
	for _, f := range fields {
		_, err := h.e.UpsertGroup(f.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != f.field || !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("config %+v: got %v, want field %q", f.cfg, err, f.field)
		}
	}
	if _, err := h.e.UpsertAgent(AgentConfig{ID: "a9", Capacity: -5}); err == nil || err.Error() != `agent "a9": capacity: must be >= 0 (0 means the default)` {
		t.Errorf("agent capacity error: %v", err)
	}
	if _, err := New(Options{SilentCost: -1}); err == nil {
		t.Error("negative silent cost accepted")
	}
}

func TestRemoveGroupBusy(t *testing.T) {
	h := newEnv(t, Options{}, GroupConfig{ID: "g"})
	h.agent("a1", map[GroupID]int{"g": 1})
	h.voice("t", "g")
	h.fails(ErrGroupBusy)(h.e.RemoveGroup("g"))
	h.must(h.e.Cancel("t", ""))
	h.must(h.e.RemoveGroup("g"))
	if s := h.snap("a1"); len(s.Groups) != 0 {
		t.Fatalf("agent still in removed group: %v", s.Groups)
	}
}
