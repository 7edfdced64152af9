package search

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"github.com/omnihub/hub/kb/zh"
)

// MeiliOptions configure the Meilisearch backend.
type MeiliOptions struct {
	// URL of the Meilisearch server, e.g. http://127.0.0.1:7700.
	URL string
	// Key is the API key sent as "Authorization: Bearer <key>".
	Key string
	// IndexPrefix starts every index uid (default "hub_kb_"); one index per
	// tenant, so tenants never share documents, settings or synonyms.
	IndexPrefix string
	// TaskPoll is how often a pending task is polled (default 50 ms).
	TaskPoll time.Duration
}

// Meili is the Meilisearch Index. Writes wait for Meilisearch to finish the
// task, so a search after a write sees it.
//
// Chinese: Meilisearch segments Chinese itself (jieba, via charabia) when the
// index declares the attributes' locale as cmn ("localizedAttributes"); the
// hub's normalisation (traditional to simplified, width, fillers) runs on
// the query first, and the shipped lexicon plus the tenant's admin synonyms
// go to the index's synonyms setting.
type Meili struct {
	client meilisearch.ServiceManager
	opts   MeiliOptions
	an     *zh.Analyzer

	mu    sync.Mutex
	ready map[string]bool // index uids created and configured
}

var _ Index = (*Meili)(nil)

// NewMeili returns a Meilisearch-backed index. It does not contact the
// server until the first call.
func NewMeili(opts MeiliOptions) (*Meili, error) {
	if opts.URL == "" {
		return nil, errors.New("search: meilisearch url is required")
	}
	if opts.IndexPrefix == "" {
		opts.IndexPrefix = "hub_kb_"
	}
	if opts.TaskPoll <= 0 {
		opts.TaskPoll = 50 * time.Millisecond
	}
	an, err := zh.NewAnalyzer(nil)
	if err != nil {
		return nil, err
	}
	var copts []meilisearch.Option
	if opts.Key != "" {
		copts = append(copts, meilisearch.WithAPIKey(opts.Key))
	}
	return &Meili{
		client: meilisearch.New(opts.URL, copts...),
		opts:   opts,
		an:     an,
		ready:  map[string]bool{},
	}, nil
}

// meiliDoc is the document shape stored in Meilisearch.
type meiliDoc struct {
	ID       string   `json:"id"`
	Question string   `json:"question"`
	Similar  []string `json:"similar_questions"`
	// Answer is returned as stored; AnswerText (tags stripped) is searched.
	Answer       string   `json:"answer"`
	AnswerText   string   `json:"answer_text"`
	Category     string   `json:"category"`
	CategoryPath []string `json:"category_path"`
	Tags         []string `json:"tags"`
	ValidFrom    int64    `json:"valid_from"`
	ValidTo      int64    `json:"valid_to"`
	// Hash is Document.Hash in decimal (a string: JSON numbers lose
	// precision above 2^53).
	Hash string `json:"hash"`
}

// maxValidTo stands for "no end" in the valid_to filter.
const maxValidTo = math.MaxInt32 * 16

func toMeili(d *Document) meiliDoc {
	md := meiliDoc{
		ID: d.ID, Question: d.Question, Similar: d.Similar,
		Answer: d.Answer, AnswerText: zh.StripHTML(d.Answer),
		Category: d.Category, Tags: d.Tags,
		ValidFrom: unixOrZero(d.ValidFrom), ValidTo: maxValidTo,
		Hash: strconv.FormatUint(d.Hash(), 10),
	}
	if !d.ValidTo.IsZero() {
		md.ValidTo = d.ValidTo.Unix()
	}
	if md.Similar == nil {
		md.Similar = []string{}
	}
	if md.Tags == nil {
		md.Tags = []string{}
	}
	parts := strings.Split(d.Category, "/")
	for i := range parts {
		if d.Category != "" {
			md.CategoryPath = append(md.CategoryPath, strings.Join(parts[:i+1], "/"))
		}
	}
	if md.CategoryPath == nil {
		md.CategoryPath = []string{}
	}
	return md
}

var safeUID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// indexUID maps a tenant to its index uid: the tenant itself when it is a
// valid uid, a hash of it otherwise.
func (m *Meili) indexUID(tenant string) string {
	if safeUID.MatchString(tenant) {
		return m.opts.IndexPrefix + tenant
	}
	h := sha256.Sum256([]byte(tenant))
	return m.opts.IndexPrefix + "h" + hex.EncodeToString(h[:12])
}

