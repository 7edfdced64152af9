package kb

import (
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/omnihub/hub/kb/search"
	"github.com/omnihub/hub/kb/zh"
)

// Set 2 (testdata/articles2.csv, testdata/queries2.txt) is a second,
// independently written test set that mimics the acceptance set: articles
// across banking, credit cards, loans, insurance, utilities, broadband, cable
// TV and IPTV, mobile telecom, e-commerce and logistics, imported without
// similar questions, and customer questions written as customers type them.
//
// It is split by article, not by question: the questions of about half the
// articles (the "diagnosis" half) may be looked at when a failure needs
// explaining; the other half ("measurement") is only ever counted, never
// shown, so lexicon entries cannot be fitted to its wording.
func measurementArticle(question string) bool {
	h := fnv.New32a()
	h.Write([]byte("set2:" + question))
	return h.Sum32()%2 == 0
}

func loadSet2(t testing.TB) ([]Record, []labelled) {
	t.Helper()
	recs, qs := loadSet(t, "testdata/articles2.csv", "testdata/queries2.txt")
	for i := range qs {
		qs[i].Holdout = measurementArticle(qs[i].Expected)
	}
	return recs, qs
}

// TestAccuracySet2 reports ranking accuracy on set 2 (acceptance condition:
// CSV import alone, no similar questions) next to the plain character-bigram
// TF-IDF reference. KB_SHOW_FAILURES=1 logs failures of the diagnosis half
// only.
func TestAccuracySet2(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the segmenter")
	}
	recs, qs := loadSet2(t)
	eng, err := search.NewEngine(search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	replace(t, eng, "acc2", docsOf(recs, false))
	diag, meas := evaluate(t, eng, "acc2", recs, qs, os.Getenv("KB_SHOW_FAILURES") != "")
	t.Logf("%d articles; engine: diagnosis %v; measurement %v", len(recs), diag, meas)
	bq := newBigramBaseline(recs, false)
	d1, m1 := evaluateFunc(t, bq.rank, recs, qs, false)
	t.Logf("bigram TF-IDF (question): diagnosis %v; measurement %v", d1, m1)
	bqa := newBigramBaseline(recs, true)
	d2, m2 := evaluateFunc(t, bqa.rank, recs, qs, false)
	t.Logf("bigram TF-IDF (question+answer): diagnosis %v; measurement %v", d2, m2)
	// Low floors: this set is for measurement, not for tuning to a number;
	// they only catch a bad regression. Levels when written (2026-11-23):
	// diagnosis 90.5/97.1, measurement 80.6/93.3; bigram TF-IDF
	// (question+answer) 68.5/83.2 and 67.8/81.8.
	if meas.rate1() < 0.75 || meas.rate3() < 0.88 || diag.rate1() < 0.85 || diag.rate3() < 0.93 {
		t.Errorf("set 2 accuracy below floor: diagnosis %v measurement %v", diag, meas)
	}
}

// TestBigramBaseline reports the plain character-bigram TF-IDF reference on
// the original test set.
func TestBigramBaseline(t *testing.T) {
	recs, qs := loadTestSet(t)
	for _, withAnswer := range []bool{false, true} {
		b := newBigramBaseline(recs, withAnswer)
		tune, held := evaluateFunc(t, b.rank, recs, qs, false)
		t.Logf("set 1 bigram TF-IDF (answer %v): tuning %v; held-out %v", withAnswer, tune, held)
	}
}

// bigramBaseline is the reference ranker: TF-IDF cosine similarity over
// overlapping character bigrams of the normalised text (Han characters and
// ASCII letters or digits, within a clause), nothing else.
type bigramBaseline struct {
	idf  map[string]float64
	docs []map[string]float64 // unit-length TF-IDF vectors
}

func bigramsOf(s string) map[string]float64 {
	out := map[string]float64{}
	for _, clause := range strings.Fields(zh.Normalize(s)) {
		rs := []rune(clause)
		for i := 0; i+1 < len(rs); i++ {
			if unicode.IsSpace(rs[i]) || unicode.IsSpace(rs[i+1]) {
				continue
			}
			out[string(rs[i:i+2])]++
		}
		if len(rs) == 1 {
			out[string(rs)]++
		}
	}
	return out
}

func newBigramBaseline(recs []Record, withAnswer bool) *bigramBaseline {
	b := &bigramBaseline{idf: map[string]float64{}}
	tfs := make([]map[string]float64, len(recs))
	for i, r := range recs {
		text := r.Question + " " + strings.Join(r.Similar, " ")
		if withAnswer {
			text += " " + r.Answer
		}
		tfs[i] = bigramsOf(text)
		for k := range tfs[i] {
			b.idf[k]++
		}
	}
	n := float64(len(recs))
	for k, df := range b.idf {
		b.idf[k] = math.Log(1 + n/df)
	}
	for _, tf := range tfs {
		b.docs = append(b.docs, b.vector(tf))
	}
	return b
}

func (b *bigramBaseline) vector(tf map[string]float64) map[string]float64 {
	v := map[string]float64{}
	var norm float64
	for k, f := range tf {
		idf, ok := b.idf[k]
		if !ok {
			continue
		}
		x := (1 + math.Log(f)) * idf
		v[k] = x
		norm += x * x
	}
	norm = math.Sqrt(norm)
	for k := range v {
		v[k] /= norm
	}
	return v
}

func (b *bigramBaseline) rank(q string) []string {
	qv := b.vector(bigramsOf(q))
	type scored struct {
		i int
		s float64
	}
	var res []scored
	for i, d := range b.docs {
		var s float64
		for k, x := range qv {
			s += x * d[k]
		}
		if s > 0 {
			res = append(res, scored{i, s})
		}
	}
	sort.SliceStable(res, func(i, j int) bool { return res[i].s > res[j].s })
	ids := make([]string, 0, 3)
	for i := 0; i < len(res) && i < 3; i++ {
		ids = append(ids, fmt.Sprintf("a%03d", res[i].i))
	}
	return ids
}

// TestAccuracySet3 reports ranking accuracy on set 3 (testdata/articles3.csv,
// testdata/queries3.txt): 158 articles, many in groups of siblings on one
// topic with different intents (how to, fees, how long, failed, cancel), 790
// customer questions. It was written by someone who had not seen the
// engine's lexicon or tuning, to estimate accuracy on an unseen acceptance
// set, and it is measurement only: its failures are never shown, so nothing
// is fitted to it.
func TestAccuracySet3(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the segmenter")
	}
	recs, qs := loadSet(t, "testdata/articles3.csv", "testdata/queries3.txt")
	for i := range qs {
		qs[i].Holdout = true
	}
	eng, err := search.NewEngine(search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	replace(t, eng, "acc3", docsOf(recs, false))
	_, meas := evaluate(t, eng, "acc3", recs, qs, false)
	t.Logf("%d articles; engine: %v", len(recs), meas)
	for _, withAnswer := range []bool{false, true} {
		_, b := evaluateFunc(t, newBigramBaseline(recs, withAnswer).rank, recs, qs, false)
		t.Logf("bigram TF-IDF (answer %v): %v", withAnswer, b)
	}
	// A floor under the level when the set was added (2026-11-23: 62.2/83.2;
	// bigram TF-IDF 27.2/43.3, with answers 41.1/59.1): it catches a bad
	// regression, it is not a target.
	if meas.n < 700 || meas.rate1() < 0.58 || meas.rate3() < 0.78 {
		t.Errorf("set 3 accuracy below floor: %v", meas)
	}
}
