package history

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/store"
)

// MaxBody bounds a message body (runes).
const MaxBody = 8000

// Store is the shared conversation history: it validates what is written,
// makes ids and times, and keeps everything in its [Backend] (the embedded
// SQLite store or MongoDB).
type Store struct {
	b   Backend
	now func() time.Time
}

// New returns the history kept in b.
func New(b Backend) *Store {
	return &Store{b: b, now: time.Now}
}

// Backend returns the store's backend.
func (s *Store) Backend() Backend { return s.b }

func checkIdentity(id Identity) error {
	if !id.Kind.Valid() {
		return &ValidationError{Field: "identity.kind", Reason: fmt.Sprintf("unknown identity kind %q", id.Kind)}
	}
	if id.Value == "" || len(id.Value) > 256 || !utf8.ValidString(id.Value) {
		return &ValidationError{Field: "identity.value", Reason: "must be 1-256 bytes of text"}
	}
	return nil
}

func hasTenant(ctx context.Context) error {
	if _, ok := store.Tenant(ctx); !ok {
		return store.ErrNoTenant
	}
	return nil
}

// FindOrCreateContact returns the contact known by id, creating it (named
// name) when nobody is. Concurrent calls for the same identity return the
// same contact.
func (s *Store) FindOrCreateContact(ctx context.Context, id Identity, name string) (*Contact, bool, error) {
	if err := checkIdentity(id); err != nil {
		return nil, false, err
	}
	if err := hasTenant(ctx); err != nil {
		return nil, false, err
	}
	now := s.now().UTC()
	c := &Contact{ID: ContactID(ids.NewAt(now)), Name: name, Identities: []Identity{id}, CreatedAt: now, UpdatedAt: now}
	return s.b.FindOrCreateContact(ctx, id, c)
}

// FindContact returns the contact known by id.
func (s *Store) FindContact(ctx context.Context, id Identity) (*Contact, error) {
	if err := hasTenant(ctx); err != nil {
		return nil, err
	}
	return s.b.FindContact(ctx, id)
}

// GetContact returns a contact; a merged contact resolves to the one it was
// merged into.
func (s *Store) GetContact(ctx context.Context, id ContactID) (*Contact, error) {
	return s.b.GetContact(ctx, id)
}

// ContactPatch edits a contact; nil fields are kept, attributes are merged.
type ContactPatch struct {
	Name       *string           `json:"name"`
	Attributes map[string]string `json:"attributes"`
}

// UpdateContact applies a patch.
func (s *Store) UpdateContact(ctx context.Context, id ContactID, p ContactPatch) (*Contact, error) {
	if p.Name != nil {
		if utf8.RuneCountInString(*p.Name) > 128 {
			return nil, &ValidationError{Field: "name", Reason: "must be at most 128 characters"}
		}
		n := strings.TrimSpace(*p.Name)
		p.Name = &n
	}
	for k := range p.Attributes {
		if k == "" || strings.ContainsAny(k, ".$") || len(k) > 64 {
			return nil, &ValidationError{Field: "attributes", Reason: fmt.Sprintf("bad attribute name %q", k)}
		}
	}
	return s.b.UpdateContact(ctx, id, p, s.now().UTC())
}

// AddIdentity makes id point at contact. An identity already owned by
// another contact is a *store.DuplicateError (merge the contacts instead).
func (s *Store) AddIdentity(ctx context.Context, contact ContactID, id Identity) error {
	if err := checkIdentity(id); err != nil {
		return err
	}
	return s.b.AddIdentity(ctx, contact, id, s.now().UTC())
}

// MergeContacts folds from into into: identities, conversations and
// messages move to into, attributes missing on into are copied, and from
// is kept as a pointer (MergedInto) so old references still resolve.
// Merging again is harmless.
func (s *Store) MergeContacts(ctx context.Context, into, from ContactID) (*Contact, error) {
	if into == from {
		return nil, &ValidationError{Field: "from", Reason: "cannot merge a contact into itself"}
	}
	return s.b.MergeContacts(ctx, into, from, s.now().UTC())
}

// NewConversation is what a channel knows when a conversation starts.
type NewConversation struct {
	ContactID  ContactID
	Channel    Channel
	Status     Status
	GroupID    string
	Subject    string
	Attributes map[string]string
}

