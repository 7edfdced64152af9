package accounts

import (
	"sync"
	"time"
)

// LimitPolicy says how failed logins are throttled. It is built so that no
// one can lock another person out from another address: the only refusals
// are per (user, source address) pair and per source address, and what a
// user's failures from every source add up to only slows attempts down.
type LimitPolicy struct {
	// Window: a key's failures are forgotten this long after its last one.
	Window time.Duration
	// PairFreeTries failures of one user from one source go unpunished.
	PairFreeTries int
	// PairBackoff is the pause imposed on the pair by the next failure; it
	// doubles with every further failure, up to PairMaxBackoff. Attempts
	// of that pair during the pause are refused (429 with Retry-After)
	// without checking the password. Other sources are not affected.
	PairBackoff, PairMaxBackoff time.Duration
	// SourceMaxFails failures from one source, across all users, refuse
	// that source (password spraying) until its failures are forgotten.
	SourceMaxFails int
	// UserFreeTries failures of one user from all sources; past them every
	// attempt on that user waits UserSlowStep more per failure, at most
	// UserMaxDelay. This never refuses: the real user still gets in.
	UserFreeTries              int
	UserSlowStep, UserMaxDelay time.Duration
}

// DefaultLimitPolicy: per user and source 5 free tries, then pauses of 2 s,
// 4 s, 8 s ... up to 5 min; a source with 100 failures across users is
// refused; a user with more than 20 failures from anywhere waits 0.1 s per
// further failure, at most 2 s; failures are forgotten 15 min after the
// last one.
var DefaultLimitPolicy = LimitPolicy{
	Window:        15 * time.Minute,
	PairFreeTries: 5, PairBackoff: 2 * time.Second, PairMaxBackoff: 5 * time.Minute,
	SourceMaxFails: 100,
	UserFreeTries:  20, UserSlowStep: 100 * time.Millisecond, UserMaxDelay: 2 * time.Second,
}

// Which limit refused or slowed an attempt (the login log's detail).
const (
	limitPair   = "user_and_source" // this user from this source backs off
	limitSource = "source"          // this source failed too often across users
)

// streak is a key's failures: how many, and when the last one was. The
// count restarts once the last failure is older than the policy's window.
type streak struct {
	n    int
	last time.Time
}

// limiter keeps the failure streaks in memory. Each hub replica keeps its
// own; behind a load balancer with N replicas an attacker gets at most N
// times the budget.
type limiter struct {
	mu     sync.Mutex
	p      LimitPolicy
	pairs  map[string]streak // user + "\x00" + source
	users  map[string]streak
	srcs   map[string]streak
	sweeps int
}

func newLimiter(p LimitPolicy) *limiter {
	return &limiter{p: p, pairs: map[string]streak{}, users: map[string]streak{}, srcs: map[string]streak{}}
}

func pairKey(user, source string) string { return user + "\x00" + source }

// live returns the key's streak unless it is forgotten.
func (l *limiter) live(m map[string]streak, k string, now time.Time) streak {
	s := m[k]
	if s.n > 0 && now.Sub(s.last) > l.p.Window {
		delete(m, k)
		return streak{}
	}
	return s
}

// pause is how long a pair with n failures must wait after its last one.
func (l *limiter) pause(n int) time.Duration {
	over := n - l.p.PairFreeTries
	if over <= 0 {
		return 0
	}
	d := l.p.PairBackoff
	for i := 1; i < over && d < l.p.PairMaxBackoff; i++ {
		d *= 2
	}
	return min(d, l.p.PairMaxBackoff)
}

// verdict is the limiter's answer for one attempt.
type verdict struct {
	delay      time.Duration // wait this long, then check the password
	retryAfter time.Duration // > 0: refused
	limit      string        // which limit refused it
}

// check says whether an attempt of user from source may go ahead.
func (l *limiter) check(now time.Time, user, source string) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	if s := l.live(l.pairs, pairKey(user, source), now); s.n > 0 {
		if until := s.last.Add(l.pause(s.n)); now.Before(until) {
			return verdict{retryAfter: until.Sub(now), limit: limitPair}
		}
	}
	if s := l.live(l.srcs, source, now); l.p.SourceMaxFails > 0 && s.n >= l.p.SourceMaxFails {
		return verdict{retryAfter: s.last.Add(l.p.Window).Sub(now), limit: limitSource}
	}
	var v verdict
	if s := l.live(l.users, user, now); s.n > l.p.UserFreeTries {
		v.delay = min(time.Duration(s.n-l.p.UserFreeTries)*l.p.UserSlowStep, l.p.UserMaxDelay)
	}
	return v
}

// failure is what a failed attempt started, for the warning log.
type failure struct {
	pairPause     time.Duration // > 0: the pair now backs off this long
	sourceBlocked bool          // the source just reached its cap
	userSlowed    bool          // the user just entered slow-down
}

// fail counts a failed attempt.
func (l *limiter) fail(now time.Time, user, source string) failure {
	l.mu.Lock()
	defer l.mu.Unlock()
	var f failure
	pk := pairKey(user, source)
	p := l.live(l.pairs, pk, now)
	p.n, p.last = p.n+1, now
	l.pairs[pk] = p
	f.pairPause = l.pause(p.n)
	s := l.live(l.srcs, source, now)
	s.n, s.last = s.n+1, now
	l.srcs[source] = s
	f.sourceBlocked = l.p.SourceMaxFails > 0 && s.n == l.p.SourceMaxFails
	u := l.live(l.users, user, now)
	u.n, u.last = u.n+1, now
	l.users[user] = u
	f.userSlowed = u.n == l.p.UserFreeTries+1
	return f
}

// success forgets the pair's failures (the user's and the source's stay:
// one good login does not buy an attacker more guesses elsewhere).
func (l *limiter) success(user, source string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.pairs, pairKey(user, source))
}

// sweepLocked forgets stale keys now and then so memory stays bounded.
func (l *limiter) sweepLocked(now time.Time) {
	l.sweeps++
	if l.sweeps%1024 != 0 {
		return
	}
	for _, m := range []map[string]streak{l.pairs, l.users, l.srcs} {
		for k, s := range m {
			if now.Sub(s.last) > l.p.Window {
				delete(m, k)
			}
		}
	}
}
