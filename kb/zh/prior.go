package zh

import (
	"strconv"
	"strings"
	"sync"

	"github.com/go-ego/gse"
)

// General-language prior. A knowledge base of a few hundred articles says
// little about which words matter: 家里 or 突然 are rare in FAQ questions, so
// corpus IDF alone rates them as highly as 宽带 or 挂失. gse ships the IDF of
// words in a large general corpus; a query word that is common in everyday
// Chinese is down-weighted by it before the corpus IDF applies.

var (
	idfOnce sync.Once
	idfMap  map[string]float32
)

// maxPriorRunes bounds the words kept from gse's IDF table: longer ones never
// occur as query words often enough to matter.
const maxPriorRunes = 4

func loadIDF() {
	m := make(map[string]float32, 200000)
	for _, line := range strings.Split(gse.ZhIdf, "\n") {
		w, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || len([]rune(w)) > maxPriorRunes {
			continue
		}
		f, err := strconv.ParseFloat(v, 32)
		if err != nil {
			continue
		}
		m[w] = float32(f)
	}
	idfMap = m
}

// Prior parameters: a word whose general IDF is at or below priorLow gets
// priorFloor; at priorHigh and above it gets 1; linear in between. Words gse
// does not know (domain terms such as 光猫) get 1.
var (
	priorLow   float32 = 3
	priorHigh  float32 = 9
	priorFloor float32 = 0.15
)

// Prior returns the general-language weight of word w in (0, 1].
func Prior(w string) float32 {
	idfOnce.Do(loadIDF)
	g, ok := idfMap[w]
	if !ok {
		return 1
	}
	switch {
	case g <= priorLow:
		return priorFloor
	case g >= priorHigh:
		return 1
	}
	return priorFloor + (1-priorFloor)*(g-priorLow)/(priorHigh-priorLow)
}
