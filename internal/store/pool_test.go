package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/internal/store/storetest"
)

// TestPoolShrinksAfterBurst is issue 12's "the store's connection pool grew
// to about 180 connections in a socket burst and never shrank": a burst of
// concurrent reads may open connections up to the embedded bound, and once
// idle they are closed again down to the pool's minimum.
func TestPoolShrinksAfterBurst(t *testing.T) {
	db, err := store.Open(context.Background(), store.Options{URI: storetest.Ferret(t, ""), Embedded: true, MaxConnIdleTime: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })
	ctx := store.WithTenant(context.Background(), "t1")
	c := db.Collection("things")
	docs := make([]any, 200)
	for i := range docs {
		docs[i] = bson.M{"_id": fmt.Sprintf("id-%04d", i), "n": i}
	}
	if err := c.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			for j := range 5 {
				var out bson.M
				if err := c.FindOne(ctx, bson.M{"_id": fmt.Sprintf("id-%04d", (i*5+j)%200)}, &out); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := db.PoolStats()
	t.Logf("after the burst: %+v", st)
	if st.Peak > store.EmbeddedMaxPoolSize {
		t.Fatalf("pool grew to %d connections, bound %d", st.Peak, store.EmbeddedMaxPoolSize)
	}
	if st.Peak <= store.MinPoolSize {
		t.Fatalf("the burst never grew the pool (peak %d): the test proves nothing", st.Peak)
	}
	// The driver closes idle connections on its 10 s maintenance pass.
	deadline := time.Now().Add(45 * time.Second)
	for db.PoolStats().Open > store.MinPoolSize {
		if time.Now().After(deadline) {
			t.Fatalf("pool did not shrink: %+v", db.PoolStats())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("idle: %+v", db.PoolStats())
}
