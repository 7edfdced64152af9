// Package ratelimit is a keyed token-bucket limiter with bounded memory,
// for endpoints anyone can call (the web chat's anonymous edge): one bucket
// per key (a source address, a tenant), refilled at a steady rate up to a
// burst.
//
// Memory is bounded by MaxKeys: keys are kept in least-recently-used order,
// a key whose bucket has refilled completely is dropped (it is the same as
// a key never seen), and when the table is full the least recently used key
// is evicted. An evicted key starts again with a full bucket, so MaxKeys
// must exceed the number of keys that can be throttled at once; a flood of
// fresh keys is what a second, coarser limiter (per tenant) is for.
//
// One mutex guards the table; no I/O happens under it.
package ratelimit

import (
	"container/list"
	"sync"
	"time"
)

// Rate is a bucket of Burst tokens refilled with one token every Every. A
// zero Every means no limit.
type Rate struct {
	Burst int
	Every time.Duration
}

// Unlimited reports whether r limits nothing.
func (r Rate) Unlimited() bool { return r.Every <= 0 }

// Options tune a Limiter.
type Options struct {
	// MaxKeys bounds the keys remembered (default 100,000).
	MaxKeys int
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
}

// Limiter hands out tokens per key.
type Limiter struct {
	rate Rate
	max  int
	now  func() time.Time

	mu   sync.Mutex
	keys map[string]*list.Element
	lru  list.List // of *bucket, most recently used at the front
}

type bucket struct {
	key    string
	tokens float64
	at     time.Time // when tokens was computed
}

// New returns a limiter of rate r per key.
func New(r Rate, o Options) *Limiter {
	if o.MaxKeys <= 0 {
		o.MaxKeys = 100_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if r.Burst < 1 {
		r.Burst = 1
	}
	return &Limiter{rate: r, max: o.MaxKeys, now: o.Now, keys: map[string]*list.Element{}}
}

// Allow takes a token from key's bucket. When the bucket is empty it takes
// nothing and says how long until the next token.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l.rate.Unlimited() {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	var b *bucket
	if e, found := l.keys[key]; found {
		b = e.Value.(*bucket)
		l.refill(b, now)
		l.lru.MoveToFront(e)
	} else {
		if len(l.keys) >= l.max {
			l.evictLocked(l.lru.Back())
		}
		b = &bucket{key: key, tokens: float64(l.rate.Burst), at: now}
		l.keys[key] = l.lru.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.rate.Every))
}

// Len is the number of keys remembered.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

func (l *Limiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(float64(l.rate.Burst), b.tokens+float64(d)/float64(l.rate.Every))
		b.at = now
	}
}

// full reports whether b has refilled completely by now.
func (l *Limiter) full(b *bucket, now time.Time) bool {
	need := (float64(l.rate.Burst) - b.tokens) * float64(l.rate.Every)
	return float64(now.Sub(b.at)) >= need
}

// pruneLocked drops the least recently used keys whose buckets are full
// again: they are the same as keys never seen. Each call stops at the
// first key still draining, so the work is amortized over the calls that
// added the keys.
func (l *Limiter) pruneLocked(now time.Time) {
	for e := l.lru.Back(); e != nil; e = l.lru.Back() {
		if !l.full(e.Value.(*bucket), now) {
			return
		}
		l.evictLocked(e)
	}
}

func (l *Limiter) evictLocked(e *list.Element) {
	if e == nil {
		return
	}
	delete(l.keys, e.Value.(*bucket).key)
	l.lru.Remove(e)
}
