// Package webchat is the web chat channel (MISSION C5): an embeddable
// widget script and a standalone H5 page for customers, a visitor identity
// kept in the browser, and the customer's WebSocket through which they pick
// a skill group, wait in the queue (position and estimated wait), chat with
// text, emoji and images, reconnect without loss and rate the conversation.
//
// Customers are not users of the hub: a visitor gets a signed token
// (HMAC-SHA256 over tenant, a visitor id the hub issued at random and the
// issue time, with a secret kept in the store) that names them and nothing
// else. A site may attach its own signed-in customer by signing the
// customer's id with the tenant's identity secret (identity verification).
// Everything a visitor can do without an account is rate-limited per
// source address and per tenant (Limits).
package webchat

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/convo"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/routing"
)

// Directory is what the channel needs of accounts.
type Directory interface {
	ListGroups(ctx context.Context, includeDisabled bool) ([]accounts.Group, error)
	GetGroup(ctx context.Context, id accounts.GroupID) (*accounts.Group, error)
	GetTenant(ctx context.Context) (*accounts.Tenant, error)
}

// Backend is the store the channel needs (storage/sqlite, storage/mongo;
// both held to webchattest.Run). Secrets are global; visitors and settings
// are scoped to the tenant of the context (store.WithTenant; without one:
// store.ErrNoTenant). A missing record is a *store.NotFoundError.
type Backend interface {
	// Secret returns the hub-wide secret name, storing fresh first when
	// there is none: replicas racing to make it agree on the first stored.
	Secret(ctx context.Context, name, fresh string) (string, error)
	// Visitor reads what the channel remembers of visitor id.
	Visitor(ctx context.Context, id string) (*Visitor, error)
	// SaveVisitor stores v, replacing what was remembered of v.ID.
	SaveVisitor(ctx context.Context, v Visitor) error
	// Settings reads the tenant's settings.
	Settings(ctx context.Context) (*Settings, error)
	// InitSettings stores fresh unless the tenant has settings, and returns
	// the tenant's settings (replicas racing agree on the first stored).
	InitSettings(ctx context.Context, fresh Settings) (*Settings, error)
	// SaveSettings replaces the tenant's settings.
	SaveSettings(ctx context.Context, st Settings) error
}

// Visitor is what the channel remembers of a visitor: their contact and
// their latest conversation.
type Visitor struct {
	ID             string // the visitor id the hub issued
	ContactID      history.ContactID
	ConversationID history.ConversationID
}

// Positions tells queue positions and estimated waits (negative: unknown).
type Positions interface {
	Position(ctx context.Context, id routing.TaskID) (int, time.Duration, bool)
}

// Service is the web chat channel.
type Service struct {
	hist     *history.Store
	hub      *convo.Service
	dir      Directory
	pos      Positions
	bot      Bot
	store    Backend
	secret   []byte
	log      *slog.Logger
	now      func() time.Time
	limits   atomic.Pointer[limiters]
	proxyLog sync.Once // warns once about proxied requests keyed by the proxy

	mu    sync.Mutex
	socks map[sockKey]map[*custSock]struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type sockKey struct {
	tenant store.TenantID
	conv   history.ConversationID
}

// New prepares the channel and registers it with the conversation hub.
// bot may be nil (no knowledge base): conversations then go straight to
// routing.
func New(ctx context.Context, b Backend, hist *history.Store, hub *convo.Service, dir Directory, pos Positions, bot Bot, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.Default()
	}
	secret, err := loadSecret(ctx, b, "webchat_visitor")
	if err != nil {
		return nil, err
	}
	s := &Service{hist: hist, hub: hub, dir: dir, pos: pos, bot: bot, store: b,
		secret: secret, log: log.With("component", "webchat"), now: time.Now, socks: map[sockKey]map[*custSock]struct{}{}}
	s.SetLimits(DefaultLimits())
	s.ctx, s.cancel = context.WithCancel(context.Background())
	hub.Register(history.ChannelWebChat, s)
	s.wg.Add(1)
	go s.positions()
	return s, nil
}

// Close stops the channel's goroutines and customer sockets.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

// loadSecret returns the named secret, creating it on first use; every
// replica shares it through the store.
func loadSecret(ctx context.Context, st Backend, name string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("webchat: secret: %w", err)
	}
	v, err := st.Secret(ctx, name, hex.EncodeToString(b))
	if err != nil {
		return nil, fmt.Errorf("webchat: secret: %w", err)
	}
	return hex.DecodeString(v)
}

func (s *Service) sign(parts ...string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// fileSig signs an attachment id for a customer download link.
func (s *Service) fileSig(t store.TenantID, id history.AttachmentID) string {
	return s.sign("file", string(t), string(id))
}

// visitorDoc reads what is remembered of v (nil when nothing is).
func (s *Service) visitorDoc(ctx context.Context, v visitor) (*Visitor, error) {
	d, err := s.store.Visitor(store.WithTenant(ctx, v.tenant), v.id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return d, err
}

// saveVisitor remembers d for v.
func (s *Service) saveVisitor(ctx context.Context, v visitor, d Visitor) error {
	d.ID = v.id
	return s.store.SaveVisitor(store.WithTenant(ctx, v.tenant), d)
}

// positions pushes queue position changes to waiting customers every 2 s.
func (s *Service) positions() {
	defer s.wg.Done()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		var waiting []*custSock
		for _, m := range s.socks {
			for c := range m {
				if c.waiting() {
					waiting = append(waiting, c)
				}
			}
		}
		s.mu.Unlock()
		for _, c := range waiting {
			c.sendPosition(s)
		}
	}
}
