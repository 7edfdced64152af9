package search

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/omnihub/hub/kb/zh"
)

// TestExplain prints the query analysis and the leading candidates' scores
// per field for the queries in KB_EXPLAIN (separated by "|"), over the
// articles of KB_EXPLAIN_SET (default ../testdata/articles2.csv). A tuning
// tool; skipped otherwise.
func TestExplain(t *testing.T) {
	spec := os.Getenv("KB_EXPLAIN")
	if spec == "" {
		t.Skip("set KB_EXPLAIN")
	}
	path := os.Getenv("KB_EXPLAIN_SET")
	if path == "" {
		path = "../testdata/articles2.csv"
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var docs []Document
	for i, r := range rows[1:] {
		d := Document{ID: fmt.Sprintf("a%03d", i), Question: r[0], Answer: r[2], Category: r[3]}
		if r[4] != "" {
			d.Tags = strings.Split(r[4], "|")
		}
		docs = append(docs, d)
	}
	eng, err := NewEngine(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.Replace(context.Background(), "x", docs); err != nil {
		t.Fatal(err)
	}
	s, _ := eng.shard("x")
	for _, q := range strings.Split(spec, "|") {
		qa := s.an.Query(q)
		t.Logf("query %q clean %q", q, qa.Clean)
		for c := zh.Channel(0); c < zh.NumChannels; c++ {
			var parts []string
			for _, tm := range qa.Channels[c] {
				parts = append(parts, fmt.Sprintf("%s:%.2f", tm.Key, tm.W))
			}
			t.Logf("  ch%d %s", c, strings.Join(parts, " "))
		}
		hits, _ := eng.Search(context.Background(), "x", Query{Text: q, Limit: 5})
		if want := os.Getenv("KB_EXPLAIN_WANT"); want != "" {
			all, _ := eng.Search(context.Background(), "x", Query{Text: q, Limit: 100})
			for i, h := range all {
				if strings.Contains(h.Question, want) && i >= 5 {
					t.Logf("  (wanted at rank %d)", i)
					hits = append(hits, h)
				}
			}
		}
		for _, h := range hits {
			t.Logf("  %.3f %s", h.Score, h.Question)
			ri := s.live[h.ID]
			r := s.revs[ri]
			for _, f := range []field{fQuestion, fAnswer, fMeta} {
				var parts []string
				var as []*zh.Analysis
				if f == fQuestion {
					for i := range r.ana.Q {
						as = append(as, &r.ana.Q[i])
					}
				} else if f == fAnswer {
					as = append(as, &r.ana.A)
				} else {
					as = append(as, &r.ana.M)
				}
				for _, a := range as {
					for c := zh.Channel(0); c < zh.NumChannels; c++ {
						have := map[string]bool{}
						for _, tm := range a.Channels[c] {
							have[tm.Key] = true
						}
						for _, tm := range qa.Channels[c] {
							if have[tm.Key] {
								parts = append(parts, fmt.Sprintf("%d:%s", c, tm.Key))
							}
						}
					}
				}
				t.Logf("      f%d %s", f, strings.Join(parts, " "))
			}
		}
	}
}
