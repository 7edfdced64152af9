// Package historytest is the contract suite of history.Backend: every
// backend (storage/sqlite, storage/mongo) runs it from its own tests.
package historytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/store"
)

// Restarter is implemented by a backend under test that keeps state in
// memory: Restarted returns a backend on the same database with none of
// it, as after a restart of the process. The suite checks that nothing
// acknowledged depends on that memory.
type Restarter interface {
	Restarted() history.Backend
}

// lease is the MongoDB backend's lease of sequence numbers on its embedded
// stand-in: sizes in the suite cross several of them.
const lease = 256

// Run runs every case of the suite against one backend made by open, each
// case in its own tenant.
func Run(t *testing.T, open func(t *testing.T) history.Backend) {
	b := open(t)
	s := history.New(b)
	for _, c := range contract {
		t.Run(c.name, func(t *testing.T) {
			ctx := store.WithTenant(context.Background(), store.TenantID("t-"+c.name))
			c.fn(t, ctx, s)
		})
	}
}

func restarted(s *history.Store) *history.Store {
	if r, ok := s.Backend().(Restarter); ok {
		return history.New(r.Restarted())
	}
	return s
}

var contract = []struct {
	name string
	fn   func(t *testing.T, ctx context.Context, s *history.Store)
}{
	{"contact_find_or_create_is_unique_under_concurrency", testContactConcurrency},
	{"identities_and_merge", testMerge},
	{"conversation_lifecycle_and_listing", testConversations},
	{"conversation_list_filters", testListFilters},
	{"conversation_list_visibility", testListVisibility},
	{"message_idempotent_by_client_id", testIdempotent},
	{"message_paging", testPaging},
	{"attachments_round_trip", testAttachments},
	{"validation_names_field", testValidation},
	{"tenant_isolation", testTenantIsolation},
	{"tenant_isolation_every_method", testTenantIsolationMore},
	{"attachment_failures", testAttachmentFailures},
	{"no_tenant", testNoTenant},
	{"message_retry_after_restart", testRetryAfterRestart},
	{"message_concurrent_one_conversation", testConcurrentOne},
	{"message_concurrent_many_conversations", testConcurrentMany},
	{"message_paging_across_leases", testPagingAcrossLeases},
	{"message_idempotent_across_leases_and_restart", testIdempotentAcrossLeases},
	{"message_set_delivery_by_id", testSetDelivery},
	{"message_counters_persisted", testCounters},
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func contact(t *testing.T, ctx context.Context, s *history.Store, kind history.IdentityKind, v string) *history.Contact {
	t.Helper()
	c, _, err := s.FindOrCreateContact(ctx, history.Identity{Kind: kind, Value: v}, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testContactConcurrency(t *testing.T, ctx context.Context, s *history.Store) {
	var wg sync.WaitGroup
	got := make([]history.ContactID, 8)
	created := make([]bool, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, cr, err := s.FindOrCreateContact(ctx, history.Identity{Kind: history.IdentityPhone, Value: "+8613800000001"}, "张三")
			if err != nil {
				t.Error(err)
				return
			}
			got[i], created[i] = c.ID, cr
		}()
	}
	wg.Wait()
	n := 0
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("different contacts for one identity: %v", got)
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("created %d times, want once", n)
	}
	c := must[*history.Contact](t)(s.FindContact(ctx, history.Identity{Kind: history.IdentityPhone, Value: "+8613800000001"}))
	if c.ID != got[0] || c.Name != "张三" {
		t.Fatalf("FindContact = %+v", c)
	}
}

func testMerge(t *testing.T, ctx context.Context, s *history.Store) {
	a := contact(t, ctx, s, history.IdentityPhone, "13900000000")
	b := contact(t, ctx, s, history.IdentityWeChatOpenID, "oABC")
	if err := s.AddIdentity(ctx, a.ID, history.Identity{Kind: history.IdentityEmail, Value: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddIdentity(ctx, a.ID, history.Identity{Kind: history.IdentityWeChatOpenID, Value: "oABC"}); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("adding an identity owned by another contact: %v", err)
	}
	name := "李四"
	must[*history.Contact](t)(s.UpdateContact(ctx, b.ID, history.ContactPatch{Name: &name, Attributes: map[string]string{"region": "海淀"}}))
	conv := must[*history.Conversation](t)(s.CreateConversation(ctx, history.NewConversation{ContactID: b.ID, Channel: history.ChannelWeChat}))
	must[*history.Message](t)(firstOf(s.AppendMessage(ctx, history.NewMessage{ConversationID: conv.ID, Direction: history.DirectionIn, Body: "你好", Sender: history.Sender{Type: history.SenderCustomer}})))

	m := must[*history.Contact](t)(s.MergeContacts(ctx, a.ID, b.ID))
	if m.ID != a.ID || len(m.Identities) != 3 || m.Name != "李四" || m.Attributes["region"] != "海淀" {
		t.Fatalf("merged contact = %+v", m)
	}
	// Old references resolve to the merged contact, identities too.
	if c := must[*history.Contact](t)(s.GetContact(ctx, b.ID)); c.ID != a.ID {
		t.Fatalf("GetContact(merged) = %s", c.ID)
	}
	if c := must[*history.Contact](t)(s.FindContact(ctx, history.Identity{Kind: history.IdentityWeChatOpenID, Value: "oABC"})); c.ID != a.ID {
		t.Fatalf("identity still points at %s", c.ID)
	}
	convs, _, err := s.ListConversations(ctx, history.ConversationQuery{ContactID: a.ID})
	if err != nil || len(convs) != 1 || convs[0].ID != conv.ID {
		t.Fatalf("conversations of merged contact: %v %v", convs, err)
	}
	// Read by id too (the embedded store's conversation cache must not
	// keep the old contact).
	if c := must[*history.Conversation](t)(s.GetConversation(ctx, conv.ID)); c.ContactID != a.ID {
		t.Fatalf("GetConversation after merge: contact %s", c.ContactID)
	}
	msgs, _, _ := s.ListMessages(ctx, conv.ID, history.MessageQuery{})
	if len(msgs) != 1 || msgs[0].ContactID != a.ID {
		t.Fatalf("messages not moved: %+v", msgs)
	}
	// Merging again is harmless; merging into itself is refused.
	must[*history.Contact](t)(s.MergeContacts(ctx, a.ID, b.ID))
	if _, err := s.MergeContacts(ctx, a.ID, a.ID); err == nil {
		t.Fatal("merge into itself accepted")
	}
}

func firstOf[A, B any](a A, _ B, err error) (A, error) { return a, err }

func testConversations(t *testing.T, ctx context.Context, s *history.Store) {
	c := contact(t, ctx, s, history.IdentityWebVisitor, "v1")
	var ids []history.ConversationID
	for i := 0; i < 5; i++ {
		ch := history.ChannelWebChat
		if i%2 == 1 {
			ch = history.ChannelVoice
		}
		conv := must[*history.Conversation](t)(s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: ch, GroupID: "g1"}))
		if conv.Status != history.StatusQueued || conv.QueuedAt.IsZero() {
			t.Fatalf("new conversation %+v", conv)
		}
		ids = append(ids, conv.ID)
	}
	agent := "agent-1"
	u := must[*history.Conversation](t)(s.UpdateConversation(ctx, ids[0], history.ConversationPatch{
		Status: history.StatusAssigned, AssigneeID: &agent, AssignedAt: time.Now(), AddTags: []string{"vip", "vip", "billing"}}))
	if u.Status != history.StatusAssigned || u.AssigneeID != agent || len(u.Tags) != 2 || u.AssignedAt.IsZero() {
		t.Fatalf("after update %+v", u)
	}
	u = must[*history.Conversation](t)(s.UpdateConversation(ctx, ids[0], history.ConversationPatch{Status: history.StatusClosed,
		Disposition: &history.Disposition{Purpose: "咨询", SubType: "资费", SetBy: agent}, Rating: &history.Rating{Score: 5}, ClosedAt: time.Now()}))
	if u.Disposition == nil || u.Disposition.Purpose != "咨询" || u.Rating.Score != 5 || u.ClosedAt.IsZero() {
		t.Fatalf("after close %+v", u)
	}
	// Pages of 2, newest first, cover all five once.
	var seen []history.ConversationID
	cursor := ""
	for {
		page, next, err := s.ListConversations(ctx, history.ConversationQuery{ContactID: c.ID, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page {
			seen = append(seen, p.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 5 || seen[0] != ids[4] || seen[4] != ids[0] {
		t.Fatalf("paged %v, created %v", seen, ids)
	}
	voice, _, _ := s.ListConversations(ctx, history.ConversationQuery{Channel: history.ChannelVoice})
	if len(voice) != 2 {
		t.Fatalf("voice filter: %d", len(voice))
	}
	mine, _, _ := s.ListConversations(ctx, history.ConversationQuery{AssigneeID: agent, Statuses: []history.Status{history.StatusClosed, history.StatusAssigned}})
	if len(mine) != 1 {
		t.Fatalf("assignee filter: %d", len(mine))
	}
	if _, err := s.GetConversation(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing conversation: %v", err)
	}
}

func testIdempotent(t *testing.T, ctx context.Context, s *history.Store) {
	c := contact(t, ctx, s, history.IdentityWebVisitor, "v2")
	conv := must[*history.Conversation](t)(s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: history.ChannelWebChat}))
	var wg sync.WaitGroup
	var mu sync.Mutex
	createdN := 0
	var first history.MessageID
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, created, err := s.AppendMessage(ctx, history.NewMessage{ConversationID: conv.ID, Direction: history.DirectionIn, Body: "重发的消息", ClientMsgID: "c-1", Sender: history.Sender{Type: history.SenderCustomer}})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if created {
				createdN++
			}
			if first == "" {
				first = m.ID
			} else if m.ID != first {
				t.Errorf("retry returned another message %s != %s", m.ID, first)
			}
		}()
	}
	wg.Wait()
	if createdN != 1 {
		t.Fatalf("stored %d times", createdN)
	}
	msgs, _, _ := s.ListMessages(ctx, conv.ID, history.MessageQuery{})
	got := must[*history.Conversation](t)(s.GetConversation(ctx, conv.ID))
	if len(msgs) != 1 || got.MessageCount != 1 || got.LastCustomerMessageAt.IsZero() {
		t.Fatalf("messages %d, count %d", len(msgs), got.MessageCount)
	}
	// Without a client id every send is its own message.
	for i := 0; i < 2; i++ {
		m, created, err := s.AppendMessage(ctx, history.NewMessage{ConversationID: conv.ID, Direction: history.DirectionOut, Body: "同样的文字", Sender: history.Sender{Type: history.SenderAgent, ID: "a1"}})
		if err != nil || !created || m.ClientMsgID == "" {
			t.Fatalf("append without client id: %v %v %+v", err, created, m)
		}
	}
	if err := s.SetDelivery(ctx, first, history.DeliveryRead); err != nil {
		t.Fatal(err)
	}
}

func testPaging(t *testing.T, ctx context.Context, s *history.Store) {
	c := contact(t, ctx, s, history.IdentityWebVisitor, "v3")
	conv := must[*history.Conversation](t)(s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: history.ChannelWebChat}))
	var want []history.MessageID
	for i := 0; i < 23; i++ {
		m, _, err := s.AppendMessage(ctx, history.NewMessage{ConversationID: conv.ID, Direction: history.DirectionIn, Body: fmt.Sprint("m", i), Sender: history.Sender{Type: history.SenderCustomer}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m.ID)
	}
	last, more, _ := s.ListMessages(ctx, conv.ID, history.MessageQuery{Limit: 10})
	if !more || len(last) != 10 || last[9].ID != want[22] || last[0].ID != want[13] {
		t.Fatalf("newest page wrong")
	}
	back, more, _ := s.ListMessages(ctx, conv.ID, history.MessageQuery{Limit: 10, Before: last[0].ID})
	if !more || back[0].ID != want[3] || back[9].ID != want[12] {
		t.Fatalf("scroll back wrong")
	}
	after, more, _ := s.ListMessages(ctx, conv.ID, history.MessageQuery{Limit: 50, After: want[19]})
	if more || len(after) != 3 || after[0].ID != want[20] {
		t.Fatalf("catch-up wrong: %d", len(after))
	}
}

