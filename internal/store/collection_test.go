package store_test

import (
	"context"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/internal/store/storetest"
)

type doc struct {
	ID     string `bson:"_id"`
	Tenant string `bson:"tenant,omitempty"`
	N      int    `bson:"n"`
}

func TestScopedCollection(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			c := db.Collection("things")
			a := store.WithTenant(context.Background(), "a")
			bb := store.WithTenant(context.Background(), "b")
			if err := c.InsertOne(a, doc{ID: "x1", N: 1}); err != nil {
				t.Fatal(err)
			}
			if err := c.InsertOne(a, doc{ID: "x2", Tenant: "b", N: 1}); !errors.Is(err, store.ErrTenantMismatch) {
				t.Fatalf("insert for another tenant: %v", err)
			}
			if err := c.InsertOne(context.Background(), doc{ID: "x3"}); !errors.Is(err, store.ErrNoTenant) {
				t.Fatalf("insert without tenant: %v", err)
			}
			var got doc
			if err := c.FindOne(a, bson.M{"_id": "x1"}, &got); err != nil || got.Tenant != "a" {
				t.Fatalf("own read: %v %+v", err, got)
			}
			// By id (the fast path) and by any other filter, b sees nothing of a.
			if err := c.FindOne(bb, bson.M{"_id": "x1"}, &got); !errors.Is(err, mongo.ErrNoDocuments) {
				t.Fatalf("b read a's doc by id: %v", err)
			}
			if err := c.FindOne(bb, bson.M{"n": 1}, &got); !errors.Is(err, mongo.ErrNoDocuments) {
				t.Fatalf("b read a's doc by field: %v", err)
			}
			if err := c.FindOne(bb, bson.M{"_id": "x1", "tenant": "a"}, &got); !errors.Is(err, store.ErrTenantMismatch) {
				t.Fatalf("b named tenant a: %v", err)
			}
			res, err := c.UpdateOne(bb, bson.M{"_id": "x1"}, bson.M{"$set": bson.M{"n": 99}})
			if err != nil || res.MatchedCount != 0 {
				t.Fatalf("b updated a's doc: %v %+v", err, res)
			}
			if err := c.FindOneAndUpdate(bb, bson.M{"_id": "x1"}, bson.M{"$set": bson.M{"n": 99}}, &got); !errors.Is(err, mongo.ErrNoDocuments) {
				t.Fatalf("b find-and-updated a's doc: %v", err)
			}
			if n, err := c.DeleteOne(bb, bson.M{"_id": "x1"}); err != nil || n != 0 {
				t.Fatalf("b deleted a's doc: %v %d", err, n)
			}
			if _, err := c.UpdateOne(a, bson.M{"_id": "x1"}, bson.M{"$set": bson.M{"tenant": "b"}}); !errors.Is(err, store.ErrTenantMismatch) {
				t.Fatalf("moving a doc to another tenant: %v", err)
			}
			// An upsert by id creates a document of the caller's tenant.
			if _, err := c.UpdateOne(bb, bson.M{"_id": "y1"}, bson.M{"$inc": bson.M{"n": 1}}, options.UpdateOne().SetUpsert(true)); err != nil {
				t.Fatal(err)
			}
			if err := c.FindOne(bb, bson.M{"_id": "y1"}, &got); err != nil || got.Tenant != "b" || got.N != 1 {
				t.Fatalf("upsert: %v %+v", err, got)
			}
			var all []doc
			if err := c.FindAll(a, nil, &all); err != nil || len(all) != 1 || all[0].N != 1 {
				t.Fatalf("a's docs after b's attempts: %v %+v", err, all)
			}
			var agg []bson.M
			if err := c.Aggregate(bb, []bson.D{{{Key: "$group", Value: bson.M{"_id": nil, "n": bson.M{"$sum": 1}}}}}, &agg); err != nil || len(agg) != 1 {
				t.Fatalf("aggregate: %v %v", err, agg)
			}
			if n, _ := agg[0]["n"].(int32); n != 1 {
				t.Fatalf("b's aggregate counted %v", agg[0]["n"])
			}
		})
	}
}
