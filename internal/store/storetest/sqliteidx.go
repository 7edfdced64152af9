package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver FerretDB's SQLite backend uses
)

// FerretDB 1.24's SQLite backend looks documents up by id with the SQL
// expression _ferretdb_sjson->'$._id', but creates its unique _id index on
// _ferretdb_sjson->"_id". SQLite uses an expression index only for the
// identical expression, so every lookup by id scanned the whole table
// (about 10 ms per 1,000 documents, measured). idIndexer adds, to every
// collection table, an index on exactly the expression FerretDB queries by.
// FerretDB never reads sqlite_master for its own index list, and dropping a
// collection drops the table with its indexes, so the extra index is
// invisible to it and always maintained by SQLite itself.
type idIndexer struct {
	dir string
	log *slog.Logger
}

// run indexes the tables present now, then every interval until ctx ends
// (collections created later, such as a new tenant's first use of a
// feature, get theirs within one interval).
func (x *idIndexer) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := x.once(ctx); err != nil && ctx.Err() == nil {
			x.log.Warn("ferret: id indexes", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// once creates the missing indexes in every database file of the folder.
func (x *idIndexer) once(ctx context.Context) error {
	files, err := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := x.indexFile(ctx, f); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
	}
	return nil
}

func (x *idIndexer) indexFile(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT m.name FROM sqlite_master m
		WHERE m.type = 'table' AND m.name NOT LIKE '\_ferretdb%' ESCAPE '\' AND m.name NOT LIKE 'sqlite%'
		AND NOT EXISTS (SELECT 1 FROM sqlite_master i WHERE i.type = 'index' AND i.name = m.name || '_hub_id_expr')`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, n)
	}
	rows.Close()
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (_ferretdb_sjson->'$._id')`, quoteIdent(t+"_hub_id_expr"), quoteIdent(t))
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("index %s: %w", t, err)
		}
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
