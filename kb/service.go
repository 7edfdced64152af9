package kb

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/kb/search"
)

// Collections of the knowledge base (all tenant-scoped).
const (
	collArticles   = "kb_articles"
	collHistory    = "kb_article_history"
	collSynonyms   = "kb_synonyms"
	collUnanswered = "kb_unanswered"
	collBots       = "kb_bot_settings"
)

// Backend names.
const (
	BackendEmbedded    = "embedded"
	BackendMeilisearch = "meilisearch"
)

// Options configure a Service.
type Options struct {
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Threshold overrides the backend's default bot confidence threshold
	// (see DefaultThreshold); groups may set their own.
	Threshold float64
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Groups tells which skill groups exist in a tenant; when set, bot
	// settings are refused (not found) for a group of no such id in the
	// caller's tenant. The hub passes its accounts service.
	Groups Groups
}

// Service is the FAQ knowledge base: articles and their history in MongoDB
// (through the tenant-scoped store), kept in step with a search index, plus
// synonyms, unanswered questions, feedback and the FAQ bot.
//
// MongoDB is the source of truth and the index is derived data: the first
// use of a tenant in this process compares the index's checksum with the
// articles in the store and rebuilds the tenant's index when they differ
// (a missing snapshot, a crash before a flush, an edit made while the
// index was unreachable). Every later edit updates the index as it saves.
//
// Writes of one tenant's articles are serialised by a per-tenant mutex so
// the index sees them in the order the store did; searches take no lock.
type Service struct {
	db      *store.DB
	idx     search.Index
	opts    Options
	log     *slog.Logger
	backend string

	articles, history, synonyms, unanswered, bots *store.Collection

	mu      sync.Mutex
	tenants map[store.TenantID]*tenantState
	closed  atomic.Bool
}

// tenantState is what the service knows of one tenant's index.
type tenantState struct {
	// mu serialises the tenant's article writes with their index updates,
	// and the rebuild.
	mu sync.Mutex
	// ready is set once the index was checked against the store; an index
	// update that fails clears it so the next use rebuilds.
	ready atomic.Bool
}

// New returns a knowledge base over db using idx, which the Service owns
// from now on (Close closes it). It declares the collections' indexes; the
// search index of each tenant is checked and rebuilt lazily, on the tenant's
// first use.
func New(ctx context.Context, db *store.DB, idx search.Index, opts Options) (*Service, error) {
	if db == nil || idx == nil {
		return nil, fmt.Errorf("kb: store and index are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{
		db: db, idx: idx, opts: opts,
		log:        opts.Logger.With("component", "kb"),
		backend:    BackendEmbedded,
		articles:   db.Collection(collArticles),
		history:    db.Collection(collHistory),
		synonyms:   db.Collection(collSynonyms),
		unanswered: db.Collection(collUnanswered),
		bots:       db.Collection(collBots),
		tenants:    map[store.TenantID]*tenantState{},
	}
	if _, ok := idx.(*search.Meili); ok {
		s.backend = BackendMeilisearch
	}
	// On MongoDB these serve the by-question lookups and listings; the
	// embedded FerretDB scans either way (see ARCHITECTURE.md).
	if err := s.articles.EnsureIndexes(ctx,
		mongo.IndexModel{Keys: bson.D{{Key: store.TenantField, Value: 1}, {Key: "qkey", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: store.TenantField, Value: 1}, {Key: "category", Value: 1}}},
	); err != nil {
		return nil, err
	}
	if err := s.unanswered.EnsureIndexes(ctx,
		mongo.IndexModel{Keys: bson.D{{Key: store.TenantField, Value: 1}, {Key: "count", Value: -1}}},
	); err != nil {
		return nil, err
	}
	return s, nil
}

// Open picks the search backend from the environment (Meilisearch when
// HUB_MEILI_URL is set, otherwise the embedded index under dataDir/kb-index,
// in memory when dataDir is empty) and returns New's service over it.
func Open(ctx context.Context, db *store.DB, dataDir string, opts Options) (*Service, error) {
	cfg := search.Config{DataDir: dataDir, Logger: opts.Logger}.ConfigFromEnv()
	idx, err := search.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("kb: open search index: %w", err)
	}
	s, err := New(ctx, db, idx, opts)
	if err != nil {
		_ = idx.Close()
		return nil, err
	}
	return s, nil
}

// Backend reports the search backend: BackendEmbedded or
// BackendMeilisearch.
func (s *Service) Backend() string { return s.backend }

// Close flushes and closes the search index. The store is the caller's.
func (s *Service) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.idx.Close()
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// tenant returns the context's tenant and its state.
func (s *Service) tenant(ctx context.Context) (store.TenantID, *tenantState, error) {
	if s.closed.Load() {
		return "", nil, ErrClosed
	}
	t, ok := store.Tenant(ctx)
	if !ok || t == "" {
		return "", nil, store.ErrNoTenant
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.tenants[t]
	if st == nil {
		st = &tenantState{}
		s.tenants[t] = st
	}
	return t, st, nil
}

// ready returns the context's tenant with its index checked against the
// store (rebuilt if needed).
func (s *Service) ready(ctx context.Context) (store.TenantID, *tenantState, error) {
	t, st, err := s.tenant(ctx)
	if err != nil {
		return "", nil, err
	}
	if st.ready.Load() {
		return t, st, nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := s.syncLocked(ctx, t, st); err != nil {
		return "", nil, err
	}
	return t, st, nil
}

// syncLocked checks the tenant's index against the store and rebuilds it
// when stale; st.mu is held.
func (s *Service) syncLocked(ctx context.Context, t store.TenantID, st *tenantState) error {
	if st.ready.Load() {
		return nil
	}
	// A rebuild is shared work: finish it even if the request that started
	// it goes away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	start := time.Now()
	groups, _, err := s.loadSynonyms(ctx)
	if err != nil {
		return err
	}
	if err := s.idx.SetSynonyms(ctx, string(t), groups); err != nil {
		return fmt.Errorf("kb: index synonyms: %w", err)
	}
	var arts []Article
	if err := s.articles.FindAll(ctx, bson.M{}, &arts); err != nil {
		return fmt.Errorf("kb: load articles: %w", err)
	}
	docs := make([]search.Document, len(arts))
	for i := range arts {
		docs[i] = arts[i].document()
	}
	want := search.State{Count: len(docs), Checksum: search.Checksum(docs)}
	have, err := s.idx.State(ctx, string(t))
	if err != nil {
		return fmt.Errorf("kb: index state: %w", err)
	}
	if have != want {
		if err := s.idx.Replace(ctx, string(t), docs); err != nil {
			return fmt.Errorf("kb: rebuild index: %w", err)
		}
		s.log.Info("kb index rebuilt", "tenant", t, "articles", len(docs), "had", have.Count, "took", time.Since(start))
	}
	st.ready.Store(true)
	return nil
}

// indexed reports an index update's failure after the store was written:
// the write stands, and the tenant's index is rebuilt on its next use.
func (s *Service) indexed(t store.TenantID, st *tenantState, err error) {
	if err != nil {
		st.ready.Store(false)
		s.log.Error("kb index update failed; will rebuild", "tenant", t, "err", err)
	}
}
