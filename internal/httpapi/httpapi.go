// Package httpapi holds what every HTTP handler of the hub shares: the JSON
// error envelope, strict body decoding that names the bad field, session
// authentication (bearer token or cookie) and role checks.
//
// Handlers only decode, validate, authorize, call a service and encode; the
// mapping from service errors to HTTP status happens once, in ErrorHandler.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/store"
)

// Error is an HTTP error with the envelope's fields.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// BadRequest is a 400 naming field.
func BadRequest(field, msg string) *Error {
	return &Error{Status: fiber.StatusBadRequest, Code: "invalid_argument", Message: msg, Field: field}
}

// Forbidden is a 403.
func Forbidden(msg string) *Error {
	return &Error{Status: fiber.StatusForbidden, Code: "forbidden", Message: msg}
}

// NotFound is a 404.
func NotFound(msg string) *Error {
	return &Error{Status: fiber.StatusNotFound, Code: "not_found", Message: msg}
}

type envelope struct {
	Error *Error `json:"error"`
}

// ErrorHandler is the fiber error handler: it maps every error to the JSON
// envelope {"error":{"code","message","field"}} with the right status.
func ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		e := toHTTP(err)
		if e.Status >= 500 {
			log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
		}
		var rl *accounts.RateLimitedError
		if errors.As(err, &rl) {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(rl.RetryAfter.Seconds()+0.999)))
		}
		return c.Status(e.Status).JSON(envelope{Error: e})
	}
}

// badField is an error about one field of the request; every package's
// validation error implements it and becomes a 400 naming the field.
type badField interface {
	error
	BadField() string
}

func toHTTP(err error) *Error {
	var (
		he *Error
		fe *fiber.Error
		ve badField
		nf *store.NotFoundError
		de *store.DuplicateError
		rl *accounts.RateLimitedError
	)
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &ve):
		return BadRequest(ve.BadField(), ve.Error())
	case errors.As(err, &nf):
		return NotFound(nf.Error())
	case errors.As(err, &de):
		return &Error{Status: fiber.StatusConflict, Code: "already_exists", Message: de.Error(), Field: de.Field}
	case errors.As(err, &rl):
		return &Error{Status: fiber.StatusTooManyRequests, Code: "rate_limited", Message: rl.Error()}
	case errors.Is(err, accounts.ErrBadCredentials), errors.Is(err, accounts.ErrUnauthenticated):
		return &Error{Status: fiber.StatusUnauthorized, Code: "unauthenticated", Message: err.Error()}
	case errors.Is(err, accounts.ErrDisabled):
		return &Error{Status: fiber.StatusForbidden, Code: "account_disabled", Message: err.Error()}
	case errors.Is(err, store.ErrTenantMismatch):
		return NotFound("not found")
	case errors.As(err, &fe):
		code := strings.ToLower(strings.ReplaceAll(fe.Message, " ", "_"))
		if fe.Code == fiber.StatusRequestEntityTooLarge {
			return &Error{Status: fe.Code, Code: "too_large", Message: "request body is too large"}
		}
		return &Error{Status: fe.Code, Code: code, Message: fe.Message}
	}
	return &Error{Status: fiber.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

// MaxJSONBody bounds JSON request bodies (uploads have their own limits).
// Bodies enforces it before any handler runs; DecodeJSON checks it again
// for apps that do not use Bodies.
const MaxJSONBody = 1 << 20

// DecodeJSON decodes the request body into v strictly: the content type
// must be JSON, unknown fields are refused, and errors say where.
func DecodeJSON(c *fiber.Ctx, v any) error {
	mt, _, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if mt != fiber.MIMEApplicationJSON {
		return &Error{Status: fiber.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "body must be application/json"}
	}
	// The raw body: fiber's Ctx.Body would inflate a compressed body with
	// no limit.
	body := c.Request().Body()
	if len(body) > MaxJSONBody {
		return TooLarge(MaxJSONBody)
	}
	return decodeStrict(body, v)
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(body, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return BadRequest("", "body must hold a single JSON value")
	}
	return nil
}

func jsonError(body []byte, err error) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &se):
		line, col := position(body, se.Offset)
		return BadRequest("", fmt.Sprintf("malformed JSON at line %d, column %d (byte %d): %s", line, col, se.Offset, se.Error()))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return BadRequest("", "malformed JSON: body ends too early")
	case errors.As(err, &te):
		field := te.Field
		return BadRequest(field, fmt.Sprintf("%s must be %s, not %s", field, te.Type.String(), te.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return BadRequest(f, fmt.Sprintf("unknown field %q", f))
	}
	return BadRequest("", "malformed JSON: "+err.Error())
}

