package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/store"
)

// Options tune the service; zero values take defaults.
type Options struct {
	Now        func() time.Time
	BcryptCost int           // default bcrypt.DefaultCost
	Limits     LimitPolicy   // default DefaultLimitPolicy
	SessionTTL time.Duration // default 12h
	// RecheckEvery is how often a live socket rechecks its session (for
	// revocations made on other replicas); default DefaultRecheckEvery.
	RecheckEvery time.Duration
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
}

// Service manages tenants, users, groups, sessions and the login log.
//
// Nothing about a session or a user is cached: every request reads its
// session and its user by id, so a logout, a disabled account or a changed
// role takes effect on the next request on every replica sharing the
// store. Live sockets follow their session with a Watch.
type Service struct {
	b         Backend
	o         Options
	lim       *limiter
	dummyHash []byte
	log       *slog.Logger
	attempts  *prometheus.CounterVec
	w         watchers
}

// New purges expired sessions, makes the default tenant if there is none
// and returns the service over b.
func New(ctx context.Context, b Backend, o Options) (*Service, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BcryptCost == 0 {
		o.BcryptCost = bcrypt.DefaultCost
	}
	if o.Limits.Window == 0 {
		o.Limits = DefaultLimitPolicy
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.RecheckEvery <= 0 {
		o.RecheckEvery = DefaultRecheckEvery
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Service{
		b: b, o: o, lim: newLimiter(o.Limits), log: o.Logger.With("component", "accounts"),
		w: watchers{byUser: map[UserID]map[*Watch]struct{}{}},
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hub", Subsystem: "auth", Name: "login_attempts_total",
			Help: "Login attempts by outcome.",
		}, []string{"outcome"}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(s.attempts)
	}
	h, err := bcrypt.GenerateFromPassword([]byte("timing-equaliser"), o.BcryptCost)
	if err != nil {
		return nil, err
	}
	s.dummyHash = h
	if _, err := b.PurgeSessions(ctx, o.Now()); err != nil {
		return nil, fmt.Errorf("accounts: purge sessions: %w", err)
	}
	if err := s.ensureTenant(ctx, Tenant{ID: store.DefaultTenant, Name: "Default", Title: "Omnihub 全媒体客服"}); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) ensureTenant(ctx context.Context, t Tenant) error {
	t.CreatedAt = s.o.Now().UTC()
	err := s.b.InsertTenant(ctx, t, nil)
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		return fmt.Errorf("accounts: create tenant: %w", err)
	}
	return nil
}

var (
	usernameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$`)
	tenantRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,39}$`)
)

// CheckPassword applies the password policy.
func CheckPassword(field, pw string) error {
	if utf8.RuneCountInString(pw) < 8 {
		return &ValidationError{Field: field, Reason: "must be at least 8 characters"}
	}
	if len(pw) > 72 {
		return &ValidationError{Field: field, Reason: "must be at most 72 bytes"}
	}
	return nil
}

func (s *Service) hash(field, pw string) ([]byte, error) {
	if err := CheckPassword(field, pw); err != nil {
		return nil, err
	}
	return bcrypt.GenerateFromPassword([]byte(pw), s.o.BcryptCost)
}

// BootstrapAdmin creates the first admin of the default tenant when the
// tenant has no admin yet. It returns created=false when one exists. An
// empty password is generated; the caller prints it once.
func (s *Service) BootstrapAdmin(ctx context.Context, username, password string) (created bool, pw string, err error) {
	ctx = store.WithTenant(ctx, store.DefaultTenant)
	has, err := s.b.HasRole(ctx, RoleAdmin)
	if err != nil || has {
		return false, "", err
	}
	if password == "" {
		password = ids.Token(9)
	}
	_, err = s.CreateUser(ctx, UserInput{Username: username, Password: password, Role: RoleAdmin, Name: "Administrator"})
	if err != nil {
		return false, "", err
	}
	return true, password, nil
}

