package kb

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/omnihub/hub/kb/search"
	"github.com/omnihub/hub/kb/zh"
)

// TestTuneParams evaluates ranking weights given in KB_PARAMS
// ("field.channel=value,..."; fields q a m, channels w b u p; several
// parameter sets separated by ";") on the tuning split of set 1, the
// diagnosis half of set 2 and set 4 (KB_SHOW_FAILURES=1 logs set 4's
// failures). Used while tuning; skipped otherwise.
// KB_SHOW_HELDOUT=1 adds the held-out split of set 1; set 2's measurement
// half is never shown here (see TestAccuracySet2).
func TestTuneParams(t *testing.T) {
	specs, ok := os.LookupEnv("KB_PARAMS")
	if !ok {
		t.Skip("set KB_PARAMS")
	}
	recs, qs := loadTestSet(t)
	recs2, qs2 := loadSet2(t)
	recs4, qs4 := loadSet(t, "testdata/articles4.csv", "testdata/queries4.txt")
	for _, spec := range strings.Split(specs, ";") {
		p := parseParams(spec)
		eng, err := search.NewEngine(search.Options{Params: &p})
		if err != nil {
			t.Fatal(err)
		}
		replace(t, eng, "t", docsOf(recs, false))
		replace(t, eng, "t2", docsOf(recs2, false))
		replace(t, eng, "t4", docsOf(recs4, false))
		tune, held := evaluate(t, eng, "t", recs, qs, false)
		diag, _ := evaluate(t, eng, "t2", recs2, qs2, false)
		set4, _ := evaluate(t, eng, "t4", recs4, qs4, os.Getenv("KB_SHOW_FAILURES") != "")
		line := "[" + spec + "] set1 tuning " + tune.String() + "; set2 diagnosis " + diag.String() + "; set4 " + set4.String()
		if os.Getenv("KB_SHOW_HELDOUT") != "" {
			line += "; set1 held-out " + held.String()
		}
		t.Log(line)
		eng.Close()
	}
}

func parseParams(spec string) search.Params {
	p := search.DefaultParams()
	for _, kv := range strings.Split(spec, ",") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		f, _ := strconv.ParseFloat(v, 64)
		named := map[string]*float64{
			"k1": &p.K1, "cov": &p.Coverage, "qcov": &p.QueryCoverage, "other": &p.OtherUnits,
			"bq": &p.B[0], "ba": &p.B[1], "bm": &p.B[2],
			"imatch": &p.IntentMatch, "imiss": &p.IntentMiss, "iextra": &p.IntentExtra,
		}
		if ptr, ok := named[k]; ok {
			*ptr = f
			continue
		}
		// field.channel, e.g. a.b: answer bigrams.
		fi := strings.Index("qam", k[:1])
		ci := strings.Index("wbup", k[2:3])
		p.Weight[fi][zh.Channel(ci)] = f
	}
	return p
}
