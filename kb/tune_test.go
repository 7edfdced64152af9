package kb

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/omnihub/hub/kb/search"
	"github.com/omnihub/hub/kb/zh"
)

// TestTuneParams evaluates ranking weights given in KB_PARAMS
// ("field.channel=value,..."; fields q a m, channels w b u p) on the tuning
// split. Used while tuning; skipped otherwise.
func TestTuneParams(t *testing.T) {
	spec, ok := os.LookupEnv("KB_PARAMS")
	if !ok {
		t.Skip("set KB_PARAMS")
	}
	p := search.DefaultParams()
	for _, kv := range strings.Split(spec, ",") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		f, _ := strconv.ParseFloat(v, 64)
		switch k {
		case "k1":
			p.K1 = f
		case "cov":
			p.Coverage = f
		case "other":
			p.OtherUnits = f
		case "bq":
			p.B[0] = f
		case "ba":
			p.B[1] = f
		default:
			fi := strings.Index("qam", k[:1])
			ci := strings.Index("wbup", k[2:3])
			p.Weight[fi][zh.Channel(ci)] = f
		}
	}
	recs, qs := loadTestSet(t)
	eng, err := search.NewEngine(search.Options{Params: &p})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.Replace(context.Background(), "t", docsOf(recs, false)); err != nil {
		t.Fatal(err)
	}
	tune, held := evaluate(t, eng, "t", recs, qs, false)
	t.Logf("tuning %v", tune)
	if os.Getenv("KB_SHOW_HELDOUT") != "" {
		t.Logf("held-out %v", held)
	}
}
