// Package workspace is the hub's HTTP API for agents, supervisors and
// admins (and, in later issues, the web pages they use). Handlers only
// decode, validate, authorize, call a service and encode.
package workspace

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/httpapi"
	"github.com/omnihub/hub/internal/store"
)

// Accounts is what the API needs of the accounts service.
type Accounts interface {
	httpapi.Authenticator
	Login(ctx context.Context, r accounts.LoginRequest) (accounts.LoginResult, error)
	Logout(ctx context.Context, token string) error
	ChangePassword(ctx context.Context, p accounts.Principal, token, oldPW, newPW string) error
	ResetPassword(ctx context.Context, id accounts.UserID, pw string) error
	CreateUser(ctx context.Context, in accounts.UserInput) (*accounts.User, error)
	GetUser(ctx context.Context, id accounts.UserID) (*accounts.User, error)
	ListUsers(ctx context.Context, q accounts.UserQuery) ([]accounts.User, error)
	UpdateUser(ctx context.Context, id accounts.UserID, p accounts.UserPatch) (*accounts.User, error)
	CreateGroup(ctx context.Context, in accounts.GroupInput) (*accounts.Group, error)
	GetGroup(ctx context.Context, id accounts.GroupID) (*accounts.Group, error)
	ListGroups(ctx context.Context, includeDisabled bool) ([]accounts.Group, error)
	UpdateGroup(ctx context.Context, id accounts.GroupID, in accounts.GroupInput) (*accounts.Group, error)
	ListLogins(ctx context.Context, q accounts.LoginQuery) ([]accounts.LoginRecord, string, error)
	GetTenant(ctx context.Context) (*accounts.Tenant, error)
	UpdateTenant(ctx context.Context, p accounts.TenantPatch) (*accounts.Tenant, error)
	CreateTenant(ctx context.Context, in accounts.TenantInput) (*accounts.Tenant, *accounts.User, error)
}

// Syncer is told when an admin changed an agent or a skill group, so live
// routing follows (the acd service).
type Syncer interface {
	SyncAgent(ctx context.Context, id accounts.UserID) error
	SyncGroup(ctx context.Context, id accounts.GroupID) error
}

// API serves /api/v1.
type API struct {
	acc          Accounts
	hist         *history.Store
	log          *slog.Logger
	cookieSecure bool
	sync         Syncer
	origins      *httpapi.Origins
}

// Options configure the API.
type Options struct {
	Logger       *slog.Logger
	CookieSecure bool
	Sync         Syncer // optional
	// Origins may open cookie-authenticated sockets; nil: only pages
	// served from the host the request came to.
	Origins *httpapi.Origins
}

// New returns the API.
func New(acc Accounts, hist *history.Store, o Options) *API {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &API{acc: acc, hist: hist, log: o.Logger.With("component", "workspace"), cookieSecure: o.CookieSecure, sync: o.Sync, origins: o.Origins}
}

// Mount registers the routes on r (the /api/v1 group) and returns the
// authenticated sub-router for other packages to mount their routes on.
func (a *API) Mount(r fiber.Router) fiber.Router {
	r.Post("/auth/login", a.login)
	auth := r.Group("", httpapi.RequireAuth(a.acc, a.origins))

	auth.Post("/auth/logout", httpapi.AnyRole(), a.logout)
	auth.Get("/me", httpapi.AnyRole(), a.me)
	auth.Put("/me/password", httpapi.AnyRole(), a.changePassword)
	auth.Get("/me/logins", httpapi.AnyRole(), a.myLogins)

	auth.Get("/tenant", httpapi.AnyRole(), a.getTenant)
	auth.Patch("/tenant", httpapi.AdminOnly(), a.updateTenant)
	auth.Post("/tenants", httpapi.AdminOnly(), a.createTenant)

	auth.Get("/users", httpapi.Staff(), a.listUsers)
	auth.Post("/users", httpapi.AdminOnly(), a.createUser)
	auth.Get("/users/:id", httpapi.Staff(), a.getUser)
	auth.Patch("/users/:id", httpapi.AdminOnly(), a.updateUser)
	auth.Put("/users/:id/password", httpapi.AdminOnly(), a.resetPassword)

	auth.Get("/groups", httpapi.AnyRole(), a.listGroups)
	auth.Post("/groups", httpapi.AdminOnly(), a.createGroup)
	auth.Get("/groups/:id", httpapi.AnyRole(), a.getGroup)
	auth.Patch("/groups/:id", httpapi.AdminOnly(), a.updateGroup)

	auth.Get("/audit/logins", httpapi.Staff(), a.auditLogins)

	a.mountHistory(auth)
	return auth
}

