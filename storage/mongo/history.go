package mongo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"weak"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/store"
)

// History is the shared conversation history on MongoDB.
//
// Attachments live in MongoDB too, in the GridFS bucket "attachments", with
// their metadata in the tenant-scoped collection of the same name: every hub
// replica then sees the same files, database backups include them, and an
// attachment is acknowledged by the same durable store as the message that
// carries it (no second system to lose files on a crash or a redeploy).
type History struct {
	contacts, identities, conversations, messages, attachments *store.Collection
	bucket                                                     *mongo.GridFSBucket
	now                                                        func() time.Time
	// openUpload serializes GridFSBucket.OpenUploadStreamWithID: the
	// driver sets the bucket's first-write flag (after creating its
	// indexes) without synchronization. Only the process's first upload
	// does I/O under it. Shared by copies of the History (same bucket).
	openUpload *sync.Mutex

	log *histLog // message sequencing, group commit and counters (see "Message storage" below)
}

// histEmbeddedWriters holds the embedded databases a History writes (weak keys:
// a closed database is not kept alive).
var histEmbeddedWriters sync.Map

var _ history.Backend = (*History)(nil)

// NewHistory prepares the collections and their indexes. On the embedded
// server, only one History may serve a database (see the message storage
// notes below).
func NewHistory(ctx context.Context, db *store.DB) (*History, error) {
	s := &History{
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
		// Messages are read by _id (see "Message storage" below). The unique index makes
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
		if _, dup := histEmbeddedWriters.LoadOrStore(weak.Make(db), struct{}{}); dup {
			return nil, errors.New("history: another History already writes this embedded database")
		}
	}
	s.log = newHistLog(s, db.Embedded)
	return s, nil
}

func histIdentityKey(ctx context.Context, id history.Identity) (string, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return "", store.ErrNoTenant
	}
	return string(t) + "/" + string(id.Kind) + "/" + id.Value, nil
}

type histIdentityDoc struct {
	ID        string               `bson:"_id"`
	ContactID history.ContactID    `bson:"contact_id"`
	Kind      history.IdentityKind `bson:"kind"`
	Value     string               `bson:"value"`
}

// FindOrCreateContact returns the contact known by id, creating it (named
// name) when nobody is. Concurrent calls for the same identity return the
// same contact.
func (s *History) FindOrCreateContact(ctx context.Context, id history.Identity, c *history.Contact) (*history.Contact, bool, error) {
	key, err := histIdentityKey(ctx, id)
	if err != nil {
		return nil, false, err
	}
	newID := c.ID
	err = s.identities.InsertOne(ctx, histIdentityDoc{ID: key, ContactID: newID, Kind: id.Kind, Value: id.Value})
	switch {
	case err == nil:
		if err := s.contacts.InsertOne(ctx, c); err != nil {
			return nil, false, err
		}
		return c, true, nil
	case store.IsDuplicateKey(err):
		var d histIdentityDoc
		if err := s.identities.FindOne(ctx, bson.M{"_id": key}, &d); err != nil {
			return nil, false, err
		}
		got, err := s.GetContact(ctx, d.ContactID)
		if errors.Is(err, store.ErrNotFound) {
			// The creator stopped between the two inserts: finish its work.
			c := *c
			c.ID = d.ContactID
			if err := s.contacts.InsertOne(ctx, &c); err != nil && !store.IsDuplicateKey(err) {
				return nil, false, err
			}
			got, err = s.GetContact(ctx, d.ContactID)
		}
		return got, false, err
	default:
		return nil, false, err
	}
}

// FindContact returns the contact known by id.
func (s *History) FindContact(ctx context.Context, id history.Identity) (*history.Contact, error) {
	key, err := histIdentityKey(ctx, id)
	if err != nil {
		return nil, err
	}
	var d histIdentityDoc
	if err := s.identities.FindOne(ctx, bson.M{"_id": key}, &d); err != nil {
		return nil, store.NotFound(err, "contact", id.Value)
	}
	return s.GetContact(ctx, d.ContactID)
}

