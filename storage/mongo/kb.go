package mongo

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/kb"
)

// KB is the knowledge base's store (kb.Backend) on MongoDB, in the
// tenant-scoped collections kb_articles, kb_article_history, kb_synonyms,
// kb_unanswered and kb_bot_settings.
//
// MongoDB has no transaction here (a standalone server or the test
// stand-in may not offer them): an article is written before its revision,
// and an import writes its articles in batches, so a failure midway leaves
// what was written before it (the error says so; importing the file again
// completes it).
type KB struct {
	articles, history, synonyms, unanswered, bots *store.Collection
}

var _ kb.Backend = (*KB)(nil)

// kbBatch is the number of documents inserted per request.
const kbBatch = 500

// NewKB prepares the collections and their indexes.
func NewKB(ctx context.Context, db *store.DB) (*KB, error) {
	s := &KB{
		articles: db.Collection("kb_articles"), history: db.Collection("kb_article_history"),
		synonyms: db.Collection("kb_synonyms"), unanswered: db.Collection("kb_unanswered"),
		bots: db.Collection("kb_bot_settings"),
	}
	t := bson.E{Key: store.TenantField, Value: 1}
	if err := s.articles.EnsureIndexes(ctx,
		mongo.IndexModel{Keys: bson.D{t, {Key: "qkey", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{t, {Key: "category", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{t, {Key: "_id", Value: 1}}},
	); err != nil {
		return nil, err
	}
	if err := s.history.EnsureIndexes(ctx,
		mongo.IndexModel{Keys: bson.D{t, {Key: "article_id", Value: 1}, {Key: "version", Value: -1}}},
	); err != nil {
		return nil, err
	}
	if err := s.unanswered.EnsureIndexes(ctx,
		mongo.IndexModel{Keys: bson.D{t, {Key: "count", Value: -1}, {Key: "last_asked", Value: -1}}},
	); err != nil {
		return nil, err
	}
	return s, nil
}

// kbRevisionDoc is a revision as stored: _id = "<article>-v<version>".
type kbRevisionDoc struct {
	ID          string `bson:"_id"`
	kb.Revision `bson:",inline"`
}

func kbRevisionID(id kb.ArticleID, version int) string {
	return fmt.Sprintf("%s-v%06d", id, version)
}

// putRevision stores a revision (again: a retry after a failure replaces
// it).
func (s *KB) putRevision(ctx context.Context, r *kb.Revision) error {
	id := kbRevisionID(r.ArticleID, r.Version)
	_, err := s.history.ReplaceOne(ctx, bson.M{"_id": id}, &kbRevisionDoc{ID: id, Revision: *r}, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("article %s saved, its history entry not: %w", r.ArticleID, err)
	}
	return nil
}

// Article implements kb.Backend.
func (s *KB) Article(ctx context.Context, id kb.ArticleID) (*kb.Article, error) {
	var a kb.Article
	if err := s.articles.FindOne(ctx, bson.M{"_id": string(id)}, &a); err != nil {
		return nil, store.NotFound(err, "article", string(id))
	}
	return &a, nil
}

// ArticleByQKey implements kb.Backend.
func (s *KB) ArticleByQKey(ctx context.Context, qkey string) (kb.ArticleID, error) {
	var a struct {
		ID string `bson:"_id"`
	}
	err := s.articles.FindOne(ctx, bson.M{"qkey": qkey}, &a, options.FindOne().SetProjection(bson.M{"_id": 1}))
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", nil
	}
	return kb.ArticleID(a.ID), err
}

// Articles implements kb.Backend.
func (s *KB) Articles(ctx context.Context, after kb.ArticleID, limit int) ([]kb.Article, error) {
	var out []kb.Article
	err := s.articles.FindAll(ctx, bson.M{"_id": bson.M{"$gt": string(after)}}, &out,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(max(limit, 1))))
	return out, err
}

// ListArticles implements kb.Backend.
func (s *KB) ListArticles(ctx context.Context, f kb.ArticleFilter) ([]kb.Article, int64, error) {
	var and bson.A
	if f.Category != "" {
		and = append(and, bson.M{"$or": bson.A{
			bson.M{"category": f.Category},
			bson.M{"category": bson.M{"$regex": "^" + regexp.QuoteMeta(f.Category+"/")}},
		}})
	}
	if f.Q != "" {
		re := bson.M{"$regex": regexp.QuoteMeta(f.Q), "$options": "i"}
		and = append(and, bson.M{"$or": bson.A{bson.M{"question": re}, bson.M{"similar_questions": re}}})
	}
	if f.Enabled != nil {
		and = append(and, bson.M{"enabled": *f.Enabled})
	}
	filter := bson.M{}
	if len(and) > 0 {
		filter["$and"] = and
	}
	total, err := s.articles.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, err
	}
	if f.Before != "" {
		and = append(and, bson.M{"_id": bson.M{"$lt": string(f.Before)}})
		filter["$and"] = and
	}
	var arts []kb.Article
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(max(f.Limit, 1)))
	if err := s.articles.FindAll(ctx, filter, &arts, opts); err != nil {
		return nil, 0, err
	}
	return arts, total, nil
}