func testAttachments(t *testing.T, ctx context.Context, s *history.Store) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 KB: several GridFS chunks
	a, err := s.PutAttachment(ctx, "照片.png", "image/png", bytes.NewReader(data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if a.Size != int64(len(data)) || len(a.SHA256) != 64 {
		t.Fatalf("attachment %+v", a)
	}
	got, rd, err := s.OpenAttachment(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rd)
	_ = rd.Close()
	if !bytes.Equal(b, data) || got.ContentType != "image/png" {
		t.Fatal("attachment bytes differ")
	}
	if _, err := s.PutAttachment(ctx, "big.bin", "application/octet-stream", bytes.NewReader(data), 1000); !errors.Is(err, history.ErrTooLarge) {
		t.Fatalf("oversized attachment: %v", err)
	}
	other := store.WithTenant(context.Background(), "someone-else")
	if _, _, err := s.OpenAttachment(other, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant opened the attachment: %v", err)
	}
}

func testValidation(t *testing.T, ctx context.Context, s *history.Store) {
	c := contact(t, ctx, s, history.IdentityWebVisitor, "v4")
	conv := must[*history.Conversation](t)(s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: history.ChannelWebChat}))
	cases := []struct {
		field string
		m     history.NewMessage
	}{
		{"direction", history.NewMessage{Direction: "sideways", Body: "x", Sender: history.Sender{Type: history.SenderCustomer}}},
		{"kind", history.NewMessage{Direction: history.DirectionIn, Kind: "hologram", Body: "x", Sender: history.Sender{Type: history.SenderCustomer}}},
		{"body", history.NewMessage{Direction: history.DirectionIn, Body: "  ", Sender: history.Sender{Type: history.SenderCustomer}}},
		{"sender.type", history.NewMessage{Direction: history.DirectionIn, Body: "x"}},
		{"client_msg_id", history.NewMessage{Direction: history.DirectionIn, Body: "x", ClientMsgID: "srv:forged", Sender: history.Sender{Type: history.SenderCustomer}}},
	}
	for _, tc := range cases {
		tc.m.ConversationID = conv.ID
		_, _, err := s.AppendMessage(ctx, tc.m)
		var ve *history.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("want error on %s, got %v", tc.field, err)
		}
	}
	if _, err := s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: "pigeon"}); err == nil {
		t.Error("unknown channel accepted")
	}
	if _, _, err := s.FindOrCreateContact(ctx, history.Identity{Kind: "fax", Value: "1"}, ""); err == nil {
		t.Error("unknown identity kind accepted")
	}
}

