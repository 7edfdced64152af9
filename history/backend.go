package history

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Backend is the storage the history needs. Two implementations exist:
// the embedded SQLite store (storage/sqlite) and MongoDB (storage/mongo);
// both pass the contract suite in history/historytest.
//
// Every method is scoped to the tenant in its context: without one it
// fails with store.ErrNoTenant, and a row of another tenant is never read,
// returned or changed (it is a *store.NotFoundError, like one that does not
// exist). Inputs are validated by [Store] before they reach a Backend;
// errors are typed (*store.NotFoundError, *store.DuplicateError,
// *ValidationError) so the HTTP layer maps them.
type Backend interface {
	// FindOrCreateContact returns the contact known by id or, when nobody
	// is, stores c (whose Identities are [id]) and returns it with
	// created=true. Concurrent calls for one identity return one contact.
	FindOrCreateContact(ctx context.Context, id Identity, c *Contact) (*Contact, bool, error)
	// FindContact returns the contact known by id.
	FindContact(ctx context.Context, id Identity) (*Contact, error)
	// GetContact returns a contact; a merged contact resolves to the one it
	// was merged into.
	GetContact(ctx context.Context, id ContactID) (*Contact, error)
	// UpdateContact applies a (validated) patch to a contact not merged
	// into another.
	UpdateContact(ctx context.Context, id ContactID, p ContactPatch, now time.Time) (*Contact, error)
	// AddIdentity makes id point at contact; an identity owned by another
	// contact is a *store.DuplicateError.
	AddIdentity(ctx context.Context, contact ContactID, id Identity, now time.Time) error
	// MergeContacts folds from into into (see Store.MergeContacts).
	MergeContacts(ctx context.Context, into, from ContactID, now time.Time) (*Contact, error)

	// CreateConversation stores a new conversation.
	CreateConversation(ctx context.Context, c *Conversation) error
	// GetConversation returns one conversation with its counters.
	GetConversation(ctx context.Context, id ConversationID) (*Conversation, error)
	// UpdateConversation applies a (validated) patch and returns the result.
	UpdateConversation(ctx context.Context, id ConversationID, p ConversationPatch, now time.Time) (*Conversation, error)
	// ListConversations returns a page, newest first, and the next cursor
	// ("" on the last page). q.Limit is set (1-500).
	ListConversations(ctx context.Context, q ConversationQuery) ([]Conversation, string, error)

	// AppendMessage stores a (validated) message in conv, numbering it
	// after the conversation's last one (its id is MessageIDOf(conv, seq)),
	// and updates the conversation's counters. A message whose ClientMsgID
	// is stored already in conv is not stored again: the stored one is
	// returned with created=false. It returns once the message is durable.
	// in.At is set. Messages without a client id get "srv:" + their id.
	AppendMessage(ctx context.Context, conv *Conversation, in NewMessage) (*Message, bool, error)
	// ListMessages returns a page of a conversation's messages, oldest
	// first, and whether more exist in the direction of travel. q.Limit is
	// set (1-500); the cursors are ids of this conversation.
	ListMessages(ctx context.Context, conv ConversationID, q MessageQuery) ([]Message, bool, error)
	// SetDelivery records how far a message got.
	SetDelivery(ctx context.Context, id MessageID, d Delivery) error
	// Flush writes what the backend still holds in memory (shutdown).
	Flush(ctx context.Context) error

	// PutAttachment stores the bytes of r, at most maxSize of them
	// (ErrTooLarge past it), under a's id and stores a with its Size and
	// SHA256 set. It returns once the file is durable; when it fails
	// nothing of the file is left behind.
	PutAttachment(ctx context.Context, a *Attachment, r io.Reader, maxSize int64) error
	// GetAttachment returns an attachment's metadata.
	GetAttachment(ctx context.Context, id AttachmentID) (*Attachment, error)
	// OpenAttachment returns an attachment's metadata and a reader of its
	// bytes; the tenant is checked before any byte is read.
	OpenAttachment(ctx context.Context, id AttachmentID) (*Attachment, io.ReadCloser, error)
}

// seqDigits is the width of a message's sequence number in its id: fixed,
// so ids sort by sequence within a conversation.
const seqDigits = 10

// MessageIDOf is the id of message number seq (from 1) of conv.
func MessageIDOf(conv ConversationID, seq int64) MessageID {
	return MessageID(fmt.Sprintf("%s-%0*x", conv, seqDigits, seq))
}

// ParseMessageID splits a message id into its conversation and number.
func ParseMessageID(id MessageID) (ConversationID, int64, bool) {
	i := strings.LastIndexByte(string(id), '-')
	if i <= 0 || len(id)-i-1 != seqDigits {
		return "", 0, false
	}
	n, err := strconv.ParseInt(string(id[i+1:]), 16, 64)
	if err != nil || n <= 0 {
		return "", 0, false
	}
	return ConversationID(id[:i]), n, true
}

// MessageCursor checks a paging cursor (field "after" or "before") of
// conv's messages and returns its number.
func MessageCursor(conv ConversationID, field string, id MessageID) (int64, error) {
	c, seq, ok := ParseMessageID(id)
	if !ok || c != conv {
		return 0, &ValidationError{Field: field, Reason: "is not a message of this conversation"}
	}
	return seq, nil
}

// NewStoredMessage is message number seq of conv, as AppendMessage stores
// it for in (conv's contact, in.At as its time, "srv:<id>" as the client
// id of a message sent without one).
func NewStoredMessage(conv *Conversation, seq int64, in NewMessage) *Message {
	m := &Message{ID: MessageIDOf(conv.ID, seq), ConversationID: conv.ID, ContactID: conv.ContactID, Direction: in.Direction,
		Kind: in.Kind, Body: in.Body, Attachments: in.Attachments, Sender: in.Sender, ClientMsgID: in.ClientMsgID,
		Delivery: in.Delivery, CreatedAt: in.At}
	if m.ClientMsgID == "" {
		m.ClientMsgID = "srv:" + string(m.ID)
	}
	return m
}

// FirstResponse reports whether m counts as the first response to a
// customer (an agent's reply).
func FirstResponse(m *Message) bool {
	return m.Direction == DirectionOut && m.Sender.Type == SenderAgent
}