func position(b []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off && i < int64(len(b)); i++ {
		if b[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// Authenticator resolves a session token.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (accounts.Principal, error)
}

// SessionCookie is the web UI's session cookie.
const SessionCookie = "hub_session"

const principalKey = "principal"

// Token returns the bearer token or session cookie of the request.
func Token(c *fiber.Ctx) string {
	t, _ := token(c)
	return t
}

// token returns the request's token and whether it came from the cookie.
func token(c *fiber.Ctx) (string, bool) {
	if h := c.Get(fiber.HeaderAuthorization); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), false
	}
	return c.Cookies(SessionCookie), true
}

// Watcher follows the session behind a live socket (accounts.Service).
type Watcher interface {
	Watch(p accounts.Principal, token string) *accounts.Watch
}

const (
	tokenKey   = "session_token"
	watcherKey = "session_watcher"
)

// RequireAuth authenticates the request and scopes its context to the
// principal's tenant; it answers 401 otherwise. A WebSocket upgrade
// authenticated by the session cookie must come from an origin that
// origins allows (403 otherwise): a browser sends the cookie with a socket
// opened by any site, so without the check any page could act as the
// signed-in agent (cross-site WebSocket hijacking). A bearer token cannot
// be set by a browser's WebSocket, so bearer upgrades skip the check.
func RequireAuth(a Authenticator, origins *Origins) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tok, fromCookie := token(c)
		upgrade := isUpgrade(c)
		if upgrade && fromCookie && tok != "" && !origins.Allow(c) {
			return Forbidden(fmt.Sprintf("origin %q may not open this socket", c.Get(fiber.HeaderOrigin)))
		}
		p, err := a.Authenticate(c.UserContext(), tok)
		if err != nil {
			return err
		}
		c.Locals(principalKey, p)
		if upgrade {
			c.Locals(tokenKey, tok)
			if w, ok := a.(Watcher); ok {
				c.Locals(watcherKey, w)
			}
		}
		c.SetUserContext(store.WithTenant(c.UserContext(), p.Tenant))
		return c.Next()
	}
}

func isUpgrade(c *fiber.Ctx) bool {
	return strings.EqualFold(c.Get(fiber.HeaderUpgrade), "websocket")
}

// WatchSession starts following the session of an authenticated socket
// (locals is the socket's Locals): the handler selects on the watch's Done,
// refuses input once it is revoked, closes with the revocation's code and
// reason, and stops the watch when it ends. The watch is nil (never fires)
// when RequireAuth had no Watcher.
func WatchSession(locals func(key string, value ...any) any) (accounts.Principal, *accounts.Watch) {
	p, _ := locals(principalKey).(accounts.Principal)
	tok, _ := locals(tokenKey).(string)
	w, ok := locals(watcherKey).(Watcher)
	if !ok {
		return p, nil
	}
	return p, w.Watch(p, tok)
}

// PrincipalOf returns the authenticated caller (RequireAuth must run first).
func PrincipalOf(c *fiber.Ctx) accounts.Principal {
	p, _ := c.Locals(principalKey).(accounts.Principal)
	return p
}

// RequireRole lets the request through only for the given roles.
func RequireRole(roles ...accounts.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := PrincipalOf(c)
		for _, r := range roles {
			if p.Role == r {
				return c.Next()
			}
		}
		return Forbidden(fmt.Sprintf("role %q may not do this", p.Role))
	}
}

// QueryTime parses an RFC 3339 query parameter; empty gives the zero time.
func QueryTime(c *fiber.Ctx, name string) (time.Time, error) {
	s := c.Query(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, BadRequest(name, name+" must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	return t, nil
}

// QueryInt parses an integer query parameter within [min, max].
func QueryInt(c *fiber.Ctx, name string, def, min, max int) (int, error) {
	s := c.Query(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		return 0, BadRequest(name, fmt.Sprintf("%s must be a whole number from %d to %d", name, min, max))
	}
	return n, nil
}

// AnyRole lets every signed-in user through (each handler still checks
// what the user may touch).
func AnyRole() fiber.Handler {
	return RequireRole(accounts.RoleAgent, accounts.RoleSupervisor, accounts.RoleQA, accounts.RoleAdmin)
}

// Staff lets supervisors and admins through.
func Staff() fiber.Handler { return RequireRole(accounts.RoleSupervisor, accounts.RoleAdmin) }

// AdminOnly lets admins through.
func AdminOnly() fiber.Handler { return RequireRole(accounts.RoleAdmin) }
