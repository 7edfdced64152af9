// Package accountstest is the contract every accounts.Backend meets: the
// embedded SQLite backend and the MongoDB backend run the same suite
// (storage/sqlite, storage/mongo), tenant scoping included.
package accountstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/store"
)

// Run runs the suite; open returns a new, empty backend for each test.
func Run(t *testing.T, open func(t *testing.T) accounts.Backend) {
	t.Run("Tenants", func(t *testing.T) { testTenants(t, open(t)) })
	t.Run("Users", func(t *testing.T) { testUsers(t, open(t)) })
	t.Run("UserUpdates", func(t *testing.T) { testUserUpdates(t, open(t)) })
	t.Run("Groups", func(t *testing.T) { testGroups(t, open(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open(t)) })
	t.Run("LoginLog", func(t *testing.T) { testLoginLog(t, open(t)) })
	t.Run("NoTenant", func(t *testing.T) { testNoTenant(t, open(t)) })
}

var (
	bg      = context.Background()
	ctxA    = store.WithTenant(bg, "tenant-a")
	ctxB    = store.WithTenant(bg, "tenant-b")
	t0      = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	hashPwA = []byte("$2a$04$hash-a")
)

func isNotFound(err error) bool  { var e *store.NotFoundError; return errors.As(err, &e) }
func isDuplicate(err error) bool { var e *store.DuplicateError; return errors.As(err, &e) }

func user(name string, role accounts.Role, groups ...accounts.GroupID) *accounts.User {
	u := &accounts.User{ID: accounts.UserID(ids.NewAt(t0)), Username: name, PasswordHash: hashPwA, Role: role, Name: "N " + name,
		CreatedAt: t0, UpdatedAt: t0, PasswordChangedAt: t0}
	for i, g := range groups {
		u.Groups = append(u.Groups, accounts.Membership{GroupID: g, Level: i + 1})
	}
	return u
}

func mustInsertUser(t *testing.T, b accounts.Backend, ctx context.Context, u *accounts.User) *accounts.User {
	t.Helper()
	if err := b.InsertUser(ctx, u); err != nil {
		t.Fatalf("insert user %s: %v", u.Username, err)
	}
	return u
}

func names(us []accounts.User) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.Username)
	}
	return out
}

func testTenants(t *testing.T, b accounts.Backend) {
	ta := accounts.Tenant{ID: "tenant-a", Name: "A", Title: "A desk", CreatedAt: t0}
	admin := user("root", accounts.RoleAdmin)
	if err := b.InsertTenant(bg, ta, admin); err != nil {
		t.Fatal(err)
	}
	if err := b.InsertTenant(bg, accounts.Tenant{ID: "tenant-a", Name: "again"}, user("other", accounts.RoleAdmin)); !isDuplicate(err) {
		t.Fatalf("second tenant-a: %v, want a duplicate error", err)
	}
	// The refused tenant's admin was not stored, and the first is intact.
	if _, err := b.UserByName(ctxA, "other"); !isNotFound(err) {
		t.Fatalf("admin of a refused tenant: %v", err)
	}
	got, err := b.Tenant(bg, "tenant-a")
	if err != nil || got.Name != "A" || got.Title != "A desk" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("tenant: %+v %v", got, err)
	}
	if u, err := b.UserByName(ctxA, "root"); err != nil || u.ID != admin.ID || u.Role != accounts.RoleAdmin {
		t.Fatalf("admin made with its tenant: %+v %v", u, err)
	}
	if _, err := b.UserByName(ctxB, "root"); !isNotFound(err) {
		t.Fatalf("tenant-a's admin read in tenant-b: %v", err)
	}
	if _, err := b.Tenant(bg, "nope"); !isNotFound(err) {
		t.Fatalf("missing tenant: %v", err)
	}
	if err := b.InsertTenant(bg, accounts.Tenant{ID: "tenant-b", Name: "B", CreatedAt: t0}, nil); err != nil {
		t.Fatal(err)
	}
	title, access := "New title", accounts.HistoryTenant
	up, err := b.UpdateTenant(bg, "tenant-a", accounts.TenantChange{Title: &title, HistoryAccess: &access})
	if err != nil || up.Title != title || up.Name != "A" || up.HistoryAccess != access {
		t.Fatalf("update tenant: %+v %v", up, err)
	}
	if got, _ := b.Tenant(bg, "tenant-a"); got.Title != title || got.HistoryAccess != access {
		t.Fatalf("tenant after update: %+v", got)
	}
	if got, _ := b.Tenant(bg, "tenant-b"); got.Title != "" || got.HistoryAccess != "" {
		t.Fatalf("tenant-b changed by tenant-a's update: %+v", got)
	}
	if _, err := b.UpdateTenant(bg, "nope", accounts.TenantChange{Title: &title}); !isNotFound(err) {
		t.Fatalf("update missing tenant: %v", err)
	}
}

