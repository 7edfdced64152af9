// Package hubtest starts whole hubs in-process for tests, on a random free
// port with a temporary data folder, and talks to them over real HTTP.
package hubtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/config"
	"github.com/omnihub/hub/internal/hubapp"
)

// AdminPassword is the first admin's password in test hubs.
const AdminPassword = "admin-pass-1"

// Hub is a hub started for one test.
type Hub struct {
	*hubapp.Hub
	URL        string
	AdminToken string
	t          testing.TB
	stop       func()
}

// Stop shuts the hub down (gracefully) and waits; the test's cleanup calls
// it too. Start a new hub on the same DataDir to test a restart.
func (h *Hub) Stop() { h.stop() }

// Options change the test hub.
type Options struct {
	DataDir string               // default t.TempDir()
	Limits  accounts.LimitPolicy // default: fast slow-down for tests
	// SessionRecheck is how often live sockets recheck their session
	// (default: the hub's).
	SessionRecheck time.Duration
	Config         func(*config.Config)
	// PresenceGrace is how long an agent without a live stream keeps their
	// state, after a dropped stream or a restart (default: the hub's, 30 s).
	PresenceGrace time.Duration
	// UploadWait is how long an upload waits for a free upload slot
	// (default: the hub's).
	UploadWait time.Duration
}

// Start starts a hub and logs its first admin in. It stops with the test.
func Start(t testing.TB, o Options) *Hub {
	t.Helper()
	cfg := config.Default()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DataDir = o.DataDir
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.AdminPassword = AdminPassword
	cfg.ShutdownGrace = 2 * time.Second
	cfg.MetricsAddr = "127.0.0.1:0" // Hub.MetricsAddr tells where
	if o.PresenceGrace != 0 {
		cfg.PresenceGrace = o.PresenceGrace
	}
	if o.Config != nil {
		o.Config(&cfg)
	}
	if o.Limits.Window == 0 {
		// Pauses long enough that a test never outlives one by chance.
		o.Limits = accounts.LimitPolicy{Window: 10 * time.Minute, PairFreeTries: 3, PairBackoff: 5 * time.Minute, PairMaxBackoff: 5 * time.Minute,
			SourceMaxFails: 50, UserFreeTries: 6, UserSlowStep: 10 * time.Millisecond, UserMaxDelay: 50 * time.Millisecond}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := hubapp.New(ctx, cfg, hubapp.Options{Logger: log, BcryptCost: bcrypt.MinCost, Limits: o.Limits, SessionRecheck: o.SessionRecheck, UploadWait: o.UploadWait})
	if err != nil {
		cancel()
		t.Fatalf("start hub: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, context.Background()) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("hub did not stop")
			}
		})
	}
	t.Cleanup(stop)
	th := &Hub{Hub: h, URL: "http://" + h.Addr(), t: t, stop: stop}
	th.AdminToken = th.Login("", cfg.AdminUser, AdminPassword)
	return th
}

// Login logs a user in and returns the bearer token.
func (h *Hub) Login(tenant, user, pw string) string {
	h.t.Helper()
	var out struct{ Token string }
	st := h.Do("POST", "/api/v1/auth/login", "", map[string]string{"tenant": tenant, "username": user, "password": pw}, &out)
	if st != 200 || out.Token == "" {
		h.t.Fatalf("login %s: status %d", user, st)
	}
	return out.Token
}

// Do sends a JSON request (body nil for none) and decodes a JSON answer
// into out (nil to ignore). It returns the status code.
func (h *Hub) Do(method, path, token string, body, out any) int {
	h.t.Helper()
	st, b := h.Raw(method, path, token, body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return st
}

// Raw is Do returning the raw answer body.
func (h *Hub) Raw(method, path, token string, body any) (int, []byte) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
