package search

import (
	"context"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/omnihub/hub/kb/zh"
)

// Why an index of our own rather than bleve: ranking FAQ questions against
// paraphrases needs evidence bleve's analyzers do not give together — words
// mapped to synonym concepts with weighted query expansion, character
// bigrams for typos and partial words, fuzzy pinyin for homophones — scored
// per question variant (best variant wins) and blended with the answer text
// at a lower weight. Expressing that in bleve means custom analyzers per
// channel and a disjunction of boosted queries whose scores it normalises its
// own way, at a higher latency. The inverted index below is small (postings
// in maps of slices), answers in well under a millisecond for 10,000
// articles, and persists as one snapshot file per tenant.

// field is a part of an article scored separately.
type field uint8

const (
	fQuestion field = iota // each question and similar question is a unit
	fAnswer                // the answer text (per article)
	fMeta                  // category and tags (per article)
	numFields
)

// Params are the ranking weights. The defaults were tuned on the tuning split
// of kb/testdata only.
type Params struct {
	// Weight per field and channel.
	Weight [numFields][zh.NumChannels]float64
	// K1 and B are BM25's term-frequency saturation and length normalisation.
	K1 float64
	B  [numFields]float64
	// Coverage is how much the share of the best question matched by the
	// query scales the score: score * (1 - Coverage + Coverage*share).
	Coverage float64
	// OtherUnits is the share of the second-best question variant's score
	// added to the best one's.
	OtherUnits float64
	// QueryCoverage is how much the share of the query found anywhere in
	// the article (any question variant, the answer, category and tags)
	// scales the score: score * (1 - QueryCoverage + QueryCoverage*share).
	QueryCoverage float64
	// IntentMatch raises, and IntentMiss lowers, a candidate whose best
	// question asks what the query asks (zh.Intent: the price, how long, why
	// it failed, ...) or something else; IntentExtra lowers one whose
	// question asks something specific when the query asks nothing
	// specific. Sibling articles on one topic differ mostly by intent.
	IntentMatch, IntentMiss, IntentExtra float64
}

// DefaultParams returns the tuned ranking weights.
func DefaultParams() Params {
	var p Params
	p.Weight[fQuestion] = [zh.NumChannels]float64{zh.Words: 1.0, zh.Bigrams: 0.4, zh.Unigrams: 0.3, zh.Pinyin: 0.3}
	p.Weight[fAnswer] = [zh.NumChannels]float64{zh.Words: 0.4, zh.Bigrams: 0.4}
	p.Weight[fMeta] = [zh.NumChannels]float64{zh.Words: 0.5, zh.Bigrams: 0.3}
	p.K1 = 1.2
	p.B = [numFields]float64{0.4, 0.75, 0.5}
	p.OtherUnits = 0.1
	p.Coverage = 0.3
	p.QueryCoverage = 0.7
	p.IntentMatch = 0.2
	p.IntentMiss = 0.2
	p.IntentExtra = 0
	return p
}

// channels indexed per field: answers and metadata skip the weak channels to
// keep the index small.
var fieldChannels = [numFields][]zh.Channel{
	fQuestion: {zh.Words, zh.Bigrams, zh.Unigrams, zh.Pinyin},
	fAnswer:   {zh.Words, zh.Bigrams},
	fMeta:     {zh.Words, zh.Bigrams},
}

// Options configure an Engine.
type Options struct {
	// Dir is the folder holding one snapshot per tenant; empty keeps the
	// index in memory only.
	Dir string
	// FlushInterval is how often changed tenants are written to Dir
	// (default 2 s). Close always flushes.
	FlushInterval time.Duration
	// Logger receives flush errors; default slog.Default().
	Logger *slog.Logger
	// Params overrides the ranking weights (tests and tuning).
	Params *Params
}

// Engine is the embedded Index. It is safe for concurrent use; each tenant
// is a shard guarded by its own RWMutex, so searches of one tenant run in
// parallel and never wait on another tenant's writes.
type Engine struct {
	opts   Options
	params Params
	log    *slog.Logger

	mu     sync.Mutex
	shards map[string]*shard
	closed bool

	stop chan struct{}
	done chan struct{}
}

