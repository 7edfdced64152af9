package accounts

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/store"
)

// UserInput creates a user.
type UserInput struct {
	Username   string       `json:"username"`
	Password   string       `json:"password"`
	Role       Role         `json:"role"`
	Name       string       `json:"name"`
	EmployeeNo string       `json:"employee_no"`
	Extension  string       `json:"extension"`
	Groups     []Membership `json:"groups"`
}

// UserPatch changes some fields of a user; nil fields are kept.
type UserPatch struct {
	Role       *Role         `json:"role"`
	Name       *string       `json:"name"`
	EmployeeNo *string       `json:"employee_no"`
	Extension  *string       `json:"extension"`
	Groups     *[]Membership `json:"groups"`
	Disabled   *bool         `json:"disabled"`
}

var extensionRe = regexp.MustCompile(`^[0-9]{2,12}$`)

func checkName(field, v string, required bool, max int) error {
	v = strings.TrimSpace(v)
	if required && v == "" {
		return &ValidationError{Field: field, Reason: "is required"}
	}
	if len([]rune(v)) > max {
		return &ValidationError{Field: field, Reason: fmt.Sprintf("must be at most %d characters", max)}
	}
	return nil
}

func (s *Service) checkMemberships(ctx context.Context, ms []Membership) ([]Membership, error) {
	out := make([]Membership, 0, len(ms))
	seen := map[GroupID]bool{}
	for i, m := range ms {
		field := fmt.Sprintf("groups[%d]", i)
		if m.GroupID == "" {
			return nil, &ValidationError{Field: field + ".group_id", Reason: "is required"}
		}
		if seen[m.GroupID] {
			return nil, &ValidationError{Field: field + ".group_id", Reason: "is listed twice"}
		}
		seen[m.GroupID] = true
		if m.Level == 0 {
			m.Level = 1
		}
		if m.Level < 1 || m.Level > 10 {
			return nil, &ValidationError{Field: field + ".level", Reason: "must be 1 (most skilled) to 10"}
		}
		if _, err := s.GetGroup(ctx, m.GroupID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, &ValidationError{Field: field + ".group_id", Reason: fmt.Sprintf("no skill group %q", m.GroupID)}
			}
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// CreateUser adds a user to the context's tenant.
func (s *Service) CreateUser(ctx context.Context, in UserInput) (*User, error) {
	u, err := s.newUser(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := s.b.InsertUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// newUser validates in and makes the user it describes (not stored yet).
func (s *Service) newUser(ctx context.Context, in UserInput) (*User, error) {
	in.Username = strings.TrimSpace(in.Username)
	if !usernameRe.MatchString(in.Username) {
		return nil, &ValidationError{Field: "username", Reason: "must be 2-64 letters, digits or . _ @ - and start with a letter or digit"}
	}
	if !in.Role.Valid() {
		return nil, &ValidationError{Field: "role", Reason: "must be agent, supervisor, qa or admin"}
	}
	if err := checkName("name", in.Name, false, 64); err != nil {
		return nil, err
	}
	if err := checkName("employee_no", in.EmployeeNo, false, 32); err != nil {
		return nil, err
	}
	if in.Extension != "" && !extensionRe.MatchString(in.Extension) {
		return nil, &ValidationError{Field: "extension", Reason: "must be 2-12 digits"}
	}
	groups, err := s.checkMemberships(ctx, in.Groups)
	if err != nil {
		return nil, err
	}
	h, err := s.hash("password", in.Password)
	if err != nil {
		return nil, err
	}
	now := s.o.Now().UTC()
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = in.Username
	}
	u := &User{ID: UserID(ids.NewAt(now)), Username: in.Username, PasswordHash: h, Role: in.Role, Name: name,
		EmployeeNo: strings.TrimSpace(in.EmployeeNo), Extension: in.Extension, Groups: groups,
		CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now}
	return u, nil
}

// GetUser returns one user of the context's tenant.
func (s *Service) GetUser(ctx context.Context, id UserID) (*User, error) {
	return s.b.User(ctx, id)
}

// UserQuery filters ListUsers.
type UserQuery struct {
	Role            Role
	GroupID         GroupID
	IncludeDisabled bool
}

// ListUsers lists the tenant's users by username.
func (s *Service) ListUsers(ctx context.Context, q UserQuery) ([]User, error) {
	out, err := s.b.Users(ctx, q)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []User{}
	}
	return out, nil
}

// UpdateUser applies a patch. Every request reads its user afresh, so the
// change holds from the user's next request on every replica. Disabling a
// user ends their sessions and closes their sockets (CloseSessionEnded); a
// changed role or set of skill groups closes their sockets
// (CloseRightsChanged) so that they reconnect with the new rights.
func (s *Service) UpdateUser(ctx context.Context, id UserID, p UserPatch) (*User, error) {
	before, err := s.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	var c UserChange
	if p.Role != nil {
		if !p.Role.Valid() {
			return nil, &ValidationError{Field: "role", Reason: "must be agent, supervisor, qa or admin"}
		}
		c.Role = p.Role
		c.BumpAccess = c.BumpAccess || *p.Role != before.Role
	}
	if p.Name != nil {
		if err := checkName("name", *p.Name, true, 64); err != nil {
			return nil, err
		}
		c.Name = ptr(strings.TrimSpace(*p.Name))
	}
	if p.EmployeeNo != nil {
		if err := checkName("employee_no", *p.EmployeeNo, false, 32); err != nil {
			return nil, err
		}
		c.EmployeeNo = ptr(strings.TrimSpace(*p.EmployeeNo))
	}
	if p.Extension != nil {
		if *p.Extension != "" && !extensionRe.MatchString(*p.Extension) {
			return nil, &ValidationError{Field: "extension", Reason: "must be 2-12 digits"}
		}
		c.Extension = p.Extension
	}
	if p.Groups != nil {
		g, err := s.checkMemberships(ctx, *p.Groups)
		if err != nil {
			return nil, err
		}
		c.Groups = &g
		c.BumpAccess = c.BumpAccess || !slices.Equal(g, before.Groups)
	}
	c.Disabled = p.Disabled
	c.UpdatedAt = s.o.Now().UTC()
	// A disabled account's sessions end in the same write that disables it.
	c.EndSessions = before.Disabled
	if p.Disabled != nil {
		c.EndSessions = *p.Disabled
	}
	u, err := s.b.UpdateUser(ctx, id, c)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		s.revoked(id, "", "account disabled")
	} else if c.BumpAccess {
		s.notify(id, anySession, Revocation{Code: CloseRightsChanged, Reason: "role or skill groups changed"})
	}
	return u, nil
}

func ptr[T any](v T) *T { return &v }

// GroupInput creates or edits a skill group.
type GroupInput struct {
	Name          string `json:"name"`
	Description   string `json:"description"`
	Disabled      *bool  `json:"disabled"`
	WebChatHidden *bool  `json:"webchat_hidden"`
}

// CreateGroup adds a skill group.
func (s *Service) CreateGroup(ctx context.Context, in GroupInput) (*Group, error) {
	if err := checkName("name", in.Name, true, 64); err != nil {
		return nil, err
	}
	if err := checkName("description", in.Description, false, 500); err != nil {
		return nil, err
	}
	now := s.o.Now().UTC()
	g := &Group{ID: GroupID(ids.NewAt(now)), Name: strings.TrimSpace(in.Name), Description: in.Description, CreatedAt: now, UpdatedAt: now}
	if in.Disabled != nil {
		g.Disabled = *in.Disabled
	}
	if in.WebChatHidden != nil {
		g.WebChatHidden = *in.WebChatHidden
	}
	if err := s.b.InsertGroup(ctx, g); err != nil {
		return nil, err
	}
	return g, nil
}

// GetGroup returns one skill group.
func (s *Service) GetGroup(ctx context.Context, id GroupID) (*Group, error) {
	return s.b.Group(ctx, id)
}

// ListGroups lists the tenant's skill groups by name.
func (s *Service) ListGroups(ctx context.Context, includeDisabled bool) ([]Group, error) {
	out, err := s.b.Groups(ctx, includeDisabled)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []Group{}
	}
	return out, nil
}

