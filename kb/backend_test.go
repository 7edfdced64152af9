package kb_test

import (
	"context"
	"os"
	"testing"

	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store/storetest"
	"github.com/omnihub/hub/kb"
	"github.com/omnihub/hub/storage/mongo"
	"github.com/omnihub/hub/storage/sqlite"
)

// The service's tests run on the embedded store (SQLite), as the hub does
// by default; KB_TEST_BACKEND=mongo runs them on the MongoDB backend over
// its test stand-in instead. On SQLite, each test ends by checking that no
// statement it ran scanned a table that grows with traffic.
func init() {
	kb.OpenTestBackend = func(t testing.TB) kb.Backend {
		t.Helper()
		ctx := context.Background()
		if os.Getenv("KB_TEST_BACKEND") == "mongo" {
			b, err := mongo.NewKB(ctx, storetest.Embedded(t))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		db, err := sqlitedb.Open(ctx, sqlitedb.Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := db.CheckPlans(ctx, sqlite.Growing()); err != nil {
				t.Error(err)
			}
			_ = db.Close()
		})
		b, err := sqlite.NewKB(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}
