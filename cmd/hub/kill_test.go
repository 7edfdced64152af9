package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/omnihub/hub/internal/acd"
	"github.com/omnihub/hub/routing"
)

// The kill -9 tests of issue 12: the hub is killed in the middle of real
// work and restarted on the same data folder and port.

// resultRe matches hubload's RESULT line.
var resultRe = regexp.MustCompile(`(?m)^RESULT conversations=(\d+) messages=(\d+) acked=(\d+) missing=(\d+) undelivered=(\d+) duplicated=(\d+) p50_ms=([\d.]+) p99_ms=([\d.]+) reconnects=(\d+) moved=(\d+) open_s=([\d.]+) assign_p50_ms=([\d.]+) assign_p99_ms=([\d.]+) open_per_s=([\d.]+) events_stored=(-?\d+) events_applied=(-?\d+)$`)

// getJSON GETs path as token and decodes the answer into out.
func getJSON(t *testing.T, addr, path, token string, out any) {
	t.Helper()
	st, b := get(t, addr, path, token)
	if st != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, st, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// storedMsg is a message as the history API returns it.
type storedMsg struct {
	Direction string
	CreatedAt time.Time `json:"created_at"`
}

// conversationIDs lists the ids of the hub's conversations.
func conversationIDs(t *testing.T, addr, token string) []string {
	t.Helper()
	var page struct {
		Conversations []struct{ ID string }
		NextCursor    string `json:"next_cursor"`
	}
	getJSON(t, addr, "/api/v1/conversations?limit=500", token, &page)
	if page.NextCursor != "" {
		t.Fatalf("more than 500 conversations")
	}
	var ids []string
	for _, c := range page.Conversations {
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestKillDuringChatLoad kills the hub with SIGKILL in the middle of a
// hubload chat run (once a number of messages have been acknowledged) and
// restarts it on the same folder and port. hubload's sockets come back, the
// customers present their visitor tokens again, resend what was not
// acknowledged and carry on; at the end hubload reads every acknowledged
// message back. Nothing acknowledged may be missing, and every customer
// must be back in the conversation it had: no conversation is created or
// lost by the restart, and each one has customer messages stored after it.
func TestKillDuringChatLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the hub twice")
	}
	const pw, customers, agents = "kill-test-admin-pw", 6, 2
	data, addr := t.TempDir(), freeAddr(t)
	p := start(t, data, addr, "HUB_ADMIN_PASSWORD="+pw)

	load := exec.Command(loadPath, "chat", "-addr", "http://"+addr, "-admin-password", pw,
		"-customers", strconv.Itoa(customers), "-agents", strconv.Itoa(agents), "-chats-per-agent", "3",
		"-duration", "10s", "-interval", "200ms", "-progress", "1s", "-resume", "45s",
		"-mark-acked", "60", "-metrics", "")
	out, logs := &syncBuf{}, &syncBuf{}
	load.Stdout = out
	stderr, err := load.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	marked, loadDone := make(chan struct{}), make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(logs, sc.Text())
			if strings.HasPrefix(sc.Text(), "MARK ") {
				close(marked)
			}
		}
		loadDone <- load.Wait() // after the last read of the pipe
	}()
	t.Cleanup(func() { _ = load.Process.Kill() })

	select {
	case <-marked:
	case err := <-loadDone:
		t.Fatalf("hubload ended before the mark: %v\n%s%s", err, out, logs)
	case <-time.After(2 * time.Minute):
		t.Fatalf("no mark from hubload:\n%s", logs)
	}
	_, tok := login(t, addr, "admin", pw)
	before := conversationIDs(t, addr, tok)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	killed := time.Now()
	start(t, data, addr)

	select {
	case err := <-loadDone:
		if err != nil {
			t.Fatalf("hubload: %v\n%s%s", err, out, logs)
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("hubload did not finish after the restart:\n%s", logs)
	}
	t.Logf("%s%s", out, logs)
	m := resultRe.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no RESULT line in %q", out)
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	if n(1) != customers || n(3) < 60 {
		t.Errorf("conversations=%d acked=%d: the run did not get going", n(1), n(3))
	}
	if n(4) != 0 {
		t.Errorf("missing=%d: acknowledged messages lost by kill -9", n(4))
	}
	if n(5) != 0 {
		t.Errorf("undelivered=%d: stored messages never reached the other side", n(5))
	}
	if n(9) < customers+agents {
		t.Errorf("reconnects=%d: not every socket (%d) came back", n(9), customers+agents)
	}
	if n(10) != 0 {
		t.Errorf("moved=%d: customers found another conversation (or none) after the restart", n(10))
	}

	// Independently of hubload: the same conversations, each continued
	// after the kill.
	_, tok = login(t, addr, "admin", pw)
	after := conversationIDs(t, addr, tok)
	if len(before) != customers || !slices.Equal(before, after) {
		t.Fatalf("conversations before the kill %v, after the restart %v", before, after)
	}
	for _, id := range after {
		var page struct{ Messages []storedMsg }
		getJSON(t, addr, "/api/v1/conversations/"+id+"/messages?limit=500", tok, &page)
		if !slices.ContainsFunc(page.Messages, func(m storedMsg) bool { return m.Direction == "in" && m.CreatedAt.After(killed) }) {
			t.Errorf("conversation %s: no customer message stored after the restart", id)
		}
	}

	// Routing came back as the conversations are: every assigned
	// conversation is held (accepted) by its assignee and by nobody else,
	// and each agent's used capacity is what it holds.
	var convs struct {
		Conversations []struct {
			ID, Status string
			AssigneeID string `json:"assignee_id"`
		}
	}
	getJSON(t, addr, "/api/v1/conversations?limit=500", tok, &convs)
	var staff struct{ Agents []acd.AgentView }
	getJSON(t, addr, "/api/v1/routing/agents", tok, &staff)
	held := map[string]string{} // task -> agent
	for _, a := range staff.Agents {
		used := 0
		for _, h := range a.Tasks {
			if prev, dup := held[h.TaskID]; dup {
				t.Errorf("task %s held by %s and %s", h.TaskID, prev, a.ID)
			}
			held[h.TaskID] = a.ID
			used += h.Cost
		}
		if used != a.Used {
			t.Errorf("agent %s: used %d, its tasks cost %d", a.ID, a.Used, used)
		}
	}
	assigned := 0
	for _, c := range convs.Conversations {
		if c.Status != "assigned" {
			continue
		}
		assigned++
		if held[c.ID] != c.AssigneeID {
			t.Errorf("conversation %s assigned to %s, held by %q after the restart", c.ID, c.AssigneeID, held[c.ID])
		}
	}
	if assigned != customers || len(held) != assigned {
		t.Errorf("%d conversations assigned, %d tasks held after the restart (want %d each)", assigned, len(held), customers)
	}
}