type loginBody struct {
	Tenant   string `json:"tenant"`
	Username string `json:"username"`
	Password string `json:"password"`
}

func (a *API) login(c *fiber.Ctx) error {
	var b loginBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if strings.TrimSpace(b.Username) == "" {
		return httpapi.BadRequest("username", "username is required")
	}
	if b.Password == "" {
		return httpapi.BadRequest("password", "password is required")
	}
	res, err := a.acc.Login(c.UserContext(), accounts.LoginRequest{
		Tenant: store.TenantID(b.Tenant), Username: b.Username, Password: b.Password,
		IP: c.IP(), UserAgent: c.Get(fiber.HeaderUserAgent),
	})
	if err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{Name: httpapi.SessionCookie, Value: res.Token, Path: "/", Expires: res.ExpiresAt,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: a.cookieSecure})
	return c.JSON(fiber.Map{"token": res.Token, "expires_at": res.ExpiresAt, "user": res.Principal})
}

func (a *API) logout(c *fiber.Ctx) error {
	if err := a.acc.Logout(c.UserContext(), httpapi.Token(c)); err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{Name: httpapi.SessionCookie, Value: "", Path: "/", Expires: time.Unix(0, 0), HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: a.cookieSecure})
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *API) me(c *fiber.Ctx) error {
	p := httpapi.PrincipalOf(c)
	u, err := a.acc.GetUser(c.UserContext(), p.UserID)
	if err != nil {
		return err
	}
	t, err := a.acc.GetTenant(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"user": u, "tenant": t})
}

type passwordBody struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

func (a *API) changePassword(c *fiber.Ctx) error {
	var b passwordBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if err := a.acc.ChangePassword(c.UserContext(), httpapi.PrincipalOf(c), httpapi.Token(c), b.OldPassword, b.NewPassword); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func loginQuery(c *fiber.Ctx) (accounts.LoginQuery, error) {
	var q accounts.LoginQuery
	var err error
	if q.From, err = httpapi.QueryTime(c, "from"); err != nil {
		return q, err
	}
	if q.To, err = httpapi.QueryTime(c, "to"); err != nil {
		return q, err
	}
	if q.Limit, err = httpapi.QueryInt(c, "limit", 50, 1, 500); err != nil {
		return q, err
	}
	q.Cursor = c.Query("cursor")
	return q, nil
}

func (a *API) myLogins(c *fiber.Ctx) error {
	q, err := loginQuery(c)
	if err != nil {
		return err
	}
	q.UserID = httpapi.PrincipalOf(c).UserID
	return a.sendLogins(c, q)
}

func (a *API) auditLogins(c *fiber.Ctx) error {
	q, err := loginQuery(c)
	if err != nil {
		return err
	}
	q.Username = c.Query("user")
	return a.sendLogins(c, q)
}

func (a *API) sendLogins(c *fiber.Ctx, q accounts.LoginQuery) error {
	recs, next, err := a.acc.ListLogins(c.UserContext(), q)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"logins": recs, "next_cursor": next})
}

