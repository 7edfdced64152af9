package kb

import (
	"bufio"
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"strings"
	"testing"

	"github.com/omnihub/hub/kb/search"
)

// labelled is one paraphrased customer question and the article it should
// find.
type labelled struct {
	Query    string
	Expected string // the expected article's question
	Holdout  bool
}

// holdout puts about 30% of the questions in the held-out split, chosen by a
// hash of the text rather than by hand. Ranking weights and the lexicon were
// tuned looking only at failures outside it.
func holdout(q string) bool {
	h := fnv.New32a()
	h.Write([]byte(q))
	return h.Sum32()%10 < 3
}

func loadTestSet(t testing.TB) ([]Record, []labelled) {
	t.Helper()
	recs, qs := loadSet(t, "testdata/articles.csv", "testdata/queries.txt")
	for i := range qs {
		qs[i].Holdout = holdout(qs[i].Query)
	}
	return recs, qs
}

// loadSet reads an article CSV and its labelled questions (Holdout unset).
func loadSet(t testing.TB, articles, queries string) ([]Record, []labelled) {
	t.Helper()
	f, err := os.Open(articles)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, bad, err := ParseCSV(f)
	if err != nil || len(bad) > 0 {
		t.Fatalf("parse %s: %v %v", articles, err, bad)
	}
	qf, err := os.Open(queries)
	if err != nil {
		t.Fatal(err)
	}
	defer qf.Close()
	known := map[string]bool{}
	for _, r := range recs {
		known[r.Question] = true
	}
	var qs []labelled
	cur := ""
	sc := bufio.NewScanner(qf)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, ">"):
			cur = strings.TrimSpace(line[1:])
			if !known[cur] {
				t.Fatalf("%s names unknown article %q", queries, cur)
			}
		default:
			qs = append(qs, labelled{Query: line, Expected: cur})
		}
	}
	return recs, qs
}

func docsOf(recs []Record, withSimilar bool) []search.Document {
	docs := make([]search.Document, len(recs))
	for i, r := range recs {
		docs[i] = search.Document{ID: fmt.Sprintf("a%03d", i), Question: r.Question, Answer: r.Answer, Category: r.Category, Tags: r.Tags}
		if withSimilar {
			docs[i].Similar = r.Similar
		}
	}
	return docs
}

type accuracy struct {
	n, top1, top3 int
}

func (a accuracy) String() string {
	if a.n == 0 {
		return "n=0"
	}
	return fmt.Sprintf("n=%d top1=%.1f%% top3=%.1f%%", a.n, 100*float64(a.top1)/float64(a.n), 100*float64(a.top3)/float64(a.n))
}

func (a accuracy) rate1() float64 { return float64(a.top1) / float64(a.n) }
func (a accuracy) rate3() float64 { return float64(a.top3) / float64(a.n) }

// replace indexes docs as tenant's whole article set, failing the test on
// error.
func replace(t testing.TB, idx search.Index, tenant string, docs []search.Document) {
	t.Helper()
	if err := idx.Replace(context.Background(), tenant, docs); err != nil {
		t.Fatal(err)
	}
}

// evaluate runs every labelled question through idx and returns the tuning
// and held-out accuracy. With verbose it logs tuning-split failures only.
func evaluate(t *testing.T, idx search.Index, tenant string, recs []Record, qs []labelled, verbose bool) (tune, held accuracy) {
	t.Helper()
	return evaluateFunc(t, func(q string) []string {
		hits, err := idx.Search(context.Background(), tenant, search.Query{Text: q, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(hits))
		for i, h := range hits {
			ids[i] = h.ID
		}
		return ids
	}, recs, qs, verbose)
}

// evaluateFunc is evaluate over any ranking function returning article ids
// ("a%03d" by position in recs), best first.
func evaluateFunc(t *testing.T, rank func(string) []string, recs []Record, qs []labelled, verbose bool) (tune, held accuracy) {
	t.Helper()
	id := map[string]string{}
	byID := map[string]string{}
	for i, r := range recs {
		id[r.Question] = fmt.Sprintf("a%03d", i)
		byID[fmt.Sprintf("a%03d", i)] = r.Question
	}
	for _, q := range qs {
		hits := rank(q.Query)
		acc := &tune
		if q.Holdout {
			acc = &held
		}
		acc.n++
		want := id[q.Expected]
		pos := -1
		for i, h := range hits {
			if h == want {
				pos = i
				break
			}
		}
		if pos == 0 {
			acc.top1++
		}
		if pos >= 0 && pos < 3 {
			acc.top3++
		}
		if verbose && !q.Holdout && pos != 0 {
			got := make([]string, 0, 3)
			for i, h := range hits {
				if i < 3 {
					got = append(got, byID[h])
				}
			}
			t.Logf("rank %d  %q -> want %q, got %v", pos, q.Query, q.Expected, got)
		}
	}
	return tune, held
}

// TestAccuracy measures ranking on the shipped test set: articles imported
// from CSV and paraphrased questions. "bare" strips the similar questions,
// which is how the acceptance set is run (CSV import alone); "similar" keeps
// the few similar questions the articles have.
func TestAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the segmenter")
	}
	recs, qs := loadTestSet(t)
	eng, err := search.NewEngine(search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	verbose := os.Getenv("KB_SHOW_FAILURES") != ""
	for _, mode := range []struct {
		name        string
		withSimilar bool
		// floors asserted (tuning top1/top3, held-out top1/top3)
		tune1, tune3, held1, held3 float64
	}{
		// Floors a little under the levels reached when this was written
		// (bare: tuning 90.3/99.7, held-out 83.9/94.8; similar: tuning
		// 89.5/99.7, held-out 83.9/96.1; after the 2026-11-23 widening and
		// query-coverage re-ranking, bare 90.3/99.2 and 82.6/94.2, similar
		// 89.5/99.2 and 83.2/94.8), so a regression fails the test.
		{"bare", false, 0.88, 0.98, 0.81, 0.92},
		{"similar", true, 0.87, 0.98, 0.81, 0.93},
	} {
		t.Run(mode.name, func(t *testing.T) {
			tenant := "acc-" + mode.name
			replace(t, eng, tenant, docsOf(recs, mode.withSimilar))
			tune, held := evaluate(t, eng, tenant, recs, qs, verbose && mode.name == "bare")
			t.Logf("%d articles; tuning %v; held-out %v", len(recs), tune, held)
			if tune.rate1() < mode.tune1 || tune.rate3() < mode.tune3 || held.rate1() < mode.held1 || held.rate3() < mode.held3 {
				t.Errorf("accuracy below floor: tuning %v held-out %v", tune, held)
			}
		})
	}
}
