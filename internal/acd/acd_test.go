package acd_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/acd"
	"github.com/omnihub/hub/internal/hubtest"
	"github.com/omnihub/hub/internal/store"
)

type fixture struct {
	h      *hubtest.Hub
	group  string
	agents map[string]string // username -> token
	ids    map[string]string // username -> user id
}

func setup(t *testing.T, h *hubtest.Hub, settings map[string]any, agents ...string) *fixture {
	t.Helper()
	f := &fixture{h: h, agents: map[string]string{}, ids: map[string]string{}}
	var g struct{ ID string }
	if st := h.Do("POST", "/api/v1/groups", h.AdminToken, map[string]any{"name": "宽带报修"}, &g); st != 201 {
		t.Fatalf("group: %d", st)
	}
	f.group = g.ID
	if settings != nil {
		if st := h.Do("PUT", "/api/v1/routing/groups/"+g.ID+"/settings", h.AdminToken, settings, nil); st != 200 {
			t.Fatalf("group settings: %d", st)
		}
	}
	for _, a := range agents {
		var u struct{ ID string }
		if st := h.Do("POST", "/api/v1/users", h.AdminToken, map[string]any{"username": a, "password": "agent-pass-1", "role": "agent", "groups": []map[string]any{{"group_id": g.ID, "level": 1}}}, &u); st != 201 {
			t.Fatalf("agent %s: %d", a, st)
		}
		f.ids[a] = u.ID
		f.agents[a] = h.Login("", a, "agent-pass-1")
	}
	return f
}

func (f *fixture) ready(t *testing.T, a string) {
	t.Helper()
	if st := f.h.Do("POST", "/api/v1/agent/sign-in", f.agents[a], nil, nil); st != 200 {
		t.Fatalf("sign in %s: %d", a, st)
	}
	if st := f.h.Do("PUT", "/api/v1/agent/state", f.agents[a], map[string]string{"state": "ready"}, nil); st != 200 {
		t.Fatalf("ready %s: %d", a, st)
	}
}

type enqueued struct {
	TaskID        string   `json:"task_id"`
	Status        string   `json:"status"`
	QueuePosition int      `json:"queue_position"`
	Agents        []string `json:"agents"`
}

func (f *fixture) enqueue(t *testing.T, id string) enqueued {
	t.Helper()
	var r enqueued
	if st := f.h.Do("POST", "/api/v1/routing/tasks", f.h.AdminToken, map[string]any{"id": id, "channel": "webchat", "group_id": f.group}, &r); st != 201 {
		t.Fatalf("enqueue %s: %d", id, st)
	}
	return r
}

func me(t *testing.T, f *fixture, a string) acd.AgentView {
	t.Helper()
	var v acd.AgentView
	if st := f.h.Do("GET", "/api/v1/agent/me", f.agents[a], nil, &v); st != 200 {
		t.Fatalf("me %s: %d", a, st)
	}
	return v
}

// stream opens the live WebSocket as a user.
func stream(t *testing.T, h *hubtest.Hub, token string) *websocket.Conn {
	t.Helper()
	hdr := http.Header{"Authorization": {"Bearer " + token}}
	c, resp, err := websocket.DefaultDialer.Dial(strings.Replace(h.URL, "http", "ws", 1)+"/api/v1/stream", hdr)
	if err != nil {
		t.Fatalf("stream: %v (%v)", err, resp)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor reads stream messages until one carries an event of type typ for
// task (or any task when task is "").
func waitFor(t *testing.T, c *websocket.Conn, typ, task string) acd.Message {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s of %s: %v", typ, task, err)
		}
		var m acd.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, e := range m.Events {
			if string(e.Type) == typ && (task == "" || string(e.TaskID) == task) {
				return m
			}
		}
	}
}

