package hubapp_test

import (
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/hubtest"
	"github.com/omnihub/hub/internal/store"
)

// Who may call what. Every /api/v1 route the hub registers must be listed
// here (a new route fails TestRouteRoles until it is), with the roles that
// may call it: a = agent, s = supervisor, q = QA, d = admin; "public" routes
// need no session (visitors prove themselves with their own signed token).
var routeRoles = map[string]string{
	"POST /api/v1/auth/login":  "public",
	"POST /api/v1/auth/logout": "asqd",
	"GET /api/v1/me":           "asqd",
	"PUT /api/v1/me/password":  "asqd",
	"GET /api/v1/me/logins":    "asqd",
	"GET /api/v1/tenant":       "asqd",
	"PATCH /api/v1/tenant":     "d",
	"POST /api/v1/tenants":     "d",

	"GET /api/v1/users":               "sd",
	"POST /api/v1/users":              "d",
	"GET /api/v1/users/:id":           "sd",
	"PATCH /api/v1/users/:id":         "d",
	"PUT /api/v1/users/:id/password":  "d",
	"GET /api/v1/groups":              "asqd",
	"POST /api/v1/groups":             "d",
	"GET /api/v1/groups/:id":          "asqd",
	"PATCH /api/v1/groups/:id":        "d",
	"GET /api/v1/audit/logins":        "sd",
	"GET /api/v1/contacts/:id":        "asqd",
	"PATCH /api/v1/contacts/:id":      "asd",
	"POST /api/v1/contacts/:id/merge": "sd",

	"GET /api/v1/contacts/:id/conversations": "asqd",
	"GET /api/v1/conversations":              "sqd",
	"GET /api/v1/conversations/:id":          "asqd",
	"GET /api/v1/conversations/:id/messages": "asqd",
	"GET /api/v1/attachments/:id":            "asqd",

	"GET /api/v1/agent/me":        "asqd",
	"POST /api/v1/agent/sign-in":  "asqd",
	"POST /api/v1/agent/sign-out": "asqd",
	"PUT /api/v1/agent/state":     "asqd",
	"POST /api/v1/agent/break":    "asqd",
	"POST /api/v1/agent/continue": "asqd",

	"POST /api/v1/tasks/:id/accept":      "asqd",
	"POST /api/v1/tasks/:id/reject":      "asqd",
	"POST /api/v1/tasks/:id/transfer":    "asqd",
	"POST /api/v1/tasks/:id/complete":    "asqd",
	"POST /api/v1/tasks/:id/disposition": "asqd",

	"GET /api/v1/routing/agents":                    "sd",
	"GET /api/v1/routing/queues":                    "asqd",
	"POST /api/v1/routing/agents/:id/break/approve": "sd",
	"POST /api/v1/routing/agents/:id/break/deny":    "sd",
	"PUT /api/v1/routing/agents/:id/state":          "sd",
	"POST /api/v1/routing/agents/:id/sign-out":      "sd",
	"GET /api/v1/routing/events":                    "sd",
	"POST /api/v1/routing/tasks":                    "sd",
	"DELETE /api/v1/routing/tasks/:id":              "sd",
	"GET /api/v1/routing/groups/:id/settings":       "sd",
	"PUT /api/v1/routing/groups/:id/settings":       "d",
	"GET /api/v1/routing/agents/:id/settings":       "sd",
	"PUT /api/v1/routing/agents/:id/settings":       "d",
	"GET /api/v1/stream":                            "asqd",

	"GET /api/v1/inbox/conversations":                  "asqd",
	"POST /api/v1/inbox/conversations/:id/messages":    "asqd",
	"POST /api/v1/inbox/conversations/:id/close":       "asqd",
	"POST /api/v1/inbox/conversations/:id/disposition": "asqd",
	"POST /api/v1/inbox/attachments":                   "asqd",
	"GET /api/v1/inbox/ws":                             "asqd",

	"GET /api/v1/quick-replies":            "asqd",
	"POST /api/v1/quick-replies":           "asqd",
	"PUT /api/v1/quick-replies/:id":        "asqd",
	"DELETE /api/v1/quick-replies/:id":     "asqd",
	"GET /api/v1/disposition-codes":        "asqd",
	"POST /api/v1/disposition-codes":       "d",
	"PUT /api/v1/disposition-codes/:id":    "d",
	"DELETE /api/v1/disposition-codes/:id": "d",

	"GET /api/v1/kb/search":                 "asqd",
	"GET /api/v1/kb/suggest":                "asqd",
	"GET /api/v1/kb/articles":               "asqd",
	"POST /api/v1/kb/articles":              "sd",
	"GET /api/v1/kb/articles/:id":           "asqd",
	"PUT /api/v1/kb/articles/:id":           "sd",
	"DELETE /api/v1/kb/articles/:id":        "sd",
	"GET /api/v1/kb/articles/:id/history":   "asqd",
	"POST /api/v1/kb/articles/:id/feedback": "asqd",
	"POST /api/v1/kb/import":                "sd",
	"GET /api/v1/kb/export":                 "sd",
	"GET /api/v1/kb/synonyms":               "sd",
	"PUT /api/v1/kb/synonyms":               "sd",
	"GET /api/v1/kb/unanswered":             "sd",
	"DELETE /api/v1/kb/unanswered/:id":      "sd",
	"GET /api/v1/kb/bot/:group":             "d",
	"PUT /api/v1/kb/bot/:group":             "d",

	// The web chat's customer side: visitors hold a token signed by the hub.
	"POST /api/v1/webchat/session":       "public",
	"GET /api/v1/webchat/files/:id":      "public", // signed link
	"POST /api/v1/webchat/upload":        "visitor",
	"POST /api/v1/webchat/leave-message": "visitor",
	"GET /api/v1/webchat/ws":             "visitor",
	// The tenant's web chat settings (the identity verification secret).
	"GET /api/v1/webchat-settings":                "d",
	"POST /api/v1/webchat-settings/rotate-secret": "d",
}

