package zh

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/omnihub/hub/kb/lexicon"
)

// conceptPrefix marks a synonym concept in the word channel, so that a concept
// never collides with a plain word of the same spelling.
const conceptPrefix = "="

// Lexicon is a compiled lexicon: the shipped one, optionally with a tenant's
// admin synonyms merged on top. It is immutable once built and safe for
// concurrent use.
type Lexicon struct {
	concepts map[string][]string // term -> concept ids
	related  map[string][]string // word id -> related word ids
	pinyin   map[string][]string // fuzzy pinyin of a term (>= 2 runes) -> terms
	initials map[string][]string // pinyin initials of a 3-5 rune term (xyk) -> concept ids
	spelled  map[string][]string // spelledKey of a 2-4 rune term's pinyin (tousu) -> concept ids
	fillers  map[string]bool
	stop     map[string]bool
	maxLen   int // longest term, in runes
	version  string
}

var (
	baseOnce sync.Once
	base     *Lexicon
)

// Base returns the compiled shipped lexicon.
func Base() *Lexicon {
	baseOnce.Do(func() {
		l := &Lexicon{
			concepts: map[string][]string{},
			related:  map[string][]string{},
			pinyin:   map[string][]string{},
			fillers:  map[string]bool{},
			stop:     map[string]bool{},
			version:  lexicon.Version(),
		}
		for _, g := range lexicon.Synonyms() {
			l.addGroup(normTerms(g))
		}
		for _, g := range lexicon.Related() {
			l.addRelated(normTerms(g))
		}
		for _, f := range lexicon.Fillers() {
			l.fillers[Normalize(f)] = true
		}
		for _, s := range lexicon.Stopwords() {
			l.stop[Normalize(s)] = true
		}
		l.indexPinyin()
		base = l
	})
	return base
}

func normTerms(g []string) []string {
	out := make([]string, 0, len(g))
	for _, t := range g {
		// Terms are single words: drop inner spaces a normalisation may leave.
		if t = strings.ReplaceAll(Normalize(t), " ", ""); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// addGroup makes every term of g carry the group's concept. The concept is
// named after the first term's existing concept when it has one, so an admin
// group that starts with a shipped term extends that shipped concept.
func (l *Lexicon) addGroup(g []string) {
	if len(g) < 2 {
		return
	}
	id := conceptPrefix + g[0]
	if cs := l.concepts[g[0]]; len(cs) > 0 {
		id = cs[0]
	}
	for _, t := range g {
		if !contains(l.concepts[t], id) {
			l.concepts[t] = append(l.concepts[t], id)
		}
		if n := utf8.RuneCountInString(t); n > l.maxLen {
			l.maxLen = n
		}
	}
}

func (l *Lexicon) addRelated(g []string) {
	var ids []string
	for _, t := range g {
		for _, id := range l.ids(t) {
			if !contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	for _, a := range ids {
		for _, b := range ids {
			if a != b && !contains(l.related[a], b) {
				l.related[a] = append(l.related[a], b)
			}
		}
	}
}

func (l *Lexicon) indexPinyin() {
	l.pinyin = make(map[string][]string, len(l.concepts))
	l.initials = map[string][]string{}
	l.spelled = map[string][]string{}
	for t, ids := range l.concepts {
		n := utf8.RuneCountInString(t)
		if n < 2 {
			continue
		}
		if k, ok := PinyinKey(t); ok {
			l.pinyin[k] = append(l.pinyin[k], t)
			if n <= 4 {
				sk := spelledKey(strings.ReplaceAll(k, " ", ""))
				for _, id := range ids {
					if !contains(l.spelled[sk], id) {
						l.spelled[sk] = append(l.spelled[sk], id)
					}
				}
			}
			if n >= 3 && n <= 5 {
				ini := initialsOf(k)
				for _, id := range ids {
					if !contains(l.initials[ini], id) {
						l.initials[ini] = append(l.initials[ini], id)
					}
				}
			}
		}
	}
	for _, ts := range l.pinyin {
		sort.Strings(ts)
	}
	for _, ids := range l.spelled {
		sort.Strings(ids)
	}
	for _, ids := range l.initials {
		sort.Strings(ids)
	}
}

// spelledKey folds pinyin typed as one Latin word (tousu, yiji) the way
// Syllable folds each syllable, without knowing where syllables end: zh, ch
// and sh lose their h and ng becomes n anywhere. The lexicon side applies it
// to its terms' syllables run together, so both sides fold alike.
func spelledKey(s string) string {
	return spelledFolds.Replace(s)
}

var spelledFolds = strings.NewReplacer("zh", "z", "ch", "c", "sh", "s", "ng", "n")

// initialsOf returns the first letters of a PinyinKey's syllables: the
// abbreviation people type for a term (信用卡 -> xyk).
func initialsOf(key string) string {
	var b []byte
	for _, syl := range strings.Fields(key) {
		b = append(b, syl[0])
	}
	return string(b)
}

// ids returns the word-channel ids of a word: its concepts, or the word itself.
func (l *Lexicon) ids(w string) []string {
	if cs := l.concepts[w]; len(cs) > 0 {
		return cs
	}
	return []string{w}
}

// Version identifies the lexicon content: the shipped version plus a hash of
// the admin synonyms. Indexes analysed with another version are stale.
func (l *Lexicon) Version() string { return l.version }

// WithSynonyms returns a lexicon with the admin synonym groups merged on top of
// l. Each group lists equivalent terms; the first names the concept. l is not
// modified. Groups are applied in order, so the result (and its Version) is
// deterministic for a given list.
func (l *Lexicon) WithSynonyms(groups [][]string) *Lexicon {
	if len(groups) == 0 {
		return l
	}
	n := &Lexicon{
		concepts: make(map[string][]string, len(l.concepts)+len(groups)*4),
		related:  l.related,
		fillers:  l.fillers,
		stop:     l.stop,
		maxLen:   l.maxLen,
	}
	for k, v := range l.concepts {
		n.concepts[k] = v[:len(v):len(v)] // appends copy, never alias
	}
	h := sha256.New()
	h.Write([]byte(l.version))
	for _, g := range groups {
		ng := normTerms(g)
		h.Write([]byte(strings.Join(ng, " ") + "\n"))
		n.addGroup(ng)
	}
	n.version = l.version + "+" + hex.EncodeToString(h.Sum(nil))[:12]
	n.indexPinyin()
	return n
}

// Synonyms returns every synonym group of the lexicon as lists of terms, the
// concept's own name first. Meilisearch's synonyms setting is built from it.
func (l *Lexicon) Synonyms() [][]string {
	byConcept := map[string][]string{}
	for t, cs := range l.concepts {
		for _, c := range cs {
			byConcept[c] = append(byConcept[c], t)
		}
	}
	out := make([][]string, 0, len(byConcept))
	for c, ts := range byConcept {
		name := strings.TrimPrefix(c, conceptPrefix)
		sort.Slice(ts, func(i, j int) bool {
			if (ts[i] == name) != (ts[j] == name) {
				return ts[i] == name
			}
			return ts[i] < ts[j]
		})
		out = append(out, ts)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// Equivalent reports whether a and b share a concept.
func (l *Lexicon) Equivalent(a, b string) bool {
	a, b = Normalize(a), Normalize(b)
	for _, x := range l.ids(a) {
		if contains(l.ids(b), x) {
			return true
		}
	}
	return false
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
