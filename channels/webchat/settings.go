package webchat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

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

// loadSettings returns the tenant's settings, making its identity secret
// on first use (replicas racing to make it agree on the first stored).
func (s *Service) loadSettings(ctx context.Context) (*Settings, error) {
	st, err := s.store.Settings(ctx)
	if !errors.Is(err, store.ErrNotFound) {
		return st, err
	}
	return s.store.InitSettings(ctx, Settings{IdentitySecret: ids.Token(32), RotatedAt: s.now().UTC()})
}

// RotateIdentitySecret replaces the tenant's identity secret: signatures
// made with the old one are refused from now on.
func (s *Service) RotateIdentitySecret(ctx context.Context) (*Settings, error) {
	next := Settings{IdentitySecret: ids.Token(32), RotatedAt: s.now().UTC()}
	if err := s.store.SaveSettings(ctx, next); err != nil {
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
