package kb

import (
	"context"
)

// Backend is the store the knowledge base needs: articles with their
// history, synonyms, unanswered questions and bot settings, every call
// scoped to the tenant of ctx (a context without one fails with
// store.ErrNoTenant; another tenant's rows are never read or changed).
// Implementations: storage/sqlite (embedded) and storage/mongo; both pass
// the contract suite in kb/kbtest.
//
// The search index (kb/search) is not part of it: it is derived data the
// Service keeps in step with the Backend.
type Backend interface {
	// Article returns one article, or a *store.NotFoundError.
	Article(ctx context.Context, id ArticleID) (*Article, error)
	// ArticleByQKey returns the id of the article whose question key
	// (Article.QKey) is qkey, or "" when there is none.
	ArticleByQKey(ctx context.Context, qkey string) (ArticleID, error)
	// Articles returns up to limit articles whose ids follow after (all
	// from the first when after is ""), in id order (oldest first): the
	// tenant's whole set, a page at a time.
	Articles(ctx context.Context, after ArticleID, limit int) ([]Article, error)
	// ListArticles returns the page of articles matching f, newest first,
	// and how many match f regardless of f.Before and f.Limit.
	ListArticles(ctx context.Context, f ArticleFilter) ([]Article, int64, error)
	// CreateArticle stores a new article and its first revision together.
	CreateArticle(ctx context.Context, a *Article, rev *Revision) error
	// UpdateArticle stores a's content, question key, editor, time and
	// version (the feedback counters stay as stored) with its revision;
	// an article that does not exist is a *store.NotFoundError.
	UpdateArticle(ctx context.Context, a *Article, rev *Revision) error
	// DeleteArticle removes an article and records its last revision
	// ("deleted"); one that does not exist is a *store.NotFoundError and
	// nothing is recorded.
	DeleteArticle(ctx context.Context, id ArticleID, rev *Revision) error
	// ImportArticles stores the new articles, the new versions of updated
	// ones (as UpdateArticle) and every revision, at once.
	ImportArticles(ctx context.Context, added, updated []*Article, revs []*Revision) error
	// AddFeedback counts one helpful (or not helpful) vote on an article; a
	// missing article is a *store.NotFoundError.
	AddFeedback(ctx context.Context, id ArticleID, helpful bool) error
	// Revisions returns an article's revisions, newest first, at most
	// limit; none (and no error) for an unknown article.
	Revisions(ctx context.Context, id ArticleID, limit int) ([]Revision, error)

	// Synonyms returns the tenant's synonyms, nil when never set.
	Synonyms(ctx context.Context) (*Synonyms, error)
	// SetSynonyms replaces the tenant's synonyms.
	SetSynonyms(ctx context.Context, s *Synonyms) error

	// RecordUnanswered counts one more asking of u.ID: the first one stores
	// u (Count 1, FirstAsked = LastAsked); later ones add one to Count and
	// replace the question, group, score and LastAsked.
	RecordUnanswered(ctx context.Context, u *Unanswered) error
	// Unanswered returns the most asked questions first (then the most
	// recently asked), at most limit.
	Unanswered(ctx context.Context, limit int) ([]Unanswered, error)
	// DismissUnanswered removes one; a missing id is a *store.NotFoundError.
	DismissUnanswered(ctx context.Context, id string) error

	// BotSettings returns a group's stored bot settings, nil when none.
	BotSettings(ctx context.Context, group string) (*BotSettings, error)
	// SetBotSettings stores s as the settings of the group s.Group.
	SetBotSettings(ctx context.Context, s *BotSettings) error
}

// ArticleFilter selects articles for Backend.ListArticles.
type ArticleFilter struct {
	// Category keeps that category (a normalised path) and the ones below
	// it; "" keeps all.
	Category string
	// Q keeps articles whose question or one of the similar questions
	// contains it, ignoring case; "" keeps all.
	Q string
	// Enabled, when set, keeps enabled or disabled articles only.
	Enabled *bool
	// Before keeps articles with smaller ids (the cursor); "" starts from
	// the newest.
	Before ArticleID
	// Limit is the page size (at least 1).
	Limit int
}
