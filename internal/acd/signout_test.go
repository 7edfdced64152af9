package acd_test

import (
	"testing"

	"github.com/omnihub/hub/internal/hubtest"
)

// TestSignOutWhileHoldingWork: an agent holding a conversation cannot sign
// out (the customer would silently go back to the queue); once it is done
// they can. A supervisor can still force a sign-out.
func TestSignOutWhileHoldingWork(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	f := setup(t, h, map[string]any{"offer_timeout_s": 60}, "li", "zhou")
	f.ready(t, "li")
	f.enqueue(t, "conv-s1")
	if st := h.Do("POST", "/api/v1/tasks/conv-s1/accept", f.agents["li"], nil, nil); st != 200 {
		t.Fatalf("accept: %d", st)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if st := h.Do("POST", "/api/v1/agent/sign-out", f.agents["li"], nil, &e); st != 409 || e.Error.Code != "holding_work" {
		t.Fatalf("sign-out while holding a chat: %d %+v", st, e)
	}
	if v := me(t, f, "li"); v.State == "signed_out" || len(v.Tasks) != 1 {
		t.Fatalf("after the refused sign-out: %+v", v)
	}
	if st := h.Do("POST", "/api/v1/tasks/conv-s1/complete", f.agents["li"], nil, nil); st != 204 {
		t.Fatalf("complete: %d", st)
	}
	if st := h.Do("POST", "/api/v1/agent/sign-out", f.agents["li"], nil, nil); st != 200 {
		t.Fatalf("sign-out after the chat: %d", st)
	}
	// zhou holds a chat; a supervisor (the admin) forces the sign-out.
	f.ready(t, "zhou")
	f.enqueue(t, "conv-s2")
	if st := h.Do("POST", "/api/v1/tasks/conv-s2/accept", f.agents["zhou"], nil, nil); st != 200 {
		t.Fatalf("accept: %d", st)
	}
	if st := h.Do("POST", "/api/v1/routing/agents/"+f.ids["zhou"]+"/sign-out", h.AdminToken, nil, nil); st != 200 && st != 204 {
		t.Fatalf("forced sign-out: %d", st)
	}
	if v := me(t, f, "zhou"); v.State != "signed_out" {
		t.Fatalf("after the forced sign-out: %+v", v)
	}
}
