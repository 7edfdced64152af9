package zh

import (
	"unicode"
	"unicode/utf8"
)

// Channel names the kinds of evidence an Analysis carries.
type Channel uint8

// The evidence channels, from most to least semantic.
const (
	// Words are segmented words mapped to synonym concepts.
	Words Channel = iota
	// Bigrams are overlapping pairs of characters (an ASCII word counts as
	// one character): they survive segmentation differences, partial words
	// and single-character typos.
	Bigrams
	// Unigrams are single characters: the weakest evidence, for very short
	// or badly misspelled input.
	Unigrams
	// Pinyin are pairs of fuzzy toneless syllables: they survive homophone
	// typos (冲值 for 充值, 蜜码 for 密码).
	Pinyin
	// NumChannels is the number of channels.
	NumChannels
)

// Term is one piece of evidence: a key and its weight (a term frequency for
// documents, an importance for queries).
type Term struct {
	Key string
	W   float32
	// Exp marks a query term the user did not write: a near-synonym or a
	// homophone correction added by query expansion.
	Exp bool
}

// Analysis is the evidence extracted from one text.
type Analysis struct {
	Channels [NumChannels][]Term
	// Clean is the normalised text with fillers removed, clauses separated
	// by single spaces.
	Clean string
	// Intent is what the text asks about its topic (see IntentOf).
	Intent Intent
}

// Query expansion weights. A synonym is the same concept (weight 1); these
// apply to weaker evidence that a query word means a concept.
const (
	relatedWeight  = 0.4 // near-synonym from related.txt
	homophoneW     = 0.7 // a lexicon term written with homophone characters
	subwordWeight  = 0.5 // a lexicon phrase aligned to a word boundary at one end only
	nestedWeight   = 0.3 // a lexicon term inside a longer lexicon phrase
	particleWeight = 0.8 // a lexicon phrase split by 了/过/着
)

// Analyzer turns text into an Analysis using a Lexicon and the shared
// segmenter. It is safe for concurrent use.
type Analyzer struct {
	lex *Lexicon
}

// NewAnalyzer returns an analyzer for lex (Base() when nil). It loads the
// shared segmenter if needed.
func NewAnalyzer(lex *Lexicon) (*Analyzer, error) {
	if lex == nil {
		lex = Base()
	}
	if _, err := Segmenter(); err != nil {
		return nil, err
	}
	return &Analyzer{lex: lex}, nil
}

// Lexicon returns the analyzer's lexicon.
func (a *Analyzer) Lexicon() *Lexicon { return a.lex }

// Document analyses text stored in the index.
func (a *Analyzer) Document(text string) Analysis { return a.analyze(text, false) }

// Query analyses a search query: like Document, plus query expansion with
// near-synonyms and homophone-typo corrections of lexicon terms.
func (a *Analyzer) Query(text string) Analysis { return a.analyze(text, true) }

type bag struct {
	idx   map[string]int
	terms []Term
}

func (b *bag) add(k string, w float32, max bool) {
	if b.idx == nil {
		b.idx = map[string]int{}
	}
	if i, ok := b.idx[k]; ok {
		if max {
			if w > b.terms[i].W {
				b.terms[i].W = w
			}
		} else {
			b.terms[i].W += w
		}
		return
	}
	b.idx[k] = len(b.terms)
	b.terms = append(b.terms, Term{Key: k, W: w})
}

// addExp adds an expansion term (see Term.Exp).
func (b *bag) addExp(k string, w float32) {
	if b.has(k) {
		b.add(k, w, true)
		return
	}
	b.add(k, w, true)
	b.terms[len(b.terms)-1].Exp = true
}

func (b *bag) has(k string) bool { _, ok := b.idx[k]; return ok }

