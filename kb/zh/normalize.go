// Package zh turns Chinese customer-service text into search terms: it
// normalises characters (full-width to half-width, traditional to simplified,
// case), drops politeness and filler words, segments with gse, maps words to
// synonym concepts from the shipped lexicon (plus admin synonyms), and derives
// character n-gram and pinyin evidence that tolerates typos, homophone errors
// and partial words.
package zh

import (
	"strings"
	"sync"
	"unicode"

	"github.com/omnihub/hub/kb/lexicon"
)

var (
	t2sOnce sync.Once
	t2s     map[rune]rune
)

func t2sTable() map[rune]rune {
	t2sOnce.Do(func() { t2s = lexicon.T2S() })
	return t2s
}

// Normalize folds full-width forms to half-width, lower-cases, maps
// traditional characters to simplified ones, and turns every character that
// is not a letter, digit or Han ideograph into a single space (a clause
// boundary). A run of three or more identical Han characters (急急急,
// 慢慢慢, 啊啊啊) is emphasis and becomes one; doubled characters (看看,
// 谢谢) stay. Leading and trailing spaces are removed.
func Normalize(s string) string {
	tab := t2sTable()
	var b strings.Builder
	b.Grow(len(s))
	space := true // suppress leading and repeated spaces
	for _, r := range s {
		switch {
		case r == 0x3000:
			r = ' '
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		}
		r = unicode.ToLower(r)
		if m, ok := tab[r]; ok {
			r = m
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		b.WriteRune(r)
		space = false
	}
	return joinSpacedDigits(collapseRuns(strings.TrimRight(b.String(), " ")))
}

// joinSpacedDigits joins three or more single digits written with spaces
// between them (an error code typed as 6 9 1) into one number.
func joinSpacedDigits(s string) string {
	digit := func(i int) bool { return i >= 0 && i < len(s) && s[i] >= '0' && s[i] <= '9' }
	// single reports whether a lone digit (no digit on either side) is at i.
	single := func(i int) bool { return digit(i) && !digit(i-1) && !digit(i+1) }
	var b []byte
	for i := 0; i < len(s); i++ {
		if single(i) {
			j, n := i, 1
			for j+2 < len(s) && s[j+1] == ' ' && single(j+2) {
				j += 2
				n++
			}
			if n >= 3 {
				if b == nil {
					b = append(make([]byte, 0, len(s)), s[:i]...)
				}
				for k := i; k <= j; k += 2 {
					b = append(b, s[k])
				}
				i = j
				continue
			}
		}
		if b != nil {
			b = append(b, s[i])
		}
	}
	if b == nil {
		return s
	}
	return string(b)
}

// collapseRuns replaces every run of three or more identical Han characters
// with one.
func collapseRuns(s string) string {
	var prev rune
	n := 0
	found := false
	for _, r := range s {
		if r == prev {
			n++
			if n >= 3 && isHan(r) {
				found = true
				break
			}
		} else {
			prev, n = r, 1
		}
	}
	if !found {
		return s
	}
	rs := []rune(s)
	out := rs[:0]
	for i := 0; i < len(rs); {
		j := i + 1
		for j < len(rs) && rs[j] == rs[i] {
			j++
		}
		if j-i >= 3 && isHan(rs[i]) {
			out = append(out, rs[i])
		} else {
			out = append(out, rs[i:j]...)
		}
		i = j
	}
	return string(out)
}

// StripHTML removes tags and decodes the few entities rich-text editors emit,
// leaving the readable text of an answer.
func StripHTML(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>' && in:
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return entityReplacer.Replace(b.String())
}

var entityReplacer = strings.NewReplacer("&nbsp;", " ", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'")

// isHan reports whether r is a CJK unified ideograph.
func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }
