package store

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Embedded is an in-process MongoDB-compatible server: FerretDB with its
// SQLite handler, keeping its files in a folder of the data directory. It
// listens on a random loopback port and speaks the MongoDB wire protocol, so
// the hub reaches it with the same driver code as a production MongoDB.
//
// SQLite runs in WAL mode with FerretDB's defaults: a write is committed
// before the server answers, so an acknowledged write survives kill -9.
type Embedded struct {
	index  *idIndexer
	uri    string
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// StartEmbedded starts the embedded server with its files in dir (created
// when missing). The server stops when Close is called.
//
// sync is SQLite's synchronous setting: "full" (default) syncs the WAL to
// disk on every commit, so acknowledged writes also survive a power cut;
// "normal" syncs at checkpoints only, which survives a crash or kill -9 of
// the hub but may lose the last commits on a power cut or OS crash.
func StartEmbedded(dir, sync string, logger *slog.Logger) (*Embedded, error) {
	switch sync {
	case "":
		sync = "full"
	case "full", "normal":
	default:
		return nil, fmt.Errorf("embedded store: synchronous must be full or normal, not %q", sync)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("embedded store: create %s: %w", abs, err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	// FerretDB logs every failed command at warn level with the whole wire
	// message; the hub reports errors itself, so keep only FerretDB's errors.
	flog := slog.New(levelFilter{h: logger.Handler(), min: slog.LevelError}).With("component", "ferretdb")
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/?_pragma=synchronous(" + sync + ")",
		Logger:    flog,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Embedded{cancel: cancel}
	e.done.Add(1)
	go func() {
		defer e.done.Done()
		_ = f.Run(ctx)
	}()
	e.uri = f.MongoDBURI() // blocks until the listener is bound
	x := &idIndexer{dir: abs, log: logger}
	e.done.Add(1)
	go func() {
		defer e.done.Done()
		x.run(ctx, 2*time.Second)
	}()
	e.index = x
	return e, nil
}

// IndexNow adds the id lookup indexes to collections created since the last
// pass (see idIndexer); the hub calls it once its services have created
// their collections.
func (e *Embedded) IndexNow(ctx context.Context) error { return e.index.once(ctx) }

// URI is the mongodb:// address of the embedded server.
func (e *Embedded) URI() string { return e.uri }

// Close stops the server and waits until its files are closed.
func (e *Embedded) Close() {
	e.cancel()
	e.done.Wait()
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
