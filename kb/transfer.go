package kb

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/kb/search"
)

// ImportReport says what an import did. Rows are spreadsheet rows (the
// header is row 1).
type ImportReport struct {
	Added   int `json:"added"`
	Updated int `json:"updated"`
	// Unchanged counts rows matching an existing article exactly.
	Unchanged int        `json:"unchanged"`
	Rejected  []RowError `json:"rejected"`
}

// Export formats.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// FormatOf returns the import/export format of a file name (by extension),
// or ErrUnsupportedFormat.
func FormatOf(filename string) (string, error) {
	switch strings.ToLower(filepath.Ext(filename)) {
	case ".csv":
		return FormatCSV, nil
	case ".xlsx":
		return FormatXLSX, nil
	}
	return "", ErrUnsupportedFormat
}

// importBatch is the number of documents inserted per request.
const importBatch = 500

// rewriteBatch is the number of updated articles rewritten per request;
// rewriteAllAbove is the count of updated articles from which the tenant's
// whole article set is rewritten instead.
const (
	rewriteBatch    = 500
	rewriteAllAbove = 1000
)

// Import reads a CSV or XLSX file (by filename's extension) in the format
// of Record and saves its rows: a row whose question matches an existing
// article (ignoring width, case, punctuation and traditional characters)
// updates it, other rows add articles, enabled and without a validity
// period. Rows that fail validation are reported and never stop the others.
// A file that cannot be read at all returns an error and changes nothing.
func (s *Service) Import(ctx context.Context, filename string, r io.Reader) (*ImportReport, error) {
	format, err := FormatOf(filename)
	if err != nil {
		return nil, err
	}
	var recs []Record
	var bad []RowError
	switch format {
	case FormatCSV:
		recs, bad, err = ParseCSV(r)
	default:
		recs, bad, err = ParseXLSX(r)
	}
	if err != nil {
		return nil, fieldErr("file", "%s", err.Error())
	}
	t, st, err := s.ready(ctx)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	rep := &ImportReport{Rejected: bad}
	var existing []Article
	if err := s.articles.FindAll(ctx, bson.M{}, &existing); err != nil {
		return nil, fmt.Errorf("kb: load articles: %w", err)
	}
	byKey := make(map[string]*Article, len(existing))
	for i := range existing {
		byKey[existing[i].QKey] = &existing[i]
	}
	ed, now := editorOf(ctx), s.now()
	var added []any
	var updated []*Article
	var revs []any
	var docs []search.Document
	seen := map[string]int{}
	for i := range recs {
		rec := &recs[i]
		key := qkeyOf(rec.Question)
		if key == "" {
			rep.Rejected = append(rep.Rejected, RowError{Row: rec.Row, Field: "question", Reason: "has no letters or digits"})
			continue
		}
		if prev, dup := seen[key]; dup {
			rep.Rejected = append(rep.Rejected, RowError{Row: rec.Row, Field: "question", Reason: fmt.Sprintf("same question as row %d", prev)})
			continue
		}
		answer, err := cleanAnswer(rec.Answer)
		if err != nil {
			fe := err.(*FieldError)
			rep.Rejected = append(rep.Rejected, RowError{Row: rec.Row, Field: fe.Field, Reason: fe.Reason})
			continue
		}
		seen[key] = rec.Row
		c := Content{Question: rec.Question, Similar: nonNil(rec.Similar), Answer: answer, Category: rec.Category, Tags: nonNil(rec.Tags), Enabled: true}
		if cur := byKey[key]; cur != nil {
			c.Enabled, c.ValidFrom, c.ValidTo = cur.Enabled, cur.ValidFrom, cur.ValidTo
			if c.equal(&cur.Content) {
				rep.Unchanged++
				continue
			}
			a := *cur
			a.Content = c
			a.Version++
			a.UpdatedAt, a.UpdatedBy, a.UpdatedByName = now, ed.ID, ed.Name
			updated = append(updated, &a)
			revs = append(revs, revisionOf(&a, ActionImported))
			docs = append(docs, a.document())
			continue
		}
		a := &Article{ID: ArticleID(ids.NewAt(now)), Content: c, QKey: key,
			CreatedBy: ed.ID, CreatedByName: ed.Name, CreatedAt: now,
			UpdatedBy: ed.ID, UpdatedByName: ed.Name, UpdatedAt: now, Version: 1}
		added = append(added, a)
		revs = append(revs, revisionOf(a, ActionImported))
		docs = append(docs, a.document())
	}
	// Store first (the source of truth), then the index. A failure midway
	// leaves what was written, reported, and the index rebuilt on next use.
	for start := 0; start < len(added); start += importBatch {
		batch := added[start:min(len(added), start+importBatch)]
		if err := s.articles.InsertMany(ctx, batch); err != nil {
			st.ready.Store(false)
			return nil, fmt.Errorf("kb: import after %d added articles: %w", rep.Added, err)
		}
		rep.Added += len(batch)
	}
	if err := s.rewriteLocked(ctx, existing, updated); err != nil {
		st.ready.Store(false)
		return nil, fmt.Errorf("kb: import after %d added articles: %w", rep.Added, err)
	}
	rep.Updated = len(updated)
	for start := 0; start < len(revs); start += importBatch {
		if err := s.history.InsertMany(ctx, revs[start:min(len(revs), start+importBatch)]); err != nil {
			s.log.Error("kb history write failed", "err", err)
			break
		}
	}
	if len(docs) > 0 {
		s.indexed(t, st, s.idx.Upsert(ctx, string(t), docs...))
	}
	if rep.Rejected == nil {
		rep.Rejected = []RowError{}
	}
	s.log.Info("kb import", "tenant", t, "file", filename, "added", rep.Added, "updated", rep.Updated, "unchanged", rep.Unchanged, "rejected", len(rep.Rejected))
	return rep, nil
}

