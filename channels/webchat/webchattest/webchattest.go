// Package webchattest is the contract every webchat.Backend meets (the
// embedded SQLite and the MongoDB backends), tenant scoping included.
package webchattest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/omnihub/hub/channels/webchat"
	"github.com/omnihub/hub/internal/store"
)

// Run runs the suite; open returns a new, empty backend for each test.
func Run(t *testing.T, open func(t *testing.T) webchat.Backend) {
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, open(t)) })
	t.Run("Visitors", func(t *testing.T) { testVisitors(t, open(t)) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, open(t)) })
	t.Run("NoTenant", func(t *testing.T) { testNoTenant(t, open(t)) })
}

var (
	bg   = context.Background()
	ctxA = store.WithTenant(bg, "tenant-a")
	ctxB = store.WithTenant(bg, "tenant-b")
	t0   = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
)

func isNotFound(err error) bool { var e *store.NotFoundError; return errors.As(err, &e) }

func testSecrets(t *testing.T, b webchat.Backend) {
	// Replicas starting together agree on the first secret stored.
	got := make([]string, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = b.Secret(bg, "webchat_visitor", string(rune('a'+i))+"-secret")
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != got[0] || got[0] == "" {
			t.Fatalf("racing secrets: %q %v", got, errs)
		}
	}
	if v, err := b.Secret(ctxB, "webchat_visitor", "later"); err != nil || v != got[0] {
		t.Fatalf("secret is global and kept: %q %v", v, err)
	}
	if v, err := b.Secret(bg, "other", "x-secret"); err != nil || v != "x-secret" {
		t.Fatalf("another secret: %q %v", v, err)
	}
}

func testVisitors(t *testing.T, b webchat.Backend) {
	if _, err := b.Visitor(ctxA, "v1"); !isNotFound(err) {
		t.Fatalf("unknown visitor: %v", err)
	}
	if err := b.SaveVisitor(ctxA, webchat.Visitor{ID: "v1", ContactID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Visitor(ctxA, "v1"); err != nil || *v != (webchat.Visitor{ID: "v1", ContactID: "c1"}) {
		t.Fatalf("visitor without a conversation: %+v %v", v, err)
	}
	if err := b.SaveVisitor(ctxA, webchat.Visitor{ID: "v1", ContactID: "c1", ConversationID: "conv1"}); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Visitor(ctxA, "v1"); err != nil || *v != (webchat.Visitor{ID: "v1", ContactID: "c1", ConversationID: "conv1"}) {
		t.Fatalf("visitor replaced: %+v %v", v, err)
	}
	// Tenant scoping: the same visitor id in tenant-b is someone else.
	if _, err := b.Visitor(ctxB, "v1"); !isNotFound(err) {
		t.Fatalf("tenant-a's visitor read in tenant-b: %v", err)
	}
	if err := b.SaveVisitor(ctxB, webchat.Visitor{ID: "v1", ContactID: "cb"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := b.Visitor(ctxA, "v1"); v.ContactID != "c1" || v.ConversationID != "conv1" {
		t.Fatalf("tenant-a's visitor changed through tenant-b: %+v", v)
	}
	if v, _ := b.Visitor(ctxB, "v1"); v.ContactID != "cb" || v.ConversationID != "" {
		t.Fatalf("tenant-b's visitor: %+v", v)
	}
}

func testSettings(t *testing.T, b webchat.Backend) {
	if _, err := b.Settings(ctxA); !isNotFound(err) {
		t.Fatalf("no settings yet: %v", err)
	}
	first := webchat.Settings{IdentitySecret: "first", RotatedAt: t0}
	st, err := b.InitSettings(ctxA, first)
	if err != nil || st.IdentitySecret != "first" || !st.RotatedAt.Equal(t0) {
		t.Fatalf("init: %+v %v", st, err)
	}
	// A second init (another replica) gets the first.
	if st, err := b.InitSettings(ctxA, webchat.Settings{IdentitySecret: "second", RotatedAt: t0.Add(time.Hour)}); err != nil || st.IdentitySecret != "first" {
		t.Fatalf("second init: %+v %v", st, err)
	}
	if _, err := b.Settings(ctxB); !isNotFound(err) {
		t.Fatalf("tenant-a's settings read in tenant-b: %v", err)
	}
	later := t0.Add(24 * time.Hour)
	if err := b.SaveSettings(ctxA, webchat.Settings{IdentitySecret: "rotated", RotatedAt: later}); err != nil {
		t.Fatal(err)
	}
	if st, err := b.Settings(ctxA); err != nil || st.IdentitySecret != "rotated" || !st.RotatedAt.Equal(later) {
		t.Fatalf("after save: %+v %v", st, err)
	}
	// Saving settings a tenant never had stores them.
	if err := b.SaveSettings(ctxB, webchat.Settings{IdentitySecret: "b", RotatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.Settings(ctxA); st.IdentitySecret != "rotated" {
		t.Fatalf("tenant-a's settings changed through tenant-b: %+v", st)
	}
	if st, err := b.Settings(ctxB); err != nil || st.IdentitySecret != "b" {
		t.Fatalf("tenant-b's settings: %+v %v", st, err)
	}
}

func testNoTenant(t *testing.T, b webchat.Backend) {
	_, errV := b.Visitor(bg, "v1")
	_, errS := b.Settings(bg)
	_, errI := b.InitSettings(bg, webchat.Settings{IdentitySecret: "x"})
	for what, err := range map[string]error{
		"Visitor": errV, "SaveVisitor": b.SaveVisitor(bg, webchat.Visitor{ID: "v1"}),
		"Settings": errS, "InitSettings": errI, "SaveSettings": b.SaveSettings(bg, webchat.Settings{IdentitySecret: "x"}),
	} {
		if !errors.Is(err, store.ErrNoTenant) {
			t.Errorf("%s without a tenant: %v, want store.ErrNoTenant", what, err)
		}
	}
}
