package sqlite_test

import (
	"context"
	"testing"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/accounts/accountstest"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/storage/sqlite"
)

// openAccountsDB opens a fresh store for one test; when the test ends it
// checks that no statement the test ran scanned a growing table.
func openAccountsDB(t testing.TB) *sqlitedb.DB {
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

func TestAccountsContract(t *testing.T) {
	accountstest.Run(t, func(t *testing.T) accounts.Backend {
		b, err := sqlite.NewAccounts(context.Background(), openAccountsDB(t))
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}
