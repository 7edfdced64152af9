package history

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
//     MessageID is the same without the tenant, so ids sort by seq (time)
//     within a conversation, are unique across conversations and tenants,
//     and name their document: SetDelivery is one update by _id, and a page
//     of ListMessages is a run of reads by _id (seq, seq-1, ...), O(page
//     size) whatever the size of the collection.
//   - Seqs are reserved from the conversation document ($inc seq_lease) by
//     a lease: one seq at a time on MongoDB, where several hub replicas may
//     write one conversation and the atomic $inc keeps their messages in
//     order; leaseEmbedded seqs at a time on the embedded server, which only
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
//     embedded server past recentProbe messages, queries the index (on
//     the embedded server that query scans the collection: rare, a retry
//     from before a restart of a send more than recentProbe messages old).
//     The retry's own seq stays unused (a gap).
//   - Appends are group-committed: callers queue their message and one of
//     them (the leader) writes the whole queue with one insert of messages
//     (one SQLite transaction), then hands the lead to a waiting caller. A
//     caller returns only after its message is committed. No goroutine
//     outlives the call that runs it.
//   - Conversation counters (message_count, last_message_at,
//     last_customer_message_at, and first_response_at: the first agent
//     reply) are added in memory as messages commit and
//     written to the conversation document with the next lease or about
//     counterDelay later (by a timer, one conversation at a time beside
//     the group commits): a conversation-document update per message would
//     cost more than the message itself on the embedded server. Reads
//     through this Store include the pending counts; after a crash the
//     persisted counters may miss the last counterDelay of increments (the
//     messages themselves are durable).
//
// Pages of messages packed in one "bucket" document would make a page one
// read, but a bucket is updated once per message, which under FerretDB is
// a non-atomic read-modify-write of the whole page (30-40 ms, and a lost
// message if two writers race); a page here is ~51 reads by _id run in
// parallel instead.

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/omnihub/hub/internal/store"
)

const (
	seqDigits     = 10              // hex digits of a seq in a message id: fixed width, so ids sort by seq
	leaseEmbedded = 256             // seqs reserved per conversation-document update on the embedded server
	maxBatch      = 256             // messages per group commit
	counterDelay  = 2 * time.Minute // a committed count waits in memory at most about this long
	// The counter timer writes at most counterTickWrites conversations per
	// counterTickEvery (160/s): spread out, a wave of due counters delays
	// few group commits, and 160/s keeps up with 19,000 busy conversations.
	counterTickWrites = 8
	counterTickEvery  = 50 * time.Millisecond
	readParallel      = 8                // concurrent reads by _id per page
	maxTails          = 100_000          // conversations whose sequencing state is kept in memory
	flushTimeout      = 30 * time.Second // one group commit, whatever its callers' contexts
)

func messageID(conv ConversationID, seq int64) MessageID {
	return MessageID(fmt.Sprintf("%s-%0*x", conv, seqDigits, seq))
}