// CreateArticle implements kb.Backend.
func (s *KB) CreateArticle(ctx context.Context, a *kb.Article, rev *kb.Revision) error {
	if err := s.articles.InsertOne(ctx, a); err != nil {
		return err
	}
	return s.putRevision(ctx, rev)
}

// kbContentUpdate sets an article's editable fields and version, leaving the
// feedback counters alone.
func kbContentUpdate(a *kb.Article) bson.M {
	set := bson.M{
		"question": a.Question, "similar_questions": kbNonNil(a.Similar), "answer": a.Answer,
		"category": a.Category, "tags": kbNonNil(a.Tags), "enabled": a.Enabled, "qkey": a.QKey,
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

func kbNonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *KB) updateArticle(ctx context.Context, a *kb.Article) error {
	res, err := s.articles.UpdateOne(ctx, bson.M{"_id": string(a.ID)}, kbContentUpdate(a))
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return &store.NotFoundError{Kind: "article", ID: string(a.ID)}
	}
	return nil
}

// UpdateArticle implements kb.Backend.
func (s *KB) UpdateArticle(ctx context.Context, a *kb.Article, rev *kb.Revision) error {
	if err := s.updateArticle(ctx, a); err != nil {
		return err
	}
	return s.putRevision(ctx, rev)
}

// DeleteArticle implements kb.Backend.
func (s *KB) DeleteArticle(ctx context.Context, id kb.ArticleID, rev *kb.Revision) error {
	n, err := s.articles.DeleteOne(ctx, bson.M{"_id": string(id)})
	if err != nil {
		return err
	}
	if n == 0 {
		return &store.NotFoundError{Kind: "article", ID: string(id)}
	}
	return s.putRevision(ctx, rev)
}

// ImportArticles implements kb.Backend: new articles in batches, updated
// ones one by one (their counters kept), then the revisions in batches.
func (s *KB) ImportArticles(ctx context.Context, added, updated []*kb.Article, revs []*kb.Revision) error {
	if _, ok := store.Tenant(ctx); !ok {
		return store.ErrNoTenant
	}
	for start := 0; start < len(added); start += kbBatch {
		batch := added[start:min(len(added), start+kbBatch)]
		docs := make([]any, len(batch))
		for i, a := range batch {
			docs[i] = a
		}
		if err := s.articles.InsertMany(ctx, docs); err != nil {
			return fmt.Errorf("after %d added articles: %w", start, err)
		}
	}
	for i, a := range updated {
		if err := s.updateArticle(ctx, a); err != nil {
			return fmt.Errorf("after %d added and %d updated articles: %w", len(added), i, err)
		}
	}
	for start := 0; start < len(revs); start += kbBatch {
		batch := revs[start:min(len(revs), start+kbBatch)]
		docs := make([]any, len(batch))
		for i, r := range batch {
			docs[i] = &kbRevisionDoc{ID: kbRevisionID(r.ArticleID, r.Version), Revision: *r}
		}
		err := s.history.InsertMany(ctx, docs)
		if err != nil && store.IsDuplicateKey(err) {
			// Left by an earlier failed attempt: write them one by one.
			err = nil
			for _, r := range batch {
				if err = s.putRevision(ctx, r); err != nil {
					break
				}
			}
		}
		if err != nil {
			return fmt.Errorf("articles saved, history after %d entries not: %w", start, err)
		}
	}
	return nil
}

