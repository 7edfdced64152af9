package kb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/kb/search"
)

const importCSV = `question,similar_questions,answer,category,tags
宽带怎么交费,网费在哪交|宽带续费,<p>在APP或营业厅交费</p>,宽带/费用,交费
电视没信号怎么办,电视黑屏,重启机顶盒,电视,
没有答案的问题,,,宽带,
只有脚本,,<script>alert(1)</script>,宽带,
宽带怎么交费？,,重复的问题,宽带,
分类太深,,答案,a/b/c/d/e/f,
宽带坏了怎么报修,上不了网,拨打10086报修<img src=x onerror=alert(1)>,宽带/故障,报修
`

func TestImportExport(t *testing.T) {
	db := newBackend(t)
	s := newService(t, db, "", nil)
	ctx := tctx("acme")

	rep, err := s.Import(ctx, "faq.csv", strings.NewReader(importCSV))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != 3 || rep.Updated != 0 || len(rep.Rejected) != 4 {
		t.Fatalf("report %+v", rep)
	}
	want := map[int]string{4: "answer", 5: "answer", 6: "question", 7: "category"}
	for _, r := range rep.Rejected {
		if want[r.Row] != r.Field || r.Reason == "" {
			t.Errorf("rejected %+v, want field %q for row %d", r, want[r.Row], r.Row)
		}
	}
	hits, _ := s.Search(ctx, "宽带上不了网", 3)
	if len(hits) == 0 || hits[0].Question != "宽带坏了怎么报修" || strings.Contains(hits[0].Answer, "onerror") {
		t.Fatalf("search after import: %+v", hits)
	}

	// Same file again: nothing changes. A changed answer updates by question.
	rep, err = s.Import(ctx, "faq.csv", strings.NewReader(importCSV))
	if err != nil || rep.Added != 0 || rep.Updated != 0 || rep.Unchanged != 3 {
		t.Fatalf("re-import: %+v %v", rep, err)
	}
	rep, err = s.Import(ctx, "faq.csv", strings.NewReader("question,answer\n电视没信号怎么办？,先检查信号线\n新问题,新答案\n"))
	if err != nil || rep.Added != 1 || rep.Updated != 1 {
		t.Fatalf("update by question: %+v %v", rep, err)
	}
	page, _ := s.ListArticles(ctx, ListQuery{Q: "信号"})
	if len(page.Articles) != 1 || page.Articles[0].Answer != "先检查信号线" || page.Articles[0].Version != 2 {
		t.Fatalf("updated article: %+v", page.Articles)
	}
	hist, _ := s.History(ctx, page.Articles[0].ID)
	if len(hist) != 2 || hist[0].Action != ActionImported || hist[1].Content.Answer != "重启机顶盒" {
		t.Fatalf("history: %+v", hist)
	}

	if _, err := s.Import(ctx, "faq.txt", strings.NewReader("x")); !errors.Is(err, ErrUnsupportedFormat) {
		t.Fatalf("txt: %v", err)
	}
	if _, err := s.Import(ctx, "faq.xlsx", strings.NewReader("not a zip")); fieldOf(err) != "file" {
		t.Fatalf("bad xlsx: %v", err)
	}

	for _, format := range []string{FormatCSV, FormatXLSX} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := s.Export(ctx, format, &buf); err != nil {
				t.Fatal(err)
			}
			other := tctx("copy-" + format)
			rep, err := s.Import(other, "export."+format, bytes.NewReader(buf.Bytes()))
			if err != nil || rep.Added != 4 || len(rep.Rejected) != 0 {
				t.Fatalf("import export: %+v %v", rep, err)
			}
			var again bytes.Buffer
			if err := s.Export(other, format, &again); err != nil {
				t.Fatal(err)
			}
			a, b := exportRecords(t, format, buf.Bytes()), exportRecords(t, format, again.Bytes())
			if fmt.Sprint(a) != fmt.Sprint(b) || len(a) != 4 {
				t.Fatalf("round trip differs:\n%v\n%v", a, b)
			}
			rep, err = s.Import(ctx, "export."+format, bytes.NewReader(buf.Bytes()))
			if err != nil || rep.Unchanged != 4 {
				t.Fatalf("re-import own export: %+v %v", rep, err)
			}
		})
	}
}

