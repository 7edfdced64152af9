package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/store"
)

// envelopeBody is the JSON error envelope as a client reads it.
type envelopeBody struct {
	Error *struct {
		Code    string  `json:"code"`
		Message string  `json:"message"`
		Field   *string `json:"field"`
	} `json:"error"`
}

// syncBuffer is a log sink the server goroutines and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// plainApp is a fiber app with the hub's error handler that reads bodies
// the default way (no streaming), for app.Test.
func plainApp(log *slog.Logger) *fiber.App {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return fiber.New(fiber.Config{
		DisableStartupMessage: true,
		Immutable:             true,
		ErrorHandler:          ErrorHandler(log),
	})
}

// do runs req through app and returns the status, headers and body.
func do(t *testing.T, app *fiber.App, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
	}
	return resp, b
}

// decodeEnvelope parses an error envelope and fails the test when the body
// is not one.
func decodeEnvelope(t *testing.T, body []byte) envelopeBody {
	t.Helper()
	var e envelopeBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error == nil {
		t.Fatalf("body %q is not an error envelope (err %v)", body, err)
	}
	return e
}

// wantError checks the status and the envelope's code and field.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, code, field string) envelopeBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d (body %s)", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get(fiber.HeaderContentType); !strings.HasPrefix(ct, fiber.MIMEApplicationJSON) {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	e := decodeEnvelope(t, body)
	if e.Error.Code != code {
		t.Errorf("code %q, want %q (body %s)", e.Error.Code, code, body)
	}
	got := ""
	if e.Error.Field != nil {
		got = *e.Error.Field
		if got == "" {
			t.Errorf("field is present but empty: %s (want it left out)", body)
		}
	}
	if got != field {
		t.Errorf("field %q, want %q (body %s)", got, field, body)
	}
	if e.Error.Message == "" {
		t.Errorf("empty message: %s", body)
	}
	return e
}

type sample struct {
	Name  string `json:"name"`
	Age   int    `json:"age"`
	Inner struct {
		N int `json:"n"`
	} `json:"inner"`
}

func decodeApp() *fiber.App {
	app := plainApp(nil)
	app.Post("/json", func(c *fiber.Ctx) error {
		var v sample
		if err := DecodeJSON(c, &v); err != nil {
			return err
		}
		return c.JSON(v)
	})
	return app
}

func jsonReq(ct, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/json", strings.NewReader(body))
	if ct != "" {
		req.Header.Set(fiber.HeaderContentType, ct)
	}
	return req
}

func TestDecodeJSONAccepts(t *testing.T) {
	app := decodeApp()
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON"} {
		resp, body := do(t, app, jsonReq(ct, `{"name":"ann","age":7,"inner":{"n":3}}`+"\n"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("Content-Type %q: status %d, want 200 (body %s)", ct, resp.StatusCode, body)
		}
		var got sample
		if err := json.Unmarshal(body, &got); err != nil || got.Name != "ann" || got.Age != 7 || got.Inner.N != 3 {
			t.Errorf("Content-Type %q: decoded %+v (%v), want ann/7/3", ct, got, err)
		}
	}
}

