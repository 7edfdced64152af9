package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests in this file run the real binary, as an operator would.

var binPath, loadPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hubbin")
	if err != nil {
		panic(err)
	}
	// Built without -race whatever the test binary is: they are what an
	// operator runs.
	binPath, loadPath = filepath.Join(dir, "hub"), filepath.Join(dir, "hubload")
	for _, b := range [][2]string{{binPath, "."}, {loadPath, "../hubload"}} {
		if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b[1], err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuf is a bytes.Buffer safe for the process writer and the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type proc struct {
	cmd  *exec.Cmd
	out  *syncBuf
	addr string
	done chan struct{} // closed when the process has exited
	err  error         // its exit error, once done is closed
}

func start(t *testing.T, dataDir, addr string, env ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binPath), out: &syncBuf{}, addr: addr, done: make(chan struct{})}
	// Metrics on a port of their own: the default (127.0.0.1:9464) would
	// collide between hubs started at once.
	p.cmd.Env = append(os.Environ(), "HUB_HTTP_ADDR="+addr, "HUB_DATA_DIR="+dataDir, "HUB_LOG_LEVEL=warn", "HUB_METRICS_ADDR=127.0.0.1:0")
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.done })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("hub not ready:\n%s", p.out)
	return nil
}

func login(t *testing.T, addr, user, pw string) (int, string) {
	resp, err := http.Post("http://"+addr+"/api/v1/auth/login", "application/json", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.Token
}

func get(t *testing.T, addr, path, token string) (int, []byte) {
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestFreshStartKillAndRestart is the acceptance path: a fresh data
// folder, login, wrong passwords until 429, the login log, kill -9, restart
// on the same folder, the log still there.
func TestFreshStartKillAndRestart(t *testing.T) {
	data, addr := t.TempDir(), freeAddr(t)
	p := start(t, data, addr, "HUB_ADMIN_PASSWORD=first-admin-pw")
	if !strings.Contains(p.out.String(), "password: first-admin-pw") || !strings.Contains(p.out.String(), "http://"+addr+"/") {
		t.Fatalf("start-up output lacks URL or first admin:\n%s", p.out)
	}
	if st, _ := login(t, addr, "admin", "first-admin-pw"); st != 200 {
		t.Fatalf("login: %d", st)
	}
	if st, _ := login(t, addr, "admin", "not-the-password"); st != 401 {
		t.Fatalf("wrong password: %d", st)
	}
	last := 0
	for i := 0; i < 12 && last != 429; i++ {
		last, _ = login(t, addr, "admin", "not-the-password")
	}
	if last != 429 {
		t.Fatalf("a burst of wrong passwords never got 429")
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done

	p2 := start(t, data, addr)
	if strings.Contains(p2.out.String(), "First admin created") {
		t.Fatalf("second start created another admin:\n%s", p2.out)
	}
	st, tok := login(t, addr, "admin", "first-admin-pw")
	if st != 200 {
		t.Fatalf("login after restart: %d", st)
	}
	_, b := get(t, addr, "/api/v1/audit/logins?limit=500", tok)
	var logs struct {
		Logins []struct{ Outcome, IP string }
	}
	if err := json.Unmarshal(b, &logs); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, l := range logs.Logins {
		if l.IP != "127.0.0.1" {
			t.Errorf("entry without IP: %+v", l)
		}
		n[l.Outcome]++
	}
	if n["success"] != 2 || n["bad_password"] < 5 || n["rate_limited"] < 1 {
		t.Fatalf("login log after kill -9: %v", n)
	}
}

func TestGracefulShutdown(t *testing.T) {
	p := start(t, t.TempDir(), freeAddr(t))
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", p.err, p.out)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

func TestBadSettingsStopStartUp(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(cfg, []byte("http_adr: :9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"-config", cfg}, "", "http_adr"},
		{nil, "HUB_LOG_FORMAT=xml", "HUB_LOG_FORMAT"},
		{nil, "HUB_SESSION_TTL=forever", "session_ttl"},
	}
	for _, tc := range cases {
		cmd := exec.Command(binPath, tc.args...)
		cmd.Env = append(os.Environ(), "HUB_DATA_DIR="+dir, "HUB_HTTP_ADDR=127.0.0.1:0")
		if tc.env != "" {
			cmd.Env = append(cmd.Env, tc.env)
		}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v %s: err %v, output %q does not name %s", tc.args, tc.env, err, out, tc.want)
		}
	}
	out, err := exec.Command(binPath, "-help").CombinedOutput()
	if err != nil {
		t.Fatalf("-help: %v", err)
	}
	for _, s := range []string{"HUB_HTTP_ADDR", "HUB_DATA_DIR", "HUB_MONGODB_URI", "HUB_ADMIN_USER", "HUB_ADMIN_PASSWORD", "HUB_LOG_FORMAT"} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("-help lacks %s", s)
		}
	}
}
