package kb

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/kb/search"
)

// tctx is a context scoped to a tenant, with an editor.
func tctx(tenant string) context.Context {
	ctx := store.WithTenant(context.Background(), store.TenantID(tenant))
	return WithEditor(ctx, Editor{ID: "u-" + tenant, Name: "Editor " + tenant})
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// OpenTestBackend opens a fresh store for one test. It is set by
// backend_test.go (package kb_test, which may import the backends in
// storage/; this package may not).
var OpenTestBackend func(t testing.TB) Backend

// newBackend is a fresh store for one test.
func newBackend(t testing.TB) Backend {
	t.Helper()
	return OpenTestBackend(t)
}

// newService starts a service over b with an embedded index under dir
// (in memory when dir is empty).
func newService(t testing.TB, b Backend, dir string, now func() time.Time) *Service {
	t.Helper()
	idx, err := search.NewEngine(search.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), b, idx, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mustCreate(t testing.TB, s *Service, ctx context.Context, in ArticleInput) *Article {
	t.Helper()
	a, err := s.CreateArticle(ctx, in)
	if err != nil {
		t.Fatalf("create %q: %v", in.Question, err)
	}
	return a
}

func hitIDs(hits []Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

func contains(ids []string, id ArticleID) bool {
	for _, x := range ids {
		if x == string(id) {
			return true
		}
	}
	return false
}

func fieldOf(err error) string {
	var fe interface{ BadField() string }
	if errors.As(err, &fe) {
		return fe.BadField()
	}
	var de *store.DuplicateError
	if errors.As(err, &de) {
		return "dup:" + de.Field
	}
	return ""
}

func TestArticleLifecycle(t *testing.T) {
	db := newBackend(t)
	s := newService(t, db, "", nil)
	ctx := tctx("acme")

	for _, tc := range []struct {
		name  string
		in    ArticleInput
		field string
	}{
		{"no question", ArticleInput{Answer: "x"}, "question"},
		{"no answer", ArticleInput{Question: "怎么交费"}, "answer"},
		{"only script", ArticleInput{Question: "怎么交费", Answer: "<script>alert(1)</script>"}, "answer"},
		{"bad category", ArticleInput{Question: "怎么交费", Answer: "x", Category: "a//b"}, "category"},
		{"period", ArticleInput{Question: "怎么交费", Answer: "x", ValidFrom: ptr(time.Now()), ValidTo: ptr(time.Now().Add(-time.Hour))}, "valid_to"},
		{"long tag", ArticleInput{Question: "怎么交费", Answer: "x", Tags: []string{strings.Repeat("长", 40)}}, "tags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateArticle(ctx, tc.in)
			if got := fieldOf(err); got != tc.field {
				t.Fatalf("err %v names %q, want %q", err, got, tc.field)
			}
		})
	}

	a := mustCreate(t, s, ctx, ArticleInput{
		Question: "宽带怎么交费", Similar: []string{"网费在哪里交", "宽带续费方法"},
		Answer:   `<p>可以在<b>APP</b>交费</p><img src="x" onerror="alert(1)"><script>alert(2)</script><a href="javascript:alert(3)">点我</a>`,
		Category: "宽带/费用", Tags: []string{"交费"},
	})
	if a.Version != 1 || !a.Enabled || a.CreatedBy != "u-acme" || a.CreatedByName != "Editor acme" {
		t.Fatalf("created %+v", a)
	}
	for _, bad := range []string{"script", "onerror", "javascript", "<img"} {
		if strings.Contains(a.Answer, bad) {
			t.Errorf("answer keeps %q: %s", bad, a.Answer)
		}
	}
	if want := `<p>可以在<b>APP</b>交费</p>点我`; a.Answer != want {
		t.Errorf("answer %q, want %q", a.Answer, want)
	}
	if _, err := s.CreateArticle(ctx, ArticleInput{Question: "宽带怎么交费？", Answer: "dup"}); fieldOf(err) != "dup:question" {
		t.Fatalf("duplicate question: %v", err)
	}

	got, err := s.Article(ctx, a.ID)
	if err != nil || got.Question != a.Question || len(got.Similar) != 2 {
		t.Fatalf("get: %+v %v", got, err)
	}
	hits, err := s.Search(ctx, "网费去哪交", 5)
	if err != nil || len(hits) == 0 || hits[0].ID != string(a.ID) {
		t.Fatalf("search: %+v %v", hits, err)
	}

	ctx2 := WithEditor(ctx, Editor{ID: "u2", Name: "Second"})
	up, err := s.UpdateArticle(ctx2, a.ID, ArticleInput{Question: "宽带如何缴费", Answer: "在营业厅缴费", Category: "宽带", Version: 1})
	if err != nil || up.Version != 2 || up.UpdatedBy != "u2" || up.CreatedBy != "u-acme" {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, err := s.UpdateArticle(ctx2, a.ID, ArticleInput{Question: "x", Answer: "y", Version: 1}); !errors.Is(err, ErrVersionConflict) {
		t.Fatalf("stale version: %v", err)
	}
	same, err := s.UpdateArticle(ctx2, a.ID, ArticleInput{Question: "宽带如何缴费", Answer: "在营业厅缴费", Category: "宽带"})
	if err != nil || same.Version != 2 {
		t.Fatalf("no-op update: %+v %v", same, err)
	}
	hits, _ = s.Search(ctx, "营业厅缴费", 5)
	if len(hits) == 0 || hits[0].ID != string(a.ID) || hits[0].Answer != "在营业厅缴费" {
		t.Fatalf("search after update: %+v", hits)
	}
	hist, err := s.History(ctx, a.ID)
	if err != nil || len(hist) != 2 || hist[0].Version != 2 || hist[0].Editor != "u2" || hist[1].Editor != "u-acme" ||
		hist[1].Content.Question != "宽带怎么交费" || hist[0].Action != ActionUpdated {
		t.Fatalf("history: %+v %v", hist, err)
	}

	b := mustCreate(t, s, ctx, ArticleInput{Question: "电视没有信号", Answer: "重启机顶盒", Category: "电视", Enabled: ptr(false)})
	page, err := s.ListArticles(ctx, ListQuery{Category: "宽带"})
	if err != nil || page.Total != 1 || len(page.Articles) != 1 || page.Articles[0].ID != a.ID {
		t.Fatalf("list by category: %+v %v", page, err)
	}
	page, err = s.ListArticles(ctx, ListQuery{Q: "信号"})
	if err != nil || page.Total != 1 || page.Articles[0].ID != b.ID {
		t.Fatalf("list by q: %+v %v", page, err)
	}
	page, err = s.ListArticles(ctx, ListQuery{Enabled: ptr(true), Limit: 1})
	if err != nil || page.Total != 1 || page.Articles[0].ID != a.ID {
		t.Fatalf("list enabled: %+v %v", page, err)
	}
	page, err = s.ListArticles(ctx, ListQuery{Limit: 1})
	if err != nil || page.Total != 2 || page.Articles[0].ID != b.ID || page.Next == "" {
		t.Fatalf("list page 1: %+v %v", page, err)
	}
	page, err = s.ListArticles(ctx, ListQuery{Limit: 1, After: page.Next})
	if err != nil || len(page.Articles) != 1 || page.Articles[0].ID != a.ID || page.Next != "" {
		t.Fatalf("list page 2: %+v %v", page, err)
	}

	if err := s.DeleteArticle(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Article(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := s.DeleteArticle(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	hits, _ = s.SearchAll(ctx, "营业厅缴费", 5)
	if contains(hitIDs(hits), a.ID) {
		t.Fatalf("deleted article still found: %+v", hits)
	}
	hist, err = s.History(ctx, a.ID)
	if err != nil || len(hist) != 3 || hist[0].Action != ActionDeleted {
		t.Fatalf("history of deleted: %+v %v", hist, err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestEnabledAndValidity(t *testing.T) {
	db := newBackend(t)
	clk := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := newService(t, db, "", clk.Now)
	ctx := tctx("acme")
	on := mustCreate(t, s, ctx, ArticleInput{Question: "如何办理宽带移机", Answer: "带身份证到营业厅"})
	off := mustCreate(t, s, ctx, ArticleInput{Question: "宽带移机要多少钱", Answer: "免费", Enabled: ptr(false)})
	later := mustCreate(t, s, ctx, ArticleInput{Question: "宽带移机优惠活动", Answer: "五一八折",
		ValidFrom: ptr(time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)), ValidTo: ptr(time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC))})

	public := func() []string {
		hits, err := s.Search(ctx, "宽带移机", 10)
		if err != nil {
			t.Fatal(err)
		}
		return hitIDs(hits)
	}
	ids := public()
	if !contains(ids, on.ID) || contains(ids, off.ID) || contains(ids, later.ID) {
		t.Fatalf("public search at May 1: %v", ids)
	}
	all, _ := s.SearchAll(ctx, "宽带移机", 10)
	if len(all) != 3 {
		t.Fatalf("admin search: %+v", all)
	}
	clk.Set(time.Date(2026, 5, 15, 0, 0, 0, 0, time.UTC))
	if ids := public(); !contains(ids, later.ID) {
		t.Fatalf("public search at May 15: %v", ids)
	}
	clk.Set(time.Date(2026, 5, 21, 0, 0, 0, 0, time.UTC))
	if ids := public(); contains(ids, later.ID) {
		t.Fatalf("public search at May 21: %v", ids)
	}
	if _, err := s.UpdateArticle(ctx, off.ID, ArticleInput{Question: off.Question, Answer: off.Answer, Enabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if ids := public(); !contains(ids, off.ID) {
		t.Fatalf("enabled article not found: %v", ids)
	}
	if _, err := s.UpdateArticle(ctx, on.ID, ArticleInput{Question: on.Question, Answer: on.Answer, Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if ids := public(); contains(ids, on.ID) {
		t.Fatalf("disabled article found: %v", ids)
	}
	if a, _ := s.Article(ctx, on.ID); a.ActiveAt(clk.Now()) {
		t.Fatal("disabled article active")
	}
}

func TestSanitizeHTML(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"纯文本 a < b & c > d", "纯文本 a &lt; b &amp; c &gt; d"},
		{`<p onclick="x()">段落<br/>换行</p>`, "<p>段落<br>换行</p>"},
		{`<img src="https://cdn.example.com/a.png" onerror="alert(1)" alt="图">`, `<img src="https://cdn.example.com/a.png" alt="图">`},
		{`<img src="/api/v1/attachments/abc123">`, `<img src="/api/v1/attachments/abc123">`},
		{`<img src="/api/v1/attachments/../../etc">`, ``},
		{`<img src="data:image/png;base64,AAA">x`, `x`},
		{`<a href="JaVaScRiPt:alert(1)">x</a>`, `x`},
		{`<a href="&#106;avascript:alert(1)">x</a>`, `x`},
		{`<a href="mailto:help@example.com" target="_blank">mail</a>`, `<a href="mailto:help@example.com" rel="noopener noreferrer nofollow">mail</a>`},
		{`<a href="https://example.com/?a=1&b=2">x</a>`, `<a href="https://example.com/?a=1&amp;b=2" rel="noopener noreferrer nofollow">x</a>`},
		{`<script>alert(1)</script>ok<style>p{}</style>`, `ok`},
		{`<iframe src="https://evil"></iframe><svg onload=x><script>y</script></svg>z`, `z`},
		{`<div><b>粗<i>斜</b>后</div>`, `<b>粗<i>斜</i></b>后`},
		{`<ul><li>一<li>二</ul>`, `<ul><li>一<li>二</li></li></ul>`},
		{`<p>未闭合`, `<p>未闭合</p>`},
		{`<!-- c --><STRONG>大写</STRONG>`, `<strong>大写</strong>`},
		{`"引号"和'单引号'`, `"引号"和'单引号'`},
	} {
		got := SanitizeHTML(tc.in)
		if got != tc.want {
			t.Errorf("SanitizeHTML(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if again := SanitizeHTML(got); again != got {
			t.Errorf("not idempotent: %q -> %q", got, again)
		}
	}
}

func TestWantsHuman(t *testing.T) {
	for msg, want := range map[string]bool{
		"转人工": true, "人工": true, "人工客服": true, "找客服": true, "客服": true, "我要人工客服！": true,
		"请帮我转人工服务": true, "客服在吗？": true, "怎么还不给我转人工啊": true, "agent": true, "Human please": true,
		"talk to a human": true, "I want an agent": true, "真人": true,
		"人工智能是什么": false, "客服电话是多少": false, "人工服务时间几点": false, "宽带人工费多少钱": false,
		"宽带怎么交费": false, "你好": false, "": false, "user agent string": false,
	} {
		if got := WantsHuman(msg); got != want {
			t.Errorf("WantsHuman(%q) = %v, want %v", msg, got, want)
		}
	}
}
