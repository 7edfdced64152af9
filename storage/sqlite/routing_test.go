package sqlite_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omnihub/hub/internal/acd"
	"github.com/omnihub/hub/internal/acd/acdtest"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/routing"
	"github.com/omnihub/hub/storage/sqlite"
)

func openRouting(t testing.TB) (*sqlite.Routing, *sqlitedb.DB) {
	t.Helper()
	db := openTestDB(t)
	b, err := sqlite.NewRouting(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return b, db
}

func TestRoutingContract(t *testing.T) {
	acdtest.Run(t, func(t *testing.T) acd.Backend {
		b, _ := openRouting(t)
		return b
	})
}

// TestRoutingStepOneTransaction: a routing step is one transaction. A step
// whose last event cannot be stored (its Seq is taken) leaves nothing of
// itself behind: not its other events, nor the task and agent states or
// settings it carried; and the step is one commit of the store.
func TestRoutingStepOneTransaction(t *testing.T) {
	b, db := openRouting(t)
	ctx := store.WithTenant(context.Background(), "t")
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	if err := b.Commit(ctx, acd.Step{Events: []routing.Event{{Seq: 5, Time: t0, Type: routing.EventTaskQueued}}}); err != nil {
		t.Fatal(err)
	}
	before := db.Stats()
	step := acd.Step{
		Events: []routing.Event{{Seq: 3, Time: t0, Type: routing.EventTaskQueued, TaskID: "x"}, {Seq: 4, Time: t0, Type: routing.EventTaskOffered, TaskID: "x", AgentID: "a"}},
		Tasks:  []acd.TaskUpdate{{ID: "x", Status: routing.TaskOffered, Group: "g", Agents: []routing.AgentID{"a"}, UpdatedAt: t0}},
		Agents: []routing.AgentRestore{{ID: "a", State: routing.StateReady, Since: t0}},
		Group:  &acd.GroupSettingsChange{ID: "g", Settings: acd.GroupSettings{WrapUpS: 7}},
	}
	if err := b.Commit(ctx, step); err != nil {
		t.Fatal(err)
	}
	if d := db.Stats().Commits - before.Commits; d != 1 {
		t.Fatalf("a step took %d commits, want 1", d)
	}
	// The same step again with a fresh first event: its second event's Seq
	// (4) is taken, so nothing of it may stay.
	step.Events[0].Seq = 6
	step.Tasks[0].Status = routing.TaskAssigned
	step.Agents[0].State = routing.StateBreak
	step.Group.Settings.WrapUpS = 8
	if err := b.Commit(ctx, step); err == nil {
		t.Fatal("a step with a taken Seq was stored")
	}
	if evs, _ := b.Events(ctx, acd.EventQuery{}); len(evs) != 3 || evs[2].Seq != 5 {
		t.Fatalf("events after the failed step: %+v", evs)
	}
	if ts, _ := b.LiveTasks(ctx); len(ts) != 1 || ts[0].Status != routing.TaskOffered {
		t.Fatalf("task after the failed step: %+v", ts)
	}
	if as, _ := b.ActiveAgents(ctx); len(as) != 1 || as[0].State != routing.StateReady {
		t.Fatalf("agent after the failed step: %+v", as)
	}
	if gs, _ := b.GroupSettings(ctx, "g"); gs.WrapUpS != 7 {
		t.Fatalf("settings after the failed step: %+v", gs)
	}
}

// benchStep is a routing step as the hub makes it when an offer is
// accepted: two events, the task's and the agent's state.
func benchStep(agent routing.AgentID, seq uint64, t0 time.Time) acd.Step {
	task := routing.TaskID(fmt.Sprintf("task-%d", seq))
	return acd.Step{
		Events: []routing.Event{
			{Seq: seq - 1, Time: t0, Type: routing.EventOfferAccepted, TaskID: task, AgentID: agent, GroupID: "g", Channel: "webchat", Duration: time.Second},
			{Seq: seq, Time: t0, Type: routing.EventTaskActive, TaskID: task, AgentID: agent, GroupID: "g"},
		},
		Tasks: []acd.TaskUpdate{{ID: task, Status: routing.TaskAssigned, Group: "g", Agents: []routing.AgentID{agent}, AcceptedAt: t0, UpdatedAt: t0,
			Spec: &routing.TaskSpec{ID: task, Channel: "webchat", EnqueuedAt: t0, Seq: seq - 1, Contact: "c"}}},
		Agents: []routing.AgentRestore{{ID: agent, State: routing.StateReady, Since: t0, HandledToday: int(seq)}},
	}
}

// BenchmarkRoutingStep persists one routing step (benchStep) durably
// (synchronous=FULL): from one writer (one tenant's engine: the hub
// commits a tenant's steps one after the other), and from many at once
// (each its own tenant, as engines commit independently), where group
// commit shares transactions. Run:
//
//	go test ./storage/sqlite -run XXX -bench RoutingStep -benchtime 5000x
func BenchmarkRoutingStep(b *testing.B) {
	report := func(b *testing.B, db *sqlitedb.DB, start sqlitedb.Stats) {
		s := db.Stats()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
		if c := s.Commits - start.Commits; c > 0 {
			b.ReportMetric(float64(s.Writes-start.Writes)/float64(c), "steps/commit")
		}
	}
	b.Run("writers=1", func(b *testing.B) {
		be, db := openRouting(b)
		ctx := store.WithTenant(context.Background(), "tenant")
		t0 := time.Now().UTC()
		start := db.Stats()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := be.Commit(ctx, benchStep("agent", uint64(2*i+2), t0)); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		report(b, db, start)
	})
	for _, par := range []int{1, 16, 64} {
		// RunParallel starts par × GOMAXPROCS goroutines.
		b.Run(fmt.Sprintf("writers=%d", par*runtime.GOMAXPROCS(0)), func(b *testing.B) {
			be, db := openRouting(b)
			var next atomic.Int64
			t0 := time.Now().UTC()
			start := db.Stats()
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				g := next.Add(1)
				ctx := store.WithTenant(context.Background(), store.TenantID(fmt.Sprintf("tenant-%d", g)))
				agent := routing.AgentID(fmt.Sprintf("agent-%d", g))
				seq := uint64(0)
				for pb.Next() {
					seq += 2
					if err := be.Commit(ctx, benchStep(agent, seq, t0)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			report(b, db, start)
		})
	}
}