// apiRoutes lists the hub's /api/v1 routes as "METHOD /path" (HEAD is
// GET's twin).
func apiRoutes(h *hubtest.Hub) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range h.App().GetRoutes(true) {
		k := r.Method + " " + r.Path
		if r.Method == "HEAD" || !strings.HasPrefix(r.Path, "/api/v1/") || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestRouteRoles walks every registered route: without a session it is
// refused with 401 (but for the public ones), and with each role's session
// it is refused with 403 exactly when the table says the role may not.
func TestRouteRoles(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	routes := apiRoutes(h)
	var missing []string
	for _, k := range routes {
		if _, ok := routeRoles[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("routes with no entry in routeRoles (say who may call them):\n  %s", strings.Join(missing, "\n  "))
	}
	if len(routes) < 80 {
		t.Fatalf("only %d routes found", len(routes))
	}
	tokens := map[byte]string{'d': h.AdminToken}
	logins := map[byte]func() string{'d': func() string { return h.Login("", "admin", hubtest.AdminPassword) }}
	for role, letter := range map[string]byte{"agent": 'a', "supervisor": 's', "qa": 'q'} {
		user := "sec-" + role
		if st := h.Do("POST", "/api/v1/users", h.AdminToken, map[string]any{"username": user, "password": "role-pass-1", "role": role, "name": role}, nil); st != 201 {
			t.Fatalf("create %s: %d", role, st)
		}
		logins[letter] = func() string { return h.Login("", user, "role-pass-1") }
		tokens[letter] = logins[letter]()
	}
	const fakeID = "0000000000000000000000zzzz"
	for _, k := range routes {
		method, path, _ := strings.Cut(k, " ")
		path = strings.NewReplacer(":id", fakeID, ":group", fakeID).Replace(path)
		var body any
		if method != "GET" && method != "DELETE" {
			body = map[string]any{}
		}
		allowed := routeRoles[k]
		st, b := h.Raw(method, path, "", body)
		if strings.HasSuffix(path, "/ws") || strings.HasSuffix(path, "/stream") {
			st, b = upgrade(t, h.URL+path)
		}
		switch allowed {
		case "public":
			if st == 401 || st == 403 {
				t.Errorf("%s without a session: %d, want it open", k, st)
			}
		default:
			if st != 401 {
				t.Errorf("%s without a session: %d %.200s, want 401", k, st, b)
			}
		}
		if allowed == "public" || allowed == "visitor" {
			continue
		}
		for _, letter := range []byte("asqd") {
			tok := tokens[letter]
			if k == "POST /api/v1/auth/logout" {
				tok = logins[letter]() // a session of its own to end
			}
			st, b := h.Raw(method, path, tok, body)
			may := strings.IndexByte(allowed, letter) >= 0
			switch {
			case may && (st == 401 || st == 403):
				t.Errorf("%s as %c: %d %.200s, the table allows it", k, letter, st, b)
			case !may && st != 403:
				t.Errorf("%s as %c: %d %.200s, want 403", k, letter, st, b)
			}
		}
	}
}

// upgrade asks for a WebSocket without credentials and returns the status.
func upgrade(t *testing.T, url string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// tenantDocs counts the documents of tenant t in every collection.
func tenantDocs(t *testing.T, h *hubtest.Hub, tenant store.TenantID) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	out := map[string]int64{}
	if sq := h.SQL(); sq != nil {
		// Every table with a tenant column, on the embedded store.
		rows, err := sq.Query(ctx, "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'tenant'")
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			tables = append(tables, n)
		}
		rows.Close()
		if len(tables) < 15 {
			t.Fatalf("only %d tables with a tenant column: %v", len(tables), tables)
		}
		for _, n := range tables {
			var c int64
			if err := sq.QueryRow(ctx, "SELECT count(*) FROM \""+n+"\" WHERE tenant = ?", string(tenant)).Scan(&c); err != nil {
				t.Fatalf("count %s: %v", n, err)
			}
			if c > 0 {
				out["sqlite:"+n] = c
			}
		}
	}
	if h.DB() == nil {
		return out
	}
	db := h.DB().Database()
	names, err := db.ListCollectionNames(ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "system.") {
			continue
		}
		c, err := db.Collection(n).CountDocuments(ctx, bson.M{"tenant": tenant})
		if err != nil {
			t.Fatalf("count %s: %v", n, err)
		}
		if c > 0 {
			out[n] = c
		}
	}
	return out
}