// GetContact returns a contact; a merged contact resolves to the one it was
// merged into.
func (s *History) GetContact(ctx context.Context, id history.ContactID) (*history.Contact, error) {
	for hops := 0; hops < 8; hops++ {
		var c history.Contact
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

// UpdateContact applies a patch.
func (s *History) UpdateContact(ctx context.Context, id history.ContactID, p history.ContactPatch, now time.Time) (*history.Contact, error) {
	set := bson.M{"updated_at": now}
	if p.Name != nil {
		set["name"] = *p.Name
	}
	for k, v := range p.Attributes {
		set["attributes."+k] = v
	}
	var c history.Contact
	err := s.contacts.FindOneAndUpdate(ctx, bson.M{"_id": id, "merged_into": bson.M{"$exists": false}}, bson.M{"$set": set}, &c, options.FindOneAndUpdate().SetReturnDocument(options.After))
	if err != nil {
		return nil, store.NotFound(err, "contact", string(id))
	}
	return &c, nil
}

// AddIdentity makes id point at contact. An identity already owned by
// another contact is a *store.DuplicateError (merge the contacts instead).
func (s *History) AddIdentity(ctx context.Context, contact history.ContactID, id history.Identity, now time.Time) error {
	c, err := s.GetContact(ctx, contact)
	if err != nil {
		return err
	}
	contact = c.ID
	key, err := histIdentityKey(ctx, id)
	if err != nil {
		return err
	}
	if err := s.identities.InsertOne(ctx, histIdentityDoc{ID: key, ContactID: contact, Kind: id.Kind, Value: id.Value}); err != nil {
		if store.IsDuplicateKey(err) {
			return &store.DuplicateError{Kind: "contact identity", Field: string(id.Kind), Value: id.Value}
		}
		return err
	}
	_, err = s.contacts.UpdateOne(ctx, bson.M{"_id": contact}, bson.M{"$push": bson.M{"identities": id}, "$set": bson.M{"updated_at": now}})
	return err
}

// MergeContacts folds from into into: identities, conversations and
// messages move to into, attributes missing on into are copied, and from
// is kept as a pointer (MergedInto) so old references still resolve.
// Every step is idempotent, so a merge interrupted by a crash is finished by
// calling it again.
func (s *History) MergeContacts(ctx context.Context, into, from history.ContactID, now time.Time) (*history.Contact, error) {
	dst, err := s.GetContact(ctx, into)
	if err != nil {
		return nil, err
	}
	var src history.Contact
	if err := s.contacts.FindOne(ctx, bson.M{"_id": from}, &src); err != nil {
		return nil, store.NotFound(err, "contact", string(from))
	}
	if src.MergedInto != "" && src.MergedInto != dst.ID {
		return nil, &history.ValidationError{Field: "from", Reason: "contact was already merged into " + string(src.MergedInto)}
	}
	if dst.ID == src.ID {
		return dst, nil
	}
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
	have := map[history.Identity]bool{}
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

// CreateConversation starts a conversation.
func (s *History) CreateConversation(ctx context.Context, conv *history.Conversation) error {
	// The conversation is created with its first lease of seqs, which
	// saves its first message a conversation-document update.
	lease := s.log.firstLease()
	if err := s.conversations.InsertOne(ctx, histConvDoc{Conversation: *conv, SeqLease: lease}); err != nil {
		return err
	}
	s.log.created(ctx, conv.ID, lease)
	if t, ok := store.Tenant(ctx); ok {
		s.log.convs.put(histTailKey(t, conv.ID), conv)
	}
	return nil
}

// GetConversation returns one conversation.
func (s *History) GetConversation(ctx context.Context, id history.ConversationID) (*history.Conversation, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return nil, store.ErrNoTenant
	}
	key := histTailKey(t, id)
	if c, ok := s.log.cached(key); ok {
		return c, nil
	}
	unlock := s.log.rlockConv(id)
	defer unlock()
	gen := s.log.convs.generation()
	var c history.Conversation
	if err := s.conversations.FindOne(ctx, bson.M{"_id": id}, &c); err != nil {
		return nil, store.NotFound(err, "conversation", string(id))
	}
	s.log.convs.putRead(key, &c, gen)
	s.log.overlay(ctx, &c)
	return &c, nil
}

// UpdateConversation applies a patch and returns the result.
func (s *History) UpdateConversation(ctx context.Context, id history.ConversationID, p history.ConversationPatch, now time.Time) (*history.Conversation, error) {
	set := bson.M{"updated_at": now}
	if p.Status != "" {
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
		set["disposition"] = p.Disposition
	}
	if p.Rating != nil {
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
	var c history.Conversation
	unlock := s.log.lockConv(id)
	defer unlock()
	err := s.conversations.FindOneAndUpdate(ctx, bson.M{"_id": id}, update, &c, options.FindOneAndUpdate().SetReturnDocument(options.After))
	if t, ok := store.Tenant(ctx); ok {
		if err != nil {
			s.log.convs.drop(histTailKey(t, id)) // the update may or may not have happened
		} else {
			s.log.convs.put(histTailKey(t, id), &c)
		}
	}
	if err != nil {
		return nil, store.NotFound(err, "conversation", string(id))
	}
	s.log.overlay(ctx, &c)
	return &c, nil
}

// ListConversations returns a page of conversations and the next cursor.
func (s *History) ListConversations(ctx context.Context, q history.ConversationQuery) ([]history.Conversation, string, error) {
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
	out := []history.Conversation{}
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

// PutAttachment stores a file of at most maxSize bytes and returns its
// metadata. It returns only after the file is durably stored; when it fails
// (a read error, a file over maxSize, a store error) nothing of the file is
// left: no chunks, no file document, no metadata.
func (s *History) PutAttachment(ctx context.Context, a *history.Attachment, r io.Reader, maxSize int64) error {
	if _, ok := store.Tenant(ctx); !ok {
		return store.ErrNoTenant
	}
	s.openUpload.Lock()
	up, err := s.bucket.OpenUploadStreamWithID(ctx, string(a.ID), string(a.ID))
	s.openUpload.Unlock()
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(up, h), io.LimitReader(r, maxSize+1))
	if err == nil && n > maxSize {
		err = history.ErrTooLarge
	}
	if err != nil {
		if aerr := up.Abort(); aerr != nil {
			s.dropAttachment(ctx, a.ID)
		}
		return err
	}
	if err := up.Close(); err != nil {
		s.dropAttachment(ctx, a.ID)
		return err
	}
	a.Size, a.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	if err := s.attachments.InsertOne(ctx, a); err != nil {
		s.dropAttachment(ctx, a.ID)
		return err
	}
	return nil
}

// dropAttachment removes what a failed PutAttachment wrote (its file
// document and chunks), also when ctx is what failed.
func (s *History) dropAttachment(ctx context.Context, id history.AttachmentID) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = s.bucket.Delete(ctx, string(id))
}

// GetAttachment returns an attachment's metadata.
func (s *History) GetAttachment(ctx context.Context, id history.AttachmentID) (*history.Attachment, error) {
	var a history.Attachment
	if err := s.attachments.FindOne(ctx, bson.M{"_id": id}, &a); err != nil {
		return nil, store.NotFound(err, "attachment", string(id))
	}
	return &a, nil
}

// OpenAttachment returns an attachment and a reader of its bytes; the
// tenant check happens on the metadata before any byte is read.
func (s *History) OpenAttachment(ctx context.Context, id history.AttachmentID) (*history.Attachment, io.ReadCloser, error) {
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

// ---- Messages

// Message storage.
//
// The embedded server (FerretDB v1.24, SQLite handler) pushes only a filter
// of exactly {_id: <string>} down to SQL: any other filter reads and decodes
// every document of the collection in Go. Its updates are also not atomic
// (FerretDB reads the document, applies the operators in Go, then writes the
// whole document back by _id, outside any transaction), so concurrent $inc
// or $push on one document can lose an update; and each update is its own
// SQLite transaction while one insert command of many documents is one
// transaction (one commit, one sync). Measured on the hub's 2-core machine:
// an insert of 100 documents costs about as much as 10 single inserts, a
// $push into a document holding 50 messages costs 30-40 ms, and decoding
// an array of 50 sub-documents about 5 ms.
//
// Hence the layout, which is also a plain, sound MongoDB schema:
//
//   - A message is one document of "messages" with
//     _id = "<tenant>/<conversation>-<seq>", seq being the message's number
//     in its conversation written as seqDigits hex digits. The public
//     history.MessageID is the same without the tenant, so ids sort by seq (time)
//     within a conversation, are unique across conversations and tenants,
//     and name their document: SetDelivery is one update by _id, and a page
//     of ListMessages is a run of reads by _id (seq, seq-1, ...), O(page
//     size) whatever the size of the collection.
//   - Seqs are reserved from the conversation document ($inc seq_lease) by
//     a lease: one seq at a time on MongoDB, where several hub replicas may
//     write one conversation and the atomic $inc keeps their messages in
//     order; histLeaseEmbedded seqs at a time on the embedded server, which only
//     this process can reach (it listens on a random loopback port), so one
//     conversation-document update serves many messages. A lease is durable
//     before any of its seqs is used, so a restarted process never hands out
//     a seq again: a crash leaves a gap, and readers skip gaps.
//   - A client id is unique within its conversation by a unique index on
//     (tenant, conversation_id, client_msg_id) of the messages themselves:
//     exactly one send of a client id inserts a message, whatever the
//     timing, and there is nothing else to write. (Messages without one
//     get "srv:<id>".) A send that meets the index answers with the stored
//     message: this process remembers the client ids it stored recently;
//     otherwise the embedded server reads back the conversation's latest
//     messages by _id (a retry is of a recent send), and MongoDB, or the
//     embedded server past histRecentProbe messages, queries the index (on
//     the embedded server that query scans the collection: rare, a retry
//     from before a restart of a send more than histRecentProbe messages old).
//     The retry's own seq stays unused (a gap).
//   - Appends are group-committed: callers queue their message and one of
//     them (the leader) writes the whole queue with one insert of messages
//     (one SQLite transaction), then hands the lead to a waiting caller. A
//     caller returns only after its message is committed. No goroutine
//     outlives the call that runs it.
//   - history.Conversation counters (message_count, last_message_at,
//     last_customer_message_at, and first_response_at: the first agent
//     reply) are added in memory as messages commit and
//     written to the conversation document with the next lease or about
//     histCounterDelay histLater (by a timer, one conversation at a time beside
//     the group commits): a conversation-document update per message would
//     cost more than the message itself on the embedded server. Reads
//     through this History include the histPending counts; after a crash the
//     persisted counters may miss the last histCounterDelay of increments (the
//     messages themselves are durable).
//
// Pages of messages packed in one "bucket" document would make a page one
// read, but a bucket is updated once per message, which under FerretDB is
// a non-atomic read-modify-write of the whole page (30-40 ms, and a lost
// message if two writers race); a page here is ~51 reads by _id run in
// parallel instead.

const (
	histLeaseEmbedded = 256             // seqs reserved per conversation-document update on the embedded server
	histMaxBatch      = 256             // messages per group commit
	histCounterDelay  = 2 * time.Minute // a committed count waits in memory at most about this long
	// The counter timer writes at most histCounterTickWrites conversations per
	// histCounterTickEvery (160/s): spread out, a wave of due counters delays
	// few group commits, and 160/s keeps up with 19,000 busy conversations.
	histCounterTickWrites = 8
	histCounterTickEvery  = 50 * time.Millisecond
	histReadParallel      = 8                // concurrent reads by _id per page
	histMaxTails          = 100_000          // conversations whose sequencing state is kept in memory
	histFlushTimeout      = 30 * time.Second // one group commit, whatever its callers' contexts
)

func histMessageDocID(t store.TenantID, id history.MessageID) string {
	return string(t) + "/" + string(id)
}

// histMessageDoc is a message as stored.
type histMessageDoc struct {
	ID             string                 `bson:"_id"` // histMessageDocID
	Seq            int64                  `bson:"seq"`
	ConversationID history.ConversationID `bson:"conversation_id"`
	ContactID      history.ContactID      `bson:"contact_id"`
	Direction      history.Direction      `bson:"direction"`
	Kind           history.Kind           `bson:"kind"`
	Body           string                 `bson:"body"`
	Attachments    []history.Attachment   `bson:"attachments,omitempty"`
	Sender         history.Sender         `bson:"sender"`
	ClientMsgID    string                 `bson:"client_msg_id"`
	Delivery       history.Delivery       `bson:"delivery"`
	CreatedAt      time.Time              `bson:"created_at"`
}

func histToDoc(t store.TenantID, seq int64, m *history.Message) *histMessageDoc {
	return &histMessageDoc{ID: histMessageDocID(t, m.ID), Seq: seq, ConversationID: m.ConversationID, ContactID: m.ContactID,
		Direction: m.Direction, Kind: m.Kind, Body: m.Body, Attachments: m.Attachments, Sender: m.Sender,
		ClientMsgID: m.ClientMsgID, Delivery: m.Delivery, CreatedAt: m.CreatedAt}
}

func (d *histMessageDoc) message() history.Message {
	return history.Message{ID: history.MessageIDOf(d.ConversationID, d.Seq), ConversationID: d.ConversationID, ContactID: d.ContactID,
		Direction: d.Direction, Kind: d.Kind, Body: d.Body, Attachments: d.Attachments, Sender: d.Sender,
		ClientMsgID: d.ClientMsgID, Delivery: d.Delivery, CreatedAt: d.CreatedAt}
}

// histConvDoc is a conversation document with its sequencing field.
type histConvDoc struct {
	history.Conversation `bson:",inline"`
	SeqLease             int64 `bson:"seq_lease"`
}

// histTail is what this process knows of one conversation's sequence.
type histTail struct {
	next, leaseEnd int64 // next seq to hand out and the last leased; next > leaseEnd: lease first
	last           int64 // highest committed seq (used only when this process is the only writer)
	lastKnown      bool
	// Counters committed but not yet written to the conversation document.
	count            int64
	lastAt, lastInAt time.Time
	firstAgentAt     time.Time // earliest agent reply (the first response, if the document has none)
	dirtySince       time.Time
	keys             map[string]int64 // client id -> seq of messages this process stored or found
}

func (t *histTail) dirty() bool {
	return t.count != 0 || !t.lastAt.IsZero() || !t.firstAgentAt.IsZero()
}

func histEarlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// histPending is one AppendMessage waiting for its group commit.
type histPending struct {
	tenant  store.TenantID
	conv    history.ConversationID
	contact history.ContactID
	in      history.NewMessage
	at      time.Time

	seq       int64
	msg       *history.Message
	created   bool
	retry     bool // its client id was already claimed
	err       error
	followers []*histPending // same client id in the same batch

	done chan struct{}
	lead chan struct{} // the caller becomes the leader
}

// histLog sequences, group-commits and counts messages for one History.
type histLog struct {
	s      *History
	lease  int64
	single bool // this process is the database's only writer (embedded server)

	qmu     sync.Mutex
	queue   []*histPending
	leading bool

	mu       sync.Mutex
	tails    map[string]*histTail // by "<tenant>/<conversation>"
	timerSet bool

	// convLocks serialize this History's writes of one conversation document
	// (write lock) and make a read of it plus the histPending counters
	// consistent (read lock).
	convLocks [64]sync.RWMutex

	convs *histConvCache // nil unless single
}

func newHistLog(s *History, embedded bool) *histLog {
	l := &histLog{s: s, lease: 1, tails: map[string]*histTail{}}
	if embedded {
		l.lease, l.single = histLeaseEmbedded, true
		l.convs = newHistConvCache()
	}
	return l
}

// lockConv serializes this History's writes of one conversation document:
// FerretDB applies an update as read, modify, write back without a
// transaction, so two concurrent updates of one document may lose one.
func (l *histLog) lockConv(id history.ConversationID) (unlock func()) {
	m := l.convLock(id)
	m.Lock()
	return m.Unlock
}

// rlockConv is held while reading a conversation document that histPending
// counters are added to, so that no counter write happens in between.
func (l *histLog) rlockConv(id history.ConversationID) (unlock func()) {
	m := l.convLock(id)
	m.RLock()
	return m.RUnlock
}

func (l *histLog) convLock(id history.ConversationID) *sync.RWMutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return &l.convLocks[h.Sum32()%uint32(len(l.convLocks))]
}

func histTailKey(t store.TenantID, conv history.ConversationID) string {
	return string(t) + "/" + string(conv)
}

// tailLocked returns the conversation's histTail, creating it; l.mu is held.
func (l *histLog) tailLocked(key string) *histTail {
	tl := l.tails[key]
	if tl == nil {
		if len(l.tails) >= histMaxTails {
			l.evictLocked()
		}
		tl = &histTail{}
		l.tails[key] = tl
	}
	return tl
}

// evictLocked forgets clean tails. A forgotten conversation leases again
// (leaving a gap) and its readers find its last message again.
func (l *histLog) evictLocked() {
	for k, t := range l.tails {
		if !t.dirty() {
			delete(l.tails, k)
			if len(l.tails) < histMaxTails*9/10 {
				return
			}
		}
	}
}

// firstLease is the number of seqs a new conversation is created with: a
// lease is only worth holding in memory by the database's only writer.
func (l *histLog) firstLease() int64 {
	if l.single {
		return l.lease
	}
	return 0
}

// created records the lease a new conversation was created with.
func (l *histLog) created(ctx context.Context, conv history.ConversationID, lease int64) {
	t, ok := store.Tenant(ctx)
	if !ok || lease == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tl := l.tailLocked(histTailKey(t, conv))
	tl.next, tl.leaseEnd, tl.lastKnown = 1, lease, true
}

// overlay adds the counts committed by this process but not yet written to
// the conversation document.
func (l *histLog) overlay(ctx context.Context, c *history.Conversation) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	histOverlayTail(l.tails[histTailKey(t, c.ID)], c)
}

// cached returns the cached conversation with its histPending counters (on the
// embedded store). It needs no conversation lock: a counter write applies
// its counts to the cached document in the same critical section of l.mu
// that takes them from the histTail, so a reader sees them in one or the other.
func (l *histLog) cached(key string) (*history.Conversation, bool) {
	if l.convs == nil {
		return nil, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.convs.get(key)
	if !ok {
		return nil, false
	}
	histOverlayTail(l.tails[key], c)
	return c, true
}

// histOverlayTail adds tl's histPending counters to c.
func histOverlayTail(tl *histTail, c *history.Conversation) {
	if tl == nil || !tl.dirty() {
		return
	}
	c.MessageCount += tl.count
	if tl.lastAt.After(c.LastMessageAt) {
		c.LastMessageAt = tl.lastAt
	}
	if tl.lastAt.After(c.UpdatedAt) {
		c.UpdatedAt = tl.lastAt
	}
	if tl.lastInAt.After(c.LastCustomerMessageAt) {
		c.LastCustomerMessageAt = tl.lastInAt
	}
	c.FirstResponseAt = histEarlier(c.FirstResponseAt, tl.firstAgentAt)
}

// append queues a message and returns once it is committed (or failed).
// The caller's context only supplies the tenant: once queued, a message is
// written whatever happens to the caller, so its ack may be lost but never
// the message (a retry with the same client id finds it).
func (l *histLog) append(ctx context.Context, conv *history.Conversation, in history.NewMessage) (*history.Message, bool, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return nil, false, store.ErrNoTenant
	}
	p := &histPending{tenant: t, conv: conv.ID, contact: conv.ContactID, in: in, at: in.At,
		done: make(chan struct{}), lead: make(chan struct{}, 1)}
	if p.at.IsZero() {
		p.at = l.s.now()
	}
	p.at = p.at.UTC()
	l.qmu.Lock()
	l.queue = append(l.queue, p)
	lead := !l.leading
	l.leading = true
	l.qmu.Unlock()
	if lead {
		l.runBatch()
	}
	for {
		select {
		case <-p.done:
			return p.msg, p.created, p.err
		case <-p.lead:
			l.runBatch()
		}
	}
}

// runBatch commits the head of the queue and passes the lead to the first
// caller still queued, whose message is then in the next batch.
func (l *histLog) runBatch() {
	l.qmu.Lock()
	n := min(len(l.queue), histMaxBatch)
	batch := append([]*histPending(nil), l.queue[:n]...)
	l.queue = append(l.queue[:0:0], l.queue[n:]...)
	l.qmu.Unlock()

	l.flush(batch)
	l.release()
}

// release ends a leader's turn: the first caller still queued leads next.
func (l *histLog) release() {
	l.qmu.Lock()
	if len(l.queue) == 0 {
		l.leading = false
	} else {
		l.queue[0].lead <- struct{}{}
	}
	l.qmu.Unlock()
}

func (l *histLog) flush(batch []*histPending) {
	var order []store.TenantID
	groups := map[store.TenantID][]*histPending{}
	for _, p := range batch {
		if groups[p.tenant] == nil {
			order = append(order, p.tenant)
		}
		groups[p.tenant] = append(groups[p.tenant], p)
	}
	for _, t := range order {
		ctx, cancel := context.WithTimeout(store.WithTenant(context.Background(), t), histFlushTimeout)
		l.flushTenant(ctx, t, groups[t])
		cancel()
	}
	l.armCounterTimer()
	for _, p := range batch {
		close(p.done)
	}
}

// flushTenant commits one tenant's share of a batch: allocate seqs, claim
// client ids (one insert), insert the messages (one insert), then resolve
// retries of client ids claimed histEarlier.
func (l *histLog) flushTenant(ctx context.Context, t store.TenantID, ps []*histPending) {
	// Retries of one client id within the batch share one message.
	type ck struct {
		conv   history.ConversationID
		client string
	}
	firsts := map[ck]*histPending{}
	var leaders []*histPending
	for _, p := range ps {
		if p.in.ClientMsgID != "" {
			k := ck{p.conv, p.in.ClientMsgID}
			if f := firsts[k]; f != nil {
				f.followers = append(f.followers, p)
				continue
			}
			firsts[k] = p
		}
		leaders = append(leaders, p)
	}

	// Seqs, in arrival order within each conversation.
	var convs []history.ConversationID
	per := map[history.ConversationID][]*histPending{}
	for _, p := range leaders {
		if per[p.conv] == nil {
			convs = append(convs, p.conv)
		}
		per[p.conv] = append(per[p.conv], p)
	}
	for _, c := range convs {
		start, err := l.allocate(ctx, t, c, int64(len(per[c])))
		for i, p := range per[c] {
			if err != nil {
				p.err = err
				continue
			}
			p.seq = start + int64(i)
			p.msg = histNewMessage(p, p.seq)
		}
	}

	// Client ids this process stored already need no insert.
	for _, p := range leaders {
		if _, known := l.keySeq(t, p.conv, p.in.ClientMsgID); p.err == nil && known {
			p.retry = true
		}
	}

	// Insert the messages.
	var fresh []*histPending
	var docs []any
	for _, p := range leaders {
		if p.err == nil && !p.retry {
			fresh = append(fresh, p)
			docs = append(docs, histToDoc(t, p.seq, p.msg))
		}
	}
	if len(docs) > 0 {
		errs, err := histPerDoc(l.s.messages.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false)), len(docs))
		for i, p := range fresh {
			switch {
			case err != nil:
				p.err = err
			case errs[i] == nil:
				p.created = true
				l.committed(t, p.conv, p.seq, p.msg, true, true)
			case mongo.IsDuplicateKeyError(errs[i]):
				p.retry = true // this client id is stored already
			default:
				p.err = errs[i]
			}
		}
	}

	for _, p := range leaders {
		if p.retry {
			p.msg, p.err = l.resolve(ctx, t, p)
			p.created = false
		}
		for _, f := range p.followers {
			f.msg, f.created, f.err = p.msg, false, p.err
		}
	}
}

