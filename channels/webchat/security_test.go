package webchat_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/omnihub/hub/channels/webchat"
	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/hubtest"
	"github.com/omnihub/hub/internal/ratelimit"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store"
)

// session is what POST /api/v1/webchat/session answers.
type session struct {
	Token     string
	VisitorID string `json:"visitor_id"`
	Error     struct{ Code, Message, Field string }
}

func postSession(t *testing.T, h *hubtest.Hub, body map[string]string) (int, session) {
	t.Helper()
	var s session
	st := h.Do("POST", "/api/v1/webchat/session", "", body, &s)
	return st, s
}

// dialToken opens the customer socket with tok and returns it with its
// welcome frame.
func dialToken(t *testing.T, h *hubtest.Hub, tok string) (*customer, frame) {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(strings.Replace(h.URL, "http", "ws", 1)+"/api/v1/webchat/ws?token="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cu := &customer{t: t, h: h, token: tok, c: c}
	return cu, cu.expect("welcome")
}

// count counts the default tenant's records of a history table
// (contacts, conversations) in the store the hub runs on.
func count(t *testing.T, h *hubtest.Hub, table string) int64 {
	t.Helper()
	ctx := context.Background()
	if db := h.SQL(); db != nil {
		var n int64
		if err := db.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE tenant = ?", string(store.DefaultTenant)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	n, err := h.DB().Collection(table).CountDocuments(store.WithTenant(ctx, store.DefaultTenant), bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// failVisitors makes the store fail every read of web chat visitors
// (fail) or answer again (!fail). On the embedded store the table is
// renamed away and back; on MongoDB the visitor's document is made
// undecodable and then restored to conv.
func failVisitors(t *testing.T, h *hubtest.Hub, vid, conv string, fail bool) {
	t.Helper()
	ctx := store.WithTenant(context.Background(), store.DefaultTenant)
	if db := h.SQL(); db != nil {
		from, to := "webchat_visitors", "webchat_visitors_away"
		if !fail {
			from, to = to, from
		}
		if err := db.Write(ctx, func(tx *sqlitedb.Tx) error {
			_, err := tx.Exec("ALTER TABLE " + from + " RENAME TO " + to)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return
	}
	var v any = conv
	if fail {
		v = bson.M{"broken": true}
	}
	id := string(store.DefaultTenant) + "/" + vid
	if _, err := h.DB().Collection("webchat_visitors").UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"conversation_id": v}}); err != nil {
		t.Fatal(err)
	}
}

// TestVisitorCannotBeImpersonated: whoever knows a visitor's id (every
// agent sees it among the contact's identities) must not get a token for
// that visitor, receive their conversation or write into it.
func TestVisitorCannotBeImpersonated(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "售前", nil)
	st, victim := postSession(t, h, map[string]string{})
	if st != 200 || victim.VisitorID == "" {
		t.Fatalf("victim session: %d %+v", st, victim)
	}
	v, _ := dialToken(t, h, victim.Token)
	v.send(frame{Type: "start", Group: g})
	conv := v.expect("started").Conversation.ID
	v.send(frame{Type: "message", ClientID: "v-1", Body: "我的身份证号是……"})
	v.expect("ack")

	// The attacker asks for a token naming the victim's visitor id.
	st, stolen := postSession(t, h, map[string]string{"visitor_id": victim.VisitorID})
	if st == 200 {
		if stolen.VisitorID == victim.VisitorID {
			t.Errorf("the hub signed a token for a visitor id chosen by the caller")
		}
		a, welcome := dialToken(t, h, stolen.Token)
		if welcome.Conversation != nil && welcome.Conversation.ID == conv {
			t.Fatalf("the attacker received the victim's conversation: %+v", welcome)
		}
		a.send(frame{Type: "message", ClientID: "a-1", Body: "我是攻击者"})
		if f := a.expect("error"); f.Field != "conversation" {
			t.Fatalf("attacker's message: %+v", f)
		}
	} else if st != 400 || stolen.Error.Field != "visitor_id" {
		t.Fatalf("session naming a visitor id: %d %+v, want 400 naming visitor_id", st, stolen.Error)
	}
	var msgs struct{ Messages []struct{ Body string } }
	h.Do("GET", "/api/v1/conversations/"+conv+"/messages", h.AdminToken, nil, &msgs)
	for _, m := range msgs.Messages {
		if strings.Contains(m.Body, "攻击者") {
			t.Fatal("the attacker wrote into the victim's conversation")
		}
	}
	// A forged token (the victim's id, a made-up signature) gets nothing.
	if _, resp, err := websocket.DefaultDialer.Dial(strings.Replace(h.URL, "http", "ws", 1)+"/api/v1/webchat/ws?token="+forge(victim.Token), nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("forged token: %v %v", err, resp)
	}
}

// forge changes the last character of a token's signature.
func forge(tok string) string {
	b := []byte(tok)
	if b[len(b)-1] == 'A' {
		b[len(b)-1] = 'B'
	} else {
		b[len(b)-1] = 'A'
	}
	return string(b)
}

// TestResumeWithOwnToken: a returning page presents its previous token and
// continues the same conversation; any other token gets a new visitor.
func TestResumeWithOwnToken(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "售前", nil)
	_, first := postSession(t, h, map[string]string{})
	cu, _ := dialToken(t, h, first.Token)
	cu.send(frame{Type: "start", Group: g})
	conv := cu.expect("started").Conversation.ID
	cu.c.Close()

	st, again := postSession(t, h, map[string]string{"token": first.Token})
	if st != 200 || again.VisitorID != first.VisitorID {
		t.Fatalf("resume: %d %+v, want visitor %s", st, again, first.VisitorID)
	}
	_, welcome := dialToken(t, h, again.Token)
	if welcome.Conversation == nil || welcome.Conversation.ID != conv {
		t.Fatalf("resumed welcome: %+v, want conversation %s", welcome, conv)
	}
	for _, tok := range []string{forge(first.Token), "garbage", strings.Repeat("x", 300)} {
		st, other := postSession(t, h, map[string]string{"token": tok})
		if st != 200 || other.VisitorID == "" || other.VisitorID == first.VisitorID {
			t.Fatalf("session with token %.20q: %d %+v, want a new visitor", tok, st, other)
		}
	}
	// A token of another tenant does not carry over either.
	if st := h.Do("POST", "/api/v1/tenants", h.AdminToken, map[string]any{"id": "acme", "name": "Acme", "admin_user": "root", "admin_password": "acme-pass-1"}, nil); st != 201 {
		t.Fatalf("tenant: %d", st)
	}
	st, other := postSession(t, h, map[string]string{"tenant": "acme", "token": first.Token})
	if st != 200 || other.VisitorID == first.VisitorID {
		t.Fatalf("another tenant's token: %d %+v", st, other)
	}
}

