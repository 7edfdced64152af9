package store_test

import (
	"context"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/internal/store/storetest"
)

// BenchmarkFindByID10k reads documents by id from a collection of 10,000
// on the embedded store, with the id expression index in place (see
// sqliteidx.go; BENCHMARKS.md has the figure without it).
func BenchmarkFindByID10k(b *testing.B) {
	for _, indexed := range []bool{true} {
		b.Run(fmt.Sprintf("indexed=%v", indexed), func(b *testing.B) {
			db := storetest.Embedded(b)
			ctx := store.WithTenant(context.Background(), "bench")
			c := db.Collection("things")
			for i := 0; i < 10000; i += 500 {
				docs := make([]any, 500)
				for j := range docs {
					docs[j] = bson.M{"_id": fmt.Sprintf("id-%06d", i+j), "n": i + j, "text": "一些内容"}
				}
				if err := c.InsertMany(ctx, docs); err != nil {
					b.Fatal(err)
				}
			}
			if err := db.Optimize(ctx); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			var out bson.M
			for i := 0; i < b.N; i++ {
				if err := c.FindOne(ctx, bson.M{"_id": fmt.Sprintf("id-%06d", (i*7919)%10000)}, &out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}
