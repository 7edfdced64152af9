package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store"
)

// accountsSchema: tenants and sessions are global (a session is found by
// the hash of its token before its tenant is known); users, skill groups,
// memberships and the login log carry their tenant first in every key.
//
// Queries and their indexes:
//   - session by token hash (every authenticated request): sessions primary key
//   - user by id (every authenticated request): users primary key
//   - user by username (login): users_username (unique)
//   - users by username, optionally by role: users_role, users_username
//   - users of a skill group: user_groups primary key (tenant, group_id, username)
//   - a user's memberships (rewritten on change): user_groups_user
//   - a user's sessions (revocation): sessions_user; expired sessions: sessions_expiry
//   - login log newest first, by username, by user, from/to (as id bounds:
//     ids start with their time): login_log primary key, login_log_username,
//     login_log_user
var accountsSchema = sqlitedb.Migration{Domain: "accounts", Steps: []string{
	`CREATE TABLE tenants (id TEXT NOT NULL PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID`,
	`CREATE TABLE users (tenant TEXT NOT NULL, id TEXT NOT NULL, username TEXT NOT NULL, role TEXT NOT NULL,
		disabled INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID`,
	`CREATE UNIQUE INDEX users_username ON users (tenant, username)`,
	`CREATE INDEX users_role ON users (tenant, role, username)`,
	`CREATE TABLE user_groups (tenant TEXT NOT NULL, group_id TEXT NOT NULL, username TEXT NOT NULL, user_id TEXT NOT NULL,
		PRIMARY KEY (tenant, group_id, username)) WITHOUT ROWID`,
	`CREATE INDEX user_groups_user ON user_groups (tenant, user_id)`,
	`CREATE TABLE skill_groups (tenant TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, disabled INTEGER NOT NULL,
		doc TEXT NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID`,
	`CREATE UNIQUE INDEX skill_groups_name ON skill_groups (tenant, name)`,
	`CREATE TABLE sessions (id TEXT NOT NULL PRIMARY KEY, tenant TEXT NOT NULL, user_id TEXT NOT NULL,
		created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, ip TEXT NOT NULL, user_agent TEXT NOT NULL) WITHOUT ROWID`,
	`CREATE INDEX sessions_user ON sessions (tenant, user_id)`,
	`CREATE INDEX sessions_expiry ON sessions (expires_at)`,
	`CREATE TABLE login_log (tenant TEXT NOT NULL, id TEXT NOT NULL, username TEXT NOT NULL, user_id TEXT NOT NULL,
		at INTEGER NOT NULL, ip TEXT NOT NULL, user_agent TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL,
		PRIMARY KEY (tenant, id)) WITHOUT ROWID`,
	`CREATE INDEX login_log_username ON login_log (tenant, username, id)`,
	`CREATE INDEX login_log_user ON login_log (tenant, user_id, id)`,
}}

func init() {
	// Sessions and the login log grow with traffic; the others are held to
	// the same rule (no scans) as they are read on every request.
	grows("login_log", "sessions", "users", "user_groups", "skill_groups", "tenants")
}

// Accounts is the embedded backend of accounts.Backend.
type Accounts struct {
	db      *sqlitedb.DB
	groups  docMemo[accounts.Group]
	tenants docMemo[accounts.Tenant]
}

var _ accounts.Backend = (*Accounts)(nil)

// NewAccounts applies the accounts schema and returns the backend.
func NewAccounts(ctx context.Context, db *sqlitedb.DB) (*Accounts, error) {
	if err := db.Migrate(ctx, accountsSchema); err != nil {
		return nil, err
	}
	return &Accounts{db: db}, nil
}

// accEncode is the document column's form of v: MongoDB extended JSON
// (relaxed) of v's bson fields, so both backends keep the same fields.
func accEncode(v any) (string, error) {
	b, err := bson.MarshalExtJSON(v, false, false)
	return string(b), err
}

// accDecode reads a document column written by accEncode.
func accDecode(s string, v any) error { return bson.UnmarshalExtJSON([]byte(s), false, v) }