// TestHistoryAccessPolicy: an agent reads the contacts (and their whole
// history) of conversations assigned to them or in their skill groups, and
// nothing else; QA and admins read all; a centre-wide supervisor (no
// groups) reads all, a group supervisor their groups; the tenant setting
// history_access=tenant widens agents to the whole tenant. What an agent
// may not read answers 404, like what does not exist.
func TestHistoryAccessPolicy(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	var g1, g2 struct{ ID string }
	h.Do("POST", "/api/v1/groups", h.AdminToken, map[string]any{"name": "宽带 Broadband"}, &g1)
	h.Do("POST", "/api/v1/groups", h.AdminToken, map[string]any{"name": "银行卡 Cards"}, &g2)
	mk := func(user, role string, groups ...string) (string, string) {
		var u struct{ ID string }
		ms := []map[string]any{}
		for _, g := range groups {
			ms = append(ms, map[string]any{"group_id": g, "level": 1})
		}
		if st := h.Do("POST", "/api/v1/users", h.AdminToken, map[string]any{"username": user, "password": "role-pass-1", "role": role, "name": user, "groups": ms}, &u); st != 201 {
			t.Fatalf("create %s: %d", user, st)
		}
		return u.ID, h.Login("", user, "role-pass-1")
	}
	a1, a1Tok := mk("agent.one", "agent", g1.ID)
	_, a2Tok := mk("agent.two", "agent", g2.ID)
	_, loneTok := mk("agent.lone", "agent")
	_, sup1Tok := mk("sup.one", "supervisor", g1.ID)
	_, supAllTok := mk("sup.all", "supervisor")
	_, qaTok := mk("qa.one", "qa")

	ctx := store.WithTenant(context.Background(), store.DefaultTenant)
	contact := func(phone string) history.ContactID {
		c, _, err := h.History.FindOrCreateContact(ctx, history.Identity{Kind: history.IdentityPhone, Value: phone}, "客户 "+phone)
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	conv := func(ct history.ContactID, group, assignee string) history.ConversationID {
		cv, err := h.History.CreateConversation(ctx, history.NewConversation{ContactID: ct, Channel: history.ChannelWebChat, GroupID: group, Status: history.StatusClosed})
		if err != nil {
			t.Fatal(err)
		}
		if assignee != "" {
			if _, err := h.History.UpdateConversation(ctx, cv.ID, history.ConversationPatch{AssigneeID: &assignee}); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := h.History.AppendMessage(ctx, history.NewMessage{ConversationID: cv.ID, Direction: history.DirectionIn, Body: "hello " + string(cv.ID), Sender: history.Sender{Type: history.SenderCustomer}}); err != nil {
			t.Fatal(err)
		}
		return cv.ID
	}
	// Contact X wrote to broadband (group 1) and, earlier, to cards (group
	// 2); contact Y only to cards; contact Z was served by agent one
	// directly, in no group.
	x, y, z := contact("+8613800000001"), contact("+8613800000002"), contact("+8613800000003")
	xBroadband, xCards := conv(x, g1.ID, ""), conv(x, g2.ID, "")
	yCards := conv(y, g2.ID, "")
	zDirect := conv(z, "", a1)

	type check struct {
		path string
		want int
	}
	cp := func(id history.ContactID) string { return "/api/v1/contacts/" + string(id) }
	vp := func(id history.ConversationID) string { return "/api/v1/conversations/" + string(id) }
	run := func(who, tok string, checks []check) {
		t.Helper()
		for _, c := range checks {
			for _, p := range []string{c.path, c.path + "/messages"} {
				if strings.HasPrefix(c.path, "/api/v1/contacts/") && p != c.path {
					p = c.path + "/conversations"
				}
				if st, b := h.Raw("GET", p, tok, nil); st != c.want {
					t.Errorf("%s GET %s: %d %.200s, want %d", who, p, st, b, c.want)
				}
			}
		}
	}
	// Agent one: broadband contact X and its whole history (also the cards
	// conversation), contact Z served directly; not Y.
	run("agent one", a1Tok, []check{{cp(x), 200}, {vp(xBroadband), 200}, {vp(xCards), 200}, {cp(z), 200}, {vp(zDirect), 200}, {cp(y), 404}, {vp(yCards), 404}})
	// Agent two (cards): X and Y, not Z.
	run("agent two", a2Tok, []check{{cp(x), 200}, {vp(xBroadband), 200}, {cp(y), 200}, {vp(yCards), 200}, {cp(z), 404}, {vp(zDirect), 404}})
	// An agent in no group who served nobody reads nothing.
	run("lone agent", loneTok, []check{{cp(x), 404}, {vp(xCards), 404}, {cp(y), 404}, {cp(z), 404}, {vp(zDirect), 404}})
	if st := h.Do("PATCH", cp(y), loneTok, map[string]any{"name": "changed"}, nil); st != 404 {
		t.Errorf("lone agent edits a contact they cannot read: %d", st)
	}
	// The group-1 supervisor: X (and its history), not Y or Z; the
	// conversation list holds group 1 only.
	run("group supervisor", sup1Tok, []check{{cp(x), 200}, {vp(xCards), 200}, {cp(y), 404}, {vp(yCards), 404}, {cp(z), 404}})
	var list struct{ Conversations []struct{ ID string } }
	h.Do("GET", "/api/v1/conversations", sup1Tok, nil, &list)
	if len(list.Conversations) != 1 || list.Conversations[0].ID != string(xBroadband) {
		t.Errorf("group supervisor lists %+v, want only %s", list.Conversations, xBroadband)
	}
	// QA, admins and a centre-wide supervisor read all.
	for who, tok := range map[string]string{"qa": qaTok, "admin": h.AdminToken, "centre supervisor": supAllTok} {
		run(who, tok, []check{{cp(x), 200}, {cp(y), 200}, {vp(yCards), 200}, {cp(z), 200}, {vp(zDirect), 200}})
		h.Do("GET", "/api/v1/conversations", tok, nil, &list)
		if len(list.Conversations) != 4 {
			t.Errorf("%s lists %d conversations, want 4", who, len(list.Conversations))
		}
	}
	// The tenant widens the policy: every agent reads every contact.
	var e apiErr
	if st := h.Do("PATCH", "/api/v1/tenant", h.AdminToken, map[string]any{"history_access": "everyone"}, &e); st != 400 || e.Error.Field != "history_access" {
		t.Fatalf("bad history_access: %d %+v", st, e)
	}
	if st := h.Do("PATCH", "/api/v1/tenant", h.AdminToken, map[string]any{"history_access": "tenant"}, nil); st != 200 {
		t.Fatalf("widen: %d", st)
	}
	run("lone agent, widened", loneTok, []check{{cp(x), 200}, {cp(y), 200}, {vp(zDirect), 200}})
	if st := h.Do("GET", "/api/v1/conversations", loneTok, nil, nil); st != 403 {
		t.Errorf("agents still do not list all conversations: %d", st)
	}
}
