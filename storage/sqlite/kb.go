package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/kb"
)

// KB is the knowledge base's store (kb.Backend) in the embedded database.
//
// Queries and their indexes (every one starts with the tenant):
//
//	article by id, feedback, update, delete   kb_articles primary key (tenant, id)
//	article by question key (imports, edits)  kb_articles_qkey (tenant, qkey)
//	all articles, a page at a time             primary key, id > ? in id order
//	admin list, newest first with cursor       primary key (id < ?, id DESC);
//	  by category (and the ones below it)      kb_articles_category (tenant, category, id)
//	  by enabled                               kb_articles_enabled (tenant, enabled, id)
//	  by text (substring of the questions)     the tenant's rows through the primary key
//	article history, newest first              kb_article_history primary key (tenant, article_id, version)
//	unanswered question by id (upsert, dismiss) kb_unanswered primary key (tenant, id)
//	unanswered, most asked first               kb_unanswered_count (tenant, count DESC, last_asked DESC)
//	synonyms of the tenant                     kb_synonyms primary key (tenant)
//	bot settings of a group                    kb_bot_settings primary key (tenant, grp)
type KB struct {
	db *sqlitedb.DB
}

var _ kb.Backend = (*KB)(nil)

func init() {
	grows("kb_articles", "kb_article_history", "kb_unanswered", "kb_bot_settings", "kb_synonyms")
}

// kbSchema is the knowledge base's tables. Articles keep what is filtered
// or sorted on in columns (the question key, category, enabled, the
// lower-cased questions for the admin's text filter) and the counters that
// are incremented in place; the rest of the article is the JSON in doc.
var kbSchema = sqlitedb.Migration{Domain: "kb", Steps: []string{
	`CREATE TABLE kb_articles (
		tenant      TEXT NOT NULL,
		id          TEXT NOT NULL,
		qkey        TEXT NOT NULL,
		category    TEXT NOT NULL,
		enabled     INTEGER NOT NULL,
		qtext       TEXT NOT NULL,
		version     INTEGER NOT NULL,
		helpful     INTEGER NOT NULL DEFAULT 0,
		not_helpful INTEGER NOT NULL DEFAULT 0,
		doc         TEXT NOT NULL,
		PRIMARY KEY (tenant, id)
	) WITHOUT ROWID`,
	`CREATE INDEX kb_articles_qkey ON kb_articles (tenant, qkey)`,
	`CREATE INDEX kb_articles_category ON kb_articles (tenant, category, id)`,
	`CREATE INDEX kb_articles_enabled ON kb_articles (tenant, enabled, id)`,
	`CREATE TABLE kb_article_history (
		tenant     TEXT NOT NULL,
		article_id TEXT NOT NULL,
		version    INTEGER NOT NULL,
		doc        TEXT NOT NULL,
		PRIMARY KEY (tenant, article_id, version)
	) WITHOUT ROWID`,
	`CREATE TABLE kb_synonyms (
		tenant TEXT NOT NULL PRIMARY KEY,
		doc    TEXT NOT NULL
	) WITHOUT ROWID`,
	`CREATE TABLE kb_unanswered (
		tenant      TEXT NOT NULL,
		id          TEXT NOT NULL,
		count       INTEGER NOT NULL,
		first_asked INTEGER NOT NULL,
		last_asked  INTEGER NOT NULL,
		doc         TEXT NOT NULL,
		PRIMARY KEY (tenant, id)
	) WITHOUT ROWID`,
	`CREATE INDEX kb_unanswered_count ON kb_unanswered (tenant, count DESC, last_asked DESC)`,
	`CREATE TABLE kb_bot_settings (
		tenant TEXT NOT NULL,
		grp    TEXT NOT NULL,
		doc    TEXT NOT NULL,
		PRIMARY KEY (tenant, grp)
	) WITHOUT ROWID`,
}}

// NewKB prepares the knowledge base's tables in db.
func NewKB(ctx context.Context, db *sqlitedb.DB) (*KB, error) {
	if err := db.Migrate(ctx, kbSchema); err != nil {
		return nil, err
	}
	return &KB{db: db}, nil
}