func testTenantIsolation(t *testing.T, ctx context.Context, s *history.Store) {
	c := contact(t, ctx, s, history.IdentityPhone, "+861000")
	conv := must[*history.Conversation](t)(s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: history.ChannelVoice}))
	self, _ := store.Tenant(ctx)
	other := store.WithTenant(context.Background(), "other-of-"+self)
	if _, err := s.GetConversation(other, conv.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant read the conversation: %v", err)
	}
	if _, err := s.UpdateConversation(other, conv.ID, history.ConversationPatch{Status: history.StatusClosed}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant changed the conversation: %v", err)
	}
	if _, _, err := s.AppendMessage(other, history.NewMessage{ConversationID: conv.ID, Direction: history.DirectionIn, Body: "x", Sender: history.Sender{Type: history.SenderCustomer}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant wrote into the conversation: %v", err)
	}
	// The same phone number in another tenant is another contact.
	oc, created, err := s.FindOrCreateContact(other, history.Identity{Kind: history.IdentityPhone, Value: "+861000"}, "")
	if err != nil || !created || oc.ID == c.ID {
		t.Fatalf("identity leaked across tenants: %v %v", created, err)
	}
	if _, err := s.GetConversation(context.Background(), conv.ID); !errors.Is(err, store.ErrNoTenant) {
		t.Fatalf("no tenant: %v", err)
	}
}

func newConv(t *testing.T, ctx context.Context, s *history.Store, visitor string) *history.Conversation {
	t.Helper()
	c := contact(t, ctx, s, history.IdentityWebVisitor, visitor)
	return must[*history.Conversation](t)(s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: history.ChannelWebChat}))
}

func send(t *testing.T, ctx context.Context, s *history.Store, conv *history.Conversation, body, client string) (*history.Message, bool) {
	t.Helper()
	m, created, err := s.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionIn, Body: body, ClientMsgID: client, Sender: history.Sender{Type: history.SenderCustomer}})
	if err != nil {
		t.Fatal(err)
	}
	return m, created
}