// AddFeedback implements kb.Backend.
func (s *KB) AddFeedback(ctx context.Context, id kb.ArticleID, helpful bool) error {
	field := "not_helpful"
	if helpful {
		field = "helpful"
	}
	res, err := s.articles.UpdateOne(ctx, bson.M{"_id": string(id)}, bson.M{"$inc": bson.M{field: int64(1)}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return &store.NotFoundError{Kind: "article", ID: string(id)}
	}
	return nil
}

// Revisions implements kb.Backend.
func (s *KB) Revisions(ctx context.Context, id kb.ArticleID, limit int) ([]kb.Revision, error) {
	var docs []kbRevisionDoc
	err := s.history.FindAll(ctx, bson.M{"article_id": string(id)}, &docs,
		options.Find().SetSort(bson.D{{Key: "version", Value: -1}}).SetLimit(int64(max(limit, 1))))
	if err != nil {
		return nil, err
	}
	out := make([]kb.Revision, len(docs))
	for i := range docs {
		out[i] = docs[i].Revision
	}
	return out, nil
}

// kbSynonymsDoc is the stored form of a tenant's synonyms: one document per
// tenant, groups as sub-documents because FerretDB does not store arrays of
// arrays.
type kbSynonymsDoc struct {
	ID            string           `bson:"_id"`
	Groups        []kbSynonymGroup `bson:"groups"`
	UpdatedBy     string           `bson:"updated_by"`
	UpdatedByName string           `bson:"updated_by_name"`
	UpdatedAt     bson.DateTime    `bson:"updated_at"`
}

type kbSynonymGroup struct {
	Terms []string `bson:"terms"`
}

// kbSynonymsID is the tenant's synonyms document id (ids are unique across
// tenants, so it names the tenant).
func kbSynonymsID(t store.TenantID) string { return "synonyms:" + string(t) }

// Synonyms implements kb.Backend.
func (s *KB) Synonyms(ctx context.Context) (*kb.Synonyms, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return nil, store.ErrNoTenant
	}
	var d kbSynonymsDoc
	err := s.synonyms.FindOne(ctx, bson.M{"_id": kbSynonymsID(t)}, &d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := &kb.Synonyms{Groups: make([][]string, 0, len(d.Groups)), UpdatedBy: d.UpdatedBy, UpdatedByName: d.UpdatedByName}
	for _, g := range d.Groups {
		out.Groups = append(out.Groups, g.Terms)
	}
	at := d.UpdatedAt.Time().UTC()
	out.UpdatedAt = &at
	return out, nil
}

// SetSynonyms implements kb.Backend.
func (s *KB) SetSynonyms(ctx context.Context, syn *kb.Synonyms) error {
	t, ok := store.Tenant(ctx)
	if !ok {
		return store.ErrNoTenant
	}
	sub := make([]kbSynonymGroup, len(syn.Groups))
	for i, g := range syn.Groups {
		sub[i] = kbSynonymGroup{Terms: g}
	}
	set := bson.M{"groups": sub, "updated_by": syn.UpdatedBy, "updated_by_name": syn.UpdatedByName}
	if syn.UpdatedAt != nil {
		set["updated_at"] = *syn.UpdatedAt
	}
	_, err := s.synonyms.UpdateOne(ctx, bson.M{"_id": kbSynonymsID(t)}, bson.M{"$set": set}, options.UpdateOne().SetUpsert(true))
	return err
}

// RecordUnanswered implements kb.Backend.
func (s *KB) RecordUnanswered(ctx context.Context, u *kb.Unanswered) error {
	_, err := s.unanswered.UpdateOne(ctx, bson.M{"_id": u.ID}, bson.M{
		"$inc":         bson.M{"count": int64(1)},
		"$set":         bson.M{"question": u.Question, "normalized": u.Normalized, "last_asked": u.LastAsked, "group": u.Group, "best_score": u.BestScore},
		"$setOnInsert": bson.M{"first_asked": u.FirstAsked},
	}, options.UpdateOne().SetUpsert(true))
	return err
}

// Unanswered implements kb.Backend.
func (s *KB) Unanswered(ctx context.Context, limit int) ([]kb.Unanswered, error) {
	var out []kb.Unanswered
	err := s.unanswered.FindAll(ctx, bson.M{}, &out, options.Find().
		SetSort(bson.D{{Key: "count", Value: -1}, {Key: "last_asked", Value: -1}}).SetLimit(int64(max(limit, 1))))
	return out, err
}

// DismissUnanswered implements kb.Backend.
func (s *KB) DismissUnanswered(ctx context.Context, id string) error {
	n, err := s.unanswered.DeleteOne(ctx, bson.M{"_id": id})
	if err != nil {
		return err
	}
	if n == 0 {
		return &store.NotFoundError{Kind: "unanswered question", ID: id}
	}
	return nil
}

// kbBotKey is the id of a group's bot settings document. Group ids travel
// to other tenants' users (the web-chat session names them), so the id is
// scoped by the tenant: an upsert keyed by the bare group id would let one
// tenant create the document first, after which the group's owner could
// never write its own (the store refuses a write by id to a document of
// another tenant). Ids "<tenant>/..." are reserved to that tenant by
// internal/store.
func kbBotKey(t store.TenantID, group string) string { return string(t) + "/" + group }

// BotSettings implements kb.Backend. Settings stored under the bare group
// id by an earlier version are read too (documents of the context's tenant
// only); they move to the tenant's key on the next save.
func (s *KB) BotSettings(ctx context.Context, group string) (*kb.BotSettings, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return nil, store.ErrNoTenant
	}
	var b kb.BotSettings
	err := s.bots.FindOne(ctx, bson.M{"_id": kbBotKey(t, group)}, &b)
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = s.bots.FindOne(ctx, bson.M{"_id": group}, &b)
	}
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b.Group = group
	return &b, nil
}