// histNewMessage is p's message numbered seq.
func histNewMessage(p *histPending, seq int64) *history.Message {
	in := p.in
	m := &history.Message{ID: history.MessageIDOf(p.conv, seq), ConversationID: p.conv, ContactID: p.contact, Direction: in.Direction,
		Kind: in.Kind, Body: in.Body, Attachments: in.Attachments, Sender: in.Sender, ClientMsgID: in.ClientMsgID,
		Delivery: in.Delivery, CreatedAt: p.at}
	if m.ClientMsgID == "" {
		m.ClientMsgID = "srv:" + string(m.ID)
	}
	return m
}

// histPerDoc splits an insert's error into one error per document; err is
// non-nil when the whole command failed.
func histPerDoc(err error, n int) (errs []error, whole error) {
	errs = make([]error, n)
	if err == nil {
		return errs, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return nil, err
	}
	for _, we := range bwe.WriteErrors {
		if we.Index >= 0 && we.Index < n {
			errs[we.Index] = mongo.WriteException{WriteErrors: mongo.WriteErrors{we.WriteError}}
		}
	}
	return errs, nil
}

// allocate reserves k consecutive seqs of a conversation and returns the
// first. Only the group-commit leader calls it, one batch at a time.
func (l *histLog) allocate(ctx context.Context, t store.TenantID, conv history.ConversationID, k int64) (int64, error) {
	key := histTailKey(t, conv)
	l.mu.Lock()
	tl := l.tailLocked(key)
	if tl.next > 0 && tl.next+k-1 <= tl.leaseEnd {
		start := tl.next
		tl.next += k
		l.mu.Unlock()
		return start, nil
	}
	l.mu.Unlock()
	// The lease update also carries the counters committed so far.
	n := max(k, l.lease)
	unlock := l.lockConv(conv)
	defer unlock()
	l.mu.Lock()
	upd, restore := l.takeCountersCachedLocked(key)
	l.mu.Unlock()
	upd["$inc"].(bson.M)["seq_lease"] = n
	var out struct {
		SeqLease int64 `bson:"seq_lease"`
	}
	err := l.s.conversations.FindOneAndUpdate(ctx, bson.M{"_id": conv}, upd, &out,
		options.FindOneAndUpdate().SetReturnDocument(options.After))
	l.mu.Lock()
	defer l.mu.Unlock()
	tl = l.tailLocked(key)
	if err != nil {
		restore(tl)
		return 0, store.NotFound(err, "conversation", string(conv))
	}
	start := out.SeqLease - n + 1
	tl.next, tl.leaseEnd = start+k, out.SeqLease
	if start == 1 {
		tl.lastKnown = true // the conversation has no message yet
	}
	return start, nil
}