// all pages through a conversation with Before from the newest page, and
// checks the result against After paging from the start.
func all(t *testing.T, ctx context.Context, s *history.Store, conv history.ConversationID, limit int) []history.Message {
	t.Helper()
	var back []history.Message
	q := history.MessageQuery{Limit: limit}
	for {
		page, more, err := s.ListMessages(ctx, conv, q)
		if err != nil {
			t.Fatal(err)
		}
		back = append(append([]history.Message{}, page...), back...)
		if !more || len(page) == 0 {
			break
		}
		q.Before = page[0].ID
	}
	for i := 1; i < len(back); i++ {
		if back[i].ID <= back[i-1].ID {
			t.Fatalf("messages out of order at %d: %s after %s", i, back[i].ID, back[i-1].ID)
		}
	}
	if len(back) == 0 {
		return back
	}
	fwd := []history.Message{back[0]}
	for {
		page, more, err := s.ListMessages(ctx, conv, history.MessageQuery{Limit: limit, After: fwd[len(fwd)-1].ID})
		if err != nil {
			t.Fatal(err)
		}
		fwd = append(fwd, page...)
		if !more {
			break
		}
	}
	if len(fwd) != len(back) {
		t.Fatalf("after-paging found %d messages, before-paging %d", len(fwd), len(back))
	}
	for i := range fwd {
		if fwd[i].ID != back[i].ID {
			t.Fatalf("after-paging and before-paging differ at %d", i)
		}
	}
	return back
}

func bodies(ms []history.Message) []string {
	var b []string
	for _, m := range ms {
		b = append(b, m.Body)
	}
	return b
}

func testRetryAfterRestart(t *testing.T, ctx context.Context, s *history.Store) {
	conv := newConv(t, ctx, s, "retry-restart")
	first, _ := send(t, ctx, s, conv, "first", "c-first")
	send(t, ctx, s, conv, "m1", "")
	stored, _ := send(t, ctx, s, conv, "unacked?", "c-retry")
	// The process stops; the sender had no answer and retries after the
	// restart, several times and at once.
	r := restarted(s)
	send(t, ctx, r, conv, "m2", "")
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			m, created, err := r.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionIn, Body: "unacked?", ClientMsgID: "c-retry", Sender: history.Sender{Type: history.SenderCustomer}})
			if err != nil || created || m.ID != stored.ID || m.Body != "unacked?" {
				t.Errorf("retry after restart: %v created=%v %+v (stored %s)", err, created, m, stored.ID)
			}
		})
	}
	wg.Wait()
	// An older client id is found too.
	r2 := restarted(s)
	m, created := send(t, ctx, r2, conv, "first", "c-first")
	if created || m.ID != first.ID {
		t.Fatalf("old retry: created=%v %s, want %s", created, m.ID, first.ID)
	}
	if got := bodies(all(t, ctx, r2, conv.ID, 2)); fmt.Sprint(got) != "[first m1 unacked? m2]" {
		t.Fatalf("history after restart and retries: %v", got)
	}
}

func testConcurrentOne(t *testing.T, ctx context.Context, s *history.Store) {
	conv := newConv(t, ctx, s, "busy")
	const writers, each = 8, 5
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, _, err := s.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionOut, Body: fmt.Sprint(w, "/", i),
					ClientMsgID: fmt.Sprint("w", w, "-", i), Sender: history.Sender{Type: history.SenderAgent}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	ms := all(t, ctx, s, conv.ID, 37)
	seen := map[string]bool{}
	for _, m := range ms {
		seen[m.Body] = true
	}
	if len(ms) != writers*each || len(seen) != writers*each {
		t.Fatalf("stored %d messages (%d distinct), want %d", len(ms), len(seen), writers*each)
	}
	// Each writer's messages keep their order.
	last := map[string]int{}
	for _, m := range ms {
		var w, i int
		fmt.Sscanf(m.Body, "%d/%d", &w, &i)
		if prev, ok := last[fmt.Sprint(w)]; ok && i <= prev {
			t.Fatalf("writer %d: message %d after %d", w, i, prev)
		}
		last[fmt.Sprint(w)] = i
	}
	if c := must[*history.Conversation](t)(s.GetConversation(ctx, conv.ID)); c.MessageCount != writers*each {
		t.Fatalf("message_count %d", c.MessageCount)
	}
}