func (a *API) getTenant(c *fiber.Ctx) error {
	t, err := a.acc.GetTenant(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (a *API) updateTenant(c *fiber.Ctx) error {
	var p accounts.TenantPatch
	if err := httpapi.DecodeJSON(c, &p); err != nil {
		return err
	}
	t, err := a.acc.UpdateTenant(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (a *API) createTenant(c *fiber.Ctx) error {
	if httpapi.PrincipalOf(c).Tenant != store.DefaultTenant {
		return httpapi.Forbidden("only the hub operator (admins of the default tenant) may create tenants")
	}
	var in accounts.TenantInput
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	t, u, err := a.acc.CreateTenant(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"tenant": t, "admin": u})
}

func (a *API) listUsers(c *fiber.Ctx) error {
	q := accounts.UserQuery{Role: accounts.Role(c.Query("role")), GroupID: accounts.GroupID(c.Query("group")), IncludeDisabled: c.QueryBool("include_disabled")}
	if q.Role != "" && !q.Role.Valid() {
		return httpapi.BadRequest("role", "role must be agent, supervisor, qa or admin")
	}
	us, err := a.acc.ListUsers(c.UserContext(), q)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"users": us})
}

func (a *API) createUser(c *fiber.Ctx) error {
	var in accounts.UserInput
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	u, err := a.acc.CreateUser(c.UserContext(), in)
	if err != nil {
		return err
	}
	a.syncAgent(c, u.ID)
	return c.Status(fiber.StatusCreated).JSON(u)
}

func (a *API) getUser(c *fiber.Ctx) error {
	u, err := a.acc.GetUser(c.UserContext(), accounts.UserID(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (a *API) updateUser(c *fiber.Ctx) error {
	var p accounts.UserPatch
	if err := httpapi.DecodeJSON(c, &p); err != nil {
		return err
	}
	id := accounts.UserID(c.Params("id"))
	if p.Disabled != nil && *p.Disabled && id == httpapi.PrincipalOf(c).UserID {
		return httpapi.BadRequest("disabled", "you cannot disable your own account")
	}
	u, err := a.acc.UpdateUser(c.UserContext(), id, p)
	if err != nil {
		return err
	}
	a.syncAgent(c, u.ID)
	return c.JSON(u)
}

type resetBody struct {
	Password string `json:"password"`
}

func (a *API) resetPassword(c *fiber.Ctx) error {
	var b resetBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if err := a.acc.ResetPassword(c.UserContext(), accounts.UserID(c.Params("id")), b.Password); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *API) listGroups(c *fiber.Ctx) error {
	gs, err := a.acc.ListGroups(c.UserContext(), c.QueryBool("include_disabled"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"groups": gs})
}

func (a *API) createGroup(c *fiber.Ctx) error {
	var in accounts.GroupInput
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	g, err := a.acc.CreateGroup(c.UserContext(), in)
	if err != nil {
		return err
	}
	a.syncGroup(c, g.ID)
	return c.Status(fiber.StatusCreated).JSON(g)
}

func (a *API) getGroup(c *fiber.Ctx) error {
	g, err := a.acc.GetGroup(c.UserContext(), accounts.GroupID(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(g)
}

func (a *API) updateGroup(c *fiber.Ctx) error {
	var in accounts.GroupInput
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	g, err := a.acc.UpdateGroup(c.UserContext(), accounts.GroupID(c.Params("id")), in)
	if err != nil {
		return err
	}
	a.syncGroup(c, g.ID)
	return c.JSON(g)
}

// syncAgent and syncGroup tell live routing about a change; the change is
// stored already, so a failure is logged and routing picks it up at the
// agent's next sign-in or the next start.
func (a *API) syncAgent(c *fiber.Ctx, id accounts.UserID) {
	if a.sync != nil {
		if err := a.sync.SyncAgent(c.UserContext(), id); err != nil {
			a.log.Warn("routing not updated for agent", "agent", id, "err", err)
		}
	}
}

func (a *API) syncGroup(c *fiber.Ctx, id accounts.GroupID) {
	if a.sync != nil {
		if err := a.sync.SyncGroup(c.UserContext(), id); err != nil {
			a.log.Warn("routing not updated for group", "group", id, "err", err)
		}
	}
}
