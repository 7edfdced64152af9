package acd_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/acd"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/routing"
)

// failingCommits fails the commits while fail is set.
type failingCommits struct {
	acd.Backend
	fail atomic.Bool
}

func (b *failingCommits) Commit(ctx context.Context, st acd.Step) error {
	if b.fail.Load() {
		return errors.New("disk full")
	}
	return b.Backend.Commit(ctx, st)
}

// TestFailedWriteLeavesNoEngineAhead: a routing step whose write fails is
// heard by nobody, and routing answers from what the store holds (the task
// of the failed step is unknown); the next step works.
func TestFailedWriteLeavesNoEngineAhead(t *testing.T) {
	ctx := context.Background()
	r := sqliteRouting(t)
	b := &failingCommits{Backend: r}
	s, err := acd.New(ctx, b, oneGroupDir{}, acd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	var heard atomic.Int64
	s.Listen(func(store.TenantID, []routing.Event) { heard.Add(1) })
	tctx := store.WithTenant(ctx, store.DefaultTenant)
	spec := func(id string) routing.TaskSpec {
		return routing.TaskSpec{ID: routing.TaskID(id), Channel: routing.ChannelWebChat, Group: "g"}
	}
	if _, err := s.Task(tctx, "warm-up"); !errors.Is(err, routing.ErrUnknownTask) {
		t.Fatalf("loading: %v", err)
	}
	before := heard.Load()
	b.fail.Store(true)
	if _, err := s.Enqueue(tctx, spec("lost")); err == nil {
		t.Fatal("an enqueue whose write failed reported success")
	}
	b.fail.Store(false)
	if n := heard.Load(); n != before {
		t.Fatalf("listeners heard %d batches of a step that was not stored", n-before)
	}
	if _, err := s.Task(tctx, "lost"); !errors.Is(err, routing.ErrUnknownTask) {
		t.Fatalf("the failed step's task after the failure: %v (want unknown: the store does not hold it)", err)
	}
	if _, err := s.Enqueue(tctx, spec("kept")); err != nil {
		t.Fatalf("the next step: %v", err)
	}
	if _, err := s.Task(tctx, "kept"); err != nil {
		t.Fatalf("the next step's task: %v", err)
	}
}

// oneGroupDir has skill group "g" and no users.
type oneGroupDir struct{ emptyDir }

func (oneGroupDir) ListGroups(context.Context, bool) ([]accounts.Group, error) {
	return []accounts.Group{{ID: "g", Name: "宽带"}}, nil
}

func (oneGroupDir) GetGroup(_ context.Context, id accounts.GroupID) (*accounts.Group, error) {
	if id == "g" {
		return &accounts.Group{ID: "g", Name: "宽带"}, nil
	}
	return nil, &store.NotFoundError{Kind: "skill group", ID: string(id)}
}
