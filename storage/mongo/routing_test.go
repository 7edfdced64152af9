package mongo_test

import (
	"context"
	"testing"

	"github.com/omnihub/hub/internal/acd"
	"github.com/omnihub/hub/internal/acd/acdtest"
	"github.com/omnihub/hub/internal/store/storetest"
	"github.com/omnihub/hub/storage/mongo"
)

func TestRoutingContract(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			acdtest.Run(t, func(t *testing.T) acd.Backend {
				b, err := mongo.NewRouting(context.Background(), be.Open(t))
				if err != nil {
					t.Fatal(err)
				}
				return b
			})
		})
	}
}
