package mongo_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/internal/store/storetest"
	"github.com/omnihub/hub/kb"
	"github.com/omnihub/hub/kb/kbtest"
	"github.com/omnihub/hub/storage/mongo"
)

// TestKBContract runs the knowledge base's contract suite on the MongoDB
// stand-in and on the MongoDB of HUB_TEST_MONGODB_URI when set.
func TestKBContract(t *testing.T) {
	for _, sb := range storetest.Backends() {
		t.Run(sb.Name, func(t *testing.T) {
			kbtest.Run(t, func(t *testing.T) kb.Backend {
				b, err := mongo.NewKB(context.Background(), sb.Open(t))
				if err != nil {
					t.Fatal(err)
				}
				return b
			})
		})
	}
}

// TestKBBotSettingsOldKey: settings stored under the bare group id (before
// they were keyed by tenant) are still read, move to the tenant's key on
// the next save, and another tenant's old document is never read.
func TestKBBotSettingsOldKey(t *testing.T) {
	db := storetest.Embedded(t)
	b, err := mongo.NewKB(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	ca := store.WithTenant(context.Background(), "tenant-a")
	cb := store.WithTenant(context.Background(), "tenant-b")
	bots := db.Collection("kb_bot_settings")
	if _, err := bots.UpdateOne(ca, bson.M{"_id": "g-old"}, bson.M{"$set": bson.M{"enabled": false, "channels": []string{"webchat"}, "threshold": 0.42, "max_choices": 2}},
		options.UpdateOne().SetUpsert(true)); err != nil {
		t.Fatal(err)
	}
	if set, err := b.BotSettings(ca, "g-old"); err != nil || set == nil || set.Enabled || set.Threshold != 0.42 || set.MaxChoices != 2 || set.Group != "g-old" {
		t.Fatalf("old document not read: %+v %v", set, err)
	}
	if set, err := b.BotSettings(cb, "g-old"); err != nil || set != nil {
		t.Fatalf("tenant B reads A's old document: %+v %v", set, err)
	}
	if err := b.SetBotSettings(ca, &kb.BotSettings{Group: "g-old", Enabled: true, Threshold: 0.5, MaxChoices: 3}); err != nil {
		t.Fatal(err)
	}
	if set, _ := b.BotSettings(ca, "g-old"); set == nil || !set.Enabled || set.Threshold != 0.5 {
		t.Fatalf("after save: %+v", set)
	}
	if n, err := bots.CountDocuments(ca, bson.M{"_id": "g-old"}); err != nil || n != 0 {
		t.Fatalf("old document left: %d %v", n, err)
	}
	if n, err := bots.CountDocuments(ca, bson.M{"_id": "tenant-a/g-old"}); err != nil || n != 1 {
		t.Fatalf("new document: %d %v", n, err)
	}
}
