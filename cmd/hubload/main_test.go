package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"

	hubconfig "github.com/omnihub/hub/internal/config"
	"github.com/omnihub/hub/internal/hubtest"
)

// TestChatLoad runs a small chat load against a real hub (embedded store)
// and checks the RESULT line: every conversation opened, messages went both
// ways, none lost or duplicated.
func TestChatLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a hub")
	}
	h := hubtest.Start(t, hubtest.Options{})
	var out, log bytes.Buffer
	err := chat(context.Background(), []string{
		"-addr", h.URL, "-admin-user", hubconfig.Default().AdminUser, "-admin-password", hubtest.AdminPassword,
		"-customers", "6", "-agents", "2", "-chats-per-agent", "3",
		"-duration", "3s", "-interval", "500ms", "-progress", "1s",
	}, &out, &log)
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, log.String())
	}
	m := regexp.MustCompile(`^RESULT conversations=(\d+) messages=(\d+) lost=(\d+) duplicated=(\d+) p50_ms=([\d.]+) p99_ms=([\d.]+)\n$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no RESULT line in %q\n%s", out.String(), log.String())
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	// 6 customers and 2 agents each sending every 500 ms for 3 s: about 36
	// customer and 12 agent messages.
	if n(1) != 6 || n(2) < 30 || n(3) != 0 || n(4) != 0 {
		t.Fatalf("%s%s", out.String(), log.String())
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