func TestDecodeJSONRefuses(t *testing.T) {
	app := decodeApp()
	for _, tc := range []struct {
		name, ct, body string
		status         int
		code, field    string
		msg            []string // substrings of the message
	}{
		{"malformed names the line", "application/json", "{\n  \"name\": \"ann\",\n  \"age\": }", 400, "invalid_argument", "", []string{"line 3,"}},
		{"malformed on line 1", "application/json", `{"name": "ann" "age": 1}`, 400, "invalid_argument", "", []string{"line 1,"}},
		{"truncated", "application/json", `{"name": "ann"`, 400, "invalid_argument", "", []string{"ends too early"}},
		{"empty body", "application/json", ``, 400, "invalid_argument", "", []string{"ends too early"}},
		{"unknown field", "application/json", `{"name":"ann","nmae":"x"}`, 400, "invalid_argument", "nmae", []string{`unknown field "nmae"`}},
		{"wrong type", "application/json", `{"age":"seven"}`, 400, "invalid_argument", "age", []string{"age must be int", "not string"}},
		{"wrong type nested", "application/json", `{"inner":{"n":true}}`, 400, "invalid_argument", "inner.n", []string{"inner.n must be int"}},
		{"two values", "application/json", `{"name":"a"} {"name":"b"}`, 400, "invalid_argument", "", []string{"single JSON value"}},
		{"trailing garbage", "application/json", `{"name":"a"} x`, 400, "invalid_argument", "", []string{"single JSON value"}},
		{"text content type", "text/plain", `{"name":"a"}`, 415, "unsupported_media_type", "", []string{"application/json"}},
		{"form content type", "application/x-www-form-urlencoded", `name=a`, 415, "unsupported_media_type", "", nil},
		{"no content type", "", `{"name":"a"}`, 415, "unsupported_media_type", "", nil},
		{"json suffix type", "application/merge-patch+json", `{"name":"a"}`, 415, "unsupported_media_type", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, app, jsonReq(tc.ct, tc.body))
			e := wantError(t, resp, body, tc.status, tc.code, tc.field)
			for _, m := range tc.msg {
				if !strings.Contains(e.Error.Message, m) {
					t.Errorf("message %q does not say %q", e.Error.Message, m)
				}
			}
		})
	}
}

// TestDecodeJSONBoundsBodyWithoutBodies: an app that does not run Bodies
// still gets a 413 from DecodeJSON for a body over MaxJSONBody.
func TestDecodeJSONBoundsBodyWithoutBodies(t *testing.T) {
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		BodyLimit:             4 * MaxJSONBody,
		ErrorHandler:          ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	app.Post("/json", func(c *fiber.Ctx) error {
		var v map[string]string
		if err := DecodeJSON(c, &v); err != nil {
			return err
		}
		return c.SendString(v["s"])
	})
	pad := func(n int) string { return `{"s":"` + strings.Repeat("a", n-len(`{"s":""}`)) + `"}` }

	resp, body := do(t, app, jsonReq("application/json", pad(MaxJSONBody)))
	if resp.StatusCode != http.StatusOK || len(body) != MaxJSONBody-len(`{"s":""}`) {
		t.Fatalf("a body of exactly MaxJSONBody: status %d, %d bytes back", resp.StatusCode, len(body))
	}
	resp, body = do(t, app, jsonReq("application/json", pad(MaxJSONBody+1)))
	wantError(t, resp, body, http.StatusRequestEntityTooLarge, "too_large", "")
}

// secretErr stands for an unexpected failure whose text must not reach the
// client.
var secretErr = errors.New("dial mongodb://admin:hunter2@db:27017: connection refused")