// SetBotSettings implements kb.Backend.
func (s *KB) SetBotSettings(ctx context.Context, b *kb.BotSettings) error {
	t, ok := store.Tenant(ctx)
	if !ok {
		return store.ErrNoTenant
	}
	set := bson.M{"enabled": b.Enabled, "channels": kbNonNil(b.Channels), "threshold": b.Threshold, "max_choices": b.MaxChoices,
		"updated_by": b.UpdatedBy, "updated_by_name": b.UpdatedByName}
	if b.UpdatedAt != nil {
		set["updated_at"] = *b.UpdatedAt
	}
	res, err := s.bots.UpdateOne(ctx, bson.M{"_id": kbBotKey(t, b.Group)}, bson.M{"$set": set}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 && res.UpsertedCount == 0 {
		// Cannot happen: the store reserves "<tenant>/..." ids to the tenant.
		return fmt.Errorf("kb: bot settings of group %q not saved", b.Group)
	}
	// The settings now live under the tenant's key: drop a copy stored
	// under the bare group id by an earlier version (the store deletes only
	// the context tenant's document). Should that fail, the copy is only
	// shadowed (the tenant's key is read first) and goes with the next save.
	_, _ = s.bots.DeleteOne(ctx, bson.M{"_id": b.Group})
	return nil
}
