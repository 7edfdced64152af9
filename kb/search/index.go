// Package search holds the knowledge-base search backends behind one Index
// interface: Engine, the embedded index (word-level BM25 over synonym
// concepts plus character n-gram and pinyin evidence, persisted as snapshots
// under the data directory), and Meili, a Meilisearch backend. Open picks one
// from configuration.
//
// Every call is scoped to a tenant; a search never sees another tenant's
// documents.
package search

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"time"
)

// Document is what an index holds for one FAQ article.
type Document struct {
	ID       string   `json:"id"`
	Question string   `json:"question"`
	Similar  []string `json:"similar_questions,omitempty"`
	// Answer may be rich text (HTML); tags are ignored for matching and the
	// answer is returned as stored.
	Answer   string   `json:"answer"`
	Category string   `json:"category,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	// ValidFrom and ValidTo bound when the article may be returned; zero
	// means unbounded.
	ValidFrom time.Time `json:"valid_from,omitzero"`
	ValidTo   time.Time `json:"valid_to,omitzero"`
}

// Hash is a content hash of the document: two documents with equal hashes
// index identically.
func (d *Document) Hash() uint64 {
	h := fnv.New64a()
	w := func(s string) {
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	w(d.ID)
	w(d.Question)
	for _, s := range d.Similar {
		w(s)
	}
	w("\x00")
	w(d.Answer)
	w(d.Category)
	for _, s := range d.Tags {
		w(s)
	}
	w("\x00")
	var t [16]byte
	binary.LittleEndian.PutUint64(t[:8], uint64(unixOrZero(d.ValidFrom)))
	binary.LittleEndian.PutUint64(t[8:], uint64(unixOrZero(d.ValidTo)))
	h.Write(t[:])
	return h.Sum64()
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// Checksum is the order-independent checksum of a set of documents: the sum
// of their hashes. An index whose State().Checksum differs from the checksum
// of the articles in the store is stale.
func Checksum(docs []Document) uint64 {
	var sum uint64
	for i := range docs {
		sum += docs[i].Hash()
	}
	return sum
}

// Query is one search.
type Query struct {
	// Text is what the user typed.
	Text string
	// Limit caps the number of hits; 0 means DefaultLimit.
	Limit int
	// Category, when set, keeps only articles in that category or below it
	// ("宽带" matches "宽带/故障").
	Category string
	// Now is the time used for validity periods; zero means time.Now().
	Now time.Time
	// IncludeInactive also returns documents outside their validity period
	// (an administrator searching the whole knowledge base).
	IncludeInactive bool
}

// DefaultLimit is the number of hits returned when Query.Limit is 0.
const DefaultLimit = 10

// MaxLimit caps Query.Limit.
const MaxLimit = 100

// Hit is one search result.
type Hit struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
	Category string `json:"category"`
	// Score is the relevance in [0, 1]: about the share of the query's
	// evidence that the article matches. Comparable across backends only
	// roughly; the bot's confidence threshold is set per backend.
	Score float64 `json:"score"`
}

// State describes what an index holds for a tenant.
type State struct {
	Count    int    `json:"count"`
	Checksum uint64 `json:"checksum"`
}

// Index is a tenant-scoped full-text index of FAQ articles.
type Index interface {
	// Search returns the best hits first.
	Search(ctx context.Context, tenant string, q Query) ([]Hit, error)
	// Upsert adds or replaces documents by ID.
	Upsert(ctx context.Context, tenant string, docs ...Document) error
	// Delete removes documents by ID; unknown IDs are ignored.
	Delete(ctx context.Context, tenant string, ids ...string) error
	// Replace makes docs the tenant's whole document set (a rebuild).
	Replace(ctx context.Context, tenant string, docs []Document) error
	// State reports the tenant's document count and checksum.
	State(ctx context.Context, tenant string) (State, error)
	// SetSynonyms replaces the tenant's admin synonym groups; each group
	// lists equivalent terms. They are merged on top of the shipped lexicon.
	SetSynonyms(ctx context.Context, tenant string, groups [][]string) error
	// Close flushes and releases the index.
	Close() error
}

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

func (d *Document) validAt(now time.Time) bool {
	if !d.ValidFrom.IsZero() && now.Before(d.ValidFrom) {
		return false
	}
	if !d.ValidTo.IsZero() && now.After(d.ValidTo) {
		return false
	}
	return true
}

func inCategory(cat, want string) bool {
	if want == "" || cat == want {
		return true
	}
	return len(cat) > len(want) && cat[:len(want)] == want && cat[len(want)] == '/'
}
