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
			rep := options.Replace().SetUpsert(true)
			if res, err := c.ReplaceOne(bb, bson.M{"_id": "x1"}, doc{ID: "x1", N: 99}, rep); err != nil || res.MatchedCount != 0 || res.UpsertedCount != 0 {
				t.Fatalf("b replaced a's doc: %v %+v", err, res)
			}
			// Replacing by id (the fast path) and upserting by id.
			if res, err := c.ReplaceOne(a, bson.M{"_id": "x1"}, doc{ID: "x1", N: 1}, rep); err != nil || res.MatchedCount != 1 {
				t.Fatalf("a replaced its doc: %v %+v", err, res)
			}
			if res, err := c.ReplaceOne(a, bson.M{"_id": "x9"}, doc{ID: "x9", N: 9}, rep); err != nil || res.UpsertedCount != 1 {
				t.Fatalf("a upserted by replace: %v %+v", err, res)
			}
			if err := c.FindOne(a, bson.M{"_id": "x9"}, &got); err != nil || got.Tenant != "a" || got.N != 9 {
				t.Fatalf("replace-upserted doc: %v %+v", err, got)
			}
			if n, err := c.DeleteOne(a, bson.M{"_id": "x9"}); err != nil || n != 1 {
				t.Fatalf("delete x9: %v %d", err, n)
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

// Ids "<tenant>/..." belong to that tenant: writes by such ids skip the
// ownership read, so no other tenant may ever create one.
func TestTenantPrefixedIDs(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			c := db.Collection("prefixed")
			a := store.WithTenant(context.Background(), "a")
			bb := store.WithTenant(context.Background(), "b")
			if err := c.InsertOne(a, doc{ID: "a/1", N: 1}); err != nil {
				t.Fatal(err)
			}
			if err := c.InsertOne(a, doc{ID: "b/1", N: 1}); !errors.Is(err, store.ErrTenantMismatch) {
				t.Fatalf("a inserted b's id: %v", err)
			}
			if err := c.InsertMany(a, []any{doc{ID: "a/2"}, doc{ID: "b/2"}}); !errors.Is(err, store.ErrTenantMismatch) {
				t.Fatalf("a inserted b's id in a batch: %v", err)
			}
			up := options.UpdateOne().SetUpsert(true)
			if res, err := c.UpdateOne(a, bson.M{"_id": "b/3"}, bson.M{"$set": bson.M{"n": 3}}, up); err != nil || res.UpsertedCount != 0 {
				t.Fatalf("a upserted b's id: %v %+v", err, res)
			}
			if _, err := c.UpdateOne(a, bson.M{"_id": "b/3", "n": 3}, bson.M{"$set": bson.M{"n": 3}}, up); !errors.Is(err, store.ErrTenantMismatch) {
				t.Fatalf("a upserted b's id with a scoped filter: %v", err)
			}
			var got doc
			if err := c.FindOne(bb, bson.M{"_id": "b/3"}, &got); !errors.Is(err, mongo.ErrNoDocuments) {
				t.Fatalf("b/3 exists: %v %+v", err, got)
			}
			// b cannot touch a's prefixed document by id.
			if res, err := c.UpdateOne(bb, bson.M{"_id": "a/1"}, bson.M{"$set": bson.M{"n": 9}}, up); err != nil || res.MatchedCount != 0 || res.UpsertedCount != 0 {
				t.Fatalf("b updated a/1: %v %+v", err, res)
			}
			if err := c.FindOneAndUpdate(bb, bson.M{"_id": "a/1"}, bson.M{"$set": bson.M{"n": 9}}, &got); !errors.Is(err, mongo.ErrNoDocuments) {
				t.Fatalf("b find-and-updated a/1: %v", err)
			}
			if n, err := c.DeleteOne(bb, bson.M{"_id": "a/1"}); err != nil || n != 0 {
				t.Fatalf("b deleted a/1: %v %d", err, n)
			}
			// A replacement naming another tenant's id is refused outright.
			if _, err := c.ReplaceOne(bb, bson.M{"_id": "a/1"}, doc{ID: "a/1", N: 9}, options.Replace().SetUpsert(true)); !errors.Is(err, store.ErrTenantMismatch) {
				t.Fatalf("b replaced a/1: %v", err)
			}
			if _, err := c.ReplaceOne(a, bson.M{"_id": "b/5"}, doc{ID: "b/5", N: 5}, options.Replace().SetUpsert(true)); !errors.Is(err, store.ErrTenantMismatch) {
				t.Fatalf("a upserted b's id by replace: %v", err)
			}
			if err := c.FindOne(a, bson.M{"_id": "a/1"}, &got); err != nil || got.N != 1 {
				t.Fatalf("a/1 after b's attempts: %v %+v", err, got)
			}
			// a's fast paths: update, upsert (stamped with a), find-and-update, delete.
			if res, err := c.UpdateOne(a, bson.M{"_id": "a/1"}, bson.M{"$inc": bson.M{"n": 1}}); err != nil || res.MatchedCount != 1 {
				t.Fatalf("a updated a/1: %v %+v", err, res)
			}
			if _, err := c.UpdateOne(a, bson.M{"_id": "a/4"}, bson.M{"$inc": bson.M{"n": 4}}, up); err != nil {
				t.Fatal(err)
			}
			if err := c.FindOne(a, bson.M{"_id": "a/4"}, &got); err != nil || got.Tenant != "a" || got.N != 4 {
				t.Fatalf("upserted a/4: %v %+v", err, got)
			}
			if err := c.FindOneAndUpdate(a, bson.M{"_id": "a/1"}, bson.M{"$inc": bson.M{"n": 1}}, &got, options.FindOneAndUpdate().SetReturnDocument(options.After)); err != nil || got.N != 3 {
				t.Fatalf("a find-and-updated a/1: %v %+v", err, got)
			}
			if n, err := c.DeleteOne(a, bson.M{"_id": "a/4"}); err != nil || n != 1 {
				t.Fatalf("a deleted a/4: %v %d", err, n)
			}
			if err := c.FindOne(bb, bson.M{"_id": "a/1"}, &got); !errors.Is(err, mongo.ErrNoDocuments) {
				t.Fatalf("b read a/1: %v", err)
			}
		})
	}
}

