package kb

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"sort"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/httpapi"
	"github.com/omnihub/hub/internal/store"
)

// testAPI serves the service's routes the way the hub does, with the
// principal taken from test headers instead of a session (as
// httpapi.RequireAuth stores it).
type testAPI struct {
	t   *testing.T
	app *fiber.App
}

func newTestAPI(t *testing.T, s *Service) *testAPI {
	app := fiber.New(fiber.Config{ErrorHandler: httpapi.ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	api := app.Group("/api/v1")
	api.Use(func(c *fiber.Ctx) error {
		tenant := store.TenantID(c.Get("X-Test-Tenant"))
		role := accounts.Role(c.Get("X-Test-Role"))
		c.Locals("principal", accounts.Principal{UserID: accounts.UserID("user-" + string(role)), Tenant: tenant, Username: string(role), Role: role})
		c.SetUserContext(store.WithTenant(c.UserContext(), tenant))
		return c.Next()
	})
	s.Mount(api)
	return &testAPI{t: t, app: app}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorField returns the envelope's field and code.
func (r response) errorField(t *testing.T) (string, string) {
	var e struct {
		Error struct{ Code, Field string } `json:"error"`
	}
	r.json(t, &e)
	return e.Error.Field, e.Error.Code
}

func (a *testAPI) do(tenant string, role accounts.Role, method, path, ctype string, body []byte) response {
	a.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("X-Test-Tenant", tenant)
	req.Header.Set("X-Test-Role", string(role))
	resp, err := a.app.Test(req, -1)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (a *testAPI) jsonDo(tenant string, role accounts.Role, method, path string, v any) response {
	a.t.Helper()
	var body []byte
	if s, ok := v.(string); ok {
		body = []byte(s)
	} else if v != nil {
		body, _ = json.Marshal(v)
	}
	return a.do(tenant, role, method, path, "application/json", body)
}

func multipartFile(t *testing.T, field, name string, content []byte) (string, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, err := w.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

const (
	admin      = accounts.RoleAdmin
	supervisor = accounts.RoleSupervisor
	agent      = accounts.RoleAgent
	qa         = accounts.RoleQA
)

func TestHTTP(t *testing.T) {
	db := newBackend(t)
	s := newService(t, db, "", nil)
	api := newTestAPI(t, s)
	const A, B = "tenant-a", "tenant-b"

	// Roles.
	article := map[string]any{"question": "宽带怎么交费", "similar_questions": []string{"网费在哪交"}, "answer": "<p>在APP交费</p><script>x</script>", "category": "宽带/费用"}
	if r := api.jsonDo(A, agent, "POST", "/api/v1/kb/articles", article); r.status != 403 {
		t.Fatalf("agent create: %d %s", r.status, r.body)
	}
	r := api.jsonDo(A, supervisor, "POST", "/api/v1/kb/articles", article)
	if r.status != 201 {
		t.Fatalf("supervisor create: %d %s", r.status, r.body)
	}
	var created Article
	r.json(t, &created)
	if created.Answer != "<p>在APP交费</p>" || created.CreatedBy != "user-supervisor" {
		t.Fatalf("created %+v", created)
	}
	id := string(created.ID)

	// Bad input names the field.
	for _, tc := range []struct {
		name, body, field string
		status            int
	}{
		{"malformed", `{"question":`, "", 400},
		{"unknown field", `{"question":"q","answer":"a","colour":"red"}`, "colour", 400},
		{"wrong type", `{"question":1,"answer":"a"}`, "question", 400},
		{"empty question", `{"question":" ","answer":"a"}`, "question", 400},
		{"bad time", `{"question":"q","answer":"a","valid_from":"tomorrow"}`, "valid_from", 400},
		{"duplicate", `{"question":"宽带怎么交费!","answer":"a"}`, "question", 409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := api.jsonDo(A, admin, "POST", "/api/v1/kb/articles", tc.body)
			field, _ := r.errorField(t)
			if r.status != tc.status || (tc.field != "" && field != tc.field) {
				t.Fatalf("%d %s, want %d naming %q", r.status, r.body, tc.status, tc.field)
			}
		})
	}
	if r := api.do(A, admin, "POST", "/api/v1/kb/articles", "text/plain", []byte("x")); r.status != 415 {
		t.Fatalf("text body: %d", r.status)
	}

	// Search: the JSON shape, any role.
	r = api.do(A, agent, "GET", "/api/v1/kb/search?q="+urlq("网费去哪交")+"&limit=3", "", nil)
	if r.status != 200 {
		t.Fatalf("search: %d %s", r.status, r.body)
	}
	var raw map[string][]map[string]any
	r.json(t, &raw)
	if len(raw["hits"]) != 1 {
		t.Fatalf("hits %s", r.body)
	}
	var keys []string
	for k := range raw["hits"][0] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "answer,category,id,question,score" || raw["hits"][0]["id"] != id {
		t.Fatalf("hit shape %s", r.body)
	}
	if r := api.do(A, agent, "GET", "/api/v1/kb/search?q=x&limit=abc", "", nil); r.status != 400 {
		t.Fatalf("bad limit: %d", r.status)
	} else if f, _ := r.errorField(t); f != "limit" {
		t.Fatalf("bad limit field %q", f)
	}
	if r := api.do(A, agent, "GET", "/api/v1/kb/search?q=x&all=true", "", nil); r.status != 403 {
		t.Fatalf("agent search all: %d", r.status)
	}
	if r := api.do(A, admin, "GET", "/api/v1/kb/search?q="+urlq("宽带交费")+"&all=true", "", nil); r.status != 200 || !strings.Contains(string(r.body), id) {
		t.Fatalf("admin search all: %d %s", r.status, r.body)
	}
	if r := api.do(A, agent, "GET", "/api/v1/kb/search?q=", "", nil); r.status != 200 || string(r.body) != `{"hits":[]}` {
		t.Fatalf("empty search: %d %s", r.status, r.body)
	}
	if r := api.do(A, agent, "GET", "/api/v1/kb/suggest?text="+urlq("你好，我想问下宽带费在哪里交啊"), "", nil); r.status != 200 || !strings.Contains(string(r.body), id) {
		t.Fatalf("suggest: %d %s", r.status, r.body)
	}

	// Read any role; edit admin and supervisor.
	if r := api.do(A, qa, "GET", "/api/v1/kb/articles/"+id, "", nil); r.status != 200 {
		t.Fatalf("qa get: %d", r.status)
	}
	if r := api.do(A, agent, "GET", "/api/v1/kb/articles?category="+urlq("宽带"), "", nil); r.status != 200 || !strings.Contains(string(r.body), `"total":1`) {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	if r := api.do(A, agent, "GET", "/api/v1/kb/articles?enabled=maybe", "", nil); r.status != 400 {
		t.Fatalf("bad enabled: %d", r.status)
	}
	upd := map[string]any{"question": "宽带怎么交费", "answer": "营业厅", "version": 1}
	if r := api.jsonDo(A, qa, "PUT", "/api/v1/kb/articles/"+id, upd); r.status != 403 {
		t.Fatalf("qa update: %d", r.status)
	}
	if r := api.jsonDo(A, admin, "PUT", "/api/v1/kb/articles/"+id, upd); r.status != 200 || !strings.Contains(string(r.body), `"version":2`) {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if r := api.jsonDo(A, admin, "PUT", "/api/v1/kb/articles/"+id, upd); r.status != 409 {
		t.Fatalf("stale update: %d %s", r.status, r.body)
	}
	r = api.do(A, agent, "GET", "/api/v1/kb/articles/"+id+"/history", "", nil)
	var hist struct{ History []Revision }
	r.json(t, &hist)
	if r.status != 200 || len(hist.History) != 2 || hist.History[0].Editor != "user-admin" {
		t.Fatalf("history: %d %s", r.status, r.body)
	}
	if r := api.jsonDo(A, agent, "POST", "/api/v1/kb/articles/"+id+"/feedback", map[string]any{"helpful": true}); r.status != 204 {
		t.Fatalf("feedback: %d %s", r.status, r.body)
	}
	if r := api.jsonDo(A, agent, "POST", "/api/v1/kb/articles/"+id+"/feedback", `{}`); r.status != 400 {
		t.Fatalf("feedback without helpful: %d", r.status)
	} else if f, _ := r.errorField(t); f != "helpful" {
		t.Fatalf("feedback field %q", f)
	}

	// Tenant B sees none of it.
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/kb/articles/" + id, ""},
		{"PUT", "/api/v1/kb/articles/" + id, `{"question":"x","answer":"y"}`},
		{"DELETE", "/api/v1/kb/articles/" + id, ""},
		{"GET", "/api/v1/kb/articles/" + id + "/history", ""},
		{"POST", "/api/v1/kb/articles/" + id + "/feedback", `{"helpful":false}`},
	} {
		if r := api.do(B, admin, c.method, c.path, "application/json", []byte(c.body)); r.status != 404 {
			t.Errorf("tenant B %s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	if r := api.do(B, admin, "GET", "/api/v1/kb/search?q="+urlq("宽带怎么交费")+"&all=true", "", nil); string(r.body) != `{"hits":[]}` {
		t.Errorf("tenant B search: %s", r.body)
	}
	if got, _ := s.Article(tctx(A), created.ID); got.Version != 2 || got.Helpful != 1 || got.NotHelpful != 0 {
		t.Errorf("A's article after B: %+v", got)
	}

	// Import and export.
	ct, body := multipartFile(t, "file", "faq.csv", []byte("question,answer\n电视没信号怎么办,重启机顶盒\n,没有问题\n"))
	if r := api.do(A, agent, "POST", "/api/v1/kb/import", ct, body); r.status != 403 {
		t.Fatalf("agent import: %d", r.status)
	}
	r = api.do(A, supervisor, "POST", "/api/v1/kb/import", ct, body)
	var rep ImportReport
	r.json(t, &rep)
	if r.status != 200 || rep.Added != 1 || len(rep.Rejected) != 1 || rep.Rejected[0].Row != 3 || rep.Rejected[0].Field != "question" {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	ct2, body2 := multipartFile(t, "file", "faq.pdf", []byte("%PDF"))
	if r := api.do(A, admin, "POST", "/api/v1/kb/import", ct2, body2); r.status != 415 {
		t.Fatalf("pdf import: %d %s", r.status, r.body)
	}
	ct3, body3 := multipartFile(t, "upload", "faq.csv", []byte("q"))
	if r := api.do(A, admin, "POST", "/api/v1/kb/import", ct3, body3); r.status != 400 {
		t.Fatalf("no file field: %d %s", r.status, r.body)
	}
	if r := api.jsonDo(A, admin, "POST", "/api/v1/kb/import", `{}`); r.status != 415 {
		t.Fatalf("json import: %d %s", r.status, r.body)
	}
	r = api.do(A, admin, "GET", "/api/v1/kb/export?format=csv", "", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(r.header.Get("Content-Disposition"), `attachment; filename="kb-`) || !strings.Contains(string(r.body), "电视没信号怎么办") {
		t.Fatalf("export csv: %d %v %s", r.status, r.header, r.body)
	}
	r = api.do(A, supervisor, "GET", "/api/v1/kb/export?format=xlsx", "", nil)
	if recs := exportRecords(t, FormatXLSX, r.body); r.status != 200 || len(recs) != 2 ||
		r.header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" ||
		!strings.HasSuffix(r.header.Get("Content-Disposition"), `.xlsx"`) {
		t.Fatalf("export xlsx: %d %v %d", r.status, r.header, len(recs))
	}
	if r := api.do(A, admin, "GET", "/api/v1/kb/export?format=pdf", "", nil); r.status != 400 {
		t.Fatalf("export pdf: %d", r.status)
	}
	if r := api.do(A, agent, "GET", "/api/v1/kb/export", "", nil); r.status != 403 {
		t.Fatalf("agent export: %d", r.status)
	}

	// Synonyms.
	if r := api.do(A, agent, "GET", "/api/v1/kb/synonyms", "", nil); r.status != 403 {
		t.Fatalf("agent synonyms: %d", r.status)
	}
	if r := api.jsonDo(A, supervisor, "PUT", "/api/v1/kb/synonyms", map[string]any{"groups": [][]string{{"紫钻", "星耀会员"}}}); r.status != 200 {
		t.Fatalf("put synonyms: %d %s", r.status, r.body)
	}
	if r := api.jsonDo(A, supervisor, "PUT", "/api/v1/kb/synonyms", map[string]any{"groups": [][]string{{"只有一个"}}}); r.status != 400 {
		t.Fatalf("bad synonyms: %d %s", r.status, r.body)
	} else if f, _ := r.errorField(t); f != "groups[0]" {
		t.Fatalf("bad synonyms field %q", f)
	}
	if r := api.do(A, admin, "GET", "/api/v1/kb/synonyms", "", nil); !strings.Contains(string(r.body), "星耀会员") {
		t.Fatalf("get synonyms: %s", r.body)
	}

	// Bot settings (admin) and unanswered questions (admin, supervisor).
	if r := api.do(A, supervisor, "GET", "/api/v1/kb/bot/g1", "", nil); r.status != 403 {
		t.Fatalf("supervisor bot: %d", r.status)
	}
	if r := api.do(A, admin, "GET", "/api/v1/kb/bot/g1", "", nil); r.status != 200 || !strings.Contains(string(r.body), `"enabled":true`) {
		t.Fatalf("get bot: %d %s", r.status, r.body)
	}
	if r := api.jsonDo(A, admin, "PUT", "/api/v1/kb/bot/g1", map[string]any{"enabled": true, "threshold": 2}); r.status != 400 {
		t.Fatalf("bad threshold: %d", r.status)
	} else if f, _ := r.errorField(t); f != "threshold" {
		t.Fatalf("threshold field %q", f)
	}
	if r := api.jsonDo(A, admin, "PUT", "/api/v1/kb/bot/g1", map[string]any{"threshold": 0.4, "max_choices": 2}); r.status != 200 ||
		!strings.Contains(string(r.body), `"threshold":0.4`) || !strings.Contains(string(r.body), `"channels":["webchat","wechat"]`) {
		t.Fatalf("put bot: %d %s", r.status, r.body)
	}
	if _, err := s.Answer(tctx(A), "g1", "今天天气怎么样"); err != nil {
		t.Fatal(err)
	}
	if r := api.do(A, agent, "GET", "/api/v1/kb/unanswered", "", nil); r.status != 403 {
		t.Fatalf("agent unanswered: %d", r.status)
	}
	r = api.do(A, supervisor, "GET", "/api/v1/kb/unanswered", "", nil)
	var un struct{ Unanswered []Unanswered }
	r.json(t, &un)
	if r.status != 200 || len(un.Unanswered) != 1 || un.Unanswered[0].Count != 1 {
		t.Fatalf("unanswered: %d %s", r.status, r.body)
	}
	if r := api.do(B, supervisor, "DELETE", "/api/v1/kb/unanswered/"+un.Unanswered[0].ID, "", nil); r.status != 404 {
		t.Fatalf("B dismisses A's: %d", r.status)
	}
	if r := api.do(A, supervisor, "DELETE", "/api/v1/kb/unanswered/"+un.Unanswered[0].ID, "", nil); r.status != 204 {
		t.Fatalf("dismiss: %d %s", r.status, r.body)
	}

	// Delete.
	if r := api.do(A, agent, "DELETE", "/api/v1/kb/articles/"+id, "", nil); r.status != 403 {
		t.Fatalf("agent delete: %d", r.status)
	}
	if r := api.do(A, admin, "DELETE", "/api/v1/kb/articles/"+id, "", nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := api.do(A, admin, "GET", "/api/v1/kb/articles/"+id, "", nil); r.status != 404 {
		t.Fatalf("get deleted: %d", r.status)
	}
}

func urlq(s string) string { return neturl.QueryEscape(s) }