func TestOfferAcceptWrapUpDisposition(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	f := setup(t, h, map[string]any{"wrap_up_s": 600, "require_disposition": true, "offer_timeout_s": 60}, "wang", "zhao")
	ws := stream(t, h, f.agents["wang"])
	var snap acd.Message
	if err := ws.ReadJSON(&snap); err != nil || snap.Type != "snapshot" || len(snap.Groups) != 1 {
		t.Fatalf("first message: %v %+v", err, snap)
	}
	f.ready(t, "wang")
	r := f.enqueue(t, "conv-1")
	if r.Status != "offered" || len(r.Agents) != 1 || r.Agents[0] != f.ids["wang"] {
		t.Fatalf("enqueue: %+v", r)
	}
	waitFor(t, ws, "task_offered", "conv-1")
	// zhao may not accept wang's offer; wang does.
	if st := h.Do("POST", "/api/v1/tasks/conv-1/accept", f.agents["zhao"], nil, nil); st != 409 && st != 404 {
		t.Fatalf("someone else's offer accepted: %d", st)
	}
	if st := h.Do("POST", "/api/v1/tasks/conv-1/accept", f.agents["wang"], nil, nil); st != 200 {
		t.Fatalf("accept: %d", st)
	}
	waitFor(t, ws, "offer_accepted", "conv-1")
	if st := h.Do("POST", "/api/v1/tasks/conv-1/complete", f.agents["zhao"], nil, nil); st != 403 {
		t.Fatalf("zhao completed wang's conversation: %d", st)
	}
	if st := h.Do("POST", "/api/v1/tasks/conv-1/complete", f.agents["wang"], nil, nil); st != 204 {
		t.Fatalf("complete: %d", st)
	}
	v := me(t, f, "wang")
	if v.State != "after_call_work" || len(v.PendingDispositions) != 1 || v.WrapUpUntil.IsZero() {
		t.Fatalf("after complete: %+v", v)
	}
	// Continue is refused until the disposition is set; the next chat waits.
	if st := h.Do("POST", "/api/v1/agent/continue", f.agents["wang"], nil, nil); st != 409 {
		t.Fatalf("continue without disposition: %d", st)
	}
	if r := f.enqueue(t, "conv-2"); r.Status != "queued" || r.QueuePosition != 1 {
		t.Fatalf("second task while in wrap-up: %+v", r)
	}
	if st := h.Do("POST", "/api/v1/tasks/conv-1/disposition", f.agents["wang"], map[string]string{"code": "故障报修/光猫"}, nil); st != 200 {
		t.Fatalf("disposition: %d", st)
	}
	if st := h.Do("POST", "/api/v1/agent/continue", f.agents["wang"], nil, nil); st != 200 {
		t.Fatalf("continue: %d", st)
	}
	waitFor(t, ws, "task_offered", "conv-2")
	// Every step is an event in the store, in order.
	var evs struct {
		Events []struct {
			Seq  uint64
			Type string
		}
	}
	h.Do("GET", "/api/v1/routing/events?task=conv-1", h.AdminToken, nil, &evs)
	var types []string
	for i, e := range evs.Events {
		if i > 0 && e.Seq <= evs.Events[i-1].Seq {
			t.Fatalf("events out of order: %+v", evs.Events)
		}
		types = append(types, e.Type)
	}
	want := "task_queued task_offered offer_accepted task_completed wrapup_started disposition_set"
	if got := strings.Join(types, " "); !strings.HasPrefix(got, "task_queued task_offered offer_accepted task_completed") || !strings.Contains(got, "disposition_set") {
		t.Fatalf("events of conv-1: %s (want like %s)", got, want)
	}
}