func testConcurrentMany(t *testing.T, ctx context.Context, s *history.Store) {
	const convs, writers, each = 4, 8, 4
	cs := make([]*history.Conversation, convs)
	for i := range cs {
		cs[i] = newConv(t, ctx, s, fmt.Sprint("many-", i))
	}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				cv := cs[(w+i)%convs]
				// Every message is sent twice, as by a client whose first ack was lost.
				for try := 0; try < 2; try++ {
					if _, created, err := s.AppendMessageTo(ctx, cv, history.NewMessage{Direction: history.DirectionIn, Body: "x",
						ClientMsgID: fmt.Sprint(w, "-", i), Sender: history.Sender{Type: history.SenderCustomer}}); err != nil || created != (try == 0) {
						t.Errorf("send %d-%d try %d: created=%v err=%v", w, i, try, created, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	total := int64(0)
	for _, cv := range cs {
		n := len(all(t, ctx, s, cv.ID, 50))
		c := must[*history.Conversation](t)(s.GetConversation(ctx, cv.ID))
		if c.MessageCount != int64(n) {
			t.Fatalf("conversation %s: count %d, listed %d", cv.ID, c.MessageCount, n)
		}
		total += int64(n)
	}
	if total != writers*each {
		t.Fatalf("stored %d messages, want %d", total, writers*each)
	}
}

func testPagingAcrossLeases(t *testing.T, ctx context.Context, s *history.Store) {
	conv := newConv(t, ctx, s, "long")
	n := 3*lease + 7
	if n < 40 {
		n = 40
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				if _, _, err := s.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionIn, Body: fmt.Sprint(i), Sender: history.Sender{Type: history.SenderCustomer}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var want []history.MessageID
	for _, m := range all(t, ctx, s, conv.ID, 500) {
		want = append(want, m.ID)
	}
	if len(want) != n {
		t.Fatalf("stored %d messages, want %d", len(want), n)
	}
	for _, limit := range []int{9, 33} {
		ms := all(t, ctx, s, conv.ID, limit)
		if len(ms) != n || ms[0].ID != want[0] || ms[n-1].ID != want[n-1] {
			t.Fatalf("limit %d: %d messages", limit, len(ms))
		}
	}
	// Window in the middle, both directions.
	mid := n / 2
	before, more, _ := s.ListMessages(ctx, conv.ID, history.MessageQuery{Before: want[mid], Limit: 5})
	if !more || len(before) != 5 || before[4].ID != want[mid-1] || before[0].ID != want[mid-5] {
		t.Fatal("before window wrong")
	}
	after, more, _ := s.ListMessages(ctx, conv.ID, history.MessageQuery{After: want[mid], Limit: 5})
	if !more || len(after) != 5 || after[0].ID != want[mid+1] || after[4].ID != want[mid+5] {
		t.Fatal("after window wrong")
	}
	if tail, more, _ := s.ListMessages(ctx, conv.ID, history.MessageQuery{After: want[n-1]}); more || len(tail) != 0 {
		t.Fatalf("after the last message: %d", len(tail))
	}
	other := newConv(t, ctx, s, "long-other")
	if _, _, err := s.ListMessages(ctx, other.ID, history.MessageQuery{Before: want[3]}); err == nil {
		t.Fatal("a cursor of another conversation was accepted")
	}
}

func testIdempotentAcrossLeases(t *testing.T, ctx context.Context, s *history.Store) {
	conv := newConv(t, ctx, s, "idem")
	first, created := send(t, ctx, s, conv, "first", "keep-me")
	if !created {
		t.Fatal("first send not created")
	}
	for i := 0; i < 2*lease+3; i++ {
		send(t, ctx, s, conv, fmt.Sprint(i), "")
	}
	for _, st := range []*history.Store{s, restarted(s)} {
		m, created := send(t, ctx, st, conv, "first", "keep-me")
		if created || m.ID != first.ID || m.Body != "first" {
			t.Fatalf("late retry: created=%v %s != %s", created, m.ID, first.ID)
		}
	}
	// The same client id in another conversation is another message.
	conv2 := newConv(t, ctx, s, "idem-2")
	if m, created := send(t, ctx, s, conv2, "first", "keep-me"); !created || m.ID == first.ID {
		t.Fatal("client ids leaked across conversations")
	}
	if c := must[*history.Conversation](t)(s.GetConversation(ctx, conv.ID)); c.MessageCount != 2*lease+4 {
		t.Fatalf("message_count %d", c.MessageCount)
	}
}

func testSetDelivery(t *testing.T, ctx context.Context, s *history.Store) {
	conv := newConv(t, ctx, s, "delivery")
	var ids []history.MessageID
	for i := 0; i < 5; i++ {
		m, _ := send(t, ctx, s, conv, fmt.Sprint(i), "")
		ids = append(ids, m.ID)
	}
	if err := s.SetDelivery(ctx, ids[2], history.DeliveryRead); err != nil {
		t.Fatal(err)
	}
	ms, _, _ := s.ListMessages(ctx, conv.ID, history.MessageQuery{})
	for i, m := range ms {
		want := history.DeliveryStored
		if i == 2 {
			want = history.DeliveryRead
		}
		if m.Delivery != want {
			t.Fatalf("message %d delivery %s, want %s", i, m.Delivery, want)
		}
	}
	other := store.WithTenant(context.Background(), "someone-else")
	for _, c := range []struct {
		ctx context.Context
		id  history.MessageID
	}{{other, ids[2]}, {ctx, "nope"}, {ctx, ids[4][:len(ids[4])-1] + "f"}} {
		if err := s.SetDelivery(c.ctx, c.id, history.DeliveryFailed); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SetDelivery(%s): %v", c.id, err)
		}
	}
	if _, _, err := s.ListMessages(other, conv.ID, history.MessageQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant listed the messages: %v", err)
	}
}

func testCounters(t *testing.T, ctx context.Context, s *history.Store) {
	conv := newConv(t, ctx, s, "counters")
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 0; i < 3; i++ {
		if _, _, err := s.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionIn, Body: "q", At: at.Add(time.Duration(i) * time.Second), Sender: history.Sender{Type: history.SenderCustomer}}); err != nil {
			t.Fatal(err)
		}
	}
	if c := must[*history.Conversation](t)(s.GetConversation(ctx, conv.ID)); !c.FirstResponseAt.IsZero() {
		t.Fatalf("first response before any agent reply: %v", c.FirstResponseAt)
	}
	// The bot's answer is not a first response; the agent's first reply is,
	// and a later one does not move it.
	if _, _, err := s.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionOut, Body: "bot", At: at.Add(30 * time.Second), Sender: history.Sender{Type: history.SenderBot}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionOut, Body: "a", At: at.Add(time.Minute), Sender: history.Sender{Type: history.SenderAgent}}); err != nil {
		t.Fatal(err)
	}
	check := func(st *history.Store, what string, count int64, last time.Time) {
		t.Helper()
		c := must[*history.Conversation](t)(st.GetConversation(ctx, conv.ID))
		if c.MessageCount != count || !c.LastMessageAt.Equal(last) || !c.LastCustomerMessageAt.Equal(at.Add(2*time.Second)) || !c.FirstResponseAt.Equal(at.Add(time.Minute)) {
			t.Fatalf("%s: count %d last %v customer %v first response %v", what, c.MessageCount, c.LastMessageAt, c.LastCustomerMessageAt, c.FirstResponseAt)
		}
	}
	check(s, "in memory", 5, at.Add(time.Minute))
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check(restarted(s), "persisted", 5, at.Add(time.Minute))
	check(s, "after flush", 5, at.Add(time.Minute))
	if _, _, err := s.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionOut, Body: "b", At: at.Add(2 * time.Minute), Sender: history.Sender{Type: history.SenderAgent}}); err != nil {
		t.Fatal(err)
	}
	check(s, "second reply in memory", 6, at.Add(2*time.Minute))
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check(restarted(s), "second reply persisted", 6, at.Add(2*time.Minute))
	// A status change read back through the store sees the counters too.
	c := must[*history.Conversation](t)(s.UpdateConversation(ctx, conv.ID, history.ConversationPatch{Status: history.StatusAssigned}))
	if c.Status != history.StatusAssigned || c.MessageCount != 6 {
		t.Fatalf("after update: %s %d", c.Status, c.MessageCount)
	}
	if c := must[*history.Conversation](t)(restarted(s).GetConversation(ctx, conv.ID)); c.Status != history.StatusAssigned {
		t.Fatalf("update not persisted: %s", c.Status)
	}
}

