package webchat_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/omnihub/hub/internal/hubtest"
)

type frame struct {
	Type         string `json:"type"`
	Group        string `json:"group,omitempty"`
	ClientID     string `json:"client_id,omitempty"`
	Kind         string `json:"kind,omitempty"`
	Body         string `json:"body,omitempty"`
	AttachmentID string `json:"attachment_id,omitempty"`
	After        string `json:"after,omitempty"`
	Message      *struct {
		ID, ClientID, Body, Kind string
	} `json:"message,omitempty"`
	Messages []struct {
		ID, Body string
	} `json:"messages,omitempty"`
	Conversation *struct{ ID, Status string } `json:"conversation,omitempty"`
	Position     int                          `json:"position,omitempty"`
	WaitS        int                          `json:"wait_s,omitempty"`
	Error        string                       `json:"error,omitempty"`
	Field        string                       `json:"field,omitempty"`
}

type customer struct {
	t     *testing.T
	h     *hubtest.Hub
	token string
	vid   string
	c     *websocket.Conn
}

// newCustomer opens a session as a new visitor (the hub picks the id) and
// the customer socket.
func newCustomer(t *testing.T, h *hubtest.Hub) *customer {
	t.Helper()
	var s struct {
		Token     string
		VisitorID string `json:"visitor_id"`
	}
	if st := h.Do("POST", "/api/v1/webchat/session", "", map[string]string{}, &s); st != 200 {
		t.Fatalf("session: %d", st)
	}
	cu := &customer{t: t, h: h, token: s.Token, vid: s.VisitorID}
	cu.dial()
	return cu
}

func (cu *customer) dial() {
	cu.t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(strings.Replace(cu.h.URL, "http", "ws", 1)+"/api/v1/webchat/ws?token="+cu.token, nil)
	if err != nil {
		cu.t.Fatal(err)
	}
	cu.c = c
	cu.t.Cleanup(func() { c.Close() })
	cu.expect("welcome")
}

func (cu *customer) send(f frame) {
	cu.t.Helper()
	if err := cu.c.WriteJSON(f); err != nil {
		cu.t.Fatal(err)
	}
}

// expect reads frames until one of type typ arrives.
func (cu *customer) expect(typ string) frame {
	cu.t.Helper()
	_ = cu.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var f frame
		if err := cu.c.ReadJSON(&f); err != nil {
			cu.t.Fatalf("waiting for %s: %v", typ, err)
		}
		if f.Type == typ {
			return f
		}
	}
}

func group(t *testing.T, h *hubtest.Hub, name string, settings map[string]any) string {
	var g struct{ ID string }
	h.Do("POST", "/api/v1/groups", h.AdminToken, map[string]any{"name": name}, &g)
	if settings != nil {
		if st := h.Do("PUT", "/api/v1/routing/groups/"+g.ID+"/settings", h.AdminToken, settings, nil); st != 200 {
			t.Fatalf("settings: %d", st)
		}
	}
	return g.ID
}

func readyAgent(t *testing.T, h *hubtest.Hub, g, user string, capacity int) (string, string) {
	id := setupAgent(t, h, g, user, user)
	if capacity > 0 {
		h.Do("PUT", "/api/v1/routing/agents/"+id+"/settings", h.AdminToken, map[string]any{"capacity": capacity}, nil)
	}
	tok := h.Login("", user, "agent-pass-1")
	if st := h.Do("POST", "/api/v1/agent/sign-in", tok, nil, nil); st != 200 {
		t.Fatalf("sign in: %d", st)
	}
	return id, tok
}

