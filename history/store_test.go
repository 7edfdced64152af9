package history_test

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
	"github.com/omnihub/hub/internal/store/storetest"
)

// TestContract runs the store's contract suite against every backend: the
// embedded server always, a real MongoDB when HUB_TEST_MONGODB_URI is set.
func TestContract(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			s, err := history.New(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range contract {
				t.Run(c.name, func(t *testing.T) {
					ctx := store.WithTenant(context.Background(), store.TenantID("t-"+c.name))
					c.fn(t, ctx, s)
				})
			}
		})
	}
}

var contract = []struct {
	name string
	fn   func(t *testing.T, ctx context.Context, s *history.Store)
}{
	{"contact_find_or_create_is_unique_under_concurrency", testContactConcurrency},
	{"identities_and_merge", testMerge},
	{"conversation_lifecycle_and_listing", testConversations},
	{"message_idempotent_by_client_id", testIdempotent},
	{"message_paging", testPaging},
	{"attachments_round_trip", testAttachments},
	{"validation_names_field", testValidation},
	{"tenant_isolation", testTenantIsolation},
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
	other := store.WithTenant(context.Background(), "other-tenant")
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