const kbArticleCols = `qkey, version, helpful, not_helpful, doc`

func kbScanArticle(sc interface{ Scan(...any) error }) (*kb.Article, error) {
	var a kb.Article
	var doc string
	if err := sc.Scan(&a.QKey, &a.Version, &a.Helpful, &a.NotHelpful, &doc); err != nil {
		return nil, err
	}
	qkey, version, helpful, notHelpful := a.QKey, a.Version, a.Helpful, a.NotHelpful
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return nil, fmt.Errorf("kb article: %w", err)
	}
	a.QKey, a.Version, a.Helpful, a.NotHelpful = qkey, version, helpful, notHelpful
	return &a, nil
}

func kbReadArticles(rows *sql.Rows, err error) ([]kb.Article, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kb.Article
	for rows.Next() {
		a, err := kbScanArticle(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// kbQText is what the admin's text filter searches: the question and the
// similar questions, lower-cased, separated by a character no question
// holds.
func kbQText(a *kb.Article) string {
	return strings.ToLower(a.Question + "\x1f" + strings.Join(a.Similar, "\x1f"))
}

func kbBool(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Article implements kb.Backend.
func (s *KB) Article(ctx context.Context, id kb.ArticleID) (*kb.Article, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	a, err := kbScanArticle(s.db.QueryRow(ctx, `SELECT `+kbArticleCols+` FROM kb_articles WHERE tenant = ? AND id = ?`, t, string(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &store.NotFoundError{Kind: "article", ID: string(id)}
	}
	return a, err
}

// ArticleByQKey implements kb.Backend.
func (s *KB) ArticleByQKey(ctx context.Context, qkey string) (kb.ArticleID, error) {
	t, err := tenant(ctx)
	if err != nil {
		return "", err
	}
	var id string
	err = s.db.QueryRow(ctx, `SELECT id FROM kb_articles WHERE tenant = ? AND qkey = ? LIMIT 1`, t, qkey).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return kb.ArticleID(id), err
}

// Articles implements kb.Backend.
func (s *KB) Articles(ctx context.Context, after kb.ArticleID, limit int) ([]kb.Article, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	return kbReadArticles(s.db.Query(ctx, `SELECT `+kbArticleCols+` FROM kb_articles WHERE tenant = ? AND id > ? ORDER BY id LIMIT ?`, t, string(after), limit))
}

// ListArticles implements kb.Backend.
func (s *KB) ListArticles(ctx context.Context, f kb.ArticleFilter) ([]kb.Article, int64, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, 0, err
	}
	where := []string{"tenant = ?"}
	args := []any{t}
	if f.Category != "" {
		// The category c and those below it ("c/..."): every such value is
		// in [c, c+"0") ('0' follows '/'), an index range; within that range
		// they are c itself and the values from c+"/" on.
		where = append(where, "category >= ? AND category < ? AND (category = ? OR category >= ?)")
		args = append(args, f.Category, f.Category+"0", f.Category, f.Category+"/")
	}
	if f.Q != "" {
		where = append(where, "instr(qtext, ?) > 0")
		args = append(args, strings.ToLower(f.Q))
	}
	if f.Enabled != nil {
		where = append(where, "enabled = ?")
		args = append(args, kbBool(*f.Enabled))
	}
	cond := strings.Join(where, " AND ")
	var total int64
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM kb_articles WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if f.Before != "" {
		cond += " AND id < ?"
		args = append(args, string(f.Before))
	}
	args = append(args, max(f.Limit, 1))
	arts, err := kbReadArticles(s.db.Query(ctx, `SELECT `+kbArticleCols+` FROM kb_articles WHERE `+cond+` ORDER BY id DESC LIMIT ?`, args...))
	return arts, total, err
}

func kbInsertArticle(tx *sqlitedb.Tx, t string, a *kb.Article) error {
	doc, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT INTO kb_articles (tenant, id, qkey, category, enabled, qtext, version, helpful, not_helpful, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t, string(a.ID), a.QKey, a.Category, kbBool(a.Enabled), kbQText(a), a.Version, a.Helpful, a.NotHelpful, string(doc))
	return err
}

// kbUpdateArticle writes a's content and version, keeping the stored
// counters; false when there is no such article.
func kbUpdateArticle(tx *sqlitedb.Tx, t string, a *kb.Article) (bool, error) {
	doc, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	res, err := tx.Exec(`UPDATE kb_articles SET qkey = ?, category = ?, enabled = ?, qtext = ?, version = ?, doc = ? WHERE tenant = ? AND id = ?`,
		a.QKey, a.Category, kbBool(a.Enabled), kbQText(a), a.Version, string(doc), t, string(a.ID))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func kbInsertRevision(tx *sqlitedb.Tx, t string, r *kb.Revision) error {
	doc, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT INTO kb_article_history (tenant, article_id, version, doc) VALUES (?, ?, ?, ?)`,
		t, string(r.ArticleID), r.Version, string(doc))
	return err
}

// CreateArticle implements kb.Backend.
func (s *KB) CreateArticle(ctx context.Context, a *kb.Article, rev *kb.Revision) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		if err := kbInsertArticle(tx, t, a); err != nil {
			return err
		}
		return kbInsertRevision(tx, t, rev)
	})
}

// UpdateArticle implements kb.Backend.
func (s *KB) UpdateArticle(ctx context.Context, a *kb.Article, rev *kb.Revision) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		ok, err := kbUpdateArticle(tx, t, a)
		if err != nil {
			return err
		}
		if !ok {
			return &store.NotFoundError{Kind: "article", ID: string(a.ID)}
		}
		return kbInsertRevision(tx, t, rev)
	})
}

// DeleteArticle implements kb.Backend.
func (s *KB) DeleteArticle(ctx context.Context, id kb.ArticleID, rev *kb.Revision) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		res, err := tx.Exec(`DELETE FROM kb_articles WHERE tenant = ? AND id = ?`, t, string(id))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = &store.NotFoundError{Kind: "article", ID: string(id)}
			}
			return err
		}
		return kbInsertRevision(tx, t, rev)
	})
}

// ImportArticles implements kb.Backend: one transaction for the whole
// import, so a failure leaves the store as it was.
func (s *KB) ImportArticles(ctx context.Context, added, updated []*kb.Article, revs []*kb.Revision) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	if len(added)+len(updated)+len(revs) == 0 {
		return nil
	}
	return s.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		for _, a := range added {
			if err := kbInsertArticle(tx, t, a); err != nil {
				return fmt.Errorf("article %q: %w", a.Question, err)
			}
		}
		for _, a := range updated {
			ok, err := kbUpdateArticle(tx, t, a)
			if err != nil {
				return fmt.Errorf("article %q: %w", a.Question, err)
			}
			if !ok {
				return &store.NotFoundError{Kind: "article", ID: string(a.ID)}
			}
		}
		for _, r := range revs {
			if err := kbInsertRevision(tx, t, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// AddFeedback implements kb.Backend.
func (s *KB) AddFeedback(ctx context.Context, id kb.ArticleID, helpful bool) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	q := `UPDATE kb_articles SET not_helpful = not_helpful + 1 WHERE tenant = ? AND id = ?`
	if helpful {
		q = `UPDATE kb_articles SET helpful = helpful + 1 WHERE tenant = ? AND id = ?`
	}
	return s.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		res, err := tx.Exec(q, t, string(id))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = &store.NotFoundError{Kind: "article", ID: string(id)}
			}
			return err
		}
		return nil
	})
}

// Revisions implements kb.Backend.
func (s *KB) Revisions(ctx context.Context, id kb.ArticleID, limit int) ([]kb.Revision, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT doc FROM kb_article_history WHERE tenant = ? AND article_id = ? ORDER BY version DESC LIMIT ?`, t, string(id), max(limit, 1))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kb.Revision
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var r kb.Revision
		if err := json.Unmarshal([]byte(doc), &r); err != nil {
			return nil, fmt.Errorf("kb revision: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// getDoc reads one JSON document into v; false when there is none.
func (s *KB) getDoc(ctx context.Context, v any, q string, args ...any) (bool, error) {
	var doc string
	err := s.db.QueryRow(ctx, q, args...).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal([]byte(doc), v)
}

// putDoc writes v as the JSON document of a statement's last parameter.
func (s *KB) putDoc(ctx context.Context, v any, q string, args ...any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	args = append(args, string(doc))
	return s.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		_, err := tx.Exec(q, args...)
		return err
	})
}

// Synonyms implements kb.Backend.
func (s *KB) Synonyms(ctx context.Context) (*kb.Synonyms, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var syn kb.Synonyms
	ok, err := s.getDoc(ctx, &syn, `SELECT doc FROM kb_synonyms WHERE tenant = ?`, t)
	if !ok || err != nil {
		return nil, err
	}
	return &syn, nil
}

// SetSynonyms implements kb.Backend.
func (s *KB) SetSynonyms(ctx context.Context, syn *kb.Synonyms) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	return s.putDoc(ctx, syn, `INSERT INTO kb_synonyms (tenant, doc) VALUES (?, ?) ON CONFLICT (tenant) DO UPDATE SET doc = excluded.doc`, t)
}

// kbUnansweredDoc is the part of an unanswered question kept in doc.
type kbUnansweredDoc struct {
	Question   string  `json:"question"`
	Normalized string  `json:"normalized"`
	Group      string  `json:"group"`
	BestScore  float64 `json:"best_score"`
}

// RecordUnanswered implements kb.Backend.
func (s *KB) RecordUnanswered(ctx context.Context, u *kb.Unanswered) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	doc, err := json.Marshal(kbUnansweredDoc{Question: u.Question, Normalized: u.Normalized, Group: u.Group, BestScore: u.BestScore})
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		_, err := tx.Exec(`INSERT INTO kb_unanswered (tenant, id, count, first_asked, last_asked, doc) VALUES (?, ?, 1, ?, ?, ?)
			ON CONFLICT (tenant, id) DO UPDATE SET count = count + 1, last_asked = excluded.last_asked, doc = excluded.doc`,
			t, u.ID, u.FirstAsked.UnixMilli(), u.LastAsked.UnixMilli(), string(doc))
		return err
	})
}

// Unanswered implements kb.Backend.
func (s *KB) Unanswered(ctx context.Context, limit int) ([]kb.Unanswered, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT id, count, first_asked, last_asked, doc FROM kb_unanswered WHERE tenant = ? ORDER BY count DESC, last_asked DESC LIMIT ?`, t, max(limit, 1))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kb.Unanswered
	for rows.Next() {
		var u kb.Unanswered
		var first, last int64
		var doc string
		if err := rows.Scan(&u.ID, &u.Count, &first, &last, &doc); err != nil {
			return nil, err
		}
		var d kbUnansweredDoc
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return nil, fmt.Errorf("kb unanswered: %w", err)
		}
		u.Question, u.Normalized, u.Group, u.BestScore = d.Question, d.Normalized, d.Group, d.BestScore
		u.FirstAsked, u.LastAsked = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
		out = append(out, u)
	}
	return out, rows.Err()
}

// DismissUnanswered implements kb.Backend.
func (s *KB) DismissUnanswered(ctx context.Context, id string) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		res, err := tx.Exec(`DELETE FROM kb_unanswered WHERE tenant = ? AND id = ?`, t, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = &store.NotFoundError{Kind: "unanswered question", ID: id}
			}
			return err
		}
		return nil
	})
}

// BotSettings implements kb.Backend.
func (s *KB) BotSettings(ctx context.Context, group string) (*kb.BotSettings, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var b kb.BotSettings
	ok, err := s.getDoc(ctx, &b, `SELECT doc FROM kb_bot_settings WHERE tenant = ? AND grp = ?`, t, group)
	if !ok || err != nil {
		return nil, err
	}
	b.Group = group
	return &b, nil
}

// SetBotSettings implements kb.Backend.
func (s *KB) SetBotSettings(ctx context.Context, b *kb.BotSettings) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	return s.putDoc(ctx, b, `INSERT INTO kb_bot_settings (tenant, grp, doc) VALUES (?, ?, ?) ON CONFLICT (tenant, grp) DO UPDATE SET doc = excluded.doc`, t, b.Group)
}
