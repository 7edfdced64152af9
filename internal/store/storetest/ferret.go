package storetest

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Ferret starts FerretDB with its SQLite handler in a temporary folder for
// one test, listening on a random loopback port, and returns its mongodb://
// address; it stops when the test ends. It is the MongoDB wire-protocol
// stand-in of the tests: the hub itself never links it (its embedded store
// is SQLite, see internal/sqlitedb). syncMode is SQLite's synchronous setting
// ("full" or "normal"; empty means full).
func Ferret(t testing.TB, syncMode string) string {
	t.Helper()
	switch syncMode {
	case "":
		syncMode = "full"
	case "full", "normal":
	default:
		t.Fatalf("ferret: synchronous must be full or normal, not %q", syncMode)
	}
	dir, err := filepath.Abs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// FerretDB logs every failed command at warn level with the whole wire
	// message; the tests report errors themselves, so keep only FerretDB's
	// errors.
	flog := slog.New(levelFilter{h: slog.Default().Handler(), min: slog.LevelError}).With("component", "ferretdb")
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/?_pragma=synchronous(" + syncMode + ")",
		Logger:    flog,
	})
	if err != nil {
		t.Fatalf("ferret: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	done.Go(func() { _ = f.Run(ctx) })
	// Lookups by id scan a whole collection without this (see idIndexer).
	x := &idIndexer{dir: dir, log: slog.Default()}
	done.Go(func() { x.run(ctx, 2*time.Second) })
	t.Cleanup(func() {
		cancel()
		done.Wait()
	})
	return f.MongoDBURI() // blocks until the listener is bound
}

// levelFilter drops records below min before they reach h.
//
// FerretDB derives a logger with attributes for every connection and
// command; passing each derivation on (h.WithAttrs formats the attributes
// at once) cost 5% of the hub's CPU under chat load, for records that are
// almost never logged. The attributes and groups are therefore kept here
// and applied to h only when a record passes the filter.
type levelFilter struct {
	h   slog.Handler
	min slog.Level
	ops []func(slog.Handler) slog.Handler // WithAttrs/WithGroup, in order
}

func (l levelFilter) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= l.min && l.h.Enabled(ctx, lv)
}

func (l levelFilter) Handle(ctx context.Context, r slog.Record) error {
	h := l.h
	for _, op := range l.ops {
		h = op(h)
	}
	return h.Handle(ctx, r)
}

func (l levelFilter) with(op func(slog.Handler) slog.Handler) levelFilter {
	return levelFilter{h: l.h, min: l.min, ops: append(l.ops[:len(l.ops):len(l.ops)], op)}
}

func (l levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return l.with(func(h slog.Handler) slog.Handler { return h.WithAttrs(a) })
}

func (l levelFilter) WithGroup(n string) slog.Handler {
	return l.with(func(h slog.Handler) slog.Handler { return h.WithGroup(n) })
}