// Export writes every article (disabled ones included) in the import
// format, oldest first: CSV (UTF-8 with BOM) or XLSX.
func (s *Service) Export(ctx context.Context, format string, w io.Writer) error {
	if format != FormatCSV && format != FormatXLSX {
		return ErrUnsupportedFormat
	}
	if _, _, err := s.tenant(ctx); err != nil {
		return err
	}
	var arts []Article
	if err := s.articles.FindAll(ctx, bson.M{}, &arts, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})); err != nil {
		return err
	}
	recs := make([]Record, len(arts))
	for i, a := range arts {
		recs[i] = Record{Row: i + 2, Question: a.Question, Similar: a.Similar, Answer: a.Answer, Category: a.Category, Tags: a.Tags}
	}
	if format == FormatXLSX {
		return WriteXLSX(w, recs)
	}
	return WriteCSV(w, recs)
}

// rewriteLocked saves the new versions of updated articles (existing is the
// tenant's whole article set as loaded). They are rewritten in batches
// (delete, then insert) rather than updated one by one: on the embedded
// store every single-document write costs a scan of the collection, so
// 10,000 updates would take an hour. Deleting by a list of ids is quadratic
// there too, so beyond rewriteAllAbove updates the tenant's whole article
// set is deleted and inserted again, in one scan. Either way an article is
// missing from the store for the moment between (the index still answers),
// and feedback counted on the rewritten articles during the import may be
// lost. Every version is in the history, so a failure midway loses nothing
// for good: the error says so and re-importing the file restores the rest.
func (s *Service) rewriteLocked(ctx context.Context, existing []Article, updated []*Article) error {
	if len(updated) == 0 {
		return nil
	}
	insert := func(docs []any) error {
		for start := 0; start < len(docs); start += importBatch {
			batch := docs[start:min(len(docs), start+importBatch)]
			err := s.articles.InsertMany(ctx, batch)
			if err != nil && !store.IsDuplicateKey(err) {
				// One retry of the batch: the articles are already deleted.
				err = s.articles.InsertMany(ctx, batch)
			}
			if err != nil {
				return fmt.Errorf("rewrite %d updated articles (deleted, not yet written back from article %d; re-import the file): %w", len(docs), start, err)
			}
		}
		return nil
	}
	if len(updated) > rewriteAllAbove {
		next := make(map[ArticleID]*Article, len(updated))
		for _, a := range updated {
			next[a.ID] = a
		}
		docs := make([]any, len(existing))
		for i := range existing {
			if a := next[existing[i].ID]; a != nil {
				docs[i] = a
			} else {
				docs[i] = &existing[i]
			}
		}
		if _, err := s.articles.DeleteMany(ctx, bson.M{}); err != nil {
			return err
		}
		return insert(docs)
	}
	for start := 0; start < len(updated); start += rewriteBatch {
		batch := updated[start:min(len(updated), start+rewriteBatch)]
		idList := make(bson.A, len(batch))
		docs := make([]any, len(batch))
		for i, a := range batch {
			idList[i], docs[i] = string(a.ID), a
		}
		if _, err := s.articles.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": idList}}); err != nil {
			return err
		}
		if err := insert(docs); err != nil {
			return err
		}
	}
	return nil
}
