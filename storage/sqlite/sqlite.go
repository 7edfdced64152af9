// Package sqlite holds the embedded backend of every domain's store
// interface: tables in the hub's SQLite file (internal/sqlitedb) with typed
// columns for everything the hub filters or sorts on, the tenant first in
// every primary key and index, and a JSON document column for the rest.
//
// One file per domain (history.go, accounts.go, routing.go, kb.go,
// webchat.go, ...), each with its schema as a [sqlitedb.Migration] and its
// tables that grow with traffic listed in [Growing], which the plan check
// (sqlitedb.DB.CheckPlans) uses: no statement may scan them.
package sqlite

import (
	"context"
	"sort"
	"sync"

	"github.com/omnihub/hub/internal/store"
)

var (
	growingMu sync.Mutex
	growing   []string
)

// grows records tables whose size grows with traffic (called from each
// domain file's init).
func grows(tables ...string) {
	growingMu.Lock()
	defer growingMu.Unlock()
	growing = append(growing, tables...)
}

// Growing lists the tables that grow with traffic, sorted.
func Growing() []string {
	growingMu.Lock()
	defer growingMu.Unlock()
	out := append([]string(nil), growing...)
	sort.Strings(out)
	return out
}

// tenant is the tenant of ctx as a column value; a context without one is
// refused (store.ErrNoTenant), as on MongoDB.
func tenant(ctx context.Context) (string, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return "", store.ErrNoTenant
	}
	return string(t), nil
}
