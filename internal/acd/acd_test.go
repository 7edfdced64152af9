package acd_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/omnihub/hub/internal/acd"
	"github.com/omnihub/hub/internal/hubtest"
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