func exportRecords(t *testing.T, format string, b []byte) []Record {
	t.Helper()
	parse := ParseCSV
	if format == FormatXLSX {
		parse = ParseXLSX
	}
	recs, bad, err := parse(bytes.NewReader(b))
	if err != nil || len(bad) > 0 {
		t.Fatalf("parse export: %v %v", err, bad)
	}
	return recs
}

func TestRebuildWhenStale(t *testing.T) {
	db := newBackend(t)
	dir := t.TempDir()
	ctx := tctx("acme")
	s1 := newService(t, db, dir, nil)
	a := mustCreate(t, s1, ctx, ArticleInput{Question: "宽带怎么交费", Answer: "在APP交费"})
	mustCreate(t, s1, ctx, ArticleInput{Question: "电视没信号怎么办", Answer: "重启机顶盒"})
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	// Up to date: a new service finds the snapshot's content.
	s2 := newService(t, db, dir, nil)
	if hits, _ := s2.Search(ctx, "宽带交费", 1); len(hits) != 1 || hits[0].ID != string(a.ID) {
		t.Fatalf("after restart: %+v", hits)
	}
	_ = s2.Close()

	// Changed behind the index's back (an edit while the index was away).
	changed := *a
	changed.Question, changed.QKey, changed.Version = "有线电视怎么报装", qkeyOf("有线电视怎么报装"), 2
	if err := db.UpdateArticle(ctx, &changed, revisionOf(&changed, ActionUpdated)); err != nil {
		t.Fatal(err)
	}
	eng, err := search.NewEngine(search.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := eng.State(context.Background(), "acme")
	_ = eng.Close()
	if st.Count != 2 {
		t.Fatalf("snapshot state %+v", st)
	}
	s3 := newService(t, db, dir, nil)
	if hits, _ := s3.Search(ctx, "有线电视报装", 1); len(hits) != 1 || hits[0].ID != string(a.ID) || hits[0].Question != "有线电视怎么报装" {
		t.Fatalf("stale index not rebuilt: %+v", hits)
	}
	_ = s3.Close()

	// Snapshot lost.
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		_ = os.Remove(f)
	}
	s4 := newService(t, db, dir, nil)
	if hits, _ := s4.Search(ctx, "电视没信号", 1); len(hits) != 1 || hits[0].Question != "电视没信号怎么办" {
		t.Fatalf("missing snapshot not rebuilt: %+v", hits)
	}
}

func TestSynonymsChangeResults(t *testing.T) {
	db := newBackend(t)
	s := newService(t, db, "", nil)
	ctx := tctx("acme")
	star := mustCreate(t, s, ctx, ArticleInput{Question: "星耀会员有什么权益", Answer: "免费提速"})
	mustCreate(t, s, ctx, ArticleInput{Question: "黑金卡有什么权益", Answer: "机场贵宾厅"})
	before, _ := s.Search(ctx, "紫钻有什么权益", 2)

	if _, err := s.SetSynonyms(ctx, [][]string{{"紫钻", "星耀会员"}, {" ", ""}}); err != nil {
		t.Fatal(err)
	}
	syn, err := s.Synonyms(ctx)
	if err != nil || len(syn.Groups) != 1 || syn.UpdatedBy != "u-acme" {
		t.Fatalf("synonyms: %+v %v", syn, err)
	}
	after, _ := s.Search(ctx, "紫钻有什么权益", 2)
	if len(after) == 0 || after[0].ID != string(star.ID) {
		t.Fatalf("with synonyms: %+v (before %+v)", after, before)
	}
	if len(before) > 0 && before[0].ID == string(star.ID) && before[0].Score >= after[0].Score {
		t.Fatalf("synonyms changed nothing: before %+v after %+v", before, after)
	}
	if _, err := s.SetSynonyms(ctx, [][]string{{"紫钻", "紫钻"}}); fieldOf(err) != "groups[0]" {
		t.Fatalf("one-term group: %v", err)
	}
	// A new service (a restart) applies the stored synonyms.
	s2 := newService(t, db, "", nil)
	if hits, _ := s2.Search(ctx, "紫钻有什么权益", 1); len(hits) == 0 || hits[0].ID != string(star.ID) {
		t.Fatalf("after restart: %+v", hits)
	}
}

