package history

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/mongo/options"

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

// ClaimOnly runs the first steps of an append and stops as a crash would:
// it leases a seq and claims the client id, but stores no message.
func (s *Store) ClaimOnly(ctx context.Context, conv *Conversation, in NewMessage) (MessageID, error) {
	in.ConversationID = conv.ID
	if err := checkMessage(&in); err != nil {
		return "", err
	}
	t, _ := store.Tenant(ctx)
	seq, err := s.log.allocate(ctx, t, conv.ID, 1)
	if err != nil {
		return "", err
	}
	if err := s.keys.InsertMany(ctx, []any{keyDoc{ID: keyDocID(t, conv.ID, in.ClientMsgID), ConversationID: conv.ID, Seq: seq}}, options.InsertMany().SetOrdered(false)); err != nil {
		return "", err
	}
	return messageID(conv.ID, seq), nil
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
