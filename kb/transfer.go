package kb

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/omnihub/hub/internal/ids"
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
	byKey := map[string]*Article{}
	if err := s.eachArticle(ctx, func(a *Article) error {
		byKey[a.QKey] = a
		return nil
	}); err != nil {
		return nil, fmt.Errorf("kb: load articles: %w", err)
	}
	ed, now := editorOf(ctx), s.now()
	var added, updated []*Article
	var revs []*Revision
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
	// Store first (the source of truth, in one go), then the index.
	storeStart := time.Now()
	if err := s.b.ImportArticles(ctx, added, updated, revs); err != nil {
		s.writeFailed(st)
		return nil, fmt.Errorf("kb: import: %w", err)
	}
	rep.Added, rep.Updated = len(added), len(updated)
	stored, indexStart := time.Since(storeStart), time.Now()
	if len(docs) > 0 {
		s.indexed(t, st, s.idx.Upsert(ctx, string(t), docs...))
	}
	if rep.Rejected == nil {
		rep.Rejected = []RowError{}
	}
	s.log.Info("kb import", "tenant", t, "file", filename, "added", rep.Added, "updated", rep.Updated, "unchanged", rep.Unchanged, "rejected", len(rep.Rejected),
		"stored_in", stored, "indexed_in", time.Since(indexStart))
	return rep, nil
}

// Export writes every article (disabled ones included) in the import
// format, oldest first: CSV (UTF-8 with BOM) or XLSX. Articles are read from
// the store a page at a time and written as they come (an XLSX workbook is
// assembled by its writer and written at the end).
func (s *Service) Export(ctx context.Context, format string, w io.Writer) error {
	if format != FormatCSV && format != FormatXLSX {
		return ErrUnsupportedFormat
	}
	if _, _, err := s.tenant(ctx); err != nil {
		return err
	}
	var rw recordWriter
	var err error
	if format == FormatXLSX {
		rw, err = newXLSXWriter()
	} else {
		rw, err = newCSVWriter(w)
	}
	if err != nil {
		return err
	}
	defer rw.Close()
	row := 1
	if err := s.eachArticle(ctx, func(a *Article) error {
		row++
		return rw.Write(&Record{Row: row, Question: a.Question, Similar: a.Similar, Answer: a.Answer, Category: a.Category, Tags: a.Tags})
	}); err != nil {
		return err
	}
	return rw.Finish(w)
}
