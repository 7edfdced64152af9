package accounts

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Close codes the hub's authenticated sockets (agent inbox, live stream)
// end with when their session or the user's rights change. RFC 6455
// section 7.4.2 leaves 4000-4999 to applications; these mirror HTTP 401
// and 403.
const (
	// CloseSessionEnded: the session is over (logout, expiry, account
	// disabled, password changed or reset). The page sends the user to
	// sign-in.
	CloseSessionEnded = 4401
	// CloseRightsChanged: the session is still valid but the user's role or
	// skill groups changed. The page reloads to get the new rights.
	CloseRightsChanged = 4403
)

// DefaultRecheckEvery is how often a live socket rechecks its session in
// the store, which catches revocations made on other hub replicas.
const DefaultRecheckEvery = 20 * time.Second

// Revocation says why a live connection of a user must end.
type Revocation struct {
	Code   int
	Reason string
}

// Watch follows the session behind one live connection. Revocations made
// by this replica reach it at once (before the call that made them
// returns); others are found by a recheck every RecheckEvery. The socket
// handler selects on Done, refuses the peer's input once Revoked reports
// true, and calls Stop when it ends.
type Watch struct {
	s       *Service
	p       Principal
	token   string
	sid     string
	reason  atomic.Pointer[Revocation]
	revoked chan struct{}
	stop    chan struct{}
	done    chan struct{}
	cancel  context.CancelFunc
	once    sync.Once
}

// watchers are the live watches of this replica by user.
type watchers struct {
	mu     sync.Mutex
	byUser map[UserID]map[*Watch]struct{}
}

// Watch starts following the session of token, which authenticated p.
func (s *Service) Watch(p Principal, token string) *Watch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watch{s: s, p: p, token: token, sid: hashToken(token), revoked: make(chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{}), cancel: cancel}
	s.w.mu.Lock()
	m := s.w.byUser[p.UserID]
	if m == nil {
		m = map[*Watch]struct{}{}
		s.w.byUser[p.UserID] = m
	}
	m[w] = struct{}{}
	s.w.mu.Unlock()
	go w.run(ctx)
	return w
}

// Done is closed when the session is revoked. A nil Watch never is.
func (w *Watch) Done() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.revoked
}

// Revoked tells whether and why the session was revoked.
func (w *Watch) Revoked() (Revocation, bool) {
	if w == nil {
		return Revocation{}, false
	}
	if r := w.reason.Load(); r != nil {
		return *r, true
	}
	return Revocation{}, false
}

// Stop ends the watch and waits for its recheck goroutine.
func (w *Watch) Stop() {
	if w == nil {
		return
	}
	w.once.Do(func() {
		w.s.w.mu.Lock()
		if m := w.s.w.byUser[w.p.UserID]; m != nil {
			delete(m, w)
			if len(m) == 0 {
				delete(w.s.w.byUser, w.p.UserID)
			}
		}
		w.s.w.mu.Unlock()
		close(w.stop)
		w.cancel()
		<-w.done
	})
}

// revoke records the first revocation and wakes the socket; no I/O.
func (w *Watch) revoke(r Revocation) {
	if w.reason.CompareAndSwap(nil, &r) {
		close(w.revoked)
	}
}

// run rechecks the session in the store on a schedule until Stop.
func (w *Watch) run(ctx context.Context) {
	defer close(w.done)
	t := time.NewTicker(w.s.o.RecheckEvery)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-w.revoked:
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		p, err := w.s.Authenticate(cctx, w.token)
		cancel()
		switch {
		case errors.Is(err, ErrUnauthenticated):
			w.revoke(Revocation{Code: CloseSessionEnded, Reason: "session ended"})
		case err != nil:
			// The store is unreachable: keep the socket, try again later.
		case p.Role != w.p.Role || p.AccessRev != w.p.AccessRev:
			w.revoke(Revocation{Code: CloseRightsChanged, Reason: "role or skill groups changed"})
		}
	}
}

// notify revokes the user's watches whose session id match accepts.
func (s *Service) notify(uid UserID, match func(sid string) bool, r Revocation) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	for w := range s.w.byUser[uid] {
		if match(w.sid) {
			w.revoke(r)
		}
	}
}

func anySession(string) bool { return true }