// LoginRequest is one login attempt.
type LoginRequest struct {
	Tenant    store.TenantID
	Username  string
	Password  string
	IP        string
	UserAgent string
}

// LoginResult is a successful login.
type LoginResult struct {
	Token     string
	ExpiresAt time.Time
	Principal Principal
}

// Login checks the credentials, applies the rate limits, records the
// attempt in the login log (before answering) and opens a session.
func (s *Service) Login(ctx context.Context, r LoginRequest) (LoginResult, error) {
	if r.Tenant == "" {
		r.Tenant = store.DefaultTenant
	}
	uname := strings.TrimSpace(r.Username)
	userKey := string(r.Tenant) + "/" + strings.ToLower(uname)
	now := s.o.Now()
	var known bool
	if _, err := s.b.Tenant(ctx, r.Tenant); err == nil {
		known = true
	} else if !errors.Is(err, store.ErrNotFound) {
		return LoginResult{}, err
	}
	tctx := store.WithTenant(ctx, r.Tenant)
	// record files the attempt in the login log and, on success, opens
	// sess in the same write.
	record := func(o Outcome, uid UserID, detail string, sess *Session) error {
		s.attempts.WithLabelValues(string(o)).Inc()
		if !known {
			return nil // no tenant to file it under
		}
		return s.b.InsertLogin(tctx, LoginRecord{ID: ids.NewAt(now), Username: uname, UserID: uid, Time: now.UTC(), IP: r.IP, UserAgent: truncate(r.UserAgent, 512), Outcome: o, Detail: detail}, sess)
	}
	// failed counts a failure and warns when it starts a pause, a refused
	// source or a slowed-down user (each refused attempt is in the login
	// log; the warnings say when throttling began).
	failed := func() {
		f := s.lim.fail(now, userKey, r.IP)
		if f.pairPause > 0 {
			s.log.Warn("login throttled: user backs off from this address", "tenant", r.Tenant, "username", uname, "ip", r.IP, "pause", f.pairPause)
		}
		if f.sourceBlocked {
			s.log.Warn("login throttled: address refused after failures across users", "tenant", r.Tenant, "ip", r.IP, "for", s.o.Limits.Window)
		}
		if f.userSlowed {
			s.log.Warn("login throttled: user slowed down after failures from several addresses", "tenant", r.Tenant, "username", uname)
		}
	}
	v := s.lim.check(now, userKey, r.IP)
	if v.retryAfter > 0 {
		if err := record(OutcomeRateLimited, "", v.limit, nil); err != nil {
			return LoginResult{}, err
		}
		return LoginResult{}, &RateLimitedError{RetryAfter: v.retryAfter}
	}
	if delay := v.delay; delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return LoginResult{}, ctx.Err()
		case <-t.C:
		}
	}
	var u *User
	err := errors.New("unknown tenant")
	if known && uname != "" {
		u, err = s.b.UserByName(tctx, uname)
	}
	if err != nil {
		if known && uname != "" && !errors.Is(err, store.ErrNotFound) {
			return LoginResult{}, err
		}
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(r.Password)) // same time as a real check
		failed()
		if err := record(OutcomeUnknownUser, "", "", nil); err != nil {
			return LoginResult{}, err
		}
		return LoginResult{}, ErrBadCredentials
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(r.Password)) != nil {
		failed()
		if err := record(OutcomeBadPassword, u.ID, "", nil); err != nil {
			return LoginResult{}, err
		}
		return LoginResult{}, ErrBadCredentials
	}
	if u.Disabled {
		if err := record(OutcomeDisabled, u.ID, "", nil); err != nil {
			return LoginResult{}, err
		}
		return LoginResult{}, ErrDisabled
	}
	s.lim.success(userKey, r.IP)
	token := ids.Token(32)
	sess := Session{ID: hashToken(token), Tenant: r.Tenant, UserID: u.ID, CreatedAt: now.UTC(), ExpiresAt: now.Add(s.o.SessionTTL).UTC(), IP: r.IP, UserAgent: truncate(r.UserAgent, 512)}
	if err := record(OutcomeSuccess, u.ID, "", &sess); err != nil {
		return LoginResult{}, fmt.Errorf("accounts: open session: %w", err)
	}
	return LoginResult{Token: token, ExpiresAt: sess.ExpiresAt, Principal: principalOf(r.Tenant, u)}, nil
}