func TestErrorHandlerEnvelope(t *testing.T) {
	var logs syncBuffer
	app := plainApp(slog.New(slog.NewTextHandler(&logs, nil)))
	errs := map[string]error{
		"bad-request":   BadRequest("email", "email is not an address"),
		"forbidden":     Forbidden("agents may not"),
		"not-found":     NotFound("no such queue"),
		"validation":    fmt.Errorf("creating user: %w", &accounts.ValidationError{Field: "username", Reason: "is required"}),
		"store-missing": fmt.Errorf("loading: %w", &store.NotFoundError{Kind: "user", ID: "u1"}),
		"duplicate":     &store.DuplicateError{Kind: "user", Field: "username", Value: "ann"},
		"rate-limited":  fmt.Errorf("login: %w", &accounts.RateLimitedError{RetryAfter: 1500 * time.Millisecond}),
		"bad-login":     accounts.ErrBadCredentials,
		"no-session":    fmt.Errorf("auth: %w", accounts.ErrUnauthenticated),
		"disabled":      accounts.ErrDisabled,
		"tenant":        fmt.Errorf("get: %w", store.ErrTenantMismatch),
		"fiber":         fiber.ErrMethodNotAllowed,
		"fiber-413":     fiber.ErrRequestEntityTooLarge,
		"too-large":     TooLarge(10),
		"busy":          ErrNoSlot,
		"unexpected":    fmt.Errorf("saving: %w", secretErr),
		"wrapped-http":  fmt.Errorf("outer: %w", &Error{Status: http.StatusConflict, Code: "conflict", Message: "taken", Field: "slot"}),
	}
	app.Get("/err/:name", func(c *fiber.Ctx) error { return errs[c.Params("name")] })

	for _, tc := range []struct {
		name        string
		status      int
		code, field string
		msg         string // the whole message, when it is fixed
	}{
		{"bad-request", 400, "invalid_argument", "email", "email is not an address"},
		{"forbidden", 403, "forbidden", "", "agents may not"},
		{"not-found", 404, "not_found", "", "no such queue"},
		{"validation", 400, "invalid_argument", "username", "username: is required"},
		{"store-missing", 404, "not_found", "", `user "u1" not found`},
		{"duplicate", 409, "already_exists", "username", `user with username "ann" already exists`},
		{"rate-limited", 429, "rate_limited", "", ""},
		{"bad-login", 401, "unauthenticated", "", accounts.ErrBadCredentials.Error()},
		{"no-session", 401, "unauthenticated", "", ""},
		{"disabled", 403, "account_disabled", "", ""},
		{"tenant", 404, "not_found", "", "not found"},
		{"fiber", 405, "method_not_allowed", "", "Method Not Allowed"},
		{"fiber-413", 413, "too_large", "", "request body is too large"},
		{"too-large", 413, "too_large", "", "request body is too large (limit 10 bytes)"},
		{"busy", 503, "busy", "", ErrNoSlot.Message},
		{"unexpected", 500, "internal", "", "internal error"},
		{"wrapped-http", 409, "conflict", "slot", "taken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, app, httptest.NewRequest(http.MethodGet, "/err/"+tc.name, nil))
			e := wantError(t, resp, body, tc.status, tc.code, tc.field)
			if tc.msg != "" && e.Error.Message != tc.msg {
				t.Errorf("message %q, want %q", e.Error.Message, tc.msg)
			}
			if strings.Contains(string(body), "hunter2") || strings.Contains(string(body), "mongodb") {
				t.Errorf("the body leaks the internal error: %s", body)
			}
			if got := resp.Header.Get(fiber.HeaderRetryAfter); (tc.name == "rate-limited") != (got != "") {
				t.Errorf("Retry-After %q", got)
			} else if tc.name == "rate-limited" && got != "2" {
				t.Errorf("Retry-After %q for 1.5s, want 2 (rounded up)", got)
			}
		})
	}
	// The unexpected error is logged for the operator, with its path; the
	// 4xx answers are not.
	out := logs.String()
	if !strings.Contains(out, "hunter2") || !strings.Contains(out, "/err/unexpected") {
		t.Errorf("the 500 was not logged with its error and path: %q", out)
	}
	if strings.Contains(out, "/err/bad-request") {
		t.Errorf("a 400 was logged as a failure: %q", out)
	}
}

// TestErrorHandlerUnknownRoute: fiber's own 404 comes in the envelope too.
func TestErrorHandlerUnknownRoute(t *testing.T) {
	app := plainApp(nil)
	app.Get("/here", func(c *fiber.Ctx) error { return c.SendString("ok") })
	resp, body := do(t, app, httptest.NewRequest(http.MethodGet, "/not-here", nil))
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
	e := decodeEnvelope(t, body)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("envelope without code or message: %s", body)
	}
}

