package accounts_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/storage/sqlite"
)

// clock is the service's injectable time; tests move it by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one service over a fresh embedded store.
type env struct {
	svc   *accounts.Service
	b     *sqlite.Accounts
	clock *clock
	ctx   context.Context // scoped to the default tenant
}

// testPolicy is small enough to reach every limit in a few attempts.
var testPolicy = accounts.LimitPolicy{
	Window:        15 * time.Minute,
	PairFreeTries: 3, PairBackoff: 2 * time.Second, PairMaxBackoff: 8 * time.Second,
	SourceMaxFails: 20,
	UserFreeTries:  100, UserSlowStep: time.Nanosecond, UserMaxDelay: time.Nanosecond,
}

func newEnv(t *testing.T, p accounts.LimitPolicy) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, sqlitedb.Options{Dir: t.TempDir(), Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.CheckPlans(ctx, sqlite.Growing()); err != nil {
			t.Error(err)
		}
		db.Close()
	})
	b, err := sqlite.NewAccounts(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)}
	svc, err := accounts.New(ctx, b, accounts.Options{
		Now: c.Now, BcryptCost: bcrypt.MinCost, Limits: p,
		SessionTTL:   time.Hour,
		RecheckEvery: time.Hour, // watches hear this replica's revocations at once; no recheck runs in a test
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, b: b, clock: c, ctx: store.WithTenant(ctx, store.DefaultTenant)}
}

func (e *env) user(t *testing.T, in accounts.UserInput) *accounts.User {
	t.Helper()
	if in.Role == "" {
		in.Role = accounts.RoleAgent
	}
	u, err := e.svc.CreateUser(e.ctx, in)
	if err != nil {
		t.Fatalf("create user %q: %v", in.Username, err)
	}
	return u
}

func (e *env) login(username, password, ip string) (accounts.LoginResult, error) {
	return e.svc.Login(context.Background(), accounts.LoginRequest{Username: username, Password: password, IP: ip, UserAgent: "test"})
}

func (e *env) mustLogin(t *testing.T, username, password, ip string) accounts.LoginResult {
	t.Helper()
	r, err := e.login(username, password, ip)
	if err != nil {
		t.Fatalf("login %s from %s: %v", username, ip, err)
	}
	return r
}

func (e *env) authOK(t *testing.T, token string) accounts.Principal {
	t.Helper()
	p, err := e.svc.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return p
}

func (e *env) authGone(t *testing.T, token, why string) {
	t.Helper()
	if p, err := e.svc.Authenticate(context.Background(), token); !errors.Is(err, accounts.ErrUnauthenticated) {
		t.Fatalf("%s: session still authenticates: %+v, %v", why, p, err)
	}
}

// logins returns the default tenant's login log, newest first.
func (e *env) logins(t *testing.T) []accounts.LoginRecord {
	t.Helper()
	out, _, err := e.svc.ListLogins(e.ctx, accounts.LoginQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *accounts.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a validation error naming %q, got %v", field, err)
	}
	if ve.Field != field {
		t.Fatalf("validation error names %q (%v), want %q", ve.Field, ve, field)
	}
}

func wantRateLimited(t *testing.T, err error, retry time.Duration) {
	t.Helper()
	var rl *accounts.RateLimitedError
	if !errors.As(err, &rl) {
		t.Fatalf("want a refusal for too many failures, got %v", err)
	}
	if rl.RetryAfter != retry {
		t.Fatalf("retry after %v, want %v", rl.RetryAfter, retry)
	}
}

const pw = "correct horse"

