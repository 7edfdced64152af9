package zh

import (
	"maps"
	"slices"
	"testing"
)

// TestLexiconTermsInDictionary checks that every lexicon term of two or more
// characters is a word of the segmenter's dictionary, whatever order the
// terms were added in (a term that is the start of a longer one, 提额 of
// 提额度, used to be left out in some processes and not others).
func TestLexiconTermsInDictionary(t *testing.T) {
	s, err := Segmenter()
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, term := range slices.Sorted(maps.Keys(Base().concepts)) {
		if len([]rune(term)) < 2 || !hasHan(term) {
			continue
		}
		if _, _, err := s.Value(term); err != nil {
			missing++
			if missing <= 10 {
				t.Errorf("lexicon term %q is not in the segmenter's dictionary", term)
			}
		}
	}
	if missing > 10 {
		t.Errorf("%d lexicon terms missing in all", missing)
	}
}

// TestLatinTermsDoNotSplitWords checks that short Latin lexicon terms (zh,
// kf) do not cut longer Latin words: zhuanrengong stays one token.
func TestLatinTermsDoNotSplitWords(t *testing.T) {
	s, err := Segmenter()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"zhuanrengong", "kfdianhua", "mmwangle"} {
		if got := s.Cut(w, true); len(got) != 1 {
			t.Errorf("%s cut into %q", w, got)
		}
	}
}