// takeCountersCachedLocked takes the counters of the conversation at key
// (takeCountersLocked) and applies them to its cached document at once;
// restore also forgets the cached document, which then no longer matches
// the database. l.mu is held, and the conversation's lock.
func (l *histLog) takeCountersCachedLocked(key string) (bson.M, func(*histTail)) {
	tl := l.tailLocked(key)
	l.convs.update(key, func(c *history.Conversation) { histOverlayTail(tl, c) })
	upd, restore := l.takeCountersLocked(tl)
	return upd, func(tl *histTail) {
		restore(tl)
		l.convs.drop(key)
	}
}

// takeCountersLocked moves tl's histPending counters into an update document;
// restore puts them back if the update fails. l.mu is held.
func (l *histLog) takeCountersLocked(tl *histTail) (bson.M, func(*histTail)) {
	upd := bson.M{"$inc": bson.M{}}
	if !tl.dirty() {
		return upd, func(*histTail) {}
	}
	count, lastAt, lastInAt, firstAgentAt := tl.count, tl.lastAt, tl.lastInAt, tl.firstAgentAt
	upd["$inc"].(bson.M)["message_count"] = count
	maxes := bson.M{"last_message_at": lastAt, "updated_at": lastAt}
	if !lastInAt.IsZero() {
		maxes["last_customer_message_at"] = lastInAt
	}
	upd["$max"] = maxes
	if !firstAgentAt.IsZero() {
		// $min sets a missing field and keeps an histEarlier first response.
		upd["$min"] = bson.M{"first_response_at": firstAgentAt}
	}
	tl.count, tl.lastAt, tl.lastInAt, tl.firstAgentAt, tl.dirtySince = 0, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return upd, func(tl *histTail) {
		tl.count += count
		tl.lastAt, tl.lastInAt = histLater(tl.lastAt, lastAt), histLater(tl.lastInAt, lastInAt)
		tl.firstAgentAt = histEarlier(tl.firstAgentAt, firstAgentAt)
		if tl.dirtySince.IsZero() {
			tl.dirtySince = time.Now()
		}
	}
}