func TestCreateUserValidation(t *testing.T) {
	e := newEnv(t, testPolicy)
	g, err := e.svc.CreateGroup(e.ctx, accounts.GroupInput{Name: "售后"})
	if err != nil {
		t.Fatal(err)
	}
	ok := accounts.UserInput{Username: "agent01", Password: pw, Role: accounts.RoleAgent}
	cases := []struct {
		name  string
		edit  func(*accounts.UserInput)
		field string
	}{
		{"username too short", func(in *accounts.UserInput) { in.Username = "a" }, "username"},
		{"username with a space", func(in *accounts.UserInput) { in.Username = "li lei" }, "username"},
		{"username starting with a dot", func(in *accounts.UserInput) { in.Username = ".lilei" }, "username"},
		{"username too long", func(in *accounts.UserInput) { in.Username = strings.Repeat("a", 65) }, "username"},
		{"password too short", func(in *accounts.UserInput) { in.Password = "1234567" }, "password"},
		{"password over 72 bytes", func(in *accounts.UserInput) { in.Password = strings.Repeat("密", 25) }, "password"},
		{"unknown role", func(in *accounts.UserInput) { in.Role = "boss" }, "role"},
		{"no role", func(in *accounts.UserInput) { in.Role = "" }, "role"},
		{"name too long", func(in *accounts.UserInput) { in.Name = strings.Repeat("名", 65) }, "name"},
		{"extension with a letter", func(in *accounts.UserInput) { in.Extension = "80a1" }, "extension"},
		{"group level 11", func(in *accounts.UserInput) { in.Groups = []accounts.Membership{{GroupID: g.ID, Level: 11}} }, "groups[0].level"},
		{"negative group level", func(in *accounts.UserInput) { in.Groups = []accounts.Membership{{GroupID: g.ID, Level: -1}} }, "groups[0].level"},
		{"unknown group", func(in *accounts.UserInput) {
			in.Groups = []accounts.Membership{{GroupID: g.ID, Level: 1}, {GroupID: "nope", Level: 1}}
		}, "groups[1].group_id"},
		{"group listed twice", func(in *accounts.UserInput) {
			in.Groups = []accounts.Membership{{GroupID: g.ID, Level: 1}, {GroupID: g.ID, Level: 2}}
		}, "groups[1].group_id"},
		{"group without id", func(in *accounts.UserInput) { in.Groups = []accounts.Membership{{Level: 1}} }, "groups[0].group_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := ok
			c.edit(&in)
			_, err := e.svc.CreateUser(e.ctx, in)
			wantField(t, err, c.field)
		})
	}
	users, err := e.svc.ListUsers(e.ctx, accounts.UserQuery{IncludeDisabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 0 {
		t.Fatalf("refused inputs stored users: %+v", users)
	}

	// The valid input is stored with its defaults: level 0 means 1, the
	// name defaults to the username, and the password is hashed.
	in := ok
	in.Groups = []accounts.Membership{{GroupID: g.ID}}
	u := e.user(t, in)
	got, err := e.svc.GetUser(e.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "agent01" || len(got.Groups) != 1 || got.Groups[0] != (accounts.Membership{GroupID: g.ID, Level: 1}) {
		t.Fatalf("stored user %+v", got)
	}
	if bcrypt.CompareHashAndPassword(got.PasswordHash, []byte(pw)) != nil {
		t.Fatal("stored hash does not match the password")
	}
}

func TestDuplicateUsernameRefused(t *testing.T) {
	e := newEnv(t, testPolicy)
	first := e.user(t, accounts.UserInput{Username: "lilei", Password: pw})
	_, err := e.svc.CreateUser(e.ctx, accounts.UserInput{Username: " lilei ", Password: "another one", Role: accounts.RoleAdmin})
	if !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second lilei: want a duplicate error, got %v", err)
	}
	// The first account is untouched: its password still logs in as an agent.
	r := e.mustLogin(t, "lilei", pw, "10.0.0.1")
	if r.Principal.UserID != first.ID || r.Principal.Role != accounts.RoleAgent {
		t.Fatalf("principal %+v, want the first lilei", r.Principal)
	}
}

func TestLoginSessionAndLoginLog(t *testing.T) {
	e := newEnv(t, testPolicy)
	u := e.user(t, accounts.UserInput{Username: "hanmeimei", Password: pw, Role: accounts.RoleSupervisor, Name: "韩梅梅"})

	if _, err := e.login("hanmeimei", "wrong password", "10.0.0.1"); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := e.login("nobody", pw, "10.0.0.1"); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	r := e.mustLogin(t, " hanmeimei ", pw, "10.0.0.2")
	if r.Token == "" || !r.ExpiresAt.Equal(e.clock.Now().Add(time.Hour)) {
		t.Fatalf("login result %+v", r)
	}
	want := accounts.Principal{UserID: u.ID, Tenant: store.DefaultTenant, Username: "hanmeimei", Name: "韩梅梅", Role: accounts.RoleSupervisor}
	if r.Principal != want {
		t.Fatalf("login principal %+v, want %+v", r.Principal, want)
	}
	if p := e.authOK(t, r.Token); p != want {
		t.Fatalf("authenticated principal %+v, want %+v", p, want)
	}
	e.authGone(t, "", "empty token")
	e.authGone(t, r.Token+"0", "altered token")

	// Every attempt is in the log, newest first, with its outcome.
	log := e.logins(t)
	if len(log) != 3 {
		t.Fatalf("login log has %d records, want 3: %+v", len(log), log)
	}
	type rec struct {
		user    string
		uid     accounts.UserID
		ip      string
		outcome accounts.Outcome
	}
	wantLog := []rec{
		{"hanmeimei", u.ID, "10.0.0.2", accounts.OutcomeSuccess},
		{"nobody", "", "10.0.0.1", accounts.OutcomeUnknownUser},
		{"hanmeimei", u.ID, "10.0.0.1", accounts.OutcomeBadPassword},
	}
	for i, w := range wantLog {
		g := log[i]
		if (rec{g.Username, g.UserID, g.IP, g.Outcome}) != w || g.UserAgent != "test" || !g.Time.Equal(e.clock.Now()) {
			t.Errorf("log[%d] = %+v, want %+v", i, g, w)
		}
	}
	byUser, _, err := e.svc.ListLogins(e.ctx, accounts.LoginQuery{UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(byUser) != 2 {
		t.Fatalf("log of %s has %d records, want 2", u.ID, len(byUser))
	}

	// Logout ends the session; a second logout is harmless.
	if err := e.svc.Logout(context.Background(), r.Token); err != nil {
		t.Fatal(err)
	}
	e.authGone(t, r.Token, "after logout")
	if err := e.svc.Logout(context.Background(), r.Token); err != nil {
		t.Fatalf("second logout: %v", err)
	}
}

func TestListLoginsPages(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.user(t, accounts.UserInput{Username: "lilei", Password: pw})
	for range 5 {
		e.mustLogin(t, "lilei", pw, "10.0.0.1")
		e.clock.Add(time.Millisecond)
	}
	_, _, err := e.svc.ListLogins(e.ctx, accounts.LoginQuery{Limit: 501})
	wantField(t, err, "limit")

	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		recs, next, err := e.svc.ListLogins(e.ctx, accounts.LoginQuery{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			seen = append(seen, r.ID)
		}
		if next == "" {
			break
		}
		if page > 5 {
			t.Fatal("pages never end")
		}
		cursor = next
	}
	if len(seen) != 5 {
		t.Fatalf("pages returned %d records, want 5: %v", len(seen), seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] >= seen[i-1] {
			t.Fatalf("records not newest first across pages: %v", seen)
		}
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.user(t, accounts.UserInput{Username: "lilei", Password: pw})
	r := e.mustLogin(t, "lilei", pw, "10.0.0.1")
	e.clock.Add(time.Hour - time.Millisecond)
	e.authOK(t, r.Token)
	e.clock.Add(time.Millisecond)
	e.authGone(t, r.Token, "at its expiry")
	// The expired session was deleted, not just refused.
	if _, err := e.b.Session(context.Background(), tokenHash(r.Token)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session still stored: %v", err)
	}
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// TestPairBackoff: a user failing from one address is paused there, with
// the pause doubling; the same user from another address is not affected.
func TestPairBackoff(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.user(t, accounts.UserInput{Username: "lilei", Password: pw})
	const ip = "10.0.0.1"
	for i := range testPolicy.PairFreeTries {
		if _, err := e.login("lilei", "wrong password", ip); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatalf("free try %d: %v", i+1, err)
		}
	}
	// The free tries are used up; the next failure starts a pause.
	if _, err := e.login("lilei", "wrong password", ip); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatalf("failure past the free tries: %v", err)
	}
	e.clock.Add(500 * time.Millisecond)
	// During the pause even the right password is refused, unchecked.
	_, err := e.login("lilei", pw, ip)
	wantRateLimited(t, err, testPolicy.PairBackoff-500*time.Millisecond)
	// The throttle is per user: LiLei is the same user as lilei.
	_, err = e.login("LiLei", pw, ip)
	wantRateLimited(t, err, testPolicy.PairBackoff-500*time.Millisecond)

	// Nobody is locked out from another address.
	other := e.mustLogin(t, "lilei", pw, "10.0.0.2")
	e.authOK(t, other.Token)

	log := e.logins(t)
	if log[1].Outcome != accounts.OutcomeRateLimited || log[1].Detail != "user_and_source" || log[1].IP != ip {
		t.Fatalf("refused attempt logged as %+v", log[1])
	}

	// After the pause the pair may try again; another failure doubles it.
	e.clock.Add(testPolicy.PairBackoff)
	if _, err := e.login("lilei", "wrong password", ip); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatalf("after the pause: %v", err)
	}
	_, err = e.login("lilei", pw, ip)
	wantRateLimited(t, err, 2*testPolicy.PairBackoff)
	// Up to the cap.
	for range 3 {
		e.clock.Add(testPolicy.PairMaxBackoff)
		if _, err := e.login("lilei", "wrong password", ip); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatal(err)
		}
	}
	_, err = e.login("lilei", pw, ip)
	wantRateLimited(t, err, testPolicy.PairMaxBackoff)

	// A success forgets the pair's failures: the next failure is free again.
	e.clock.Add(testPolicy.PairMaxBackoff)
	e.mustLogin(t, "lilei", pw, ip)
	if _, err := e.login("lilei", "wrong password", ip); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatal(err)
	}
	e.mustLogin(t, "lilei", pw, ip)
}

