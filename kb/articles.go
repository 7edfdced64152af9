package kb

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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
	if err := s.articles.InsertOne(ctx, a); err != nil {
		return nil, err
	}
	if err := s.history.InsertOne(ctx, revisionOf(a, ActionCreated)); err != nil {
		s.log.Error("kb history write failed", "article", a.ID, "err", err)
	}
	s.indexed(t, st, s.idx.Upsert(ctx, string(t), a.document()))
	return a, nil
}

// checkUniqueLocked fails when another article than self has the question.
func (s *Service) checkUniqueLocked(ctx context.Context, key, question string, self ArticleID) error {
	var other Article
	err := s.articles.FindOne(ctx, bson.M{"qkey": key}, &other, options.FindOne().SetProjection(bson.M{"_id": 1}))
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return nil
	case err != nil:
		return err
	case other.ID == self:
		return nil
	}
	return &store.DuplicateError{Kind: "article", Field: "question", Value: question}
}

func revisionOf(a *Article, action string) *Revision {
	return &Revision{ID: revisionID(a.ID, a.Version), ArticleID: a.ID, Version: a.Version, Action: action,
		Editor: a.UpdatedBy, EditorName: a.UpdatedByName, At: a.UpdatedAt, Content: a.Content}
}

// Article returns one article (any state: enabled or not, valid or not).
func (s *Service) Article(ctx context.Context, id ArticleID) (*Article, error) {
	if _, _, err := s.tenant(ctx); err != nil {
		return nil, err
	}
	var a Article
	if err := s.articles.FindOne(ctx, bson.M{"_id": string(id)}, &a); err != nil {
		return nil, store.NotFound(err, "article", string(id))
	}
	return &a, nil
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
	res, err := s.articles.UpdateOne(ctx, bson.M{"_id": string(a.ID)}, contentUpdate(a))
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return &store.NotFoundError{Kind: "article", ID: string(a.ID)}
	}
	if err := s.history.InsertOne(ctx, revisionOf(a, action)); err != nil {
		s.log.Error("kb history write failed", "article", a.ID, "err", err)
	}
	return nil
}

// contentUpdate sets an article's editable fields and version, leaving the
// feedback counters alone.
func contentUpdate(a *Article) bson.M {
	set := bson.M{
		"question": a.Question, "similar_questions": nonNil(a.Similar), "answer": a.Answer,
		"category": a.Category, "tags": nonNil(a.Tags), "enabled": a.Enabled, "qkey": a.QKey,
		"updated_at": a.UpdatedAt, "updated_by": a.UpdatedBy, "updated_by_name": a.UpdatedByName,
		"version": a.Version,
	}
	unset := bson.M{}
	if a.ValidFrom != nil {
		set["valid_from"] = *a.ValidFrom
	} else {
		unset["valid_from"] = ""
	}
	if a.ValidTo != nil {
		set["valid_to"] = *a.ValidTo
	} else {
		unset["valid_to"] = ""
	}
	u := bson.M{"$set": set}
	if len(unset) > 0 {
		u["$unset"] = unset
	}
	return u
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
	n, err := s.articles.DeleteOne(ctx, bson.M{"_id": string(id)})
	if err != nil {
		return err
	}
	if n == 0 {
		return &store.NotFoundError{Kind: "article", ID: string(id)}
	}
	ed := editorOf(ctx)
	cur.Version++
	cur.UpdatedAt, cur.UpdatedBy, cur.UpdatedByName = s.now(), ed.ID, ed.Name
	if err := s.history.InsertOne(ctx, revisionOf(cur, ActionDeleted)); err != nil {
		s.log.Error("kb history write failed", "article", id, "err", err)
	}
	s.indexed(t, st, s.idx.Delete(ctx, string(t), string(id)))
	return nil
}

// maxHistory caps the versions History returns (the newest ones).
const maxHistory = 200

// History returns an article's versions, newest first, each with its editor
// and time; a deleted article's history stays readable. Versions are read
// by id (article id and version number), which the embedded store serves
// without scanning.
func (s *Service) History(ctx context.Context, id ArticleID) ([]Revision, error) {
	if _, _, err := s.tenant(ctx); err != nil {
		return nil, err
	}
	get := func(v int) (*Revision, error) {
		var r Revision
		err := s.history.FindOne(ctx, bson.M{"_id": revisionID(id, v)}, &r)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, nil
		}
		return &r, err
	}
	var out []Revision
	last := 0
	if a, err := s.Article(ctx, id); err == nil {
		last = a.Version
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	} else {
		// Deleted (or never existed): walk up to the last version.
		for v := 1; ; v++ {
			r, err := get(v)
			if err != nil {
				return nil, err
			}
			if r == nil {
				break
			}
			last = v
		}
		if last == 0 {
			return nil, &store.NotFoundError{Kind: "article", ID: string(id)}
		}
	}
	for v := last; v >= 1 && len(out) < maxHistory; v-- {
		r, err := get(v)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, nil
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
// and out-of-period articles included. It queries the store (a scan on the
// embedded store, fine at administration scale); customer-facing lookups
// go to the search index instead.
func (s *Service) ListArticles(ctx context.Context, q ListQuery) (*ArticlePage, error) {
	if _, _, err := s.tenant(ctx); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	var and bson.A
	if q.Category != "" {
		cat, err := NormalizeCategory(q.Category)
		if err != nil {
			return nil, fieldErr("category", "%s", err.Error())
		}
		and = append(and, bson.M{"$or": bson.A{
			bson.M{"category": cat},
			bson.M{"category": bson.M{"$regex": "^" + regexp.QuoteMeta(cat+"/")}},
		}})
	}
	if qq := strings.TrimSpace(q.Q); qq != "" {
		re := bson.M{"$regex": regexp.QuoteMeta(qq), "$options": "i"}
		and = append(and, bson.M{"$or": bson.A{bson.M{"question": re}, bson.M{"similar_questions": re}}})
	}
	if q.Enabled != nil {
		and = append(and, bson.M{"enabled": *q.Enabled})
	}
	filter := bson.M{}
	if len(and) > 0 {
		filter["$and"] = and
	}
	total, err := s.articles.CountDocuments(ctx, filter)
	if err != nil {
		return nil, err
	}
	if q.After != "" {
		and = append(and, bson.M{"_id": bson.M{"$lt": q.After}})
		filter["$and"] = and
	}
	var arts []Article
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(q.Limit + 1))
	if err := s.articles.FindAll(ctx, filter, &arts, opts); err != nil {
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