func userHash(secret, user string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(user))
	return hex.EncodeToString(m.Sum(nil))
}

// TestIdentityVerification: a site signs its customer's id with the
// tenant's secret; a verified customer is one contact on every device, and
// an unsigned or wrongly signed claim is refused and creates nothing.
func TestIdentityVerification(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "售前", nil)
	var set struct {
		IdentitySecret string `json:"identity_secret"`
	}
	if st := h.Do("GET", "/api/v1/webchat-settings", h.AdminToken, nil, &set); st != 200 || len(set.IdentitySecret) < 32 {
		t.Fatalf("settings: %d %+v", st, set)
	}
	secret := set.IdentitySecret
	_, agentTok := readyAgent(t, h, g, "agent.sec", 0)
	if st := h.Do("GET", "/api/v1/webchat-settings", agentTok, nil, nil); st != 403 {
		t.Fatalf("an agent read the identity secret: %d", st)
	}
	if st := h.Do("GET", "/api/v1/webchat-settings", "", nil, nil); st != 401 {
		t.Fatalf("no token read the identity secret: %d", st)
	}

	// Two devices of the same signed-in customer: one contact.
	convOf := func(tok string) (string, string) {
		cu, _ := dialToken(t, h, tok)
		cu.send(frame{Type: "start", Group: g})
		id := cu.expect("started").Conversation.ID
		var c struct {
			ContactID string `json:"contact_id"`
		}
		h.Do("GET", "/api/v1/conversations/"+id, h.AdminToken, nil, &c)
		cu.send(frame{Type: "end"})
		return id, c.ContactID
	}
	claim := map[string]string{"user_id": "cust-1001", "user_name": "陈先生", "user_hash": userHash(secret, "cust-1001")}
	st, d1 := postSession(t, h, claim)
	if st != 200 {
		t.Fatalf("verified session: %d %+v", st, d1.Error)
	}
	st, d2 := postSession(t, h, claim)
	if st != 200 || d2.VisitorID == d1.VisitorID {
		t.Fatalf("second device: %d %+v", st, d2)
	}
	_, c1 := convOf(d1.Token)
	_, c2 := convOf(d2.Token)
	if c1 == "" || c1 != c2 {
		t.Fatalf("one customer on two devices: contacts %q and %q", c1, c2)
	}
	ct, err := h.History.FindContact(store.WithTenant(context.Background(), store.DefaultTenant), history.Identity{Kind: history.IdentityWebUser, Value: "cust-1001"})
	if err != nil || string(ct.ID) != c1 || ct.Name != "陈先生" {
		t.Fatalf("contact by web_user identity: %+v %v", ct, err)
	}

	// Refused claims: nothing is created, nothing joins the contact.
	contacts := count(t, h, "contacts")
	for name, body := range map[string]map[string]string{
		"unsigned":       {"user_id": "cust-1001"},
		"wrong key":      {"user_id": "cust-1001", "user_hash": userHash("not-the-secret", "cust-1001")},
		"other user":     {"user_id": "cust-1001", "user_hash": userHash(secret, "cust-1002")},
		"short hash":     {"user_id": "cust-1001", "user_hash": userHash(secret, "cust-1001")[:32]},
		"not hex":        {"user_id": "cust-1001", "user_hash": strings.Repeat("zz", 32)},
		"upper-case dup": {"user_id": "cust-1001", "user_hash": strings.ToUpper(userHash(secret, "cust-1001"))[:63] + "!"},
	} {
		st, s := postSession(t, h, body)
		if (st != 401 && st != 403) || s.Error.Field != "user_hash" || s.Token != "" {
			t.Errorf("%s claim: %d %+v, want 401/403 naming user_hash and no token", name, st, s)
		}
	}
	if st, s := postSession(t, h, map[string]string{"user_hash": userHash(secret, "")}); st != 400 || s.Error.Field != "user_id" {
		t.Errorf("hash without a user: %d %+v", st, s.Error)
	}
	if n := count(t, h, "contacts"); n != contacts {
		t.Fatalf("refused claims created %d contacts", n-contacts)
	}

	// A token issued to a signed-in customer does not carry over to a page
	// without the claim (a shared computer after logout): new visitor.
	st, anon := postSession(t, h, map[string]string{"token": d1.Token})
	if st != 200 || anon.VisitorID == d1.VisitorID {
		t.Fatalf("verified token resumed without the claim: %d %+v", st, anon)
	}

	// Rotating the secret: the old signature is refused, the new one works.
	var rot struct {
		IdentitySecret string `json:"identity_secret"`
	}
	if st := h.Do("POST", "/api/v1/webchat-settings/rotate-secret", h.AdminToken, nil, &rot); st != 200 || rot.IdentitySecret == "" || rot.IdentitySecret == secret {
		t.Fatalf("rotate: %d %+v", st, rot)
	}
	if st, _ := postSession(t, h, claim); st != 401 && st != 403 {
		t.Fatalf("old signature after rotation: %d", st)
	}
	claim["user_hash"] = userHash(rot.IdentitySecret, "cust-1001")
	if st, s := postSession(t, h, claim); st != 200 {
		t.Fatalf("new signature: %d %+v", st, s.Error)
	}
}

