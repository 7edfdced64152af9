// Package sqlitedb is the embedded store's engine: one SQLite file in the
// data folder (modernc.org/sqlite, no cgo), in WAL mode, with one writer
// that commits concurrent writes together (group commit) and a pool of
// readers that never wait behind it.
//
// The domain backends (package storage/sqlite) own their tables and their
// SQL; this package gives them:
//
//   - [DB.Write]: run a function inside the next write transaction; it
//     returns once that transaction is durable. Writes that arrive while a
//     transaction commits are coalesced into the next one, each inside its own
//     savepoint, so one failing write does not undo another.
//   - [DB.Query], [DB.QueryRow]: reads on the read pool, prepared once.
//   - [DB.Migrate]: each domain's schema steps, applied once, in order.
//   - [DB.Statements] and [DB.CheckPlans]: every statement the hub ran,
//     and a check that none of them scans a table that grows with traffic.
//   - [DB.Backup]: an online copy of the whole store.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// FileName is the store's file inside the data folder.
const FileName = "hub.db"

// applicationID marks a SQLite file as the hub's store ("HUB1").
const applicationID = 0x48554231

// Layout is the version of the file's layout as a whole. A file with a
// newer layout (written by a newer hub) is refused, never rewritten.
const Layout = 1

// Options configure Open.
type Options struct {
	// Dir is the data folder; the store is Dir/hub.db.
	Dir string
	// Sync is "full" (default: every commit is on disk before it is
	// acknowledged, it survives a power cut) or "normal" (survives a crash of
	// the hub, not of the machine).
	Sync string
	// Readers bounds the read pool (default 8).
	Readers int
	// MaxBatch bounds how many writes share one transaction (default 1024).
	MaxBatch int
	// WALLimit is the write-ahead log's length in pages beyond which the
	// writer finishes a checkpoint so that the log starts over (default
	// 65,536 pages: 256 MB; a smaller log starts over more often, and
	// each time the writer pauses to copy what is left).
	WALLimit int
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Registerer receives the store's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// DB is an open store.
type DB struct {
	path   string
	w      *sql.DB   // one connection: the writer
	wc     *sql.Conn // that connection, held by the writer for good
	r      *sql.DB   // readers, query_only
	ck     *sql.DB   // the checkpointer's connection
	ckDone chan struct{}
	log    *slog.Logger
	reqs   chan *writeReq
	stop   chan struct{}
	done   chan struct{}
	max    int
	wstmts sync.Map // query -> *sql.Stmt on w
	rstmts sync.Map // query -> *sql.Stmt on r
	m      *metrics
	unlock func()

	closeOnce sync.Once
	closeErr  error

	commits, writes atomic.Int64
	// walFull asks the writer to finish a checkpoint between two
	// transactions (see checkpointer).
	walFull     atomic.Bool
	walLimit    int64
	walRestarts atomic.Int64
}

// walLimitFrames is the default WALLimit. A checkpoint on its own
// connection never catches up with a writer that never pauses: the WAL
// grew to 32 GB in a 13-minute seed before the writer finished them.
const walLimitFrames = 65536

// Stats counts what the writer did since Open.
type Stats struct {
	Commits int64 // transactions committed or rolled back
	Writes  int64 // writes (Write calls) they carried
	// WALRestarts counts the checkpoints the writer finished because the
	// write-ahead log had grown past Options.WALLimit.
	WALRestarts int64
}

// Stats returns the writer's counts.
func (d *DB) Stats() Stats {
	return Stats{Commits: d.commits.Load(), Writes: d.writes.Load(), WALRestarts: d.walRestarts.Load()}
}

type writeReq struct {
	ctx context.Context
	fn  func(*Tx) error
	err chan error
}

// gatherYields is how many times the writer yields to let more writes
// queue before it commits a batch.
const gatherYields = 2

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("store closed")

// LayoutError says why a data folder was refused at start.
type LayoutError struct{ Path, Reason string }

func (e *LayoutError) Error() string {
	return fmt.Sprintf("data folder refused: %s: %s", e.Path, e.Reason)
}

// Open opens (or creates) Dir/hub.db. A data folder from an older
// incompatible layout is refused with a *LayoutError.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Readers <= 0 {
		o.Readers = 8
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.WALLimit <= 0 {
		o.WALLimit = walLimitFrames
	}
	switch strings.ToLower(o.Sync) {
	case "", "full", "normal":
	default:
		return nil, fmt.Errorf("embedded_sync %q: want full or normal", o.Sync)
	}
	if err := refuseOldLayouts(o.Dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, err
	}
	unlock, err := Lock(o.Dir)
	if err != nil {
		return nil, err
	}
	d, err := open(ctx, o)
	if err != nil {
		unlock()
		return nil, err
	}
	d.unlock = unlock
	return d, nil
}

