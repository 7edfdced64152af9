package sqlite_test

import (
	"context"
	"testing"

	"github.com/omnihub/hub/internal/agentkit"
	"github.com/omnihub/hub/internal/agentkit/agentkittest"
	"github.com/omnihub/hub/storage/sqlite"
)

func TestAgentKitContract(t *testing.T) {
	agentkittest.Run(t, func(t *testing.T) agentkit.Backend {
		b, err := sqlite.NewAgentKit(context.Background(), openTestDB(t))
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}