// TestSessionCreatesNoContact: a visitor who only opens the page leaves
// nothing in the store; the contact appears with their first conversation.
func TestSessionCreatesNoContact(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "售前", nil)
	before := count(t, h, "contacts")
	var toks []string
	for range 5 {
		st, s := postSession(t, h, map[string]string{})
		if st != 200 {
			t.Fatalf("session: %d", st)
		}
		toks = append(toks, s.Token)
	}
	if n := count(t, h, "contacts"); n != before {
		t.Fatalf("5 sessions created %d contacts", n-before)
	}
	cu, _ := dialToken(t, h, toks[0])
	cu.send(frame{Type: "start", Group: g})
	cu.expect("started")
	if n := count(t, h, "contacts"); n != before+1 {
		t.Fatalf("first conversation: %d contacts, want %d", n, before+1)
	}
}

// TestLeaveMessageValidatesGroup: a made-up group, another tenant's group
// or a disabled one is refused and writes nothing.
func TestLeaveMessageValidatesGroup(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "售前", nil)
	off := group(t, h, "停用", nil)
	if st := h.Do("PATCH", "/api/v1/groups/"+off, h.AdminToken, map[string]any{"disabled": true}, nil); st != 200 {
		t.Fatalf("disable group: %d", st)
	}
	_, s := postSession(t, h, map[string]string{})
	convs, contacts := count(t, h, "conversations"), count(t, h, "contacts")
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"made-up group", map[string]any{"group": "no-such-group"}, "group"},
		{"no group", map[string]any{}, "group"},
		{"disabled group", map[string]any{"group": off}, "group"},
		{"long name", map[string]any{"group": g, "name": strings.Repeat("名", 65)}, "name"},
		{"long phone", map[string]any{"group": g, "phone": strings.Repeat("1", 33)}, "phone"},
		{"letters in phone", map[string]any{"group": g, "phone": "call me maybe"}, "phone"},
	} {
		body := map[string]any{"token": s.Token, "message": "请回电"}
		for k, v := range tc.body {
			body[k] = v
		}
		var e struct{ Error struct{ Field string } }
		if st := h.Do("POST", "/api/v1/webchat/leave-message", "", body, &e); st != 400 || e.Error.Field != tc.field {
			t.Errorf("%s: %d %+v, want 400 naming %s", tc.name, st, e, tc.field)
		}
	}
	if c, ct := count(t, h, "conversations"), count(t, h, "contacts"); c != convs || ct != contacts {
		t.Fatalf("refused messages wrote %d conversations and %d contacts", c-convs, ct-contacts)
	}
	if st := h.Do("POST", "/api/v1/webchat/leave-message", "", map[string]any{"token": s.Token, "group": g, "name": "陈先生", "phone": "+86 138-0013-8000", "message": "请回电"}, nil); st != 201 {
		t.Fatalf("valid message: %d", st)
	}
}

