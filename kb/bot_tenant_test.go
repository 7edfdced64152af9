package kb_test

import (
	"testing"

	"github.com/omnihub/hub/internal/hubtest"
	"github.com/omnihub/hub/kb"
)

// TestBotSettingsSquat: a tenant cannot write bot settings under another
// tenant's group id (ids are public through the web-chat session), and
// the owner keeps full use of its own settings. Issue 12, defect 6.
func TestBotSettingsSquat(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	// Tenant B is the default tenant and owns group gB.
	var gB struct{ ID string }
	if st := h.Do("POST", "/api/v1/groups", h.AdminToken, map[string]any{"name": "B 售后"}, &gB); st != 201 {
		t.Fatalf("group: %d", st)
	}
	if st := h.Do("POST", "/api/v1/tenants", h.AdminToken, map[string]any{"id": "acme", "name": "ACME", "admin_user": "admin", "admin_password": "acme-pass-1"}, nil); st != 201 {
		t.Fatalf("create tenant: %d", st)
	}
	aTok := h.Login("acme", "admin", "acme-pass-1")

	// A squats B's group id: refused, nothing written.
	if st, b := h.Raw("PUT", "/api/v1/kb/bot/"+gB.ID, aTok, map[string]any{"enabled": false, "threshold": 0.9}); st != 404 {
		t.Fatalf("tenant A set B's bot settings: %d %s", st, b)
	}
	if st, b := h.Raw("GET", "/api/v1/kb/bot/"+gB.ID, aTok, nil); st != 404 {
		t.Fatalf("tenant A read B's bot settings: %d %s", st, b)
	}
	if st, _ := h.Raw("PUT", "/api/v1/kb/bot/no-such-group", aTok, map[string]any{"enabled": false}); st != 404 {
		t.Fatalf("unknown group: %d", st)
	}

	// B sets and reads its own settings.
	var got kb.BotSettings
	if st := h.Do("GET", "/api/v1/kb/bot/"+gB.ID, h.AdminToken, nil, &got); st != 200 || !got.Enabled || got.Threshold != 0 {
		t.Fatalf("B's defaults: %d %+v", st, got)
	}
	if st, b := h.Raw("PUT", "/api/v1/kb/bot/"+gB.ID, h.AdminToken, map[string]any{"enabled": false, "threshold": 0.5}); st != 200 {
		t.Fatalf("B sets its own bot settings: %d %s", st, b)
	}
	got = kb.BotSettings{}
	if st := h.Do("GET", "/api/v1/kb/bot/"+gB.ID, h.AdminToken, nil, &got); st != 200 || got.Enabled || got.Threshold != 0.5 || got.Group != gB.ID {
		t.Fatalf("B reads back: %d %+v", st, got)
	}

	// A's own group works the same way, and does not touch B's.
	var gA struct{ ID string }
	if st := h.Do("POST", "/api/v1/groups", aTok, map[string]any{"name": "A 售后"}, &gA); st != 201 {
		t.Fatalf("A group: %d", st)
	}
	if st := h.Do("PUT", "/api/v1/kb/bot/"+gA.ID, aTok, map[string]any{"enabled": true, "threshold": 0.7}, nil); st != 200 {
		t.Fatalf("A sets its own: %d", st)
	}
	got = kb.BotSettings{}
	if h.Do("GET", "/api/v1/kb/bot/"+gA.ID, aTok, nil, &got); !got.Enabled || got.Threshold != 0.7 {
		t.Fatalf("A reads back: %+v", got)
	}
	got = kb.BotSettings{}
	if h.Do("GET", "/api/v1/kb/bot/"+gB.ID, h.AdminToken, nil, &got); got.Enabled || got.Threshold != 0.5 {
		t.Fatalf("B's settings changed: %+v", got)
	}
}