func TestBreakApprovalAndSupervisorControls(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	f := setup(t, h, map[string]any{"break_cap": 1}, "qian", "sun")
	f.ready(t, "qian")
	f.ready(t, "sun")
	if st := h.Do("POST", "/api/v1/agent/break", f.agents["qian"], map[string]any{"reason": "用餐", "minutes": 30}, nil); st != 200 {
		t.Fatalf("break request: %d", st)
	}
	if st := h.Do("POST", "/api/v1/routing/agents/"+f.ids["qian"]+"/break/approve", f.agents["sun"], nil, nil); st != 403 {
		t.Fatalf("agent approved a break: %d", st)
	}
	if st := h.Do("POST", "/api/v1/routing/agents/"+f.ids["qian"]+"/break/approve", h.AdminToken, nil, nil); st != 200 {
		t.Fatalf("approve: %d", st)
	}
	if v := me(t, f, "qian"); v.State != "break" || v.BreakUntil.IsZero() {
		t.Fatalf("after approval: %+v", v)
	}
	h.Do("POST", "/api/v1/agent/break", f.agents["sun"], map[string]any{"reason": "小休", "minutes": 10}, nil)
	var e struct{ Error struct{ Code string } }
	if st := h.Do("POST", "/api/v1/routing/agents/"+f.ids["sun"]+"/break/approve", h.AdminToken, nil, &e); st != 409 || e.Error.Code != "break_cap_reached" {
		t.Fatalf("second break over the cap: %d %+v", st, e)
	}
	if st := h.Do("PUT", "/api/v1/routing/agents/"+f.ids["sun"]+"/state", h.AdminToken, map[string]string{"state": "not_ready", "reason": "meeting"}, nil); st != 200 {
		t.Fatalf("force not ready: %d", st)
	}
	if v := me(t, f, "sun"); v.State != "not_ready" || v.Reason != "meeting" {
		t.Fatalf("forced state: %+v", v)
	}
	if st := h.Do("POST", "/api/v1/routing/agents/"+f.ids["sun"]+"/sign-out", h.AdminToken, nil, nil); st != 200 {
		t.Fatalf("force sign-out: %d", st)
	}
	if v := me(t, f, "sun"); v.State != "signed_out" {
		t.Fatalf("forced sign-out: %+v", v)
	}
}

func TestSettingsValidation(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	f := setup(t, h, nil, "li")
	cases := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"hours": map[string]any{"time_zone": "Mars/Olympus", "weekly": map[string]any{}}}, "hours.time_zone"},
		{map[string]any{"hours": map[string]any{"time_zone": "Asia/Shanghai", "weekly": map[string]any{"mon": []map[string]string{{"from": "9am", "to": "18:00"}}}}}, "hours.weekly.mon[0].from"},
		{map[string]any{"wrap_up_s": -5}, "wrap_up_s"},
		{map[string]any{"strategy": "coin_flip"}, "strategy"},
		{map[string]any{"offer_timeout": 5}, "offer_timeout"},
	}
	for _, tc := range cases {
		var e struct{ Error struct{ Field string } }
		if st := h.Do("PUT", "/api/v1/routing/groups/"+f.group+"/settings", h.AdminToken, tc.body, &e); st != 400 || e.Error.Field != tc.field {
			t.Errorf("%v: %d field %q, want 400 naming %s", tc.body, st, e.Error.Field, tc.field)
		}
	}
	ok := map[string]any{"strategy": "least_loaded", "hours": map[string]any{"time_zone": "Asia/Shanghai", "weekly": map[string]any{"mon": []map[string]string{{"from": "09:00", "to": "18:00"}}}, "closed": []string{"2026-10-01"}},
		"on_closed": map[string]any{"kind": "leave_message"}, "escalation": []map[string]any{{"after_s": 60, "any_level": true}}}
	if st := h.Do("PUT", "/api/v1/routing/groups/"+f.group+"/settings", h.AdminToken, ok, nil); st != 200 {
		t.Fatalf("good settings: %d", st)
	}
	var back acd.GroupSettings
	h.Do("GET", "/api/v1/routing/groups/"+f.group+"/settings", h.AdminToken, nil, &back)
	if back.Strategy != "least_loaded" || back.Hours == nil || back.Hours.TimeZone != "Asia/Shanghai" || back.OnClosed.Kind != "leave_message" {
		t.Fatalf("settings read back: %+v", back)
	}
	if st := h.Do("PUT", "/api/v1/routing/groups/"+f.group+"/settings", f.agents["li"], ok, nil); st != 403 {
		t.Fatalf("agent changed settings: %d", st)
	}
}