// parseMessageID splits a message id into its conversation and seq.
func parseMessageID(id MessageID) (ConversationID, int64, bool) {
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

func messageDocID(t store.TenantID, id MessageID) string { return string(t) + "/" + string(id) }

// messageDoc is a message as stored.
type messageDoc struct {
	ID             string         `bson:"_id"` // messageDocID
	Seq            int64          `bson:"seq"`
	ConversationID ConversationID `bson:"conversation_id"`
	ContactID      ContactID      `bson:"contact_id"`
	Direction      Direction      `bson:"direction"`
	Kind           Kind           `bson:"kind"`
	Body           string         `bson:"body"`
	Attachments    []Attachment   `bson:"attachments,omitempty"`
	Sender         Sender         `bson:"sender"`
	ClientMsgID    string         `bson:"client_msg_id"`
	Delivery       Delivery       `bson:"delivery"`
	CreatedAt      time.Time      `bson:"created_at"`
}

func toDoc(t store.TenantID, seq int64, m *Message) *messageDoc {
	return &messageDoc{ID: messageDocID(t, m.ID), Seq: seq, ConversationID: m.ConversationID, ContactID: m.ContactID,
		Direction: m.Direction, Kind: m.Kind, Body: m.Body, Attachments: m.Attachments, Sender: m.Sender,
		ClientMsgID: m.ClientMsgID, Delivery: m.Delivery, CreatedAt: m.CreatedAt}
}

func (d *messageDoc) message() Message {
	return Message{ID: messageID(d.ConversationID, d.Seq), ConversationID: d.ConversationID, ContactID: d.ContactID,
		Direction: d.Direction, Kind: d.Kind, Body: d.Body, Attachments: d.Attachments, Sender: d.Sender,
		ClientMsgID: d.ClientMsgID, Delivery: d.Delivery, CreatedAt: d.CreatedAt}
}

// convDoc is a conversation document with its sequencing field.
type convDoc struct {
	Conversation `bson:",inline"`
	SeqLease     int64 `bson:"seq_lease"`
}

// tail is what this process knows of one conversation's sequence.
type tail struct {
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

func (t *tail) dirty() bool { return t.count != 0 || !t.lastAt.IsZero() || !t.firstAgentAt.IsZero() }

func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// pending is one AppendMessage waiting for its group commit.
type pending struct {
	tenant  store.TenantID
	conv    ConversationID
	contact ContactID
	in      NewMessage
	at      time.Time

	seq       int64
	msg       *Message
	created   bool
	retry     bool // its client id was already claimed
	err       error
	followers []*pending // same client id in the same batch

	done chan struct{}
	lead chan struct{} // the caller becomes the leader
}

// messageLog sequences, group-commits and counts messages for one Store.
type messageLog struct {
	s      *Store
	lease  int64
	single bool // this process is the database's only writer (embedded server)

	qmu     sync.Mutex
	queue   []*pending
	leading bool

	mu       sync.Mutex
	tails    map[string]*tail // by "<tenant>/<conversation>"
	timerSet bool

	// convLocks serialize this Store's writes of one conversation document
	// (write lock) and make a read of it plus the pending counters
	// consistent (read lock).
	convLocks [64]sync.RWMutex

	convs *convCache // nil unless single
}

func newMessageLog(s *Store, embedded bool) *messageLog {
	l := &messageLog{s: s, lease: 1, tails: map[string]*tail{}}
	if embedded {
		l.lease, l.single = leaseEmbedded, true
		l.convs = newConvCache()
	}
	return l
}

// lockConv serializes this Store's writes of one conversation document:
// FerretDB applies an update as read, modify, write back without a
// transaction, so two concurrent updates of one document may lose one.
func (l *messageLog) lockConv(id ConversationID) (unlock func()) {
	m := l.convLock(id)
	m.Lock()
	return m.Unlock
}

// rlockConv is held while reading a conversation document that pending
// counters are added to, so that no counter write happens in between.
func (l *messageLog) rlockConv(id ConversationID) (unlock func()) {
	m := l.convLock(id)
	m.RLock()
	return m.RUnlock
}

func (l *messageLog) convLock(id ConversationID) *sync.RWMutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return &l.convLocks[h.Sum32()%uint32(len(l.convLocks))]
}

func tailKey(t store.TenantID, conv ConversationID) string { return string(t) + "/" + string(conv) }

// tailLocked returns the conversation's tail, creating it; l.mu is held.
func (l *messageLog) tailLocked(key string) *tail {
	tl := l.tails[key]
	if tl == nil {
		if len(l.tails) >= maxTails {
			l.evictLocked()
		}
		tl = &tail{}
		l.tails[key] = tl
	}
	return tl
}

// evictLocked forgets clean tails. A forgotten conversation leases again
// (leaving a gap) and its readers find its last message again.
func (l *messageLog) evictLocked() {
	for k, t := range l.tails {
		if !t.dirty() {
			delete(l.tails, k)
			if len(l.tails) < maxTails*9/10 {
				return
			}
		}
	}
}

// firstLease is the number of seqs a new conversation is created with: a
// lease is only worth holding in memory by the database's only writer.
func (l *messageLog) firstLease() int64 {
	if l.single {
		return l.lease
	}
	return 0
}

// created records the lease a new conversation was created with.
func (l *messageLog) created(ctx context.Context, conv ConversationID, lease int64) {
	t, ok := store.Tenant(ctx)
	if !ok || lease == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tl := l.tailLocked(tailKey(t, conv))
	tl.next, tl.leaseEnd, tl.lastKnown = 1, lease, true
}

// overlay adds the counts committed by this process but not yet written to
// the conversation document.
func (l *messageLog) overlay(ctx context.Context, c *Conversation) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	overlayTail(l.tails[tailKey(t, c.ID)], c)
}