// An unordered InsertMany stores every document it can and reports the
// others by index: group commits rely on it.
func TestInsertManyUnordered(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			c := db.Collection("batch")
			a := store.WithTenant(context.Background(), "a")
			if err := c.InsertOne(a, doc{ID: "a/2"}); err != nil {
				t.Fatal(err)
			}
			err := c.InsertMany(a, []any{doc{ID: "a/1"}, doc{ID: "a/2"}, doc{ID: "a/3"}}, options.InsertMany().SetOrdered(false))
			var bwe mongo.BulkWriteException
			if !errors.As(err, &bwe) || len(bwe.WriteErrors) != 1 || bwe.WriteErrors[0].Index != 1 || !mongo.IsDuplicateKeyError(err) {
				t.Fatalf("unordered insert with a duplicate: %v", err)
			}
			var all []doc
			if err := c.FindAll(a, nil, &all); err != nil || len(all) != 3 {
				t.Fatalf("stored %d documents: %v", len(all), err)
			}
		})
	}
}

// A named string id type (as every package uses) takes the by-id path and
// is still checked against the tenant.
func TestNamedIDType(t *testing.T) {
	type convID string
	db := storetest.Embedded(t)
	c := db.Collection("named")
	a := store.WithTenant(context.Background(), "a")
	b := store.WithTenant(context.Background(), "b")
	if err := c.InsertOne(a, bson.M{"_id": "k1", "n": 1}); err != nil {
		t.Fatal(err)
	}
	var out bson.M
	if err := c.FindOne(a, bson.M{"_id": convID("k1")}, &out); err != nil {
		t.Fatalf("own read by named id: %v", err)
	}
	if err := c.FindOne(b, bson.M{"_id": convID("k1")}, &out); err == nil {
		t.Fatal("other tenant read by named id")
	}
}
