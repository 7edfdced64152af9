package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.DataDir != "./data" || c.LogFormat != "text" || c.AdminUser != "admin" || c.SessionTTL != 12*time.Hour {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestFileThenEnv(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hub.yaml")
	if err := os.WriteFile(p, []byte("http_addr: 127.0.0.1:9000\ndata_dir: /tmp/x\nlog_format: json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, env(map[string]string{"HUB_DATA_DIR": "/tmp/y"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:9000" || c.DataDir != "/tmp/y" || c.LogFormat != "json" {
		t.Fatalf("got %+v", c)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		file string
		env  map[string]string
		key  string
	}{
		{"unknown file key", "htp_addr: :1\n", nil, "htp_addr"},
		{"bad duration in file", "session_ttl: soon\n", nil, "session_ttl"},
		{"bad env format", "", map[string]string{"HUB_LOG_FORMAT": "xml"}, "log_format"},
		{"bad env addr", "", map[string]string{"HUB_HTTP_ADDR": "8080"}, "http_addr"},
		{"bad env bool", "", map[string]string{"HUB_COOKIE_SECURE": "maybe"}, "cookie_secure"},
		{"bad uri", "", map[string]string{"HUB_MONGODB_URI": "postgres://x"}, "mongodb_uri"},
		{"short password", "", map[string]string{"HUB_ADMIN_PASSWORD": "short"}, "admin_password"},
		{"nested value", "data_dir:\n  a: b\n", nil, "data_dir"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = write(tc.file)
			}
			_, err := Load(path, env(tc.env))
			var ce *Error
			if !errors.As(err, &ce) || ce.Key != tc.key {
				t.Fatalf("want error naming %s, got %v", tc.key, err)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("message %q does not name %s", err, tc.key)
			}
		})
	}
}

func TestUsageListsEverySetting(t *testing.T) {
	var b strings.Builder
	Usage(&b)
	for _, s := range Settings() {
		if !strings.Contains(b.String(), s.Env) || s.Help == "" {
			t.Errorf("setting %s missing from usage or without help", s.Key)
		}
	}
}
