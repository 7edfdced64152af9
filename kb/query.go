package kb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/kb/search"
	"github.com/omnihub/hub/kb/zh"
)

// Hit is one search result: {"id","question","answer","category","score"}.
type Hit = search.Hit

// MaxQueryLen caps the text searched (runes); longer text keeps its end,
// where a chat's latest words are.
const MaxQueryLen = 200

// Search returns the articles best matching q, best first, among those
// customers and the bot may see: enabled and within their validity period.
// It reads only the search index.
func (s *Service) Search(ctx context.Context, q string, limit int) ([]Hit, error) {
	return s.search(ctx, search.Query{Text: q, Limit: limit})
}

// SearchAll is Search over every article, disabled or out of period
// included: for administrators editing the knowledge base.
func (s *Service) SearchAll(ctx context.Context, q string, limit int) ([]Hit, error) {
	return s.search(ctx, search.Query{Text: q, Limit: limit, IncludeInactive: true})
}

func (s *Service) search(ctx context.Context, q search.Query) ([]Hit, error) {
	q.Text = clip(zh.StripHTML(q.Text), MaxQueryLen)
	if strings.TrimSpace(q.Text) == "" {
		return []Hit{}, nil
	}
	t, _, err := s.ready(ctx)
	if err != nil {
		return nil, err
	}
	q.Now = s.opts.Now()
	hits, err := s.idx.Search(ctx, string(t), q)
	if err != nil {
		return nil, err
	}
	if hits == nil {
		hits = []Hit{}
	}
	return hits, nil
}

// clip keeps the last n runes of s.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[len(r)-n:])
}

// Suggest returns articles for an agent to send, given what the customer
// wrote (a message, or the last few joined): like Search, without the
// weakest matches (see SuggestFloor).
func (s *Service) Suggest(ctx context.Context, text string, limit int) ([]Hit, error) {
	hits, err := s.Search(ctx, text, limit)
	if err != nil {
		return nil, err
	}
	floor := s.suggestFloor()
	out := hits[:0]
	for _, h := range hits {
		if h.Score >= floor {
			out = append(out, h)
		}
	}
	return out, nil
}

// Helpful counts a customer's or agent's feedback on an article.
func (s *Service) Helpful(ctx context.Context, id ArticleID, helpful bool) error {
	if _, _, err := s.tenant(ctx); err != nil {
		return err
	}
	return s.b.AddFeedback(ctx, id, helpful)
}

// Unanswered is a question the bot could not answer confidently, counted
// over every time it was asked (same normalised text).
type Unanswered struct {
	ID string `bson:"_id" json:"id"`
	// Question is the latest wording asked.
	Question   string    `bson:"question" json:"question"`
	Normalized string    `bson:"normalized" json:"normalized"`
	Count      int64     `bson:"count" json:"count"`
	FirstAsked time.Time `bson:"first_asked" json:"first_asked"`
	LastAsked  time.Time `bson:"last_asked" json:"last_asked"`
	// Group is the skill group it was last asked in.
	Group string `bson:"group" json:"group"`
	// BestScore is the best hit's score the last time (0: no hit).
	BestScore float64 `bson:"best_score" json:"best_score"`
}

// unansweredID dedups by the normalised text; the tenant is part of the
// hash so ids stay unique across tenants.
func unansweredID(t store.TenantID, norm string) string {
	h := sha256.Sum256([]byte(string(t) + "\x00" + norm))
	return "u" + hex.EncodeToString(h[:15])
}

// RecordUnanswered logs a question nobody answered (the bot calls it; a
// channel may too). Questions without letters or digits are ignored.
func (s *Service) RecordUnanswered(ctx context.Context, group, question string, bestScore float64) error {
	t, _, err := s.tenant(ctx)
	if err != nil {
		return err
	}
	question = clip(zh.StripHTML(question), MaxQuestionLen)
	norm := qkeyOf(question)
	if norm == "" {
		return nil
	}
	now := s.now()
	return s.b.RecordUnanswered(ctx, &Unanswered{ID: unansweredID(t, norm), Question: question, Normalized: norm,
		Count: 1, FirstAsked: now, LastAsked: now, Group: group, BestScore: bestScore})
}

// UnansweredList returns the most asked unanswered questions first.
func (s *Service) UnansweredList(ctx context.Context, limit int) ([]Unanswered, error) {
	if _, _, err := s.tenant(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	out, err := s.b.Unanswered(ctx, limit)
	if out == nil {
		out = []Unanswered{}
	}
	return out, err
}

// DismissUnanswered removes an unanswered question from the list.
func (s *Service) DismissUnanswered(ctx context.Context, id string) error {
	if _, _, err := s.tenant(ctx); err != nil {
		return err
	}
	return s.b.DismissUnanswered(ctx, id)
}

// HasArticles reports whether the context's tenant has any article in its
// index: the bot answers first only when there is something to answer with.
func (s *Service) HasArticles(ctx context.Context) (bool, error) {
	t, _, err := s.ready(ctx)
	if err != nil {
		return false, err
	}
	st, err := s.idx.State(ctx, string(t))
	if err != nil {
		return false, err
	}
	return st.Count > 0, nil
}