func testUsers(t *testing.T, b accounts.Backend) {
	zhou := mustInsertUser(t, b, ctxA, user("zhou", accounts.RoleAgent, "g1", "g2"))
	mustInsertUser(t, b, ctxA, user("alice", accounts.RoleAgent, "g1"))
	mustInsertUser(t, b, ctxA, user("boss", accounts.RoleSupervisor, "g2"))
	off := user("ghost", accounts.RoleAgent, "g1")
	off.Disabled = true
	mustInsertUser(t, b, ctxA, off)
	// Same username in another tenant is another user.
	zhouB := mustInsertUser(t, b, ctxB, user("zhou", accounts.RoleAdmin, "g1"))

	if err := b.InsertUser(ctxA, user("zhou", accounts.RoleQA)); !isDuplicate(err) {
		t.Fatalf("second zhou: %v, want a duplicate error", err)
	} else if d := (*store.DuplicateError)(nil); errors.As(err, &d) && (d.Field != "username" || d.Value != "zhou") {
		t.Fatalf("duplicate names %+v", d)
	}

	u, err := b.User(ctxA, zhou.ID)
	if err != nil || u.Username != "zhou" || string(u.PasswordHash) != string(hashPwA) || len(u.Groups) != 2 ||
		u.Groups[1] != (accounts.Membership{GroupID: "g2", Level: 2}) || !u.CreatedAt.Equal(t0) || u.Name != "N zhou" {
		t.Fatalf("user by id: %+v %v", u, err)
	}
	if u, err := b.UserByName(ctxA, "zhou"); err != nil || u.ID != zhou.ID {
		t.Fatalf("user by name: %+v %v", u, err)
	}
	if u, err := b.UserByName(ctxB, "zhou"); err != nil || u.ID != zhouB.ID {
		t.Fatalf("user by name in tenant-b: %+v %v", u, err)
	}
	if _, err := b.UserByName(ctxA, "Zhou"); !isNotFound(err) {
		t.Fatalf("username is exact: %v", err)
	}
	// Tenant scoping: A's user is not found through B, even by id.
	if _, err := b.User(ctxB, zhou.ID); !isNotFound(err) {
		t.Fatalf("tenant-a user read in tenant-b: %v", err)
	}
	if _, err := b.User(ctxA, "missing"); !isNotFound(err) {
		t.Fatalf("missing user: %v", err)
	}

	list := func(ctx context.Context, q accounts.UserQuery) []string {
		t.Helper()
		us, err := b.Users(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return names(us)
	}
	for _, c := range []struct {
		ctx  context.Context
		q    accounts.UserQuery
		want []string
	}{
		{ctxA, accounts.UserQuery{}, []string{"alice", "boss", "zhou"}},
		{ctxA, accounts.UserQuery{IncludeDisabled: true}, []string{"alice", "boss", "ghost", "zhou"}},
		{ctxA, accounts.UserQuery{Role: accounts.RoleAgent}, []string{"alice", "zhou"}},
		{ctxA, accounts.UserQuery{Role: accounts.RoleAgent, IncludeDisabled: true}, []string{"alice", "ghost", "zhou"}},
		{ctxA, accounts.UserQuery{GroupID: "g1"}, []string{"alice", "zhou"}},
		{ctxA, accounts.UserQuery{GroupID: "g1", IncludeDisabled: true}, []string{"alice", "ghost", "zhou"}},
		{ctxA, accounts.UserQuery{GroupID: "g2"}, []string{"boss", "zhou"}},
		{ctxA, accounts.UserQuery{GroupID: "g2", Role: accounts.RoleSupervisor}, []string{"boss"}},
		{ctxA, accounts.UserQuery{GroupID: "g2", Role: accounts.RoleSupervisor, IncludeDisabled: true}, []string{"boss"}},
		{ctxA, accounts.UserQuery{GroupID: "g9"}, []string{}},
		{ctxB, accounts.UserQuery{}, []string{"zhou"}},
		{ctxB, accounts.UserQuery{GroupID: "g1"}, []string{"zhou"}},
		{ctxB, accounts.UserQuery{Role: accounts.RoleAgent}, []string{}},
	} {
		if got := list(c.ctx, c.q); !slices.Equal(got, c.want) {
			t.Errorf("users %+v: %v, want %v", c.q, got, c.want)
		}
	}
	for _, c := range []struct {
		ctx  context.Context
		r    accounts.Role
		want bool
	}{{ctxA, accounts.RoleSupervisor, true}, {ctxA, accounts.RoleAdmin, false}, {ctxB, accounts.RoleAdmin, true}, {ctxB, accounts.RoleSupervisor, false}} {
		if got, err := b.HasRole(c.ctx, c.r); err != nil || got != c.want {
			t.Errorf("has role %s: %v %v, want %v", c.r, got, err, c.want)
		}
	}
}

func testUserUpdates(t *testing.T, b accounts.Backend) {
	zhou := mustInsertUser(t, b, ctxA, user("zhou", accounts.RoleAgent, "g1"))
	other := mustInsertUser(t, b, ctxA, user("li", accounts.RoleAgent, "g1"))
	sess := func(id string, uid accounts.UserID, tenant store.TenantID) {
		t.Helper()
		s := accounts.Session{ID: id, Tenant: tenant, UserID: uid, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := b.InsertLogin(store.WithTenant(bg, tenant), login(t0, "x", uid, accounts.OutcomeSuccess), &s); err != nil {
			t.Fatal(err)
		}
	}
	sess("s1", zhou.ID, "tenant-a")
	sess("s2", zhou.ID, "tenant-a")
	sess("s3", other.ID, "tenant-a")

	role, name, ext, later := accounts.RoleSupervisor, "周", "8001", t0.Add(time.Minute)
	groups := []accounts.Membership{{GroupID: "g2", Level: 3}}
	u, err := b.UpdateUser(ctxA, zhou.ID, accounts.UserChange{Role: &role, Name: &name, Extension: &ext, Groups: &groups, UpdatedAt: later, BumpAccess: true})
	if err != nil || u.Role != role || u.Name != name || u.Extension != ext || !slices.Equal(u.Groups, groups) || u.AccessRev != 1 ||
		!u.UpdatedAt.Equal(later) || u.Username != "zhou" || string(u.PasswordHash) != string(hashPwA) {
		t.Fatalf("update: %+v %v", u, err)
	}
	if got, _ := b.User(ctxA, zhou.ID); got.Role != role || got.AccessRev != 1 || !slices.Equal(got.Groups, groups) {
		t.Fatalf("after update: %+v", got)
	}
	// Memberships follow the change.
	if us, _ := b.Users(ctxA, accounts.UserQuery{GroupID: "g1"}); !slices.Equal(names(us), []string{"li"}) {
		t.Fatalf("g1 after moving zhou: %v", names(us))
	}
	if us, _ := b.Users(ctxA, accounts.UserQuery{GroupID: "g2"}); !slices.Equal(names(us), []string{"zhou"}) {
		t.Fatalf("g2 after moving zhou: %v", names(us))
	}
	if us, _ := b.Users(ctxA, accounts.UserQuery{Role: accounts.RoleAgent}); !slices.Equal(names(us), []string{"li"}) {
		t.Fatalf("agents after promoting zhou: %v", names(us))
	}
	// Sessions are kept unless asked.
	for _, id := range []string{"s1", "s2", "s3"} {
		if _, err := b.Session(bg, id); err != nil {
			t.Fatalf("session %s after an update: %v", id, err)
		}
	}

	// A password change ending the user's other sessions.
	pw := []byte("$2a$04$new")
	u, err = b.UpdateUser(ctxA, zhou.ID, accounts.UserChange{PasswordHash: pw, PasswordChangedAt: later, UpdatedAt: later, EndSessions: true, KeepSession: "s2"})
	if err != nil || string(u.PasswordHash) != string(pw) || !u.PasswordChangedAt.Equal(later) || u.AccessRev != 1 || u.Name != name {
		t.Fatalf("password: %+v %v", u, err)
	}
	if _, err := b.Session(bg, "s1"); !isNotFound(err) {
		t.Fatalf("s1 after ending zhou's sessions but s2: %v", err)
	}
	for _, id := range []string{"s2", "s3"} {
		if _, err := b.Session(bg, id); err != nil {
			t.Fatalf("session %s: %v", id, err)
		}
	}
	disabled := true
	if u, err := b.UpdateUser(ctxA, zhou.ID, accounts.UserChange{Disabled: &disabled, UpdatedAt: later, EndSessions: true}); err != nil || !u.Disabled {
		t.Fatalf("disable: %+v %v", u, err)
	}
	if _, err := b.Session(bg, "s2"); !isNotFound(err) {
		t.Fatalf("s2 after disabling zhou: %v", err)
	}
	if _, err := b.Session(bg, "s3"); err != nil {
		t.Fatalf("li's session ended with zhou's: %v", err)
	}
	if us, _ := b.Users(ctxA, accounts.UserQuery{GroupID: "g2"}); len(us) != 0 {
		t.Fatalf("disabled user listed: %v", names(us))
	}

	// Tenant scoping: tenant-b cannot change or end tenant-a's user.
	if _, err := b.UpdateUser(ctxB, other.ID, accounts.UserChange{Name: &name, Disabled: &disabled, EndSessions: true, UpdatedAt: later}); !isNotFound(err) {
		t.Fatalf("update of tenant-a's user through tenant-b: %v", err)
	}
	if got, _ := b.User(ctxA, other.ID); got.Name != "N li" || got.Disabled {
		t.Fatalf("tenant-a's user changed through tenant-b: %+v", got)
	}
	if _, err := b.Session(bg, "s3"); err != nil {
		t.Fatalf("tenant-a's session ended through tenant-b: %v", err)
	}
	if _, err := b.UpdateUser(ctxA, "missing", accounts.UserChange{UpdatedAt: later}); !isNotFound(err) {
		t.Fatalf("update missing user: %v", err)
	}
}

func testGroups(t *testing.T, b accounts.Backend) {
	g := func(id, name string, disabled bool) *accounts.Group {
		return &accounts.Group{ID: accounts.GroupID(id), Name: name, Description: "d " + name, Disabled: disabled, CreatedAt: t0, UpdatedAt: t0}
	}
	for _, x := range []*accounts.Group{g("g1", "售后", false), g("g2", "售前", false), g("g3", "VIP", true)} {
		if err := b.InsertGroup(ctxA, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.InsertGroup(ctxA, g("g4", "售后", false)); !isDuplicate(err) {
		t.Fatalf("second 售后: %v", err)
	}
	if err := b.InsertGroup(ctxB, g("gb", "售后", false)); err != nil {
		t.Fatalf("售后 in tenant-b: %v", err)
	}
	got, err := b.Group(ctxA, "g1")
	if err != nil || got.Name != "售后" || got.Description != "d 售后" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("group: %+v %v", got, err)
	}
	if _, err := b.Group(ctxB, "g1"); !isNotFound(err) {
		t.Fatalf("tenant-a group read in tenant-b: %v", err)
	}
	list := func(ctx context.Context, all bool) []string {
		t.Helper()
		gs, err := b.Groups(ctx, all)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, g := range gs {
			out = append(out, g.Name)
		}
		return out
	}
	if got := list(ctxA, false); !slices.Equal(got, []string{"售前", "售后"}) && !slices.Equal(got, []string{"售后", "售前"}) {
		t.Fatalf("groups: %v", got)
	}
	if got := list(ctxA, false); !slices.IsSorted(got) {
		t.Fatalf("groups not by name: %v", got)
	}
	if got := list(ctxA, true); len(got) != 3 || got[0] != "VIP" {
		t.Fatalf("all groups: %v", got)
	}
	if got := list(ctxB, true); !slices.Equal(got, []string{"售后"}) {
		t.Fatalf("tenant-b groups: %v", got)
	}

	name, hidden, later := "售后服务", true, t0.Add(time.Hour)
	up, err := b.UpdateGroup(ctxA, "g1", accounts.GroupChange{Name: &name, WebChatHidden: &hidden, UpdatedAt: later})
	if err != nil || up.Name != name || !up.WebChatHidden || up.Description != "d 售后" || !up.UpdatedAt.Equal(later) {
		t.Fatalf("update group: %+v %v", up, err)
	}
	taken := "售前"
	if _, err := b.UpdateGroup(ctxA, "g1", accounts.GroupChange{Name: &taken, UpdatedAt: later}); !isDuplicate(err) {
		t.Fatalf("rename to a taken name: %v", err)
	}
	if got, _ := b.Group(ctxA, "g1"); got.Name != name {
		t.Fatalf("refused rename kept: %+v", got)
	}
	// The old name is free again.
	if err := b.InsertGroup(ctxA, g("g5", "售后", false)); err != nil {
		t.Fatalf("reuse a freed name: %v", err)
	}
	if _, err := b.UpdateGroup(ctxB, "g1", accounts.GroupChange{Name: &taken, UpdatedAt: later}); !isNotFound(err) {
		t.Fatalf("update tenant-a's group through tenant-b: %v", err)
	}
	if got, _ := b.Group(ctxA, "g1"); got.Name != name {
		t.Fatalf("tenant-a's group changed through tenant-b: %+v", got)
	}
}

func testSessions(t *testing.T, b accounts.Backend) {
	mk := func(id string, tenant store.TenantID, exp time.Time) accounts.Session {
		return accounts.Session{ID: id, Tenant: tenant, UserID: "u-" + accounts.UserID(id), CreatedAt: t0, ExpiresAt: exp, IP: "10.0.0.1", UserAgent: "UA " + id}
	}
	all := []accounts.Session{mk("a1", "tenant-a", t0.Add(time.Hour)), mk("a2", "tenant-a", t0.Add(-time.Second)), mk("b1", "tenant-b", t0.Add(-time.Hour))}
	for _, s := range all {
		if err := b.InsertLogin(store.WithTenant(bg, s.Tenant), login(t0, "u", s.UserID, accounts.OutcomeSuccess), &s); err != nil {
			t.Fatal(err)
		}
	}
	// Sessions are global: found by id whatever the context.
	got, err := b.Session(bg, "a1")
	if err != nil || !sameSession(*got, all[0]) {
		t.Fatalf("session: %+v %v, want %+v", got, err, all[0])
	}
	if _, err := b.Session(ctxB, "a1"); err != nil {
		t.Fatalf("a session is read before its tenant is known: %v", err)
	}
	if _, err := b.Session(bg, "nope"); !isNotFound(err) {
		t.Fatalf("missing session: %v", err)
	}
	if n, err := b.PurgeSessions(bg, t0); err != nil || n != 2 {
		t.Fatalf("purge: %d %v, want 2", n, err)
	}
	for id, want := range map[string]bool{"a1": true, "a2": false, "b1": false} {
		if _, err := b.Session(bg, id); (err == nil) != want {
			t.Fatalf("session %s after purge: %v", id, err)
		}
	}
	d, err := b.DeleteSession(bg, "a1")
	if err != nil || !sameSession(*d, all[0]) {
		t.Fatalf("delete: %+v %v", d, err)
	}
	if _, err := b.Session(bg, "a1"); !isNotFound(err) {
		t.Fatalf("deleted session: %v", err)
	}
	if _, err := b.DeleteSession(bg, "a1"); !isNotFound(err) {
		t.Fatalf("delete twice: %v", err)
	}
}

func login(at time.Time, username string, uid accounts.UserID, o accounts.Outcome) accounts.LoginRecord {
	return accounts.LoginRecord{ID: ids.NewAt(at), Username: username, UserID: uid, Time: at, IP: "10.1.1.1", UserAgent: "UA", Outcome: o}
}

func testLoginLog(t *testing.T, b accounts.Backend) {
	var inA []accounts.LoginRecord
	for i := 0; i < 30; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		r := login(at, fmt.Sprintf("user%d", i%3), accounts.UserID(fmt.Sprintf("u%d", i%3)), accounts.OutcomeBadPassword)
		if i%3 == 2 {
			r.UserID, r.Outcome = "", accounts.OutcomeUnknownUser
		}
		if i == 7 {
			r.Outcome, r.Detail = accounts.OutcomeRateLimited, "source"
		}
		if err := b.InsertLogin(ctxA, r, nil); err != nil {
			t.Fatal(err)
		}
		inA = append(inA, r)
		if err := b.InsertLogin(ctxB, login(at, "user0", "u0", accounts.OutcomeSuccess), nil); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(rs []accounts.LoginRecord) []string {
		out := []string{}
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	want := func(keep func(i int, r accounts.LoginRecord) bool) []string {
		out := []string{}
		for i := len(inA) - 1; i >= 0; i-- {
			if keep(i, inA[i]) {
				out = append(out, inA[i].ID)
			}
		}
		return out
	}
	get := func(q accounts.LoginQuery) []accounts.LoginRecord {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 100
		}
		rs, err := b.Logins(ctxA, q)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}

	all := get(accounts.LoginQuery{})
	if !slices.Equal(ids(all), want(func(int, accounts.LoginRecord) bool { return true })) {
		t.Fatalf("newest first: %v", ids(all))
	}
	if !sameLogin(all[len(all)-1-7], inA[7]) {
		t.Fatalf("record read back: %+v, want %+v", all[len(all)-1-7], inA[7])
	}
	// Pages by cursor.
	var paged []string
	cursor := ""
	for {
		rs := get(accounts.LoginQuery{Cursor: cursor, Limit: 7})
		paged = append(paged, ids(rs)...)
		if len(rs) < 7 {
			break
		}
		cursor = rs[len(rs)-1].ID
	}
	if !slices.Equal(paged, ids(all)) {
		t.Fatalf("pages: %v", paged)
	}
	from, to := t0.Add(5*time.Minute), t0.Add(12*time.Minute)
	for name, c := range map[string]struct {
		q    accounts.LoginQuery
		keep func(i int, r accounts.LoginRecord) bool
	}{
		"username":        {accounts.LoginQuery{Username: "user1"}, func(i int, _ accounts.LoginRecord) bool { return i%3 == 1 }},
		"user id":         {accounts.LoginQuery{UserID: "u0"}, func(i int, _ accounts.LoginRecord) bool { return i%3 == 0 }},
		"from":            {accounts.LoginQuery{From: from}, func(i int, _ accounts.LoginRecord) bool { return i >= 5 }},
		"to":              {accounts.LoginQuery{To: to}, func(i int, _ accounts.LoginRecord) bool { return i <= 12 }},
		"from to":         {accounts.LoginQuery{From: from, To: to}, func(i int, _ accounts.LoginRecord) bool { return i >= 5 && i <= 12 }},
		"from to user":    {accounts.LoginQuery{From: from, To: to, Username: "user2"}, func(i int, _ accounts.LoginRecord) bool { return i >= 5 && i <= 12 && i%3 == 2 }},
		"user id cursor":  {accounts.LoginQuery{UserID: "u1", Cursor: inA[16].ID}, func(i int, _ accounts.LoginRecord) bool { return i%3 == 1 && i < 16 }},
		"username cursor": {accounts.LoginQuery{Username: "user0", Cursor: inA[15].ID, From: from}, func(i int, _ accounts.LoginRecord) bool { return i%3 == 0 && i < 15 && i >= 5 }},
		"limit":           {accounts.LoginQuery{Username: "user0", Limit: 2}, func(i int, _ accounts.LoginRecord) bool { return i == 27 || i == 24 }},
		"nobody":          {accounts.LoginQuery{Username: "nobody"}, func(int, accounts.LoginRecord) bool { return false }},
		"millisecond":     {accounts.LoginQuery{From: t0.Add(3*time.Minute + time.Millisecond), To: t0.Add(4*time.Minute + time.Millisecond)}, func(i int, _ accounts.LoginRecord) bool { return i == 4 }},
	} {
		if got := ids(get(c.q)); !slices.Equal(got, want(c.keep)) {
			t.Errorf("%s: %v, want %v", name, got, want(c.keep))
		}
	}
	// Tenant scoping: tenant-b sees only its own.
	rs, err := b.Logins(ctxB, accounts.LoginQuery{Limit: 100})
	if err != nil || len(rs) != 30 {
		t.Fatalf("tenant-b log: %d %v", len(rs), err)
	}
	for _, r := range rs {
		if r.Outcome != accounts.OutcomeSuccess {
			t.Fatalf("tenant-a's record in tenant-b's log: %+v", r)
		}
	}
}

func testNoTenant(t *testing.T, b accounts.Backend) {
	if err := b.InsertTenant(bg, accounts.Tenant{ID: "tenant-a", Name: "A"}, user("root", accounts.RoleAdmin)); err != nil {
		t.Fatal(err)
	}
	u, _ := b.UserByName(ctxA, "root")
	name := "x"
	for what, err := range map[string]error{
		"InsertUser":  b.InsertUser(bg, user("x", accounts.RoleAgent)),
		"InsertGroup": b.InsertGroup(bg, &accounts.Group{ID: "g", Name: "g"}),
		"InsertLogin": b.InsertLogin(bg, login(t0, "x", "", accounts.OutcomeUnknownUser), nil),
		"User":        second(b.User(bg, u.ID)),
		"UserByName":  second(b.UserByName(bg, "root")),
		"Users":       second(b.Users(bg, accounts.UserQuery{})),
		"HasRole":     second(b.HasRole(bg, accounts.RoleAdmin)),
		"UpdateUser":  second(b.UpdateUser(bg, u.ID, accounts.UserChange{Name: &name})),
		"Group":       second(b.Group(bg, "g")),
		"Groups":      second(b.Groups(bg, true)),
		"UpdateGroup": second(b.UpdateGroup(bg, "g", accounts.GroupChange{Name: &name})),
		"Logins":      second(b.Logins(bg, accounts.LoginQuery{Limit: 10})),
	} {
		if !errors.Is(err, store.ErrNoTenant) {
			t.Errorf("%s without a tenant: %v, want store.ErrNoTenant", what, err)
		}
	}
	if got, _ := b.User(ctxA, u.ID); got.Name != u.Name {
		t.Fatalf("changed without a tenant: %+v", got)
	}
}

func second[T any](_ T, err error) error { return err }

func sameSession(a, b accounts.Session) bool {
	ta, tb := a.CreatedAt, a.ExpiresAt
	a.CreatedAt, a.ExpiresAt = b.CreatedAt, b.ExpiresAt
	return a == b && ta.Equal(b.CreatedAt) && tb.Equal(b.ExpiresAt)
}

func sameLogin(a, b accounts.LoginRecord) bool {
	ta := a.Time
	a.Time = b.Time
	return a == b && ta.Equal(b.Time)
}
