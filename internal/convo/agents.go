package convo

import (
	"context"
	"encoding/json"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/store"
)

// Frame is what the inbox socket carries, in both directions.
type Frame struct {
	Type           string                `json:"type"` // message, typing, conversation, ack, error
	ConversationID string                `json:"conversation_id,omitempty"`
	ClientID       string                `json:"client_id,omitempty"`
	Kind           string                `json:"kind,omitempty"`
	Body           string                `json:"body,omitempty"`
	Note           bool                  `json:"note,omitempty"`
	Attachments    []history.Attachment  `json:"attachments,omitempty"`
	Message        *history.Message      `json:"message,omitempty"`
	Conversation   *history.Conversation `json:"conversation,omitempty"`
	Error          string                `json:"error,omitempty"`
	Field          string                `json:"field,omitempty"`
}

// AgentSub is one open inbox socket of an agent.
type AgentSub struct {
	C    chan []byte
	Done chan struct{}
	key  agentKey
}

// SubscribeAgent registers an inbox socket; Unsubscribe releases it.
func (s *Service) SubscribeAgent(tenant store.TenantID, agent string) *AgentSub {
	sub := &AgentSub{C: make(chan []byte, 512), Done: make(chan struct{}), key: agentKey{tenant, agent}}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.agents[sub.key] == nil {
		s.agents[sub.key] = map[*AgentSub]struct{}{}
	}
	s.agents[sub.key][sub] = struct{}{}
	return sub
}

// Unsubscribe releases an inbox socket.
func (s *Service) Unsubscribe(sub *AgentSub) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.agents[sub.key]; m != nil {
		if _, ok := m[sub]; ok {
			delete(m, sub)
			close(sub.Done)
		}
		if len(m) == 0 {
			delete(s.agents, sub.key)
		}
	}
}

func (s *Service) toAgents(ctx context.Context, conv *history.Conversation, f Frame) {
	if conv.AssigneeID != "" && conv.Status != history.StatusQueued {
		s.toAgent(ctx, conv.AssigneeID, f)
	}
}

// toAgent sends to every inbox socket of agent; a socket too slow to keep
// up is closed (the page reconnects and reloads what it missed).
func (s *Service) toAgent(ctx context.Context, agent string, f Frame) {
	t, _ := store.Tenant(ctx)
	b, err := json.Marshal(f)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.agents[agentKey{t, agent}] {
		select {
		case sub.C <- b:
		default:
			delete(s.agents[sub.key], sub)
			close(sub.Done)
		}
	}
}
