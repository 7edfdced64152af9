package hubapp_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/config"
	"github.com/omnihub/hub/internal/hubtest"
	"github.com/omnihub/hub/internal/store/storetest"
)

// sharedStore starts one embedded store for several hubs, as replicas
// sharing one MongoDB; it stops after them.
func sharedStore(t *testing.T) func(*config.Config) {
	t.Helper()
	uri := storetest.Ferret(t, "normal")
	return func(c *config.Config) { c.MongoDBURI = uri }
}

func createUser(t *testing.T, h *hubtest.Hub, name, role string, groups ...string) string {
	t.Helper()
	body := map[string]any{"username": name, "password": "user-pass-1", "role": role}
	if len(groups) > 0 {
		var ms []map[string]any
		for _, g := range groups {
			ms = append(ms, map[string]any{"group_id": g})
		}
		body["groups"] = ms
	}
	var u struct{ ID string }
	if st := h.Do("POST", "/api/v1/users", h.AdminToken, body, &u); st != 201 {
		t.Fatalf("create %s: %d", name, st)
	}
	return u.ID
}

func wsURL(h *hubtest.Hub, path string) string { return strings.Replace(h.URL, "http", "ws", 1) + path }

func dialBearer(t *testing.T, h *hubtest.Hub, path, token string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(wsURL(h, path), http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatalf("dial %s: %v %v", path, err, resp)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closeOf reads until the socket ends and returns its close code and
// reason, failing on an ack (nothing may be acknowledged after a
// revocation). It then waits for the server to drop the connection, so the
// handler (and its reader) have returned.
func closeOf(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			_, _ = io.Copy(io.Discard, c.NetConn())
			return ce.Code, ce.Text
		}
		if err != nil {
			t.Fatalf("socket ended without a close frame: %v", err)
		}
		if strings.Contains(string(b), `"type":"ack"`) {
			t.Fatalf("acknowledged after revocation: %s", b)
		}
	}
}

// Defect 2: a role change, a disabled account and a password reset take
// effect on the user's very next request, also on another replica that
// served the user a moment before (no cached principal).
func TestRightsChangeTakesEffectOnNextRequestOnEveryReplica(t *testing.T) {
	useStore := sharedStore(t)
	a := hubtest.Start(t, hubtest.Options{Config: useStore})
	b := hubtest.Start(t, hubtest.Options{Config: useStore})
	newUser := func(tok string, n int) int {
		return b.Do("POST", "/api/v1/users", tok, map[string]any{"username": "made-" + string(rune('a'+n)), "password": "user-pass-1", "role": "admin"}, nil)
	}

	x := createUser(t, a, "x.admin", "admin")
	xt := b.Login("", "x.admin", "user-pass-1")
	if st := newUser(xt, 0); st != 201 {
		t.Fatalf("admin creates a user on replica b: %d", st)
	}
	if st := a.Do("PATCH", "/api/v1/users/"+x, a.AdminToken, map[string]any{"role": "agent"}, nil); st != 200 {
		t.Fatalf("demote: %d", st)
	}
	if st := newUser(xt, 1); st != 403 {
		t.Fatalf("demoted admin creates a user on replica b: %d, want 403", st)
	}
	if st := a.Do("GET", "/api/v1/me", xt, nil, nil); st != 200 {
		t.Fatalf("a demotion does not end the session: %d", st)
	}

	for _, c := range []struct {
		name, method, path string
		body               any
	}{
		{"disable", "PATCH", "/api/v1/users/%s", map[string]any{"disabled": true}},
		{"reset", "PUT", "/api/v1/users/%s/password", map[string]any{"password": "fresh-pass-2"}},
	} {
		id := createUser(t, a, "y."+c.name, "admin")
		tok := b.Login("", "y."+c.name, "user-pass-1")
		if st := b.Do("GET", "/api/v1/users", tok, nil, nil); st != 200 {
			t.Fatalf("%s: before: %d", c.name, st)
		}
		if st := a.Do(c.method, strings.Replace(c.path, "%s", id, 1), a.AdminToken, c.body, nil); st/100 != 2 {
			t.Fatalf("%s: %d", c.name, st)
		}
		if st := b.Do("GET", "/api/v1/users", tok, nil, nil); st != 401 {
			t.Fatalf("%s: next request on replica b: %d, want 401", c.name, st)
		}
	}
}

