package sqlite_test

import (
	"context"
	"testing"

	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/storage/sqlite"
)

// openTestDB opens a fresh store for one test; when the test ends it checks
// that no statement the test ran scanned a table that grows with traffic.
func openTestDB(t testing.TB) *sqlitedb.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, sqlitedb.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.CheckPlans(ctx, sqlite.Growing()); err != nil {
			t.Error(err)
		}
		db.Close()
	})
	return db
}
