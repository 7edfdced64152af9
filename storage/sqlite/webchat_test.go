package sqlite_test

import (
	"context"
	"testing"

	"github.com/omnihub/hub/channels/webchat"
	"github.com/omnihub/hub/channels/webchat/webchattest"
	"github.com/omnihub/hub/storage/sqlite"
)

func TestWebChatContract(t *testing.T) {
	webchattest.Run(t, func(t *testing.T) webchat.Backend {
		b, err := sqlite.NewWebChat(context.Background(), openTestDB(t))
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}
