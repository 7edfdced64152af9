package history

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"weak"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/store"
)

// MaxBody bounds a message body (runes).
const MaxBody = 8000

// Store is the shared conversation history on MongoDB.
//
// Attachments live in MongoDB too, in the GridFS bucket "attachments", with
// their metadata in the tenant-scoped collection of the same name: every hub
// replica then sees the same files, database backups include them, and an
// attachment is acknowledged by the same durable store as the message that
// carries it (no second system to lose files on a crash or a redeploy).
type Store struct {
	contacts, identities, conversations, messages, attachments *store.Collection
	bucket                                                     *mongo.GridFSBucket
	now                                                        func() time.Time
	// openUpload serializes GridFSBucket.OpenUploadStreamWithID: the
	// driver sets the bucket's first-write flag (after creating its
	// indexes) without synchronization. Only the process's first upload
	// does I/O under it. Shared by copies of the Store (same bucket).
	openUpload *sync.Mutex

	log *messageLog // message sequencing, group commit and counters (messages.go)
}

// embeddedWriters holds the embedded databases a Store writes (weak keys:
// a closed database is not kept alive).
var embeddedWriters sync.Map

// New prepares the collections and their indexes. On the embedded server,
// only one Store may serve a database (see messages.go).
func New(ctx context.Context, db *store.DB) (*Store, error) {
	s := &Store{
		contacts: db.Collection("contacts"), identities: db.Collection("contact_identities"),
		conversations: db.Collection("conversations"), messages: db.Collection("messages"),
		attachments: db.Collection("attachments"),
		bucket:      db.Database().GridFSBucket(options.GridFSBucket().SetName("attachments")),
		openUpload:  new(sync.Mutex),
		now:         time.Now,
	}
	t := bson.E{Key: "tenant", Value: 1}
	idx := []struct {
		c *store.Collection
		m []mongo.IndexModel
	}{
		{s.contacts, []mongo.IndexModel{{Keys: bson.D{t, {Key: "updated_at", Value: -1}}}}},
		{s.identities, []mongo.IndexModel{{Keys: bson.D{t, {Key: "contact_id", Value: 1}}}}},
		{s.conversations, []mongo.IndexModel{
			{Keys: bson.D{t, {Key: "assignee_id", Value: 1}, {Key: "status", Value: 1}}},
			{Keys: bson.D{t, {Key: "contact_id", Value: 1}, {Key: "_id", Value: -1}}},
			{Keys: bson.D{t, {Key: "status", Value: 1}, {Key: "group_id", Value: 1}, {Key: "queued_at", Value: 1}}},
			{Keys: bson.D{t, {Key: "created_at", Value: -1}}},
		}},
		// Messages are read by _id (see messages.go). The unique index makes
		// a client id unique within its conversation (idempotent sends); the
		// other serves MergeContacts on MongoDB.
		{s.messages, []mongo.IndexModel{
			{Keys: bson.D{t, {Key: "conversation_id", Value: 1}, {Key: "client_msg_id", Value: 1}}, Options: options.Index().SetUnique(true)},
			{Keys: bson.D{t, {Key: "contact_id", Value: 1}}},
		}},
	}
	for _, i := range idx {
		if err := i.c.EnsureIndexes(ctx, i.m...); err != nil {
			return nil, err
		}
	}
	if db.Embedded {
		// The message log caches each conversation's last seq, which is
		// right only while it is the embedded database's one writer.
		if _, dup := embeddedWriters.LoadOrStore(weak.Make(db), struct{}{}); dup {
			return nil, errors.New("history: another Store already writes this embedded database")
		}
	}
	s.log = newMessageLog(s, db.Embedded)
	return s, nil
}

func identityKey(ctx context.Context, id Identity) (string, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return "", store.ErrNoTenant
	}
	return string(t) + "/" + string(id.Kind) + "/" + id.Value, nil
}

