package zh

import (
	"strings"
	"sync"

	"github.com/mozillazg/go-pinyin"
)

const hanFirst, hanLast = 0x4E00, 0x9FFF

var (
	pinyinOnce  sync.Once
	pinyinTable []string // index r-hanFirst; fuzzy syllable without tone
)

// Syllable returns the fuzzy toneless pinyin of a Han character (the first
// reading), or "" when r is not a common Han character. Fuzzy means the
// confusions people make when typing with a pinyin input method are folded:
// zh/z, ch/c, sh/s and the front/back nasals -n/-ng.
func Syllable(r rune) string {
	if r < hanFirst || r > hanLast {
		return ""
	}
	pinyinOnce.Do(buildPinyin)
	return pinyinTable[r-hanFirst]
}

func buildPinyin() {
	t := make([]string, hanLast-hanFirst+1)
	a := pinyin.NewArgs()
	for r := rune(hanFirst); r <= hanLast; r++ {
		p := pinyin.SinglePinyin(r, a)
		if len(p) > 0 && p[0] != "" {
			t[r-hanFirst] = fuzzy(p[0])
		}
	}
	pinyinTable = t
}

func fuzzy(s string) string {
	for _, p := range [...]string{"zh", "ch", "sh"} {
		if strings.HasPrefix(s, p) {
			s = s[:1] + s[2:]
			break
		}
	}
	if strings.HasSuffix(s, "ng") && s != "ng" {
		s = s[:len(s)-1]
	}
	return s
}

// PinyinKey returns the fuzzy pinyin of s, syllables joined by spaces, and
// false if some rune of s has no pinyin.
func PinyinKey(s string) (string, bool) {
	var b strings.Builder
	for i, r := range []rune(s) {
		p := Syllable(r)
		if p == "" {
			return "", false
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p)
	}
	return b.String(), true
}