func open(ctx context.Context, o Options) (*DB, error) {
	sync := "FULL"
	if strings.EqualFold(o.Sync, "normal") {
		sync = "NORMAL"
	}
	path := filepath.Join(o.Dir, FileName)
	dsn := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+sync+")")
		q.Add("_pragma", "foreign_keys(0)")
		for _, e := range extra {
			q.Add("_pragma", e)
		}
		return "file:" + path + "?" + q.Encode()
	}
	// The writer keeps 64 MB of pages in its cache, each reader 16 MB.
	// Readers map the file (as far as SQLite's build allows: 2 GB): a
	// reader's cache is dropped whenever another transaction committed, and
	// mapped pages are read again without a syscall or a copy. The writer
	// maps 256 MB.
	// Checkpoints (copying the WAL back into the file) run on a connection
	// of their own (see checkpointer), not in the writer's commits.
	// Statement journals and savepoints (each write function's undo) stay
	// in memory: they never need to survive a crash, and on disk they
	// cost as many writes as the WAL itself.
	w, err := sql.Open("sqlite", dsn("cache_size(-65536)", "mmap_size(268435456)", "wal_autocheckpoint(0)", "temp_store(MEMORY)",
		fmt.Sprintf("journal_size_limit(%d)", o.WALLimit*4096)))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	if err := checkLayout(ctx, w, path); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn("query_only(1)", "cache_size(-16384)", "mmap_size(1099511627776)"))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(o.Readers)
	r.SetMaxIdleConns(o.Readers)
	r.SetConnMaxIdleTime(time.Minute)
	wc, err := w.Conn(ctx)
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	ck, err := sql.Open("sqlite", dsn("wal_autocheckpoint(0)"))
	if err != nil {
		wc.Close()
		w.Close()
		r.Close()
		return nil, err
	}
	ck.SetMaxOpenConns(1)
	d := &DB{path: path, w: w, wc: wc, r: r, ck: ck, log: o.Logger, reqs: make(chan *writeReq, 4*o.MaxBatch),
		stop: make(chan struct{}), done: make(chan struct{}), max: o.MaxBatch, m: newMetrics(o.Registerer), walLimit: int64(o.WALLimit)}
	d.ckDone = make(chan struct{})
	go d.writer()
	go d.checkpointer()
	return d, nil
}

// refuseOldLayouts refuses a data folder that holds only the store of an
// older hub (FerretDB over SQLite, in Dir/db): it is never converted
// silently. A folder that has this store's file too was started by this
// version already; what is left in db is not read.
func refuseOldLayouts(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		return nil
	}
	old := filepath.Join(dir, "db")
	entries, err := os.ReadDir(old)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sqlite") {
			return &LayoutError{Path: old, Reason: "it holds the store of an older hub (FerretDB layout), which this version does not read. " +
				"Start this version with another data_dir, or move that folder away; its data is not converted"}
		}
	}
	return nil
}

