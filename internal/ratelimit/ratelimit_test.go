package ratelimit_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/omnihub/hub/internal/ratelimit"
)

// clock is a manual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func TestBurstThenSteadyRate(t *testing.T) {
	c := newClock()
	l := ratelimit.New(ratelimit.Rate{Burst: 3, Every: time.Second}, ratelimit.Options{Now: c.Now})
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("call %d of the burst refused", i+1)
		}
	}
	ok, retry := l.Allow("a")
	if ok || retry != time.Second {
		t.Fatalf("after the burst: ok=%v retry=%s, want refused, 1s", ok, retry)
	}
	// Another key has its own bucket.
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("key b refused because of key a")
	}
	c.Add(400 * time.Millisecond)
	if ok, retry := l.Allow("a"); ok || retry != 600*time.Millisecond {
		t.Fatalf("0.4 s later: ok=%v retry=%s, want refused, 600ms", ok, retry)
	}
	c.Add(600 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("a token refilled after 1 s was refused")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("only one token refills per second")
	}
	// A long pause refills up to the burst, not beyond.
	c.Add(time.Hour)
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("call %d after a pause refused", i+1)
		}
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("the bucket grew beyond its burst")
	}
}

func TestMemoryIsBounded(t *testing.T) {
	c := newClock()
	l := ratelimit.New(ratelimit.Rate{Burst: 2, Every: time.Minute}, ratelimit.Options{Now: c.Now, MaxKeys: 100})
	for i := range 10_000 {
		l.Allow(fmt.Sprintf("k%d", i))
	}
	if n := l.Len(); n != 100 {
		t.Fatalf("%d keys remembered, want the bound 100", n)
	}
	// The most recently used keys are the ones kept: the last key is still
	// throttled after one more call, the first was evicted (fresh bucket).
	l.Allow("k9999")
	if ok, _ := l.Allow("k9999"); ok {
		t.Fatal("a recent key was forgotten")
	}
}

func TestRefilledKeysAreForgotten(t *testing.T) {
	c := newClock()
	l := ratelimit.New(ratelimit.Rate{Burst: 5, Every: time.Second}, ratelimit.Options{Now: c.Now})
	for i := range 50 {
		l.Allow(fmt.Sprintf("k%d", i))
	}
	// One token taken from each: full again after one second.
	c.Add(time.Second)
	l.Allow("new")
	if n := l.Len(); n != 1 {
		t.Fatalf("%d keys remembered after they refilled, want 1", n)
	}
}

func TestUnlimited(t *testing.T) {
	l := ratelimit.New(ratelimit.Rate{}, ratelimit.Options{})
	for range 1000 {
		if ok, _ := l.Allow("x"); !ok {
			t.Fatal("an unlimited rate refused")
		}
	}
	if l.Len() != 0 {
		t.Fatal("an unlimited rate remembers keys")
	}
}

// TestConcurrentCallsGrantTheBurstExactly: many goroutines on one key get
// exactly the burst between them (run with -race).
func TestConcurrentCallsGrantTheBurstExactly(t *testing.T) {
	c := newClock()
	l := ratelimit.New(ratelimit.Rate{Burst: 100, Every: time.Hour}, ratelimit.Options{Now: c.Now, MaxKeys: 1000})
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				if ok, _ := l.Allow("shared"); ok {
					mu.Lock()
					granted++
					mu.Unlock()
				}
				l.Allow(fmt.Sprintf("g%d-%d", g, i%5)) // churn other keys too
			}
		})
	}
	wg.Wait()
	if granted != 100 {
		t.Fatalf("%d tokens granted on one key, want the burst of 100", granted)
	}
}
