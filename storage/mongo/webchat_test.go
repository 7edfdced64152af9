package mongo_test

import (
	"context"
	"testing"

	"github.com/omnihub/hub/channels/webchat"
	"github.com/omnihub/hub/channels/webchat/webchattest"
	"github.com/omnihub/hub/internal/store/storetest"
	"github.com/omnihub/hub/storage/mongo"
)

func TestWebChatContract(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			webchattest.Run(t, func(t *testing.T) webchat.Backend {
				b, err := mongo.NewWebChat(context.Background(), be.Open(t))
				if err != nil {
					t.Fatal(err)
				}
				return b
			})
		})
	}
}
