// Package history is the shared conversation history of the hub: contacts
// (one person, with an identity per channel), conversations on any channel,
// their messages and attachments. Every channel writes here and the agent
// inbox, supervisors and reports read from here, so a contact's past on
// voice, WeChat, web chat and SMS is one history.
//
// [Store] validates and keeps everything in a [Backend]: the embedded
// SQLite store (storage/sqlite) or MongoDB (storage/mongo). Every call is
// scoped to the tenant in its context.
package history

import "time"

// ContactID identifies a contact.
type ContactID string

// ConversationID identifies a conversation.
type ConversationID string

// MessageID identifies a message. Message ids sort by creation time.
type MessageID string

// Channel is how a conversation reached the hub.
type Channel string

// Channels of the hub.
const (
	ChannelVoice   Channel = "voice"
	ChannelVideo   Channel = "video"
	ChannelWebChat Channel = "webchat"
	ChannelWeChat  Channel = "wechat"
	ChannelSMS     Channel = "sms"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	switch c {
	case ChannelVoice, ChannelVideo, ChannelWebChat, ChannelWeChat, ChannelSMS:
		return true
	}
	return false
}

// IdentityKind is the kind of address a contact is known by.
type IdentityKind string

// Identity kinds.
const (
	IdentityPhone         IdentityKind = "phone"
	IdentityWeChatOpenID  IdentityKind = "wechat_openid"
	IdentityWeChatUnionID IdentityKind = "wechat_unionid"
	IdentityWebVisitor    IdentityKind = "web_visitor"
	IdentityEmail         IdentityKind = "email"
	// IdentityWebUser is a web site's own customer id, attached to a web
	// chat visitor only when the site signed it (identity verification).
	IdentityWebUser IdentityKind = "web_user"
)

// Valid reports whether k is a known identity kind.
func (k IdentityKind) Valid() bool {
	switch k {
	case IdentityPhone, IdentityWeChatOpenID, IdentityWeChatUnionID, IdentityWebVisitor, IdentityEmail, IdentityWebUser:
		return true
	}
	return false
}

// Identity is one address of a contact on one channel.
type Identity struct {
	Kind  IdentityKind `bson:"kind" json:"kind"`
	Value string       `bson:"value" json:"value"`
}

// Contact is one person, whatever channels they use.
type Contact struct {
	ID         ContactID         `bson:"_id" json:"id"`
	Name       string            `bson:"name" json:"name"`
	Identities []Identity        `bson:"identities" json:"identities"`
	Attributes map[string]string `bson:"attributes,omitempty" json:"attributes,omitempty"`
	// MergedInto is set on a contact that was merged into another one.
	MergedInto ContactID `bson:"merged_into,omitempty" json:"merged_into,omitempty"`
	CreatedAt  time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt  time.Time `bson:"updated_at" json:"updated_at"`
}

// Status is where a conversation is in its life.
type Status string

// Conversation statuses, in life order.
const (
	StatusBot      Status = "bot"      // answered by the knowledge-base bot
	StatusQueued   Status = "queued"   // waiting in a skill queue
	StatusAssigned Status = "assigned" // an agent handles it
	StatusWrapUp   Status = "wrap_up"  // ended, agent in after-call work
	StatusClosed   Status = "closed"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusBot, StatusQueued, StatusAssigned, StatusWrapUp, StatusClosed:
		return true
	}
	return false
}

// Disposition is the agent's classification of a contact (话务标识).
type Disposition struct {
	Purpose string    `bson:"purpose" json:"purpose"`
	SubType string    `bson:"sub_type,omitempty" json:"sub_type,omitempty"`
	Note    string    `bson:"note,omitempty" json:"note,omitempty"`
	SetBy   string    `bson:"set_by" json:"set_by"`
	SetAt   time.Time `bson:"set_at" json:"set_at"`
}

// Rating is the customer's satisfaction with a conversation.
type Rating struct {
	Score   int       `bson:"score" json:"score"` // 1-5
	Comment string    `bson:"comment,omitempty" json:"comment,omitempty"`
	At      time.Time `bson:"at" json:"at"`
}