// TestRestartRestoresQueuesAndStates: queued conversations return to their
// queue in their original order and agent states are rebuilt after a
// restart on the same data folder.
func TestRestartRestoresQueuesAndStates(t *testing.T) {
	dir := t.TempDir()
	h := hubtest.Start(t, hubtest.Options{DataDir: dir})
	f := setup(t, h, map[string]any{"offer_timeout_s": 60}, "zhou", "wu")
	f.ready(t, "zhou")
	if r := f.enqueue(t, "busy-1"); r.Status != "offered" {
		t.Fatalf("first: %+v", r)
	}
	h.Do("POST", "/api/v1/tasks/busy-1/accept", f.agents["zhou"], nil, nil)
	// Four chats fill zhou (25 each); the rest queue in order.
	for _, id := range []string{"busy-2", "busy-3", "busy-4"} {
		f.enqueue(t, id)
		h.Do("POST", "/api/v1/tasks/"+id+"/accept", f.agents["zhou"], nil, nil)
	}
	for i, id := range []string{"q-a", "q-b", "q-c"} {
		if r := f.enqueue(t, id); r.Status != "queued" || r.QueuePosition != i+1 {
			t.Fatalf("%s: %+v", id, r)
		}
	}
	if v := me(t, f, "zhou"); v.Used != 100 || len(v.Tasks) != 4 {
		t.Fatalf("before restart: %+v", v)
	}
	h.Stop()

	h2 := hubtest.Start(t, hubtest.Options{DataDir: dir})
	f.h = h2
	for a := range f.agents {
		f.agents[a] = h2.Login("", a, "agent-pass-1")
	}
	v := me(t, f, "zhou")
	if v.State != "ready" || v.Used != 100 || len(v.Tasks) != 4 {
		t.Fatalf("zhou after restart: %+v", v)
	}
	var q struct{ Groups []acd.GroupView }
	h2.Do("GET", "/api/v1/routing/queues", h2.AdminToken, nil, &q)
	if len(q.Groups) != 1 || q.Groups[0].Queued != 3 {
		t.Fatalf("queues after restart: %+v", q)
	}
	// wu signs in and gets the queued chats in their original order.
	ws := stream(t, h2, f.agents["wu"])
	f.ready(t, "wu")
	var got []string
	for len(got) < 3 {
		m := waitFor(t, ws, "task_offered", "")
		for _, e := range m.Events {
			if e.Type == "task_offered" {
				got = append(got, string(e.TaskID))
			}
		}
	}
	if strings.Join(got, ",") != "q-a,q-b,q-c" {
		t.Fatalf("order after restart: %v", got)
	}
}