// fakeAuth knows one token per role, all in tenant "t1".
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, token string) (accounts.Principal, error) {
	role, ok := strings.CutSuffix(token, "-token")
	if !ok || token == "" {
		return accounts.Principal{}, accounts.ErrUnauthenticated
	}
	return accounts.Principal{UserID: accounts.UserID("u-" + role), Tenant: "t1", Username: role, Role: accounts.Role(role)}, nil
}

// roleApp serves GET /r/{any,staff,admin} behind RequireAuth, and
// /bare/admin behind AdminOnly without RequireAuth.
func roleApp(origins *Origins) *fiber.App {
	app := plainApp(nil)
	who := func(c *fiber.Ctx) error {
		p := PrincipalOf(c)
		tenant, _ := store.Tenant(c.UserContext())
		return c.SendString(string(p.Role) + "@" + string(tenant))
	}
	r := app.Group("/r", RequireAuth(fakeAuth{}, origins))
	r.Get("/any", AnyRole(), who)
	r.Get("/staff", Staff(), who)
	r.Get("/admin", AdminOnly(), who)
	app.Get("/bare/admin", AdminOnly(), who)
	return app
}

func TestRoles(t *testing.T) {
	app := roleApp(nil)
	allowed := map[string][]accounts.Role{
		"any":   {accounts.RoleAgent, accounts.RoleSupervisor, accounts.RoleQA, accounts.RoleAdmin},
		"staff": {accounts.RoleSupervisor, accounts.RoleAdmin},
		"admin": {accounts.RoleAdmin},
	}
	for route, roles := range allowed {
		for _, role := range []accounts.Role{accounts.RoleAgent, accounts.RoleSupervisor, accounts.RoleQA, accounts.RoleAdmin, "root"} {
			t.Run(route+"/"+string(role), func(t *testing.T) {
				req := httptest.NewRequest(http.MethodGet, "/r/"+route, nil)
				req.Header.Set(fiber.HeaderAuthorization, "Bearer "+string(role)+"-token")
				resp, body := do(t, app, req)
				ok := false
				for _, r := range roles {
					ok = ok || r == role
				}
				if !ok {
					e := wantError(t, resp, body, http.StatusForbidden, "forbidden", "")
					if !strings.Contains(e.Error.Message, string(role)) {
						t.Errorf("message %q does not name the role", e.Error.Message)
					}
					return
				}
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d, want 200 (body %s)", resp.StatusCode, body)
				}
				// RequireAuth put the principal on the request and scoped
				// its context to the principal's tenant.
				if want := string(role) + "@t1"; string(body) != want {
					t.Errorf("handler saw %q, want %q", body, want)
				}
			})
		}
	}
}

func TestRequireAuthTokens(t *testing.T) {
	app := roleApp(nil)
	for _, tc := range []struct {
		name   string
		header string // Authorization
		cookie string // hub_session
		status int
	}{
		{"no token", "", "", 401},
		{"unknown token", "Bearer nonsense", "", 401},
		{"empty bearer", "Bearer ", "", 401},
		{"bearer", "Bearer admin-token", "", 200},
		{"bearer any case", "bEaReR admin-token", "", 200},
		{"cookie", "", "admin-token", 200},
		{"bearer wins over cookie", "Bearer agent-token", "admin-token", 403},
		{"other scheme ignored", "Basic admin-token", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/r/admin", nil)
			if tc.header != "" {
				req.Header.Set(fiber.HeaderAuthorization, tc.header)
			}
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: SessionCookie, Value: tc.cookie})
			}
			resp, body := do(t, app, req)
			switch tc.status {
			case 200:
				if resp.StatusCode != 200 || string(body) != "admin@t1" {
					t.Fatalf("status %d body %q, want 200 admin@t1", resp.StatusCode, body)
				}
			case 401:
				wantError(t, resp, body, 401, "unauthenticated", "")
			case 403:
				wantError(t, resp, body, 403, "forbidden", "")
			}
		})
	}
}