// CreateConversation starts a conversation.
func (s *Store) CreateConversation(ctx context.Context, in NewConversation) (*Conversation, error) {
	if !in.Channel.Valid() {
		return nil, &ValidationError{Field: "channel", Reason: fmt.Sprintf("unknown channel %q", in.Channel)}
	}
	if in.Status == "" {
		in.Status = StatusQueued
	}
	if !in.Status.Valid() {
		return nil, &ValidationError{Field: "status", Reason: fmt.Sprintf("unknown status %q", in.Status)}
	}
	c, err := s.b.GetContact(ctx, in.ContactID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	conv := &Conversation{ID: ConversationID(ids.NewAt(now)), ContactID: c.ID, Channel: in.Channel, Status: in.Status,
		GroupID: in.GroupID, Subject: in.Subject, Tags: []string{}, Attributes: in.Attributes, CreatedAt: now, UpdatedAt: now}
	if in.Status == StatusQueued {
		conv.QueuedAt = now
	}
	if err := s.b.CreateConversation(ctx, conv); err != nil {
		return nil, err
	}
	return conv, nil
}

// GetConversation returns one conversation.
func (s *Store) GetConversation(ctx context.Context, id ConversationID) (*Conversation, error) {
	return s.b.GetConversation(ctx, id)
}

// ConversationPatch changes a conversation; nil or zero fields are kept.
// Step timestamps are set by the caller when the step happens.
type ConversationPatch struct {
	Status          Status
	GroupID         *string
	AssigneeID      *string
	Subject         *string
	Disposition     *Disposition
	Rating          *Rating
	AddTags         []string
	QueuedAt        time.Time
	AssignedAt      time.Time
	FirstResponseAt time.Time
	EndedAt         time.Time
	ClosedAt        time.Time
}

// UpdateConversation applies a patch and returns the result.
func (s *Store) UpdateConversation(ctx context.Context, id ConversationID, p ConversationPatch) (*Conversation, error) {
	if p.Status != "" && !p.Status.Valid() {
		return nil, &ValidationError{Field: "status", Reason: fmt.Sprintf("unknown status %q", p.Status)}
	}
	if p.Disposition != nil && strings.TrimSpace(p.Disposition.Purpose) == "" {
		return nil, &ValidationError{Field: "disposition.purpose", Reason: "is required"}
	}
	if p.Rating != nil {
		if p.Rating.Score < 1 || p.Rating.Score > 5 {
			return nil, &ValidationError{Field: "rating.score", Reason: "must be 1 to 5"}
		}
		if utf8.RuneCountInString(p.Rating.Comment) > 1000 {
			return nil, &ValidationError{Field: "rating.comment", Reason: "must be at most 1000 characters"}
		}
	}
	for _, t := range []*time.Time{&p.QueuedAt, &p.AssignedAt, &p.FirstResponseAt, &p.EndedAt, &p.ClosedAt} {
		if !t.IsZero() {
			*t = t.UTC()
		}
	}
	return s.b.UpdateConversation(ctx, id, p, s.now().UTC())
}

// ConversationQuery filters ListConversations. Results are newest first.
type ConversationQuery struct {
	ContactID  ContactID
	AssigneeID string
	GroupID    string
	Channel    Channel
	Statuses   []Status
	From, To   time.Time // created_at range
	Cursor     string    // last id of the previous page
	Limit      int       // default 50, at most 500
	// Visible, when set, keeps only the conversations its reader may see.
	Visible *Visibility
}

// Visibility is what a reader restricted by the history access policy
// sees: conversations assigned to them or in one of their groups.
type Visibility struct {
	AssigneeID string
	GroupIDs   []string
}

// ListConversations returns a page of conversations and the next cursor.
func (s *Store) ListConversations(ctx context.Context, q ConversationQuery) ([]Conversation, string, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > 500 {
		return nil, "", &ValidationError{Field: "limit", Reason: "must be at most 500"}
	}
	for _, st := range q.Statuses {
		if !st.Valid() {
			return nil, "", &ValidationError{Field: "status", Reason: fmt.Sprintf("unknown status %q", st)}
		}
	}
	if !q.From.IsZero() {
		q.From = q.From.UTC()
	}
	if !q.To.IsZero() {
		q.To = q.To.UTC()
	}
	return s.b.ListConversations(ctx, q)
}

// NewMessage is a message to append.
type NewMessage struct {
	ConversationID ConversationID
	Direction      Direction
	Kind           Kind
	Body           string
	Attachments    []Attachment
	Sender         Sender
	ClientMsgID    string
	Delivery       Delivery
	At             time.Time // default now
}

func checkMessage(m *NewMessage) error {
	switch m.Direction {
	case DirectionIn, DirectionOut, DirectionInternal:
	default:
		return &ValidationError{Field: "direction", Reason: fmt.Sprintf("unknown direction %q", m.Direction)}
	}
	if m.Kind == "" {
		m.Kind = KindText
	}
	if !m.Kind.Valid() {
		return &ValidationError{Field: "kind", Reason: fmt.Sprintf("unknown kind %q", m.Kind)}
	}
	if !utf8.ValidString(m.Body) {
		return &ValidationError{Field: "body", Reason: "must be UTF-8 text"}
	}
	if utf8.RuneCountInString(m.Body) > MaxBody {
		return &ValidationError{Field: "body", Reason: fmt.Sprintf("must be at most %d characters", MaxBody)}
	}
	if m.Kind == KindText && strings.TrimSpace(m.Body) == "" && len(m.Attachments) == 0 {
		return &ValidationError{Field: "body", Reason: "must not be empty"}
	}
	if len(m.ClientMsgID) > 128 {
		return &ValidationError{Field: "client_msg_id", Reason: "must be at most 128 bytes"}
	}
	if strings.HasPrefix(m.ClientMsgID, "srv:") {
		return &ValidationError{Field: "client_msg_id", Reason: `must not start with "srv:"`}
	}
	switch m.Sender.Type {
	case SenderCustomer, SenderAgent, SenderBot, SenderSystem:
	default:
		return &ValidationError{Field: "sender.type", Reason: fmt.Sprintf("unknown sender type %q", m.Sender.Type)}
	}
	if m.Delivery == "" {
		m.Delivery = DeliveryStored
	}
	return nil
}

// AppendMessage stores a message durably and returns it. A message whose
// ClientMsgID was already stored in this conversation is not stored again:
// the stored one is returned with created=false. The conversation's
// counters (message_count, last_message_at, last_customer_message_at,
// first_response_at) follow.
func (s *Store) AppendMessage(ctx context.Context, in NewMessage) (*Message, bool, error) {
	if err := checkMessage(&in); err != nil {
		return nil, false, err
	}
	conv, err := s.b.GetConversation(ctx, in.ConversationID)
	if err != nil {
		return nil, false, err
	}
	return s.appendTo(ctx, conv, in)
}

// AppendMessageTo is AppendMessage for a conversation the caller already
// holds (saves a read on hot paths).
func (s *Store) AppendMessageTo(ctx context.Context, conv *Conversation, in NewMessage) (*Message, bool, error) {
	in.ConversationID = conv.ID
	if err := checkMessage(&in); err != nil {
		return nil, false, err
	}
	return s.appendTo(ctx, conv, in)
}

func (s *Store) appendTo(ctx context.Context, conv *Conversation, in NewMessage) (*Message, bool, error) {
	if err := hasTenant(ctx); err != nil {
		return nil, false, err
	}
	if in.At.IsZero() {
		in.At = s.now()
	}
	in.At = in.At.UTC()
	return s.b.AppendMessage(ctx, conv, in)
}

// Flush writes what the backend still holds in memory (the conversation
// counters on MongoDB); call it on shutdown.
func (s *Store) Flush(ctx context.Context) error {
	return s.b.Flush(ctx)
}

// MessageQuery pages through a conversation. With neither After nor Before
// it returns the newest Limit messages. Results are always oldest first.
type MessageQuery struct {
	After  MessageID // messages after this one (catch-up after a reconnect)
	Before MessageID // messages before this one (scrolling back)
	Limit  int       // default 50, at most 500
}

// ListMessages returns a page of a conversation's messages, oldest first,
// and whether more exist in the direction of travel.
func (s *Store) ListMessages(ctx context.Context, conv ConversationID, q MessageQuery) ([]Message, bool, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > 500 {
		return nil, false, &ValidationError{Field: "limit", Reason: "must be at most 500"}
	}
	if q.After != "" && q.Before != "" {
		return nil, false, &ValidationError{Field: "after", Reason: "give after or before, not both"}
	}
	if q.After != "" {
		if _, err := MessageCursor(conv, "after", q.After); err != nil {
			return nil, false, err
		}
	}
	if q.Before != "" {
		if _, err := MessageCursor(conv, "before", q.Before); err != nil {
			return nil, false, err
		}
	}
	return s.b.ListMessages(ctx, conv, q)
}

// SetDelivery records how far a message got.
func (s *Store) SetDelivery(ctx context.Context, id MessageID, d Delivery) error {
	if err := hasTenant(ctx); err != nil {
		return err
	}
	if _, _, ok := ParseMessageID(id); !ok {
		return &store.NotFoundError{Kind: "message", ID: string(id)}
	}
	return s.b.SetDelivery(ctx, id, d)
}

// PutAttachment stores a file of at most maxSize bytes and returns its
// metadata. It returns only after the file is durably stored; when it fails
// (a read error, a file over maxSize, a store error) nothing of the file is
// left.
func (s *Store) PutAttachment(ctx context.Context, name, contentType string, r io.Reader, maxSize int64) (*Attachment, error) {
	if err := hasTenant(ctx); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 || strings.ContainsAny(name, "/\\\x00") {
		return nil, &ValidationError{Field: "name", Reason: "must be 1-200 characters without slashes"}
	}
	if contentType == "" || len(contentType) > 128 {
		return nil, &ValidationError{Field: "content_type", Reason: "is required"}
	}
	now := s.now().UTC()
	a := &Attachment{ID: AttachmentID(ids.NewAt(now)), Name: name, ContentType: contentType, CreatedAt: now}
	if err := s.b.PutAttachment(ctx, a, r, maxSize); err != nil {
		return nil, err
	}
	return a, nil
}

// GetAttachment returns an attachment's metadata.
func (s *Store) GetAttachment(ctx context.Context, id AttachmentID) (*Attachment, error) {
	return s.b.GetAttachment(ctx, id)
}

// OpenAttachment returns an attachment and a reader of its bytes; the
// tenant check happens on the metadata before any byte is read.
func (s *Store) OpenAttachment(ctx context.Context, id AttachmentID) (*Attachment, io.ReadCloser, error) {
	return s.b.OpenAttachment(ctx, id)
}
