package sqlite

import (
	"context"
	"testing"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store"
)

// TestMessagesMoveToTheRowidLayout: a store written with the first
// messages layout (clustered by tenant, conversation, seq), or with the
// rowid table and its two indexes, is migrated at start: its messages are
// all there, in order, a resent client id is still recognised, and new
// messages follow their sequence.
func TestMessagesMoveToTheRowidLayout(t *testing.T) {
	for _, c := range []struct {
		name     string
		newSteps int // the steps the store has not run
	}{{"clustered", 9}, {"two indexes", 3}} {
		t.Run(c.name, func(t *testing.T) { testMessagesMove(t, c.newSteps) })
	}
}

func testMessagesMove(t *testing.T, newSteps int) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, sqlitedb.Options{Dir: t.TempDir(), Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	old := sqlitedb.Migration{Domain: historySchema.Domain, Steps: historySchema.Steps[:len(historySchema.Steps)-newSteps]}
	if err := db.Migrate(ctx, old); err != nil {
		t.Fatal(err)
	}
	tctx := store.WithTenant(ctx, "t1")
	before := history.New(&History{db: db})
	ct, _, err := before.FindOrCreateContact(tctx, history.Identity{Kind: history.IdentityPhone, Value: "13800000000"}, "王女士")
	if err != nil {
		t.Fatal(err)
	}
	conv, err := before.CreateConversation(tctx, history.NewConversation{ContactID: ct.ID, Channel: history.ChannelWebChat, GroupID: "g"})
	if err != nil {
		t.Fatal(err)
	}
	var first *history.Message
	for i, body := range []string{"宽带没信号了", "光猫灯是红的"} {
		m, _, err := before.AppendMessageTo(tctx, conv, history.NewMessage{Direction: history.DirectionIn, Body: body,
			ClientMsgID: []string{"c1", "c2"}[i], Sender: history.Sender{Type: history.SenderCustomer}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = m
		}
	}

	h, err := NewHistory(ctx, db) // migrates
	if err != nil {
		t.Fatal(err)
	}
	var idx string
	if err := db.QueryRow(ctx, `SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' ORDER BY name)`).Scan(&idx); err != nil || idx != "messages_conv" {
		t.Fatalf("messages indexes: %q %v", idx, err)
	}
	after := history.New(h)
	ms, _, err := after.ListMessages(tctx, conv.ID, history.MessageQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Body != "宽带没信号了" || ms[1].Body != "光猫灯是红的" {
		t.Fatalf("messages after the move: %+v", ms)
	}
	again, created, err := after.AppendMessageTo(tctx, conv, history.NewMessage{Direction: history.DirectionIn, Body: "宽带没信号了",
		ClientMsgID: "c1", Sender: history.Sender{Type: history.SenderCustomer}})
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("resent c1: created %v id %s (want %s) err %v", created, again.ID, first.ID, err)
	}
	third, created, err := after.AppendMessageTo(tctx, conv, history.NewMessage{Direction: history.DirectionIn, Body: "好了，谢谢",
		ClientMsgID: "c3", Sender: history.Sender{Type: history.SenderCustomer}})
	if err != nil || !created || third.ID != history.MessageIDOf(conv.ID, 3) {
		t.Fatalf("third message: %+v created %v err %v", third, created, err)
	}
}
