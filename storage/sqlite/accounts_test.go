package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/accounts/accountstest"
	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/storage/sqlite"
)

func TestAccountsContract(t *testing.T) {
	accountstest.Run(t, func(t *testing.T) accounts.Backend {
		b, err := sqlite.NewAccounts(context.Background(), openTestDB(t))
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// BenchmarkAuthenticate is what every authenticated request costs the
// store: the session by the hash of its token and its user, both by
// primary key, among 10,000 sessions of 1,000 users.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	db := openTestDB(b)
	be, err := sqlite.NewAccounts(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := accounts.New(ctx, be, accounts.Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		b.Fatal(err)
	}
	tctx := store.WithTenant(ctx, store.DefaultTenant)
	now := time.Now()
	// Concurrent writers share commits (group commit): the setup stays short.
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := 0; w < 50; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 1000; i += 50 {
				u, err := svc.CreateUser(tctx, accounts.UserInput{Username: fmt.Sprintf("agent%04d", i), Password: "agent-pass-1", Role: accounts.RoleAgent})
				if err != nil {
					errs <- err
					return
				}
				for j := 0; j < 10; j++ {
					s := accounts.Session{ID: ids.Token(32), Tenant: store.DefaultTenant, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
					if err := be.InsertLogin(tctx, accounts.LoginRecord{ID: ids.NewAt(now), Username: u.Username, UserID: u.ID, Time: now, Outcome: accounts.OutcomeSuccess}, &s); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	res, err := svc.Login(ctx, accounts.LoginRequest{Username: "agent0500", Password: "agent-pass-1", IP: "10.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Authenticate(ctx, res.Token); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
