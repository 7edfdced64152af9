package webchat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/omnihub/hub/internal/httpapi"
	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/store"
)

// Settings are a tenant's web chat settings.
type Settings struct {
	// IdentitySecret signs the site's customer ids (identity verification):
	// the site's server computes user_hash = hex(HMAC-SHA256(key:
	// IdentitySecret as written, message: user_id)) and gives it to the
	// page with the user id. Keep it on the site's server only.
	IdentitySecret string `json:"identity_secret" bson:"identity_secret"`
	// RotatedAt is when the secret was made.
	RotatedAt time.Time `json:"identity_secret_rotated_at" bson:"rotated_at"`
}

// settingsDoc is one per tenant; its id carries the tenant.
type settingsDoc struct {
	ID       string `bson:"_id"`
	Settings `bson:",inline"`
}

func settingsID(t store.TenantID) string { return string(t) + "/settings" }

// loadSettings returns the tenant's settings, making its identity secret
// on first use (replicas racing to make it agree on the first stored).
func (s *Service) loadSettings(ctx context.Context) (*Settings, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return nil, store.ErrNoTenant
	}
	var d settingsDoc
	err := s.settings.FindOne(ctx, bson.M{"_id": settingsID(t)}, &d)
	if err == nil {
		return &d.Settings, nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, err
	}
	d = settingsDoc{ID: settingsID(t), Settings: Settings{IdentitySecret: ids.Token(32), RotatedAt: s.now().UTC()}}
	if err := s.settings.InsertOne(ctx, d); err != nil && !store.IsDuplicateKey(err) {
		return nil, err
	}
	if err := s.settings.FindOne(ctx, bson.M{"_id": settingsID(t)}, &d); err != nil {
		return nil, err
	}
	return &d.Settings, nil
}

// RotateIdentitySecret replaces the tenant's identity secret: signatures
// made with the old one are refused from now on.
func (s *Service) RotateIdentitySecret(ctx context.Context) (*Settings, error) {
	if _, err := s.loadSettings(ctx); err != nil {
		return nil, err
	}
	t, _ := store.Tenant(ctx)
	next := Settings{IdentitySecret: ids.Token(32), RotatedAt: s.now().UTC()}
	if _, err := s.settings.UpdateOne(ctx, bson.M{"_id": settingsID(t)}, bson.M{"$set": bson.M{"identity_secret": next.IdentitySecret, "rotated_at": next.RotatedAt}}); err != nil {
		return nil, err
	}
	return &next, nil
}

// verifyUser checks the site's signature of its customer id with the
// tenant's identity secret, in constant time.
func (s *Service) verifyUser(ctx context.Context, user, hash string) error {
	refused := &httpapi.Error{Status: fiber.StatusUnauthorized, Code: "unauthenticated", Field: "user_hash",
		Message: "user_hash must be the hex HMAC-SHA256 of user_id with the site's identity secret"}
	got, err := hex.DecodeString(hash)
	if err != nil || len(got) != sha256.Size {
		return refused
	}
	st, err := s.loadSettings(ctx)
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, []byte(st.IdentitySecret))
	m.Write([]byte(user))
	if !hmac.Equal(got, m.Sum(nil)) {
		return refused
	}
	return nil
}

// MountAdmin registers the admins' web chat settings on the authenticated
// /api/v1 router: GET /webchat-settings (the identity secret) and POST
// /webchat-settings/rotate-secret. They live outside /api/v1/webchat,
// whose routes are public.
func (s *Service) MountAdmin(r fiber.Router) {
	r.Get("/webchat-settings", httpapi.AdminOnly(), func(c *fiber.Ctx) error {
		st, err := s.loadSettings(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(st)
	})
	r.Post("/webchat-settings/rotate-secret", httpapi.AdminOnly(), func(c *fiber.Ctx) error {
		st, err := s.RotateIdentitySecret(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(st)
	})
}