// settings returns the index settings for a lexicon.
func meiliSettings(lex *zh.Lexicon) *meilisearch.Settings {
	return &meilisearch.Settings{
		// Attribute order is a ranking signal: the question counts most.
		SearchableAttributes: []string{"question", "similar_questions", "tags", "category", "answer_text"},
		DisplayedAttributes:  []string{"id", "question", "answer", "category", "hash"},
		FilterableAttributes: []string{"valid_from", "valid_to", "category_path"},
		RankingRules:         []string{"words", "typo", "proximity", "attribute", "sort", "exactness"},
		LocalizedAttributes:  []*meilisearch.LocalizedAttributes{{Locales: []string{"cmn"}, AttributePatterns: []string{"*"}}},
		Synonyms:             meiliSynonyms(lex),
	}
}

// meiliSynonyms turns synonym groups into Meilisearch's multi-way form: every
// term lists every other term of its groups.
func meiliSynonyms(lex *zh.Lexicon) map[string][]string {
	out := map[string][]string{}
	for _, g := range lex.Synonyms() {
		for _, a := range g {
			for _, b := range g {
				if a != b && !contains(out[a], b) {
					out[a] = append(out[a], b)
				}
			}
		}
	}
	return out
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// wait blocks until task ends and returns its error, if any.
func (m *Meili) wait(ctx context.Context, ti *meilisearch.TaskInfo, err error) error {
	if err != nil {
		return fmt.Errorf("meilisearch: %w", err)
	}
	t, err := m.client.WaitForTaskWithContext(ctx, ti.TaskUID, m.opts.TaskPoll)
	if err != nil {
		return fmt.Errorf("meilisearch task %d: %w", ti.TaskUID, err)
	}
	if t.Status == meilisearch.TaskStatusFailed {
		return fmt.Errorf("meilisearch task %d failed: %s: %s", ti.TaskUID, t.Error.Code, t.Error.Message)
	}
	return nil
}

// ensure creates and configures the tenant's index once per process.
func (m *Meili) ensure(ctx context.Context, tenant string) (string, error) {
	if tenant == "" {
		return "", ErrNoTenant
	}
	uid := m.indexUID(tenant)
	m.mu.Lock()
	ok := m.ready[uid]
	m.mu.Unlock()
	if ok {
		return uid, nil
	}
	ti, err := m.client.CreateIndexWithContext(ctx, &meilisearch.IndexConfig{Uid: uid, PrimaryKey: "id"})
	if err != nil {
		return "", fmt.Errorf("meilisearch create index: %w", err)
	}
	t, err := m.client.WaitForTaskWithContext(ctx, ti.TaskUID, m.opts.TaskPoll)
	if err != nil {
		return "", fmt.Errorf("meilisearch create index: %w", err)
	}
	if t.Status == meilisearch.TaskStatusFailed && t.Error.Code != "index_already_exists" {
		return "", fmt.Errorf("meilisearch create index: %s: %s", t.Error.Code, t.Error.Message)
	}
	if t.Status == meilisearch.TaskStatusSucceeded {
		// A new index gets the shipped settings; an existing one keeps
		// its settings (and admin synonyms) as they are.
		idx := m.client.Index(uid)
		ti, err := idx.UpdateSettingsWithContext(ctx, meiliSettings(m.an.Lexicon()))
		if err := m.wait(ctx, ti, err); err != nil {
			return "", err
		}
	}
	m.mu.Lock()
	m.ready[uid] = true
	m.mu.Unlock()
	return uid, nil
}

// Search implements Index.
func (m *Meili) Search(ctx context.Context, tenant string, q Query) ([]Hit, error) {
	uid, err := m.ensure(ctx, tenant)
	if err != nil {
		return nil, err
	}
	now := q.Now
	if now.IsZero() {
		now = time.Now()
	}
	text := m.an.Query(q.Text).Clean
	var conds []string
	if !q.IncludeInactive {
		conds = append(conds, fmt.Sprintf("valid_from <= %d AND valid_to >= %d", now.Unix(), now.Unix()))
	}
	if q.Category != "" {
		conds = append(conds, "category_path = "+strconv.Quote(q.Category))
	}
	req := &meilisearch.SearchRequest{
		Limit:                int64(clampLimit(q.Limit)),
		ShowRankingScore:     true,
		MatchingStrategy:     meilisearch.Frequency,
		AttributesToRetrieve: []string{"id", "question", "answer", "category"},
	}
	if len(conds) > 0 {
		req.Filter = strings.Join(conds, " AND ")
	}
	res, err := m.client.Index(uid).SearchWithContext(ctx, text, req)
	if err != nil {
		return nil, fmt.Errorf("meilisearch search: %w", err)
	}
	hits := make([]Hit, 0, len(res.Hits))
	for _, h := range res.Hits {
		var v struct {
			ID       string  `json:"id"`
			Question string  `json:"question"`
			Answer   string  `json:"answer"`
			Category string  `json:"category"`
			Score    float64 `json:"_rankingScore"`
		}
		if err := h.DecodeInto(&v); err != nil {
			return nil, fmt.Errorf("meilisearch hit: %w", err)
		}
		hits = append(hits, Hit{ID: v.ID, Question: v.Question, Answer: v.Answer, Category: v.Category, Score: v.Score})
	}
	return hits, nil
}

// meiliBatch is the number of documents sent per request.
const meiliBatch = 1000

// Upsert implements Index.
func (m *Meili) Upsert(ctx context.Context, tenant string, docs ...Document) error {
	uid, err := m.ensure(ctx, tenant)
	if err != nil {
		return err
	}
	pk := "id"
	for start := 0; start < len(docs); start += meiliBatch {
		batch := docs[start:min(len(docs), start+meiliBatch)]
		md := make([]meiliDoc, len(batch))
		for i := range batch {
			if batch[i].ID == "" {
				return ErrEmptyID
			}
			md[i] = toMeili(&batch[i])
		}
		ti, err := m.client.Index(uid).AddDocumentsWithContext(ctx, md, &meilisearch.DocumentOptions{PrimaryKey: &pk})
		if err := m.wait(ctx, ti, err); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements Index.
func (m *Meili) Delete(ctx context.Context, tenant string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	uid, err := m.ensure(ctx, tenant)
	if err != nil {
		return err
	}
	ti, err := m.client.Index(uid).DeleteDocumentsWithContext(ctx, ids, nil)
	return m.wait(ctx, ti, err)
}

// Replace implements Index. Meilisearch runs an index's tasks in order, so
// the deletion and the additions apply in sequence; a search in between may
// see the index partly filled.
func (m *Meili) Replace(ctx context.Context, tenant string, docs []Document) error {
	uid, err := m.ensure(ctx, tenant)
	if err != nil {
		return err
	}
	ti, err := m.client.Index(uid).DeleteAllDocumentsWithContext(ctx, nil)
	if err := m.wait(ctx, ti, err); err != nil {
		return err
	}
	return m.Upsert(ctx, tenant, docs...)
}

// State implements Index: it pages through the documents' hashes.
func (m *Meili) State(ctx context.Context, tenant string) (State, error) {
	uid, err := m.ensure(ctx, tenant)
	if err != nil {
		return State{}, err
	}
	var st State
	for offset := int64(0); ; offset += meiliBatch {
		var res meilisearch.DocumentsResult
		err := m.client.Index(uid).GetDocumentsWithContext(ctx, &meilisearch.DocumentsQuery{
			Offset: offset, Limit: meiliBatch, Fields: []string{"id", "hash"},
		}, &res)
		if err != nil {
			return State{}, fmt.Errorf("meilisearch documents: %w", err)
		}
		for _, h := range res.Results {
			var v struct {
				Hash string `json:"hash"`
			}
			if err := h.DecodeInto(&v); err != nil {
				return State{}, fmt.Errorf("meilisearch document: %w", err)
			}
			n, _ := strconv.ParseUint(v.Hash, 10, 64)
			st.Checksum += n
			st.Count++
		}
		if len(res.Results) < meiliBatch {
			return st, nil
		}
	}
}

// SetSynonyms implements Index: the shipped lexicon with the tenant's groups
// merged on top replaces the index's synonyms setting.
func (m *Meili) SetSynonyms(ctx context.Context, tenant string, groups [][]string) error {
	uid, err := m.ensure(ctx, tenant)
	if err != nil {
		return err
	}
	syn := meiliSynonyms(zh.Base().WithSynonyms(groups))
	ti, err := m.client.Index(uid).UpdateSettingsWithContext(ctx, &meilisearch.Settings{Synonyms: syn})
	return m.wait(ctx, ti, err)
}

// Close implements Index.
func (m *Meili) Close() error {
	m.client.Close()
	return nil
}
