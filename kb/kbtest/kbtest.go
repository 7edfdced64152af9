// Package kbtest is the contract suite of kb.Backend: every backend
// (storage/sqlite, storage/mongo) runs it from its own tests.
package kbtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/kb"
)

// Run runs every case of the suite against one backend made by open, each
// case in its own tenant.
func Run(t *testing.T, open func(t *testing.T) kb.Backend) {
	b := open(t)
	for _, c := range contract {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, tenantCtx("t-"+c.name), b)
		})
	}
}

var contract = []struct {
	name string
	fn   func(t *testing.T, ctx context.Context, b kb.Backend)
}{
	{"article_lifecycle", testArticleLifecycle},
	{"article_pages_in_id_order", testArticlePages},
	{"list_filters_cursor_and_total", testList},
	{"import_in_one_go", testImport},
	{"synonyms", testSynonyms},
	{"unanswered", testUnanswered},
	{"bot_settings", testBotSettings},
	{"tenant_scoping", testTenantScoping},
	{"no_tenant", testNoTenant},
}

func tenantCtx(t string) context.Context {
	return store.WithTenant(context.Background(), store.TenantID(t))
}

// at is a fixed time base (milliseconds, UTC: what the store keeps).
var at = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// article returns a new article (version 1, a fresh time-ordered id).
func article(question, category string, similar ...string) *kb.Article {
	if similar == nil {
		similar = []string{}
	}
	return &kb.Article{
		ID: kb.ArticleID(ids.NewAt(at)),
		Content: kb.Content{Question: question, Similar: similar, Answer: "<p>" + question + "的答案</p>",
			Category: category, Tags: []string{"标签"}, Enabled: true},
		QKey:      "k:" + question,
		CreatedBy: "u1", CreatedByName: "一号", CreatedAt: at,
		UpdatedBy: "u1", UpdatedByName: "一号", UpdatedAt: at, Version: 1,
	}
}

func revision(a *kb.Article, action string) *kb.Revision {
	return &kb.Revision{ArticleID: a.ID, Version: a.Version, Action: action, Editor: a.UpdatedBy,
		EditorName: a.UpdatedByName, At: a.UpdatedAt, Content: a.Content}
}

func mustCreate(t *testing.T, ctx context.Context, b kb.Backend, a *kb.Article) {
	t.Helper()
	if err := b.CreateArticle(ctx, a, revision(a, kb.ActionCreated)); err != nil {
		t.Fatalf("create %q: %v", a.Question, err)
	}
}

func notFound(t *testing.T, what string, err error) {
	t.Helper()
	var nf *store.NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: %v, want a *store.NotFoundError", what, err)
	}
}

// same compares the stored fields of two articles.
func same(t *testing.T, what string, got, want *kb.Article) {
	t.Helper()
	g, w := *got, *want
	if !g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) || !timeEq(g.ValidFrom, w.ValidFrom) || !timeEq(g.ValidTo, w.ValidTo) {
		t.Errorf("%s: times %v %v %v %v, want %v %v %v %v", what, g.CreatedAt, g.UpdatedAt, g.ValidFrom, g.ValidTo, w.CreatedAt, w.UpdatedAt, w.ValidFrom, w.ValidTo)
	}
	g.CreatedAt, g.UpdatedAt, g.ValidFrom, g.ValidTo = w.CreatedAt, w.UpdatedAt, w.ValidFrom, w.ValidTo
	if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func timeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func ids2(arts []kb.Article) []kb.ArticleID {
	out := make([]kb.ArticleID, len(arts))
	for i := range arts {
		out[i] = arts[i].ID
	}
	return out
}

