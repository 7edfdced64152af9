package sqlite

import (
	"context"

	"github.com/omnihub/hub/channels/webchat"
	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/sqlitedb"
)

// webchatSchema: the hub's secrets (global, by name), the web chat's
// visitors and its settings (one row per tenant). Every read is by primary
// key.
var webchatSchema = sqlitedb.Migration{Domain: "webchat", Steps: []string{
	`CREATE TABLE hub_secrets (name TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
	`CREATE TABLE webchat_visitors (tenant TEXT NOT NULL, id TEXT NOT NULL, contact_id TEXT NOT NULL,
		conversation_id TEXT NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID`,
	`CREATE TABLE webchat_settings (tenant TEXT NOT NULL PRIMARY KEY, identity_secret TEXT NOT NULL,
		rotated_at INTEGER NOT NULL) WITHOUT ROWID`,
}}

func init() { grows("webchat_visitors", "webchat_settings", "hub_secrets") }

// WebChat is the embedded backend of webchat.Backend.
type WebChat struct{ db *sqlitedb.DB }

var _ webchat.Backend = (*WebChat)(nil)

// NewWebChat applies the schema and returns the backend.
func NewWebChat(ctx context.Context, db *sqlitedb.DB) (*WebChat, error) {
	if err := db.Migrate(ctx, webchatSchema); err != nil {
		return nil, err
	}
	return &WebChat{db: db}, nil
}

// Secret implements webchat.Backend.
func (w *WebChat) Secret(ctx context.Context, name, fresh string) (string, error) {
	var v string
	err := w.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		if _, err := tx.Exec(`INSERT INTO hub_secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING`, name, fresh); err != nil {
			return err
		}
		return tx.QueryRow(`SELECT value FROM hub_secrets WHERE name = ?`, name).Scan(&v)
	})
	return v, err
}

// Visitor implements webchat.Backend.
func (w *WebChat) Visitor(ctx context.Context, id string) (*webchat.Visitor, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	v := webchat.Visitor{ID: id}
	var contact, conv string
	if err := w.db.QueryRow(ctx, `SELECT contact_id, conversation_id FROM webchat_visitors WHERE tenant = ? AND id = ?`, t, id).Scan(&contact, &conv); err != nil {
		return nil, accNotFound(err, "visitor", id)
	}
	v.ContactID, v.ConversationID = history.ContactID(contact), history.ConversationID(conv)
	return &v, nil
}

// SaveVisitor implements webchat.Backend.
func (w *WebChat) SaveVisitor(ctx context.Context, v webchat.Visitor) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	return w.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		_, err := tx.Exec(`INSERT INTO webchat_visitors (tenant, id, contact_id, conversation_id) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant, id) DO UPDATE SET contact_id = excluded.contact_id, conversation_id = excluded.conversation_id`,
			t, v.ID, string(v.ContactID), string(v.ConversationID))
		return err
	})
}

// Settings implements webchat.Backend.
func (w *WebChat) Settings(ctx context.Context) (*webchat.Settings, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var st webchat.Settings
	var at int64
	if err := w.db.QueryRow(ctx, `SELECT identity_secret, rotated_at FROM webchat_settings WHERE tenant = ?`, t).Scan(&st.IdentitySecret, &at); err != nil {
		return nil, accNotFound(err, "web chat settings", "")
	}
	st.RotatedAt = accTime(at)
	return &st, nil
}

// InitSettings implements webchat.Backend.
func (w *WebChat) InitSettings(ctx context.Context, fresh webchat.Settings) (*webchat.Settings, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var st webchat.Settings
	err = w.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		if _, err := tx.Exec(`INSERT INTO webchat_settings (tenant, identity_secret, rotated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			t, fresh.IdentitySecret, accMS(fresh.RotatedAt)); err != nil {
			return err
		}
		var at int64
		if err := tx.QueryRow(`SELECT identity_secret, rotated_at FROM webchat_settings WHERE tenant = ?`, t).Scan(&st.IdentitySecret, &at); err != nil {
			return err
		}
		st.RotatedAt = accTime(at)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// SaveSettings implements webchat.Backend.
func (w *WebChat) SaveSettings(ctx context.Context, st webchat.Settings) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	return w.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		_, err := tx.Exec(`INSERT INTO webchat_settings (tenant, identity_secret, rotated_at) VALUES (?, ?, ?)
			ON CONFLICT (tenant) DO UPDATE SET identity_secret = excluded.identity_secret, rotated_at = excluded.rotated_at`,
			t, st.IdentitySecret, accMS(st.RotatedAt))
		return err
	})
}