func TestReconnectWithoutLossOrDuplicate(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "售前", map[string]any{"auto_accept": true})
	_, atok := readyAgent(t, h, g, "agent.li", 0)
	cu := newCustomer(t, h)
	cu.send(frame{Type: "start", Group: g})
	conv := cu.expect("started").Conversation.ID
	cu.expect("status") // assigned (auto-accept)
	cu.send(frame{Type: "message", ClientID: "m-1", Body: "第一条"})
	first := cu.expect("ack").Message
	// The connection drops right after a send, before the ack is read.
	cu.send(frame{Type: "message", ClientID: "m-2", Body: "第二条"})
	cu.c.Close()
	// Meanwhile the agent replies.
	if st := h.Do("POST", "/api/v1/inbox/conversations/"+conv+"/messages", atok, map[string]any{"client_id": "a-1", "body": "您好，在的"}, nil); st != 201 {
		t.Fatalf("agent reply: %d", st)
	}
	// The page reconnects, resends what was not acknowledged and syncs.
	cu.dial()
	cu.send(frame{Type: "message", ClientID: "m-2", Body: "第二条"})
	again := cu.expect("ack").Message
	cu.send(frame{Type: "sync", After: first.ID})
	got := cu.expect("sync").Messages
	var bodies []string
	for _, m := range got {
		bodies = append(bodies, m.Body)
	}
	if strings.Count(strings.Join(bodies, "|"), "第二条") != 1 || !strings.Contains(strings.Join(bodies, "|"), "您好，在的") {
		t.Fatalf("after reconnect: %v (ack %+v)", bodies, again)
	}
	var msgs struct {
		Messages []struct {
			ClientMsgID string `json:"client_msg_id"`
		}
	}
	h.Do("GET", "/api/v1/conversations/"+conv+"/messages", h.AdminToken, nil, &msgs)
	n := 0
	for _, m := range msgs.Messages {
		if m.ClientMsgID == "m-2" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("m-2 stored %d times", n)
	}
}

func TestQueuePositionWhileAgentsBusy(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "售后", map[string]any{"auto_accept": true})
	readyAgent(t, h, g, "agent.zhao", 25) // room for one chat
	a := newCustomer(t, h)
	a.send(frame{Type: "start", Group: g})
	a.expect("status")
	b := newCustomer(t, h)
	b.send(frame{Type: "start", Group: g})
	if p := b.expect("queue").Position; p != 1 {
		t.Fatalf("b position %d", p)
	}
	c := newCustomer(t, h)
	c.send(frame{Type: "start", Group: g})
	if p := c.expect("queue").Position; p != 2 {
		t.Fatalf("c position %d", p)
	}
	// a leaves: b is served, c moves up.
	a.send(frame{Type: "end"})
	b.expect("status")
	if p := c.expect("queue").Position; p != 1 {
		t.Fatalf("c position after a left: %d", p)
	}
}

func TestBadCustomerInput(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "售前", nil)
	// No token, a forged token: refused.
	for _, tok := range []string{"", "ZGVmYXVsdA.visitor-x.forged"} {
		_, resp, err := websocket.DefaultDialer.Dial(strings.Replace(h.URL, "http", "ws", 1)+"/api/v1/webchat/ws?token="+tok, nil)
		if err == nil || resp == nil || resp.StatusCode != 401 {
			t.Fatalf("socket with token %q: %v %v", tok, err, resp)
		}
	}
	cu := newCustomer(t, h)
	cu.c.WriteMessage(websocket.TextMessage, []byte(`{"type":"message",`))
	if f := cu.expect("error"); !strings.Contains(f.Error, "malformed") {
		t.Fatalf("malformed frame: %+v", f)
	}
	cu.send(frame{Type: "message", ClientID: "x", Body: "before start"})
	if f := cu.expect("error"); f.Field != "conversation" {
		t.Fatalf("message before start: %+v", f)
	}
	cu.send(frame{Type: "start", Group: "no-such-group"})
	if f := cu.expect("error"); f.Field != "group" {
		t.Fatalf("unknown group: %+v", f)
	}
	cu.send(frame{Type: "start", Group: g})
	cu.expect("started")
	cu.send(frame{Type: "message", ClientID: "y", Body: strings.Repeat("长", 8001)})
	if f := cu.expect("error"); f.Field != "body" || f.ClientID != "y" {
		t.Fatalf("too long body: %+v", f)
	}
	cu.send(frame{Type: "message", ClientID: "z", Kind: "image", AttachmentID: "nope"})
	if f := cu.expect("error"); f.Field != "attachment_id" {
		t.Fatalf("unknown image: %+v", f)
	}
	// An oversized frame closes the socket.
	cu.c.WriteMessage(websocket.TextMessage, []byte(`{"type":"message","body":"`+strings.Repeat("x", 100<<10)+`"}`))
	_ = cu.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := cu.c.ReadMessage(); err != nil {
			break
		}
	}
	// Uploads: text is not an image; PNG is.
	upload := func(name string, data []byte) int {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		fw, _ := w.CreateFormFile("file", name)
		fw.Write(data)
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
	if st := upload("evil.png", []byte("<script>alert(1)</script>")); st != 415 {
		t.Fatalf("script disguised as png: %d", st)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 100)...)
	if st := upload("ok.png", png); st != 201 {
		t.Fatalf("png upload: %d", st)
	}
	var e struct{ Error struct{ Field string } }
	if st := h.Do("POST", "/api/v1/webchat/session", "", map[string]string{"visitor_id": "bad id!"}, &e); st != 400 || e.Error.Field != "visitor_id" {
		t.Fatalf("a visitor id chosen by the caller: %d %+v", st, e)
	}
}

