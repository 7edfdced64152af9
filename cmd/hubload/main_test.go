package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	hubconfig "github.com/omnihub/hub/internal/config"
	"github.com/omnihub/hub/internal/hubtest"
)

// resultRe matches hubload's RESULT line: conversations, messages, acked,
// missing, undelivered, duplicated, p50, p99, reconnects, moved.
var resultRe = regexp.MustCompile(`^RESULT conversations=(\d+) messages=(\d+) acked=(\d+) missing=(\d+) undelivered=(\d+) duplicated=(\d+) p50_ms=([\d.]+) p99_ms=([\d.]+) reconnects=(\d+) moved=(\d+) open_s=([\d.]+) assign_p50_ms=([\d.]+) assign_p99_ms=([\d.]+) open_per_s=([\d.]+) events_stored=(-?\d+) events_applied=(-?\d+)\n$`)

// TestChatLoad runs a small chat load against a real hub (embedded store)
// and checks the RESULT line: every conversation opened, messages went both
// ways, every one acknowledged, read back from the history and delivered
// once.
func TestChatLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a hub")
	}
	h := hubtest.Start(t, hubtest.Options{})
	var out, log bytes.Buffer
	err := chat(context.Background(), []string{
		"-addr", h.URL, "-admin-user", hubconfig.Default().AdminUser, "-admin-password", hubtest.AdminPassword,
		"-customers", "6", "-agents", "2", "-chats-per-agent", "3",
		"-duration", "3s", "-interval", "500ms", "-progress", "1s", "-leave",
		"-metrics", "http://" + h.MetricsAddr() + "/metrics",
	}, &out, &log)
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, log.String())
	}
	m := resultRe.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no RESULT line in %q\n%s", out.String(), log.String())
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	// 6 customers and 2 agents each sending every 500 ms for 3 s: about 36
	// customer and 12 agent messages, all acknowledged, stored and
	// delivered once; no socket dropped.
	if n(1) != 6 || n(2) < 30 || n(3) != n(2) || n(4) != 0 || n(5) != 0 || n(6) != 0 || n(9) != 0 || n(10) != 0 {
		t.Fatalf("%s%s", out.String(), log.String())
	}
	// The opening was timed: all six assignments, the slowest no later
	// than the whole opening.
	f := func(i int) float64 { v, _ := strconv.ParseFloat(m[i], 64); return v }
	if f(11) <= 0 || f(12) <= 0 || f(13) < f(12) || f(13) > f(11)*1000 {
		t.Fatalf("opening not timed: %s", out.String())
	}
	// Every routing event the hub stored reached its conversation layer.
	if n(15) <= 0 || n(15) != n(16) {
		t.Fatalf("routing events stored %d, applied %d: %s", n(15), n(16), out.String())
	}
	// -leave: every customer left and the hub ended every chat.
	if !strings.Contains(log.String(), "6 of 6 customers left their chat") {
		t.Fatalf("customers did not all leave:\n%s", log.String())
	}
	for _, status := range []string{"queued", "assigned"} {
		var open struct{ Conversations []struct{ ID, Status string } }
		if st := h.Do("GET", "/api/v1/conversations?status="+status+"&limit=50", h.AdminToken, nil, &open); st != 200 || len(open.Conversations) != 0 {
			t.Fatalf("after -leave: status %d, %s conversations %+v", st, status, open.Conversations)
		}
	}
	t.Logf("%s%s", out.String(), log.String())
	if !bytes.Contains(log.Bytes(), []byte("delivered=")) {
		t.Errorf("no progress lines:\n%s", log.String())
	}
}

// TestChatFlags checks that impossible loads are refused before anything
// is created.
func TestChatFlags(t *testing.T) {
	var out, log bytes.Buffer
	err := chat(context.Background(), []string{"-customers", "50", "-agents", "2", "-chats-per-agent", "10"}, &out, &log)
	if err == nil || out.Len() != 0 {
		t.Fatalf("50 customers for 20 places: err %v, out %q", err, out.String())
	}
}

// TestReportCounts checks the accounting of the RESULT line on made-up
// outcomes: a message acknowledged but absent from the history read back
// is missing; one stored and never received, live or by catching up, is
// undelivered; one received by catching up and then live is no duplicate.
func TestReportCounts(t *testing.T) {
	var out, log bytes.Buffer
	l := &load{out: &out, log: &log,
		sent:   map[string]sendState{"c1": acked, "c2": acked, "a3": acked, "a4": acked, "c5": written, "c6": refused, "a7": acked},
		got:    map[string]int{"c1": 1, "a3": 1, "a4": 1, "a7": 2},
		synced: map[string]bool{"a4": true}}
	l.convs.Store(2)
	stored := map[string]bool{"c1": true, "c2": true, "a4": true, "c5": true, "a7": true} // a3 missing
	if err := l.report(stored); err != nil {
		t.Fatal(err)
	}
	m := resultRe.FindStringSubmatch(out.String())
	want := []string{"2", "6", "5", "1", "2", "1"} // conversations, messages, acked, missing (a3), undelivered (c2, c5), duplicated (a7)
	if m == nil || !slices.Equal(m[1:7], want) {
		t.Fatalf("got %q, want counts %v\n%s", out.String(), want, log.String())
	}
	for _, s := range []string{"MISSING (acknowledged, not stored): 0 sent by customers, 1 sent by agents", "1 messages were never acknowledged (1 of them stored)"} {
		if !strings.Contains(log.String(), s) {
			t.Errorf("summary lacks %q:\n%s", s, log.String())
		}
	}
}