var _ Index = (*Engine)(nil)

// NewEngine returns an embedded index. It loads the shared Chinese segmenter
// (once per process) and, when Dir is set, starts a goroutine that writes
// changed tenants to Dir; Close stops it.
func NewEngine(opts Options) (*Engine, error) {
	if err := zh.Warm(); err != nil {
		return nil, err
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{
		opts:   opts,
		params: DefaultParams(),
		log:    opts.Logger.With("component", "kb.search"),
		shards: map[string]*shard{},
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if opts.Params != nil {
		e.params = *opts.Params
	}
	if opts.Dir != "" {
		if err := ensureDir(opts.Dir); err != nil {
			return nil, err
		}
		go e.flushLoop()
	} else {
		close(e.done)
	}
	return e, nil
}

func (e *Engine) flushLoop() {
	defer close(e.done)
	t := time.NewTicker(e.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			if err := e.Flush(); err != nil {
				e.log.Error("flush kb index", "err", err)
			}
		}
	}
}

// Flush writes every changed tenant to Dir now.
func (e *Engine) Flush() error {
	if e.opts.Dir == "" {
		return nil
	}
	e.mu.Lock()
	shards := make([]*shard, 0, len(e.shards))
	for _, s := range e.shards {
		shards = append(shards, s)
	}
	e.mu.Unlock()
	var first error
	for _, s := range shards {
		if err := s.flush(e.opts.Dir); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Close stops the flusher and writes pending changes.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	if e.opts.Dir != "" {
		close(e.stop)
	}
	<-e.done
	return e.Flush()
}

// shard returns the tenant's shard, loading its snapshot or creating it.
func (e *Engine) shard(tenant string) (*shard, error) {
	if tenant == "" {
		return nil, ErrNoTenant
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if s, ok := e.shards[tenant]; ok {
		return s, nil
	}
	s, err := loadShard(e.opts.Dir, tenant, &e.params)
	if err != nil {
		return nil, err
	}
	e.shards[tenant] = s
	return s, nil
}

// Search implements Index.
func (e *Engine) Search(ctx context.Context, tenant string, q Query) ([]Hit, error) {
	s, err := e.shard(tenant)
	if err != nil {
		return nil, err
	}
	return s.search(q), nil
}

// Upsert implements Index.
func (e *Engine) Upsert(ctx context.Context, tenant string, docs ...Document) error {
	s, err := e.shard(tenant)
	if err != nil {
		return err
	}
	for i := range docs {
		if docs[i].ID == "" {
			return ErrEmptyID
		}
	}
	ana := s.analyzeAll(ctx, docs)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range docs {
		s.putLocked(&docs[i], ana[i])
	}
	s.maybeCompactLocked()
	s.dirty = true
	return nil
}

// Delete implements Index.
func (e *Engine) Delete(ctx context.Context, tenant string, ids ...string) error {
	s, err := e.shard(tenant)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if r, ok := s.live[id]; ok {
			s.killLocked(r)
			delete(s.live, id)
		}
	}
	s.maybeCompactLocked()
	s.dirty = true
	return nil
}

// Replace implements Index.
func (e *Engine) Replace(ctx context.Context, tenant string, docs []Document) error {
	s, err := e.shard(tenant)
	if err != nil {
		return err
	}
	for i := range docs {
		if docs[i].ID == "" {
			return ErrEmptyID
		}
	}
	ana := s.analyzeAll(ctx, docs)
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
	for i := range docs {
		s.putLocked(&docs[i], ana[i])
	}
	s.dirty = true
	return nil
}

// State implements Index.
func (e *Engine) State(ctx context.Context, tenant string) (State, error) {
	s, err := e.shard(tenant)
	if err != nil {
		return State{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return State{Count: len(s.live), Checksum: s.checksum}, nil
}

// SetSynonyms implements Index. The tenant's documents are re-analysed with
// the new lexicon.
func (e *Engine) SetSynonyms(ctx context.Context, tenant string, groups [][]string) error {
	s, err := e.shard(tenant)
	if err != nil {
		return err
	}
	an, err := zh.NewAnalyzer(zh.Base().WithSynonyms(groups))
	if err != nil {
		return err
	}
	s.mu.RLock()
	same := an.Lexicon().Version() == s.an.Lexicon().Version()
	docs := s.liveDocsLocked()
	s.mu.RUnlock()
	if same {
		return nil
	}
	ana := analyzeWith(ctx, an, docs)
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.an = an
	s.synonyms = groups
	s.resetLocked()
	for i := range docs {
		s.putLocked(&docs[i], ana[i])
	}
	s.dirty = true
	return nil
}

// docAnalysis is the analysed form of one document.
type docAnalysis struct {
	Q []zh.Analysis // question then similar questions
	A zh.Analysis
	M zh.Analysis
}

func analyzeDoc(an *zh.Analyzer, d *Document) docAnalysis {
	var da docAnalysis
	seen := map[string]bool{}
	for _, q := range append([]string{d.Question}, d.Similar...) {
		if strings.TrimSpace(q) == "" || seen[q] {
			continue
		}
		seen[q] = true
		da.Q = append(da.Q, trim(an.Document(q), fieldChannels[fQuestion]))
	}
	da.A = trim(an.Document(d.Answer), fieldChannels[fAnswer])
	da.M = trim(an.Document(d.Category+" "+strings.Join(d.Tags, " ")), fieldChannels[fMeta])
	return da
}

// trim keeps only the channels a field indexes.
func trim(a zh.Analysis, keep []zh.Channel) zh.Analysis {
	out := zh.Analysis{Intent: a.Intent}
	for _, c := range keep {
		out.Channels[c] = a.Channels[c]
	}
	return out
}

// analyzeWith analyses docs on up to two goroutines per core; it returns early
// (with partial results) when ctx ends.
func analyzeWith(ctx context.Context, an *zh.Analyzer, docs []Document) []docAnalysis {
	out := make([]docAnalysis, len(docs))
	workers := min(len(docs)/64+1, numWorkers())
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(docs); i += workers {
				if i%64 == 0 && ctx.Err() != nil {
					return
				}
				out[i] = analyzeDoc(an, &docs[i])
			}
		}(w)
	}
	wg.Wait()
	return out
}

// posting is one occurrence list entry: a unit (question variant) or a
// revision (article version) and the term's weight there.
type posting struct {
	id int32
	tf float32
}

// plist is a term's posting list; live counts the postings of live
// revisions, the document frequency BM25 needs.
type plist struct {
	ps   []posting
	live int32
}

func (s *shard) postLocked(f field, c zh.Channel, key string, p posting) {
	m := s.post[f][c]
	pl := m[key]
	if pl == nil {
		pl = &plist{}
		m[key] = pl
	}
	pl.ps = append(pl.ps, p)
	pl.live++
}

func (s *shard) unpostLocked(f field, c zh.Channel, a *zh.Analysis) {
	for _, t := range a.Channels[c] {
		if pl := s.post[f][c][t.Key]; pl != nil {
			pl.live--
		}
	}
}

// df returns a term's live document frequency and its postings.
func (s *shard) df(f field, c zh.Channel, key string) (int, []posting) {
	pl := s.post[f][c][key]
	if pl == nil {
		return 0, nil
	}
	return int(pl.live), pl.ps
}

// rev is one version of a document. Replacing or deleting a document marks
// its rev dead; dead revs and their units are skipped until compaction.
type rev struct {
	doc   Document
	ana   docAnalysis
	hash  uint64
	units []int32
	dead  bool
	lens  [numFields][zh.NumChannels]float32
}

// question returns the analysis of the rev's question variant that is unit
// ui, or nil.
func (r *rev) question(ui int32) *zh.Analysis {
	for i, u := range r.units {
		if u == ui {
			return &r.ana.Q[i]
		}
	}
	return nil
}

type unit struct {
	rev  int32
	lens [zh.NumChannels]float32
}

// shard is one tenant's index.
type shard struct {
	mu       sync.RWMutex
	tenant   string
	params   *Params
	an       *zh.Analyzer
	synonyms [][]string

	revs  []*rev
	units []unit
	live  map[string]int32 // document id -> live rev
	post  [numFields][zh.NumChannels]map[string]*plist
	// sum of lengths and count of live units (question) or revs (others)
	sumLen [numFields][zh.NumChannels]float64
	nLive  [numFields]int
	dead   int // dead revs

	checksum uint64
	dirty    bool
}

func newShard(tenant string, params *Params, an *zh.Analyzer) *shard {
	s := &shard{tenant: tenant, params: params, an: an}
	s.resetLocked()
	return s
}

func (s *shard) analyzeAll(ctx context.Context, docs []Document) []docAnalysis {
	s.mu.RLock()
	an := s.an
	s.mu.RUnlock()
	return analyzeWith(ctx, an, docs)
}

func (s *shard) resetLocked() {
	s.revs = nil
	s.units = nil
	s.live = map[string]int32{}
	for f := range s.post {
		for c := range s.post[f] {
			s.post[f][c] = map[string]*plist{}
		}
	}
	s.sumLen = [numFields][zh.NumChannels]float64{}
	s.nLive = [numFields]int{}
	s.dead = 0
	s.checksum = 0
}

func (s *shard) liveDocsLocked() []Document {
	docs := make([]Document, 0, len(s.live))
	for _, r := range s.revs {
		if !r.dead {
			docs = append(docs, r.doc)
		}
	}
	return docs
}

func analysisLen(a *zh.Analysis, c zh.Channel) float32 {
	var n float32
	for _, t := range a.Channels[c] {
		n += t.W
	}
	return n
}

// putLocked adds d as a new live revision, killing the previous one.
func (s *shard) putLocked(d *Document, da docAnalysis) {
	if old, ok := s.live[d.ID]; ok {
		s.killLocked(old)
	}
	ri := int32(len(s.revs))
	r := &rev{doc: *d, ana: da, hash: d.Hash()}
	s.revs = append(s.revs, r)
	s.live[d.ID] = ri
	s.checksum += r.hash
	for qi := range da.Q {
		ui := int32(len(s.units))
		u := unit{rev: ri}
		for _, c := range fieldChannels[fQuestion] {
			u.lens[c] = analysisLen(&da.Q[qi], c)
			s.sumLen[fQuestion][c] += float64(u.lens[c])
			for _, t := range da.Q[qi].Channels[c] {
				s.postLocked(fQuestion, c, t.Key, posting{ui, t.W})
			}
		}
		s.units = append(s.units, u)
		r.units = append(r.units, ui)
		s.nLive[fQuestion]++
	}
	for _, f := range []field{fAnswer, fMeta} {
		a := &da.A
		if f == fMeta {
			a = &da.M
		}
		for _, c := range fieldChannels[f] {
			r.lens[f][c] = analysisLen(a, c)
			s.sumLen[f][c] += float64(r.lens[f][c])
			for _, t := range a.Channels[c] {
				s.postLocked(f, c, t.Key, posting{ri, t.W})
			}
		}
		s.nLive[f]++
	}
}

func (s *shard) killLocked(ri int32) {
	r := s.revs[ri]
	if r.dead {
		return
	}
	r.dead = true
	s.dead++
	s.checksum -= r.hash
	for i, ui := range r.units {
		for _, c := range fieldChannels[fQuestion] {
			s.sumLen[fQuestion][c] -= float64(s.units[ui].lens[c])
			s.unpostLocked(fQuestion, c, &r.ana.Q[i])
		}
		s.nLive[fQuestion]--
	}
	for _, f := range []field{fAnswer, fMeta} {
		a := &r.ana.A
		if f == fMeta {
			a = &r.ana.M
		}
		for _, c := range fieldChannels[f] {
			s.sumLen[f][c] -= float64(r.lens[f][c])
			s.unpostLocked(f, c, a)
		}
		s.nLive[f]--
	}
}

// maybeCompactLocked rebuilds the postings once dead revisions make up a
// quarter of all revisions, so postings never grow without bound.
func (s *shard) maybeCompactLocked() {
	if s.dead < 64 || s.dead*4 < len(s.revs) {
		return
	}
	revs := s.revs
	s.resetLocked()
	for _, r := range revs {
		if !r.dead {
			s.putLocked(&r.doc, r.ana)
		}
	}
}

// scratch holds per-search accumulators, reused through a pool.
type scratch struct {
	unitScore   []float32
	unitHit     []int32
	revScore    []float32
	revBest     []float32
	revSecond   []float32
	revBestUnit []int32
	revHit      []int32
	touched     []bool
	cands       []cand
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func (s *shard) idf(f field, c zh.Channel, df int) float64 {
	n := float64(s.nLive[f])
	return math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
}

func (s *shard) search(q Query) []Hit {
	qa := s.analyzer().Query(q.Text)
	limit := clampLimit(q.Limit)
	now := q.Now
	if now.IsZero() {
		now = time.Now()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.live) == 0 {
		return []Hit{}
	}
	p := s.params
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.unitScore = grow(sc.unitScore, len(s.units))
	sc.revBest = grow(sc.revBest, len(s.revs))
	sc.revSecond = grow(sc.revSecond, len(s.revs))
	sc.revBestUnit = grow(sc.revBestUnit, len(s.revs))
	sc.revScore = grow(sc.revScore, len(s.revs))
	sc.touched = grow(sc.touched, len(s.revs))
	sc.unitHit = sc.unitHit[:0]
	sc.revHit = sc.revHit[:0]

	// norm is the score of a perfect question variant: every query term
	// present once, at average length. It turns scores into [0, 1].
	var norm float64
	for _, c := range fieldChannels[fQuestion] {
		w := p.Weight[fQuestion][c]
		if w == 0 || s.nLive[fQuestion] == 0 {
			continue
		}
		avg := s.sumLen[fQuestion][c] / float64(s.nLive[fQuestion])
		for _, t := range qa.Channels[c] {
			df, pl := s.df(fQuestion, c, t.Key)
			idf := s.idf(fQuestion, c, df)
			norm += w * float64(t.W) * idf
			for _, ps := range pl {
				u := &s.units[ps.id]
				if s.revs[u.rev].dead {
					continue
				}
				tf := float64(ps.tf)
				dl := float64(u.lens[c])
				v := w * float64(t.W) * idf * tf * (p.K1 + 1) / (tf + p.K1*(1-p.B[fQuestion]+p.B[fQuestion]*dl/max(avg, 1)))
				if sc.unitScore[ps.id] == 0 {
					sc.unitHit = append(sc.unitHit, ps.id)
				}
				sc.unitScore[ps.id] += float32(v)
			}
		}
	}
	touch := func(ri int32) {
		if !sc.touched[ri] {
			sc.touched[ri] = true
			sc.revBestUnit[ri] = -1
			sc.revHit = append(sc.revHit, ri)
		}
	}
	for _, ui := range sc.unitHit {
		v := sc.unitScore[ui]
		sc.unitScore[ui] = 0
		ri := s.units[ui].rev
		touch(ri)
		switch {
		case v > sc.revBest[ri]:
			sc.revSecond[ri] = sc.revBest[ri]
			sc.revBest[ri] = v
			sc.revBestUnit[ri] = ui
		case v > sc.revSecond[ri]:
			sc.revSecond[ri] = v
		}
	}
	for _, f := range []field{fAnswer, fMeta} {
		if s.nLive[f] == 0 {
			continue
		}
		for _, c := range fieldChannels[f] {
			w := p.Weight[f][c]
			if w == 0 {
				continue
			}
			avg := s.sumLen[f][c] / float64(s.nLive[f])
			for _, t := range qa.Channels[c] {
				df, pl := s.df(f, c, t.Key)
				if df == 0 {
					continue
				}
				idf := s.idf(f, c, df)
				for _, ps := range pl {
					r := s.revs[ps.id]
					if r.dead {
						continue
					}
					tf := float64(ps.tf)
					dl := float64(r.lens[f][c])
					v := w * float64(t.W) * idf * tf * (p.K1 + 1) / (tf + p.K1*(1-p.B[f]+p.B[f]*dl/max(avg, 1)))
					touch(ps.id)
					sc.revScore[ps.id] += float32(v)
				}
			}
		}
	}
	cands := sc.cands[:0]
	defer func() { sc.cands = cands[:0] }()
	for _, ri := range sc.revHit {
		v := float64(sc.revBest[ri]) + p.OtherUnits*float64(sc.revSecond[ri]) + float64(sc.revScore[ri])
		bu := sc.revBestUnit[ri]
		sc.revBest[ri], sc.revSecond[ri], sc.revScore[ri], sc.touched[ri] = 0, 0, 0, false
		r := s.revs[ri]
		if v <= 0 || (!q.IncludeInactive && !r.doc.validAt(now)) || !inCategory(r.doc.Category, q.Category) {
			continue
		}
		cands = append(cands, cand{ri: ri, unit: bu, score: v})
	}
	// Re-rank the leaders by how much of their best question the query
	// covers: BM25 only rewards what the query has, so a question with
	// extra important words the query lacks would otherwise tie with an
	// exact paraphrase.
	k := min(len(cands), max(limit*5, rerankDepth))
	topK(cands, k)
	cands = cands[:k]
	if p.Coverage > 0 {
		qset := queryTermSet(&qa)
		for i := range cands {
			cov := s.coverage(&cands[i], qset)
			cands[i].score *= 1 - p.Coverage + p.Coverage*cov
		}
	}
	// Re-rank by how much of the query each leader holds anywhere (the
	// question variants, the answer, category and tags): with few or no
	// similar questions a rare query word that only the answer or the tags
	// contain (冒领, 缺台) is strong evidence that BM25 over the weighted
	// fields undervalues. The factors are divided by the best one so that a
	// score only drops when another candidate covers the query better;
	// scores stay comparable with the bot's thresholds.
	if p.QueryCoverage > 0 && len(cands) > 0 {
		qc := s.newQueryCover(&qa)
		best := 0.0
		for i := range cands {
			f := 1 - p.QueryCoverage + p.QueryCoverage*qc.share(s.revs[cands[i].ri])
			cands[i].factor = f
			best = max(best, f)
		}
		for i := range cands {
			cands[i].score *= cands[i].factor / best
		}
	}
	if p.IntentMatch > 0 || p.IntentMiss > 0 || p.IntentExtra > 0 {
		s.rerankIntent(cands, qa.Intent)
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return s.revs[cands[i].ri].doc.ID < s.revs[cands[j].ri].doc.ID
	})
	if len(cands) > limit {
		cands = cands[:limit]
	}
	hits := make([]Hit, len(cands))
	for i, c := range cands {
		d := &s.revs[c.ri].doc
		score := 0.0
		if norm > 0 {
			score = min(1, c.score/norm)
		}
		hits[i] = Hit{ID: d.ID, Question: d.Question, Answer: d.Answer, Category: d.Category, Score: math.Round(score*1e4) / 1e4}
	}
	return hits
}

// rerankIntent scales the candidates by how their best question's intent
// agrees with the query's (see Params.IntentMatch), divided by the best
// factor so that scores stay comparable with the bot's thresholds.
func (s *shard) rerankIntent(cands []cand, qi zh.Intent) {
	p := s.params
	best := 0.0
	for i := range cands {
		r := s.revs[cands[i].ri]
		ai := zh.Intent(0)
		if a := r.question(cands[i].unit); a != nil {
			ai = a.Intent
		} else if cands[i].unit < 0 && len(r.ana.Q) > 0 {
			ai = r.ana.Q[0].Intent // matched by its answer or tags only
		}
		f := 1.0
		switch {
		case qi != 0 && ai != 0 && qi&ai != 0:
			f += p.IntentMatch
		case qi != 0 && ai != 0:
			f -= p.IntentMiss
		case qi == 0 && ai != 0:
			f -= p.IntentExtra
		}
		cands[i].factor = f
		best = max(best, f)
	}
	for i := range cands {
		cands[i].score *= cands[i].factor / best
	}
}

// rerankDepth is how many leading candidates the coverage re-ranking sees.
const rerankDepth = 50

type cand struct {
	ri     int32
	unit   int32 // best question variant, -1 if none matched
	score  float64
	factor float64 // query-coverage factor (scratch)
}

// topK moves the k best candidates to the front of c (in no particular
// order), in O(n log k): a min-heap of the best k seen so far.
func topK(c []cand, k int) {
	if k >= len(c) || k <= 0 {
		return
	}
	h := c[:k]
	less := func(a, b cand) bool { return a.score < b.score }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= k {
				return
			}
			m := l
			if r := l + 1; r < k && less(h[r], h[l]) {
				m = r
			}
			if !less(h[m], h[i]) {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for i := k; i < len(c); i++ {
		if c[i].score > h[0].score {
			h[0], c[i] = c[i], h[0]
			down(0)
		}
	}
}

// queryTermSet maps each coverage channel's query terms to their weight.
func queryTermSet(qa *zh.Analysis) [zh.NumChannels]map[string]float32 {
	var m [zh.NumChannels]map[string]float32
	for _, c := range coverageChannels {
		m[c] = make(map[string]float32, len(qa.Channels[c]))
		for _, t := range qa.Channels[c] {
			m[c][t.Key] = t.W
		}
	}
	return m
}

var coverageChannels = []zh.Channel{zh.Words, zh.Bigrams}

// coverage is the IDF-weighted share of the candidate's best question that
// the query matches, in [0, 1].
func (s *shard) coverage(c *cand, qset [zh.NumChannels]map[string]float32) float64 {
	a := s.revs[c.ri].question(c.unit)
	if a == nil {
		return 0
	}
	var total, matched float64
	for _, ch := range coverageChannels {
		w := s.params.Weight[fQuestion][ch]
		for _, t := range a.Channels[ch] {
			df, _ := s.df(fQuestion, ch, t.Key)
			x := w * s.idf(fQuestion, ch, df)
			total += x
			if qw, ok := qset[ch][t.Key]; ok {
				matched += x * float64(min(qw, 1))
			}
		}
	}
	if total == 0 {
		return 0
	}
	return matched / total
}

// queryCover measures how much of a query an article holds anywhere: each
// query term (words and bigrams) weighs its query weight times its rarity;
// terms the user wrote count in the total, expansions only when found.
type queryCover struct {
	idx   [zh.NumChannels]map[string]int32
	w     []float64
	exp   []bool
	total float64
	found []bool
}

func (s *shard) newQueryCover(qa *zh.Analysis) *queryCover {
	qc := &queryCover{}
	for _, c := range coverageChannels {
		qc.idx[c] = make(map[string]int32, len(qa.Channels[c]))
		for _, t := range qa.Channels[c] {
			if _, dup := qc.idx[c][t.Key]; dup {
				continue
			}
			// The rarer of the term's question and answer IDF: a term
			// common in either says little about which article is meant.
			dq, _ := s.df(fQuestion, c, t.Key)
			da, _ := s.df(fAnswer, c, t.Key)
			idf := min(s.idf(fQuestion, c, dq), s.idf(fAnswer, c, da))
			w := s.params.Weight[fQuestion][c] * float64(min(t.W, 1)) * idf
			qc.idx[c][t.Key] = int32(len(qc.w))
			qc.w = append(qc.w, w)
			qc.exp = append(qc.exp, t.Exp)
			if !t.Exp {
				qc.total += w
			}
		}
	}
	qc.found = make([]bool, len(qc.w))
	return qc
}

// share returns the weighted share of the query found in r, in [0, 1].
func (qc *queryCover) share(r *rev) float64 {
	if qc.total == 0 {
		return 0
	}
	clear(qc.found)
	mark := func(a *zh.Analysis) {
		for _, c := range coverageChannels {
			m := qc.idx[c]
			for _, t := range a.Channels[c] {
				if i, ok := m[t.Key]; ok {
					qc.found[i] = true
				}
			}
		}
	}
	for i := range r.ana.Q {
		mark(&r.ana.Q[i])
	}
	mark(&r.ana.A)
	mark(&r.ana.M)
	var got float64
	for i, f := range qc.found {
		if f {
			got += qc.w[i]
		}
	}
	return min(1, got/qc.total)
}

func (s *shard) analyzer() *zh.Analyzer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.an
}
