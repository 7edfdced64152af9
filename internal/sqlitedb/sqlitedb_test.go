package sqlitedb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/omnihub/hub/internal/sqlitedb"
)

func open(t *testing.T, dir string) *sqlitedb.DB {
	t.Helper()
	db, err := sqlitedb.Open(context.Background(), sqlitedb.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var schema = sqlitedb.Migration{Domain: "test", Steps: []string{
	`CREATE TABLE items (tenant TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID`,
	`CREATE INDEX items_owner ON items (tenant, owner)`,
}}

// TestGroupCommitKeepsEachWriteApart: many concurrent writes share
// transactions; a failing one leaves nothing behind and does not undo the
// others; every acknowledged write is read back, also after reopening.
func TestGroupCommitKeepsEachWriteApart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db := open(t, dir)
	if err := db.Migrate(ctx, schema); err != nil {
		t.Fatal(err)
	}
	const n = 400
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Write(ctx, func(tx *sqlitedb.Tx) error {
				if _, err := tx.Exec("INSERT INTO items(tenant, id, owner, n) VALUES('t', ?, 'o', ?)", string(rune('a'+i%26))+strings.Repeat("x", i), i); err != nil {
					return err
				}
				if i%10 == 0 {
					return errors.New("refused")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	want := 0
	for i, err := range errs {
		if i%10 == 0 {
			if err == nil || err.Error() != "refused" {
				t.Fatalf("write %d: %v, want refused", i, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		want++
	}
	count := func(db *sqlitedb.DB) int {
		var c int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM items WHERE tenant = ? AND owner = ?", "t", "o").Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got := count(db); got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	db.Close()
	db2 := open(t, dir)
	if err := db2.Migrate(ctx, schema); err != nil {
		t.Fatal(err)
	}
	if got := count(db2); got != want {
		t.Fatalf("after reopening: %d rows, want %d", got, want)
	}
	// The plan check sees the statements run and accepts indexed ones...
	if err := db2.CheckPlans(ctx, []string{"items"}); err != nil {
		t.Fatal(err)
	}
	// ...and names a scan.
	var c int
	_ = db2.QueryRow(ctx, "SELECT count(*) FROM items WHERE n > ?", 3).Scan(&c)
	err := db2.CheckPlans(ctx, []string{"items"})
	if err == nil || !strings.Contains(err.Error(), "n > ?") {
		t.Fatalf("plan check missed a scan: %v", err)
	}
}

// TestLayoutsRefused: an older hub's data folder, a foreign SQLite file and
// a newer layout are refused with a message, and left as they were.
func TestLayoutsRefused(t *testing.T) {
	ctx := context.Background()
	old := t.TempDir()
	if err := os.MkdirAll(filepath.Join(old, "db"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old, "db", "hub.sqlite"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := sqlitedb.Open(ctx, sqlitedb.Options{Dir: old})
	var le *sqlitedb.LayoutError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "older hub") {
		t.Fatalf("older layout: %v", err)
	}
	if _, err := os.Stat(filepath.Join(old, sqlitedb.FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the older folder got a new store file: %v", err)
	}

	foreign := t.TempDir()
	f, err := sql.Open("sqlite", filepath.Join(foreign, sqlitedb.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Exec("CREATE TABLE x (a)"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := sqlitedb.Open(ctx, sqlitedb.Options{Dir: foreign}); !errors.As(err, &le) {
		t.Fatalf("foreign file: %v", err)
	}

	newer := t.TempDir()
	db := open(t, newer)
	if err := db.Migrate(ctx, schema); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open(t, newer)
	if err := db.Migrate(ctx, sqlitedb.Migration{Domain: "test", Steps: schema.Steps[:1]}); !errors.As(err, &le) {
		t.Fatalf("newer domain schema: %v", err)
	}
}

// TestBackupWhileWriting: a backup taken while writes go on opens as a
// store holding a consistent prefix of them.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	db := open(t, t.TempDir())
	if err := db.Migrate(ctx, schema); err != nil {
		t.Fatal(err)
	}
	write := func(i int) error {
		return db.Write(ctx, func(tx *sqlitedb.Tx) error {
			_, err := tx.Exec("INSERT INTO items(tenant, id, owner, n) VALUES('t', ?, 'o', ?)", strings.Repeat("y", i+1), i)
			return err
		})
	}
	for i := range 50 {
		if err := write(i); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 50; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := write(i); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	dst := filepath.Join(t.TempDir(), "copy")
	if err := os.MkdirAll(dst, 0o750); err != nil {
		t.Fatal(err)
	}
	err := db.Backup(ctx, filepath.Join(dst, sqlitedb.FileName))
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	cp := open(t, dst)
	var c, maxN int
	if err := cp.QueryRow(ctx, "SELECT count(*), max(n) FROM items WHERE tenant = 't'").Scan(&c, &maxN); err != nil {
		t.Fatal(err)
	}
	if c < 50 || c != maxN+1 {
		t.Fatalf("backup holds %d rows up to n=%d: not a consistent prefix", c, maxN)
	}
}

// TestNestedWritesShareOneTransaction: a write called from inside another
// write's function joins its transaction; reads with its context see its
// writes; a failing inner write undoes only itself.
func TestNestedWritesShareOneTransaction(t *testing.T) {
	ctx := context.Background()
	db := open(t, t.TempDir())
	if err := db.Migrate(ctx, schema); err != nil {
		t.Fatal(err)
	}
	ins := func(ctx context.Context, id string) error {
		return db.Write(ctx, func(tx *sqlitedb.Tx) error {
			_, err := tx.Exec("INSERT INTO items(tenant, id, owner, n) VALUES('t', ?, 'o', 1)", id)
			return err
		})
	}
	err := db.Write(ctx, func(tx *sqlitedb.Tx) error {
		if err := ins(tx.Context(), "a"); err != nil {
			return err
		}
		if err := ins(tx.Context(), "a"); err == nil {
			return errors.New("duplicate accepted")
		}
		var c int
		if err := db.QueryRow(tx.Context(), "SELECT count(*) FROM items WHERE tenant = 't' AND owner = 'o'").Scan(&c); err != nil || c != 1 {
			return fmt.Errorf("inside the write: %d rows, %v", c, err)
		}
		return ins(tx.Context(), "b")
	})
	if err != nil {
		t.Fatal(err)
	}
	var c int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM items WHERE tenant = 't' AND owner = 'o'").Scan(&c); err != nil || c != 2 {
		t.Fatalf("after: %d rows, %v", c, err)
	}
}

// TestOneHubPerDataFolder: a second open of the same data folder is
// refused while the first holds it, and allowed after it closed.
func TestOneHubPerDataFolder(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir)
	if _, err := sqlitedb.Open(context.Background(), sqlitedb.Options{Dir: dir}); !errors.Is(err, sqlitedb.ErrInUse) {
		t.Fatalf("second open: %v, want ErrInUse", err)
	}
	db.Close()
	open(t, dir)
}

// TestWALStartsOverUnderSustainedWrites: writers that never pause keep the
// write-ahead log bounded. The checkpointer alone never copies the whole
// log while writes keep coming, so it never starts over (a seed grew it to
// 32 GB); past the limit the writer finishes the copy between two
// transactions and the log is reused from its beginning.
func TestWALStartsOverUnderSustainedWrites(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	const limit = 256 // pages: 1 MB
	db, err := sqlitedb.Open(ctx, sqlitedb.Options{Dir: dir, Sync: "normal", WALLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, schema); err != nil {
		t.Fatal(err)
	}
	// 16 writers, each row about 4 KB (a page each), until the writer has
	// started the log over twice; 64,000 rows (about 250 MB) without that
	// fails.
	var written sync.WaitGroup
	var n, restartsSeen int64
	var mu sync.Mutex
	stop := make(chan struct{})
	fill := strings.Repeat("话", 1300)
	for w := range 16 {
		written.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				n++
				k := n
				mu.Unlock()
				if k > 64000 {
					return
				}
				err := db.Write(ctx, func(tx *sqlitedb.Tx) error {
					_, err := tx.Exec(`INSERT INTO items (tenant, id, owner, n) VALUES ('t', ?, ?, ?)`, fmt.Sprint(w, "-", i), fill, k)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if db.Stats().WALRestarts >= 2 {
					mu.Lock()
					if restartsSeen == 0 {
						restartsSeen = k
						close(stop)
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	written.Wait()
	if restartsSeen == 0 {
		t.Fatalf("%d rows of a page each written and the log never started over (%d restarts)", n, db.Stats().WALRestarts)
	}
	// The log file was cut back to the limit when it started over; it
	// holds at most what was written since.
	fi, err := os.Stat(filepath.Join(dir, sqlitedb.FileName+"-wal"))
	if err != nil {
		t.Fatal(err)
	}
	if whole := n * 4096; fi.Size() >= whole {
		t.Fatalf("log file %d bytes after %d rows (%d bytes): it never started over", fi.Size(), n, whole)
	}
	t.Logf("%d rows, %d restarts, log file %d KB", n, db.Stats().WALRestarts, fi.Size()/1024)
}