func histLater(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// committed records a stored message: the conversation's last seq and, when
// this call inserted it, its counters. A seq of this process's lease
// (fresh) is above every seq stored before the lease, so once one commits
// the last seq is known.
func (l *histLog) committed(t store.TenantID, conv history.ConversationID, seq int64, m *history.Message, count, fresh bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tl := l.tailLocked(histTailKey(t, conv))
	if seq > tl.last {
		tl.last = seq
	}
	if fresh {
		tl.lastKnown = true
	}
	if m.ClientMsgID != "" {
		l.rememberKeyLocked(tl, m.ClientMsgID, seq)
	}
	if !count {
		return
	}
	tl.count++
	tl.lastAt = histLater(tl.lastAt, m.CreatedAt)
	if m.Direction == history.DirectionIn {
		tl.lastInAt = histLater(tl.lastInAt, m.CreatedAt)
	}
	if m.Direction == history.DirectionOut && m.Sender.Type == history.SenderAgent {
		tl.firstAgentAt = histEarlier(tl.firstAgentAt, m.CreatedAt)
	}
	if tl.dirtySince.IsZero() {
		tl.dirtySince = time.Now()
	}
}

// existing reads the message stored at seq and checks that it carries
// client id c (the same send).
func (l *histLog) existing(ctx context.Context, t store.TenantID, conv history.ConversationID, seq int64, c string) (*history.Message, error) {
	var d histMessageDoc
	if err := l.s.messages.FindOne(ctx, bson.M{"_id": histMessageDocID(t, history.MessageIDOf(conv, seq))}, &d); err != nil {
		return nil, err
	}
	if c == "" || d.ClientMsgID != c {
		return nil, fmt.Errorf("history: message %s: seq taken by another message", history.MessageIDOf(conv, seq))
	}
	m := d.message()
	return &m, nil
}

// histRecentProbe is how many of a conversation's latest messages the
// embedded server reads back by _id to find a retried client id before it
// queries (scans) for it.
var histRecentProbe int64 = 256

// resolve answers a send whose client id is stored already with the
// stored message. p's own seq stays unused (a gap).
func (l *histLog) resolve(ctx context.Context, t store.TenantID, p *histPending) (*history.Message, error) {
	c := p.in.ClientMsgID
	if seq, ok := l.keySeq(t, p.conv, c); ok {
		if m, err := l.existing(ctx, t, p.conv, seq, c); err == nil {
			return m, nil
		}
	}
	if l.single {
		// Every stored message of the conversation has a lower seq than
		// p's, allocated by the only writer.
		for seq := p.seq - 1; seq >= max(1, p.seq-histRecentProbe); seq-- {
			var d histMessageDoc
			err := l.s.messages.FindOne(ctx, bson.M{"_id": histMessageDocID(t, history.MessageIDOf(p.conv, seq))}, &d)
			switch {
			case errors.Is(err, mongo.ErrNoDocuments):
				continue // a gap
			case err != nil:
				return nil, err
			}
			if d.ClientMsgID == c {
				m := d.message()
				l.rememberKey(t, p.conv, c, seq)
				return &m, nil
			}
		}
	}
	var d histMessageDoc
	if err := l.s.messages.FindOne(ctx, bson.M{"conversation_id": p.conv, "client_msg_id": c}, &d); err != nil {
		return nil, store.NotFound(err, "message with client id", c)
	}
	m := d.message()
	l.rememberKey(t, p.conv, c, d.Seq)
	return &m, nil
}

// histMaxKeysPerTail bounds the client ids remembered per conversation; when a
// conversation passes it, the oldest half is forgotten (resolve finds
// those by reading).
const histMaxKeysPerTail = 64

// keySeq returns the seq at which this process stored client id c in conv.
func (l *histLog) keySeq(t store.TenantID, conv history.ConversationID, c string) (int64, bool) {
	if c == "" {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tl := l.tails[histTailKey(t, conv)]
	if tl == nil {
		return 0, false
	}
	seq, ok := tl.keys[c]
	return seq, ok
}

func (l *histLog) rememberKey(t store.TenantID, conv history.ConversationID, c string, seq int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rememberKeyLocked(l.tailLocked(histTailKey(t, conv)), c, seq)
}

func (l *histLog) rememberKeyLocked(tl *histTail, c string, seq int64) {
	if tl.keys == nil {
		tl.keys = map[string]int64{}
	}
	if len(tl.keys) >= histMaxKeysPerTail {
		var low []int64
		for _, s := range tl.keys {
			low = append(low, s)
		}
		slices.Sort(low)
		cut := low[len(low)/2]
		for k, s := range tl.keys {
			if s < cut {
				delete(tl.keys, k)
			}
		}
	}
	tl.keys[c] = seq
}

// armCounterTimer schedules a write of the histPending counters, at most
// histCounterDelay after they became histPending.
//
// The timer writes them, one conversation at a time, beside the group
// commits: on the embedded server every write waits its turn at the
// store's write gate (first come, first served), so a batch of messages
// waits for at most the one counter write ahead of it, never for the whole
// backlog.
func (l *histLog) armCounterTimer() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timerSet {
		return
	}
	for _, tl := range l.tails {
		if tl.dirty() {
			l.timerSet = true
			time.AfterFunc(max(histCounterDelay-time.Since(tl.dirtySince), 0)+time.Second, l.counterTick)
			return
		}
	}
}

// counterTick runs on the counter timer: it writes some of the counters
// due and arms the timer for the rest or the next.
func (l *histLog) counterTick() {
	l.mu.Lock()
	l.timerSet = false
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), histFlushTimeout)
	defer cancel()
	more, err := l.flushCounters(ctx, histCounterDelay, histCounterTickWrites)
	var again time.Duration
	switch {
	case err != nil:
		again = time.Second // failed counters went back to their tails
	case more:
		again = histCounterTickEvery
	default:
		l.armCounterTimer()
		return
	}
	l.mu.Lock()
	if !l.timerSet {
		l.timerSet = true
		time.AfterFunc(again, l.counterTick)
	}
	l.mu.Unlock()
}