// TestRoleWithoutPrincipal: a role check on a route that RequireAuth does
// not guard refuses the request (it must never pass an anonymous caller).
func TestRoleWithoutPrincipal(t *testing.T) {
	app := roleApp(nil)
	req := httptest.NewRequest(http.MethodGet, "/bare/admin", nil)
	req.Header.Set(fiber.HeaderAuthorization, "Bearer admin-token")
	resp, body := do(t, app, req)
	wantError(t, resp, body, http.StatusForbidden, "forbidden", "")
}

// TestRequireAuthSocketOrigin: a cookie-authenticated WebSocket upgrade
// must come from an allowed origin; a bearer upgrade need not.
func TestRequireAuthSocketOrigin(t *testing.T) {
	app := roleApp(NewOrigins("https://hub.example", []string{"https://partner.example"}))
	for _, tc := range []struct {
		name, origin string
		cookie       bool
		upgrade      bool
		status       int
	}{
		{"cookie, foreign origin", "https://evil.example", true, true, 403},
		{"cookie, null origin", "null", true, true, 403},
		{"cookie, public origin", "https://hub.example", true, true, 200},
		{"cookie, public origin default port", "https://HUB.example:443", true, true, 200},
		{"cookie, allowed origin", "https://partner.example", true, true, 200},
		{"cookie, no origin", "", true, true, 200},
		{"bearer, foreign origin", "https://evil.example", false, true, 200},
		{"cookie, foreign origin, no upgrade", "https://evil.example", true, false, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/r/any", nil)
			if tc.upgrade {
				req.Header.Set(fiber.HeaderConnection, "Upgrade")
				req.Header.Set(fiber.HeaderUpgrade, "websocket")
			}
			if tc.origin != "" {
				req.Header.Set(fiber.HeaderOrigin, tc.origin)
			}
			if tc.cookie {
				req.AddCookie(&http.Cookie{Name: SessionCookie, Value: "agent-token"})
			} else {
				req.Header.Set(fiber.HeaderAuthorization, "Bearer agent-token")
			}
			resp, body := do(t, app, req)
			if tc.status == 403 {
				e := wantError(t, resp, body, 403, "forbidden", "")
				if !strings.Contains(e.Error.Message, "origin") {
					t.Errorf("message %q does not say origin", e.Error.Message)
				}
				return
			}
			if resp.StatusCode != 200 || string(body) != "agent@t1" {
				t.Fatalf("status %d body %q, want 200 agent@t1", resp.StatusCode, body)
			}
		})
	}
}

func TestQueryParams(t *testing.T) {
	app := plainApp(nil)
	app.Get("/q", func(c *fiber.Ctx) error {
		n, err := QueryInt(c, "n", 20, 1, 100)
		if err != nil {
			return err
		}
		since, err := QueryTime(c, "since")
		if err != nil {
			return err
		}
		return c.SendString(fmt.Sprintf("%d %s", n, since.UTC().Format(time.RFC3339)))
	})
	for _, tc := range []struct {
		query, want, field string
	}{
		{"", "20 0001-01-01T00:00:00Z", ""},
		{"?n=1&since=2026-01-02T15:04:05%2B08:00", "1 2026-01-02T07:04:05Z", ""},
		{"?n=100", "100 0001-01-01T00:00:00Z", ""},
		{"?n=0", "", "n"},
		{"?n=101", "", "n"},
		{"?n=ten", "", "n"},
		{"?since=yesterday", "", "since"},
		{"?since=2026-01-02", "", "since"},
	} {
		resp, body := do(t, app, httptest.NewRequest(http.MethodGet, "/q"+tc.query, nil))
		if tc.field != "" {
			wantError(t, resp, body, 400, "invalid_argument", tc.field)
			continue
		}
		if resp.StatusCode != 200 || string(body) != tc.want {
			t.Errorf("%s: status %d body %q, want %q", tc.query, resp.StatusCode, body, tc.want)
		}
	}
}
