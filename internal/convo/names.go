package convo

import (
	"context"
	"sync"
	"time"

	"github.com/omnihub/hub/internal/accounts"
)

// nameTTL is how long an agent's display name is reused for the lines that
// announce them ("客服 王芳 为您服务"): a rename shows within it.
const nameTTL = time.Minute

// nameMax bounds the names held; past it they are read again.
const nameMax = 10_000

// agentNames remembers agents' display names for nameTTL: every accepted
// offer announces its agent, and reading the user record each time was a
// twentieth of the hub's CPU in an opening burst of 2,000 chats.
type agentNames struct {
	mu sync.Mutex
	m  map[agentKey]agentName
}

type agentName struct {
	name string
	at   time.Time
}

// name returns agent's display name, or its id when it has none or the
// directory cannot say.
func (a *agentNames) name(ctx context.Context, names Names, k agentKey, now time.Time) string {
	a.mu.Lock()
	n, ok := a.m[k]
	a.mu.Unlock()
	if ok && now.Sub(n.at) < nameTTL {
		return n.name
	}
	name := k.agent
	u, err := names.GetUser(ctx, accounts.UserID(k.agent))
	if err != nil {
		return name
	}
	if u.Name != "" {
		name = u.Name
	}
	a.mu.Lock()
	if a.m == nil || len(a.m) >= nameMax {
		a.m = map[agentKey]agentName{}
	}
	a.m[k] = agentName{name: name, at: now}
	a.mu.Unlock()
	return name
}
