// Package acdtest is the contract every acd.Backend meets: the embedded
// SQLite backend and the MongoDB backend run the same suite
// (storage/sqlite, storage/mongo), tenant scoping included.
package acdtest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/omnihub/hub/internal/acd"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/routing"
)

// Run runs the suite; open returns a new, empty backend for each test.
func Run(t *testing.T, open func(t *testing.T) acd.Backend) {
	t.Run("Events", func(t *testing.T) { testEvents(t, open(t)) })
	t.Run("Tasks", func(t *testing.T) { testTasks(t, open(t)) })
	t.Run("Agents", func(t *testing.T) { testAgents(t, open(t)) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, open(t)) })
	t.Run("TenantScoping", func(t *testing.T) { testTenantScoping(t, open(t)) })
	t.Run("NoTenant", func(t *testing.T) { testNoTenant(t, open(t)) })
}

var (
	bg   = context.Background()
	ctxA = store.WithTenant(bg, "tenant-a")
	ctxB = store.WithTenant(bg, "tenant-b")
	// t0 has millisecond precision: MongoDB keeps no finer.
	t0 = time.Date(2025, 3, 1, 8, 0, 0, 123_000_000, time.UTC)
)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func commit(t *testing.T, b acd.Backend, ctx context.Context, st acd.Step) {
	t.Helper()
	if err := b.Commit(ctx, st); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func seqs(evs []routing.Event) []uint64 {
	out := []uint64{}
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

func events(t *testing.T, b acd.Backend, ctx context.Context, q acd.EventQuery) []uint64 {
	t.Helper()
	evs, err := b.Events(ctx, q)
	if err != nil {
		t.Fatalf("events %+v: %v", q, err)
	}
	return seqs(evs)
}

func testEvents(t *testing.T, b acd.Backend) {
	if n, err := b.LastSeq(ctxA); err != nil || n != 0 {
		t.Fatalf("last seq of an empty store: %d %v", n, err)
	}
	if got := events(t, b, ctxA, acd.EventQuery{}); len(got) != 0 {
		t.Fatalf("events of an empty store: %v", got)
	}
	full := routing.Event{Seq: 1, Time: at(1), Type: routing.EventTaskOverflowed, TaskID: "t1", AgentID: "a1", GroupID: "g1",
		ContactID: "c1", Channel: "webchat", Reason: "queue_full", FromState: routing.StateReady, ToState: routing.StateBreak,
		FromGroup: "g1", ToGroup: "g2", FromAgent: "a1", ToAgent: "a2", Priority: 5, FromPriority: 3, QueuePosition: 4,
		Level: 2, EnqueuedAt: at(0), Duration: 1500 * time.Millisecond, Offers: 3,
		Action: &routing.OverflowAction{Kind: "group", Group: "g2"}, Code: "sold"}
	// Two steps, the second out of the first's order of tasks and agents.
	commit(t, b, ctxA, acd.Step{Events: []routing.Event{
		full,
		{Seq: 2, Time: at(2), Type: routing.EventTaskQueued, TaskID: "t2", GroupID: "g1"},
		{Seq: 3, Time: at(3), Type: routing.EventAgentStateChanged, AgentID: "a2", ToState: routing.StateReady},
	}})
	commit(t, b, ctxA, acd.Step{Events: []routing.Event{
		{Seq: 4, Time: at(4), Type: routing.EventTaskOffered, TaskID: "t2", AgentID: "a2"},
		{Seq: 5, Time: at(5), Type: routing.EventOfferAccepted, TaskID: "t2", AgentID: "a2"},
		{Seq: 6, Time: at(6), Type: routing.EventTaskCompleted, TaskID: "t1", AgentID: "a1"},
	}})
	if n, err := b.LastSeq(ctxA); err != nil || n != 6 {
		t.Fatalf("last seq: %d %v, want 6", n, err)
	}
	all, err := b.Events(ctxA, acd.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := seqs(all); !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("all events: %v", got)
	}
	if got := all[0]; !reflect.DeepEqual(got, full) {
		t.Fatalf("event read back:\n got %+v\nwant %+v", got, full)
	}
	for _, c := range []struct {
		q    acd.EventQuery
		want []uint64
	}{
		{acd.EventQuery{Task: "t2"}, []uint64{2, 4, 5}},
		{acd.EventQuery{Agent: "a2"}, []uint64{3, 4, 5}},
		{acd.EventQuery{Agent: "a1"}, []uint64{1, 6}},
		{acd.EventQuery{Task: "t2", Agent: "a2"}, []uint64{4, 5}},
		{acd.EventQuery{AfterSeq: 3}, []uint64{4, 5, 6}},
		{acd.EventQuery{AfterSeq: 3, Limit: 2}, []uint64{4, 5}},
		{acd.EventQuery{Limit: 1}, []uint64{1}},
		{acd.EventQuery{Task: "t2", AfterSeq: 2, Limit: 1}, []uint64{4}},
		{acd.EventQuery{Agent: "a1", AfterSeq: 1}, []uint64{6}},
		{acd.EventQuery{Task: "nope"}, []uint64{}},
		{acd.EventQuery{AfterSeq: 6}, []uint64{}},
	} {
		if got := events(t, b, ctxA, c.q); !slices.Equal(got, c.want) {
			t.Errorf("events %+v: %v, want %v", c.q, got, c.want)
		}
	}
	// A Seq is stored once: a step repeating one is refused.
	if err := b.Commit(ctxA, acd.Step{Events: []routing.Event{{Seq: 6, Time: at(7), Type: routing.EventTaskQueued}}}); err == nil {
		t.Fatal("an event of a stored Seq was accepted")
	}
	if got := events(t, b, ctxA, acd.EventQuery{AfterSeq: 5}); !slices.Equal(got, []uint64{6}) {
		t.Fatalf("after a refused duplicate: %v", got)
	}
}

func spec(id routing.TaskID, seq uint64, enq time.Time) *routing.TaskSpec {
	return &routing.TaskSpec{ID: id, Channel: "webchat", Group: "g1", Priority: 2, EnqueuedAt: enq, Seq: seq,
		Contact: "c-" + routing.ContactID(id), LastAgent: "a9", RequiredLevel: 3}
}

func liveTasks(t *testing.T, b acd.Backend, ctx context.Context) []acd.TaskRecord {
	t.Helper()
	ts, err := b.LiveTasks(ctx)
	if err != nil {
		t.Fatalf("live tasks: %v", err)
	}
	return ts
}

func taskIDs(ts []acd.TaskRecord) []routing.TaskID {
	out := []routing.TaskID{}
	for _, r := range ts {
		out = append(out, r.Spec.ID)
	}
	return out
}

func testTasks(t *testing.T, b acd.Backend) {
	if got := liveTasks(t, b, ctxA); len(got) != 0 {
		t.Fatalf("live tasks of an empty store: %v", got)
	}
	// Enqueued in the order q3, q1, q2 but numbered q1 < q2 < q3: the
	// order of LiveTasks is the Seq's.
	for _, x := range []struct {
		id  routing.TaskID
		seq uint64
	}{{"q3", 30}, {"q1", 10}, {"q2", 20}} {
		commit(t, b, ctxA, acd.Step{Tasks: []acd.TaskUpdate{{ID: x.id, Status: routing.TaskQueued, Group: "g1", UpdatedAt: at(1),
			Spec: spec(x.id, x.seq, at(0))}}})
	}
	if got := taskIDs(liveTasks(t, b, ctxA)); !slices.Equal(got, []routing.TaskID{"q1", "q2", "q3"}) {
		t.Fatalf("live tasks in Seq order: %v", got)
	}
	// q1 is transferred to g2 and offered to a1 (no spec: it keeps its
	// own), then accepted; q2 is completed; q3 abandoned.
	commit(t, b, ctxA, acd.Step{Tasks: []acd.TaskUpdate{{ID: "q1", Status: routing.TaskOffered, Group: "g2", Agents: []routing.AgentID{"a1"}, UpdatedAt: at(2)}}})
	commit(t, b, ctxA, acd.Step{Tasks: []acd.TaskUpdate{
		{ID: "q1", Status: routing.TaskAssigned, Group: "g2", Agents: []routing.AgentID{"a1"}, AcceptedAt: at(3), UpdatedAt: at(3),
			// A spec on a stored task changes nothing of it.
			Spec: &routing.TaskSpec{ID: "q1", Channel: "voice", Priority: 9, EnqueuedAt: at(9), Seq: 99}},
		{ID: "q2", Status: routing.TaskCompleted, Group: "g1", UpdatedAt: at(3)},
	}})
	// A later update without AcceptedAt keeps it.
	commit(t, b, ctxA, acd.Step{Tasks: []acd.TaskUpdate{
		{ID: "q1", Status: routing.TaskAssigned, Group: "g2", Agents: []routing.AgentID{"a1"}, UpdatedAt: at(4)},
		{ID: "q3", Status: routing.TaskAbandoned, Group: "g1", UpdatedAt: at(4)},
	}})
	got := liveTasks(t, b, ctxA)
	if ids := taskIDs(got); !slices.Equal(ids, []routing.TaskID{"q1"}) {
		t.Fatalf("live tasks after completion and abandon: %v", ids)
	}
	want := acd.TaskRecord{Spec: *spec("q1", 10, at(0)), Status: routing.TaskAssigned, Agents: []routing.AgentID{"a1"}, AcceptedAt: at(3), UpdatedAt: at(4)}
	want.Spec.Group = "g2"
	if !reflect.DeepEqual(got[0], want) {
		t.Fatalf("task read back:\n got %+v\nwant %+v", got[0], want)
	}
	// Every live status is returned; a task first stored without a spec
	// has Seq 0 and comes first.
	commit(t, b, ctxA, acd.Step{Tasks: []acd.TaskUpdate{
		{ID: "o1", Status: routing.TaskOffered, Group: "g1", Agents: []routing.AgentID{"a1", "a2"}, UpdatedAt: at(5), Spec: spec("o1", 40, at(5))},
		{ID: "bare", Status: routing.TaskQueued, Group: "g3", UpdatedAt: at(5)},
		{ID: "ov", Status: routing.TaskOverflowed, Group: "g1", UpdatedAt: at(5), Spec: spec("ov", 50, at(5))},
	}})
	got = liveTasks(t, b, ctxA)
	if ids := taskIDs(got); !slices.Equal(ids, []routing.TaskID{"bare", "q1", "o1"}) {
		t.Fatalf("live tasks: %v", ids)
	}
	if r := got[0]; r.Spec.Group != "g3" || r.Spec.Seq != 0 || r.Spec.Channel != "" || !r.Spec.EnqueuedAt.IsZero() || len(r.Agents) != 0 {
		t.Fatalf("task stored without a spec: %+v", r)
	}
	if r := got[2]; !slices.Equal(r.Agents, []routing.AgentID{"a1", "a2"}) || r.Status != routing.TaskOffered || !r.AcceptedAt.IsZero() {
		t.Fatalf("offered task: %+v", r)
	}
}

func activeAgents(t *testing.T, b acd.Backend, ctx context.Context) map[routing.AgentID]routing.AgentRestore {
	t.Helper()
	as, err := b.ActiveAgents(ctx)
	if err != nil {
		t.Fatalf("active agents: %v", err)
	}
	out := map[routing.AgentID]routing.AgentRestore{}
	for _, a := range as {
		if len(a.PendingDispositions) == 0 {
			a.PendingDispositions = nil
		}
		out[a.ID] = a
	}
	return out
}

func testAgents(t *testing.T, b acd.Backend) {
	if got := activeAgents(t, b, ctxA); len(got) != 0 {
		t.Fatalf("agents of an empty store: %v", got)
	}
	ready := routing.AgentRestore{ID: "a1", State: routing.StateReady, Since: at(1), HandledToday: 4}
	onBreak := routing.AgentRestore{ID: "a2", State: routing.StateBreak, Reason: "lunch", Since: at(2), Until: at(1800), HandledToday: 7,
		PendingDispositions: []routing.TaskID{"t1", "t2"}}
	out := routing.AgentRestore{ID: "a3", State: routing.StateSignedOut, Since: at(3)}
	commit(t, b, ctxA, acd.Step{Agents: []routing.AgentRestore{ready, onBreak, out}})
	got := activeAgents(t, b, ctxA)
	if len(got) != 2 || !reflect.DeepEqual(got["a1"], ready) || !reflect.DeepEqual(got["a2"], onBreak) {
		t.Fatalf("agents read back: %+v", got)
	}
	// a1 signs out, a3 comes back in wrap-up; a2's dispositions are set.
	wrap := routing.AgentRestore{ID: "a3", State: routing.StateAfterCallWork, Since: at(10), Until: at(40), HandledToday: 1}
	onBreak.PendingDispositions = nil
	commit(t, b, ctxA, acd.Step{Agents: []routing.AgentRestore{{ID: "a1", State: routing.StateSignedOut, Since: at(10), HandledToday: 4}, wrap, onBreak}})
	got = activeAgents(t, b, ctxA)
	if len(got) != 2 || !reflect.DeepEqual(got["a3"], wrap) || !reflect.DeepEqual(got["a2"], onBreak) {
		t.Fatalf("agents after changes: %+v", got)
	}
}

func testSettings(t *testing.T, b acd.Backend) {
	if gs, err := b.GroupSettings(ctxA, "g1"); err != nil || !reflect.DeepEqual(gs, acd.GroupSettings{}) {
		t.Fatalf("settings of a group without any: %+v %v", gs, err)
	}
	if as, err := b.AgentSettings(ctxA, "a1"); err != nil || !reflect.DeepEqual(as, acd.AgentSettings{}) {
		t.Fatalf("settings of an agent without any: %+v %v", as, err)
	}
	gs := acd.GroupSettings{Strategy: "longest_idle", OfferTimeoutS: 30, MaxNoAnswer: 2, AutoAccept: true, WrapUpS: 15,
		RequireDisposition: true, BreakCap: 3, InitialLevel: 1, MaxQueueLength: 50, MaxWaitS: 600,
		PriorityBoosts: []acd.BoostSettings{{AfterS: 60, Add: 1}}, Escalation: []acd.EscalationSettings{{AfterS: 120, Level: 2, AddGroups: []string{"g2"}}},
		OnQueueFull: routing.OverflowAction{Kind: "group", Group: "g2"},
		Hours:       &acd.HoursSettings{TimeZone: "Asia/Shanghai", Weekly: map[string][]acd.SpanSetting{"mon": {{From: "09:00", To: "18:00"}}}, Closed: []string{"2026-10-01"}},
		ChannelCost: map[string]int{"webchat": 25}}
	as := acd.AgentSettings{Capacity: 75, ChannelMax: map[string]int{"voice": 1}, GroupCap: map[string]int{"g1": 50}, AutoAccept: true}
	// Settings alone (no events) are a step too.
	commit(t, b, ctxA, acd.Step{Group: &acd.GroupSettingsChange{ID: "g1", Settings: gs}})
	commit(t, b, ctxA, acd.Step{Agent: &acd.AgentSettingsChange{ID: "a1", Settings: as},
		Events: []routing.Event{{Seq: 1, Time: at(1), Type: routing.EventAgentStateChanged, AgentID: "a1"}}})
	if got, err := b.GroupSettings(ctxA, "g1"); err != nil || !reflect.DeepEqual(got, gs) {
		t.Fatalf("group settings read back:\n got %+v %v\nwant %+v", got, err, gs)
	}
	if got, err := b.AgentSettings(ctxA, "a1"); err != nil || !reflect.DeepEqual(got, as) {
		t.Fatalf("agent settings read back: %+v %v", got, err)
	}
	// Saving again replaces them whole.
	gs2 := acd.GroupSettings{WrapUpS: 42}
	commit(t, b, ctxA, acd.Step{Group: &acd.GroupSettingsChange{ID: "g1", Settings: gs2}, Agent: &acd.AgentSettingsChange{ID: "a1", Settings: acd.AgentSettings{Capacity: 1}}})
	if got, err := b.GroupSettings(ctxA, "g1"); err != nil || !reflect.DeepEqual(got, gs2) {
		t.Fatalf("group settings replaced: %+v %v", got, err)
	}
	if got, err := b.AgentSettings(ctxA, "a1"); err != nil || !reflect.DeepEqual(got, acd.AgentSettings{Capacity: 1}) {
		t.Fatalf("agent settings replaced: %+v %v", got, err)
	}
	if got, err := b.GroupSettings(ctxA, "g2"); err != nil || !reflect.DeepEqual(got, acd.GroupSettings{}) {
		t.Fatalf("another group's settings: %+v %v", got, err)
	}
}

// testTenantScoping: tenant B, using the same ids and Seqs as tenant A,
// neither sees nor changes anything of A's.
func testTenantScoping(t *testing.T, b acd.Backend) {
	stepA := acd.Step{
		Events: []routing.Event{{Seq: 1, Time: at(1), Type: routing.EventTaskQueued, TaskID: "t1", GroupID: "g1"},
			{Seq: 2, Time: at(2), Type: routing.EventTaskOffered, TaskID: "t1", AgentID: "a1"}},
		Tasks:  []acd.TaskUpdate{{ID: "t1", Status: routing.TaskOffered, Group: "g1", Agents: []routing.AgentID{"a1"}, UpdatedAt: at(2), Spec: spec("t1", 1, at(1))}},
		Agents: []routing.AgentRestore{{ID: "a1", State: routing.StateReady, Since: at(1)}},
		Group:  &acd.GroupSettingsChange{ID: "g1", Settings: acd.GroupSettings{WrapUpS: 10}},
		Agent:  &acd.AgentSettingsChange{ID: "a1", Settings: acd.AgentSettings{Capacity: 100}},
	}
	commit(t, b, ctxA, stepA)

	// B sees nothing of A's.
	if n, err := b.LastSeq(ctxB); err != nil || n != 0 {
		t.Fatalf("B's last seq: %d %v", n, err)
	}
	for _, q := range []acd.EventQuery{{}, {Task: "t1"}, {Agent: "a1"}, {Task: "t1", Agent: "a1"}} {
		if got := events(t, b, ctxB, q); len(got) != 0 {
			t.Fatalf("B reads A's events %+v: %v", q, got)
		}
	}
	if got := liveTasks(t, b, ctxB); len(got) != 0 {
		t.Fatalf("B reads A's tasks: %+v", got)
	}
	if got := activeAgents(t, b, ctxB); len(got) != 0 {
		t.Fatalf("B reads A's agents: %+v", got)
	}
	if gs, err := b.GroupSettings(ctxB, "g1"); err != nil || gs.WrapUpS != 0 {
		t.Fatalf("B reads A's group settings: %+v %v", gs, err)
	}
	if as, err := b.AgentSettings(ctxB, "a1"); err != nil || as.Capacity != 0 {
		t.Fatalf("B reads A's agent settings: %+v %v", as, err)
	}

	// B stores its own under the same ids and Seqs.
	commit(t, b, ctxB, acd.Step{
		Events: []routing.Event{{Seq: 1, Time: at(5), Type: routing.EventTaskQueued, TaskID: "t1", GroupID: "g9"}},
		Tasks:  []acd.TaskUpdate{{ID: "t1", Status: routing.TaskQueued, Group: "g9", UpdatedAt: at(5), Spec: spec("t1", 1, at(5))}},
		Agents: []routing.AgentRestore{{ID: "a1", State: routing.StateBreak, Reason: "B", Since: at(5)}},
		Group:  &acd.GroupSettingsChange{ID: "g1", Settings: acd.GroupSettings{WrapUpS: 99}},
		Agent:  &acd.AgentSettingsChange{ID: "a1", Settings: acd.AgentSettings{Capacity: 5}},
	})
	// B's task ends: A's stays live.
	commit(t, b, ctxB, acd.Step{Tasks: []acd.TaskUpdate{{ID: "t1", Status: routing.TaskCompleted, Group: "g9", UpdatedAt: at(6)}},
		Agents: []routing.AgentRestore{{ID: "a1", State: routing.StateSignedOut, Since: at(6)}}})

	// A's rows are as A left them.
	if n, err := b.LastSeq(ctxA); err != nil || n != 2 {
		t.Fatalf("A's last seq: %d %v", n, err)
	}
	if got := events(t, b, ctxA, acd.EventQuery{}); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("A's events: %v", got)
	}
	evA, _ := b.Events(ctxA, acd.EventQuery{Task: "t1"})
	if len(evA) != 2 || evA[0].GroupID != "g1" {
		t.Fatalf("A's events of t1: %+v", evA)
	}
	tasks := liveTasks(t, b, ctxA)
	if len(tasks) != 1 || tasks[0].Spec.Group != "g1" || tasks[0].Status != routing.TaskOffered || !tasks[0].Spec.EnqueuedAt.Equal(at(1)) {
		t.Fatalf("A's tasks: %+v", tasks)
	}
	agents := activeAgents(t, b, ctxA)
	if a := agents["a1"]; len(agents) != 1 || a.State != routing.StateReady || a.Reason != "" {
		t.Fatalf("A's agents: %+v", agents)
	}
	if gs, _ := b.GroupSettings(ctxA, "g1"); gs.WrapUpS != 10 {
		t.Fatalf("A's group settings: %+v", gs)
	}
	if as, _ := b.AgentSettings(ctxA, "a1"); as.Capacity != 100 {
		t.Fatalf("A's agent settings: %+v", as)
	}
	// And B's are B's.
	if got := events(t, b, ctxB, acd.EventQuery{}); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("B's events: %v", got)
	}
	if got := liveTasks(t, b, ctxB); len(got) != 0 {
		t.Fatalf("B's live tasks: %+v", got)
	}
	if gs, _ := b.GroupSettings(ctxB, "g1"); gs.WrapUpS != 99 {
		t.Fatalf("B's group settings: %+v", gs)
	}
}

func testNoTenant(t *testing.T, b acd.Backend) {
	noTenant := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrNoTenant) {
			t.Errorf("%s without a tenant: %v, want store.ErrNoTenant", what, err)
		}
	}
	noTenant("Commit", b.Commit(bg, acd.Step{Events: []routing.Event{{Seq: 1, Time: at(1), Type: routing.EventTaskQueued}}}))
	_, err := b.LastSeq(bg)
	noTenant("LastSeq", err)
	_, err = b.LiveTasks(bg)
	noTenant("LiveTasks", err)
	_, err = b.ActiveAgents(bg)
	noTenant("ActiveAgents", err)
	_, err = b.Events(bg, acd.EventQuery{})
	noTenant("Events", err)
	_, err = b.GroupSettings(bg, "g1")
	noTenant("GroupSettings", err)
	_, err = b.AgentSettings(bg, "a1")
	noTenant("AgentSettings", err)
	// Nothing was written by the refused commit.
	if n, err := b.LastSeq(ctxA); err != nil || n != 0 {
		t.Fatalf("after a refused commit: %d %v", n, err)
	}
}