// flushCounters writes the counters histPending for at least age, at most
// budget of them (0: all), and reports whether more are due.
func (l *histLog) flushCounters(ctx context.Context, age time.Duration, budget int) (more bool, _ error) {
	var keys []string
	now := time.Now()
	l.mu.Lock()
	for k, tl := range l.tails {
		if tl.dirty() && now.Sub(tl.dirtySince) >= age {
			if budget > 0 && len(keys) == budget {
				more = true
				break
			}
			keys = append(keys, k)
		}
	}
	l.mu.Unlock()
	var firstErr error
	for _, key := range keys {
		i := strings.IndexByte(key, '/')
		t, conv := store.TenantID(key[:i]), history.ConversationID(key[i+1:])
		unlock := l.lockConv(conv)
		l.mu.Lock()
		upd, back := l.takeCountersCachedLocked(key)
		l.mu.Unlock()
		var err error
		if _, ok := upd["$max"]; ok { // still dirty
			_, err = l.s.conversations.UpdateOne(store.WithTenant(ctx, t), bson.M{"_id": conv}, upd)
		}
		if err != nil {
			l.mu.Lock()
			back(l.tailLocked(key))
			l.mu.Unlock()
			if firstErr == nil {
				firstErr = err
			}
		}
		unlock()
	}
	return more, firstErr
}