// expectMessage reads until a message frame whose body contains s.
func (cu *customer) expectMessage(s string) {
	cu.t.Helper()
	for {
		f := cu.expect("message")
		if f.Message != nil && strings.Contains(f.Message.Body, s) {
			return
		}
	}
}

func TestTransferBetweenAgents(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "售后", map[string]any{"auto_accept": true})
	_, atok := readyAgent(t, h, g, "agent.a", 25)
	cu := newCustomer(t, h)
	cu.send(frame{Type: "start", Group: g})
	conv := cu.expect("started").Conversation.ID
	cu.expectMessage("agent.a")
	bid, btok := readyAgent(t, h, g, "agent.b", 0)
	if st := h.Do("POST", "/api/v1/tasks/"+conv+"/transfer", atok, map[string]any{"agent_id": bid, "reason": "专业问题"}, nil); st != 204 {
		t.Fatalf("transfer: %d", st)
	}
	cu.expectMessage("转接")
	cu.expectMessage("agent.b")
	if st := h.Do("POST", "/api/v1/inbox/conversations/"+conv+"/messages", atok, map[string]any{"client_id": "x1", "body": "还在吗"}, nil); st != 403 {
		t.Fatalf("old agent still writes: %d", st)
	}
	if st := h.Do("POST", "/api/v1/inbox/conversations/"+conv+"/messages", btok, map[string]any{"client_id": "x2", "body": "我是新的客服"}, nil); st != 201 {
		t.Fatalf("new agent writes: %d", st)
	}
	cu.expectMessage("我是新的客服")
	var c struct {
		AssigneeID string `json:"assignee_id"`
	}
	h.Do("GET", "/api/v1/conversations/"+conv, h.AdminToken, nil, &c)
	if c.AssigneeID != bid {
		t.Fatalf("assignee after transfer: %q", c.AssigneeID)
	}
}

func TestAutoCloseAfterSilenceWithWarning(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "售前", map[string]any{"auto_accept": true, "auto_close_after_s": 3})
	readyAgent(t, h, g, "agent.c", 0)
	cu := newCustomer(t, h)
	cu.send(frame{Type: "start", Group: g})
	cu.expect("started")
	cu.expectMessage("agent.c")
	cu.expectMessage("自动结束")
	if f := cu.expect("ended"); f.Conversation == nil || f.Conversation.Status != "closed" {
		t.Fatalf("ended: %+v", f)
	}
}

func TestClosedHoursLeaveMessage(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	// Open only on a date long past: closed now.
	g := group(t, h, "夜间", map[string]any{"hours": map[string]any{"time_zone": "Asia/Shanghai", "weekly": map[string]any{}}, "on_closed": map[string]any{"kind": "leave_message"}})
	cu := newCustomer(t, h)
	cu.send(frame{Type: "start", Group: g})
	f := cu.expect("overflow")
	if f.Conversation == nil || f.Conversation.Status != "closed" {
		t.Fatalf("overflow: %+v", f)
	}
	var out struct {
		ConversationID string `json:"conversation_id"`
	}
	if st := h.Do("POST", "/api/v1/webchat/leave-message", "", map[string]any{"token": cu.token, "group": g, "name": "陈先生", "phone": "13800138000", "message": "明天上午请回电，宽带报修"}, &out); st != 201 {
		t.Fatalf("leave message: %d", st)
	}
	var conv struct {
		Tags []string
	}
	h.Do("GET", "/api/v1/conversations/"+out.ConversationID, h.AdminToken, nil, &conv)
	if len(conv.Tags) != 1 || conv.Tags[0] != "left_message" {
		t.Fatalf("left message conversation: %+v", conv)
	}
	var e struct{ Error struct{ Field string } }
	if st := h.Do("POST", "/api/v1/webchat/leave-message", "", map[string]any{"token": cu.token, "message": " "}, &e); st != 400 || e.Error.Field != "message" {
		t.Fatalf("empty message: %d %+v", st, e)
	}
}

