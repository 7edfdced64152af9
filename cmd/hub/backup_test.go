package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// hubCmd runs the hub binary with a command and the data folder, and
// returns its output.
func hubCmd(t *testing.T, dataDir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "HUB_DATA_DIR="+dataDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestBackupWhileRunningAndRestore: `hub backup FILE` copies the store of a
// running hub; `hub restore FILE` refuses while a hub runs on the folder,
// then, with the hub stopped, puts the backup in place (the replaced store
// kept beside it); the restored hub has what was there at the backup and
// not what came after.
func TestBackupWhileRunningAndRestore(t *testing.T) {
	data, addr := t.TempDir(), freeAddr(t)
	p := start(t, data, addr, "HUB_ADMIN_PASSWORD=first-admin-pw")
	_, tok := login(t, addr, "admin", "first-admin-pw")
	mkUser := func(name string) {
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/users", strings.NewReader(`{"username":"`+name+`","name":"`+name+`","password":"agent-pass-1","role":"agent"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("create %s: %d", name, resp.StatusCode)
		}
	}
	mkUser("before.backup")
	file := filepath.Join(t.TempDir(), "hub-backup.db")
	out, err := hubCmd(t, data, "backup", file)
	if err != nil || !strings.Contains(out, "Backup of") {
		t.Fatalf("backup while running: %v\n%s", err, out)
	}
	mkUser("after.backup")
	if out, err := hubCmd(t, data, "restore", file); err == nil || !strings.Contains(out, "stop the hub first") {
		t.Fatalf("restore while the hub runs: %v\n%s", err, out)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	out, err = hubCmd(t, data, "restore", file)
	if err != nil || !strings.Contains(out, "kept as") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	start(t, data, addr)
	_, tok = login(t, addr, "admin", "first-admin-pw")
	_, b := get(t, addr, "/api/v1/users?limit=500", tok)
	var users struct{ Users []struct{ Username string } }
	if err := json.Unmarshal(b, &users); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	got := map[string]bool{}
	for _, u := range users.Users {
		got[u.Username] = true
	}
	if !got["before.backup"] || got["after.backup"] {
		t.Fatalf("restored users: %v", got)
	}
	// Not a hub store: refused with a message.
	bogus := filepath.Join(t.TempDir(), "bogus.db")
	if err := os.WriteFile(bogus, []byte("not a database at all, just text padding padding padding padding padding padding padding padding padding padding"), 0o640); err != nil {
		t.Fatal(err)
	}
	if out, err := hubCmd(t, t.TempDir(), "restore", bogus); err == nil {
		t.Fatalf("restore of a file that is no backup succeeded:\n%s", out)
	}
}