func ids(cs []history.Conversation) []history.ConversationID {
	out := []history.ConversationID{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// pages reads every page of q (limit per page) and checks the order.
func pages(t *testing.T, ctx context.Context, s *history.Store, q history.ConversationQuery, limit int) []history.ConversationID {
	t.Helper()
	var out []history.ConversationID
	q.Limit = limit
	for i := 0; ; i++ {
		page, next, err := s.ListConversations(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > limit {
			t.Fatalf("page of %d, limit %d", len(page), limit)
		}
		out = append(out, ids(page)...)
		if next == "" {
			break
		}
		if i > 1000 {
			t.Fatal("paging does not end")
		}
		q.Cursor = next
	}
	for i := 1; i < len(out); i++ {
		if out[i] >= out[i-1] {
			t.Fatalf("not newest first at %d: %v", i, out)
		}
	}
	return out
}

func testListFilters(t *testing.T, ctx context.Context, s *history.Store) {
	a := contact(t, ctx, s, history.IdentityPhone, "+861111")
	b := contact(t, ctx, s, history.IdentityPhone, "+862222")
	type row struct {
		contact  history.ContactID
		channel  history.Channel
		group    string
		assignee string
		status   history.Status
	}
	rows := []row{
		{a.ID, history.ChannelWebChat, "g1", "ag1", history.StatusAssigned},
		{a.ID, history.ChannelVoice, "g1", "", history.StatusQueued},
		{b.ID, history.ChannelWebChat, "g2", "ag2", history.StatusClosed},
		{b.ID, history.ChannelSMS, "g1", "ag1", history.StatusClosed},
		{a.ID, history.ChannelWebChat, "g2", "ag1", history.StatusWrapUp},
		{b.ID, history.ChannelWebChat, "", "", history.StatusBot},
	}
	var made []*history.Conversation
	for _, r := range rows {
		c := must[*history.Conversation](t)(s.CreateConversation(ctx, history.NewConversation{ContactID: r.contact, Channel: r.channel, GroupID: r.group}))
		p := history.ConversationPatch{Status: r.status}
		if r.assignee != "" {
			p.AssigneeID = &r.assignee
		}
		made = append(made, must[*history.Conversation](t)(s.UpdateConversation(ctx, c.ID, p)))
	}
	want := func(f func(r row) bool) []history.ConversationID {
		var out []history.ConversationID
		for i := len(rows) - 1; i >= 0; i-- {
			if f(rows[i]) {
				out = append(out, made[i].ID)
			}
		}
		return out
	}
	cases := []struct {
		name string
		q    history.ConversationQuery
		f    func(r row) bool
	}{
		{"all", history.ConversationQuery{}, func(row) bool { return true }},
		{"contact", history.ConversationQuery{ContactID: a.ID}, func(r row) bool { return r.contact == a.ID }},
		{"contact+channel", history.ConversationQuery{ContactID: a.ID, Channel: history.ChannelWebChat}, func(r row) bool { return r.contact == a.ID && r.channel == history.ChannelWebChat }},
		{"assignee", history.ConversationQuery{AssigneeID: "ag1"}, func(r row) bool { return r.assignee == "ag1" }},
		{"assignee+statuses", history.ConversationQuery{AssigneeID: "ag1", Statuses: []history.Status{history.StatusClosed, history.StatusWrapUp}}, func(r row) bool {
			return r.assignee == "ag1" && (r.status == history.StatusClosed || r.status == history.StatusWrapUp)
		}},
		{"group", history.ConversationQuery{GroupID: "g1"}, func(r row) bool { return r.group == "g1" }},
		{"group+status", history.ConversationQuery{GroupID: "g1", Statuses: []history.Status{history.StatusClosed}}, func(r row) bool { return r.group == "g1" && r.status == history.StatusClosed }},
		{"group+contact", history.ConversationQuery{GroupID: "g2", ContactID: b.ID}, func(r row) bool { return r.group == "g2" && r.contact == b.ID }},
		{"statuses", history.ConversationQuery{Statuses: []history.Status{history.StatusBot, history.StatusQueued}}, func(r row) bool { return r.status == history.StatusBot || r.status == history.StatusQueued }},
		{"channel", history.ConversationQuery{Channel: history.ChannelWebChat}, func(r row) bool { return r.channel == history.ChannelWebChat }},
		{"channel+group", history.ConversationQuery{Channel: history.ChannelWebChat, GroupID: "g2"}, func(r row) bool { return r.channel == history.ChannelWebChat && r.group == "g2" }},
	}
	for _, tc := range cases {
		for _, limit := range []int{1, 2, 50} {
			if got, w := pages(t, ctx, s, tc.q, limit), want(tc.f); fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("%s (limit %d): %v, want %v", tc.name, limit, got, w)
			}
		}
	}
	// Creation time range: From inclusive, To exclusive.
	from, to := made[1].CreatedAt, made[4].CreatedAt
	got := pages(t, ctx, s, history.ConversationQuery{From: from, To: to}, 2)
	if fmt.Sprint(got) != fmt.Sprint([]history.ConversationID{made[3].ID, made[2].ID, made[1].ID}) {
		t.Errorf("from..to: %v", got)
	}
	got = pages(t, ctx, s, history.ConversationQuery{From: made[5].CreatedAt.Add(time.Hour)}, 2)
	if len(got) != 0 {
		t.Errorf("from the future: %v", got)
	}
	if _, _, err := s.ListConversations(ctx, history.ConversationQuery{Limit: 501}); err == nil {
		t.Error("limit 501 accepted")
	}
}

func testListVisibility(t *testing.T, ctx context.Context, s *history.Store) {
	c := contact(t, ctx, s, history.IdentityPhone, "+863333")
	type row struct {
		group, assignee string
		status          history.Status
	}
	rows := []row{
		{"g1", "", history.StatusQueued},
		{"g2", "me", history.StatusAssigned},
		{"g3", "", history.StatusQueued},
		{"g3", "me", history.StatusClosed},
		{"g1", "other", history.StatusClosed},
		{"g4", "other", history.StatusAssigned},
		{"", "me", history.StatusWrapUp},
		{"g2", "", history.StatusBot},
	}
	var made []history.ConversationID
	for _, r := range rows {
		cv := must[*history.Conversation](t)(s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: history.ChannelWebChat, GroupID: r.group}))
		p := history.ConversationPatch{Status: r.status}
		if r.assignee != "" {
			p.AssigneeID = &r.assignee
		}
		must[*history.Conversation](t)(s.UpdateConversation(ctx, cv.ID, p))
		made = append(made, cv.ID)
	}
	want := func(f func(r row) bool) []history.ConversationID {
		var out []history.ConversationID
		for i := len(rows) - 1; i >= 0; i-- {
			if f(rows[i]) {
				out = append(out, made[i])
			}
		}
		return out
	}
	in := func(g string, gs ...string) bool {
		for _, x := range gs {
			if x == g {
				return true
			}
		}
		return false
	}
	cases := []struct {
		name string
		q    history.ConversationQuery
		f    func(r row) bool
	}{
		{"mine and my groups", history.ConversationQuery{Visible: &history.Visibility{AssigneeID: "me", GroupIDs: []string{"g1", "g2"}}},
			func(r row) bool { return r.assignee == "me" || in(r.group, "g1", "g2") }},
		{"mine only", history.ConversationQuery{Visible: &history.Visibility{AssigneeID: "me"}}, func(r row) bool { return r.assignee == "me" }},
		{"groups only", history.ConversationQuery{Visible: &history.Visibility{GroupIDs: []string{"g3", "g4"}}}, func(r row) bool { return in(r.group, "g3", "g4") }},
		{"nothing", history.ConversationQuery{Visible: &history.Visibility{}}, func(row) bool { return false }},
		{"visible+statuses", history.ConversationQuery{Statuses: []history.Status{history.StatusClosed, history.StatusQueued}, Visible: &history.Visibility{AssigneeID: "me", GroupIDs: []string{"g1"}}},
			func(r row) bool {
				return (r.assignee == "me" || r.group == "g1") && (r.status == history.StatusClosed || r.status == history.StatusQueued)
			}},
		{"visible+contact", history.ConversationQuery{ContactID: c.ID, Visible: &history.Visibility{AssigneeID: "me", GroupIDs: []string{"g4"}}},
			func(r row) bool { return r.assignee == "me" || r.group == "g4" }},
		{"visible+group", history.ConversationQuery{GroupID: "g3", Visible: &history.Visibility{AssigneeID: "me"}},
			func(r row) bool { return r.group == "g3" && r.assignee == "me" }},
	}
	for _, tc := range cases {
		for _, limit := range []int{1, 3, 50} {
			if got, w := pages(t, ctx, s, tc.q, limit), want(tc.f); fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("%s (limit %d): %v, want %v", tc.name, limit, got, w)
			}
		}
	}
}

