// Package accounts holds tenants, users with their roles and agent profiles,
// skill groups, login sessions, the login log and the login rate limiter.
package accounts

import (
	"time"

	"github.com/omnihub/hub/internal/store"
)

// Role is what a user may do.
type Role string

// The roles of the hub.
const (
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleQA         Role = "qa"
	RoleAdmin      Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAgent, RoleSupervisor, RoleQA, RoleAdmin:
		return true
	}
	return false
}

// UserID identifies a user (agents are users with an agent profile).
type UserID string

// GroupID identifies a skill group.
type GroupID string

// Tenant is one company served by the hub.
type Tenant struct {
	ID    store.TenantID `bson:"_id" json:"id"`
	Name  string         `bson:"name" json:"name"`
	Title string         `bson:"title" json:"title"` // product title shown in the UI
	// HistoryAccess says how much of the shared history agents and
	// supervisors read: HistoryRelated (default) or HistoryTenant.
	HistoryAccess HistoryAccess `bson:"history_access,omitempty" json:"history_access"`
	CreatedAt     time.Time     `bson:"created_at" json:"created_at"`
}

// HistoryAccess is a tenant's policy for reading the shared history.
type HistoryAccess string

// History access policies. Admins and QA read everything either way.
const (
	// HistoryRelated: an agent reads the contacts (and their whole
	// history) of conversations assigned to them or queued in one of their
	// skill groups; a supervisor reads those of their skill groups, or
	// everything when they belong to no group (a centre-wide supervisor).
	HistoryRelated HistoryAccess = "related"
	// HistoryTenant: every agent and supervisor reads the whole tenant.
	HistoryTenant HistoryAccess = "tenant"
)

// Membership puts a user in a skill group at a level (1 is the most skilled).
type Membership struct {
	GroupID GroupID `bson:"group_id" json:"group_id"`
	Level   int     `bson:"level" json:"level"`
}

// User is an account; agents carry their profile here.
type User struct {
	ID                UserID       `bson:"_id" json:"id"`
	Username          string       `bson:"username" json:"username"`
	PasswordHash      []byte       `bson:"password_hash" json:"-"`
	Role              Role         `bson:"role" json:"role"`
	Name              string       `bson:"name" json:"name"`
	EmployeeNo        string       `bson:"employee_no,omitempty" json:"employee_no"` // 工号
	Extension         string       `bson:"extension,omitempty" json:"extension"`
	Groups            []Membership `bson:"groups" json:"groups"`
	Disabled          bool         `bson:"disabled" json:"disabled"`
	CreatedAt         time.Time    `bson:"created_at" json:"created_at"`
	UpdatedAt         time.Time    `bson:"updated_at" json:"updated_at"`
	PasswordChangedAt time.Time    `bson:"password_changed_at" json:"password_changed_at"`
	// AccessRev counts changes of the user's role and skill groups; a live
	// socket opened before a change ends (CloseRightsChanged).
	AccessRev int64 `bson:"access_rev" json:"-"`
}

// Group is a skill group (技能组): a queue that agents belong to.
type Group struct {
	ID          GroupID `bson:"_id" json:"id"`
	Name        string  `bson:"name" json:"name"`
	Description string  `bson:"description" json:"description"`
	Disabled    bool    `bson:"disabled" json:"disabled"`
	// WebChatHidden keeps the group out of the web chat's group picker (a
	// site can still pass it to the widget).
	WebChatHidden bool      `bson:"webchat_hidden" json:"webchat_hidden"`
	CreatedAt     time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt     time.Time `bson:"updated_at" json:"updated_at"`
}

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID   UserID         `json:"user_id"`
	Tenant   store.TenantID `json:"tenant"`
	Username string         `json:"username"`
	Name     string         `json:"name"`
	Role     Role           `json:"role"`
	// AccessRev is the user's AccessRev when the principal was read.
	AccessRev int64 `json:"-"`
}

// Outcome of a login attempt.
type Outcome string

// Login outcomes recorded in the login log.
const (
	OutcomeSuccess     Outcome = "success"
	OutcomeBadPassword Outcome = "bad_password"
	OutcomeUnknownUser Outcome = "unknown_user"
	OutcomeDisabled    Outcome = "disabled"
	OutcomeRateLimited Outcome = "rate_limited"
)

// LoginRecord is one login attempt (登录日志).
type LoginRecord struct {
	ID        string    `bson:"_id" json:"id"`
	Username  string    `bson:"username" json:"username"`
	UserID    UserID    `bson:"user_id,omitempty" json:"user_id,omitempty"`
	Time      time.Time `bson:"time" json:"time"`
	IP        string    `bson:"ip" json:"ip"`
	UserAgent string    `bson:"user_agent" json:"user_agent"`
	Outcome   Outcome   `bson:"outcome" json:"outcome"`
	// Detail says which limit refused a rate_limited attempt:
	// "user_and_source" (this user from this address backs off) or
	// "source" (this address failed too often across users).
	Detail string `bson:"detail,omitempty" json:"detail,omitempty"`
}

// Session is a login session, stored under the SHA-256 of its token (the
// token itself is never stored). Sessions are global: one is found by its
// id before its tenant is known.
type Session struct {
	ID        string         `bson:"_id"`
	Tenant    store.TenantID `bson:"tenant"`
	UserID    UserID         `bson:"user_id"`
	CreatedAt time.Time      `bson:"created_at"`
	ExpiresAt time.Time      `bson:"expires_at"`
	IP        string         `bson:"ip"`
	UserAgent string         `bson:"user_agent"`
}
