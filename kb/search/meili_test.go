package search

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeMeili implements the subset of Meilisearch's HTTP API (v1) that Meili
// uses, with the documented request and response shapes
// (https://www.meilisearch.com/docs/reference/api): indexes, settings,
// documents (add or replace, delete-batch, delete all, fetch), search, and
// tasks, behind "Authorization: Bearer <key>". Tasks complete at once.
type fakeMeili struct {
	t   *testing.T
	key string

	mu       sync.Mutex
	nextTask int64
	tasks    map[int64]map[string]any
	indexes  map[string]*fakeIndex
	requests []fakeRequest
}

type fakeIndex struct {
	primaryKey string
	settings   map[string]json.RawMessage
	docs       map[string]map[string]any
}

type fakeRequest struct {
	Method, Path, Query string
	Body                []byte
}

func newFakeMeili(t *testing.T, key string) (*fakeMeili, *httptest.Server) {
	f := &fakeMeili{t: t, key: key, tasks: map[int64]map[string]any{}, indexes: map[string]*fakeIndex{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func meiliError(w http.ResponseWriter, status int, code, typ, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "code": code, "type": typ, "link": "https://docs.meilisearch.com/errors#" + code})
}

// enqueueLocked records a finished task and answers 202 with its summary.
func (f *fakeMeili) enqueueLocked(w http.ResponseWriter, uid, typ string, failure map[string]any) {
	id := f.nextTask
	f.nextTask++
	now := time.Now().UTC().Format(time.RFC3339Nano)
	task := map[string]any{"uid": id, "indexUid": uid, "type": typ, "status": "succeeded", "enqueuedAt": now, "startedAt": now, "finishedAt": now, "duration": "PT0.001S"}
	if failure != nil {
		task["status"] = "failed"
		task["error"] = failure
	}
	f.tasks[id] = task
	writeJSON(w, http.StatusAccepted, map[string]any{"taskUid": id, "indexUid": uid, "status": "enqueued", "type": typ, "enqueuedAt": now})
}

func (f *fakeMeili) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, fakeRequest{r.Method, r.URL.Path, r.URL.RawQuery, body})
	if r.Header.Get("Authorization") != "Bearer "+f.key {
		meiliError(w, http.StatusForbidden, "invalid_api_key", "auth", "The provided API key is invalid.")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "tasks":
		id, _ := strconv.ParseInt(parts[1], 10, 64)
		task, ok := f.tasks[id]
		if !ok {
			meiliError(w, http.StatusNotFound, "task_not_found", "invalid_request", "Task not found.")
			return
		}
		writeJSON(w, http.StatusOK, task)
	case r.Method == http.MethodPost && len(parts) == 1 && parts[0] == "indexes":
		var req struct {
			UID        string `json:"uid"`
			PrimaryKey string `json:"primaryKey"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.UID == "" {
			meiliError(w, http.StatusBadRequest, "bad_request", "invalid_request", "bad index creation")
			return
		}
		if _, ok := f.indexes[req.UID]; ok {
			f.enqueueLocked(w, req.UID, "indexCreation", map[string]any{"code": "index_already_exists", "message": "Index already exists.", "type": "invalid_request"})
			return
		}
		f.indexes[req.UID] = &fakeIndex{primaryKey: req.PrimaryKey, settings: map[string]json.RawMessage{}, docs: map[string]map[string]any{}}
		f.enqueueLocked(w, req.UID, "indexCreation", nil)
	case len(parts) >= 3 && parts[0] == "indexes":
		idx, ok := f.indexes[parts[1]]
		if !ok {
			meiliError(w, http.StatusNotFound, "index_not_found", "invalid_request", "Index not found.")
			return
		}
		f.indexRoute(w, r, parts[1], idx, strings.Join(parts[2:], "/"), body)
	default:
		meiliError(w, http.StatusNotFound, "not_found", "invalid_request", r.Method+" "+r.URL.Path)
	}
}

func (f *fakeMeili) indexRoute(w http.ResponseWriter, r *http.Request, uid string, idx *fakeIndex, rest string, body []byte) {
	switch {
	case r.Method == http.MethodPatch && rest == "settings":
		var s map[string]json.RawMessage
		if err := json.Unmarshal(body, &s); err != nil {
			meiliError(w, http.StatusBadRequest, "bad_request", "invalid_request", err.Error())
			return
		}
		for k, v := range s {
			idx.settings[k] = v
		}
		f.enqueueLocked(w, uid, "settingsUpdate", nil)
	case r.Method == http.MethodPost && rest == "documents":
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			meiliError(w, http.StatusUnsupportedMediaType, "invalid_content_type", "invalid_request", ct)
			return
		}
		var docs []map[string]any
		if err := json.Unmarshal(body, &docs); err != nil {
			meiliError(w, http.StatusBadRequest, "malformed_payload", "invalid_request", err.Error())
			return
		}
		for _, d := range docs {
			idx.docs[fmt.Sprint(d[idx.primaryKey])] = d
		}
		f.enqueueLocked(w, uid, "documentAdditionOrUpdate", nil)
	case r.Method == http.MethodPost && rest == "documents/delete-batch":
		var ids []string
		if err := json.Unmarshal(body, &ids); err != nil {
			meiliError(w, http.StatusBadRequest, "malformed_payload", "invalid_request", err.Error())
			return
		}
		for _, id := range ids {
			delete(idx.docs, id)
		}
		f.enqueueLocked(w, uid, "documentDeletion", nil)
	case r.Method == http.MethodDelete && rest == "documents":
		idx.docs = map[string]map[string]any{}
		f.enqueueLocked(w, uid, "documentDeletion", nil)
	case r.Method == http.MethodPost && rest == "documents/fetch":
		var req struct {
			Offset int      `json:"offset"`
			Limit  int      `json:"limit"`
			Fields []string `json:"fields"`
		}
		_ = json.Unmarshal(body, &req)
		if req.Limit == 0 {
			req.Limit = 20
		}
		keys := make([]string, 0, len(idx.docs))
		for k := range idx.docs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		results := []map[string]any{}
		for i := req.Offset; i < len(keys) && i < req.Offset+req.Limit; i++ {
			results = append(results, pick(idx.docs[keys[i]], req.Fields))
		}
		writeJSON(w, http.StatusOK, map[string]any{"results": results, "offset": req.Offset, "limit": req.Limit, "total": len(keys)})
	case r.Method == http.MethodPost && rest == "search":
		var req struct {
			Q                    string   `json:"q"`
			Limit                int      `json:"limit"`
			ShowRankingScore     bool     `json:"showRankingScore"`
			AttributesToRetrieve []string `json:"attributesToRetrieve"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			meiliError(w, http.StatusBadRequest, "bad_request", "invalid_request", err.Error())
			return
		}
		// Naive relevance: share of the query's characters found in the
		// question. Enough to check what the client sends and decodes.
		type scored struct {
			doc   map[string]any
			score float64
		}
		var res []scored
		for _, d := range idx.docs {
			q := []rune(strings.ReplaceAll(req.Q, " ", ""))
			text := fmt.Sprint(d["question"], d["similar_questions"])
			n := 0
			for _, c := range q {
				if strings.ContainsRune(text, c) {
					n++
				}
			}
			if len(q) > 0 && n > 0 {
				res = append(res, scored{d, float64(n) / float64(len(q))})
			}
		}
		sort.Slice(res, func(i, j int) bool { return res[i].score > res[j].score })
		if req.Limit == 0 {
			req.Limit = 20
		}
		hits := []map[string]any{}
		for i := 0; i < len(res) && i < req.Limit; i++ {
			h := pick(res[i].doc, req.AttributesToRetrieve)
			if req.ShowRankingScore {
				h["_rankingScore"] = res[i].score
			}
			hits = append(hits, h)
		}
		writeJSON(w, http.StatusOK, map[string]any{"hits": hits, "query": req.Q, "processingTimeMs": 1, "limit": req.Limit, "offset": 0, "estimatedTotalHits": len(res)})
	default:
		meiliError(w, http.StatusNotFound, "not_found", "invalid_request", r.Method+" "+rest)
	}
}