func (a *Analyzer) analyze(text string, query bool) Analysis {
	seg, _ := Segmenter() // NewAnalyzer made sure it loads
	lex := a.lex
	var words, bi, uni, py bag
	var clean []byte
	norm := Normalize(StripHTML(text))
	intent := IntentOf(norm)
	for len(norm) > 0 {
		clause := norm
		if i := indexByte(norm, ' '); i >= 0 {
			clause, norm = norm[:i], norm[i+1:]
		} else {
			norm = ""
		}
		toks := seg.Cut(clause, cutHMM)
		// Drop fillers; keep token boundaries (rune offsets) of what stays.
		var runes []rune
		bound := map[int]bool{0: true}
		var kept []string
		for _, t := range toks {
			if t == " " || t == "" || lex.fillers[t] {
				continue
			}
			kept = append(kept, t)
			runes = append(runes, []rune(t)...)
			bound[len(runes)] = true
		}
		if len(runes) == 0 {
			continue
		}
		if len(clean) > 0 {
			clean = append(clean, ' ')
		}
		clean = append(clean, string(runes)...)

		// Lexicon phrases, longest first, wherever they occur aligned to a
		// token boundary at one end at least: this finds phrases that
		// segmentation split (没/信号) or glued to a neighbour.
		n := len(runes)
		var spans []span
		for l := min(lex.maxLen, n); l >= 2; l-- {
			for i := 0; i+l <= n; i++ {
				if !bound[i] && !bound[i+l] {
					continue
				}
				sub := string(runes[i : i+l])
				ids := lex.concepts[sub]
				if len(ids) == 0 {
					continue
				}
				w := float32(1)
				if !bound[i] || !bound[i+l] {
					w = subwordWeight
				}
				if nestedIn(spans, i, i+l) {
					w *= nestedWeight
				}
				if query {
					w *= Prior(sub)
				}
				spans = append(spans, span{i, i + l})
				for _, id := range ids {
					addOnce(&words, id, w, query)
				}
			}
		}
		// Word channel: each word's concepts, or the word itself.
		off := 0
		for _, t := range kept {
			start := off
			off += len([]rune(t))
			if lex.stop[t] {
				continue
			}
			ids := lex.concepts[t]
			if len(ids) > 0 && len([]rune(t)) >= 2 {
				continue // found by the scan above
			}
			w := float32(1)
			if query {
				w = Prior(t)
			}
			if nestedIn(spans, start, off) {
				w *= nestedWeight
			}
			if len(ids) == 0 {
				if !isWordish(t) {
					continue
				}
				words.add(t, w, query)
				if query {
					a.abbreviation(t, &words)
				}
				continue
			}
			for _, id := range ids {
				words.add(id, w, query)
			}
		}
		// Phrases broken by an aspect particle: 报了修, 交了费.
		if alt, ok := dropParticles(runes, bound); ok {
			m := len(alt)
			for l := min(lex.maxLen, m); l >= 2; l-- {
				for i := 0; i+l <= m; i++ {
					sub := string(alt[i : i+l])
					for _, id := range lex.concepts[sub] {
						if !words.has(id) {
							w := float32(particleWeight)
							if query {
								w *= Prior(sub)
							}
							words.add(id, w, true)
						}
					}
				}
			}
		}
		if query {
			// Words written as they are (lexicon phrases, dictionary
			// words of three or more characters): a window inside one
			// is part of a word, not a typo (视机 of 电视机 is not 死机).
			whole := spans
			off := 0
			for _, t := range kept {
				n := len([]rune(t))
				if n >= 3 {
					if _, _, err := seg.Value(t); err == nil {
						whole = append(whole, span{off, off + n})
					}
				}
				off += n
			}
			a.homophones(runes, whole, &words)
		}
		// Character channels over units: a Han character, or a run of
		// letters and digits.
		units := charUnits(runes)
		for i, u := range units {
			if !lex.stop[u] {
				w := float32(1)
				if query {
					w = Prior(u)
				}
				uni.add(u, w, query)
			}
			if i+1 < len(units) {
				b := u + units[i+1]
				w := float32(1)
				if query {
					w = Prior(b)
				}
				bi.add(b, w, query)
				p1, p2 := unitPinyin(u), unitPinyin(units[i+1])
				py.add(p1+" "+p2, w, query)
			}
		}
	}
	if query {
		// Near-synonyms of what the query says, at a lower weight.
		base := len(words.terms)
		for i := 0; i < base; i++ {
			t := words.terms[i]
			for _, r := range lex.related[t.Key] {
				if !words.has(r) {
					words.addExp(r, t.W*relatedWeight)
				}
			}
		}
	}
	var an Analysis
	an.Channels[Words] = words.terms
	an.Channels[Bigrams] = bi.terms
	an.Channels[Unigrams] = uni.terms
	an.Channels[Pinyin] = py.terms
	an.Clean = string(clean)
	an.Intent = intent
	return an
}