// UpdateGroup edits a skill group; empty name and description are kept.
func (s *Service) UpdateGroup(ctx context.Context, id GroupID, in GroupInput) (*Group, error) {
	c := GroupChange{UpdatedAt: s.o.Now().UTC(), Disabled: in.Disabled, WebChatHidden: in.WebChatHidden}
	if in.Name != "" {
		if err := checkName("name", in.Name, true, 64); err != nil {
			return nil, err
		}
		c.Name = ptr(strings.TrimSpace(in.Name))
	}
	if in.Description != "" {
		if err := checkName("description", in.Description, false, 500); err != nil {
			return nil, err
		}
		c.Description = &in.Description
	}
	return s.b.UpdateGroup(ctx, id, c)
}

// LoginQuery filters the login log.
type LoginQuery struct {
	Username string
	UserID   UserID
	From, To time.Time
	Cursor   string // the last id of the previous page
	Limit    int    // default 50, at most 500
}

// ListLogins returns the tenant's login attempts, newest first, and the
// cursor of the next page ("" when this is the last).
func (s *Service) ListLogins(ctx context.Context, q LoginQuery) ([]LoginRecord, string, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > 500 {
		return nil, "", &ValidationError{Field: "limit", Reason: "must be at most 500"}
	}
	limit := q.Limit
	q.Limit++ // one more tells whether there is a next page
	out, err := s.b.Logins(ctx, q)
	if err != nil {
		return nil, "", err
	}
	if out == nil {
		out = []LoginRecord{}
	}
	q.Limit = limit
	next := ""
	if len(out) > q.Limit {
		out = out[:q.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// GetTenant returns the context's tenant.
func (s *Service) GetTenant(ctx context.Context) (*Tenant, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return nil, store.ErrNoTenant
	}
	return s.b.Tenant(ctx, t)
}

// TenantPatch edits the context's tenant.
type TenantPatch struct {
	Name          *string        `json:"name"`
	Title         *string        `json:"title"`
	HistoryAccess *HistoryAccess `json:"history_access"`
}

// UpdateTenant edits the context's own tenant (name, product title,
// history access policy).
func (s *Service) UpdateTenant(ctx context.Context, p TenantPatch) (*Tenant, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return nil, store.ErrNoTenant
	}
	var c TenantChange
	if p.Name != nil {
		if err := checkName("name", *p.Name, true, 64); err != nil {
			return nil, err
		}
		c.Name = ptr(strings.TrimSpace(*p.Name))
	}
	if p.Title != nil {
		if err := checkName("title", *p.Title, true, 64); err != nil {
			return nil, err
		}
		c.Title = ptr(strings.TrimSpace(*p.Title))
	}
	if p.HistoryAccess != nil {
		switch *p.HistoryAccess {
		case HistoryRelated, HistoryTenant:
		default:
			return nil, &ValidationError{Field: "history_access", Reason: "must be related or tenant"}
		}
		c.HistoryAccess = p.HistoryAccess
	}
	if c == (TenantChange{}) {
		return s.GetTenant(ctx)
	}
	return s.b.UpdateTenant(ctx, t, c)
}

// TenantInput creates a tenant with its first admin.
type TenantInput struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Title         string `json:"title"`
	AdminUser     string `json:"admin_user"`
	AdminPassword string `json:"admin_password"`
}