// TestSettingsSquat: routing settings of another tenant's group or agent
// cannot be written, through the API or the service, and the owner's own
// settings are stored and read back. Issue 12, defect 6 (same pattern as
// the knowledge base's bot settings).
func TestSettingsSquat(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	f := setup(t, h, nil, "zheng") // tenant B: the default tenant
	if st := h.Do("POST", "/api/v1/tenants", h.AdminToken, map[string]any{"id": "acme", "name": "ACME", "admin_user": "admin", "admin_password": "acme-pass-1"}, nil); st != 201 {
		t.Fatalf("create tenant: %d", st)
	}
	aTok := h.Login("acme", "admin", "acme-pass-1")
	if st, b := h.Raw("PUT", "/api/v1/routing/groups/"+f.group+"/settings", aTok, map[string]any{"wrap_up_s": 1}); st != 404 {
		t.Fatalf("A set B's group settings: %d %s", st, b)
	}
	if st, b := h.Raw("PUT", "/api/v1/routing/agents/"+f.ids["zheng"]+"/settings", aTok, map[string]any{"capacity": 1}); st != 404 {
		t.Fatalf("A set B's agent settings: %d %s", st, b)
	}
	// Below the API too: the service refuses a group of another tenant.
	actx := store.WithTenant(context.Background(), "acme")
	if err := h.ACD.SetGroupSettings(actx, accounts.GroupID(f.group), acd.GroupSettings{WrapUpS: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("service set B's group settings as A: %v", err)
	}
	if err := h.ACD.SetAgentSettings(actx, accounts.UserID(f.ids["zheng"]), acd.AgentSettings{Capacity: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("service set B's agent settings as A: %v", err)
	}
	// B's own settings are saved and read back.
	if st, b := h.Raw("PUT", "/api/v1/routing/groups/"+f.group+"/settings", h.AdminToken, map[string]any{"wrap_up_s": 42}); st != 200 {
		t.Fatalf("B's group settings: %d %s", st, b)
	}
	if st, b := h.Raw("PUT", "/api/v1/routing/agents/"+f.ids["zheng"]+"/settings", h.AdminToken, map[string]any{"capacity": 77}); st != 200 {
		t.Fatalf("B's agent settings: %d %s", st, b)
	}
	var gs acd.GroupSettings
	if h.Do("GET", "/api/v1/routing/groups/"+f.group+"/settings", h.AdminToken, nil, &gs); gs.WrapUpS != 42 {
		t.Fatalf("B's group settings read back: %+v", gs)
	}
	var as acd.AgentSettings
	if h.Do("GET", "/api/v1/routing/agents/"+f.ids["zheng"]+"/settings", h.AdminToken, nil, &as); as.Capacity != 77 {
		t.Fatalf("B's agent settings read back: %+v", as)
	}
	if st, _ := h.Raw("GET", "/api/v1/routing/groups/"+f.group+"/settings", aTok, nil); st != 404 {
		t.Fatalf("A read B's group settings: %d", st)
	}
}

// TestRestartGhostAgents: after a restart every restored agent waits for
// their live stream like after a dropped connection. One who reconnects is
// offered new chats; one who does not is signed out when the presence
// grace ends and is offered nothing, although both were ready with room
// before the restart. Issue 12, defect 7.
func TestRestartGhostAgents(t *testing.T) {
	dir := t.TempDir()
	const grace = time.Second
	h := hubtest.Start(t, hubtest.Options{DataDir: dir, PresenceGrace: grace})
	f := setup(t, h, map[string]any{"offer_timeout_s": 60}, "gone", "back")
	for _, a := range []string{"gone", "back"} {
		// one chat each (a web chat costs 25)
		if st := h.Do("PUT", "/api/v1/routing/agents/"+f.ids[a]+"/settings", h.AdminToken, map[string]any{"capacity": 25}, nil); st != 200 {
			t.Fatalf("settings %s: %d", a, st)
		}
		f.ready(t, a)
	}
	h.Stop()

	h2 := hubtest.Start(t, hubtest.Options{DataDir: dir, PresenceGrace: grace})
	f.h = h2
	for a := range f.agents {
		f.agents[a] = h2.Login("", a, "agent-pass-1")
	}
	// back's client reconnects (its stream loads the tenant's routing and
	// reports back connected); the wallboard watches.
	ws := stream(t, h2, f.agents["back"])
	board := stream(t, h2, h2.AdminToken)
	var snap acd.Message
	if err := board.ReadJSON(&snap); err != nil || snap.Type != "snapshot" {
		t.Fatalf("snapshot: %v %+v", err, snap)
	}
	goneOut := false
	for _, v := range snap.Agents {
		switch {
		case v.ID == f.ids["gone"] && v.State == "signed_out":
			goneOut = true
		case v.ID == f.ids["gone"] && (v.Connected || v.Routable):
			t.Fatalf("gone restored connected or routable: %+v", v)
		}
	}
	_ = board.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !goneOut {
		var m acd.Message
		if err := board.ReadJSON(&m); err != nil {
			t.Fatalf("waiting for gone's sign-out: %v", err)
		}
		for _, e := range m.Events {
			if string(e.AgentID) == f.ids["gone"] && e.Type == "agent_state_changed" && e.ToState == "signed_out" {
				if e.Reason != "disconnected" {
					t.Fatalf("gone signed out for %q", e.Reason)
				}
				goneOut = true
			}
		}
	}
	if v := me(t, f, "back"); v.State != "ready" || !v.Connected || !v.Routable {
		t.Fatalf("back after the grace: %+v", v)
	}
	// Two chats: back takes one, the other waits (gone gets nothing).
	r1, r2 := f.enqueue(t, "after-1"), f.enqueue(t, "after-2")
	if r1.Status != "offered" || len(r1.Agents) != 1 || r1.Agents[0] != f.ids["back"] {
		t.Fatalf("first chat after the grace: %+v", r1)
	}
	if r2.Status != "queued" {
		t.Fatalf("second chat after the grace: %+v (gone must not be offered it)", r2)
	}
	waitFor(t, ws, "task_offered", "after-1")
	if v := me(t, f, "gone"); v.State != "signed_out" || len(v.Tasks) != 0 {
		t.Fatalf("gone: %+v", v)
	}
}

// TestTaskIDSharedAcrossTenants: a task id chosen by one tenant (POST
// /routing/tasks names its own) does not stop another tenant's task of the
// same id from being saved: both come back after a restart.
func TestTaskIDSharedAcrossTenants(t *testing.T) {
	dir := t.TempDir()
	h := hubtest.Start(t, hubtest.Options{DataDir: dir})
	if st := h.Do("POST", "/api/v1/tenants", h.AdminToken, map[string]any{"id": "acme", "name": "ACME", "admin_user": "admin", "admin_password": "acme-pass-1"}, nil); st != 201 {
		t.Fatalf("create tenant: %d", st)
	}
	tokens := map[string]string{"acme": h.Login("acme", "admin", "acme-pass-1"), "": h.AdminToken}
	for _, tenant := range []string{"acme", ""} { // acme first: it takes the id
		tok := tokens[tenant]
		var g struct{ ID string }
		if st := h.Do("POST", "/api/v1/groups", tok, map[string]any{"name": "组"}, &g); st != 201 {
			t.Fatalf("group: %d", st)
		}
		var r enqueued
		if st := h.Do("POST", "/api/v1/routing/tasks", tok, map[string]any{"id": "shared-1", "channel": "webchat", "group_id": g.ID}, &r); st != 201 || r.Status != "queued" {
			t.Fatalf("enqueue in %q: %d %+v", tenant, st, r)
		}
	}
	h.Stop()
	h2 := hubtest.Start(t, hubtest.Options{DataDir: dir})
	for _, tenant := range []string{"acme", ""} {
		tok := h2.AdminToken
		if tenant != "" {
			tok = h2.Login(tenant, "admin", "acme-pass-1")
		}
		var q struct{ Groups []acd.GroupView }
		h2.Do("GET", "/api/v1/routing/queues", tok, nil, &q)
		if len(q.Groups) != 1 || q.Groups[0].Queued != 1 {
			t.Errorf("tenant %q after restart: %+v, want its task back in its queue", tenant, q.Groups)
		}
	}
}

// TestAgentStreamQueueFiguresCoalesced: an agent's stream gets queue
// figures coalesced (not one message per routing step of every other
// chat), and the last figures it gets are the final ones: after 30 chats
// queue up with nobody ready, the agent's inbox shows 30 queued.
func TestAgentStreamQueueFiguresCoalesced(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	f := setup(t, h, nil, "li")
	ws := stream(t, h, f.agents["li"])
	var snap acd.Message
	if err := ws.ReadJSON(&snap); err != nil || snap.Type != "snapshot" {
		t.Fatalf("first message: %v %+v", err, snap)
	}
	const n = 30
	for i := range n {
		if r := f.enqueue(t, fmt.Sprintf("q-%d", i)); r.Status != "queued" {
			t.Fatalf("enqueue %d: %+v", i, r)
		}
	}
	// Read until the figures say 30 queued; count the messages on the way.
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	msgs := 0
	for queued := 0; queued != n; {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("after %d messages, queued %d of %d: %v", msgs, queued, n, err)
		}
		msgs++
		var m acd.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Events) > 0 {
			t.Fatalf("li was sent other agents' events: %s", b)
		}
		for _, g := range m.Groups {
			if g.ID == f.group {
				queued = g.Queued
			}
		}
	}
	if msgs >= n {
		t.Fatalf("%d messages for %d queue changes: not coalesced", msgs, n)
	}
}
