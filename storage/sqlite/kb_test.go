package sqlite_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/kb"
	"github.com/omnihub/hub/kb/kbtest"
	"github.com/omnihub/hub/storage/sqlite"
)

// TestKBContract runs the knowledge base's contract suite on the embedded
// store, then checks that none of the statements it ran scans a table that
// grows with traffic.
func TestKBContract(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	kbtest.Run(t, func(t *testing.T) kb.Backend {
		b, err := sqlite.NewKB(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
	if err := db.CheckPlans(ctx, sqlite.Growing()); err != nil {
		t.Fatal(err)
	}
	// A second start finds the schema in place.
	if _, err := sqlite.NewKB(ctx, db); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkKBImport10k stores an import of 10,000 new articles with their
// revisions (one transaction), then reads one by question key.
func BenchmarkKBImport10k(b *testing.B) {
	ctx := store.WithTenant(context.Background(), "bench")
	db, err := sqlitedb.Open(ctx, sqlitedb.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	kbs, err := sqlite.NewKB(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		arts := make([]*kb.Article, 10000)
		revs := make([]*kb.Revision, len(arts))
		for j := range arts {
			q := fmt.Sprintf("第%d轮的问题%05d：宽带怎么交费", i, j)
			arts[j] = &kb.Article{ID: kb.ArticleID(ids.NewAt(now)), Content: kb.Content{Question: q, Similar: []string{"网费在哪交"},
				Answer: "<p>在APP或营业厅交费，" + strings.Repeat("详细说明", 40) + "</p>", Category: "宽带/费用", Tags: []string{}, Enabled: true},
				QKey: q, CreatedAt: now, UpdatedAt: now, Version: 1}
			revs[j] = &kb.Revision{ArticleID: arts[j].ID, Version: 1, Action: kb.ActionImported, At: now, Content: arts[j].Content}
		}
		if err := kbs.ImportArticles(ctx, arts, nil, revs); err != nil {
			b.Fatal(err)
		}
		if id, err := kbs.ArticleByQKey(ctx, arts[5000].QKey); err != nil || id != arts[5000].ID {
			b.Fatalf("by question key: %q %v", id, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/import")
}

// BenchmarkKBArticle reads articles by id among 10,000 (what every edit,
// feedback and the agents' article view do).
func BenchmarkKBArticle(b *testing.B) {
	ctx := store.WithTenant(context.Background(), "bench")
	db, err := sqlitedb.Open(ctx, sqlitedb.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	kbs, err := sqlite.NewKB(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	arts := make([]*kb.Article, 10000)
	revs := make([]*kb.Revision, len(arts))
	for j := range arts {
		q := fmt.Sprintf("问题%05d", j)
		arts[j] = &kb.Article{ID: kb.ArticleID(ids.NewAt(now)), Content: kb.Content{Question: q, Answer: "答案", Similar: []string{}, Tags: []string{}, Enabled: true},
			QKey: q, CreatedAt: now, UpdatedAt: now, Version: 1}
		revs[j] = &kb.Revision{ArticleID: arts[j].ID, Version: 1, Action: kb.ActionImported, At: now, Content: arts[j].Content}
	}
	if err := kbs.ImportArticles(ctx, arts, nil, revs); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := kbs.Article(ctx, arts[i%len(arts)].ID); err != nil {
			b.Fatal(err)
		}
	}
}