// AppendMessage stores a message durably and returns it. A message whose
// ClientMsgID was already stored in this conversation is not stored again:
// the stored one is returned with created=false.
//
// Concurrent appends share commits (see the package's message storage
// notes above); AppendMessage returns once its message is
// committed. The conversation's counters are updated in memory at once and
// in the conversation document within a few seconds.
func (s *History) AppendMessage(ctx context.Context, conv *history.Conversation, in history.NewMessage) (*history.Message, bool, error) {
	return s.log.append(ctx, conv, in)
}

// Flush writes the conversation counters still held in memory; call it on
// shutdown (they are written within a few seconds anyway).
func (s *History) Flush(ctx context.Context) error {
	_, err := s.log.flushCounters(ctx, 0, 0)
	return err
}

// ListMessages returns a page of a conversation's messages, oldest first,
// and whether more exist in the direction of travel. It costs one read of
// the conversation and about Limit reads by _id, whatever the number of
// messages stored.
func (s *History) ListMessages(ctx context.Context, conv history.ConversationID, q history.MessageQuery) ([]history.Message, bool, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > 500 {
		return nil, false, &history.ValidationError{Field: "limit", Reason: "must be at most 500"}
	}
	if q.After != "" && q.Before != "" {
		return nil, false, &history.ValidationError{Field: "after", Reason: "give after or before, not both"}
	}
	t, ok := store.Tenant(ctx)
	if !ok {
		return nil, false, store.ErrNoTenant
	}
	var cd histConvDoc
	if err := s.conversations.FindOne(ctx, bson.M{"_id": conv}, &cd); err != nil {
		return nil, false, store.NotFound(err, "conversation", string(conv))
	}
	hi, known := cd.SeqLease, false
	if s.log.single {
		// The only writer knows the last committed seq; the lease may run
		// up to histLeaseEmbedded-1 seqs past it.
		s.log.mu.Lock()
		if tl := s.log.tails[histTailKey(t, conv)]; tl != nil && tl.lastKnown {
			hi, known = tl.last, true
		}
		s.log.mu.Unlock()
	}
	from, to, dir := hi, int64(1), int64(-1)
	cursor := func(field string, id history.MessageID) (int64, error) {
		c, seq, ok := history.ParseMessageID(id)
		if !ok || c != conv {
			return 0, &history.ValidationError{Field: field, Reason: "is not a message of this conversation"}
		}
		return seq, nil
	}
	switch {
	case q.After != "":
		seq, err := cursor("after", q.After)
		if err != nil {
			return nil, false, err
		}
		from, to, dir = seq+1, hi, 1
	case q.Before != "":
		seq, err := cursor("before", q.Before)
		if err != nil {
			return nil, false, err
		}
		from = min(seq-1, hi)
	}
	out, err := s.readRun(ctx, t, conv, from, to, dir, q.Limit+1)
	if err != nil {
		return nil, false, err
	}
	if s.log.single && !known && q.After == "" && q.Before == "" {
		s.log.mu.Lock()
		tl := s.log.tailLocked(histTailKey(t, conv))
		if len(out) > 0 && out[0].seq > tl.last {
			tl.last = out[0].seq
		}
		tl.lastKnown = true
		s.log.mu.Unlock()
	}
	more := len(out) > q.Limit
	if more {
		out = out[:q.Limit]
	}
	msgs := make([]history.Message, len(out))
	for i, d := range out {
		j := i
		if dir < 0 {
			j = len(out) - 1 - i
		}
		msgs[j] = d.Message
		// A conversation's messages follow its contact through merges.
		msgs[j].ContactID = cd.ContactID
	}
	return msgs, more, nil
}

