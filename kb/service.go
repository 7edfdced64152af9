package kb

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/kb/search"
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

// Service is the FAQ knowledge base: articles and their history in the
// store (a Backend, tenant-scoped), kept in step with a search index, plus
// synonyms, unanswered questions, feedback and the FAQ bot.
//
// The store is the source of truth and the index is derived data: the first
// use of a tenant in this process compares the index's checksum with the
// articles in the store and rebuilds the tenant's index when they differ
// (a missing snapshot, a crash before a flush, an edit made while the
// index was unreachable). Every later edit updates the index as it saves.
//
// Writes of one tenant's articles are serialised by a per-tenant mutex so
// the index sees them in the order the store did; searches take no lock.
type Service struct {
	b       Backend
	idx     search.Index
	opts    Options
	log     *slog.Logger
	backend string

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

// New returns a knowledge base over the store b using idx, which the
// Service owns from now on (Close closes it). The search index of each
// tenant is checked and rebuilt lazily, on the tenant's first use.
func New(ctx context.Context, b Backend, idx search.Index, opts Options) (*Service, error) {
	if b == nil || idx == nil {
		return nil, fmt.Errorf("kb: store and index are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{
		b: b, idx: idx, opts: opts,
		log:     opts.Logger.With("component", "kb"),
		backend: BackendEmbedded,
		tenants: map[store.TenantID]*tenantState{},
	}
	if _, ok := idx.(*search.Meili); ok {
		s.backend = BackendMeilisearch
	}
	return s, nil
}

// Open picks the search backend from the environment (Meilisearch when
// HUB_MEILI_URL is set, otherwise the embedded index under dataDir/kb-index,
// in memory when dataDir is empty) and returns New's service over it.
func Open(ctx context.Context, b Backend, dataDir string, opts Options) (*Service, error) {
	cfg := search.Config{DataDir: dataDir, Logger: opts.Logger}.ConfigFromEnv()
	idx, err := search.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("kb: open search index: %w", err)
	}
	s, err := New(ctx, b, idx, opts)
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
	var docs []search.Document
	if err := s.eachArticle(ctx, func(a *Article) error {
		docs = append(docs, a.document())
		return nil
	}); err != nil {
		return fmt.Errorf("kb: load articles: %w", err)
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

// pageSize is how many articles eachArticle reads at a time.
const pageSize = 1000

// eachArticle calls fn for every article of the context's tenant, oldest
// first, reading the store a page at a time (no read stays open while fn
// runs).
func (s *Service) eachArticle(ctx context.Context, fn func(*Article) error) error {
	var after ArticleID
	for {
		page, err := s.b.Articles(ctx, after, pageSize)
		if err != nil {
			return err
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// writeFailed is called when an article write failed: on a store without
// transactions part of it may stand, so the tenant's index is checked
// against the store on its next use.
func (s *Service) writeFailed(st *tenantState) { st.ready.Store(false) }

// indexed reports an index update's failure after the store was written:
// the write stands, and the tenant's index is rebuilt on its next use.
func (s *Service) indexed(t store.TenantID, st *tenantState, err error) {
	if err != nil {
		st.ready.Store(false)
		s.log.Error("kb index update failed; will rebuild", "tenant", t, "err", err)
	}
}