func checkLayout(ctx context.Context, w *sql.DB, path string) error {
	var app, ver int64
	if err := w.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if err := w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&ver); err != nil {
		return err
	}
	if app == 0 {
		var n int
		if err := w.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &LayoutError{Path: path, Reason: "it is a SQLite file that the hub did not create"}
		}
		if _, err := w.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
			return err
		}
		if _, err := w.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", Layout)); err != nil {
			return err
		}
		_, err := w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS hub_schema (domain TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID`)
		return err
	}
	if app != applicationID {
		return &LayoutError{Path: path, Reason: fmt.Sprintf("it is not a hub store (application_id %#x)", app)}
	}
	if ver > Layout {
		return &LayoutError{Path: path, Reason: fmt.Sprintf("it was written by a newer hub (layout %d, this hub reads %d)", ver, Layout)}
	}
	return nil
}

// Path is the store file.
func (d *DB) Path() string { return d.path }

// Close stops the writer after the writes already queued and closes the
// file.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		close(d.stop)
		<-d.done
		<-d.ckDone
		// A last full checkpoint leaves the file whole without its WAL.
		_, _ = d.ck.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		d.closeErr = errors.Join(d.wc.Close(), d.r.Close(), d.ck.Close(), d.w.Close())
		if d.unlock != nil {
			d.unlock()
		}
	})
	return d.closeErr
}

// Write runs fn inside the next write transaction and returns when that
// transaction has committed (or fn failed: then nothing fn wrote is kept,
// and other writes of the same transaction are not affected). fn runs on the
// writer goroutine: it must only use tx (no goroutines, no other I/O), must
// not keep it, and must be safe to run twice: when another write of the
// same transaction fails, the transaction is redone, so fn must set (not
// accumulate) whatever it hands back through its closure.
func (d *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	if t, ok := ctx.Value(txKey{}).(*Tx); ok && t.d == d {
		// Already inside a write of this store (fn called from another
		// write's function): join its transaction, in a savepoint of its own.
		return t.nested(fn)
	}
	req := &writeReq{ctx: ctx, fn: fn, err: make(chan error, 1)}
	select {
	case d.reqs <- req:
	case <-d.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the write is done or refused by the writer: waiting for
	// it (not for ctx) is what makes "acknowledged" mean "durable".
	return <-req.err
}

func (d *DB) writer() {
	defer close(d.done)
	batch := make([]*writeReq, 0, d.max)
	for {
		var first *writeReq
		select {
		case first = <-d.reqs:
			if d.walFull.Swap(false) {
				d.restartWAL()
			}
		case <-d.stop:
			// Drain what was queued before Close.
			for {
				select {
				case r := <-d.reqs:
					batch = append(batch[:0], r)
					d.commit(batch)
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
		// Gather: take what is queued; while more keeps arriving, let the
		// writers just acknowledged queue their next write (a yield, not a
		// timer: an idle hub commits a lone write at once).
		for yields := 0; len(batch) < d.max; {
			select {
			case r := <-d.reqs:
				batch = append(batch, r)
				continue
			default:
			}
			if yields == gatherYields {
				break
			}
			yields++
			runtime.Gosched()
		}
		d.commit(batch)
	}
}

// commit runs one batch as one transaction. The writes run one after the
// other with no savepoint (a savepoint costs more than the write itself);
// if one fails, the transaction is rolled back and the batch runs again
// with each write in its own savepoint, so a failed write keeps nothing and
// undoes nothing of the others. The writer holds its connection for good,
// so the transaction is driven by plain statements on it.
func (d *DB) commit(batch []*writeReq) {
	start := time.Now()
	errs, cerr := d.runBatch(batch, false)
	if cerr == nil && len(batch) > 1 && hasError(errs) {
		// Redo with savepoints: only the failing writes are left out.
		d.m.redo.Inc()
		errs, cerr = d.runBatch(batch, true)
	}
	d.m.observe(len(batch), time.Since(start), cerr)
	d.commits.Add(1)
	d.writes.Add(int64(len(batch)))
	for i, r := range batch {
		if errs[i] != nil {
			r.err <- errs[i]
		} else {
			r.err <- cerr
		}
	}
}

func hasError(errs []error) bool {
	for _, e := range errs {
		if e != nil {
			return true
		}
	}
	return false
}

// runBatch runs the batch in one transaction. Without savepoints it stops
// at the first failing write, rolls back and reports the errors so far
// (the caller redoes the batch with savepoints). It commits when no write
// failed, or (with savepoints) when at least one succeeded.
func (d *DB) runBatch(batch []*writeReq, savepoints bool) ([]error, error) {
	ctx := context.Background()
	errs := make([]error, len(batch))
	if _, err := d.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("begin: %w", err)
		}
		return errs, nil
	}
	t := &Tx{d: d}
	ok := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		t.ctx = context.WithValue(r.ctx, txKey{}, t)
		if !savepoints {
			if errs[i] = run(r.fn, t); errs[i] != nil {
				break
			}
			ok++
			continue
		}
		if _, err := d.exec(ctx, "SAVEPOINT w"); err != nil {
			errs[i] = err
			continue
		}
		if errs[i] = run(r.fn, t); errs[i] != nil {
			if _, err := d.exec(ctx, "ROLLBACK TO w"); err != nil {
				d.log.Error("store: rollback to savepoint failed", "err", err)
			}
		} else {
			ok++
		}
		if _, err := d.exec(ctx, "RELEASE w"); err != nil {
			errs[i] = errors.Join(errs[i], err)
		}
	}
	if hasError(errs) && (!savepoints || ok == 0) {
		if _, err := d.exec(ctx, "ROLLBACK"); err != nil {
			d.log.Error("store: rollback failed", "err", err)
		}
		return errs, nil
	}
	if _, err := d.exec(ctx, "COMMIT"); err != nil {
		if _, rerr := d.exec(ctx, "ROLLBACK"); rerr != nil {
			d.log.Error("store: rollback after a failed commit", "err", rerr)
		}
		return errs, fmt.Errorf("commit: %w", err)
	}
	return errs, nil
}

func (d *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := d.wstmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func run(fn func(*Tx) error, t *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store write panicked: %v", p)
		}
	}()
	return fn(t)
}

// restartWAL checkpoints on the writer's connection, between two
// transactions: only the frames the checkpointer has not copied yet are
// left, and with no write running the copy completes, so the next write
// starts the WAL over from its beginning (and truncates the file to the
// journal size limit).
func (d *DB) restartWAL() {
	start := time.Now()
	if _, err := d.wc.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		d.log.Warn("store: checkpoint by the writer", "err", err)
	}
	d.walRestarts.Add(1)
	d.m.walRestart.Observe(time.Since(start).Seconds())
}

// checkpointer copies the WAL back into the store file every 500 ms when
// there were commits, on its own connection (PASSIVE: it never blocks the
// writer or readers); once the WAL is fully copied SQLite starts it over.
func (d *DB) checkpointer() {
	defer close(d.ckDone)
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	last := int64(0)
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		if n := d.commits.Load(); n != last {
			last = n
			var busy, frames, copied int64
			start := time.Now()
			if err := d.ck.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
				d.log.Warn("store: checkpoint", "err", err)
				continue
			}
			d.m.checkpoint.Observe(time.Since(start).Seconds())
			if frames > d.walLimit {
				d.walFull.Store(true)
			}
		}
	}
}

// Tx is the write transaction a [DB.Write] function runs in.
type Tx struct {
	d     *DB
	ctx   context.Context
	depth int
}

type txKey struct{}

// Context is the context of the write being run. It carries the
// transaction: [DB.Write] called with it joins this transaction, and
// [DB.Query] and [DB.QueryRow] called with it read inside it (seeing its
// writes). That is how one operation spanning several domains (a
// conversation start: contact, conversation, routing task and event) is one
// transaction.
func (t *Tx) Context() context.Context { return t.ctx }

func (t *Tx) nested(fn func(*Tx) error) error {
	t.depth++
	sp := fmt.Sprintf("n%d", t.depth)
	defer func() { t.depth-- }()
	if _, err := t.d.wc.ExecContext(t.ctx, "SAVEPOINT "+sp); err != nil {
		return err
	}
	if err := run(fn, t); err != nil {
		if _, rerr := t.d.wc.ExecContext(t.ctx, "ROLLBACK TO "+sp); rerr != nil {
			t.d.log.Error("store: rollback to savepoint failed", "err", rerr)
		}
		_, _ = t.d.wc.ExecContext(t.ctx, "RELEASE "+sp)
		return err
	}
	_, err := t.d.wc.ExecContext(t.ctx, "RELEASE "+sp)
	return err
}

// Exec runs a statement (prepared once per query text).
func (t *Tx) Exec(query string, args ...any) (sql.Result, error) {
	return t.d.exec(t.ctx, query, args...)
}

// Query reads inside the transaction (it sees the transaction's writes).
// The rows must be closed before the function returns.
func (t *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	st, err := t.d.wstmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.ctx, args...)
}

// QueryRow reads one row inside the transaction.
func (t *Tx) QueryRow(query string, args ...any) *sql.Row {
	st, err := t.d.wstmt(query)
	if err != nil {
		// database/sql cannot build a *sql.Row carrying an error; running
		// the text directly reports the same error on Scan.
		return t.d.wc.QueryRowContext(t.ctx, query, args...)
	}
	return st.QueryRowContext(t.ctx, args...)
}

func (d *DB) wstmt(query string) (*sql.Stmt, error) {
	if s, ok := d.wstmts.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	// Only the writer goroutine prepares on wc.
	s, err := d.wc.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", query, err)
	}
	d.wstmts.Store(query, s)
	return s, nil
}

func (d *DB) rstmt(query string) (*sql.Stmt, error) {
	if s, ok := d.rstmts.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := d.r.Prepare(query)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", query, err)
	}
	if old, loaded := d.rstmts.LoadOrStore(query, s); loaded {
		s.Close()
		return old.(*sql.Stmt), nil
	}
	return s, nil
}

// Query reads on the read pool; it sees every committed write and never
// waits for the writer.
func (d *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if t, ok := ctx.Value(txKey{}).(*Tx); ok && t.d == d {
		return t.Query(query, args...)
	}
	st, err := d.rstmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRow reads one row on the read pool.
func (d *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if t, ok := ctx.Value(txKey{}).(*Tx); ok && t.d == d {
		return t.QueryRow(query, args...)
	}
	st, err := d.rstmt(query)
	if err != nil {
		return d.r.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// Migration is one domain's schema, as ordered steps; a step once shipped is
// never edited, only followed by new ones.
type Migration struct {
	Domain string
	Steps  []string
}

// Migrate applies the steps of m not applied yet, each in its own
// transaction with the new version recorded.
func (d *DB) Migrate(ctx context.Context, m Migration) error {
	return d.Write(ctx, func(tx *Tx) error {
		var v int
		err := tx.QueryRow("SELECT version FROM hub_schema WHERE domain = ?", m.Domain).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if v > len(m.Steps) {
			return &LayoutError{Path: d.path, Reason: fmt.Sprintf("the %s tables were written by a newer hub (version %d, this hub knows %d)", m.Domain, v, len(m.Steps))}
		}
		for i := v; i < len(m.Steps); i++ {
			if _, err := tx.d.wc.ExecContext(tx.ctx, m.Steps[i]); err != nil {
				return fmt.Errorf("%s schema step %d: %w", m.Domain, i+1, err)
			}
		}
		if v == len(m.Steps) {
			return nil
		}
		_, err = tx.Exec("INSERT INTO hub_schema(domain, version) VALUES(?, ?) ON CONFLICT(domain) DO UPDATE SET version = excluded.version", m.Domain, len(m.Steps))
		return err
	})
}

// Statements lists every statement text run so far (reads and writes),
// sorted.
func (d *DB) Statements() []string {
	set := map[string]bool{}
	d.wstmts.Range(func(k, _ any) bool { set[k.(string)] = true; return true })
	d.rstmts.Range(func(k, _ any) bool { set[k.(string)] = true; return true })
	out := make([]string, 0, len(set))
	for q := range set {
		out = append(out, q)
	}
	sort.Strings(out)
	return out
}

// CheckPlans runs EXPLAIN QUERY PLAN for every statement run so far and
// reports each that scans one of the tables in growing (tables whose size
// grows with traffic) instead of searching it through an index.
func (d *DB) CheckPlans(ctx context.Context, growing []string) error {
	grows := map[string]bool{}
	for _, g := range growing {
		grows[g] = true
	}
	var bad []string
	for _, q := range d.Statements() {
		up := strings.ToUpper(strings.TrimSpace(q))
		if strings.HasPrefix(up, "PRAGMA") || strings.HasPrefix(up, "SAVEPOINT") || strings.HasPrefix(up, "RELEASE") || strings.HasPrefix(up, "ROLLBACK") || strings.HasPrefix(up, "CREATE") {
			continue
		}
		plan, err := d.Plan(ctx, q)
		if err != nil {
			return err
		}
		for _, line := range plan {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "SCAN" && grows[f[1]] {
				bad = append(bad, fmt.Sprintf("%s\n    plan: %s", q, strings.Join(plan, " | ")))
				break
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d statements scan a table that grows with traffic:\n  %s", len(bad), strings.Join(bad, "\n  "))
	}
	return nil
}

// Plan returns the lines of EXPLAIN QUERY PLAN for q (parameters unbound).
func (d *DB) Plan(ctx context.Context, q string) ([]string, error) {
	// Parameters are bound to NULL: the plan depends on the statement's
	// shape, not its values. Statements use "?" placeholders only.
	args := make([]any, placeholders(q))
	rows, err := d.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		return nil, fmt.Errorf("explain %q: %w", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		out = append(out, detail)
	}
	return out, rows.Err()
}

// placeholders counts the "?" of q outside string literals.
func placeholders(q string) int {
	n, quoted := 0, false
	for _, c := range q {
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
		}
	}
	return n
}

// Backup writes a consistent copy of the whole store to file while the hub
// runs (writes continue meanwhile). file must not exist.
func (d *DB) Backup(ctx context.Context, file string) error {
	return Backup(ctx, d.path, file)
}

// Backup copies the store at src (a hub.db, possibly in use by a running
// hub) to dst, consistently, with VACUUM INTO. dst must not exist.
func Backup(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("backup: %s already exists", dst)
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("backup to %s: %w", dst, err)
	}
	return nil
}

// Restore puts the backup file in place as dir's store. The hub must be
// stopped (the data folder's lock is taken, so a running hub makes it fail
// with ErrInUse). A store already there is kept beside it, renamed
// hub.db.before-restore-<time>, never deleted.
func Restore(ctx context.Context, dir, file string) (kept string, err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	unlock, err := Lock(dir)
	if err != nil {
		return "", err
	}
	defer unlock()
	if err := checkBackup(ctx, file); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, FileName)
	if _, err := os.Stat(dst); err == nil {
		// Fold the old store's WAL into it so the kept copy is whole.
		if db, err := sql.Open("sqlite", "file:"+dst); err == nil {
			_, _ = db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
			db.Close()
		}
		kept = dst + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(dst, kept); err != nil {
			return "", err
		}
	}
	for _, ext := range []string{"-wal", "-shm"} {
		_ = os.Remove(dst + ext)
	}
	tmp := dst + ".restoring"
	if err := copyFile(file, tmp); err != nil {
		_ = os.Remove(tmp)
		return kept, err
	}
	return kept, os.Rename(tmp, dst)
}

// checkBackup makes sure file is a hub store this hub can read.
func checkBackup(ctx context.Context, file string) error {
	if _, err := os.Stat(file); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var app, ver int64
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&ver); err != nil {
		return err
	}
	if app != applicationID {
		return &LayoutError{Path: file, Reason: "it is not a backup of a hub store"}
	}
	if ver > Layout {
		return &LayoutError{Path: file, Reason: fmt.Sprintf("it was written by a newer hub (layout %d, this hub reads %d)", ver, Layout)}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