// cached returns the cached conversation with its pending counters (on the
// embedded store). It needs no conversation lock: a counter write applies
// its counts to the cached document in the same critical section of l.mu
// that takes them from the tail, so a reader sees them in one or the other.
func (l *messageLog) cached(key string) (*Conversation, bool) {
	if l.convs == nil {
		return nil, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.convs.get(key)
	if !ok {
		return nil, false
	}
	overlayTail(l.tails[key], c)
	return c, true
}

// overlayTail adds tl's pending counters to c.
func overlayTail(tl *tail, c *Conversation) {
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
	c.FirstResponseAt = earlier(c.FirstResponseAt, tl.firstAgentAt)
}

// append queues a message and returns once it is committed (or failed).
// The caller's context only supplies the tenant: once queued, a message is
// written whatever happens to the caller, so its ack may be lost but never
// the message (a retry with the same client id finds it).
func (l *messageLog) append(ctx context.Context, conv *Conversation, in NewMessage) (*Message, bool, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return nil, false, store.ErrNoTenant
	}
	p := &pending{tenant: t, conv: conv.ID, contact: conv.ContactID, in: in, at: in.At,
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
func (l *messageLog) runBatch() {
	l.qmu.Lock()
	n := min(len(l.queue), maxBatch)
	batch := append([]*pending(nil), l.queue[:n]...)
	l.queue = append(l.queue[:0:0], l.queue[n:]...)
	l.qmu.Unlock()

	l.flush(batch)
	l.release()
}

// release ends a leader's turn: the first caller still queued leads next.
func (l *messageLog) release() {
	l.qmu.Lock()
	if len(l.queue) == 0 {
		l.leading = false
	} else {
		l.queue[0].lead <- struct{}{}
	}
	l.qmu.Unlock()
}

func (l *messageLog) flush(batch []*pending) {
	var order []store.TenantID
	groups := map[store.TenantID][]*pending{}
	for _, p := range batch {
		if groups[p.tenant] == nil {
			order = append(order, p.tenant)
		}
		groups[p.tenant] = append(groups[p.tenant], p)
	}
	for _, t := range order {
		ctx, cancel := context.WithTimeout(store.WithTenant(context.Background(), t), flushTimeout)
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
// retries of client ids claimed earlier.
func (l *messageLog) flushTenant(ctx context.Context, t store.TenantID, ps []*pending) {
	// Retries of one client id within the batch share one message.
	type ck struct {
		conv   ConversationID
		client string
	}
	firsts := map[ck]*pending{}
	var leaders []*pending
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
	var convs []ConversationID
	per := map[ConversationID][]*pending{}
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
			p.msg = newMessage(p, p.seq)
		}
	}

	// Client ids this process stored already need no insert.
	for _, p := range leaders {
		if _, known := l.keySeq(t, p.conv, p.in.ClientMsgID); p.err == nil && known {
			p.retry = true
		}
	}

	// Insert the messages.
	var fresh []*pending
	var docs []any
	for _, p := range leaders {
		if p.err == nil && !p.retry {
			fresh = append(fresh, p)
			docs = append(docs, toDoc(t, p.seq, p.msg))
		}
	}
	if len(docs) > 0 {
		errs, err := perDoc(l.s.messages.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false)), len(docs))
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

// newMessage is p's message numbered seq.
func newMessage(p *pending, seq int64) *Message {
	in := p.in
	m := &Message{ID: messageID(p.conv, seq), ConversationID: p.conv, ContactID: p.contact, Direction: in.Direction,
		Kind: in.Kind, Body: in.Body, Attachments: in.Attachments, Sender: in.Sender, ClientMsgID: in.ClientMsgID,
		Delivery: in.Delivery, CreatedAt: p.at}
	if m.ClientMsgID == "" {
		m.ClientMsgID = "srv:" + string(m.ID)
	}
	return m
}

// perDoc splits an insert's error into one error per document; err is
// non-nil when the whole command failed.
func perDoc(err error, n int) (errs []error, whole error) {
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
func (l *messageLog) allocate(ctx context.Context, t store.TenantID, conv ConversationID, k int64) (int64, error) {
	key := tailKey(t, conv)
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
func (l *messageLog) takeCountersCachedLocked(key string) (bson.M, func(*tail)) {
	tl := l.tailLocked(key)
	l.convs.update(key, func(c *Conversation) { overlayTail(tl, c) })
	upd, restore := l.takeCountersLocked(tl)
	return upd, func(tl *tail) {
		restore(tl)
		l.convs.drop(key)
	}
}

// takeCountersLocked moves tl's pending counters into an update document;
// restore puts them back if the update fails. l.mu is held.
func (l *messageLog) takeCountersLocked(tl *tail) (bson.M, func(*tail)) {
	upd := bson.M{"$inc": bson.M{}}
	if !tl.dirty() {
		return upd, func(*tail) {}
	}
	count, lastAt, lastInAt, firstAgentAt := tl.count, tl.lastAt, tl.lastInAt, tl.firstAgentAt
	upd["$inc"].(bson.M)["message_count"] = count
	maxes := bson.M{"last_message_at": lastAt, "updated_at": lastAt}
	if !lastInAt.IsZero() {
		maxes["last_customer_message_at"] = lastInAt
	}
	upd["$max"] = maxes
	if !firstAgentAt.IsZero() {
		// $min sets a missing field and keeps an earlier first response.
		upd["$min"] = bson.M{"first_response_at": firstAgentAt}
	}
	tl.count, tl.lastAt, tl.lastInAt, tl.firstAgentAt, tl.dirtySince = 0, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return upd, func(tl *tail) {
		tl.count += count
		tl.lastAt, tl.lastInAt = later(tl.lastAt, lastAt), later(tl.lastInAt, lastInAt)
		tl.firstAgentAt = earlier(tl.firstAgentAt, firstAgentAt)
		if tl.dirtySince.IsZero() {
			tl.dirtySince = time.Now()
		}
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// committed records a stored message: the conversation's last seq and, when
// this call inserted it, its counters. A seq of this process's lease
// (fresh) is above every seq stored before the lease, so once one commits
// the last seq is known.
func (l *messageLog) committed(t store.TenantID, conv ConversationID, seq int64, m *Message, count, fresh bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tl := l.tailLocked(tailKey(t, conv))
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
	tl.lastAt = later(tl.lastAt, m.CreatedAt)
	if m.Direction == DirectionIn {
		tl.lastInAt = later(tl.lastInAt, m.CreatedAt)
	}
	if m.Direction == DirectionOut && m.Sender.Type == SenderAgent {
		tl.firstAgentAt = earlier(tl.firstAgentAt, m.CreatedAt)
	}
	if tl.dirtySince.IsZero() {
		tl.dirtySince = time.Now()
	}
}

// existing reads the message stored at seq and checks that it carries
// client id c (the same send).
func (l *messageLog) existing(ctx context.Context, t store.TenantID, conv ConversationID, seq int64, c string) (*Message, error) {
	var d messageDoc
	if err := l.s.messages.FindOne(ctx, bson.M{"_id": messageDocID(t, messageID(conv, seq))}, &d); err != nil {
		return nil, err
	}
	if c == "" || d.ClientMsgID != c {
		return nil, fmt.Errorf("history: message %s: seq taken by another message", messageID(conv, seq))
	}
	m := d.message()
	return &m, nil
}

// recentProbe is how many of a conversation's latest messages the
// embedded server reads back by _id to find a retried client id before it
// queries (scans) for it.
var recentProbe int64 = 256

// resolve answers a send whose client id is stored already with the
// stored message. p's own seq stays unused (a gap).
func (l *messageLog) resolve(ctx context.Context, t store.TenantID, p *pending) (*Message, error) {
	c := p.in.ClientMsgID
	if seq, ok := l.keySeq(t, p.conv, c); ok {
		if m, err := l.existing(ctx, t, p.conv, seq, c); err == nil {
			return m, nil
		}
	}
	if l.single {
		// Every stored message of the conversation has a lower seq than
		// p's, allocated by the only writer.
		for seq := p.seq - 1; seq >= max(1, p.seq-recentProbe); seq-- {
			var d messageDoc
			err := l.s.messages.FindOne(ctx, bson.M{"_id": messageDocID(t, messageID(p.conv, seq))}, &d)
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
	var d messageDoc
	if err := l.s.messages.FindOne(ctx, bson.M{"conversation_id": p.conv, "client_msg_id": c}, &d); err != nil {
		return nil, store.NotFound(err, "message with client id", c)
	}
	m := d.message()
	l.rememberKey(t, p.conv, c, d.Seq)
	return &m, nil
}

// maxKeysPerTail bounds the client ids remembered per conversation; when a
// conversation passes it, the oldest half is forgotten (resolve finds
// those by reading).
const maxKeysPerTail = 64

// keySeq returns the seq at which this process stored client id c in conv.
func (l *messageLog) keySeq(t store.TenantID, conv ConversationID, c string) (int64, bool) {
	if c == "" {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tl := l.tails[tailKey(t, conv)]
	if tl == nil {
		return 0, false
	}
	seq, ok := tl.keys[c]
	return seq, ok
}

func (l *messageLog) rememberKey(t store.TenantID, conv ConversationID, c string, seq int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rememberKeyLocked(l.tailLocked(tailKey(t, conv)), c, seq)
}

func (l *messageLog) rememberKeyLocked(tl *tail, c string, seq int64) {
	if tl.keys == nil {
		tl.keys = map[string]int64{}
	}
	if len(tl.keys) >= maxKeysPerTail {
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

// armCounterTimer schedules a write of the pending counters, at most
// counterDelay after they became pending.
//
// The timer writes them, one conversation at a time, beside the group
// commits: on the embedded server every write waits its turn at the
// store's write gate (first come, first served), so a batch of messages
// waits for at most the one counter write ahead of it, never for the whole
// backlog.
func (l *messageLog) armCounterTimer() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timerSet {
		return
	}
	for _, tl := range l.tails {
		if tl.dirty() {
			l.timerSet = true
			time.AfterFunc(max(counterDelay-time.Since(tl.dirtySince), 0)+time.Second, l.counterTick)
			return
		}
	}
}

// counterTick runs on the counter timer: it writes some of the counters
// due and arms the timer for the rest or the next.
func (l *messageLog) counterTick() {
	l.mu.Lock()
	l.timerSet = false
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	more, err := l.flushCounters(ctx, counterDelay, counterTickWrites)
	var again time.Duration
	switch {
	case err != nil:
		again = time.Second // failed counters went back to their tails
	case more:
		again = counterTickEvery
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

// flushCounters writes the counters pending for at least age, at most
// budget of them (0: all), and reports whether more are due.
func (l *messageLog) flushCounters(ctx context.Context, age time.Duration, budget int) (more bool, _ error) {
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
		t, conv := store.TenantID(key[:i]), ConversationID(key[i+1:])
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
// notes in messages.go); AppendMessage returns once its message is
// committed. The conversation's counters are updated in memory at once and
// in the conversation document within a few seconds.
func (s *Store) AppendMessage(ctx context.Context, in NewMessage) (*Message, bool, error) {
	if err := checkMessage(&in); err != nil {
		return nil, false, err
	}
	conv, err := s.GetConversation(ctx, in.ConversationID)
	if err != nil {
		return nil, false, err
	}
	return s.log.append(ctx, conv, in)
}

// AppendMessageTo is AppendMessage for a conversation the caller already
// holds (saves a read on hot paths).
func (s *Store) AppendMessageTo(ctx context.Context, conv *Conversation, in NewMessage) (*Message, bool, error) {
	in.ConversationID = conv.ID
	if err := checkMessage(&in); err != nil {
		return nil, false, err
	}
	return s.log.append(ctx, conv, in)
}

// Flush writes the conversation counters still held in memory; call it on
// shutdown (they are written within a few seconds anyway).
func (s *Store) Flush(ctx context.Context) error {
	_, err := s.log.flushCounters(ctx, 0, 0)
	return err
}

// MessageQuery pages through a conversation. With neither After nor Before
// it returns the newest Limit messages. Results are always oldest first.
type MessageQuery struct {
	After  MessageID // messages after this one (catch-up after a reconnect)
	Before MessageID // messages before this one (scrolling back)
	Limit  int       // default 50, at most 500
}

// ListMessages returns a page of a conversation's messages, oldest first,
// and whether more exist in the direction of travel. It costs one read of
// the conversation and about Limit reads by _id, whatever the number of
// messages stored.
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
	t, ok := store.Tenant(ctx)
	if !ok {
		return nil, false, store.ErrNoTenant
	}
	var cd convDoc
	if err := s.conversations.FindOne(ctx, bson.M{"_id": conv}, &cd); err != nil {
		return nil, false, store.NotFound(err, "conversation", string(conv))
	}
	hi, known := cd.SeqLease, false
	if s.log.single {
		// The only writer knows the last committed seq; the lease may run
		// up to leaseEmbedded-1 seqs past it.
		s.log.mu.Lock()
		if tl := s.log.tails[tailKey(t, conv)]; tl != nil && tl.lastKnown {
			hi, known = tl.last, true
		}
		s.log.mu.Unlock()
	}
	from, to, dir := hi, int64(1), int64(-1)
	cursor := func(field string, id MessageID) (int64, error) {
		c, seq, ok := parseMessageID(id)
		if !ok || c != conv {
			return 0, &ValidationError{Field: field, Reason: "is not a message of this conversation"}
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
		tl := s.log.tailLocked(tailKey(t, conv))
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
	msgs := make([]Message, len(out))
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

type seqMessage struct {
	Message
	seq int64
}

// readRun reads messages by _id from seq from towards to (dir +1 or -1),
// skipping gaps, until it has want of them.
func (s *Store) readRun(ctx context.Context, t store.TenantID, conv ConversationID, from, to, dir int64, want int) ([]seqMessage, error) {
	out := []seqMessage{}
	for cur := from; len(out) < want && (dir > 0 && cur <= to || dir < 0 && cur >= to); {
		n := int64(want - len(out))
		if dir > 0 {
			n = min(n, to-cur+1)
		} else {
			n = min(n, cur-to+1)
		}
		got := make([]*messageDoc, n)
		errs := make([]error, n)
		sem := make(chan struct{}, readParallel)
		var wg sync.WaitGroup
		for i := int64(0); i < n; i++ {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				var d messageDoc
				err := s.messages.FindOne(ctx, bson.M{"_id": messageDocID(t, messageID(conv, cur+dir*i))}, &d)
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
				out = append(out, seqMessage{got[i].message(), got[i].Seq})
			}
		}
		cur += dir * n
	}
	return out, nil
}

// SetDelivery records how far a message got: one update by _id.
func (s *Store) SetDelivery(ctx context.Context, id MessageID, d Delivery) error {
	t, ok := store.Tenant(ctx)
	if !ok {
		return store.ErrNoTenant
	}
	if _, _, ok := parseMessageID(id); !ok {
		return &store.NotFoundError{Kind: "message", ID: string(id)}
	}
	res, err := s.messages.UpdateOne(ctx, bson.M{"_id": messageDocID(t, id)}, bson.M{"$set": bson.M{"delivery": d}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return &store.NotFoundError{Kind: "message", ID: string(id)}
	}
	return nil
}
