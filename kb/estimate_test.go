package kb

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/omnihub/hub/kb/search"
)

// stratum counts, for the questions on which the bigram reference got the
// expected article first (or in its top 3) and for those it did not, how
// often the engine did.
type stratum struct {
	n, hit [2]int // index 1: the reference was right
}

func (s *stratum) add(ref, engine bool) {
	i := 0
	if ref {
		i = 1
	}
	s.n[i]++
	if engine {
		s.hit[i]++
	}
}

// at returns the engine's rate on a set where the reference is right with
// probability p: both strata reweighted to the acceptance set's mix.
func (s stratum) at(p float64) float64 {
	r := func(i int) float64 {
		if s.n[i] == 0 {
			return 0
		}
		return float64(s.hit[i]) / float64(s.n[i])
	}
	return p*r(1) + (1-p)*r(0)
}

// TestAccuracyEstimate estimates the engine's accuracy on the acceptance
// set from each of the shipped sets. The shipped sets are harder than the
// acceptance set (plain bigram TF-IDF gets 27-68% first on them, about 77%
// and 96% in the top 3 there), so the raw rates understate. The estimate
// splits each set's questions by whether the bigram reference (question
// only) ranked the expected article first, measures the engine on both
// halves, and reweights them to the acceptance set's 77% / 23% (96% / 4% for
// the top 3). It still leans low: the questions the reference misses on the
// acceptance set are likely easier than the ones it misses here.
func TestAccuracyEstimate(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the segmenter")
	}
	r1, q1 := loadTestSet(t)
	r2, q2 := loadSet2(t)
	r3, q3 := loadSet(t, "testdata/articles3.csv", "testdata/queries3.txt")
	r4, q4 := loadSet(t, "testdata/articles4.csv", "testdata/queries4.txt")
	all := func(labelled) bool { return true }
	held := func(l labelled) bool { return l.Holdout }
	tuned := func(l labelled) bool { return !l.Holdout }
	sets := []struct {
		name     string
		measured bool // failures never looked at while tuning
		recs     []Record
		qs       []labelled
		keep     func(labelled) bool
	}{
		{"set 1 tuning", false, r1, q1, tuned},
		{"set 2 diagnosis", false, r2, q2, tuned},
		{"set 4", false, r4, q4, all},
		{"set 1 held-out", true, r1, q1, held},
		{"set 2 measurement", true, r2, q2, held},
		{"set 3", true, r3, q3, all},
	}
	var lines []string
	var sum1, sum3 float64
	var nMeasured int
	for _, s := range sets {
		eng, err := search.NewEngine(search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		replace(t, eng, "est", docsOf(s.recs, false))
		ref := newBigramBaseline(s.recs, false)
		id := map[string]string{}
		for i, r := range s.recs {
			id[r.Question] = fmt.Sprintf("a%03d", i)
		}
		var raw accuracy
		var first, top3 stratum
		for _, q := range s.qs {
			if !s.keep(q) {
				continue
			}
			want := id[q.Expected]
			hits, err := eng.Search(context.Background(), "est", search.Query{Text: q.Query, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(hits))
			for i, h := range hits {
				got[i] = h.ID
			}
			e1, e3 := rankOf(got, want)
			r1, r3 := rankOf(ref.rank(q.Query), want)
			raw.n++
			if e1 {
				raw.top1++
			}
			if e3 {
				raw.top3++
			}
			first.add(r1, e1)
			top3.add(r3, e3)
		}
		eng.Close()
		est1, est3 := first.at(0.77), top3.at(0.96)
		lines = append(lines, fmt.Sprintf("%-18s %v; estimate on the acceptance set %.1f%% / %.1f%%", s.name, raw, 100*est1, 100*est3))
		if s.measured {
			sum1 += est1
			sum3 += est3
			nMeasured++
		}
	}
	mean1, mean3 := sum1/float64(nMeasured), sum3/float64(nMeasured)
	lines = append(lines, fmt.Sprintf("mean estimate over the sets whose failures were never looked at: %.1f%% / %.1f%%", 100*mean1, 100*mean3))
	t.Log("\n" + strings.Join(lines, "\n"))
	// A floor under the level when this test was written; it catches a
	// bad regression and is not the target.
	if mean1 < 0.85 || mean3 < 0.96 {
		t.Errorf("estimated accuracy fell: %.3f / %.3f", mean1, mean3)
	}
}

// rankOf reports whether want is first, and whether it is in the top 3, of
// ids.
func rankOf(ids []string, want string) (first, top3 bool) {
	for i, id := range ids {
		if id == want && i < 3 {
			return i == 0, true
		}
	}
	return false, false
}