// accMS is a time column: Unix milliseconds (MongoDB's precision).
func accMS(t time.Time) int64 { return t.UnixMilli() }

// accTime reads a time column.
func accTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func accBool(b bool) int {
	if b {
		return 1
	}
	return 0
}

// InsertTenant implements accounts.Backend.
func (a *Accounts) InsertTenant(ctx context.Context, t accounts.Tenant, admin *accounts.User) error {
	doc, err := accEncode(t)
	if err != nil {
		return err
	}
	return a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		res, err := tx.Exec(`INSERT INTO tenants (id, doc) VALUES (?, ?) ON CONFLICT DO NOTHING`, string(t.ID), doc)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &store.DuplicateError{Kind: "tenant", Field: "id", Value: string(t.ID)}
		}
		if admin != nil {
			return accInsertUser(tx, string(t.ID), admin)
		}
		return nil
	})
}

// Tenant implements accounts.Backend.
func (a *Accounts) Tenant(ctx context.Context, id store.TenantID) (*accounts.Tenant, error) {
	var doc string
	if err := a.db.QueryRow(ctx, `SELECT doc FROM tenants WHERE id = ?`, string(id)).Scan(&doc); err != nil {
		return nil, accNotFound(err, "tenant", string(id))
	}
	var t accounts.Tenant
	return &t, a.tenants.decode(doc, &t)
}