// TestPairFailuresForgotten: failures older than the window no longer count.
func TestPairFailuresForgotten(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.user(t, accounts.UserInput{Username: "lilei", Password: pw})
	const ip = "10.0.0.1"
	for range testPolicy.PairFreeTries + 1 {
		_, _ = e.login("lilei", "wrong password", ip)
	}
	e.clock.Add(testPolicy.Window + time.Millisecond)
	for range testPolicy.PairFreeTries {
		if _, err := e.login("lilei", "wrong password", ip); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatalf("after the window: %v", err)
		}
	}
	e.mustLogin(t, "lilei", pw, ip)
}

// TestSourceRefusedAcrossUsers: an address that fails across many users
// (password spraying) is refused for every user until the window passes;
// other addresses are not.
func TestSourceRefusedAcrossUsers(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.user(t, accounts.UserInput{Username: "lilei", Password: pw})
	const ip = "10.6.6.6"
	for i := range testPolicy.SourceMaxFails {
		// Unknown users count too, and no pair reaches its pause.
		if _, err := e.login(fmt.Sprintf("guess%02d", i), "123456789", ip); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	e.clock.Add(time.Minute)
	_, err := e.login("lilei", pw, ip)
	wantRateLimited(t, err, testPolicy.Window-time.Minute)
	if got := e.logins(t)[0]; got.Outcome != accounts.OutcomeRateLimited || got.Detail != "source" || got.Username != "lilei" {
		t.Fatalf("refused attempt logged as %+v", got)
	}
	e.mustLogin(t, "lilei", pw, "10.0.0.2")

	e.clock.Add(testPolicy.Window - time.Minute + time.Millisecond)
	e.mustLogin(t, "lilei", pw, ip)
}

// TestUserSlowedNeverRefused: failures of one user from many addresses
// only slow the user down; the real user still gets in from a new address.
func TestUserSlowedNeverRefused(t *testing.T) {
	p := testPolicy
	p.UserFreeTries = 4
	e := newEnv(t, p)
	e.user(t, accounts.UserInput{Username: "lilei", Password: pw})
	for i := range 3 * p.UserFreeTries {
		ip := fmt.Sprintf("10.1.0.%d", i/p.PairFreeTries) // each pair stays within its free tries
		if _, err := e.login("lilei", "wrong password", ip); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	e.mustLogin(t, "lilei", pw, "10.0.0.99")
}

func TestDisabledUser(t *testing.T) {
	e := newEnv(t, testPolicy)
	u := e.user(t, accounts.UserInput{Username: "lilei", Password: pw})
	r := e.mustLogin(t, "lilei", pw, "10.0.0.1")
	w := e.svc.Watch(r.Principal, r.Token)
	defer w.Stop()

	if _, err := e.svc.UpdateUser(e.ctx, u.ID, accounts.UserPatch{Disabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	e.authGone(t, r.Token, "after disabling")
	if rev, ok := w.Revoked(); !ok || rev.Code != accounts.CloseSessionEnded {
		t.Fatalf("live socket of a disabled user: revoked=%v %+v", ok, rev)
	}
	select {
	case <-w.Done():
	default:
		t.Fatal("watch not done after disabling")
	}

	if _, err := e.login("lilei", pw, "10.0.0.1"); !errors.Is(err, accounts.ErrDisabled) {
		t.Fatalf("disabled user logs in: %v", err)
	}
	// A wrong password does not tell that the account is disabled.
	if _, err := e.login("lilei", "wrong password", "10.0.0.1"); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatalf("disabled user, wrong password: %v", err)
	}
	if got := e.logins(t)[1]; got.Outcome != accounts.OutcomeDisabled || got.UserID != u.ID {
		t.Fatalf("disabled attempt logged as %+v", got)
	}
	if list, _ := e.svc.ListUsers(e.ctx, accounts.UserQuery{}); len(list) != 0 {
		t.Fatalf("disabled user listed without IncludeDisabled: %+v", list)
	}

	// Enabled again, the user logs in anew; the old session stays ended.
	if _, err := e.svc.UpdateUser(e.ctx, u.ID, accounts.UserPatch{Disabled: new(false)}); err != nil {
		t.Fatal(err)
	}
	e.authGone(t, r.Token, "after enabling again")
	e.authOK(t, e.mustLogin(t, "lilei", pw, "10.0.0.1").Token)
}

// TestDisabledUserLateSession: a login that read the user just before
// another replica disabled them can still store its session after the
// disabling write ended the others; Authenticate reads the user on every
// call, so that session does not authenticate either.
func TestDisabledUserLateSession(t *testing.T) {
	e := newEnv(t, testPolicy)
	u := e.user(t, accounts.UserInput{Username: "lilei", Password: pw})
	if _, err := e.svc.UpdateUser(e.ctx, u.ID, accounts.UserPatch{Disabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	const token = "late-session-token"
	sess := &accounts.Session{ID: tokenHash(token), Tenant: store.DefaultTenant, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	rec := accounts.LoginRecord{ID: fmt.Sprintf("%012x000000late", now.UnixMilli()), Username: "lilei", UserID: u.ID, Time: now, Outcome: accounts.OutcomeSuccess}
	if err := e.b.InsertLogin(e.ctx, rec, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Session(context.Background(), sess.ID); err != nil {
		t.Fatalf("late session not stored: %v", err)
	}
	e.authGone(t, token, "late session of a disabled user")
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.user(t, accounts.UserInput{Username: "lilei", Password: pw})
	here := e.mustLogin(t, "lilei", pw, "10.0.0.1")
	there := e.mustLogin(t, "lilei", pw, "10.0.0.2")
	wHere := e.svc.Watch(here.Principal, here.Token)
	defer wHere.Stop()
	wThere := e.svc.Watch(there.Principal, there.Token)
	defer wThere.Stop()
	p := here.Principal
	ctx := store.WithTenant(context.Background(), p.Tenant)

	wantField(t, e.svc.ChangePassword(ctx, p, here.Token, "not it at all", "brand new pw"), "old_password")
	wantField(t, e.svc.ChangePassword(ctx, p, here.Token, pw, pw), "new_password")
	wantField(t, e.svc.ChangePassword(ctx, p, here.Token, pw, "short"), "new_password")
	e.authOK(t, there.Token) // refused changes end nothing

	if err := e.svc.ChangePassword(ctx, p, here.Token, pw, "brand new pw"); err != nil {
		t.Fatal(err)
	}
	e.authOK(t, here.Token)
	e.authGone(t, there.Token, "other session after a password change")
	if _, ok := wHere.Revoked(); ok {
		t.Fatal("the session that changed the password lost its socket")
	}
	if rev, ok := wThere.Revoked(); !ok || rev.Code != accounts.CloseSessionEnded {
		t.Fatalf("other session's socket: revoked=%v %+v", ok, rev)
	}
	if _, err := e.login("lilei", pw, "10.0.0.3"); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatalf("old password still logs in: %v", err)
	}
	e.mustLogin(t, "lilei", "brand new pw", "10.0.0.3")
}

func TestResetPasswordEndsEverySession(t *testing.T) {
	e := newEnv(t, testPolicy)
	u := e.user(t, accounts.UserInput{Username: "lilei", Password: pw})
	a := e.mustLogin(t, "lilei", pw, "10.0.0.1")
	b := e.mustLogin(t, "lilei", pw, "10.0.0.2")
	w := e.svc.Watch(a.Principal, a.Token)
	defer w.Stop()
	wantField(t, e.svc.ResetPassword(e.ctx, u.ID, "short"), "password")
	e.authOK(t, a.Token)
	if err := e.svc.ResetPassword(e.ctx, u.ID, "reset by admin"); err != nil {
		t.Fatal(err)
	}
	e.authGone(t, a.Token, "after a reset")
	e.authGone(t, b.Token, "after a reset")
	if rev, ok := w.Revoked(); !ok || rev.Code != accounts.CloseSessionEnded {
		t.Fatalf("live socket after a reset: revoked=%v %+v", ok, rev)
	}
	if _, err := e.login("lilei", pw, "10.0.0.3"); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatalf("old password still logs in: %v", err)
	}
	e.mustLogin(t, "lilei", "reset by admin", "10.0.0.3")
}

// TestAccessRev: a changed role or set of skill groups bumps AccessRev and
// closes live sockets with CloseRightsChanged; other edits do neither.
func TestAccessRev(t *testing.T) {
	e := newEnv(t, testPolicy)
	g1, err := e.svc.CreateGroup(e.ctx, accounts.GroupInput{Name: "售前"})
	if err != nil {
		t.Fatal(err)
	}
	g2, err := e.svc.CreateGroup(e.ctx, accounts.GroupInput{Name: "售后"})
	if err != nil {
		t.Fatal(err)
	}
	u := e.user(t, accounts.UserInput{Username: "lilei", Password: pw, Groups: []accounts.Membership{{GroupID: g1.ID, Level: 1}}})
	r := e.mustLogin(t, "lilei", pw, "10.0.0.1")
	rev := r.Principal.AccessRev

	// step applies patch and reports whether the rights changed.
	step := func(name string, patch accounts.UserPatch, bump bool) {
		t.Helper()
		w := e.svc.Watch(e.authOK(t, r.Token), r.Token)
		defer w.Stop()
		if _, err := e.svc.UpdateUser(e.ctx, u.ID, patch); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := e.authOK(t, r.Token)
		got, revoked := w.Revoked()
		if bump {
			if p.AccessRev != rev+1 {
				t.Fatalf("%s: AccessRev %d, want %d", name, p.AccessRev, rev+1)
			}
			if !revoked || got.Code != accounts.CloseRightsChanged {
				t.Fatalf("%s: live socket revoked=%v %+v, want CloseRightsChanged", name, revoked, got)
			}
		} else {
			if p.AccessRev != rev {
				t.Fatalf("%s: AccessRev %d, want %d (unchanged)", name, p.AccessRev, rev)
			}
			if revoked {
				t.Fatalf("%s: live socket revoked: %+v", name, got)
			}
		}
		rev = p.AccessRev
	}
	step("new role", accounts.UserPatch{Role: new(accounts.RoleSupervisor)}, true)
	if p := e.authOK(t, r.Token); p.Role != accounts.RoleSupervisor {
		t.Fatalf("role after change: %s", p.Role)
	}
	step("same role", accounts.UserPatch{Role: new(accounts.RoleSupervisor)}, false)
	step("new group", accounts.UserPatch{Groups: &[]accounts.Membership{{GroupID: g1.ID, Level: 1}, {GroupID: g2.ID, Level: 3}}}, true)
	step("new level", accounts.UserPatch{Groups: &[]accounts.Membership{{GroupID: g1.ID, Level: 2}, {GroupID: g2.ID, Level: 3}}}, true)
	step("same groups", accounts.UserPatch{Groups: &[]accounts.Membership{{GroupID: g1.ID, Level: 2}, {GroupID: g2.ID, Level: 3}}}, false)
	step("name and extension", accounts.UserPatch{Name: new("李雷"), Extension: new("8001")}, false)

	// Refused patches change nothing.
	_, err = e.svc.UpdateUser(e.ctx, u.ID, accounts.UserPatch{Role: new(accounts.Role("root"))})
	wantField(t, err, "role")
	_, err = e.svc.UpdateUser(e.ctx, u.ID, accounts.UserPatch{Groups: &[]accounts.Membership{{GroupID: g1.ID, Level: 0}, {GroupID: g2.ID, Level: 11}}})
	wantField(t, err, "groups[1].level")
	_, err = e.svc.UpdateUser(e.ctx, u.ID, accounts.UserPatch{Name: new("  ")})
	wantField(t, err, "name")
	if p := e.authOK(t, r.Token); p.AccessRev != rev || p.Role != accounts.RoleSupervisor {
		t.Fatalf("refused patches changed the principal: %+v", p)
	}
	members, err := e.svc.ListUsers(e.ctx, accounts.UserQuery{GroupID: g2.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 1 || members[0].ID != u.ID {
		t.Fatalf("members of %s: %+v", g2.Name, members)
	}
}

func TestTenantScoping(t *testing.T) {
	e := newEnv(t, testPolicy)
	home := e.user(t, accounts.UserInput{Username: "alice", Password: pw})
	g, err := e.svc.CreateGroup(e.ctx, accounts.GroupInput{Name: "VIP"})
	if err != nil {
		t.Fatal(err)
	}

	_, _, err = e.svc.CreateTenant(e.ctx, accounts.TenantInput{ID: "Acme", Name: "Acme", AdminUser: "boss", AdminPassword: pw})
	wantField(t, err, "id")
	_, _, err = e.svc.CreateTenant(e.ctx, accounts.TenantInput{ID: "acme", Name: "Acme", AdminUser: "boss", AdminPassword: "short"})
	wantField(t, err, "admin_password")
	_, _, err = e.svc.CreateTenant(e.ctx, accounts.TenantInput{ID: "acme", Name: "Acme", AdminUser: "b", AdminPassword: pw})
	wantField(t, err, "admin_user")
	tn, admin, err := e.svc.CreateTenant(e.ctx, accounts.TenantInput{ID: "acme", Name: "Acme", AdminUser: "boss", AdminPassword: pw})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CreateTenant(e.ctx, accounts.TenantInput{ID: "acme", Name: "Acme 2", AdminUser: "boss2", AdminPassword: pw}); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second acme: %v", err)
	}
	acme := store.WithTenant(context.Background(), tn.ID)

	// The same username is another person in another tenant.
	other, err := e.svc.CreateUser(acme, accounts.UserInput{Username: "alice", Password: "acme's alice", Role: accounts.RoleAgent})
	if err != nil {
		t.Fatalf("alice in acme: %v", err)
	}
	if _, err := e.svc.GetUser(acme, home.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("default's alice read from acme: %v", err)
	}
	if _, err := e.svc.GetUser(e.ctx, admin.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme's admin read from default: %v", err)
	}
	list, err := e.svc.ListUsers(acme, accounts.UserQuery{IncludeDisabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != other.ID || list[1].ID != admin.ID {
		t.Fatalf("acme's users: %+v", list)
	}
	if _, err := e.svc.UpdateUser(acme, home.ID, accounts.UserPatch{Disabled: new(true)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme disabled default's alice: %v", err)
	}
	if err := e.svc.ResetPassword(acme, home.ID, "taken over!"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme reset default's alice: %v", err)
	}
	_, err = e.svc.CreateUser(acme, accounts.UserInput{Username: "bob", Password: pw, Role: accounts.RoleAgent, Groups: []accounts.Membership{{GroupID: g.ID}}})
	wantField(t, err, "groups[0].group_id")
	if gs, err := e.svc.ListGroups(acme, true); err != nil || len(gs) != 0 {
		t.Fatalf("acme's groups: %+v, %v", gs, err)
	}

	// Login is per tenant: each alice has her own password.
	if _, err := e.svc.Login(context.Background(), accounts.LoginRequest{Tenant: "acme", Username: "alice", Password: pw, IP: "10.0.0.1"}); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatalf("default's password logs in to acme: %v", err)
	}
	r, err := e.svc.Login(context.Background(), accounts.LoginRequest{Tenant: "acme", Username: "alice", Password: "acme's alice", IP: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if p := e.authOK(t, r.Token); p.Tenant != "acme" || p.UserID != other.ID {
		t.Fatalf("acme's alice authenticates as %+v", p)
	}
	e.mustLogin(t, "alice", pw, "10.0.0.1") // default tenant
	if _, err := e.svc.Login(context.Background(), accounts.LoginRequest{Tenant: "nowhere", Username: "alice", Password: pw, IP: "10.0.0.1"}); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatalf("unknown tenant: %v", err)
	}

	// Each tenant's login log holds its own attempts only.
	acmeLog, _, err := e.svc.ListLogins(acme, accounts.LoginQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(acmeLog) != 2 || acmeLog[0].Outcome != accounts.OutcomeSuccess || acmeLog[1].Outcome != accounts.OutcomeBadPassword {
		t.Fatalf("acme's login log: %+v", acmeLog)
	}
	if homeLog := e.logins(t); len(homeLog) != 1 || homeLog[0].UserID != home.ID {
		t.Fatalf("default's login log: %+v", homeLog)
	}

	// A tenant edits only itself.
	title := "Acme 客服"
	if _, err := e.svc.UpdateTenant(acme, accounts.TenantPatch{Title: &title}); err != nil {
		t.Fatal(err)
	}
	def, err := e.svc.GetTenant(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if def.Title == title {
		t.Fatal("acme's edit changed the default tenant")
	}
	bad := accounts.HistoryAccess("everything")
	_, err = e.svc.UpdateTenant(acme, accounts.TenantPatch{HistoryAccess: &bad})
	wantField(t, err, "history_access")
	if _, err := e.svc.GetTenant(context.Background()); !errors.Is(err, store.ErrNoTenant) {
		t.Fatalf("tenant without a tenant context: %v", err)
	}
}

func TestBootstrapAdmin(t *testing.T) {
	e := newEnv(t, testPolicy)
	created, generated, err := e.svc.BootstrapAdmin(context.Background(), "admin", "")
	if err != nil || !created || len(generated) < 8 {
		t.Fatalf("first bootstrap: created=%v pw=%q err=%v", created, generated, err)
	}
	r := e.mustLogin(t, "admin", generated, "127.0.0.1")
	if r.Principal.Role != accounts.RoleAdmin || r.Principal.Tenant != store.DefaultTenant {
		t.Fatalf("bootstrapped admin: %+v", r.Principal)
	}
	created, _, err = e.svc.BootstrapAdmin(context.Background(), "admin2", pw)
	if err != nil || created {
		t.Fatalf("second bootstrap: created=%v err=%v", created, err)
	}
	if _, err := e.login("admin2", pw, "127.0.0.1"); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatalf("second bootstrap made a user: %v", err)
	}
}
