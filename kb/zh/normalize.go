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
// boundary). Leading and trailing spaces are removed.
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
	return strings.TrimRight(b.String(), " ")
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
