package accounts

import (
	"sync"
	"time"
)

// LimitPolicy says how failed logins are slowed and then refused.
type LimitPolicy struct {
	Window    time.Duration // failures older than this are forgotten
	FreeTries int           // failures allowed before slowing down
	SlowStep  time.Duration // added delay per failure past FreeTries
	MaxDelay  time.Duration // cap on the delay
	LockAfter int           // failures in the window that refuse further attempts
}

// DefaultLimitPolicy: 5 free tries, then 0.5 s more per failure (at most
// 3 s), refused with 429 from the 10th failure for the rest of the window.
var DefaultLimitPolicy = LimitPolicy{Window: 15 * time.Minute, FreeTries: 5, SlowStep: 500 * time.Millisecond, MaxDelay: 3 * time.Second, LockAfter: 10}

// limiter counts failed logins per key ("u:" tenant/username, "ip:" address)
// in memory. Each hub replica keeps its own counts; behind a load balancer
// with N replicas an attacker gets at most N times the budget.
type limiter struct {
	mu     sync.Mutex
	p      LimitPolicy
	fails  map[string][]time.Time
	sweeps int
}

func newLimiter(p LimitPolicy) *limiter {
	return &limiter{p: p, fails: map[string][]time.Time{}}
}

// check returns how long to delay this attempt, or a retry-after when it is
// refused outright.
func (l *limiter) check(now time.Time, keys ...string) (delay, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	for _, k := range keys {
		f := l.recentLocked(k, now)
		if len(f) >= l.p.LockAfter {
			if ra := f[len(f)-l.p.LockAfter].Add(l.p.Window).Sub(now); ra > retryAfter {
				retryAfter = ra
			}
			continue
		}
		if n := len(f) - l.p.FreeTries + 1; n > 0 {
			d := time.Duration(n) * l.p.SlowStep
			if d > l.p.MaxDelay {
				d = l.p.MaxDelay
			}
			if d > delay {
				delay = d
			}
		}
	}
	return delay, retryAfter
}

func (l *limiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.fails[k] = append(l.recentLocked(k, now), now)
	}
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

func (l *limiter) recentLocked(k string, now time.Time) []time.Time {
	f := l.fails[k]
	i := 0
	for i < len(f) && now.Sub(f[i]) > l.p.Window {
		i++
	}
	return f[i:]
}

// sweepLocked forgets stale keys now and then so memory stays bounded.
func (l *limiter) sweepLocked(now time.Time) {
	l.sweeps++
	if l.sweeps%1024 != 0 {
		return
	}
	for k := range l.fails {
		if f := l.recentLocked(k, now); len(f) == 0 {
			delete(l.fails, k)
		}
	}
}
