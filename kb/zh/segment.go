package zh

import (
	"maps"
	"slices"
	"sync"

	"github.com/go-ego/gse"
)

var (
	segOnce sync.Once
	seg     *gse.Segmenter
	segErr  error
)

// Segmenter returns the process-wide gse segmenter, loading gse's embedded
// simplified-Chinese dictionary on first use (about 1.5 s) and adding every
// term of the shipped lexicon so that domain words (没信号, 机顶盒, 转人工)
// come out whole. Later calls share it; segmentation only reads it, so it is
// safe for concurrent use.
func Segmenter() (*gse.Segmenter, error) {
	segOnce.Do(func() {
		var s gse.Segmenter
		if err := s.LoadDictEmbed("zh_s"); err != nil {
			segErr = err
			return
		}
		base := Base()
		add := func(term string, freq float64) {
			if len([]rune(term)) < 2 || !hasHan(term) {
				// A Latin or digit term (zh, kf, 5g) stays out: in the
				// dictionary it would split longer Latin words
				// (zh|uanrengong); a run of letters is one token anyway.
				return
			}
			// Value, not Find: Find also says yes for a prefix of a
			// longer word (提额 of 提额度), which kept such terms out of
			// the dictionary depending on the order they came in.
			if _, _, err := s.Value(term); err == nil {
				return
			}
			_ = s.AddToken(term, freq)
		}
		// Sorted, so that the dictionary (and every segmentation) is the
		// same in every process.
		for _, term := range slices.Sorted(maps.Keys(base.concepts)) {
			add(term, 200)
		}
		for _, f := range slices.Sorted(maps.Keys(base.fillers)) {
			add(f, 500)
		}
		s.CalcToken()
		seg = &s
	})
	return seg, segErr
}

// Warm loads the segmenter, the pinyin table and the general-language IDF
// table now rather than on the first query (about 2 s in all). Call it from
// a start-up goroutine to keep the first search fast.
func Warm() error {
	_, err := Segmenter()
	Syllable('中')
	Prior("的")
	return err
}

// hasHan reports whether s contains a Han character.
func hasHan(s string) bool {
	for _, r := range s {
		if isHan(r) {
			return true
		}
	}
	return false
}
