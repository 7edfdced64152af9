// Package lexicon ships the hub's Chinese customer-service lexicon: synonym
// groups, near-synonym groups, filler phrases, stop words and a
// traditional-to-simplified character table. The files are embedded so the
// binary needs nothing on disk; admin synonyms are merged on top at run time
// by package zh.
//
// File formats (UTF-8, '#' starts a comment line):
//   - synonyms.txt: one group of equivalent terms per line, separated by
//     spaces; the first term names the group.
//   - related.txt: one group of near-synonyms per line (expanded at a lower
//     weight, query side only).
//   - fillers.txt: politeness and filler phrases dropped from questions.
//   - stopwords.txt: function words dropped from the word channel.
//   - t2s.txt: pairs "繁简" (traditional then simplified, two runes) separated
//     by spaces.
package lexicon

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"strings"
	"sync"
	"unicode/utf8"
)

//go:embed *.txt
var files embed.FS

var (
	versionOnce sync.Once
	version     string
)

// Version is a short hash of every shipped file. An index built with another
// version of the lexicon is stale and must be re-analysed.
func Version() string {
	versionOnce.Do(func() {
		h := sha256.New()
		for _, name := range []string{"synonyms.txt", "related.txt", "fillers.txt", "stopwords.txt", "t2s.txt"} {
			b, _ := files.ReadFile(name)
			h.Write([]byte(name))
			h.Write(b)
		}
		version = hex.EncodeToString(h.Sum(nil))[:16]
	})
	return version
}

// lines returns the non-empty, non-comment lines of an embedded file.
func lines(name string) []string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("lexicon: missing embedded file " + name) // build-time invariant
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out
}

func groups(name string) [][]string {
	var out [][]string
	for _, l := range lines(name) {
		g := strings.Fields(strings.ToLower(l))
		if len(g) >= 2 {
			out = append(out, g)
		}
	}
	return out
}

// Synonyms returns the shipped groups of equivalent terms (lower-cased).
func Synonyms() [][]string { return groups("synonyms.txt") }

// Related returns the shipped groups of near-synonyms (lower-cased).
func Related() [][]string { return groups("related.txt") }

// Fillers returns the shipped filler phrases.
func Fillers() []string { return lines("fillers.txt") }

// Stopwords returns the shipped stop words.
func Stopwords() []string { return lines("stopwords.txt") }

// T2S returns the traditional-to-simplified (and variant-to-standard)
// character map.
func T2S() map[rune]rune {
	m := make(map[rune]rune, 1024)
	for _, l := range lines("t2s.txt") {
		for _, pair := range strings.Fields(l) {
			if utf8.RuneCountInString(pair) != 2 {
				continue
			}
			from, n := utf8.DecodeRuneInString(pair)
			to, _ := utf8.DecodeRuneInString(pair[n:])
			if from != to {
				m[from] = to
			}
		}
	}
	return m
}
