package sqlite

import (
	"context"

	"github.com/omnihub/hub/internal/agentkit"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store"
)

// agentkitSchema: quick replies with their scope ("" for a team reply,
// else the owner's user id) and disposition codes with their order.
//
// Queries and their indexes:
//   - the team's and one agent's replies by shortcut: quick_replies_scope
//   - the codes by order, then purpose: disposition_codes_order
//   - one reply or code: the primary keys
var agentkitSchema = sqlitedb.Migration{Domain: "agentkit", Steps: []string{
	`CREATE TABLE quick_replies (tenant TEXT NOT NULL, id TEXT NOT NULL, scope TEXT NOT NULL, shortcut TEXT NOT NULL,
		doc TEXT NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID`,
	`CREATE INDEX quick_replies_scope ON quick_replies (tenant, scope, shortcut)`,
	`CREATE TABLE disposition_codes (tenant TEXT NOT NULL, id TEXT NOT NULL, ord INTEGER NOT NULL, purpose TEXT NOT NULL,
		doc TEXT NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID`,
	`CREATE INDEX disposition_codes_order ON disposition_codes (tenant, ord, purpose)`,
}}

func init() { grows("quick_replies", "disposition_codes") }

// AgentKit is the embedded backend of agentkit.Backend.
type AgentKit struct{ db *sqlitedb.DB }

var _ agentkit.Backend = (*AgentKit)(nil)

// NewAgentKit applies the schema and returns the backend.
func NewAgentKit(ctx context.Context, db *sqlitedb.DB) (*AgentKit, error) {
	if err := db.Migrate(ctx, agentkitSchema); err != nil {
		return nil, err
	}
	return &AgentKit{db: db}, nil
}

func kitScope(r agentkit.QuickReply) string {
	if r.Team {
		return ""
	}
	return r.Owner
}

// Replies implements agentkit.Backend.
func (a *AgentKit) Replies(ctx context.Context, owner string) ([]agentkit.QuickReply, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := a.db.Query(ctx, `SELECT doc FROM quick_replies WHERE tenant = ? AND scope IN ('', ?) ORDER BY shortcut`, t, owner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []agentkit.QuickReply{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var r agentkit.QuickReply
		if err := accDecode(doc, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Reply implements agentkit.Backend.
func (a *AgentKit) Reply(ctx context.Context, id string) (*agentkit.QuickReply, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var doc string
	if err := a.db.QueryRow(ctx, `SELECT doc FROM quick_replies WHERE tenant = ? AND id = ?`, t, id).Scan(&doc); err != nil {
		return nil, accNotFound(err, "quick reply", id)
	}
	var r agentkit.QuickReply
	return &r, accDecode(doc, &r)
}

// InsertReply implements agentkit.Backend.
func (a *AgentKit) InsertReply(ctx context.Context, r agentkit.QuickReply) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	doc, err := accEncode(r)
	if err != nil {
		return err
	}
	return a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		_, err := tx.Exec(`INSERT INTO quick_replies (tenant, id, scope, shortcut, doc) VALUES (?, ?, ?, ?, ?)`, t, r.ID, kitScope(r), r.Shortcut, doc)
		return err
	})
}

// ReplaceReply implements agentkit.Backend.
func (a *AgentKit) ReplaceReply(ctx context.Context, r agentkit.QuickReply) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	doc, err := accEncode(r)
	if err != nil {
		return err
	}
	return a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		res, err := tx.Exec(`UPDATE quick_replies SET scope = ?, shortcut = ?, doc = ? WHERE tenant = ? AND id = ?`, kitScope(r), r.Shortcut, doc, t, r.ID)
		return kitAffected(res, err, "quick reply", r.ID)
	})
}

// DeleteReply implements agentkit.Backend.
func (a *AgentKit) DeleteReply(ctx context.Context, id string) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	return a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		res, err := tx.Exec(`DELETE FROM quick_replies WHERE tenant = ? AND id = ?`, t, id)
		return kitAffected(res, err, "quick reply", id)
	})
}

// kitAffected turns "no row changed" into a *store.NotFoundError.
func kitAffected(res interface{ RowsAffected() (int64, error) }, err error, kind, id string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return &store.NotFoundError{Kind: kind, ID: id}
	}
	return nil
}

// Codes implements agentkit.Backend.
func (a *AgentKit) Codes(ctx context.Context) ([]agentkit.DispositionCode, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := a.db.Query(ctx, `SELECT doc FROM disposition_codes WHERE tenant = ? ORDER BY ord, purpose`, t)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []agentkit.DispositionCode{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var c agentkit.DispositionCode
		if err := accDecode(doc, &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// InsertCode implements agentkit.Backend.
func (a *AgentKit) InsertCode(ctx context.Context, c agentkit.DispositionCode) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	doc, err := accEncode(c)
	if err != nil {
		return err
	}
	return a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		_, err := tx.Exec(`INSERT INTO disposition_codes (tenant, id, ord, purpose, doc) VALUES (?, ?, ?, ?, ?)`, t, c.ID, c.Order, c.Purpose, doc)
		return err
	})
}

// ReplaceCode implements agentkit.Backend.
func (a *AgentKit) ReplaceCode(ctx context.Context, c agentkit.DispositionCode) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	doc, err := accEncode(c)
	if err != nil {
		return err
	}
	return a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		res, err := tx.Exec(`UPDATE disposition_codes SET ord = ?, purpose = ?, doc = ? WHERE tenant = ? AND id = ?`, c.Order, c.Purpose, doc, t, c.ID)
		return kitAffected(res, err, "disposition code", c.ID)
	})
}

// DeleteCode implements agentkit.Backend.
func (a *AgentKit) DeleteCode(ctx context.Context, id string) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	return a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		res, err := tx.Exec(`DELETE FROM disposition_codes WHERE tenant = ? AND id = ?`, t, id)
		return kitAffected(res, err, "disposition code", id)
	})
}
