package convo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/hubtest"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/routing"
)

// TestActOnUnknownConversation: closing (and the other actions on) an
// unknown conversation or another tenant's, as a supervisor or an admin,
// is a 404, never a 500; nothing of the other tenant's changes. Issue 12,
// defect 11.
func TestActOnUnknownConversation(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	// Tenant B (the default tenant) has a live conversation waiting in a
	// queue.
	var grp struct{ ID string }
	if st := h.Do("POST", "/api/v1/groups", h.AdminToken, map[string]any{"name": "B 组"}, &grp); st != 201 {
		t.Fatalf("group: %d", st)
	}
	bctx := store.WithTenant(context.Background(), store.DefaultTenant)
	ct, _, err := h.History.FindOrCreateContact(bctx, history.Identity{Kind: history.IdentityPhone, Value: "+8613912345678"}, "B contact")
	if err != nil {
		t.Fatal(err)
	}
	conv, err := h.History.CreateConversation(bctx, history.NewConversation{ContactID: ct.ID, Channel: history.ChannelWebChat, GroupID: grp.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.ACD.Enqueue(bctx, routing.TaskSpec{ID: routing.TaskID(conv.ID), Channel: routing.ChannelWebChat, Group: routing.GroupID(grp.ID)}); err != nil {
		t.Fatal(err)
	}

	// Tenant A has an admin and a supervisor.
	if st := h.Do("POST", "/api/v1/tenants", h.AdminToken, map[string]any{"id": "acme", "name": "ACME", "admin_user": "admin", "admin_password": "acme-pass-1"}, nil); st != 201 {
		t.Fatalf("create tenant: %d", st)
	}
	aAdmin := h.Login("acme", "admin", "acme-pass-1")
	if st := h.Do("POST", "/api/v1/users", aAdmin, map[string]any{"username": "sup", "password": "sup-pass-1", "role": "supervisor"}, nil); st != 201 {
		t.Fatalf("supervisor: %d", st)
	}
	aSup := h.Login("acme", "sup", "sup-pass-1")
	if st := h.Do("POST", "/api/v1/users", h.AdminToken, map[string]any{"username": "bsup", "password": "sup-pass-1", "role": "supervisor"}, nil); st != 201 {
		t.Fatalf("B supervisor: %d", st)
	}
	bSup := h.Login("", "bsup", "sup-pass-1")

	routes := []struct {
		path string
		body any
	}{
		{"/api/v1/inbox/conversations/:id/close", nil},
		{"/api/v1/inbox/conversations/:id/messages", map[string]any{"body": "hello"}},
		{"/api/v1/inbox/conversations/:id/disposition", map[string]any{"purpose": "咨询"}},
		{"/api/v1/tasks/:id/accept", nil},
		{"/api/v1/tasks/:id/reject", nil},
		{"/api/v1/tasks/:id/complete", nil},
		{"/api/v1/tasks/:id/transfer", map[string]any{"group_id": grp.ID}},
		{"/api/v1/tasks/:id/disposition", map[string]any{"code": "x"}},
	}
	callers := []struct {
		name, token string
		ids         []string
	}{
		{"A admin", aAdmin, []string{"no-such-conversation", string(conv.ID)}},
		{"A supervisor", aSup, []string{"no-such-conversation", string(conv.ID)}},
		{"B admin", h.AdminToken, []string{"no-such-conversation"}},
		{"B supervisor", bSup, []string{"no-such-conversation"}},
	}
	for _, c := range callers {
		for _, id := range c.ids {
			for _, r := range routes {
				p := strings.ReplaceAll(r.path, ":id", id)
				if st, b := h.Raw("POST", p, c.token, r.body); st != 404 {
					t.Errorf("%s: POST %s: %d %s, want 404", c.name, p, st, b)
				}
			}
		}
	}
	// B's conversation is untouched: still waiting, no disposition.
	if task, err := h.ACD.Task(bctx, routing.TaskID(conv.ID)); err != nil || task.Status != routing.TaskQueued {
		t.Fatalf("B's task after A's attempts: %+v %v", task, err)
	}
	got, err := h.History.GetConversation(bctx, conv.ID)
	if err != nil || got.Disposition != nil || got.Status == history.StatusClosed {
		t.Fatalf("B's conversation after A's attempts: %+v %v", got, err)
	}
}