func testArticleLifecycle(t *testing.T, ctx context.Context, b kb.Backend) {
	a := article("宽带怎么交费", "宽带/费用", "网费在哪交", "宽带续费")
	vf, vt := at.Add(time.Hour), at.Add(48*time.Hour)
	a.ValidFrom, a.ValidTo = &vf, &vt
	mustCreate(t, ctx, b, a)
	got, err := b.Article(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "created", got, a)
	_, err = b.Article(ctx, "no-such-article")
	notFound(t, "get unknown", err)

	if id, err := b.ArticleByQKey(ctx, a.QKey); err != nil || id != a.ID {
		t.Fatalf("by question key: %q %v", id, err)
	}
	if id, err := b.ArticleByQKey(ctx, "k:nobody"); err != nil || id != "" {
		t.Fatalf("by unknown question key: %q %v", id, err)
	}

	// Feedback counts on the stored article; an update keeps the counters.
	for _, h := range []bool{true, true, false} {
		if err := b.AddFeedback(ctx, a.ID, h); err != nil {
			t.Fatal(err)
		}
	}
	notFound(t, "feedback on unknown", b.AddFeedback(ctx, "no-such-article", true))
	up := *a
	up.Content = kb.Content{Question: "宽带如何缴费", Similar: []string{}, Answer: "营业厅", Category: "宽带", Tags: []string{}, Enabled: false}
	up.QKey, up.Version = "k:宽带如何缴费", 2
	up.UpdatedBy, up.UpdatedByName, up.UpdatedAt = "u2", "二号", at.Add(time.Minute)
	if err := b.UpdateArticle(ctx, &up, revision(&up, kb.ActionUpdated)); err != nil {
		t.Fatal(err)
	}
	got, err = b.Article(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := up
	want.Helpful, want.NotHelpful = 2, 1
	same(t, "updated", got, &want)
	if id, _ := b.ArticleByQKey(ctx, a.QKey); id != "" {
		t.Errorf("old question key still finds %q", id)
	}
	if id, _ := b.ArticleByQKey(ctx, up.QKey); id != a.ID {
		t.Errorf("new question key finds %q", id)
	}
	ghost := article("不存在", "")
	ghost.Version = 2
	notFound(t, "update unknown", b.UpdateArticle(ctx, ghost, revision(ghost, kb.ActionUpdated)))
	if revs, err := b.Revisions(ctx, ghost.ID, 10); err != nil || len(revs) != 0 {
		t.Errorf("a failed update recorded a revision: %+v %v", revs, err)
	}

	del := up
	del.Version, del.UpdatedBy, del.UpdatedAt = 3, "u3", at.Add(2*time.Minute)
	if err := b.DeleteArticle(ctx, a.ID, revision(&del, kb.ActionDeleted)); err != nil {
		t.Fatal(err)
	}
	_, err = b.Article(ctx, a.ID)
	notFound(t, "get deleted", err)
	notFound(t, "delete twice", b.DeleteArticle(ctx, a.ID, &kb.Revision{ArticleID: a.ID, Version: 4, Action: kb.ActionDeleted}))

	revs, err := b.Revisions(ctx, a.ID, 10)
	if err != nil || len(revs) != 3 {
		t.Fatalf("revisions: %+v %v", revs, err)
	}
	for i, w := range []struct {
		v      int
		action string
		editor string
		q      string
	}{{3, kb.ActionDeleted, "u3", "宽带如何缴费"}, {2, kb.ActionUpdated, "u2", "宽带如何缴费"}, {1, kb.ActionCreated, "u1", "宽带怎么交费"}} {
		r := revs[i]
		if r.ArticleID != a.ID || r.Version != w.v || r.Action != w.action || r.Editor != w.editor || r.Content.Question != w.q {
			t.Errorf("revision %d: %+v, want version %d %s by %s", i, r, w.v, w.action, w.editor)
		}
	}
	if !revs[2].At.Equal(at) || len(revs[2].Content.Similar) != 2 || revs[2].Content.ValidTo == nil || !revs[2].Content.ValidTo.Equal(vt) {
		t.Errorf("first revision's content: %+v", revs[2])
	}
	if revs, _ := b.Revisions(ctx, a.ID, 2); len(revs) != 2 || revs[0].Version != 3 {
		t.Errorf("limited revisions: %+v", revs)
	}
	if revs, err := b.Revisions(ctx, "no-such-article", 10); err != nil || len(revs) != 0 {
		t.Errorf("revisions of unknown: %+v %v", revs, err)
	}
}

func testArticlePages(t *testing.T, ctx context.Context, b kb.Backend) {
	if page, err := b.Articles(ctx, "", 10); err != nil || len(page) != 0 {
		t.Fatalf("empty: %+v %v", page, err)
	}
	var want []kb.ArticleID
	for i := range 7 {
		a := article(fmt.Sprintf("问题%d", i), "")
		mustCreate(t, ctx, b, a)
		want = append(want, a.ID)
	}
	var got []kb.ArticleID
	var after kb.ArticleID
	for {
		page, err := b.Articles(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids2(page)...)
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pages %v, want %v", got, want)
	}
}

func testList(t *testing.T, ctx context.Context, b kb.Backend) {
	mk := func(q, cat string, enabled bool, similar ...string) kb.ArticleID {
		a := article(q, cat, similar...)
		a.Enabled = enabled
		mustCreate(t, ctx, b, a)
		return a.ID
	}
	fee := mk("宽带怎么交费", "宽带/费用", true, "APP Pay 网费")
	fault := mk("宽带坏了怎么报修", "宽带/故障/光猫", false)
	top := mk("宽带是什么", "宽带", true)
	near := mk("宽带费是多少", "宽带费", true)
	dash := mk("宽带-x 是什么", "宽带-x", true)
	tv := mk("电视没信号", "电视", false, "App 黑屏")
	none := mk("没有分类", "", true)

	on, off := true, false
	for _, tc := range []struct {
		name string
		f    kb.ArticleFilter
		want []kb.ArticleID
	}{
		{"all", kb.ArticleFilter{}, []kb.ArticleID{none, tv, dash, near, top, fault, fee}},
		{"category and below", kb.ArticleFilter{Category: "宽带"}, []kb.ArticleID{top, fault, fee}},
		{"sub-category", kb.ArticleFilter{Category: "宽带/故障"}, []kb.ArticleID{fault}},
		{"leaf", kb.ArticleFilter{Category: "宽带/故障/光猫"}, []kb.ArticleID{fault}},
		{"no such category", kb.ArticleFilter{Category: "宽"}, nil},
		{"text in question", kb.ArticleFilter{Q: "报修"}, []kb.ArticleID{fault}},
		{"text in similar, any case", kb.ArticleFilter{Q: "app"}, []kb.ArticleID{tv, fee}},
		{"text, upper case", kb.ArticleFilter{Q: "APP PAY"}, []kb.ArticleID{fee}},
		{"enabled", kb.ArticleFilter{Enabled: &on}, []kb.ArticleID{none, dash, near, top, fee}},
		{"disabled", kb.ArticleFilter{Enabled: &off}, []kb.ArticleID{tv, fault}},
		{"all filters", kb.ArticleFilter{Category: "宽带", Q: "交费", Enabled: &on}, []kb.ArticleID{fee}},
		{"all filters, none", kb.ArticleFilter{Category: "宽带", Q: "交费", Enabled: &off}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Limit = 100
			arts, total, err := b.ListArticles(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ids2(arts)) != fmt.Sprint(tc.want) || total != int64(len(tc.want)) {
				t.Fatalf("got %v (total %d), want %v", ids2(arts), total, tc.want)
			}
			// The same a page of 2 at a time through the cursor; the total
			// stays that of the whole filter.
			var got []kb.ArticleID
			f := tc.f
			f.Limit = 2
			for range 10 {
				page, total, err := b.ListArticles(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if total != int64(len(tc.want)) {
					t.Fatalf("total %d on a page, want %d", total, len(tc.want))
				}
				got = append(got, ids2(page)...)
				if len(page) < 2 {
					break
				}
				f.Before = page[len(page)-1].ID
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("paged %v, want %v", got, tc.want)
			}
		})
	}
	arts, _, _ := b.ListArticles(ctx, kb.ArticleFilter{Category: "宽带/费用", Limit: 1})
	if len(arts) != 1 || arts[0].Question != "宽带怎么交费" || len(arts[0].Similar) != 1 || arts[0].QKey != "k:宽带怎么交费" || arts[0].Version != 1 {
		t.Errorf("listed article: %+v", arts)
	}
}

func testImport(t *testing.T, ctx context.Context, b kb.Backend) {
	if err := b.ImportArticles(ctx, nil, nil, nil); err != nil {
		t.Fatalf("empty import: %v", err)
	}
	old := article("旧问题", "旧")
	mustCreate(t, ctx, b, old)
	if err := b.AddFeedback(ctx, old.ID, true); err != nil {
		t.Fatal(err)
	}
	var added []*kb.Article
	var revs []*kb.Revision
	for i := range 1200 {
		a := article(fmt.Sprintf("导入问题%04d", i), "导入")
		added = append(added, a)
		revs = append(revs, revision(a, kb.ActionImported))
	}
	up := *old
	up.Answer, up.Version, up.UpdatedBy = "新答案", 2, "importer"
	revs = append(revs, revision(&up, kb.ActionImported))
	if err := b.ImportArticles(ctx, added, []*kb.Article{&up}, revs); err != nil {
		t.Fatal(err)
	}
	_, total, err := b.ListArticles(ctx, kb.ArticleFilter{Category: "导入", Limit: 1})
	if err != nil || total != 1200 {
		t.Fatalf("imported %d, %v", total, err)
	}
	got, err := b.Article(ctx, old.ID)
	if err != nil || got.Answer != "新答案" || got.Version != 2 || got.Helpful != 1 || got.UpdatedBy != "importer" {
		t.Fatalf("updated by import: %+v %v", got, err)
	}
	if r, err := b.Revisions(ctx, old.ID, 5); err != nil || len(r) != 2 || r[0].Action != kb.ActionImported {
		t.Fatalf("revisions of updated: %+v %v", r, err)
	}
	if r, err := b.Revisions(ctx, added[1199].ID, 5); err != nil || len(r) != 1 || r[0].Content.Question != "导入问题1199" {
		t.Fatalf("revisions of added: %+v %v", r, err)
	}
	if id, err := b.ArticleByQKey(ctx, "k:导入问题0500"); err != nil || id != added[500].ID {
		t.Fatalf("imported by question key: %q %v", id, err)
	}
}

func testSynonyms(t *testing.T, ctx context.Context, b kb.Backend) {
	if syn, err := b.Synonyms(ctx); err != nil || syn != nil {
		t.Fatalf("never set: %+v %v", syn, err)
	}
	when := at.Add(time.Hour)
	in := &kb.Synonyms{Groups: [][]string{{"紫钻", "星耀会员"}, {"交费", "缴费", "付费"}}, UpdatedBy: "u1", UpdatedByName: "一号", UpdatedAt: &when}
	if err := b.SetSynonyms(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := b.Synonyms(ctx)
	if err != nil || fmt.Sprint(got.Groups) != fmt.Sprint(in.Groups) || got.UpdatedBy != "u1" || got.UpdatedByName != "一号" || got.UpdatedAt == nil || !got.UpdatedAt.Equal(when) {
		t.Fatalf("synonyms: %+v %v", got, err)
	}
	if err := b.SetSynonyms(ctx, &kb.Synonyms{Groups: [][]string{}, UpdatedBy: "u2", UpdatedAt: &when}); err != nil {
		t.Fatal(err)
	}
	if got, err = b.Synonyms(ctx); err != nil || got == nil || len(got.Groups) != 0 || got.UpdatedBy != "u2" {
		t.Fatalf("replaced: %+v %v", got, err)
	}
}

func testUnanswered(t *testing.T, ctx context.Context, b kb.Backend) {
	if list, err := b.Unanswered(ctx, 10); err != nil || len(list) != 0 {
		t.Fatalf("empty: %+v %v", list, err)
	}
	ask := func(id, q, group string, score float64, when time.Time) {
		t.Helper()
		if err := b.RecordUnanswered(ctx, &kb.Unanswered{ID: id, Question: q, Normalized: "n:" + id, Count: 1,
			FirstAsked: when, LastAsked: when, Group: group, BestScore: score}); err != nil {
			t.Fatal(err)
		}
	}
	ask("u-weather", "今天天气怎么样", "g1", 0.1, at)
	ask("u-stock", "股票怎么买", "g1", 0, at.Add(time.Minute))
	ask("u-weather", "今天天气怎么样？！", "g2", 0.2, at.Add(2*time.Minute))
	ask("u-late", "晚到的问题", "g1", 0, at.Add(3*time.Minute))
	ask("u-weather", "天气", "g3", 0.15, at.Add(4*time.Minute))

	list, err := b.Unanswered(ctx, 10)
	if err != nil || len(list) != 3 {
		t.Fatalf("list: %+v %v", list, err)
	}
	w := list[0]
	if w.ID != "u-weather" || w.Count != 3 || w.Question != "天气" || w.Group != "g3" || w.BestScore != 0.15 || w.Normalized != "n:u-weather" ||
		!w.FirstAsked.Equal(at) || !w.LastAsked.Equal(at.Add(4*time.Minute)) {
		t.Errorf("most asked: %+v", w)
	}
	// Same count: the most recently asked first.
	if list[1].ID != "u-late" || list[2].ID != "u-stock" || list[2].Count != 1 {
		t.Errorf("order: %+v", list)
	}
	if list, _ := b.Unanswered(ctx, 2); len(list) != 2 {
		t.Errorf("limit: %+v", list)
	}
	if err := b.DismissUnanswered(ctx, "u-weather"); err != nil {
		t.Fatal(err)
	}
	notFound(t, "dismiss twice", b.DismissUnanswered(ctx, "u-weather"))
	if list, _ := b.Unanswered(ctx, 10); len(list) != 2 || list[0].ID != "u-late" {
		t.Errorf("after dismiss: %+v", list)
	}
	// Asked again after a dismissal: counted from one.
	ask("u-weather", "天气", "g1", 0, at.Add(5*time.Minute))
	if list, _ := b.Unanswered(ctx, 10); len(list) != 3 || list[0].ID != "u-weather" || list[0].Count != 1 || !list[0].FirstAsked.Equal(at.Add(5*time.Minute)) {
		t.Errorf("asked again: %+v", list)
	}
}

func testBotSettings(t *testing.T, ctx context.Context, b kb.Backend) {
	if s, err := b.BotSettings(ctx, "g1"); err != nil || s != nil {
		t.Fatalf("none: %+v %v", s, err)
	}
	when := at.Add(time.Hour)
	in := &kb.BotSettings{Group: "g1", Enabled: false, Channels: []string{"sms"}, Threshold: 0.42, MaxChoices: 2, UpdatedBy: "u1", UpdatedByName: "一号", UpdatedAt: &when}
	if err := b.SetBotSettings(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := b.BotSettings(ctx, "g1")
	if err != nil || got == nil || got.Group != "g1" || got.Enabled || fmt.Sprint(got.Channels) != "[sms]" || got.Threshold != 0.42 || got.MaxChoices != 2 ||
		got.UpdatedBy != "u1" || got.UpdatedAt == nil || !got.UpdatedAt.Equal(when) {
		t.Fatalf("settings: %+v %v", got, err)
	}
	if s, _ := b.BotSettings(ctx, "g2"); s != nil {
		t.Errorf("other group: %+v", s)
	}
	in2 := &kb.BotSettings{Group: "g1", Enabled: true, Channels: []string{}, Threshold: 0, MaxChoices: 3}
	if err := b.SetBotSettings(ctx, in2); err != nil {
		t.Fatal(err)
	}
	if got, _ = b.BotSettings(ctx, "g1"); got == nil || !got.Enabled || len(got.Channels) != 0 || got.Threshold != 0 || got.MaxChoices != 3 {
		t.Errorf("replaced: %+v", got)
	}
}

// testTenantScoping: nothing of tenant A is read or changed through tenant
// B's context, and B's rows with the same keys are B's own.
func testTenantScoping(t *testing.T, ctx context.Context, b kb.Backend) {
	ca := ctx
	cb := tenantCtx(string(mustTenant(ctx)) + "-other")
	a := article("宽带怎么交费", "宽带")
	mustCreate(t, ca, b, a)
	if err := b.SetSynonyms(ca, &kb.Synonyms{Groups: [][]string{{"紫钻", "星耀会员"}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.RecordUnanswered(ca, &kb.Unanswered{ID: "ua-" + ids.New(), Question: "天气", Normalized: "天气", Count: 1, FirstAsked: at, LastAsked: at}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetBotSettings(ca, &kb.BotSettings{Group: "shared", Enabled: false, Channels: []string{}, MaxChoices: 1}); err != nil {
		t.Fatal(err)
	}
	ua, _ := b.Unanswered(ca, 10)

	_, err := b.Article(cb, a.ID)
	notFound(t, "get", err)
	if id, err := b.ArticleByQKey(cb, a.QKey); err != nil || id != "" {
		t.Errorf("by question key from B: %q %v", id, err)
	}
	if page, err := b.Articles(cb, "", 10); err != nil || len(page) != 0 {
		t.Errorf("pages from B: %+v %v", page, err)
	}
	if arts, total, err := b.ListArticles(cb, kb.ArticleFilter{Limit: 10}); err != nil || total != 0 || len(arts) != 0 {
		t.Errorf("list from B: %+v %d %v", arts, total, err)
	}
	changed := *a
	changed.Answer, changed.Version = "B的答案", 2
	notFound(t, "update", b.UpdateArticle(cb, &changed, revision(&changed, kb.ActionUpdated)))
	notFound(t, "import update", b.ImportArticles(cb, nil, []*kb.Article{&changed}, nil))
	notFound(t, "feedback", b.AddFeedback(cb, a.ID, true))
	notFound(t, "delete", b.DeleteArticle(cb, a.ID, revision(&changed, kb.ActionDeleted)))
	if revs, err := b.Revisions(cb, a.ID, 10); err != nil || len(revs) != 0 {
		t.Errorf("revisions from B: %+v %v", revs, err)
	}
	if syn, err := b.Synonyms(cb); err != nil || syn != nil {
		t.Errorf("synonyms from B: %+v %v", syn, err)
	}
	if list, err := b.Unanswered(cb, 10); err != nil || len(list) != 0 {
		t.Errorf("unanswered from B: %+v %v", list, err)
	}
	notFound(t, "dismiss", b.DismissUnanswered(cb, ua[0].ID))
	if s, err := b.BotSettings(cb, "shared"); err != nil || s != nil {
		t.Errorf("bot settings from B: %+v %v", s, err)
	}

	// B's own rows under the same keys.
	bArt := article("宽带怎么交费", "宽带")
	mustCreate(t, cb, b, bArt)
	if err := b.SetBotSettings(cb, &kb.BotSettings{Group: "shared", Enabled: true, Channels: []string{"webchat"}, Threshold: 0.6, MaxChoices: 3}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetSynonyms(cb, &kb.Synonyms{Groups: [][]string{{"甲", "乙"}}}); err != nil {
		t.Fatal(err)
	}
	if id, _ := b.ArticleByQKey(cb, a.QKey); id != bArt.ID {
		t.Errorf("B's question key finds %q", id)
	}
	if id, _ := b.ArticleByQKey(ca, a.QKey); id != a.ID {
		t.Errorf("A's question key finds %q", id)
	}

	// A's rows are as they were.
	got, err := b.Article(ca, a.ID)
	if err != nil || got.Answer != a.Answer || got.Version != 1 || got.Helpful != 0 {
		t.Errorf("A's article: %+v %v", got, err)
	}
	if revs, _ := b.Revisions(ca, a.ID, 10); len(revs) != 1 {
		t.Errorf("A's revisions: %+v", revs)
	}
	if s, _ := b.BotSettings(ca, "shared"); s == nil || s.Enabled || s.MaxChoices != 1 {
		t.Errorf("A's bot settings: %+v", s)
	}
	if syn, _ := b.Synonyms(ca); syn == nil || fmt.Sprint(syn.Groups) != "[[紫钻 星耀会员]]" {
		t.Errorf("A's synonyms: %+v", syn)
	}
	if list, _ := b.Unanswered(ca, 10); len(list) != 1 {
		t.Errorf("A's unanswered: %+v", list)
	}
	if page, _ := b.Articles(ca, "", 10); len(page) != 1 || page[0].ID != a.ID {
		t.Errorf("A's pages: %+v", page)
	}
}

func mustTenant(ctx context.Context) store.TenantID {
	t, _ := store.Tenant(ctx)
	return t
}

// testNoTenant: every call without a tenant fails with store.ErrNoTenant.
func testNoTenant(t *testing.T, ctx context.Context, b kb.Backend) {
	none := context.Background()
	a := article("无租户", "")
	mustCreate(t, ctx, b, a)
	check := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrNoTenant) {
			t.Errorf("%s without a tenant: %v, want store.ErrNoTenant", name, err)
		}
	}
	_, err := b.Article(none, a.ID)
	check("Article", err)
	_, err = b.ArticleByQKey(none, a.QKey)
	check("ArticleByQKey", err)
	_, err = b.Articles(none, "", 10)
	check("Articles", err)
	_, _, err = b.ListArticles(none, kb.ArticleFilter{Limit: 10})
	check("ListArticles", err)
	n := article("无租户2", "")
	check("CreateArticle", b.CreateArticle(none, n, revision(n, kb.ActionCreated)))
	check("UpdateArticle", b.UpdateArticle(none, a, revision(a, kb.ActionUpdated)))
	check("DeleteArticle", b.DeleteArticle(none, a.ID, revision(a, kb.ActionDeleted)))
	check("ImportArticles", b.ImportArticles(none, []*kb.Article{n}, nil, nil))
	check("AddFeedback", b.AddFeedback(none, a.ID, true))
	_, err = b.Revisions(none, a.ID, 10)
	check("Revisions", err)
	_, err = b.Synonyms(none)
	check("Synonyms", err)
	check("SetSynonyms", b.SetSynonyms(none, &kb.Synonyms{}))
	check("RecordUnanswered", b.RecordUnanswered(none, &kb.Unanswered{ID: "x", FirstAsked: at, LastAsked: at}))
	_, err = b.Unanswered(none, 10)
	check("Unanswered", err)
	check("DismissUnanswered", b.DismissUnanswered(none, "x"))
	_, err = b.BotSettings(none, "g")
	check("BotSettings", err)
	check("SetBotSettings", b.SetBotSettings(none, &kb.BotSettings{Group: "g"}))
	if got, err := b.Article(ctx, a.ID); err != nil || got.Version != 1 {
		t.Errorf("the article after calls without a tenant: %+v %v", got, err)
	}
	if _, err := b.Article(ctx, n.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("created without a tenant: %v", err)
	}
}
