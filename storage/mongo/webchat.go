package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/omnihub/hub/channels/webchat"
	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/store"
)

// WebChat is the MongoDB backend of webchat.Backend: collections
// webchat_visitors and webchat_settings (tenant-scoped, ids carrying the
// tenant so that every read is by _id) and hub_secrets (global).
type WebChat struct {
	visitors, settings *store.Collection
	secrets            *mongo.Collection
}

var _ webchat.Backend = (*WebChat)(nil)

// NewWebChat returns the backend (every read is by _id: no index to make).
func NewWebChat(_ context.Context, db *store.DB) (*WebChat, error) {
	return &WebChat{visitors: db.Collection("webchat_visitors"), settings: db.Collection("webchat_settings"), secrets: db.Global("hub_secrets")}, nil
}

// Secret implements webchat.Backend.
func (w *WebChat) Secret(ctx context.Context, name, fresh string) (string, error) {
	_, err := w.secrets.InsertOne(ctx, bson.M{"_id": name, "value": fresh})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return "", err
	}
	var doc struct{ Value string }
	if err := w.secrets.FindOne(ctx, bson.M{"_id": name}).Decode(&doc); err != nil {
		return "", err
	}
	return doc.Value, nil
}

// wcVisitorDoc is a visitor; its id is "<tenant>/<visitor id>".
type wcVisitorDoc struct {
	ID             string                 `bson:"_id"`
	ContactID      history.ContactID      `bson:"contact_id"`
	ConversationID history.ConversationID `bson:"conversation_id,omitempty"`
}

func wcKey(ctx context.Context, suffix string) (string, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return "", store.ErrNoTenant
	}
	return string(t) + "/" + suffix, nil
}

// Visitor implements webchat.Backend.
func (w *WebChat) Visitor(ctx context.Context, id string) (*webchat.Visitor, error) {
	key, err := wcKey(ctx, id)
	if err != nil {
		return nil, err
	}
	var d wcVisitorDoc
	if err := w.visitors.FindOne(ctx, bson.M{"_id": key}, &d); err != nil {
		return nil, store.NotFound(err, "visitor", id)
	}
	return &webchat.Visitor{ID: id, ContactID: d.ContactID, ConversationID: d.ConversationID}, nil
}

// SaveVisitor implements webchat.Backend.
func (w *WebChat) SaveVisitor(ctx context.Context, v webchat.Visitor) error {
	key, err := wcKey(ctx, v.ID)
	if err != nil {
		return err
	}
	d := wcVisitorDoc{ID: key, ContactID: v.ContactID, ConversationID: v.ConversationID}
	_, err = w.visitors.ReplaceOne(ctx, bson.M{"_id": key}, d, options.Replace().SetUpsert(true))
	return err
}

// wcSettingsDoc is one per tenant, id "<tenant>/settings".
type wcSettingsDoc struct {
	ID               string `bson:"_id"`
	webchat.Settings `bson:",inline"`
}

// Settings implements webchat.Backend.
func (w *WebChat) Settings(ctx context.Context) (*webchat.Settings, error) {
	key, err := wcKey(ctx, "settings")
	if err != nil {
		return nil, err
	}
	var d wcSettingsDoc
	if err := w.settings.FindOne(ctx, bson.M{"_id": key}, &d); err != nil {
		return nil, store.NotFound(err, "web chat settings", "")
	}
	return &d.Settings, nil
}

// InitSettings implements webchat.Backend.
func (w *WebChat) InitSettings(ctx context.Context, fresh webchat.Settings) (*webchat.Settings, error) {
	key, err := wcKey(ctx, "settings")
	if err != nil {
		return nil, err
	}
	if err := w.settings.InsertOne(ctx, wcSettingsDoc{ID: key, Settings: fresh}); err != nil && !store.IsDuplicateKey(err) {
		return nil, err
	}
	return w.Settings(ctx)
}

// SaveSettings implements webchat.Backend.
func (w *WebChat) SaveSettings(ctx context.Context, st webchat.Settings) error {
	key, err := wcKey(ctx, "settings")
	if err != nil {
		return err
	}
	_, err = w.settings.ReplaceOne(ctx, bson.M{"_id": key}, wcSettingsDoc{ID: key, Settings: st}, options.Replace().SetUpsert(true))
	return err
}