// Defect 3 across replicas: a socket on one replica finds a logout made on
// another at its next recheck and closes with CloseSessionEnded.
func TestSocketOnOtherReplicaClosesAfterLogout(t *testing.T) {
	useStore := sharedStore(t)
	a := hubtest.Start(t, hubtest.Options{Config: useStore})
	b := hubtest.Start(t, hubtest.Options{Config: useStore, SessionRecheck: 50 * time.Millisecond})
	createUser(t, a, "sup.wang", "supervisor")
	tok := a.Login("", "sup.wang", "user-pass-1")
	c := dialBearer(t, b, "/api/v1/stream", tok)
	if st := a.Do("POST", "/api/v1/auth/logout", tok, nil, nil); st != 204 {
		t.Fatalf("logout: %d", st)
	}
	if code, reason := closeOf(t, c); code != accounts.CloseSessionEnded {
		t.Fatalf("stream on replica b: close %d %q, want %d", code, reason, accounts.CloseSessionEnded)
	}
}

type chatFrame struct {
	Type           string `json:"type"`
	Group          string `json:"group,omitempty"`
	ClientID       string `json:"client_id,omitempty"`
	Body           string `json:"body,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	Conversation   *struct{ ID string }
}

// chatWithAgent starts a web chat that is assigned to a new agent at once
// and returns the agent's id, token and the conversation.
func chatWithAgent(t *testing.T, h *hubtest.Hub, agent string) (string, string, string) {
	t.Helper()
	var g struct{ ID string }
	h.Do("POST", "/api/v1/groups", h.AdminToken, map[string]any{"name": "售前 " + agent}, &g)
	if st := h.Do("PUT", "/api/v1/routing/groups/"+g.ID+"/settings", h.AdminToken, map[string]any{"auto_accept": true}, nil); st != 200 {
		t.Fatalf("group settings: %d", st)
	}
	id := createUser(t, h, agent, "agent", g.ID)
	tok := h.Login("", agent, "user-pass-1")
	if st := h.Do("POST", "/api/v1/agent/sign-in", tok, nil, nil); st != 200 {
		t.Fatalf("sign in: %d", st)
	}
	var s struct{ Token string }
	if st := h.Do("POST", "/api/v1/webchat/session", "", map[string]any{}, &s); st != 200 {
		t.Fatalf("webchat session: %d", st)
	}
	cu, _, err := websocket.DefaultDialer.Dial(wsURL(h, "/api/v1/webchat/ws?token="+s.Token), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cu.Close() })
	if err := cu.WriteJSON(chatFrame{Type: "start", Group: g.ID}); err != nil {
		t.Fatal(err)
	}
	_ = cu.SetReadDeadline(time.Now().Add(10 * time.Second))
	conv := ""
	for conv == "" {
		var f chatFrame
		if err := cu.ReadJSON(&f); err != nil {
			t.Fatalf("customer: %v", err)
		}
		if f.Type == "started" {
			conv = f.Conversation.ID
		}
	}
	return id, tok, conv
}

func messageBodies(t *testing.T, h *hubtest.Hub, conv string) []string {
	t.Helper()
	var out struct{ Messages []struct{ Body string } }
	if st := h.Do("GET", "/api/v1/conversations/"+conv+"/messages", h.AdminToken, nil, &out); st != 200 {
		t.Fatalf("messages: %d", st)
	}
	var bodies []string
	for _, m := range out.Messages {
		bodies = append(bodies, m.Body)
	}
	return bodies
}

// Defect 3: logout, demotion and a password change close the user's open
// sockets at once with the documented code, and what the agent sends after
// the revocation is neither acknowledged nor stored.
func TestSocketsEndWithTheirSession(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	sendAgent := func(c *websocket.Conn, conv, id, body string) {
		t.Helper()
		if err := c.WriteJSON(chatFrame{Type: "message", ConversationID: conv, ClientID: id, Body: body}); err != nil {
			t.Logf("write after revocation: %v", err) // the socket may be gone already
		}
	}

	t.Run("inbox after logout", func(t *testing.T) {
		_, tok, conv := chatWithAgent(t, h, "agent.logout")
		in := dialBearer(t, h, "/api/v1/inbox/ws", tok)
		sendAgent(in, conv, "before", "在的")
		_ = in.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			var f chatFrame
			if err := in.ReadJSON(&f); err != nil {
				t.Fatalf("waiting for the ack: %v", err)
			}
			if f.Type == "ack" {
				break
			}
		}
		if st := h.Do("POST", "/api/v1/auth/logout", tok, nil, nil); st != 204 {
			t.Fatalf("logout: %d", st)
		}
		sendAgent(in, conv, "after", "已经退出了")
		if code, reason := closeOf(t, in); code != accounts.CloseSessionEnded || reason == "" {
			t.Fatalf("close %d %q, want %d", code, reason, accounts.CloseSessionEnded)
		}
		for _, b := range messageBodies(t, h, conv) {
			if b == "已经退出了" {
				t.Fatal("a message sent after logout was stored")
			}
		}
	})

	t.Run("inbox after demotion", func(t *testing.T) {
		id, tok, conv := chatWithAgent(t, h, "agent.demoted")
		in := dialBearer(t, h, "/api/v1/inbox/ws", tok)
		if st := h.Do("PATCH", "/api/v1/users/"+id, h.AdminToken, map[string]any{"role": "qa"}, nil); st != 200 {
			t.Fatalf("demote: %d", st)
		}
		sendAgent(in, conv, "after", "降级以后")
		if code, _ := closeOf(t, in); code != accounts.CloseRightsChanged {
			t.Fatalf("close %d, want %d", code, accounts.CloseRightsChanged)
		}
		for _, b := range messageBodies(t, h, conv) {
			if b == "降级以后" {
				t.Fatal("a message sent after the demotion was stored")
			}
		}
	})

	t.Run("stream after logout, demotion, password change", func(t *testing.T) {
		id := createUser(t, h, "sup.li", "supervisor")
		for _, c := range []struct {
			name   string
			revoke func(tok string)
			code   int
		}{
			{"logout", func(tok string) { h.Do("POST", "/api/v1/auth/logout", tok, nil, nil) }, accounts.CloseSessionEnded},
			{"demotion", func(string) {
				h.Do("PATCH", "/api/v1/users/"+id, h.AdminToken, map[string]any{"role": "agent"}, nil)
			}, accounts.CloseRightsChanged},
			{"password reset", func(string) {
				h.Do("PUT", "/api/v1/users/"+id+"/password", h.AdminToken, map[string]any{"password": "user-pass-1"}, nil)
			}, accounts.CloseSessionEnded},
		} {
			tok := h.Login("", "sup.li", "user-pass-1")
			st := dialBearer(t, h, "/api/v1/stream", tok)
			c.revoke(tok)
			if code, _ := closeOf(t, st); code != c.code {
				t.Fatalf("%s: close %d, want %d", c.name, code, c.code)
			}
		}
	})

	t.Run("password change keeps the current session's sockets", func(t *testing.T) {
		createUser(t, h, "agent.pw", "agent")
		keep := h.Login("", "agent.pw", "user-pass-1")
		other := h.Login("", "agent.pw", "user-pass-1")
		kept := dialBearer(t, h, "/api/v1/inbox/ws", keep)
		ended := dialBearer(t, h, "/api/v1/inbox/ws", other)
		if st := h.Do("PUT", "/api/v1/me/password", keep, map[string]any{"old_password": "user-pass-1", "new_password": "user-pass-2"}, nil); st != 204 {
			t.Fatalf("change password: %d", st)
		}
		if code, _ := closeOf(t, ended); code != accounts.CloseSessionEnded {
			t.Fatalf("other session's socket: close %d", code)
		}
		// The kept socket still answers.
		if err := kept.WriteJSON(chatFrame{Type: "nonsense"}); err != nil {
			t.Fatal(err)
		}
		_ = kept.SetReadDeadline(time.Now().Add(10 * time.Second))
		var f chatFrame
		if err := kept.ReadJSON(&f); err != nil || f.Type != "error" {
			t.Fatalf("kept socket: %+v %v", f, err)
		}
	})
}

// Defect 9: a cookie-authenticated socket opened from another site is
// refused; the hub's own pages, configured origins and bearer clients are
// not.
func TestSocketOriginCheck(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{Config: func(c *config.Config) { c.AllowedOrigins = "https://shop.example.com" }})
	own := h.URL
	dial := func(path string, hdr http.Header) int {
		c, resp, err := websocket.DefaultDialer.Dial(wsURL(h, path), hdr)
		if err == nil {
			c.Close()
		}
		if resp == nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		return resp.StatusCode
	}
	for _, path := range []string{"/api/v1/inbox/ws", "/api/v1/stream"} {
		for _, c := range []struct {
			name string
			hdr  http.Header
			want int
		}{
			{"cookie, evil origin", http.Header{"Cookie": {"hub_session=" + h.AdminToken}, "Origin": {"https://evil.example"}}, 403},
			{"cookie, null origin", http.Header{"Cookie": {"hub_session=" + h.AdminToken}, "Origin": {"null"}}, 403},
			{"cookie, own origin", http.Header{"Cookie": {"hub_session=" + h.AdminToken}, "Origin": {own}}, 101},
			{"cookie, allowed origin", http.Header{"Cookie": {"hub_session=" + h.AdminToken}, "Origin": {"https://SHOP.example.com:443"}}, 101},
			{"bearer, evil origin", http.Header{"Authorization": {"Bearer " + h.AdminToken}, "Origin": {"https://evil.example"}}, 101},
		} {
			if got := dial(path, c.hdr); got != c.want {
				t.Errorf("%s %s: %d, want %d", path, c.name, got, c.want)
			}
		}
	}
	// With public_url set, that is the hub's origin; the Host is not.
	p := hubtest.Start(t, hubtest.Options{Config: func(c *config.Config) { c.PublicURL = "https://hub.example.com/" }})
	for origin, want := range map[string]int{"https://hub.example.com": 101, p.URL: 403} {
		c, resp, err := websocket.DefaultDialer.Dial(wsURL(p, "/api/v1/stream"), http.Header{"Cookie": {"hub_session=" + p.AdminToken}, "Origin": {origin}})
		if err == nil {
			c.Close()
		}
		if resp == nil || resp.StatusCode != want {
			t.Errorf("public_url hub, origin %s: %v %v, want %d", origin, resp, err, want)
		}
	}
}

// loginFrom logs in through the hub with an X-Forwarded-For header.
func loginFrom(t *testing.T, h *hubtest.Hub, xff, user, pw string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", h.URL+"/api/v1/auth/login", strings.NewReader(`{"username":"`+user+`","password":"`+pw+`"}`))
	req.Header.Set("Content-Type", "application/json")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func lastLoginIP(t *testing.T, h *hubtest.Hub, user string) string {
	t.Helper()
	var logs struct{ Logins []struct{ IP string } }
	h.Do("GET", "/api/v1/audit/logins?user="+user, h.AdminToken, nil, &logs)
	if len(logs.Logins) == 0 {
		t.Fatalf("no login of %s logged", user)
	}
	return logs.Logins[0].IP
}

// Defect 8, trusted_proxies: X-Forwarded-For counts only from a trusted
// proxy, and then only the address that proxy saw (a client's own
// "X-Forwarded-For" passed on by the proxy is not believed).
func TestClientAddressFromTrustedProxiesOnly(t *testing.T) {
	untrusted := hubtest.Start(t, hubtest.Options{})
	loginFrom(t, untrusted, "203.0.113.9", "nobody", "wrong-pass")
	if ip := lastLoginIP(t, untrusted, "nobody"); ip != "127.0.0.1" {
		t.Fatalf("untrusted peer set the client address: %q", ip)
	}
	trusted := hubtest.Start(t, hubtest.Options{Config: func(c *config.Config) { c.TrustedProxies = "127.0.0.0/8, 10.1.2.3" }})
	for xff, want := range map[string]string{
		"203.0.113.9":                         "203.0.113.9",
		"198.51.100.1, 203.0.113.9":           "203.0.113.9", // the client forged the first
		"198.51.100.1, 203.0.113.9, 10.1.2.3": "203.0.113.9", // through two proxies
		"garbage":                             "127.0.0.1",
	} {
		loginFrom(t, trusted, xff, "nobody", "wrong-pass")
		if ip := lastLoginIP(t, trusted, "nobody"); ip != want {
			t.Errorf("X-Forwarded-For %q: logged %q, want %q", xff, ip, want)
		}
	}
}