// CreateTenant adds a tenant and its first admin. Only the default tenant's
// admins (the operator of the hub) may call it; the handler checks that.
func (s *Service) CreateTenant(ctx context.Context, in TenantInput) (*Tenant, *User, error) {
	if !tenantRe.MatchString(in.ID) {
		return nil, nil, &ValidationError{Field: "id", Reason: "must be 2-40 lower-case letters, digits or -"}
	}
	if err := checkName("name", in.Name, true, 64); err != nil {
		return nil, nil, err
	}
	if in.Title == "" {
		in.Title = in.Name
	}
	if err := CheckPassword("admin_password", in.AdminPassword); err != nil {
		return nil, nil, err
	}
	if !usernameRe.MatchString(in.AdminUser) {
		return nil, nil, &ValidationError{Field: "admin_user", Reason: "must be 2-64 letters, digits or . _ @ -"}
	}
	t := Tenant{ID: store.TenantID(in.ID), Name: strings.TrimSpace(in.Name), Title: in.Title, CreatedAt: s.o.Now().UTC()}
	u, err := s.newUser(store.WithTenant(ctx, t.ID), UserInput{Username: in.AdminUser, Password: in.AdminPassword, Role: RoleAdmin, Name: "Administrator"})
	if err != nil {
		return nil, nil, err
	}
	if err := s.b.InsertTenant(ctx, t, u); err != nil {
		return nil, nil, err
	}
	return &t, u, nil
}