// Conversation is one contact's exchange with the company on one channel,
// from first message or call to close.
type Conversation struct {
	ID          ConversationID    `bson:"_id" json:"id"`
	ContactID   ContactID         `bson:"contact_id" json:"contact_id"`
	Channel     Channel           `bson:"channel" json:"channel"`
	Status      Status            `bson:"status" json:"status"`
	GroupID     string            `bson:"group_id,omitempty" json:"group_id,omitempty"`
	AssigneeID  string            `bson:"assignee_id,omitempty" json:"assignee_id,omitempty"`
	Subject     string            `bson:"subject,omitempty" json:"subject,omitempty"`
	Tags        []string          `bson:"tags" json:"tags"`
	Disposition *Disposition      `bson:"disposition,omitempty" json:"disposition,omitempty"`
	Rating      *Rating           `bson:"rating,omitempty" json:"rating,omitempty"`
	Attributes  map[string]string `bson:"attributes,omitempty" json:"attributes,omitempty"`

	// Timestamps of each step; zero when the step has not happened.
	CreatedAt             time.Time `bson:"created_at" json:"created_at"`
	QueuedAt              time.Time `bson:"queued_at,omitempty" json:"queued_at,omitzero"`
	AssignedAt            time.Time `bson:"assigned_at,omitempty" json:"assigned_at,omitzero"`
	FirstResponseAt       time.Time `bson:"first_response_at,omitempty" json:"first_response_at,omitzero"`
	EndedAt               time.Time `bson:"ended_at,omitempty" json:"ended_at,omitzero"`
	ClosedAt              time.Time `bson:"closed_at,omitempty" json:"closed_at,omitzero"`
	LastMessageAt         time.Time `bson:"last_message_at,omitempty" json:"last_message_at,omitzero"`
	LastCustomerMessageAt time.Time `bson:"last_customer_message_at,omitempty" json:"last_customer_message_at,omitzero"`
	UpdatedAt             time.Time `bson:"updated_at" json:"updated_at"`
	MessageCount          int64     `bson:"message_count" json:"message_count"`
}

// Direction of a message.
type Direction string

// Directions.
const (
	DirectionIn       Direction = "in"       // from the customer
	DirectionOut      Direction = "out"      // to the customer
	DirectionInternal Direction = "internal" // notes and system events the customer does not see
)

// Kind of message content.
type Kind string

// Message kinds.
const (
	KindText   Kind = "text"
	KindImage  Kind = "image"
	KindFile   Kind = "file"
	KindAudio  Kind = "audio"
	KindVideo  Kind = "video"
	KindEvent  Kind = "event"
	KindSystem Kind = "system"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	switch k {
	case KindText, KindImage, KindFile, KindAudio, KindVideo, KindEvent, KindSystem:
		return true
	}
	return false
}

// SenderType says who wrote a message.
type SenderType string

// Sender types.
const (
	SenderCustomer SenderType = "customer"
	SenderAgent    SenderType = "agent"
	SenderBot      SenderType = "bot"
	SenderSystem   SenderType = "system"
)

// Sender of a message.
type Sender struct {
	Type SenderType `bson:"type" json:"type"`
	ID   string     `bson:"id,omitempty" json:"id,omitempty"`
	Name string     `bson:"name,omitempty" json:"name,omitempty"`
}

// Delivery is how far a message got.
type Delivery string

// Delivery states, in order.
const (
	DeliveryStored    Delivery = "stored"
	DeliverySent      Delivery = "sent"
	DeliveryDelivered Delivery = "delivered"
	DeliveryRead      Delivery = "read"
	DeliveryFailed    Delivery = "failed"
)

// AttachmentID identifies a stored file.
type AttachmentID string

// Attachment is a file carried by a message.
type Attachment struct {
	ID          AttachmentID `bson:"_id" json:"id"`
	Name        string       `bson:"name" json:"name"`
	ContentType string       `bson:"content_type" json:"content_type"`
	Size        int64        `bson:"size" json:"size"`
	SHA256      string       `bson:"sha256" json:"sha256"`
	CreatedAt   time.Time    `bson:"created_at" json:"created_at"`
}

// Message is one entry of a conversation.
type Message struct {
	ID             MessageID      `bson:"_id" json:"id"`
	ConversationID ConversationID `bson:"conversation_id" json:"conversation_id"`
	ContactID      ContactID      `bson:"contact_id" json:"contact_id"`
	Direction      Direction      `bson:"direction" json:"direction"`
	Kind           Kind           `bson:"kind" json:"kind"`
	Body           string         `bson:"body" json:"body"`
	Attachments    []Attachment   `bson:"attachments,omitempty" json:"attachments,omitempty"`
	Sender         Sender         `bson:"sender" json:"sender"`
	// ClientMsgID is the sender's id for the message, so a retried send is
	// stored once. Messages sent without one get "srv:" + their id.
	ClientMsgID string    `bson:"client_msg_id" json:"client_msg_id"`
	Delivery    Delivery  `bson:"delivery" json:"delivery"`
	CreatedAt   time.Time `bson:"created_at" json:"created_at"`
}