func testNoTenant(t *testing.T, ctx context.Context, s *history.Store) {
	conv := newConv(t, ctx, s, "no-tenant")
	m, _ := send(t, ctx, s, conv, "x", "")
	bg := context.Background()
	id := history.Identity{Kind: history.IdentityPhone, Value: "1"}
	errs := map[string]error{}
	_, _, errs["FindOrCreateContact"] = s.FindOrCreateContact(bg, id, "")
	_, errs["FindContact"] = s.FindContact(bg, id)
	_, errs["GetContact"] = s.GetContact(bg, conv.ContactID)
	errs["AddIdentity"] = s.AddIdentity(bg, conv.ContactID, id)
	_, errs["CreateConversation"] = s.CreateConversation(bg, history.NewConversation{ContactID: conv.ContactID, Channel: history.ChannelSMS})
	_, errs["GetConversation"] = s.GetConversation(bg, conv.ID)
	_, errs["UpdateConversation"] = s.UpdateConversation(bg, conv.ID, history.ConversationPatch{Status: history.StatusClosed})
	_, _, errs["ListConversations"] = s.ListConversations(bg, history.ConversationQuery{})
	_, _, errs["AppendMessageTo"] = s.AppendMessageTo(bg, conv, history.NewMessage{Direction: history.DirectionIn, Body: "x", Sender: history.Sender{Type: history.SenderCustomer}})
	_, _, errs["ListMessages"] = s.ListMessages(bg, conv.ID, history.MessageQuery{})
	errs["SetDelivery"] = s.SetDelivery(bg, m.ID, history.DeliveryRead)
	_, errs["PutAttachment"] = s.PutAttachment(bg, "a.txt", "text/plain", bytes.NewReader([]byte("x")), 10)
	_, errs["GetAttachment"] = s.GetAttachment(bg, "x")
	for name, err := range errs {
		if !errors.Is(err, store.ErrNoTenant) {
			t.Errorf("%s without a tenant: %v", name, err)
		}
	}
	if ms, _, _ := s.ListMessages(ctx, conv.ID, history.MessageQuery{}); len(ms) != 1 {
		t.Fatalf("a write without a tenant changed the conversation: %d messages", len(ms))
	}
}