type identityDoc struct {
	ID        string       `bson:"_id"`
	ContactID ContactID    `bson:"contact_id"`
	Kind      IdentityKind `bson:"kind"`
	Value     string       `bson:"value"`
}

func checkIdentity(id Identity) error {
	if !id.Kind.Valid() {
		return &ValidationError{Field: "identity.kind", Reason: fmt.Sprintf("unknown identity kind %q", id.Kind)}
	}
	if id.Value == "" || len(id.Value) > 256 || !utf8.ValidString(id.Value) {
		return &ValidationError{Field: "identity.value", Reason: "must be 1-256 bytes of text"}
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
	key, err := identityKey(ctx, id)
	if err != nil {
		return nil, false, err
	}
	now := s.now().UTC()
	newID := ContactID(ids.NewAt(now))
	err = s.identities.InsertOne(ctx, identityDoc{ID: key, ContactID: newID, Kind: id.Kind, Value: id.Value})
	switch {
	case err == nil:
		c := &Contact{ID: newID, Name: name, Identities: []Identity{id}, CreatedAt: now, UpdatedAt: now}
		if err := s.contacts.InsertOne(ctx, c); err != nil {
			return nil, false, err
		}
		return c, true, nil
	case store.IsDuplicateKey(err):
		var d identityDoc
		if err := s.identities.FindOne(ctx, bson.M{"_id": key}, &d); err != nil {
			return nil, false, err
		}
		c, err := s.GetContact(ctx, d.ContactID)
		if errors.Is(err, store.ErrNotFound) {
			// The creator stopped between the two inserts: finish its work.
			c = &Contact{ID: d.ContactID, Name: name, Identities: []Identity{id}, CreatedAt: now, UpdatedAt: now}
			if err := s.contacts.InsertOne(ctx, c); err != nil && !store.IsDuplicateKey(err) {
				return nil, false, err
			}
			c, err = s.GetContact(ctx, d.ContactID)
		}
		return c, false, err
	default:
		return nil, false, err
	}
}

// FindContact returns the contact known by id.
func (s *Store) FindContact(ctx context.Context, id Identity) (*Contact, error) {
	key, err := identityKey(ctx, id)
	if err != nil {
		return nil, err
	}
	var d identityDoc
	if err := s.identities.FindOne(ctx, bson.M{"_id": key}, &d); err != nil {
		return nil, store.NotFound(err, "contact", id.Value)
	}
	return s.GetContact(ctx, d.ContactID)
}

// GetContact returns a contact; a merged contact resolves to the one it was
// merged into.
func (s *Store) GetContact(ctx context.Context, id ContactID) (*Contact, error) {
	for hops := 0; hops < 8; hops++ {
		var c Contact
		if err := s.contacts.FindOne(ctx, bson.M{"_id": id}, &c); err != nil {
			return nil, store.NotFound(err, "contact", string(id))
		}
		if c.MergedInto == "" {
			return &c, nil
		}
		id = c.MergedInto
	}
	return nil, fmt.Errorf("history: contact %s: merge chain too long", id)
}

// ContactPatch edits a contact; nil fields are kept, attributes are merged.
type ContactPatch struct {
	Name       *string           `json:"name"`
	Attributes map[string]string `json:"attributes"`
}

// UpdateContact applies a patch.
func (s *Store) UpdateContact(ctx context.Context, id ContactID, p ContactPatch) (*Contact, error) {
	set := bson.M{"updated_at": s.now().UTC()}
	if p.Name != nil {
		if utf8.RuneCountInString(*p.Name) > 128 {
			return nil, &ValidationError{Field: "name", Reason: "must be at most 128 characters"}
		}
		set["name"] = strings.TrimSpace(*p.Name)
	}
	for k, v := range p.Attributes {
		if k == "" || strings.ContainsAny(k, ".$") || len(k) > 64 {
			return nil, &ValidationError{Field: "attributes", Reason: fmt.Sprintf("bad attribute name %q", k)}
		}
		set["attributes."+k] = v
	}
	var c Contact
	err := s.contacts.FindOneAndUpdate(ctx, bson.M{"_id": id, "merged_into": bson.M{"$exists": false}}, bson.M{"$set": set}, &c, options.FindOneAndUpdate().SetReturnDocument(options.After))
	if err != nil {
		return nil, store.NotFound(err, "contact", string(id))
	}
	return &c, nil
}

// AddIdentity makes id point at contact. An identity already owned by
// another contact is a *store.DuplicateError (merge the contacts instead).
func (s *Store) AddIdentity(ctx context.Context, contact ContactID, id Identity) error {
	if err := checkIdentity(id); err != nil {
		return err
	}
	if _, err := s.GetContact(ctx, contact); err != nil {
		return err
	}
	key, err := identityKey(ctx, id)
	if err != nil {
		return err
	}
	if err := s.identities.InsertOne(ctx, identityDoc{ID: key, ContactID: contact, Kind: id.Kind, Value: id.Value}); err != nil {
		if store.IsDuplicateKey(err) {
			return &store.DuplicateError{Kind: "contact identity", Field: string(id.Kind), Value: id.Value}
		}
		return err
	}
	_, err = s.contacts.UpdateOne(ctx, bson.M{"_id": contact}, bson.M{"$push": bson.M{"identities": id}, "$set": bson.M{"updated_at": s.now().UTC()}})
	return err
}

// MergeContacts folds from into into: identities, conversations and
// messages move to into, attributes missing on into are copied, and from
// is kept as a pointer (MergedInto) so old references still resolve.
// Every step is idempotent, so a merge interrupted by a crash is finished by
// calling it again.
func (s *Store) MergeContacts(ctx context.Context, into, from ContactID) (*Contact, error) {
	if into == from {
		return nil, &ValidationError{Field: "from", Reason: "cannot merge a contact into itself"}
	}
	dst, err := s.GetContact(ctx, into)
	if err != nil {
		return nil, err
	}
	var src Contact
	if err := s.contacts.FindOne(ctx, bson.M{"_id": from}, &src); err != nil {
		return nil, store.NotFound(err, "contact", string(from))
	}
	if src.MergedInto != "" && src.MergedInto != dst.ID {
		return nil, &ValidationError{Field: "from", Reason: "contact was already merged into " + string(src.MergedInto)}
	}
	if dst.ID == src.ID {
		return dst, nil
	}
	now := s.now().UTC()
	if _, err := s.identities.UpdateMany(ctx, bson.M{"contact_id": src.ID}, bson.M{"$set": bson.M{"contact_id": dst.ID}}); err != nil {
		return nil, err
	}
	_, err = s.conversations.UpdateMany(ctx, bson.M{"contact_id": src.ID}, bson.M{"$set": bson.M{"contact_id": dst.ID}})
	s.log.convs.clear()
	if err != nil {
		return nil, err
	}
	if _, err := s.messages.UpdateMany(ctx, bson.M{"contact_id": src.ID}, bson.M{"$set": bson.M{"contact_id": dst.ID}}); err != nil {
		return nil, err
	}
	set := bson.M{"updated_at": now}
	have := map[Identity]bool{}
	for _, i := range dst.Identities {
		have[i] = true
	}
	idents := dst.Identities
	for _, i := range src.Identities {
		if !have[i] {
			idents = append(idents, i)
		}
	}
	set["identities"] = idents
	if dst.Name == "" && src.Name != "" {
		set["name"] = src.Name
	}
	for k, v := range src.Attributes {
		if _, ok := dst.Attributes[k]; !ok {
			set["attributes."+k] = v
		}
	}
	if _, err := s.contacts.UpdateOne(ctx, bson.M{"_id": dst.ID}, bson.M{"$set": set}); err != nil {
		return nil, err
	}
	if _, err := s.contacts.UpdateOne(ctx, bson.M{"_id": src.ID}, bson.M{"$set": bson.M{"merged_into": dst.ID, "updated_at": now}}); err != nil {
		return nil, err
	}
	return s.GetContact(ctx, dst.ID)
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
	c, err := s.GetContact(ctx, in.ContactID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	conv := &Conversation{ID: ConversationID(ids.NewAt(now)), ContactID: c.ID, Channel: in.Channel, Status: in.Status,
		GroupID: in.GroupID, Subject: in.Subject, Tags: []string{}, Attributes: in.Attributes, CreatedAt: now, UpdatedAt: now}
	if in.Status == StatusQueued {
		conv.QueuedAt = now
	}
	// The conversation is created with its first lease of seqs, which
	// saves its first message a conversation-document update.
	lease := s.log.firstLease()
	if err := s.conversations.InsertOne(ctx, convDoc{Conversation: *conv, SeqLease: lease}); err != nil {
		return nil, err
	}
	s.log.created(ctx, conv.ID, lease)
	if t, ok := store.Tenant(ctx); ok {
		s.log.convs.put(tailKey(t, conv.ID), conv)
	}
	return conv, nil
}

// GetConversation returns one conversation.
func (s *Store) GetConversation(ctx context.Context, id ConversationID) (*Conversation, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return nil, store.ErrNoTenant
	}
	key := tailKey(t, id)
	if c, ok := s.log.cached(key); ok {
		return c, nil
	}
	unlock := s.log.rlockConv(id)
	defer unlock()
	gen := s.log.convs.generation()
	var c Conversation
	if err := s.conversations.FindOne(ctx, bson.M{"_id": id}, &c); err != nil {
		return nil, store.NotFound(err, "conversation", string(id))
	}
	s.log.convs.putRead(key, &c, gen)
	s.log.overlay(ctx, &c)
	return &c, nil
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
	set := bson.M{"updated_at": s.now().UTC()}
	if p.Status != "" {
		if !p.Status.Valid() {
			return nil, &ValidationError{Field: "status", Reason: fmt.Sprintf("unknown status %q", p.Status)}
		}
		set["status"] = p.Status
	}
	opt := func(k string, v *string) {
		if v != nil {
			set[k] = *v
		}
	}
	opt("group_id", p.GroupID)
	opt("assignee_id", p.AssigneeID)
	opt("subject", p.Subject)
	if p.Disposition != nil {
		if strings.TrimSpace(p.Disposition.Purpose) == "" {
			return nil, &ValidationError{Field: "disposition.purpose", Reason: "is required"}
		}
		set["disposition"] = p.Disposition
	}
	if p.Rating != nil {
		if p.Rating.Score < 1 || p.Rating.Score > 5 {
			return nil, &ValidationError{Field: "rating.score", Reason: "must be 1 to 5"}
		}
		if utf8.RuneCountInString(p.Rating.Comment) > 1000 {
			return nil, &ValidationError{Field: "rating.comment", Reason: "must be at most 1000 characters"}
		}
		set["rating"] = p.Rating
	}
	ts := func(k string, t time.Time) {
		if !t.IsZero() {
			set[k] = t.UTC()
		}
	}
	ts("queued_at", p.QueuedAt)
	ts("assigned_at", p.AssignedAt)
	ts("first_response_at", p.FirstResponseAt)
	ts("ended_at", p.EndedAt)
	ts("closed_at", p.ClosedAt)
	update := bson.M{"$set": set}
	if len(p.AddTags) > 0 {
		update["$addToSet"] = bson.M{"tags": bson.M{"$each": p.AddTags}}
	}
	var c Conversation
	unlock := s.log.lockConv(id)
	defer unlock()
	err := s.conversations.FindOneAndUpdate(ctx, bson.M{"_id": id}, update, &c, options.FindOneAndUpdate().SetReturnDocument(options.After))
	if t, ok := store.Tenant(ctx); ok {
		if err != nil {
			s.log.convs.drop(tailKey(t, id)) // the update may or may not have happened
		} else {
			s.log.convs.put(tailKey(t, id), &c)
		}
	}
	if err != nil {
		return nil, store.NotFound(err, "conversation", string(id))
	}
	s.log.overlay(ctx, &c)
	return &c, nil
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
	f := bson.M{}
	if q.ContactID != "" {
		f["contact_id"] = q.ContactID
	}
	if q.AssigneeID != "" {
		f["assignee_id"] = q.AssigneeID
	}
	if q.GroupID != "" {
		f["group_id"] = q.GroupID
	}
	if q.Channel != "" {
		f["channel"] = q.Channel
	}
	if len(q.Statuses) == 1 {
		f["status"] = q.Statuses[0]
	} else if len(q.Statuses) > 1 {
		f["status"] = bson.M{"$in": q.Statuses}
	}
	created := bson.M{}
	if !q.From.IsZero() {
		created["$gte"] = q.From.UTC()
	}
	if !q.To.IsZero() {
		created["$lt"] = q.To.UTC()
	}
	if len(created) > 0 {
		f["created_at"] = created
	}
	if q.Cursor != "" {
		f["_id"] = bson.M{"$lt": q.Cursor}
	}
	if v := q.Visible; v != nil {
		or := bson.A{bson.M{"assignee_id": v.AssigneeID}}
		if len(v.GroupIDs) > 0 {
			or = append(or, bson.M{"group_id": bson.M{"$in": v.GroupIDs}})
		}
		f["$or"] = or
	}
	out := []Conversation{}
	if err := s.conversations.FindAll(ctx, f, &out, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(q.Limit+1))); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > q.Limit {
		out = out[:q.Limit]
		next = string(out[len(out)-1].ID)
	}
	for i := range out {
		s.log.overlay(ctx, &out[i])
	}
	return out, next, nil
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

// PutAttachment stores a file of at most maxSize bytes and returns its
// metadata. It returns only after the file is durably stored; when it fails
// (a read error, a file over maxSize, a store error) nothing of the file is
// left: no chunks, no file document, no metadata.
func (s *Store) PutAttachment(ctx context.Context, name, contentType string, r io.Reader, maxSize int64) (*Attachment, error) {
	if _, ok := store.Tenant(ctx); !ok {
		return nil, store.ErrNoTenant
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
	s.openUpload.Lock()
	up, err := s.bucket.OpenUploadStreamWithID(ctx, string(a.ID), string(a.ID))
	s.openUpload.Unlock()
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(up, h), io.LimitReader(r, maxSize+1))
	if err == nil && n > maxSize {
		err = ErrTooLarge
	}
	if err != nil {
		if aerr := up.Abort(); aerr != nil {
			s.dropAttachment(ctx, a.ID)
		}
		return nil, err
	}
	if err := up.Close(); err != nil {
		s.dropAttachment(ctx, a.ID)
		return nil, err
	}
	a.Size, a.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	if err := s.attachments.InsertOne(ctx, a); err != nil {
		s.dropAttachment(ctx, a.ID)
		return nil, err
	}
	return a, nil
}

// dropAttachment removes what a failed PutAttachment wrote (its file
// document and chunks), also when ctx is what failed.
func (s *Store) dropAttachment(ctx context.Context, id AttachmentID) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = s.bucket.Delete(ctx, string(id))
}

// GetAttachment returns an attachment's metadata.
func (s *Store) GetAttachment(ctx context.Context, id AttachmentID) (*Attachment, error) {
	var a Attachment
	if err := s.attachments.FindOne(ctx, bson.M{"_id": id}, &a); err != nil {
		return nil, store.NotFound(err, "attachment", string(id))
	}
	return &a, nil
}

// OpenAttachment returns an attachment and a reader of its bytes; the
// tenant check happens on the metadata before any byte is read.
func (s *Store) OpenAttachment(ctx context.Context, id AttachmentID) (*Attachment, io.ReadCloser, error) {
	a, err := s.GetAttachment(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	rd, err := s.bucket.OpenDownloadStream(ctx, string(a.ID))
	if err != nil {
		return nil, nil, err
	}
	return a, rd, nil
}
