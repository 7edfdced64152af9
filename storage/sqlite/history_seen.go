package sqlite

import (
	"container/list"
	"hash/maphash"
	"slices"
	"sync"
)

// histSeenMax bounds the client ids histSeen holds (8 bytes each, 16 MB):
// 2,000 busy conversations of 1,000 messages. Past it the least recently
// used conversations are read again, a scan of their index range each.
const histSeenMax = 2_000_000

// histSeen holds a hash of each client id of the conversations appended to
// lately, so a new message (nearly every append) is known new without
// reading the conversation's messages again; a hash held means "maybe",
// checked in the store. The hub is the store's only writer (the data
// folder is locked) and every message is stored by AppendMessage, in a
// write of its own (never joined to a caller's transaction), so a
// conversation's set, once read from the store, stays exact: ids are added
// once their write has committed, and a failed write forgets the
// conversations it touched. The least recently used conversations are
// dropped past histSeenMax ids and read again when they next get a message.
type histSeen struct {
	mu    sync.Mutex
	max   int // ids held at most; 0 is histSeenMax
	n     int
	seed  maphash.Seed
	convs map[string]*list.Element // by conversation id (unique across tenants)
	lru   list.List                // of *histSeenConv, most recent first
}

type histSeenConv struct {
	id  string
	ids []uint64 // hashes of the client ids
}

func (s *histSeen) hash(client string) uint64 { return maphash.String(s.seed, client) }

// known reports whether conv's ids are held.
func (s *histSeen) known(conv string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.convs[conv] != nil
}

// has reports whether conversation conv may hold client id client (false:
// it does not), and whether the conversation's ids are known at all.
func (s *histSeen) has(conv, client string) (maybe, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.convs[conv]
	if e == nil {
		return false, false
	}
	s.lru.MoveToFront(e)
	return slices.Contains(e.Value.(*histSeenConv).ids, s.hash(client)), true
}

// put records the ids read from the store for conv.
func (s *histSeen) put(conv string, clients []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop(conv)
	if s.convs == nil {
		s.convs = map[string]*list.Element{}
		s.seed = maphash.MakeSeed()
	}
	ids := make([]uint64, len(clients))
	for i, c := range clients {
		ids[i] = s.hash(c)
	}
	s.convs[conv] = s.lru.PushFront(&histSeenConv{id: conv, ids: ids})
	s.n += len(ids)
	s.trim()
}

// add records a committed client id of a known conversation.
func (s *histSeen) add(conv, client string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.convs[conv]
	if e == nil {
		return // dropped meanwhile: read again when needed
	}
	c := e.Value.(*histSeenConv)
	c.ids = append(c.ids, s.hash(client))
	s.n++
	s.trim()
}

// forget drops conv: its ids are read again when needed.
func (s *histSeen) forget(conv string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop(conv)
}

func (s *histSeen) drop(conv string) {
	if e := s.convs[conv]; e != nil {
		s.n -= len(e.Value.(*histSeenConv).ids)
		s.lru.Remove(e)
		delete(s.convs, conv)
	}
}

// trim drops the least recently used conversations past max ids, keeping
// the most recent one whatever its size.
func (s *histSeen) trim() {
	limit := s.max
	if limit == 0 {
		limit = histSeenMax
	}
	for s.n > limit && s.lru.Len() > 1 {
		s.drop(s.lru.Back().Value.(*histSeenConv).id)
	}
}