// testTenantIsolationMore: every read and write by id through another
// tenant's context finds nothing and changes nothing.
func testTenantIsolationMore(t *testing.T, ctx context.Context, s *history.Store) {
	self, _ := store.Tenant(ctx)
	other := store.WithTenant(context.Background(), "other-of-"+self)
	c := contact(t, ctx, s, history.IdentityEmail, "iso@example.com")
	oc := contact(t, other, s, history.IdentityEmail, "other@example.com")
	conv := must[*history.Conversation](t)(s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: history.ChannelWebChat, GroupID: "g"}))
	m, _ := send(t, ctx, s, conv, "secret", "c-iso")
	a := must[*history.Attachment](t)(s.PutAttachment(ctx, "a.txt", "text/plain", bytes.NewReader([]byte("secret")), 100))
	name := "x"
	notFound := map[string]error{}
	_, notFound["GetContact"] = s.GetContact(other, c.ID)
	_, notFound["FindContact"] = s.FindContact(other, history.Identity{Kind: history.IdentityEmail, Value: "iso@example.com"})
	_, notFound["UpdateContact"] = s.UpdateContact(other, c.ID, history.ContactPatch{Name: &name})
	notFound["AddIdentity"] = s.AddIdentity(other, c.ID, history.Identity{Kind: history.IdentityPhone, Value: "+869999"})
	_, notFound["MergeContacts into"] = s.MergeContacts(other, c.ID, oc.ID)
	_, notFound["MergeContacts from"] = s.MergeContacts(other, oc.ID, c.ID)
	_, notFound["CreateConversation"] = s.CreateConversation(other, history.NewConversation{ContactID: c.ID, Channel: history.ChannelSMS})
	_, _, notFound["ListMessages"] = s.ListMessages(other, conv.ID, history.MessageQuery{})
	notFound["SetDelivery"] = s.SetDelivery(other, m.ID, history.DeliveryRead)
	_, notFound["GetAttachment"] = s.GetAttachment(other, a.ID)
	for name, err := range notFound {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s through another tenant: %v", name, err)
		}
	}
	for _, q := range []history.ConversationQuery{{}, {ContactID: c.ID}, {GroupID: "g"}, {Channel: history.ChannelWebChat}, {Visible: &history.Visibility{GroupIDs: []string{"g"}}}} {
		if cs, _, err := s.ListConversations(other, q); err != nil || len(cs) != 0 {
			t.Errorf("another tenant listed %+v: %d conversations, %v", q, len(cs), err)
		}
	}
	// Nothing changed.
	if got := must[*history.Contact](t)(s.GetContact(ctx, c.ID)); got.Name != "" || len(got.Identities) != 1 || got.MergedInto != "" {
		t.Errorf("contact changed through another tenant: %+v", got)
	}
	ms, _, _ := s.ListMessages(ctx, conv.ID, history.MessageQuery{})
	if len(ms) != 1 || ms[0].Delivery != history.DeliveryStored {
		t.Errorf("messages changed through another tenant: %+v", ms)
	}
	if _, err := s.FindContact(other, history.Identity{Kind: history.IdentityPhone, Value: "+869999"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("identity added through another tenant: %v", err)
	}
}

// testAttachmentFailures: a failing reader or an oversized file leave no
// attachment (a backend's own tests check that no bytes are left either).
func testAttachmentFailures(t *testing.T, ctx context.Context, s *history.Store) {
	boom := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("x"), 700<<10)), errReader{boom})
	if _, err := s.PutAttachment(ctx, "cut.bin", "application/octet-stream", r, 10<<20); !errors.Is(err, boom) {
		t.Fatalf("upload cut short: %v", err)
	}
	empty := must[*history.Attachment](t)(s.PutAttachment(ctx, "empty.txt", "text/plain", bytes.NewReader(nil), 10))
	_, rd, err := s.OpenAttachment(ctx, empty.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(rd); err != nil || len(b) != 0 || empty.Size != 0 {
		t.Fatalf("empty attachment: %q %v", b, err)
	}
	rd.Close()
	exact := bytes.Repeat([]byte("y"), 1000)
	if a, err := s.PutAttachment(ctx, "exact.bin", "application/octet-stream", bytes.NewReader(exact), 1000); err != nil || a.Size != 1000 {
		t.Fatalf("file of exactly the limit: %v", err)
	}
	if _, err := s.GetAttachment(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing attachment: %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
