package mongo_test

import (
	"context"
	"testing"

	"github.com/omnihub/hub/internal/agentkit"
	"github.com/omnihub/hub/internal/agentkit/agentkittest"
	"github.com/omnihub/hub/internal/store/storetest"
	"github.com/omnihub/hub/storage/mongo"
)

func TestAgentKitContract(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			agentkittest.Run(t, func(t *testing.T) agentkit.Backend {
				b, err := mongo.NewAgentKit(context.Background(), be.Open(t))
				if err != nil {
					t.Fatal(err)
				}
				return b
			})
		})
	}
}
