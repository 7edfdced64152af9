package history

import (
	"maps"
	"slices"
	"sync"
)

// maxCachedConversations bounds the conversation cache; when it is full a
// tenth of it is forgotten (any tenth: a forgotten conversation is read
// again on its next use).
const maxCachedConversations = 50_000

// convCache keeps the conversation documents this process last read or
// wrote, as stored (without the counters the message log still holds).
// It exists only when the process is the database's only writer (the
// embedded server), where nobody else can change a document behind it:
// then reading a conversation by id, which every agent message does, costs
// no database round trip. Entries are changed under the conversation's
// lock in messageLog.convLocks, like the documents they copy; every write
// of a conversation document in this package updates or drops its entry.
// Readers of a cached document take no conversation lock (see
// messageLog.cached).
type convCache struct {
	mu  sync.Mutex
	m   map[string]*Conversation // tailKey -> document
	gen uint64                   // bumped by clear
}

func newConvCache() *convCache { return &convCache{m: map[string]*Conversation{}} }

// cloneConversation copies c deeply enough that neither copy sees changes
// to the other's slices or maps.
func cloneConversation(c *Conversation) *Conversation {
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
func (cc *convCache) get(key string) (*Conversation, bool) {
	if cc == nil {
		return nil, false
	}
	cc.mu.Lock()
	c, ok := cc.m[key]
	cc.mu.Unlock()
	if !ok {
		return nil, false
	}
	return cloneConversation(c), true
}

// generation identifies the cache's contents between two clears: a reader
// takes it before reading a document and passes it to putRead.
func (cc *convCache) generation() uint64 {
	if cc == nil {
		return 0
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.gen
}

// putRead stores a document read from the database, unless a change to
// many documents (clear) happened since the read began.
func (cc *convCache) putRead(key string, c *Conversation, gen uint64) {
	if cc == nil {
		return
	}
	cp := cloneConversation(c)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.gen == gen {
		cc.putLocked(key, cp)
	}
}

// put stores a copy of c as the document now stored.
func (cc *convCache) put(key string, c *Conversation) {
	if cc == nil {
		return
	}
	cp := cloneConversation(c)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.putLocked(key, cp)
}

func (cc *convCache) putLocked(key string, cp *Conversation) {
	if len(cc.m) >= maxCachedConversations {
		n := 0
		for k := range cc.m {
			delete(cc.m, k)
			if n++; n >= maxCachedConversations/10 {
				break
			}
		}
	}
	cc.m[key] = cp
}

// update changes the cached document in place, if there is one.
func (cc *convCache) update(key string, f func(*Conversation)) {
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
func (cc *convCache) drop(key string) {
	if cc == nil {
		return
	}
	cc.mu.Lock()
	delete(cc.m, key)
	cc.mu.Unlock()
}

// clear forgets every document (a change to many at once).
func (cc *convCache) clear() {
	if cc == nil {
		return
	}
	cc.mu.Lock()
	clear(cc.m)
	cc.gen++
	cc.mu.Unlock()
}