// tight returns the default limits without the loopback exemption (tests
// come from 127.0.0.1) and with f applied.
func tight(f func(*webchat.Limits)) webchat.Limits {
	l := webchat.DefaultLimits()
	l.ExemptLoopback = false
	if f != nil {
		f(&l)
	}
	return l
}

// postJSON posts body with extra headers and returns the status, the
// Retry-After header and the error envelope.
func postJSON(t *testing.T, h *hubtest.Hub, path string, body any, hdr map[string]string) (int, string, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", h.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Error struct{ Code string } }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, resp.Header.Get("Retry-After"), e.Error.Code
}

// TestSessionBurstIsLimited: one source gets its allowance of sessions,
// then 429 with Retry-After; nothing is written either way.
func TestSessionBurstIsLimited(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	h.WebChat.SetLimits(tight(nil))
	contacts := count(t, h, "contacts")
	burst := webchat.DefaultLimits().Session.PerSource.Burst
	for i := range burst {
		if st, _, _ := postJSON(t, h, "/api/v1/webchat/session", map[string]any{}, nil); st != 200 {
			t.Fatalf("session %d of the allowance: %d", i+1, st)
		}
	}
	st, retry, code := postJSON(t, h, "/api/v1/webchat/session", map[string]any{}, nil)
	if n, _ := strconv.Atoi(retry); st != 429 || n < 1 || code != "rate_limited" {
		t.Fatalf("session past the allowance: %d Retry-After %q code %q", st, retry, code)
	}
	if n := count(t, h, "contacts"); n != contacts {
		t.Fatalf("sessions created %d contacts", n-contacts)
	}

	// A crowd of sources shares the tenant's allowance.
	h.WebChat.SetLimits(tight(func(l *webchat.Limits) {
		l.Session.PerSource = ratelimit.Rate{}
		l.Session.PerTenant = ratelimit.Rate{Burst: 5, Every: time.Hour}
	}))
	for range 5 {
		postJSON(t, h, "/api/v1/webchat/session", map[string]any{}, nil)
	}
	if st, _, _ := postJSON(t, h, "/api/v1/webchat/session", map[string]any{}, nil); st != 429 {
		t.Fatalf("session past the tenant's allowance: %d", st)
	}

	// With the default limits, direct connections from the hub's own host
	// (load tests) are not limited, but a request relayed by a proxy is.
	h.WebChat.SetLimits(webchat.DefaultLimits())
	for i := range 2 * burst {
		if st, _, _ := postJSON(t, h, "/api/v1/webchat/session", map[string]any{}, nil); st != 200 {
			t.Fatalf("direct loopback session %d: %d", i+1, st)
		}
	}
	proxied := map[string]string{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
	for range burst {
		postJSON(t, h, "/api/v1/webchat/session", map[string]any{}, proxied)
	}
	if st, _, _ := postJSON(t, h, "/api/v1/webchat/session", map[string]any{}, proxied); st != 429 {
		t.Fatalf("proxied session past the allowance: %d", st)
	}
}

// TestVisitorWritesAreLimited: new conversations on the socket, uploads and
// left messages each have their allowance.
func TestVisitorWritesAreLimited(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "售前", nil)
	one := ratelimit.Rate{Burst: 1, Every: time.Hour}
	h.WebChat.SetLimits(tight(func(l *webchat.Limits) {
		l.Start.PerSource, l.Upload.PerSource, l.Leave.PerSource = one, one, one
	}))
	cu := newCustomer(t, h)
	cu.send(frame{Type: "start", Group: g})
	cu.expect("started")
	cu.send(frame{Type: "end"})
	cu.expect("ended")
	convs := count(t, h, "conversations")
	cu.send(frame{Type: "start", Group: g})
	var f struct {
		Type, Error string
		RetryAfterS int `json:"retry_after_s"`
	}
	_ = cu.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for f.Type != "error" {
		if err := cu.c.ReadJSON(&f); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(f.Error, "too many") || f.RetryAfterS < 1 {
		t.Fatalf("second start: %+v", f)
	}
	if n := count(t, h, "conversations"); n != convs {
		t.Fatalf("a refused start wrote %d conversations", n-convs)
	}

	leave := map[string]any{"token": cu.token, "group": g, "message": "请回电"}
	if st, _, _ := postJSON(t, h, "/api/v1/webchat/leave-message", leave, nil); st != 201 {
		t.Fatalf("first message: %d", st)
	}
	if st, retry, _ := postJSON(t, h, "/api/v1/webchat/leave-message", leave, nil); st != 429 || retry == "" {
		t.Fatalf("second message: %d %q", st, retry)
	}

	upload := func() int {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		fw, _ := w.CreateFormFile("file", "a.png")
		fw.Write(pngBytes())
		w.Close()
		req, _ := http.NewRequest("POST", h.URL+"/api/v1/webchat/upload?token="+cu.token, &b)
		req.Header.Set("Content-Type", w.FormDataContentType())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := upload(); st != 201 {
		t.Fatalf("first upload: %d", st)
	}
	if st := upload(); st != 429 {
		t.Fatalf("second upload: %d", st)
	}
}

// TestResumeStoreErrorIsNotANewVisitor: when the store cannot say whether a
// returning visitor has a conversation, the socket is closed with 1013 (try
// again later) instead of greeting them as new, which would make the page
// start a second conversation. Once the store answers, the visitor is back
// in the same conversation.
func TestResumeStoreErrorIsNotANewVisitor(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "售后", map[string]any{"auto_accept": true})
	readyAgent(t, h, g, "agent.zhou", 0)
	cu := newCustomer(t, h)
	cu.send(frame{Type: "start", Group: g})
	conv := cu.expect("started").Conversation.ID
	cu.c.Close()

	failVisitors(t, h, cu.vid, conv, true)
	c, _, err := websocket.DefaultDialer.Dial(strings.Replace(h.URL, "http", "ws", 1)+"/api/v1/webchat/ws?token="+cu.token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var f frame
	err = c.ReadJSON(&f)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != webchat.CloseTryAgainLater {
		t.Fatalf("resume with a failing store: frame %+v, err %v; want close %d", f, err, webchat.CloseTryAgainLater)
	}

	failVisitors(t, h, cu.vid, conv, false)
	c2, _, err := websocket.DefaultDialer.Dial(strings.Replace(h.URL, "http", "ws", 1)+"/api/v1/webchat/ws?token="+cu.token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_ = c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	var w frame
	if err := c2.ReadJSON(&w); err != nil || w.Type != "welcome" || w.Conversation == nil || w.Conversation.ID != conv {
		t.Fatalf("resume after the store recovered: %+v %v, want welcome in %s", w, err, conv)
	}
}
