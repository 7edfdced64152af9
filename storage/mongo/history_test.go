package mongo

import (
	"context"
	"fmt"
	"testing"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/history/historytest"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/internal/store/storetest"
)

// histRestartable adds what the contract suite needs to restart a History:
// a copy on the same database with none of its memory.
type histRestartable struct{ *History }

func (r histRestartable) Restarted() history.Backend { return histRestartable{r.restarted()} }

func (s *History) restarted() *History {
	r := *s
	r.log = newHistLog(&r, s.log.single)
	return &r
}

// sharedWriter is a History that sequences as on MongoDB, where several
// processes write (one seq per lease, no cached tail or conversation).
func (s *History) sharedWriter() *History {
	r := *s
	r.log = newHistLog(&r, false)
	return &r
}

// TestHistoryContract runs the contract suite on the embedded stand-in
// (as its only writer, "single", and as one of several, "shared") and on
// the MongoDB of HUB_TEST_MONGODB_URI when set.
func TestHistoryContract(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			modes := []string{"single", "shared"}
			for _, mode := range modes {
				t.Run(mode, func(t *testing.T) {
					historytest.Run(t, func(t *testing.T) history.Backend {
						db := b.Open(t)
						h, err := NewHistory(context.Background(), db)
						if err != nil {
							t.Fatal(err)
						}
						if mode == "shared" {
							h = h.sharedWriter()
						} else if !db.Embedded {
							t.Skip("several processes may write a MongoDB")
						}
						return histRestartable{h}
					})
				})
			}
		})
	}
}

func histSend(t *testing.T, ctx context.Context, s *history.Store, conv *history.Conversation, body, client string) *history.Message {
	t.Helper()
	m, _, err := s.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionIn, Body: body, ClientMsgID: client, Sender: history.Sender{Type: history.SenderCustomer}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestHistoryLeaseGapsAndOldRetries: seqs leased and never used (a crash
// right after a lease) are gaps that readers skip, and a retry of a client
// id older than the embedded server reads back by _id is found by the
// index.
func TestHistoryLeaseGapsAndOldRetries(t *testing.T) {
	ctx := store.WithTenant(context.Background(), "t1")
	h, err := NewHistory(ctx, storetest.Embedded(t))
	if err != nil {
		t.Fatal(err)
	}
	s := history.New(h)
	c, _, err := s.FindOrCreateContact(ctx, history.Identity{Kind: history.IdentityWebVisitor, Value: "gaps"}, "")
	if err != nil {
		t.Fatal(err)
	}
	conv, err := s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: history.ChannelWebChat})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	first := histSend(t, ctx, s, conv, "a0", "c-first")
	want = append(want, "a0")
	for i := 1; i < 5; i++ {
		histSend(t, ctx, s, conv, fmt.Sprint("a", i), "")
		want = append(want, fmt.Sprint("a", i))
	}
	tn, _ := store.Tenant(ctx)
	if _, err := h.log.allocate(ctx, tn, conv.ID, 3); err != nil {
		t.Fatal(err)
	}
	r := h.restarted()
	rs := history.New(r)
	for i := 0; i < 5; i++ {
		histSend(t, ctx, rs, conv, fmt.Sprint("b", i), "")
		want = append(want, fmt.Sprint("b", i))
	}
	r2 := history.New(r.restarted()) // a reader that never wrote this conversation
	for _, st := range []*history.Store{rs, r2} {
		for _, limit := range []int{2, 50} {
			var got []string
			q := history.MessageQuery{Limit: limit}
			for {
				page, more, err := st.ListMessages(ctx, conv.ID, q)
				if err != nil {
					t.Fatal(err)
				}
				var b []string
				for _, m := range page {
					b = append(b, m.Body)
				}
				got = append(b, got...)
				if !more {
					break
				}
				q.Before = page[0].ID
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("limit %d: %v, want %v", limit, got, want)
			}
		}
	}
	old := histRecentProbe
	histRecentProbe = 1
	defer func() { histRecentProbe = old }()
	m, created, err := history.New(r.restarted()).AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionIn, Body: "a0", ClientMsgID: "c-first", Sender: history.Sender{Type: history.SenderCustomer}})
	if err != nil || created || m.ID != first.ID {
		t.Fatalf("old retry: %v created=%v %v, want %s", err, created, m, first.ID)
	}
}

// The message log caches each conversation's last seq, so a second
// History on one embedded database is refused rather than left reading
// stale tails.
func TestHistoryOnePerEmbeddedDatabase(t *testing.T) {
	db := storetest.Embedded(t)
	if _, err := NewHistory(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	if _, err := NewHistory(context.Background(), db); err == nil {
		t.Fatal("a second History on the embedded database was accepted")
	}
}

// A document read before a clear (a change to many conversations) is not
// cached after it; copies never share slices or maps with the cache.
func TestHistoryConvCache(t *testing.T) {
	cc := newHistConvCache()
	gen := cc.generation()
	cc.clear() // e.g. a contact merge while the read was under way
	cc.putRead("t/c1", &history.Conversation{ID: "c1", ContactID: "old"}, gen)
	if _, ok := cc.get("t/c1"); ok {
		t.Fatal("a read from before the clear was cached")
	}
	cc.putRead("t/c1", &history.Conversation{ID: "c1", ContactID: "new", Tags: []string{"a"}}, cc.generation())
	c, ok := cc.get("t/c1")
	if !ok || c.ContactID != "new" {
		t.Fatalf("fresh read not cached: %v %+v", ok, c)
	}
	c.Tags[0] = "changed"
	if again, _ := cc.get("t/c1"); again.Tags[0] != "a" {
		t.Fatalf("a caller's change reached the cache: %v", again.Tags)
	}
	cc.update("t/c1", func(c *history.Conversation) { c.MessageCount = 7 })
	if again, _ := cc.get("t/c1"); again.MessageCount != 7 {
		t.Fatalf("update: %d", again.MessageCount)
	}
	cc.drop("t/c1")
	if _, ok := cc.get("t/c1"); ok {
		t.Fatal("dropped document still cached")
	}
	var none *histConvCache // MongoDB: no cache at all
	none.put("t/c2", &history.Conversation{ID: "c2"})
	if _, ok := none.get("t/c2"); ok {
		t.Fatal("nil cache returned a document")
	}
}
