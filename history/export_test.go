package history

import (
	"context"

	"github.com/omnihub/hub/internal/store"
)

// Restarted returns a Store on the same database with none of s's memory,
// as after a restart of the process.
func (s *Store) Restarted() *Store {
	r := *s
	r.log = newMessageLog(&r, s.log.single)
	return &r
}

// SharedWriter returns a Store on the same database that sequences as on
// MongoDB, where several processes write (one seq per lease, no cached
// tail), with none of s's memory.
func (s *Store) SharedWriter() *Store {
	r := *s
	r.log = newMessageLog(&r, false)
	return &r
}

// SetRecentProbe changes how many latest messages a retry reads back
// before it queries, and returns a func that restores it.
func SetRecentProbe(n int64) (restore func()) {
	old := recentProbe
	recentProbe = n
	return func() { recentProbe = old }
}

// LeaseOnly reserves n seqs and stores nothing, as a crash right after the
// lease would: the seqs become a gap.
func (s *Store) LeaseOnly(ctx context.Context, conv ConversationID, n int64) error {
	t, _ := store.Tenant(ctx)
	_, err := s.log.allocate(ctx, t, conv, n)
	return err
}

// LeaseSize is the number of seqs one lease reserves.
func (s *Store) LeaseSize() int64 { return s.log.lease }
