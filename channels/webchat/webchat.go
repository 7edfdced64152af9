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

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/convo"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/routing"
)

// Directory is what the channel needs of accounts.
type Directory interface {
	ListGroups(ctx context.Context, includeDisabled bool) ([]accounts.Group, error)
	GetTenant(ctx context.Context) (*accounts.Tenant, error)
}

// Positions tells queue positions.
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
	visitors *store.Collection
	settings *store.Collection
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

// visitorDoc remembers a visitor's contact and open conversation; its id is
// "<tenant>/<visitor id>" so it is found in O(1).
type visitorDoc struct {
	ID             string                 `bson:"_id"`
	ContactID      history.ContactID      `bson:"contact_id"`
	ConversationID history.ConversationID `bson:"conversation_id,omitempty"`
}

// New prepares the channel and registers it with the conversation hub.
// bot may be nil (no knowledge base): conversations then go straight to
// routing.
func New(ctx context.Context, db *store.DB, hist *history.Store, hub *convo.Service, dir Directory, pos Positions, bot Bot, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.Default()
	}
	secret, err := loadSecret(ctx, db.Global("hub_secrets"), "webchat_visitor")
	if err != nil {
		return nil, err
	}
	s := &Service{hist: hist, hub: hub, dir: dir, pos: pos, bot: bot, visitors: db.Collection("webchat_visitors"), settings: db.Collection("webchat_settings"),
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
func loadSecret(ctx context.Context, c *mongo.Collection, name string) ([]byte, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	_, err := c.InsertOne(ctx, bson.M{"_id": name, "value": hex.EncodeToString(b)})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return nil, fmt.Errorf("webchat: secret: %w", err)
	}
	var doc struct{ Value string }
	if err := c.FindOne(ctx, bson.M{"_id": name}).Decode(&doc); err != nil {
		return nil, fmt.Errorf("webchat: secret: %w", err)
	}
	return hex.DecodeString(doc.Value)
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

func (s *Service) visitorDoc(ctx context.Context, v visitor) (*visitorDoc, error) {
	var d visitorDoc
	err := s.visitors.FindOne(ctx, bson.M{"_id": string(v.tenant) + "/" + v.id}, &d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	return &d, err
}

func (s *Service) saveVisitor(ctx context.Context, v visitor, d visitorDoc) error {
	d.ID = string(v.tenant) + "/" + v.id
	_, err := s.visitors.ReplaceOne(ctx, bson.M{"_id": d.ID}, d, optionsUpsert())
	return err
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
