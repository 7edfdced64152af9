package webchat

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/httpapi"
	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/store"
)

// sessionBody is POST /api/v1/webchat/session. Every field is optional.
type sessionBody struct {
	// Tenant is the site's tenant (default "default").
	Tenant string `json:"tenant"`
	// Token is the visitor token this browser was given before: a valid
	// one of the same tenant continues the same visitor, anything else
	// starts a new one.
	Token string `json:"token"`
	// VisitorID is refused: visitor ids are issued by the hub.
	VisitorID *string `json:"visitor_id"`
	// UserID, UserName and UserHash attach the site's signed-in customer
	// (identity verification); UserHash = hex(HMAC-SHA256(identity secret,
	// UserID)).
	UserID   string `json:"user_id"`
	UserName string `json:"user_name"`
	UserHash string `json:"user_hash"`
}

// GroupInfo is a skill group a customer can pick.
type GroupInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// SessionView is what POST /api/v1/webchat/session answers.
type SessionView struct {
	Token     string      `json:"token"`
	VisitorID string      `json:"visitor_id"`
	ExpiresAt time.Time   `json:"expires_at"`
	UserID    string      `json:"user_id,omitempty"`
	Title     string      `json:"title"`
	Groups    []GroupInfo `json:"groups"`
}

// hSession gives the page a visitor token: the same visitor when it
// presents its previous token, a new random one otherwise. It writes
// nothing: the contact is made when the visitor first writes.
func (s *Service) hSession(c *fiber.Ctx) error {
	var b sessionBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if b.VisitorID != nil {
		return httpapi.BadRequest("visitor_id", "visitor ids are issued by the hub: send the previous token to continue as the same visitor")
	}
	if b.Tenant == "" {
		b.Tenant = string(store.DefaultTenant)
	}
	if len(b.Tenant) > 64 {
		return httpapi.BadRequest("tenant", "unknown tenant")
	}
	src := s.sourceOf(c)
	if err := s.allowSource(opSession, src, store.TenantID(b.Tenant)); err != nil {
		return tooMany(c, err)
	}
	if err := checkUserClaim(b); err != nil {
		return err
	}
	ctx := store.WithTenant(c.UserContext(), store.TenantID(b.Tenant))
	t, err := s.dir.GetTenant(ctx)
	if err != nil {
		return httpapi.BadRequest("tenant", "unknown tenant")
	}
	if err := s.allowTenant(opSession, src, t.ID); err != nil {
		return tooMany(c, err)
	}
	if b.UserID != "" {
		if err := s.verifyUser(ctx, b.UserID, b.UserHash); err != nil {
			return err
		}
	}
	v := visitor{tenant: t.ID, user: b.UserID, name: strings.TrimSpace(b.UserName), issued: s.now()}
	// A previous token continues its visitor within its tenant, unless it
	// was a signed-in customer's and this page is not that customer's (a
	// shared computer after logout).
	if prev, err := s.verify(b.Token); err == nil && prev.tenant == t.ID && (prev.user == "" || prev.user == b.UserID) {
		v.id = prev.id
	} else {
		v.id = ids.Token(16)
	}
	groups, err := s.dir.ListGroups(ctx, false)
	if err != nil {
		return err
	}
	out := []GroupInfo{}
	for _, g := range groups {
		if !g.WebChatHidden {
			out = append(out, GroupInfo{ID: string(g.ID), Name: g.Name})
		}
	}
	return c.JSON(SessionView{Token: s.token(v), VisitorID: v.id, ExpiresAt: v.issued.Add(VisitorTokenTTL).UTC().Truncate(time.Second),
		UserID: v.user, Title: t.Title, Groups: out})
}

// checkUserClaim checks the identity claim's shape; the signature is
// checked against the tenant's secret after.
func checkUserClaim(b sessionBody) error {
	if b.UserID == "" {
		if b.UserHash != "" || b.UserName != "" {
			return httpapi.BadRequest("user_id", "user_id is required with user_hash and user_name")
		}
		return nil
	}
	if len(b.UserID) > 128 || !utf8.ValidString(b.UserID) || strings.IndexFunc(b.UserID, unicode.IsControl) >= 0 {
		return httpapi.BadRequest("user_id", "user_id must be 1-128 bytes of text")
	}
	if utf8.RuneCountInString(b.UserName) > 64 || strings.IndexFunc(b.UserName, unicode.IsControl) >= 0 {
		return httpapi.BadRequest("user_name", "user_name must be at most 64 characters")
	}
	if b.UserHash == "" {
		return &httpapi.Error{Status: fiber.StatusUnauthorized, Code: "unauthenticated", Field: "user_hash", Message: "user_id must be signed: user_hash is required"}
	}
	return nil
}

// contactFor finds or creates the contact a visitor writes as. A verified
// customer is one contact on every device (identity web_user); this
// device's visitor id joins it unless an earlier anonymous chat on this
// browser already made it another contact's. name names a new anonymous
// contact.
func (s *Service) contactFor(ctx context.Context, v visitor, name string) (*history.Contact, error) {
	web := history.Identity{Kind: history.IdentityWebVisitor, Value: v.id}
	if v.user == "" {
		ct, _, err := s.hist.FindOrCreateContact(ctx, web, name)
		return ct, err
	}
	ct, _, err := s.hist.FindOrCreateContact(ctx, history.Identity{Kind: history.IdentityWebUser, Value: v.user}, v.name)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(ct.Identities, web) {
		var dup *store.DuplicateError
		if err := s.hist.AddIdentity(ctx, ct.ID, web); err != nil && !errors.As(err, &dup) {
			return nil, err
		}
	}
	return ct, nil
}
