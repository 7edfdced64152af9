package sqlitedb_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/omnihub/hub/internal/sqlitedb"
)

// BenchmarkConcurrentWrites: many goroutines each write one row and wait for
// its durable commit (synchronous=FULL), as concurrent conversations append
// messages. Group commit is what makes this more than the disk's fsyncs per
// second. Reports rows/s.
func BenchmarkConcurrentWrites(b *testing.B) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, sqlitedb.Options{Dir: b.TempDir(), Sync: os.Getenv("BENCH_SYNC")})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, sqlitedb.Migration{Domain: "bench", Steps: []string{
		`CREATE TABLE m (tenant TEXT NOT NULL, conv TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (tenant, conv, seq)) WITHOUT ROWID`,
	}}); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	// 1,000 conversations writing at once (500 x GOMAXPROCS on 2 cores).
	b.SetParallelism(max(1, 1000/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		conv := fmt.Sprintf("c%d", n.Add(1))
		seq := 0
		for pb.Next() {
			seq++
			if err := db.Write(ctx, func(tx *sqlitedb.Tx) error {
				_, err := tx.Exec("INSERT INTO m(tenant, conv, seq, body) VALUES('t', ?, ?, ?)", conv, seq, "您好，我家的宽带从昨天晚上开始就连不上了，能帮忙看一下吗？")
				return err
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	st := db.Stats()
	b.ReportMetric(float64(st.Writes)/float64(max(st.Commits, 1)), "writes/commit")
}