// Many customers start at once in an auto-accept group: routing assigns
// each conversation while its start is still being handled, and every
// customer must still hear that it was assigned (the socket is attached to
// the conversation before routing sees it).
func TestConcurrentStartsAllHearAssigned(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "并发", map[string]any{"auto_accept": true})
	readyAgent(t, h, g, "agent.many", 25*40)
	const n = 40
	custs := make([]*customer, n)
	for i := range custs {
		custs[i] = newCustomer(t, h)
	}
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for _, cu := range custs {
		wg.Go(func() {
			if err := cu.c.WriteJSON(frame{Type: "start", Group: g}); err != nil {
				errs <- err
				return
			}
			_ = cu.c.SetReadDeadline(time.Now().Add(15 * time.Second))
			for {
				var f frame
				if err := cu.c.ReadJSON(&f); err != nil {
					errs <- fmt.Errorf("%s never heard it was assigned: %w", cu.vid, err)
					return
				}
				if f.Type == "status" && f.Conversation != nil && f.Conversation.Status == "assigned" {
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestStartIsOneTransaction: on the embedded store a new chat is stored in
// one transaction (the contact with its identity, the conversation, the
// visitor's link to it) and routed in a second (the routing step with its
// events); it used to take four.
func TestStartIsOneTransaction(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	db := h.SQL()
	if db == nil {
		t.Skip("not on the embedded store")
	}
	g := group(t, h, "装机", nil) // nobody signed in: the chat waits in the queue
	cu := newCustomer(t, h)
	before := db.Stats().Commits
	cu.send(frame{Type: "start", Group: g})
	cu.expect("started")
	if p := cu.expect("queue").Position; p != 1 {
		t.Fatalf("position %d", p)
	}
	if n := db.Stats().Commits - before; n != 2 {
		t.Fatalf("a chat start took %d transactions, want 2 (start, routing step)", n)
	}
	// All of it is there: the visitor is linked to the conversation of the
	// new contact.
	var convs struct {
		Conversations []struct {
			ID        string
			ContactID string `json:"contact_id"`
			Status    string
		}
	}
	h.Do("GET", "/api/v1/conversations?limit=10", h.AdminToken, nil, &convs)
	if len(convs.Conversations) != 1 || convs.Conversations[0].Status != "queued" || convs.Conversations[0].ContactID == "" {
		t.Fatalf("conversations: %+v", convs.Conversations)
	}
}

// TestAssignmentIsInTheRoutingStep: with an agent ready, a chat start is
// three transactions until the customer reads the agent's greeting: the
// start, the routing step that assigns the chat together with the
// conversation's new status, and the greeting line. The customer hears
// of the assignment only once the conversation says so in the store.
func TestAssignmentIsInTheRoutingStep(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	db := h.SQL()
	if db == nil {
		t.Skip("not on the embedded store")
	}
	g := group(t, h, "宽带", map[string]any{"auto_accept": true})
	agent, _ := readyAgent(t, h, g, "agent.step", 0)
	cu := newCustomer(t, h)
	before := db.Stats().Commits
	cu.send(frame{Type: "start", Group: g})
	conv := cu.expect("started").Conversation.ID
	for {
		f := cu.expect("status")
		if f.Conversation != nil && f.Conversation.Status == "assigned" {
			break
		}
	}
	var c struct {
		Status     string
		AssigneeID string `json:"assignee_id"`
	}
	h.Do("GET", "/api/v1/conversations/"+conv, h.AdminToken, nil, &c)
	if c.Status != "assigned" || c.AssigneeID != agent {
		t.Fatalf("told assigned, stored %+v", c)
	}
	for {
		f := cu.expect("message")
		if f.Message != nil && strings.Contains(f.Message.Body, "为您服务") {
			break
		}
	}
	if n := db.Stats().Commits - before; n != 3 {
		t.Fatalf("start to greeting took %d transactions, want 3 (start, routing step with the status, greeting)", n)
	}
}
