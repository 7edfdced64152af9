package kb

import (
	"context"
	"errors"
	"strings"

	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/store"
)

// CreateArticle validates and saves a new article (version 1) and indexes
// it. A question that another article already has fails with a
// *store.DuplicateError on the field "question".
func (s *Service) CreateArticle(ctx context.Context, in ArticleInput) (*Article, error) {
	c, err := in.content(true)
	if err != nil {
		return nil, err
	}
	t, st, err := s.ready(ctx)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	key := qkeyOf(c.Question)
	if err := s.checkUniqueLocked(ctx, key, c.Question, ""); err != nil {
		return nil, err
	}
	now, ed := s.now(), editorOf(ctx)
	a := &Article{ID: ArticleID(ids.NewAt(now)), Content: c, QKey: key,
		CreatedBy: ed.ID, CreatedByName: ed.Name, CreatedAt: now,
		UpdatedBy: ed.ID, UpdatedByName: ed.Name, UpdatedAt: now, Version: 1}
	if err := s.b.CreateArticle(ctx, a, revisionOf(a, ActionCreated)); err != nil {
		s.writeFailed(st)
		return nil, err
	}
	s.indexed(t, st, s.idx.Upsert(ctx, string(t), a.document()))
	return a, nil
}

// checkUniqueLocked fails when another article than self has the question.
func (s *Service) checkUniqueLocked(ctx context.Context, key, question string, self ArticleID) error {
	other, err := s.b.ArticleByQKey(ctx, key)
	if err != nil || other == "" || other == self {
		return err
	}
	return &store.DuplicateError{Kind: "article", Field: "question", Value: question}
}

func revisionOf(a *Article, action string) *Revision {
	return &Revision{ArticleID: a.ID, Version: a.Version, Action: action,
		Editor: a.UpdatedBy, EditorName: a.UpdatedByName, At: a.UpdatedAt, Content: a.Content}
}

// Article returns one article (any state: enabled or not, valid or not).
func (s *Service) Article(ctx context.Context, id ArticleID) (*Article, error) {
	if _, _, err := s.tenant(ctx); err != nil {
		return nil, err
	}
	return s.b.Article(ctx, id)
}

// UpdateArticle replaces an article's content (Enabled nil keeps the current
// value; validity bounds left out are cleared), records the new version in
// the history and re-indexes it. Saving identical content changes nothing.
func (s *Service) UpdateArticle(ctx context.Context, id ArticleID, in ArticleInput) (*Article, error) {
	t, st, err := s.ready(ctx)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	cur, err := s.Article(ctx, id)
	if err != nil {
		return nil, err
	}
	if in.Version != 0 && in.Version != cur.Version {
		return nil, ErrVersionConflict
	}
	c, err := in.content(cur.Enabled)
	if err != nil {
		return nil, err
	}
	if c.equal(&cur.Content) {
		return cur, nil
	}
	key := qkeyOf(c.Question)
	if key != cur.QKey {
		if err := s.checkUniqueLocked(ctx, key, c.Question, id); err != nil {
			return nil, err
		}
	}
	a := *cur
	a.Content, a.QKey = c, key
	if err := s.saveLocked(ctx, &a, ActionUpdated); err != nil {
		s.writeFailed(st)
		return nil, err
	}
	s.indexed(t, st, s.idx.Upsert(ctx, string(t), a.document()))
	return &a, nil
}

// saveLocked writes a's content as its next version and records it in the
// history; a holds the new content on entry and the saved article on return.
func (s *Service) saveLocked(ctx context.Context, a *Article, action string) error {
	ed := editorOf(ctx)
	a.Version++
	a.UpdatedAt, a.UpdatedBy, a.UpdatedByName = s.now(), ed.ID, ed.Name
	return s.b.UpdateArticle(ctx, a, revisionOf(a, action))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// DeleteArticle removes an article from the store and the index; its
// history stays, ending with a "deleted" version.
func (s *Service) DeleteArticle(ctx context.Context, id ArticleID) error {
	t, st, err := s.ready(ctx)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	cur, err := s.Article(ctx, id)
	if err != nil {
		return err
	}
	ed := editorOf(ctx)
	cur.Version++
	cur.UpdatedAt, cur.UpdatedBy, cur.UpdatedByName = s.now(), ed.ID, ed.Name
	if err := s.b.DeleteArticle(ctx, id, revisionOf(cur, ActionDeleted)); err != nil {
		s.writeFailed(st)
		return err
	}
	s.indexed(t, st, s.idx.Delete(ctx, string(t), string(id)))
	return nil
}

// maxHistory caps the versions History returns (the newest ones).
const maxHistory = 200

// History returns an article's versions, newest first (at most
// maxHistory), each with its editor and time; a deleted article's history
// stays readable.
func (s *Service) History(ctx context.Context, id ArticleID) ([]Revision, error) {
	if _, _, err := s.tenant(ctx); err != nil {
		return nil, err
	}
	_, err := s.Article(ctx, id)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	revs, err := s.b.Revisions(ctx, id, maxHistory)
	if err != nil {
		return nil, err
	}
	if !exists && len(revs) == 0 {
		return nil, &store.NotFoundError{Kind: "article", ID: string(id)}
	}
	if revs == nil {
		revs = []Revision{}
	}
	return revs, nil
}

// ListQuery selects articles for the admin listing.
type ListQuery struct {
	// Category keeps that category and the ones below it.
	Category string
	// Q keeps articles whose question or a similar question contains it
	// (case-insensitive).
	Q string
	// Enabled, when set, keeps enabled or disabled articles only.
	Enabled *bool
	// After is the cursor from the previous page (newest first).
	After string
	// Limit is the page size (default 50, at most 500).
	Limit int
}

// ArticlePage is one page of a listing.
type ArticlePage struct {
	Articles []Article `json:"articles"`
	// Total counts every article matching the filters.
	Total int64 `json:"total"`
	// Next is the cursor of the next page; empty on the last one.
	Next string `json:"next,omitempty"`
}

// ListArticles lists articles newest first, for administrators: disabled
// and out-of-period articles included. It queries the store;
// customer-facing lookups go to the search index instead.
func (s *Service) ListArticles(ctx context.Context, q ListQuery) (*ArticlePage, error) {
	if _, _, err := s.tenant(ctx); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	f := ArticleFilter{Q: strings.TrimSpace(q.Q), Enabled: q.Enabled, Before: ArticleID(q.After), Limit: q.Limit + 1}
	if q.Category != "" {
		cat, err := NormalizeCategory(q.Category)
		if err != nil {
			return nil, fieldErr("category", "%s", err.Error())
		}
		f.Category = cat
	}
	arts, total, err := s.b.ListArticles(ctx, f)
	if err != nil {
		return nil, err
	}
	page := &ArticlePage{Articles: arts, Total: total}
	if len(arts) > q.Limit {
		page.Articles = arts[:q.Limit]
		page.Next = string(arts[q.Limit-1].ID)
	}
	if page.Articles == nil {
		page.Articles = []Article{}
	}
	return page, nil
}
