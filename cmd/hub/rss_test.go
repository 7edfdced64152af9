package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAnonymousBodiesRSS is issue 12's "the hub's RSS stays under 600 MB
// while 100 anonymous clients send 24 MB bodies at once" (100 such bodies
// once took it to 3.3 GB: every route buffered up to 25 MB before its limit
// was checked). It runs the real binary, sends the bodies with no token to
// a JSON route, the login and the visitor upload, and reads the process's
// peak resident set (VmHWM) from /proc. HUB_RSS_BIN names another binary to
// measure (BENCHMARKS.md records both).
func TestAnonymousBodiesRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 100 bodies of 24 MB")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	if b := os.Getenv("HUB_RSS_BIN"); b != "" {
		old := binPath
		binPath = b
		defer func() { binPath = old }()
	}
	p := start(t, t.TempDir(), freeAddr(t))
	pid := p.cmd.Process.Pid
	idle := procKB(t, pid, "VmRSS")

	const clients, size = 100, 24 << 20
	paths := []string{"/api/v1/webchat/session", "/api/v1/auth/login", "/api/v1/webchat/upload"}
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[string]int{}
	)
	begin := time.Now()
	for i := range clients {
		wg.Go(func() {
			path := paths[i%len(paths)]
			ctype := "application/json"
			if strings.HasSuffix(path, "upload") {
				ctype = "multipart/form-data; boundary=x"
			}
			outcome := func() string {
				c, err := net.Dial("tcp", p.addr)
				if err != nil {
					return "dial error"
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(3 * time.Minute))
				fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: hub\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", path, ctype, size)
				// Send the whole body unless the hub hangs up, answering
				// on its own schedule.
				answer := make(chan string, 1)
				go func() {
					resp, err := http.ReadResponse(bufio.NewReader(c), nil)
					if err != nil {
						answer <- "no answer"
						return
					}
					resp.Body.Close()
					answer <- strconv.Itoa(resp.StatusCode)
				}()
				for sent := 0; sent < size; sent += len(chunk) {
					if _, err := c.Write(chunk); err != nil {
						break
					}
				}
				return <-answer
			}()
			mu.Lock()
			statuses[outcome]++
			mu.Unlock()
		})
	}
	wg.Wait()
	peak := procKB(t, pid, "VmHWM")
	t.Logf("%d anonymous clients x %d MB to %v in %v: answers %v; hub RSS idle %d MB, peak %d MB",
		clients, size>>20, paths, time.Since(begin).Round(time.Millisecond), statuses, idle>>10, peak>>10)
	if peak > 600<<10 {
		t.Fatalf("peak RSS %d MB, bound 600 MB", peak>>10)
	}
	if resp, err := http.Get("http://" + p.addr + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("hub after the bodies: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// procKB reads a "kB" field of /proc/<pid>/status.
func procKB(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("%s: %q", field, line)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
