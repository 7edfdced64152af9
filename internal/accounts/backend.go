package accounts

import (
	"context"
	"time"

	"github.com/omnihub/hub/internal/store"
)

// Backend is the store the accounts service needs (implemented by
// storage/sqlite and storage/mongo, both held to accountstest.Run).
//
// Tenants and sessions are global: their methods take the tenant as an
// argument (a session is found by its token's hash before any tenant is
// known). Users, skill groups and the login log are scoped to the tenant of
// the context (store.WithTenant); a call without one fails with
// store.ErrNoTenant, and a record of another tenant is never read or
// changed.
//
// Missing records are *store.NotFoundError, taken unique values
// *store.DuplicateError. Times are kept to the millisecond.
type Backend interface {
	// InsertTenant adds tenant t and, when admin is not nil, its first user
	// (in t), as one operation: either both are stored or neither. A taken
	// id is a *store.DuplicateError (kind "tenant").
	InsertTenant(ctx context.Context, t Tenant, admin *User) error
	// Tenant reads a tenant.
	Tenant(ctx context.Context, id store.TenantID) (*Tenant, error)
	// UpdateTenant applies c to tenant id and returns it as changed.
	UpdateTenant(ctx context.Context, id store.TenantID, c TenantChange) (*Tenant, error)

	// InsertUser adds a user; a taken username is a *store.DuplicateError
	// (kind "user", field "username").
	InsertUser(ctx context.Context, u *User) error
	// User reads a user by id.
	User(ctx context.Context, id UserID) (*User, error)
	// UserByName reads a user by username (exact).
	UserByName(ctx context.Context, username string) (*User, error)
	// Users lists users matching q by username, at most 5000.
	Users(ctx context.Context, q UserQuery) ([]User, error)
	// HasRole tells whether any user (enabled or not) has role r.
	HasRole(ctx context.Context, r Role) (bool, error)
	// UpdateUser applies c to user id and returns the user as changed;
	// with c.EndSessions it also ends the user's sessions (except
	// c.KeepSession), in the same operation.
	UpdateUser(ctx context.Context, id UserID, c UserChange) (*User, error)

	// InsertGroup adds a skill group; a taken name is a
	// *store.DuplicateError (kind "skill group", field "name").
	InsertGroup(ctx context.Context, g *Group) error
	// Group reads a skill group.
	Group(ctx context.Context, id GroupID) (*Group, error)
	// Groups lists skill groups by name.
	Groups(ctx context.Context, includeDisabled bool) ([]Group, error)
	// UpdateGroup applies c and returns the group as changed; a taken name
	// is a *store.DuplicateError.
	UpdateGroup(ctx context.Context, id GroupID, c GroupChange) (*Group, error)

	// InsertLogin records a login attempt (r.ID is ids.NewAt(r.Time)) and,
	// when s is not nil, opens that session (global), as one operation.
	InsertLogin(ctx context.Context, r LoginRecord, s *Session) error
	// Logins lists login attempts matching q (its Username, UserID, From,
	// To and Cursor), newest first, at most q.Limit.
	Logins(ctx context.Context, q LoginQuery) ([]LoginRecord, error)

	// Session reads a session by id (the SHA-256 of its token).
	Session(ctx context.Context, id string) (*Session, error)
	// DeleteSession ends a session and returns it.
	DeleteSession(ctx context.Context, id string) (*Session, error)
	// PurgeSessions ends the sessions expired before t and tells how many.
	PurgeSessions(ctx context.Context, t time.Time) (int64, error)
}

// TenantChange is what UpdateTenant sets; nil fields are kept.
type TenantChange struct {
	Name          *string
	Title         *string
	HistoryAccess *HistoryAccess
}

// UserChange is what UpdateUser sets; nil fields are kept.
type UserChange struct {
	Role       *Role
	Name       *string
	EmployeeNo *string
	Extension  *string
	Groups     *[]Membership
	Disabled   *bool
	// PasswordHash, when not nil, replaces the password; PasswordChangedAt
	// is set with it.
	PasswordHash      []byte
	PasswordChangedAt time.Time
	UpdatedAt         time.Time
	// BumpAccess adds one to AccessRev (a changed role or groups).
	BumpAccess bool
	// EndSessions ends every session of the user but KeepSession (a
	// session id, or "" for none).
	EndSessions bool
	KeepSession string
}

// GroupChange is what UpdateGroup sets; nil fields are kept.
type GroupChange struct {
	Name          *string
	Description   *string
	Disabled      *bool
	WebChatHidden *bool
	UpdatedAt     time.Time
}