type histSeqMessage struct {
	history.Message
	seq int64
}

// readRun reads messages by _id from seq from towards to (dir +1 or -1),
// skipping gaps, until it has want of them.
func (s *History) readRun(ctx context.Context, t store.TenantID, conv history.ConversationID, from, to, dir int64, want int) ([]histSeqMessage, error) {
	out := []histSeqMessage{}
	for cur := from; len(out) < want && (dir > 0 && cur <= to || dir < 0 && cur >= to); {
		n := int64(want - len(out))
		if dir > 0 {
			n = min(n, to-cur+1)
		} else {
			n = min(n, cur-to+1)
		}
		got := make([]*histMessageDoc, n)
		errs := make([]error, n)
		sem := make(chan struct{}, histReadParallel)
		var wg sync.WaitGroup
		for i := int64(0); i < n; i++ {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				var d histMessageDoc
				err := s.messages.FindOne(ctx, bson.M{"_id": histMessageDocID(t, history.MessageIDOf(conv, cur+dir*i))}, &d)
				switch {
				case err == nil:
					got[i] = &d
				case !errors.Is(err, mongo.ErrNoDocuments):
					errs[i] = err
				}
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil {
				return nil, errs[i]
			}
			if got[i] != nil && len(out) < want {
				out = append(out, histSeqMessage{got[i].message(), got[i].Seq})
			}
		}
		cur += dir * n
	}
	return out, nil
}

// SetDelivery records how far a message got: one update by _id.
func (s *History) SetDelivery(ctx context.Context, id history.MessageID, d history.Delivery) error {
	t, ok := store.Tenant(ctx)
	if !ok {
		return store.ErrNoTenant
	}
	if _, _, ok := history.ParseMessageID(id); !ok {
		return &store.NotFoundError{Kind: "message", ID: string(id)}
	}
	res, err := s.messages.UpdateOne(ctx, bson.M{"_id": histMessageDocID(t, id)}, bson.M{"$set": bson.M{"delivery": d}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return &store.NotFoundError{Kind: "message", ID: string(id)}
	}
	return nil
}

// ---- The conversation cache of the embedded server

// histMaxCachedConversations bounds the conversation cache; when it is full a
// tenth of it is forgotten (any tenth: a forgotten conversation is read
// again on its next use).
const histMaxCachedConversations = 50_000

// histConvCache keeps the conversation documents this process last read or
// wrote, as stored (without the counters the message log still holds).
// It exists only when the process is the database's only writer (the
// embedded server), where nobody else can change a document behind it:
// then reading a conversation by id, which every agent message does, costs
// no database round trip. Entries are changed under the conversation's
// lock in histLog.convLocks, like the documents they copy; every write
// of a conversation document in this package updates or drops its entry.
// Readers of a cached document take no conversation lock (see
// histLog.cached).
type histConvCache struct {
	mu  sync.Mutex
	m   map[string]*history.Conversation // histTailKey -> document
	gen uint64                           // bumped by clear
}

func newHistConvCache() *histConvCache { return &histConvCache{m: map[string]*history.Conversation{}} }

// histCloneConversation copies c deeply enough that neither copy sees changes
// to the other's slices or maps.
func histCloneConversation(c *history.Conversation) *history.Conversation {
	cp := *c
	cp.Tags = slices.Clone(c.Tags)
	cp.Attributes = maps.Clone(c.Attributes)
	if c.Disposition != nil {
		d := *c.Disposition
		cp.Disposition = &d
	}
	if c.Rating != nil {
		r := *c.Rating
		cp.Rating = &r
	}
	return &cp
}

// get returns a copy of the cached document.
func (cc *histConvCache) get(key string) (*history.Conversation, bool) {
	if cc == nil {
		return nil, false
	}
	cc.mu.Lock()
	c, ok := cc.m[key]
	cc.mu.Unlock()
	if !ok {
		return nil, false
	}
	return histCloneConversation(c), true
}

// generation identifies the cache's contents between two clears: a reader
// takes it before reading a document and passes it to putRead.
func (cc *histConvCache) generation() uint64 {
	if cc == nil {
		return 0
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.gen
}

// putRead stores a document read from the database, unless a change to
// many documents (clear) happened since the read began.
func (cc *histConvCache) putRead(key string, c *history.Conversation, gen uint64) {
	if cc == nil {
		return
	}
	cp := histCloneConversation(c)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.gen == gen {
		cc.putLocked(key, cp)
	}
}

// put stores a copy of c as the document now stored.
func (cc *histConvCache) put(key string, c *history.Conversation) {
	if cc == nil {
		return
	}
	cp := histCloneConversation(c)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.putLocked(key, cp)
}

func (cc *histConvCache) putLocked(key string, cp *history.Conversation) {
	if len(cc.m) >= histMaxCachedConversations {
		n := 0
		for k := range cc.m {
			delete(cc.m, k)
			if n++; n >= histMaxCachedConversations/10 {
				break
			}
		}
	}
	cc.m[key] = cp
}

// update changes the cached document in place, if there is one.
func (cc *histConvCache) update(key string, f func(*history.Conversation)) {
	if cc == nil {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if c, ok := cc.m[key]; ok {
		f(c)
	}
}

// drop forgets one document (it changed in a way the cache does not copy).
func (cc *histConvCache) drop(key string) {
	if cc == nil {
		return
	}
	cc.mu.Lock()
	delete(cc.m, key)
	cc.mu.Unlock()
}

// clear forgets every document (a change to many at once).
func (cc *histConvCache) clear() {
	if cc == nil {
		return
	}
	cc.mu.Lock()
	clear(cc.m)
	cc.gen++
	cc.mu.Unlock()
}
