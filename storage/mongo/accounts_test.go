package mongo_test

import (
	"context"
	"testing"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/accounts/accountstest"
	"github.com/omnihub/hub/internal/store/storetest"
	"github.com/omnihub/hub/storage/mongo"
)

func TestAccountsContract(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			accountstest.Run(t, func(t *testing.T) accounts.Backend {
				b, err := mongo.NewAccounts(context.Background(), be.Open(t))
				if err != nil {
					t.Fatal(err)
				}
				return b
			})
		})
	}
}

// TestAccountsRestart: a second start on the same database (a restart, or
// another replica) finds its indexes made and works.
func TestAccountsRestart(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			db := be.Open(t)
			for i := 0; i < 2; i++ {
				if _, err := mongo.NewAccounts(context.Background(), db); err != nil {
					t.Fatalf("start %d: %v", i+1, err)
				}
			}
		})
	}
}