// call sends a JSON request as token and decodes a 2xx answer into out.
func call(t *testing.T, addr, method, path, token string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, rb)
	}
	if out != nil {
		if err := json.Unmarshal(rb, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// liveStream opens the routing live stream (/api/v1/stream) as token: for
// an agent it is their presence, for staff the state of every agent.
func liveStream(t *testing.T, addr, token string) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/api/v1/stream", http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatalf("live stream: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// presenceGraceEnv sets how long an agent restored after a restart stays
// signed in without coming back (presence_grace); a binary without the
// setting has routing's default, and the test waits that long instead.
const presenceGraceEnv = "HUB_PRESENCE_GRACE"

// TestGhostAgentAfterKill: agents A and B are signed in and ready (A
// first, so longest-idle routing prefers A) when the hub is killed with
// SIGKILL. After the restart B's page comes back and A never does. Once
// the presence grace has signed A out, a new chat goes to B: A, who is
// not there, must never be offered it.
func TestGhostAgentAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the hub twice")
	}
	const pw = "ghost-test-admin-pw"
	grace, env := routing.DefaultPresenceGrace, []string{"HUB_ADMIN_PASSWORD=" + pw}
	if out, _ := exec.Command(binPath, "-help").CombinedOutput(); bytes.Contains(out, []byte(presenceGraceEnv)) {
		grace = 2 * time.Second
		env = append(env, presenceGraceEnv+"="+grace.String())
	}
	data, addr := t.TempDir(), freeAddr(t)
	p := start(t, data, addr, env...)
	_, admin := login(t, addr, "admin", pw)
	var group struct{ ID string }
	call(t, addr, "POST", "/api/v1/groups", admin, map[string]any{"name": "ghost"}, &group)
	call(t, addr, "PUT", "/api/v1/routing/groups/"+group.ID+"/settings", admin, map[string]any{"auto_accept": true}, nil)
	id, tok := map[string]string{}, map[string]string{}
	for _, name := range []string{"agent-a", "agent-b"} {
		var u struct{ ID string }
		call(t, addr, "POST", "/api/v1/users", admin, map[string]any{"username": name, "password": "ghost-agent-pw", "role": "agent",
			"groups": []map[string]any{{"group_id": group.ID}}}, &u)
		id[name] = u.ID
		_, tok[name] = login(t, addr, name, "ghost-agent-pw")
		liveStream(t, addr, tok[name])
		var me struct{ State string }
		call(t, addr, "POST", "/api/v1/agent/sign-in", tok[name], nil, &me)
		if me.State != "ready" {
			t.Fatalf("%s after sign-in: %s", name, me.State)
		}
	}

	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	start(t, data, addr, env...)
	// B's page comes back: it reopens the live stream and signs in (which
	// does nothing if B is still signed in).
	liveStream(t, addr, tok["agent-b"])
	call(t, addr, "POST", "/api/v1/agent/sign-in", tok["agent-b"], nil, nil)

	// A never comes back: wait, on the supervisor's view of the live
	// stream, for the grace to sign A out.
	_, admin = login(t, addr, "admin", pw)
	sup := liveStream(t, addr, admin)
	_ = sup.SetReadDeadline(time.Now().Add(grace + 30*time.Second))
	for a := ""; a != "signed_out"; {
		var m struct {
			Agents []struct{ ID, State string }
		}
		if err := sup.ReadJSON(&m); err != nil {
			t.Fatalf("agent A, not back after the restart, still %q well after the presence grace of %s: %v", a, grace, err)
		}
		for _, v := range m.Agents {
			if v.ID == id["agent-a"] {
				a = v.State
			}
		}
	}

	// A new chat: it must go to B.
	var s struct{ Token string }
	call(t, addr, "POST", "/api/v1/webchat/session", "", map[string]any{}, &s)
	cust, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/api/v1/webchat/ws?token="+url.QueryEscape(s.Token), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cust.Close()
	if err := cust.WriteJSON(map[string]any{"type": "start", "group": group.ID}); err != nil {
		t.Fatal(err)
	}
	_ = cust.SetReadDeadline(time.Now().Add(30 * time.Second))
	conv := ""
	for status := ""; status != "assigned"; {
		var f struct {
			Type         string
			Error        string
			Conversation *struct{ ID, Status string }
		}
		if err := cust.ReadJSON(&f); err != nil {
			t.Fatalf("the new chat was never assigned (conversation %q, last status %q): %v", conv, status, err)
		}
		if f.Type == "error" {
			t.Fatalf("start: %s", f.Error)
		}
		if f.Conversation != nil {
			conv, status = f.Conversation.ID, f.Conversation.Status
		}
	}
	var cv struct {
		AssigneeID string `json:"assignee_id"`
	}
	call(t, addr, "GET", "/api/v1/conversations/"+conv, admin, nil, &cv)
	switch cv.AssigneeID {
	case id["agent-b"]:
	case id["agent-a"]:
		t.Fatalf("the new chat was given to agent A, who never came back after the restart")
	default:
		t.Fatalf("the new chat was assigned to %q, not to agent B (%s)", cv.AssigneeID, id["agent-b"])
	}
}