// UpdateTenant implements accounts.Backend.
func (a *Accounts) UpdateTenant(ctx context.Context, id store.TenantID, c accounts.TenantChange) (*accounts.Tenant, error) {
	var t accounts.Tenant
	err := a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		var doc string
		if err := tx.QueryRow(`SELECT doc FROM tenants WHERE id = ?`, string(id)).Scan(&doc); err != nil {
			return accNotFound(err, "tenant", string(id))
		}
		if err := accDecode(doc, &t); err != nil {
			return err
		}
		if c.Name != nil {
			t.Name = *c.Name
		}
		if c.Title != nil {
			t.Title = *c.Title
		}
		if c.HistoryAccess != nil {
			t.HistoryAccess = *c.HistoryAccess
		}
		doc, err := accEncode(t)
		if err != nil {
			return err
		}
		_, err = tx.Exec(`UPDATE tenants SET doc = ? WHERE id = ?`, doc, string(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// accNotFound maps sql.ErrNoRows to a *store.NotFoundError.
func accNotFound(err error, kind, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return &store.NotFoundError{Kind: kind, ID: id}
	}
	return err
}

// accInsertUser stores u and its memberships in tenant t.
func accInsertUser(tx *sqlitedb.Tx, t string, u *accounts.User) error {
	doc, err := accEncode(u)
	if err != nil {
		return err
	}
	res, err := tx.Exec(`INSERT INTO users (tenant, id, username, role, disabled, doc) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		t, string(u.ID), u.Username, string(u.Role), accBool(u.Disabled), doc)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &store.DuplicateError{Kind: "user", Field: "username", Value: u.Username}
	}
	return accInsertMemberships(tx, t, u)
}

func accInsertMemberships(tx *sqlitedb.Tx, t string, u *accounts.User) error {
	for _, m := range u.Groups {
		if _, err := tx.Exec(`INSERT INTO user_groups (tenant, group_id, username, user_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			t, string(m.GroupID), u.Username, string(u.ID)); err != nil {
			return err
		}
	}
	return nil
}

// InsertUser implements accounts.Backend.
func (a *Accounts) InsertUser(ctx context.Context, u *accounts.User) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	return a.db.Write(ctx, func(tx *sqlitedb.Tx) error { return accInsertUser(tx, t, u) })
}

func (a *Accounts) userWhere(ctx context.Context, kind, id, where string, args ...any) (*accounts.User, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var doc string
	if err := a.db.QueryRow(ctx, `SELECT doc FROM users WHERE tenant = ? AND `+where, append([]any{t}, args...)...).Scan(&doc); err != nil {
		return nil, accNotFound(err, kind, id)
	}
	var u accounts.User
	return &u, accDecode(doc, &u)
}

// User implements accounts.Backend.
func (a *Accounts) User(ctx context.Context, id accounts.UserID) (*accounts.User, error) {
	return a.userWhere(ctx, "user", string(id), `id = ?`, string(id))
}

// UserByName implements accounts.Backend.
func (a *Accounts) UserByName(ctx context.Context, username string) (*accounts.User, error) {
	return a.userWhere(ctx, "user", username, `username = ?`, username)
}

// Users implements accounts.Backend.
func (a *Accounts) Users(ctx context.Context, q accounts.UserQuery) ([]accounts.User, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	args := []any{t}
	if q.GroupID != "" {
		b.WriteString(`SELECT u.doc FROM user_groups g JOIN users u ON u.tenant = g.tenant AND u.id = g.user_id WHERE g.tenant = ? AND g.group_id = ?`)
		args = append(args, string(q.GroupID))
		if q.Role != "" {
			b.WriteString(` AND u.role = ?`)
			args = append(args, string(q.Role))
		}
		if !q.IncludeDisabled {
			b.WriteString(` AND u.disabled = 0`)
		}
		b.WriteString(` ORDER BY g.username LIMIT 5000`)
	} else {
		b.WriteString(`SELECT doc FROM users WHERE tenant = ?`)
		if q.Role != "" {
			b.WriteString(` AND role = ?`)
			args = append(args, string(q.Role))
		}
		if !q.IncludeDisabled {
			b.WriteString(` AND disabled = 0`)
		}
		b.WriteString(` ORDER BY username LIMIT 5000`)
	}
	rows, err := a.db.Query(ctx, b.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []accounts.User{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var u accounts.User
		if err := accDecode(doc, &u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// HasRole implements accounts.Backend.
func (a *Accounts) HasRole(ctx context.Context, r accounts.Role) (bool, error) {
	t, err := tenant(ctx)
	if err != nil {
		return false, err
	}
	var one int
	err = a.db.QueryRow(ctx, `SELECT 1 FROM users WHERE tenant = ? AND role = ? LIMIT 1`, t, string(r)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// UpdateUser implements accounts.Backend: the user, their memberships and
// (with c.EndSessions) their sessions change in one transaction.
func (a *Accounts) UpdateUser(ctx context.Context, id accounts.UserID, c accounts.UserChange) (*accounts.User, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var u accounts.User
	err = a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		var doc string
		if err := tx.QueryRow(`SELECT doc FROM users WHERE tenant = ? AND id = ?`, t, string(id)).Scan(&doc); err != nil {
			return accNotFound(err, "user", string(id))
		}
		if err := accDecode(doc, &u); err != nil {
			return err
		}
		if c.Role != nil {
			u.Role = *c.Role
		}
		if c.Name != nil {
			u.Name = *c.Name
		}
		if c.EmployeeNo != nil {
			u.EmployeeNo = *c.EmployeeNo
		}
		if c.Extension != nil {
			u.Extension = *c.Extension
		}
		if c.Groups != nil {
			u.Groups = *c.Groups
		}
		if c.Disabled != nil {
			u.Disabled = *c.Disabled
		}
		if c.PasswordHash != nil {
			u.PasswordHash = c.PasswordHash
			u.PasswordChangedAt = c.PasswordChangedAt
		}
		u.UpdatedAt = c.UpdatedAt
		if c.BumpAccess {
			u.AccessRev++
		}
		doc, err := accEncode(&u)
		if err != nil {
			return err
		}
		u = accounts.User{} // read back as stored (times to the millisecond)
		if err := accDecode(doc, &u); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE users SET role = ?, disabled = ?, doc = ? WHERE tenant = ? AND id = ?`,
			string(u.Role), accBool(u.Disabled), doc, t, string(id)); err != nil {
			return err
		}
		if c.Groups != nil {
			if _, err := tx.Exec(`DELETE FROM user_groups WHERE tenant = ? AND user_id = ?`, t, string(id)); err != nil {
				return err
			}
			if err := accInsertMemberships(tx, t, &u); err != nil {
				return err
			}
		}
		if c.EndSessions {
			if _, err := tx.Exec(`DELETE FROM sessions WHERE tenant = ? AND user_id = ? AND id <> ?`, t, string(id), c.KeepSession); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// InsertGroup implements accounts.Backend.
func (a *Accounts) InsertGroup(ctx context.Context, g *accounts.Group) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	doc, err := accEncode(g)
	if err != nil {
		return err
	}
	return a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		res, err := tx.Exec(`INSERT INTO skill_groups (tenant, id, name, disabled, doc) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			t, string(g.ID), g.Name, accBool(g.Disabled), doc)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &store.DuplicateError{Kind: "skill group", Field: "name", Value: g.Name}
		}
		return nil
	})
}

// Group implements accounts.Backend.
func (a *Accounts) Group(ctx context.Context, id accounts.GroupID) (*accounts.Group, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var doc string
	if err := a.db.QueryRow(ctx, `SELECT doc FROM skill_groups WHERE tenant = ? AND id = ?`, t, string(id)).Scan(&doc); err != nil {
		return nil, accNotFound(err, "skill group", string(id))
	}
	var g accounts.Group
	return &g, a.groups.decode(doc, &g)
}

// Groups implements accounts.Backend.
func (a *Accounts) Groups(ctx context.Context, includeDisabled bool) ([]accounts.Group, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	q := `SELECT doc FROM skill_groups WHERE tenant = ? AND disabled = 0 ORDER BY name`
	if includeDisabled {
		q = `SELECT doc FROM skill_groups WHERE tenant = ? ORDER BY name`
	}
	rows, err := a.db.Query(ctx, q, t)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []accounts.Group{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var g accounts.Group
		if err := a.groups.decode(doc, &g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// UpdateGroup implements accounts.Backend.
func (a *Accounts) UpdateGroup(ctx context.Context, id accounts.GroupID, c accounts.GroupChange) (*accounts.Group, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var g accounts.Group
	err = a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		var doc string
		if err := tx.QueryRow(`SELECT doc FROM skill_groups WHERE tenant = ? AND id = ?`, t, string(id)).Scan(&doc); err != nil {
			return accNotFound(err, "skill group", string(id))
		}
		if err := accDecode(doc, &g); err != nil {
			return err
		}
		if c.Name != nil && *c.Name != g.Name {
			var other string
			err := tx.QueryRow(`SELECT id FROM skill_groups WHERE tenant = ? AND name = ?`, t, *c.Name).Scan(&other)
			if err == nil {
				return &store.DuplicateError{Kind: "skill group", Field: "name", Value: *c.Name}
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			g.Name = *c.Name
		}
		if c.Description != nil {
			g.Description = *c.Description
		}
		if c.Disabled != nil {
			g.Disabled = *c.Disabled
		}
		if c.WebChatHidden != nil {
			g.WebChatHidden = *c.WebChatHidden
		}
		g.UpdatedAt = c.UpdatedAt
		doc, err := accEncode(&g)
		if err != nil {
			return err
		}
		g = accounts.Group{} // read back as stored (times to the millisecond)
		if err := accDecode(doc, &g); err != nil {
			return err
		}
		_, err = tx.Exec(`UPDATE skill_groups SET name = ?, disabled = ?, doc = ? WHERE tenant = ? AND id = ?`,
			g.Name, accBool(g.Disabled), doc, t, string(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &g, nil
}

// InsertLogin implements accounts.Backend: the attempt and its session are
// one transaction.
func (a *Accounts) InsertLogin(ctx context.Context, r accounts.LoginRecord, s *accounts.Session) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	return a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		if s != nil {
			if _, err := tx.Exec(`INSERT INTO sessions (id, tenant, user_id, created_at, expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				s.ID, string(s.Tenant), string(s.UserID), accMS(s.CreatedAt), accMS(s.ExpiresAt), s.IP, s.UserAgent); err != nil {
				return err
			}
		}
		_, err := tx.Exec(`INSERT INTO login_log (tenant, id, username, user_id, at, ip, user_agent, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t, r.ID, r.Username, string(r.UserID), accMS(r.Time), r.IP, r.UserAgent, string(r.Outcome), r.Detail)
		return err
	})
}

// accMSPrefix is the start of the ids made at Unix millisecond ms
// (internal/ids: 12 hex digits of the time first).
func accMSPrefix(ms int64) string { return fmt.Sprintf("%012x", ms) }

// Logins implements accounts.Backend. A time range is also an id range
// (a record's id is made at its time), which keeps it on the index.
func (a *Accounts) Logins(ctx context.Context, q accounts.LoginQuery) ([]accounts.LoginRecord, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	// Without statistics SQLite would rather walk the primary key (already
	// in id order) than search by user: name the index.
	switch {
	case q.Username != "":
		b.WriteString(`SELECT id, username, user_id, at, ip, user_agent, outcome, detail FROM login_log INDEXED BY login_log_username WHERE tenant = ?`)
	case q.UserID != "":
		b.WriteString(`SELECT id, username, user_id, at, ip, user_agent, outcome, detail FROM login_log INDEXED BY login_log_user WHERE tenant = ?`)
	default:
		b.WriteString(`SELECT id, username, user_id, at, ip, user_agent, outcome, detail FROM login_log WHERE tenant = ?`)
	}
	args := []any{t}
	if q.Username != "" {
		b.WriteString(` AND username = ?`)
		args = append(args, q.Username)
	}
	if q.UserID != "" {
		b.WriteString(` AND user_id = ?`)
		args = append(args, string(q.UserID))
	}
	if q.Cursor != "" {
		b.WriteString(` AND id < ?`)
		args = append(args, q.Cursor)
	}
	if !q.From.IsZero() {
		b.WriteString(` AND id >= ? AND at >= ?`)
		args = append(args, accMSPrefix(accMS(q.From)), accMS(q.From))
	}
	if !q.To.IsZero() {
		b.WriteString(` AND id < ? AND at <= ?`)
		args = append(args, accMSPrefix(accMS(q.To)+1), accMS(q.To))
	}
	b.WriteString(` ORDER BY id DESC LIMIT ?`)
	args = append(args, q.Limit)
	rows, err := a.db.Query(ctx, b.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []accounts.LoginRecord{}
	for rows.Next() {
		var r accounts.LoginRecord
		var uid, outcome string
		var at int64
		if err := rows.Scan(&r.ID, &r.Username, &uid, &at, &r.IP, &r.UserAgent, &outcome, &r.Detail); err != nil {
			return nil, err
		}
		r.UserID, r.Outcome, r.Time = accounts.UserID(uid), accounts.Outcome(outcome), accTime(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

const accSessionCols = `tenant, user_id, created_at, expires_at, ip, user_agent`

func accScanSession(row interface{ Scan(...any) error }, id string) (*accounts.Session, error) {
	s := accounts.Session{ID: id}
	var t, uid string
	var created, expires int64
	if err := row.Scan(&t, &uid, &created, &expires, &s.IP, &s.UserAgent); err != nil {
		return nil, accNotFound(err, "session", "")
	}
	s.Tenant, s.UserID, s.CreatedAt, s.ExpiresAt = store.TenantID(t), accounts.UserID(uid), accTime(created), accTime(expires)
	return &s, nil
}

// Session implements accounts.Backend: a primary-key read.
func (a *Accounts) Session(ctx context.Context, id string) (*accounts.Session, error) {
	return accScanSession(a.db.QueryRow(ctx, `SELECT `+accSessionCols+` FROM sessions WHERE id = ?`, id), id)
}

// DeleteSession implements accounts.Backend.
func (a *Accounts) DeleteSession(ctx context.Context, id string) (*accounts.Session, error) {
	var s *accounts.Session
	err := a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		var err error
		if s, err = accScanSession(tx.QueryRow(`SELECT `+accSessionCols+` FROM sessions WHERE id = ?`, id), id); err != nil {
			return err
		}
		_, err = tx.Exec(`DELETE FROM sessions WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// PurgeSessions implements accounts.Backend.
func (a *Accounts) PurgeSessions(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := a.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		res, err := tx.Exec(`DELETE FROM sessions WHERE expires_at < ?`, accMS(t))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
