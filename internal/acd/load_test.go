package acd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/acd"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/routing"
	"github.com/omnihub/hub/storage/sqlite"
)

// slowLoad holds the load of tenant "slow" at its first store read until
// release is closed.
type slowLoad struct {
	acd.Backend
	started chan struct{}
	release chan struct{}
}

func (b *slowLoad) LastSeq(ctx context.Context) (uint64, error) {
	if t, _ := store.Tenant(ctx); t == "slow" {
		close(b.started)
		<-b.release
	}
	return b.Backend.LastSeq(ctx)
}

// sqliteRouting is routing's embedded store in a fresh data folder.
func sqliteRouting(t *testing.T) acd.Backend {
	t.Helper()
	db, err := sqlitedb.Open(context.Background(), sqlitedb.Options{Dir: t.TempDir(), Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r, err := sqlite.NewRouting(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// emptyDir is a directory with no groups and no users.
type emptyDir struct{}

func (emptyDir) ListGroups(context.Context, bool) ([]accounts.Group, error) { return nil, nil }
func (emptyDir) GetGroup(_ context.Context, id accounts.GroupID) (*accounts.Group, error) {
	return nil, &store.NotFoundError{Kind: "skill group", ID: string(id)}
}
func (emptyDir) ListUsers(context.Context, accounts.UserQuery) ([]accounts.User, error) {
	return nil, nil
}
func (emptyDir) GetUser(_ context.Context, id accounts.UserID) (*accounts.User, error) {
	return nil, &store.NotFoundError{Kind: "user", ID: string(id)}
}

// TestTenantLoadDoesNotStallOthers: while one tenant's routing is being
// loaded, another tenant's routing answers; the slow tenant's callers wait
// for its one load and then get it.
func TestTenantLoadDoesNotStallOthers(t *testing.T) {
	ctx := context.Background()
	r := sqliteRouting(t)
	b := &slowLoad{Backend: r, started: make(chan struct{}), release: make(chan struct{})}
	s, err := acd.New(ctx, b, emptyDir{}, acd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	slow := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := s.Task(store.WithTenant(ctx, "slow"), "no-such-task")
			slow <- err
		}()
	}
	<-b.started
	// The slow tenant is loading; another tenant is served meanwhile.
	quick := make(chan error, 1)
	go func() {
		_, err := s.Task(store.WithTenant(ctx, "quick"), "no-such-task")
		quick <- err
	}()
	select {
	case err := <-quick:
		if !errors.Is(err, routing.ErrUnknownTask) {
			t.Fatalf("another tenant's routing: %v (want unknown task from its loaded engine)", err)
		}
	case <-time.After(20 * time.Second):
		close(b.release) // let the stuck call finish
		t.Fatal("another tenant's routing waited for the slow tenant's load")
	}
	select {
	case err := <-slow:
		t.Fatalf("a caller of the loading tenant returned before its load: %v", err)
	default:
	}
	close(b.release)
	for range 2 {
		if err := <-slow; !errors.Is(err, routing.ErrUnknownTask) {
			t.Fatalf("slow tenant: %v (want unknown task from its loaded engine)", err)
		}
	}
}