// homophones adds the concepts of lexicon terms that the clause spells with
// homophone characters: windows of 2 to 4 Han characters whose fuzzy pinyin
// equals a lexicon term's. A two-character window must share one character
// with the term, which keeps chance homophones (实际/世纪) out.
func (a *Analyzer) homophones(runes []rune, whole []span, words *bag) {
	lex := a.lex
	for l := 2; l <= 4; l++ {
		for i := 0; i+l <= len(runes); i++ {
			win := runes[i : i+l]
			if len(lex.concepts[string(win)]) > 0 {
				continue // a lexicon term as written (水费), not a typo of 税费
			}
			if nestedIn(whole, i, i+l) {
				continue
			}
			key, ok := PinyinKey(string(win))
			if !ok {
				continue
			}
			for _, term := range lex.pinyin[key] {
				if term == string(win) {
					continue
				}
				if l == 2 && !shareRune(win, term) {
					continue
				}
				for _, id := range lex.concepts[term] {
					if !words.has(id) {
						words.addExp(id, homophoneW)
					}
				}
			}
		}
	}
}

// maxAbbrevConcepts bounds how many concepts an abbreviation may stand for
// before it is treated as too ambiguous to expand.
const maxAbbrevConcepts = 3

// abbreviation adds the concepts of lexicon terms that a query's lone Latin
// token spells in pinyin, as a homophone-weight expansion: the initials of
// a term of three to five characters (xyk for 信用卡, sfz for 身份证), or the
// whole pinyin of a term of two to four (tousu for 投诉, yiji for 移机).
func (a *Analyzer) abbreviation(tok string, words *bag) {
	n := len(tok)
	if n < 3 || n > 24 {
		return
	}
	for i := 0; i < n; i++ {
		if tok[i] < 'a' || tok[i] > 'z' {
			return
		}
	}
	var ids []string
	if n <= 5 {
		ids = a.lex.initials[tok]
	}
	if len(ids) == 0 && n >= 4 {
		ids = a.lex.spelled[spelledKey(tok)]
	}
	if len(ids) == 0 || len(ids) > maxAbbrevConcepts {
		return
	}
	for _, id := range ids {
		words.addExp(id, homophoneW)
	}
}

type span struct{ from, to int }

// nestedIn reports whether [from, to) lies inside a longer span.
func nestedIn(spans []span, from, to int) bool {
	for _, sp := range spans {
		if sp.from <= from && to <= sp.to && sp.to-sp.from > to-from {
			return true
		}
	}
	return false
}

// addOnce adds k unless present; for queries it keeps the larger weight.
func addOnce(b *bag, k string, w float32, query bool) {
	if b.has(k) && !query {
		return
	}
	b.add(k, w, true)
}

// particles are aspect particles that split a verb from its object
// (报了修, 交过费), and the structural particles and measure word that
// colloquial speech puts inside a lexicon phrase (wifi的密码, 跑得快, 换个地方);
// removing them rejoins the phrase.
var particles = map[rune]bool{'了': true, '过': true, '着': true, '的': true, '得': true, '个': true}

// dropParticles returns runes without stand-alone particles, and
// whether any was removed.
func dropParticles(runes []rune, bound map[int]bool) ([]rune, bool) {
	var out []rune
	removed := false
	for i, r := range runes {
		if particles[r] && bound[i] && bound[i+1] && i > 0 && i+1 < len(runes) {
			removed = true
			continue
		}
		out = append(out, r)
	}
	return out, removed
}

func shareRune(win []rune, term string) bool {
	i := 0
	for _, r := range term {
		if i < len(win) && win[i] == r {
			return true
		}
		i++
	}
	return false
}

// isWordish reports whether a token is worth indexing as a word: it holds a
// letter, digit or Han character and is not a lone Han character (those are
// covered by the unigram channel).
func isWordish(t string) bool {
	n := utf8.RuneCountInString(t)
	r, _ := utf8.DecodeRuneInString(t)
	if n == 1 {
		return unicode.IsLetter(r) && !isHan(r) || unicode.IsDigit(r)
	}
	return true
}

// charUnits splits runes into Han characters and runs of other letters and
// digits.
func charUnits(runes []rune) []string {
	var out []string
	for i := 0; i < len(runes); {
		if isHan(runes[i]) {
			out = append(out, string(runes[i]))
			i++
			continue
		}
		j := i + 1
		for j < len(runes) && !isHan(runes[j]) {
			j++
		}
		out = append(out, string(runes[i:j]))
		i = j
	}
	return out
}

func unitPinyin(u string) string {
	r, n := utf8.DecodeRuneInString(u)
	if n == len(u) {
		if p := Syllable(r); p != "" {
			return p
		}
	}
	return u
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// cutHMM selects gse's HMM for unknown words. Off: on colloquial and
// misspelled text it glues unrelated characters into junk words (费在, 哪交),
// while the dictionary path leaves them single and the character channels
// still see them.
var cutHMM = false
