// Package storetest starts MongoDB-compatible databases for tests: an
// in-process FerretDB always, and the MongoDB named by HUB_TEST_MONGODB_URI
// when it is set. Only tests import it.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/omnihub/hub/internal/store"
)

// Backend names a database a contract suite runs against.
type Backend struct {
	Name string
	Open func(t testing.TB) *store.DB
}

// Backends lists the in-process FerretDB and, when HUB_TEST_MONGODB_URI is set,
// that MongoDB (each test gets its own database there, dropped afterwards).
func Backends() []Backend {
	b := []Backend{{Name: "embedded", Open: Embedded}}
	if uri := os.Getenv("HUB_TEST_MONGODB_URI"); uri != "" {
		b = append(b, Backend{Name: "mongodb", Open: func(t testing.TB) *store.DB { return MongoDB(t, uri) }})
	}
	return b
}

// Embedded starts FerretDB (see Ferret) for one test and opens it as the
// one process writing it.
func Embedded(t testing.TB) *store.DB {
	t.Helper()
	return open(t, store.Options{URI: Ferret(t, os.Getenv("HUB_TEST_EMBEDDED_SYNC")), Embedded: true})
}

// MongoDB opens a fresh database on the server at uri, dropped afterwards.
func MongoDB(t testing.TB, uri string) *store.DB {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	db := open(t, store.Options{URI: uri, Database: "hubtest_" + hex.EncodeToString(b[:])})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = db.Database().Drop(ctx)
	})
	return db
}

func open(t testing.TB, o store.Options) *store.DB {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = db.Close(ctx)
	})
	return db
}
