package hubapp_test

import (
	"context"
	"testing"

	"github.com/omnihub/hub/internal/hubtest"
	"github.com/omnihub/hub/storage/sqlite"
)

// TestQueryPlans drives the hub through a day's work in small (sign-ins,
// the login log, a chat with an agent, replies, the history, the
// conversation list, the knowledge base, a close) and then asks SQLite for
// the plan of every statement the hub ran: none may scan a table that grows
// with traffic (issue 13: every query is served by an index).
func TestQueryPlans(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	if h.SQL() == nil {
		t.Skip("not on the embedded store")
	}
	_, tok, conv := chatWithAgent(t, h, "agent.plan")
	h.Do("POST", "/api/v1/inbox/conversations/"+conv+"/messages", tok, map[string]any{"client_id": "p-1", "body": "您好"}, nil)
	messageBodies(t, h, conv)
	var c struct {
		ContactID string `json:"contact_id"`
	}
	h.Do("GET", "/api/v1/conversations/"+conv, h.AdminToken, nil, &c)
	for _, p := range []string{
		"/api/v1/conversations?limit=20",
		"/api/v1/conversations?status=open&limit=20",
		"/api/v1/contacts/" + c.ContactID,
		"/api/v1/contacts/" + c.ContactID + "/conversations",
		"/api/v1/audit/logins?limit=50",
		"/api/v1/me/logins",
		"/api/v1/users",
		"/api/v1/groups",
		"/api/v1/kb/articles?limit=20",
		"/api/v1/kb/search?q=" + "宽带怎么报修",
		"/api/v1/kb/unanswered",
		"/api/v1/quick-replies",
		"/api/v1/disposition-codes",
		"/api/v1/agent/me",
		"/api/v1/routing/agents",
		"/api/v1/routing/queues",
		"/api/v1/inbox/conversations",
	} {
		h.Do("GET", p, h.AdminToken, nil, nil)
		h.Do("GET", p, tok, nil, nil)
	}
	h.Do("POST", "/api/v1/inbox/conversations/"+conv+"/close", tok, map[string]any{}, nil)
	// The check must have something to check: every domain's tables and
	// the statements of the flows above.
	if n, g := len(h.SQL().Statements()), len(sqlite.Growing()); n < 40 || g < 15 {
		t.Fatalf("only %d statements ran and %d growing tables are known", n, g)
	}
	if err := h.SQL().CheckPlans(context.Background(), sqlite.Growing()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d statements checked against %d growing tables", len(h.SQL().Statements()), len(sqlite.Growing()))
}
