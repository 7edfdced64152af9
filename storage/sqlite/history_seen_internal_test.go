package sqlite

import (
	"context"
	"fmt"
	"testing"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store"
)

// TestResendsRecognisedPastTheSeenLimit: with room for only a few client
// ids in memory, conversations are dropped and read again, and every
// resend is still answered with the stored message, never stored twice.
func TestResendsRecognisedPastTheSeenLimit(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, sqlitedb.Options{Dir: t.TempDir(), Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h, err := NewHistory(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	h.seen.max = 3
	s := history.New(h)
	tctx := store.WithTenant(ctx, "t1")
	var convs []*history.Conversation
	for i := range 4 {
		ct, _, err := s.FindOrCreateContact(tctx, history.Identity{Kind: history.IdentityPhone, Value: fmt.Sprint("1380000000", i)}, "")
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateConversation(tctx, history.NewConversation{ContactID: ct.ID, Channel: history.ChannelWebChat, GroupID: "g"})
		if err != nil {
			t.Fatal(err)
		}
		convs = append(convs, c)
	}
	send := func(c *history.Conversation, client string) (*history.Message, bool) {
		t.Helper()
		m, created, err := s.AppendMessageTo(tctx, c, history.NewMessage{Direction: history.DirectionIn, Body: "消息 " + client,
			ClientMsgID: client, Sender: history.Sender{Type: history.SenderCustomer}})
		if err != nil {
			t.Fatal(err)
		}
		return m, created
	}
	first := map[string]history.MessageID{}
	for round := range 3 {
		for i, c := range convs {
			client := fmt.Sprint("c", i, "-", round)
			m, created := send(c, client)
			if !created {
				t.Fatalf("%s: not stored the first time", client)
			}
			first[client] = m.ID
		}
	}
	if h.seen.n > 3 && h.seen.lru.Len() > 1 {
		t.Fatalf("seen holds %d ids in %d conversations past its limit of 3", h.seen.n, h.seen.lru.Len())
	}
	for round := range 3 {
		for i, c := range convs {
			client := fmt.Sprint("c", i, "-", round)
			m, created := send(c, client)
			if created || m.ID != first[client] {
				t.Fatalf("resent %s: created %v id %s, want %s", client, created, m.ID, first[client])
			}
		}
	}
	for _, c := range convs {
		ms, _, err := s.ListMessages(tctx, c.ID, history.MessageQuery{Limit: 10})
		if err != nil || len(ms) != 3 {
			t.Fatalf("%s holds %d messages (%v), want 3", c.ID, len(ms), err)
		}
	}
}