func TestBot(t *testing.T) {
	db := newBackend(t)
	s := newService(t, db, "", nil)
	ctx := tctx("acme")
	pay := mustCreate(t, s, ctx, ArticleInput{Question: "宽带怎么交费", Similar: []string{"网费在哪里交"}, Answer: "在APP交费"})
	mustCreate(t, s, ctx, ArticleInput{Question: "宽带坏了怎么报修", Answer: "拨打10086"})
	mustCreate(t, s, ctx, ArticleInput{Question: "宽带怎么办理提速", Answer: "在APP办理"})
	mustCreate(t, s, ctx, ArticleInput{Question: "电视没信号怎么办", Answer: "重启机顶盒"})

	r, err := s.Answer(ctx, "g1", "请问宽带怎么交费？")
	if err != nil || r.Kind != ReplyAnswer || r.ArticleID != pay.ID || r.Answer != "在APP交费" {
		t.Fatalf("answer: %+v %v", r, err)
	}
	r, _ = s.Answer(ctx, "g1", "转人工")
	if r.Kind != ReplyHandover || r.Reason != HandoverRequested {
		t.Fatalf("handover: %+v", r)
	}
	r, _ = s.Answer(ctx, "g1", "宽带")
	if r.Kind != ReplyChoices || len(r.Choices) < 2 || len(r.Choices) > DefaultMaxChoices {
		t.Fatalf("choices: %+v", r)
	}
	for i := 0; i < 2; i++ {
		r, _ = s.Answer(ctx, "g1", "今天天气怎么样")
		if r.Kind != ReplyHandover || r.Reason != HandoverNoMatch {
			t.Fatalf("no match: %+v", r)
		}
	}
	_, _ = s.Answer(ctx, "g2", "今天天气怎么样？！")

	list, err := s.UnansweredList(ctx, 10)
	if err != nil || len(list) != 2 || list[0].Count != 3 || list[0].Group != "g2" || list[0].Normalized != "今天天气怎么样" || list[1].Count != 1 {
		t.Fatalf("unanswered: %+v %v", list, err)
	}
	if err := s.DismissUnanswered(ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DismissUnanswered(ctx, list[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("dismiss twice: %v", err)
	}
	if list, _ = s.UnansweredList(ctx, 10); len(list) != 1 {
		t.Fatalf("after dismiss: %+v", list)
	}

	set, err := s.BotSettings(ctx, "g1")
	if err != nil || !set.Enabled || !set.On("webchat") || !set.On("wechat") || set.On("sms") || set.MaxChoices != DefaultMaxChoices {
		t.Fatalf("default settings: %+v %v", set, err)
	}
	if _, err := s.SetBotSettings(ctx, "g1", BotSettings{Enabled: true, Threshold: 1.5}); fieldOf(err) != "threshold" {
		t.Fatalf("bad threshold: %v", err)
	}
	if _, err := s.SetBotSettings(ctx, "g1", BotSettings{Enabled: true, Channels: []string{"Web Chat"}}); fieldOf(err) != "channels[0]" {
		t.Fatalf("bad channel: %v", err)
	}
	if _, err := s.SetBotSettings(ctx, "bad group!", BotSettings{}); fieldOf(err) != "group" {
		t.Fatalf("bad group: %v", err)
	}
	// A high threshold turns a paraphrase into choices; one choice max.
	if _, err := s.SetBotSettings(ctx, "g1", BotSettings{Enabled: true, Channels: []string{"sms"}, Threshold: 0.99, MaxChoices: 1}); err != nil {
		t.Fatal(err)
	}
	if set, _ = s.BotSettings(ctx, "g1"); set.On("webchat") || !set.On("sms") || set.Threshold != 0.99 {
		t.Fatalf("saved settings: %+v", set)
	}
	r, _ = s.Answer(ctx, "g1", "网费去哪交")
	if r.Kind != ReplyChoices || len(r.Choices) != 1 || r.Choices[0].ArticleID != pay.ID {
		t.Fatalf("high threshold: %+v", r)
	}
	if _, err := s.SetBotSettings(ctx, "g1", BotSettings{Enabled: false}); err != nil {
		t.Fatal(err)
	}
	if r, _ = s.Answer(ctx, "g1", "宽带怎么交费"); r.Kind != ReplyHandover || r.Reason != HandoverDisabled {
		t.Fatalf("disabled bot: %+v", r)
	}
	// Other groups keep the defaults.
	if r, _ = s.Answer(ctx, "g3", "宽带怎么交费"); r.Kind != ReplyAnswer {
		t.Fatalf("other group: %+v", r)
	}
}

func TestHelpful(t *testing.T) {
	db := newBackend(t)
	s := newService(t, db, "", nil)
	ctx := tctx("acme")
	a := mustCreate(t, s, ctx, ArticleInput{Question: "宽带怎么交费", Answer: "在APP交费"})
	for _, h := range []bool{true, true, false} {
		if err := s.Helpful(ctx, a.ID, h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpdateArticle(ctx, a.ID, ArticleInput{Question: "宽带怎么交费", Answer: "在APP或营业厅交费"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Article(ctx, a.ID)
	if got.Helpful != 2 || got.NotHelpful != 1 || got.Version != 2 {
		t.Fatalf("counters %+v", got)
	}
	if err := s.Helpful(ctx, "nope", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown article: %v", err)
	}
}

func TestTenantIsolation(t *testing.T) {
	db := newBackend(t)
	s := newService(t, db, "", nil)
	ca, cb := tctx("tenant-a"), tctx("tenant-b")
	a := mustCreate(t, s, ca, ArticleInput{Question: "宽带怎么交费", Answer: "A的答案"})
	if _, err := s.SetBotSettings(ca, "group-a", BotSettings{Enabled: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSynonyms(ca, [][]string{{"紫钻", "星耀会员"}}); err != nil {
		t.Fatal(err)
	}
	_, _ = s.Answer(ca, "g", "今天天气怎么样")
	ua, _ := s.UnansweredList(ca, 10)

	notFound := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s from tenant B: %v, want not found", name, err)
		}
	}
	_, err := s.Article(cb, a.ID)
	notFound("get", err)
	_, err = s.UpdateArticle(cb, a.ID, ArticleInput{Question: "改了", Answer: "B"})
	notFound("update", err)
	notFound("delete", s.DeleteArticle(cb, a.ID))
	notFound("helpful", s.Helpful(cb, a.ID, true))
	_, err = s.History(cb, a.ID)
	notFound("history", err)
	notFound("dismiss", s.DismissUnanswered(cb, ua[0].ID))
	if hits, _ := s.SearchAll(cb, "宽带怎么交费", 5); len(hits) != 0 {
		t.Errorf("search from B: %+v", hits)
	}
	if page, _ := s.ListArticles(cb, ListQuery{}); page.Total != 0 {
		t.Errorf("list from B: %+v", page)
	}
	if list, _ := s.UnansweredList(cb, 10); len(list) != 0 {
		t.Errorf("unanswered from B: %+v", list)
	}
	if syn, _ := s.Synonyms(cb); len(syn.Groups) != 0 {
		t.Errorf("synonyms from B: %+v", syn)
	}
	if set, _ := s.BotSettings(cb, "group-a"); !set.Enabled {
		t.Errorf("B sees A's bot settings: %+v", set)
	}
	// Settings are keyed by tenant: B writing a group id A uses writes B's
	// own document (the hub also refuses a group B does not have, see
	// TestBotSettingsSquat), and A's stay as they are.
	if _, err := s.SetBotSettings(cb, "group-a", BotSettings{Enabled: true, Threshold: 0.6}); err != nil {
		t.Errorf("B saves its own settings of a group id A uses: %v", err)
	}
	if set, _ := s.BotSettings(ca, "group-a"); set.Enabled || set.Threshold != 0 {
		t.Errorf("B changed A's bot settings: %+v", set)
	}
	if set, _ := s.BotSettings(cb, "group-a"); !set.Enabled || set.Threshold != 0.6 {
		t.Errorf("B's own settings: %+v", set)
	}
	var buf bytes.Buffer
	_ = s.Export(cb, FormatCSV, &buf)
	if strings.Contains(buf.String(), "宽带") {
		t.Errorf("export from B: %s", buf.String())
	}
	// B's own article with the same question is B's, and A's is untouched.
	rep, err := s.Import(cb, "b.csv", strings.NewReader("question,answer\n宽带怎么交费,B的答案\n"))
	if err != nil || rep.Added != 1 {
		t.Fatalf("import in B: %+v %v", rep, err)
	}
	got, _ := s.Article(ca, a.ID)
	if got.Answer != "A的答案" || got.Version != 1 {
		t.Errorf("A's article changed: %+v", got)
	}
	if hits, _ := s.Search(ca, "宽带怎么交费", 5); len(hits) != 1 || hits[0].Answer != "A的答案" {
		t.Errorf("A's search: %+v", hits)
	}
	if _, err := s.Search(context.Background(), "x", 1); !errors.Is(err, store.ErrNoTenant) {
		t.Errorf("no tenant: %v", err)
	}
}

// TestBotThresholdCalibration checks the embedded backend's default
// threshold, with the bot's tie rule, on the test set: direct answers must
// be right at least 90% of the time while answering at least 40% of the
// questions. KB_TH=0.25 evaluates another threshold.
func TestBotThresholdCalibration(t *testing.T) {
	recs, qs := loadTestSet(t)
	eng, err := search.NewEngine(search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	docs := docsOf(recs, true)
	if err := eng.Replace(context.Background(), "t", docs); err != nil {
		t.Fatal(err)
	}
	idOf := map[string]string{}
	for _, d := range docs {
		idOf[d.Question] = d.ID
	}
	right, wrong := 0, 0
	for _, q := range qs {
		hits, _ := eng.Search(context.Background(), "t", search.Query{Text: q.Query, Limit: 2})
		if !confident(hits, calibTh()) {
			continue
		}
		if hits[0].ID == idOf[q.Expected] {
			right++
		} else {
			wrong++
		}
	}
	precision := float64(right) / float64(right+wrong)
	answered := float64(right+wrong) / float64(len(qs))
	t.Logf("threshold %.2f: answered %.1f%% of questions, %.1f%% of answers right", calibTh(), 100*answered, 100*precision)
	if precision < 0.9 || answered < 0.4 {
		t.Errorf("threshold %.2f: precision %.3f, answered %.3f", calibTh(), precision, answered)
	}
}

// TestServiceImport10k imports 10,000 rows through the service (store
// writes, history and index), then imports them again with every answer
// changed. Under -race (several times slower) it uses 2,000 rows and only
// reports the times.
func TestServiceImport10k(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	n := 10000
	if raceEnabled {
		n = 2000
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, benchRecords(t, n)); err != nil {
		t.Fatal(err)
	}
	db := newBackend(t)
	s := newService(t, db, t.TempDir(), nil)
	ctx := tctx("big")
	start := time.Now()
	rep, err := s.Import(ctx, "big.csv", &buf)
	d := time.Since(start)
	if err != nil || rep.Added != n || len(rep.Rejected) != 0 {
		t.Fatalf("import: added %d, rejected %d, %v", rep.Added, len(rep.Rejected), err)
	}
	t.Logf("%d rows imported through the service in %v", n, d)
	if !raceEnabled && d > 30*time.Second {
		t.Errorf("import took %v, target 30s", d)
	}
	if hits, _ := s.Search(ctx, "宽带怎么交费", 3); len(hits) == 0 {
		t.Error("nothing found after import")
	}

	// The same rows with every answer changed: all updated, by question.
	recs := benchRecords(t, n)
	for i := range recs {
		recs[i].Answer += "（已更新）"
	}
	buf.Reset()
	if err := WriteCSV(&buf, recs); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	rep, err = s.Import(ctx, "big.csv", &buf)
	d = time.Since(start)
	if err != nil || rep.Updated != n || rep.Added != 0 {
		t.Fatalf("re-import: %+v %v", rep, err)
	}
	t.Logf("%d rows updated through the service in %v", n, d)
	if !raceEnabled && d > 30*time.Second {
		t.Errorf("re-import took %v, target 30s", d)
	}
	page, err := s.ListArticles(ctx, ListQuery{Limit: 5})
	if err != nil || page.Total != int64(n) || !strings.HasSuffix(page.Articles[0].Answer, "（已更新）") || page.Articles[0].Version != 2 {
		t.Fatalf("after re-import: total %d, %v", page.Total, err)
	}
}

func calibTh() float64 {
	if v := os.Getenv("KB_TH"); v != "" {
		var f float64
		fmt.Sscan(v, &f)
		return f
	}
	return DefaultThresholdEmbedded
}
