package search

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var ctx = context.Background()

func sampleDocs() []Document {
	return []Document{
		{ID: "bb1", Question: "宽带无法上网怎么办", Answer: "请检查光猫指示灯，重启光猫和路由器。", Category: "宽带/故障", Tags: []string{"断网"}},
		{ID: "bb2", Question: "宽带怎么续费", Answer: "<p>在APP<b>宽带续费</b>页面支付。</p>", Category: "宽带/缴费"},
		{ID: "tv1", Question: "电视显示无信号怎么办", Similar: []string{"电视没信号"}, Answer: "检查机顶盒和信号线。", Category: "有线电视/故障"},
		{ID: "cc1", Question: "信用卡怎么提高额度", Answer: "用卡满6个月可申请提额。", Category: "信用卡/额度"},
	}
}

func newTestEngine(t *testing.T, dir string) *Engine {
	t.Helper()
	e, err := NewEngine(Options{Dir: dir, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ids(hits []Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

func mustSearch(t *testing.T, idx Index, tenant, q string) []Hit {
	t.Helper()
	hits, err := idx.Search(ctx, tenant, Query{Text: q, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func TestEngineSearchBasics(t *testing.T) {
	e := newTestEngine(t, "")
	defer e.Close()
	if err := e.Replace(ctx, "t1", sampleDocs()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ q, want string }{
		{"宽带连不上网了咋整", "bb1"},  // synonym phrase + filler
		{"寬帶怎麼續費", "bb2"},     // traditional characters
		{"宽带怎么交钱续上", "bb2"},   // colloquial
		{"电视没台了", "tv1"},      // similar question / synonym
		{"信用卡怎么提额度呀", "cc1"},  // synonym + particle
		{"信用卡提高额", "cc1"},     // partial word (typing)
		{"ＷＩＦＩ连不上 宽带", "bb1"}, // full-width
		{"kuan带续废", "bb2"},    // homophone typo (废 for 费)
	} {
		hits := mustSearch(t, e, "t1", tc.q)
		if len(hits) == 0 || hits[0].ID != tc.want {
			t.Errorf("%q: got %v, want %s first", tc.q, ids(hits), tc.want)
			continue
		}
		if hits[0].Score <= 0 || hits[0].Score > 1 {
			t.Errorf("%q: score %v out of (0,1]", tc.q, hits[0].Score)
		}
	}
	// The answer comes back as stored (rich text), with the category.
	hits := mustSearch(t, e, "t1", "宽带续费")
	if hits[0].Answer != sampleDocs()[1].Answer || hits[0].Category != "宽带/缴费" {
		t.Errorf("hit = %+v", hits[0])
	}
	// Nothing matches: no hits, not an error.
	if hits := mustSearch(t, e, "t1", "区块链"); len(hits) != 0 {
		t.Errorf("unrelated query matched %v", ids(hits))
	}
	if hits := mustSearch(t, e, "t1", ""); len(hits) != 0 {
		t.Errorf("empty query matched %v", ids(hits))
	}
}

func TestEngineTenantIsolation(t *testing.T) {
	e := newTestEngine(t, "")
	defer e.Close()
	if err := e.Upsert(ctx, "a", sampleDocs()...); err != nil {
		t.Fatal(err)
	}
	if err := e.Upsert(ctx, "b", Document{ID: "bb1", Question: "燃气费怎么交", Answer: "公众号缴费"}); err != nil {
		t.Fatal(err)
	}
	if hits := mustSearch(t, e, "b", "宽带无法上网"); len(hits) != 0 {
		t.Fatalf("tenant b sees %v", ids(hits))
	}
	for _, h := range mustSearch(t, e, "a", "燃气费怎么交") {
		if h.Question == "燃气费怎么交" {
			t.Fatalf("tenant a sees tenant b's %+v", h)
		}
	}
	if _, err := e.Search(ctx, "", Query{Text: "x"}); err != ErrNoTenant {
		t.Fatalf("no tenant: %v", err)
	}
}

func TestEngineUpsertDeleteState(t *testing.T) {
	e := newTestEngine(t, "")
	defer e.Close()
	docs := sampleDocs()
	if err := e.Upsert(ctx, "t", docs...); err != nil {
		t.Fatal(err)
	}
	st, _ := e.State(ctx, "t")
	if st.Count != 4 || st.Checksum != Checksum(docs) {
		t.Fatalf("state %+v, want 4 and %d", st, Checksum(docs))
	}
	// Edit: the old text no longer matches, the new one does.
	docs[3].Question = "信用卡怎么办理分期"
	if err := e.Upsert(ctx, "t", docs[3]); err != nil {
		t.Fatal(err)
	}
	if hits := mustSearch(t, e, "t", "信用卡分期"); len(hits) == 0 || hits[0].ID != "cc1" {
		t.Fatalf("edited doc not found: %v", ids(hits))
	}
	for _, h := range mustSearch(t, e, "t", "提高额度") {
		if h.ID == "cc1" && h.Question != "信用卡怎么办理分期" {
			t.Fatalf("stale revision returned: %+v", h)
		}
	}
	if err := e.Delete(ctx, "t", "cc1", "nope"); err != nil {
		t.Fatal(err)
	}
	if hits := mustSearch(t, e, "t", "信用卡分期"); len(hits) != 0 && hits[0].ID == "cc1" {
		t.Fatalf("deleted doc found: %v", ids(hits))
	}
	st, _ = e.State(ctx, "t")
	if st.Count != 3 || st.Checksum != Checksum(docs[:3]) {
		t.Fatalf("state after delete %+v", st)
	}
	if err := e.Upsert(ctx, "t", Document{Question: "x"}); err != ErrEmptyID {
		t.Fatalf("empty id: %v", err)
	}
}

func TestEngineCompaction(t *testing.T) {
	e := newTestEngine(t, "")
	defer e.Close()
	docs := sampleDocs()
	for i := 0; i < 300; i++ {
		d := docs[i%len(docs)]
		d.Answer = fmt.Sprintf("%s 第%d版", d.Answer, i)
		if err := e.Upsert(ctx, "t", d); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := e.shard("t")
	s.mu.RLock()
	revs, live := len(s.revs), len(s.live)
	s.mu.RUnlock()
	if live != 4 || revs > 4*4+64 {
		t.Fatalf("revs=%d live=%d: dead revisions not compacted", revs, live)
	}
	if hits := mustSearch(t, e, "t", "电视没信号"); len(hits) == 0 || hits[0].ID != "tv1" {
		t.Fatalf("after compaction: %v", ids(hits))
	}
}

func TestEngineValidityAndCategory(t *testing.T) {
	e := newTestEngine(t, "")
	defer e.Close()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	docs := []Document{
		{ID: "old", Question: "春节营业时间", Answer: "初一休息", ValidTo: now.Add(-time.Hour)},
		{ID: "cur", Question: "春节营业时间安排", Answer: "正常营业", ValidFrom: now.Add(-time.Hour), ValidTo: now.Add(time.Hour)},
		{ID: "fut", Question: "春节营业时间通知", Answer: "待定", ValidFrom: now.Add(time.Hour)},
	}
	if err := e.Replace(ctx, "t", append(docs, sampleDocs()...)); err != nil {
		t.Fatal(err)
	}
	hits, _ := e.Search(ctx, "t", Query{Text: "春节营业时间", Now: now})
	if len(hits) != 1 || hits[0].ID != "cur" {
		t.Fatalf("validity: %v", ids(hits))
	}
	hits, _ = e.Search(ctx, "t", Query{Text: "怎么办", Category: "宽带"})
	for _, h := range hits {
		if h.Category != "宽带/故障" && h.Category != "宽带/缴费" {
			t.Fatalf("category filter let %+v through", h)
		}
	}
	hits, _ = e.Search(ctx, "t", Query{Text: "宽带", Category: "宽"})
	if len(hits) != 0 {
		t.Fatalf("category prefix must match whole levels: %v", ids(hits))
	}
}

func TestEngineSynonyms(t *testing.T) {
	e := newTestEngine(t, "")
	defer e.Close()
	docs := append(sampleDocs(), Document{ID: "etc", Question: "星河卡怎么办理", Answer: "携带身份证到网点办理。"})
	if err := e.Replace(ctx, "t", docs); err != nil {
		t.Fatal(err)
	}
	if hits := mustSearch(t, e, "t", "北斗通行证"); len(hits) > 0 && hits[0].ID == "etc" {
		t.Fatalf("matched before the synonym existed: %v", ids(hits))
	}
	if err := e.SetSynonyms(ctx, "t", [][]string{{"星河卡", "北斗通行证", "北斗证"}}); err != nil {
		t.Fatal(err)
	}
	if hits := mustSearch(t, e, "t", "北斗通行证"); len(hits) == 0 || hits[0].ID != "etc" {
		t.Fatalf("admin synonym not applied: %v", ids(hits))
	}
	// Other tenants are not affected.
	if err := e.Replace(ctx, "u", docs); err != nil {
		t.Fatal(err)
	}
	if hits := mustSearch(t, e, "u", "北斗通行证"); len(hits) > 0 && hits[0].ID == "etc" {
		t.Fatalf("synonym leaked to another tenant: %v", ids(hits))
	}
}

func TestEnginePersistence(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	e := newTestEngine(t, dir)
	docs := sampleDocs()
	if err := e.Replace(ctx, "t", docs); err != nil {
		t.Fatal(err)
	}
	if err := e.SetSynonyms(ctx, "t", [][]string{{"机顶盒", "小盒子"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Upsert(ctx, "t", docs[0]); err != ErrClosed {
		t.Fatalf("upsert after close: %v", err)
	}

	e2 := newTestEngine(t, dir)
	st, err := e2.State(ctx, "t")
	if err != nil || st.Count != len(docs) || st.Checksum != Checksum(docs) {
		t.Fatalf("reloaded state %+v %v", st, err)
	}
	if hits := mustSearch(t, e2, "t", "小盒子没信号"); len(hits) == 0 || hits[0].ID != "tv1" {
		t.Fatalf("reloaded search (with admin synonym): %v", ids(hits))
	}
	// A missing tenant is empty, so the service sees it as stale.
	if st, _ := e2.State(ctx, "other"); st.Count != 0 || st.Checksum != 0 {
		t.Fatalf("unknown tenant state %+v", st)
	}
	e2.Close()

	// A snapshot made with another lexicon is re-analysed on load.
	path := snapshotPath(dir, "t")
	snap, err := readSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	snap.Lexicon = "old-lexicon"
	snap.Docs[0].Q = nil // a stale analysis must not be trusted
	if err := writeSnapshot(path, snap); err != nil {
		t.Fatal(err)
	}
	e3 := newTestEngine(t, dir)
	if hits := mustSearch(t, e3, "t", "宽带连不上网"); len(hits) == 0 || hits[0].ID != "bb1" {
		t.Fatalf("re-analysed snapshot: %v", ids(hits))
	}
	e3.Close()

	// A corrupt snapshot yields an empty (stale) index, not an error.
	if err := os.WriteFile(path, []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	e4 := newTestEngine(t, dir)
	defer e4.Close()
	if st, err := e4.State(ctx, "t"); err != nil || st.Count != 0 {
		t.Fatalf("corrupt snapshot: %+v %v", st, err)
	}
}

func TestEngineConcurrent(t *testing.T) {
	e := newTestEngine(t, t.TempDir())
	defer e.Close()
	docs := sampleDocs()
	if err := e.Replace(ctx, "t", docs); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if w == 0 {
					d := docs[i%len(docs)]
					d.Answer += fmt.Sprint(i)
					if err := e.Upsert(ctx, "t", d); err != nil {
						t.Error(err)
					}
					continue
				}
				if _, err := e.Search(ctx, "t", Query{Text: "宽带上不了网"}); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
}
