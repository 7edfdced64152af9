package storetest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// The embedded server's log filter drops records below its level and
// applies the attributes and groups derived loggers carry, in order, to
// the records it passes.
func TestLevelFilter(t *testing.T) {
	var buf bytes.Buffer
	base := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	l := slog.New(levelFilter{h: base, min: slog.LevelError}).With("component", "ferretdb")
	conn := l.With("conn", 7).WithGroup("cmd").With("name", "insert")
	conn.Info("dropped")
	conn.Warn("dropped too")
	if buf.Len() != 0 {
		t.Fatalf("records below the level were logged: %s", buf.String())
	}
	if conn.Enabled(context.Background(), slog.LevelWarn) || !conn.Enabled(context.Background(), slog.LevelError) {
		t.Fatal("Enabled does not follow the level")
	}
	conn.Error("boom", "code", 11000)
	got := buf.String()
	for _, want := range []string{"msg=boom", "component=ferretdb", "conn=7", "cmd.name=insert", "cmd.code=11000"} {
		if !strings.Contains(got, want) {
			t.Errorf("record lacks %q: %s", want, got)
		}
	}
	// A sibling derived from the same parent does not see the other's attributes.
	buf.Reset()
	l.With("conn", 8).Error("other")
	if got := buf.String(); strings.Contains(got, "conn=7") || strings.Contains(got, "cmd.") || !strings.Contains(got, "conn=8") {
		t.Fatalf("sibling logger: %s", got)
	}
}