func pick(d map[string]any, fields []string) map[string]any {
	out := map[string]any{}
	for k, v := range d {
		if len(fields) == 0 || contains(fields, k) {
			out[k] = v
		}
	}
	return out
}

func (f *fakeMeili) take() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.requests
	f.requests = nil
	return r
}

func findRequest(t *testing.T, reqs []fakeRequest, method, path string) fakeRequest {
	t.Helper()
	for _, r := range reqs {
		if r.Method == method && r.Path == path {
			return r
		}
	}
	t.Fatalf("no %s %s among %v", method, path, reqPaths(reqs))
	return fakeRequest{}
}

func reqPaths(reqs []fakeRequest) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Method + " " + r.Path
	}
	return out
}

func TestMeiliContract(t *testing.T) {
	fake, srv := newFakeMeili(t, "testkey")
	m, err := NewMeili(MeiliOptions{URL: srv.URL, Key: "testkey", TaskPoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	docs := sampleDocs()
	docs[0].ValidTo = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	// First write: the index is created with primary key "id", configured,
	// then the documents are added.
	if err := m.Upsert(ctx, "t1", docs...); err != nil {
		t.Fatal(err)
	}
	reqs := fake.take()
	got := reqPaths(reqs)
	want := []string{"POST /indexes", "GET /tasks/0", "PATCH /indexes/hub_kb_t1/settings", "GET /tasks/1", "POST /indexes/hub_kb_t1/documents", "GET /tasks/2"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("requests %v, want %v", got, want)
	}
	var create map[string]any
	_ = json.Unmarshal(reqs[0].Body, &create)
	if create["uid"] != "hub_kb_t1" || create["primaryKey"] != "id" {
		t.Errorf("create index body %s", reqs[0].Body)
	}
	var settings struct {
		SearchableAttributes []string            `json:"searchableAttributes"`
		FilterableAttributes []string            `json:"filterableAttributes"`
		RankingRules         []string            `json:"rankingRules"`
		Synonyms             map[string][]string `json:"synonyms"`
		LocalizedAttributes  []struct {
			Locales           []string `json:"locales"`
			AttributePatterns []string `json:"attributePatterns"`
		} `json:"localizedAttributes"`
	}
	if err := json.Unmarshal(reqs[2].Body, &settings); err != nil {
		t.Fatal(err)
	}
	if strings.Join(settings.SearchableAttributes, ",") != "question,similar_questions,tags,category,answer_text" {
		t.Errorf("searchableAttributes %v", settings.SearchableAttributes)
	}
	if !contains(settings.FilterableAttributes, "valid_from") || !contains(settings.FilterableAttributes, "category_path") {
		t.Errorf("filterableAttributes %v", settings.FilterableAttributes)
	}
	if len(settings.RankingRules) == 0 || settings.RankingRules[0] != "words" {
		t.Errorf("rankingRules %v", settings.RankingRules)
	}
	if !contains(settings.Synonyms["交费"], "缴费") || !contains(settings.Synonyms["没信号"], "无信号") {
		t.Errorf("shipped synonyms missing: 交费=%v 没信号=%v", settings.Synonyms["交费"], settings.Synonyms["没信号"])
	}
	if len(settings.LocalizedAttributes) != 1 || settings.LocalizedAttributes[0].Locales[0] != "cmn" {
		t.Errorf("localizedAttributes %+v", settings.LocalizedAttributes)
	}
	if reqs[4].Query != "primaryKey=id" {
		t.Errorf("documents query %q", reqs[4].Query)
	}
	var sent []map[string]any
	if err := json.Unmarshal(reqs[4].Body, &sent); err != nil || len(sent) != len(docs) {
		t.Fatalf("documents body %s", reqs[4].Body)
	}
	if sent[0]["id"] != "bb1" || sent[0]["valid_to"] != float64(docs[0].ValidTo.Unix()) || sent[0]["hash"] != strconv.FormatUint(docs[0].Hash(), 10) {
		t.Errorf("document 0 sent as %v", sent[0])
	}
	if sent[1]["answer_text"] == sent[1]["answer"] || strings.Contains(sent[1]["answer_text"].(string), "<") {
		t.Errorf("answer_text must be the answer without tags: %v", sent[1]["answer_text"])
	}
	if fmt.Sprint(sent[0]["category_path"]) != "[宽带 宽带/故障]" {
		t.Errorf("category_path %v", sent[0]["category_path"])
	}

	// Search: the query is normalised (traditional, fillers) and filtered
	// by validity and category; _rankingScore becomes the hit score.
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	hits, err := m.Search(ctx, "t1", Query{Text: "請問電視沒信號怎麼辦", Limit: 2, Category: "有线电视", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	sreq := findRequest(t, fake.take(), "POST", "/indexes/hub_kb_t1/search")
	var sbody map[string]any
	_ = json.Unmarshal(sreq.Body, &sbody)
	if sbody["q"] != "电视没信号" {
		t.Errorf("q = %q", sbody["q"])
	}
	wantFilter := fmt.Sprintf(`valid_from <= %d AND valid_to >= %d AND category_path = "有线电视"`, now.Unix(), now.Unix())
	if sbody["filter"] != wantFilter || sbody["showRankingScore"] != true || sbody["limit"] != float64(2) {
		t.Errorf("search body %s", sreq.Body)
	}
	if len(hits) == 0 || hits[0].ID != "tv1" || hits[0].Score <= 0 || hits[0].Question != "电视显示无信号怎么办" {
		t.Errorf("hits %+v", hits)
	}

	// Tenants live in separate indexes.
	if err := m.Upsert(ctx, "t2", Document{ID: "x", Question: "燃气费怎么交", Answer: "公众号"}); err != nil {
		t.Fatal(err)
	}
	findRequest(t, fake.take(), "POST", "/indexes/hub_kb_t2/documents")
	hits, _ = m.Search(ctx, "t2", Query{Text: "电视没信号"})
	for _, h := range hits {
		if h.ID != "x" {
			t.Errorf("tenant t2 sees %+v", h)
		}
	}
	if uid := m.indexUID("租户/一"); !strings.HasPrefix(uid, "hub_kb_h") || !safeUID.MatchString(strings.TrimPrefix(uid, "hub_")) {
		t.Errorf("unsafe tenant uid %q", uid)
	}

	// State pages through id and hash.
	st, err := m.State(ctx, "t1")
	if err != nil || st.Count != len(docs) || st.Checksum != Checksum(docs) {
		t.Fatalf("state %+v %v, want %d %d", st, err, len(docs), Checksum(docs))
	}
	freq := findRequest(t, fake.take(), "POST", "/indexes/hub_kb_t1/documents/fetch")
	if !strings.Contains(string(freq.Body), `"fields":["id","hash"]`) {
		t.Errorf("fetch body %s", freq.Body)
	}

	// Delete sends a batch of ids.
	if err := m.Delete(ctx, "t1", "bb1", "bb2"); err != nil {
		t.Fatal(err)
	}
	dreq := findRequest(t, fake.take(), "POST", "/indexes/hub_kb_t1/documents/delete-batch")
	if string(dreq.Body) != `["bb1","bb2"]` {
		t.Errorf("delete body %s", dreq.Body)
	}

	// Replace clears the index, then adds.
	if err := m.Replace(ctx, "t1", docs[:1]); err != nil {
		t.Fatal(err)
	}
	got = reqPaths(fake.take())
	if got[0] != "DELETE /indexes/hub_kb_t1/documents" || got[2] != "POST /indexes/hub_kb_t1/documents" {
		t.Errorf("replace requests %v", got)
	}

	// Admin synonyms replace the synonyms setting, on top of the shipped ones.
	if err := m.SetSynonyms(ctx, "t1", [][]string{{"ETC", "不停车收费"}}); err != nil {
		t.Fatal(err)
	}
	preq := findRequest(t, fake.take(), "PATCH", "/indexes/hub_kb_t1/settings")
	var syn struct {
		Synonyms map[string][]string `json:"synonyms"`
	}
	_ = json.Unmarshal(preq.Body, &syn)
	if !contains(syn.Synonyms["etc"], "不停车收费") || !contains(syn.Synonyms["交费"], "缴费") {
		t.Errorf("synonyms setting %v / %v", syn.Synonyms["etc"], syn.Synonyms["交费"])
	}

	// A second client finds the index already there and keeps its settings.
	m2, _ := NewMeili(MeiliOptions{URL: srv.URL, Key: "testkey", TaskPoll: time.Millisecond})
	defer m2.Close()
	if _, err := m2.Search(ctx, "t1", Query{Text: "宽带"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range fake.take() {
		if r.Method == "PATCH" {
			t.Errorf("existing index re-configured: %s", r.Body)
		}
	}
}

func TestMeiliBadKey(t *testing.T) {
	_, srv := newFakeMeili(t, "right")
	m, _ := NewMeili(MeiliOptions{URL: srv.URL, Key: "wrong", TaskPoll: time.Millisecond})
	defer m.Close()
	err := m.Upsert(ctx, "t", sampleDocs()...)
	if err == nil || !strings.Contains(err.Error(), "invalid_api_key") {
		t.Fatalf("err = %v", err)
	}
}

// TestMeiliReal runs the backend against a real Meilisearch when
// HUB_TEST_MEILI_URL (and HUB_TEST_MEILI_KEY) are set.
func TestMeiliReal(t *testing.T) {
	url := os.Getenv("HUB_TEST_MEILI_URL")
	if url == "" {
		t.Skip("HUB_TEST_MEILI_URL not set")
	}
	prefix := fmt.Sprintf("hubtest_%d_", time.Now().UnixNano())
	m, err := NewMeili(MeiliOptions{URL: url, Key: os.Getenv("HUB_TEST_MEILI_KEY"), IndexPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer func() {
		for _, tenant := range []string{"a", "b"} {
			if ti, err := m.client.DeleteIndex(m.indexUID(tenant)); err == nil {
				_, _ = m.client.WaitForTask(ti.TaskUID, 50*time.Millisecond)
			}
		}
	}()
	docs := sampleDocs()
	if err := m.Replace(ctx, "a", docs); err != nil {
		t.Fatal(err)
	}
	if err := m.Upsert(ctx, "b", Document{ID: "g", Question: "燃气费怎么交", Answer: "公众号缴费"}); err != nil {
		t.Fatal(err)
	}
	hits, err := m.Search(ctx, "a", Query{Text: "电视没信号"})
	if err != nil || len(hits) == 0 || hits[0].ID != "tv1" {
		t.Fatalf("search: %+v %v", hits, err)
	}
	hits, _ = m.Search(ctx, "b", Query{Text: "电视没信号"})
	for _, h := range hits {
		if h.ID != "g" {
			t.Fatalf("tenant b sees %+v", h)
		}
	}
	st, err := m.State(ctx, "a")
	if err != nil || st.Count != len(docs) || st.Checksum != Checksum(docs) {
		t.Fatalf("state %+v %v", st, err)
	}
	if err := m.SetSynonyms(ctx, "a", [][]string{{"小盒子", "机顶盒"}}); err != nil {
		t.Fatal(err)
	}
}