func principalOf(t store.TenantID, u *User) Principal {
	return Principal{UserID: u.ID, Tenant: t, Username: u.Username, Name: u.Name, Role: u.Role, AccessRev: u.AccessRev}
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Authenticate returns the principal of a session token. It reads the
// session and the user by id on every call (no cache), so any change to
// either takes effect on the next request, on every replica.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if token == "" || len(token) > 256 {
		return Principal{}, ErrUnauthenticated
	}
	key := hashToken(token)
	sess, err := s.b.Session(ctx, key)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Principal{}, ErrUnauthenticated
		}
		return Principal{}, err
	}
	if !s.o.Now().Before(sess.ExpiresAt) {
		_, _ = s.b.DeleteSession(ctx, key)
		return Principal{}, ErrUnauthenticated
	}
	u, err := s.b.User(store.WithTenant(ctx, sess.Tenant), sess.UserID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Principal{}, ErrUnauthenticated
		}
		return Principal{}, err
	}
	if u.Disabled {
		return Principal{}, ErrUnauthenticated
	}
	return principalOf(sess.Tenant, u), nil
}

// Logout ends the session of token and closes its live sockets.
func (s *Service) Logout(ctx context.Context, token string) error {
	key := hashToken(token)
	sess, err := s.b.DeleteSession(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	s.notify(sess.UserID, func(sid string) bool { return sid == key }, Revocation{Code: CloseSessionEnded, Reason: "logged out"})
	return nil
}

// revoked closes the live sockets on this replica of a user whose sessions
// (all but keep, a session id) just ended, saying why (other replicas'
// sockets find out at their next recheck). The sessions are gone from the
// store before this runs, so a socket that reconnects is refused.
func (s *Service) revoked(uid UserID, keep, why string) {
	s.notify(uid, func(sid string) bool { return sid != keep }, Revocation{Code: CloseSessionEnded, Reason: why})
}

// ChangePassword changes the caller's password after checking the old one;
// the caller's other sessions end.
func (s *Service) ChangePassword(ctx context.Context, p Principal, currentToken, oldPW, newPW string) error {
	u, err := s.b.User(ctx, p.UserID)
	if err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(oldPW)) != nil {
		return &ValidationError{Field: "old_password", Reason: "is not your current password"}
	}
	if oldPW == newPW {
		return &ValidationError{Field: "new_password", Reason: "must differ from the current password"}
	}
	h, err := s.hash("new_password", newPW)
	if err != nil {
		return err
	}
	now := s.o.Now().UTC()
	keep := ""
	if currentToken != "" {
		keep = hashToken(currentToken)
	}
	if _, err := s.b.UpdateUser(ctx, p.UserID, UserChange{PasswordHash: h, PasswordChangedAt: now, UpdatedAt: now, EndSessions: true, KeepSession: keep}); err != nil {
		return err
	}
	s.revoked(p.UserID, keep, "password changed")
	return nil
}

// ResetPassword sets a user's password (admin); all their sessions end.
func (s *Service) ResetPassword(ctx context.Context, id UserID, newPW string) error {
	h, err := s.hash("password", newPW)
	if err != nil {
		return err
	}
	now := s.o.Now().UTC()
	if _, err := s.b.UpdateUser(ctx, id, UserChange{PasswordHash: h, PasswordChangedAt: now, UpdatedAt: now, EndSessions: true}); err != nil {
		return err
	}
	s.revoked(id, "", "password reset")
	return nil
}
