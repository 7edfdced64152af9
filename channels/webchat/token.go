package webchat

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/omnihub/hub/internal/store"
)

// VisitorTokenTTL is how long a visitor token is valid. Every visit of the
// page exchanges the previous token for a fresh one, so only a visitor away
// longer than this becomes a new visitor.
const VisitorTokenTTL = 30 * 24 * time.Hour

// maxTokenLen bounds what verify reads.
const maxTokenLen = 1024

// visitor is a verified visitor token: the tenant, the visitor id the hub
// issued, and, when the site signed its customer's id, that user.
type visitor struct {
	tenant store.TenantID
	id     string
	user   string // the site's customer id (identity verification), or ""
	name   string // the site's name for that customer
	issued time.Time
}

var errBadToken = errors.New("invalid visitor token")

// tokenClaims is a token's signed payload.
type tokenClaims struct {
	Tenant string `json:"t"`
	ID     string `json:"v"`
	Issued int64  `json:"i"`
	User   string `json:"u,omitempty"`
	Name   string `json:"n,omitempty"`
}

// token signs v: base64url(JSON claims) "." base64url(HMAC-SHA256).
func (s *Service) token(v visitor) string {
	b, _ := json.Marshal(tokenClaims{Tenant: string(v.tenant), ID: v.id, Issued: v.issued.Unix(), User: v.user, Name: v.name})
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + s.sign("visitor", p)
}

// verify checks a token's signature and age. The token alone proves the
// visitor: nothing a caller sends besides it can name one.
func (s *Service) verify(tok string) (visitor, error) {
	if len(tok) > maxTokenLen {
		return visitor{}, errBadToken
	}
	p, sig, ok := strings.Cut(tok, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.sign("visitor", p))) {
		return visitor{}, errBadToken
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return visitor{}, errBadToken
	}
	var c tokenClaims
	if err := json.Unmarshal(b, &c); err != nil || c.Tenant == "" || !visitorRe.MatchString(c.ID) {
		return visitor{}, errBadToken
	}
	issued := time.Unix(c.Issued, 0)
	now := s.now()
	if now.Sub(issued) > VisitorTokenTTL || issued.After(now.Add(5*time.Minute)) {
		return visitor{}, errors.New("visitor token expired")
	}
	return visitor{tenant: store.TenantID(c.Tenant), id: c.ID, user: c.User, name: c.Name, issued: issued}, nil
}
