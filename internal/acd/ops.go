package acd

import (
	"context"
	"fmt"
	"time"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/routing"
)

// do runs one engine call for the context's tenant and commits its events
// before returning.
func (s *Service) do(ctx context.Context, f func(e *routing.Engine) ([]routing.Event, error)) error {
	te, err := s.engine(ctx)
	if err != nil {
		return err
	}
	return s.step(ctx, te, nil, func() ([]routing.Event, error) { return f(te.eng) })
}

// Enqueue hands a conversation to routing and returns what became of it
// (queued with its position, offered, or an overflow action the channel
// must carry out).
func (s *Service) Enqueue(ctx context.Context, spec routing.TaskSpec) (routing.EnqueueResult, error) {
	te, err := s.engine(ctx)
	if err != nil {
		return routing.EnqueueResult{}, err
	}
	if spec.EnqueuedAt.IsZero() {
		spec.EnqueuedAt = s.now()
	}
	var res routing.EnqueueResult
	err = s.step(ctx, te, &extra{specs: map[routing.TaskID]routing.TaskSpec{spec.ID: spec}}, func() ([]routing.Event, error) {
		r, evs, err := te.eng.Enqueue(spec)
		res = r
		return evs, err
	})
	return res, err
}

// Cancel ends a task whose customer left while waiting (abandon).
func (s *Service) Cancel(ctx context.Context, id routing.TaskID, reason string) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) { return e.Cancel(id, reason) })
}

// Touch records customer activity on a chat (restores its full cost).
func (s *Service) Touch(ctx context.Context, id routing.TaskID) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) { return e.Touch(id, s.now()) })
}

// SignIn signs an agent in, with their current groups and limits.
func (s *Service) SignIn(ctx context.Context, id accounts.UserID) error {
	if err := s.SyncAgent(ctx, id); err != nil {
		return err
	}
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) { return e.SignIn(routing.AgentID(id)) })
}

// SignOut signs an agent out; offers they hold go back to their queues.
func (s *Service) SignOut(ctx context.Context, id accounts.UserID, reason string) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) { return e.SignOut(routing.AgentID(id), reason) })
}

// HoldingWorkError refuses an agent's own sign-out while they hold
// conversations: signing out would put the customers back in the queue
// without a word. A supervisor's forced sign-out still does.
type HoldingWorkError struct{ Held int }

func (e *HoldingWorkError) Error() string {
	return fmt.Sprintf("结束或转出您的 %d 个会话后再签出 · finish or transfer your %d conversation(s) before signing out", e.Held, e.Held)
}

// SignOutSelf is an agent's own sign-out: refused (HoldingWorkError) while
// they hold accepted work, checked in the same step as the sign-out.
func (s *Service) SignOutSelf(ctx context.Context, id accounts.UserID) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) {
		snap, err := e.Agent(routing.AgentID(id))
		if err != nil {
			return nil, err
		}
		held := 0
		for _, t := range snap.Tasks {
			if t.Accepted {
				held++
			}
		}
		if held > 0 {
			return nil, &HoldingWorkError{Held: held}
		}
		return e.SignOut(routing.AgentID(id), "agent")
	})
}

// SetState changes an agent's state (ready, not_ready with a reason, a
// custom state).
func (s *Service) SetState(ctx context.Context, id accounts.UserID, st routing.AgentState, reason string) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) {
		return e.SetState(routing.AgentID(id), st, reason)
	})
}

// RequestBreak asks a supervisor for a break of d (0 = open-ended).
func (s *Service) RequestBreak(ctx context.Context, id accounts.UserID, reason string, d time.Duration) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) {
		return e.RequestBreak(routing.AgentID(id), reason, d)
	})
}

// ApproveBreak approves a requested break (supervisor).
func (s *Service) ApproveBreak(ctx context.Context, id accounts.UserID) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) { return e.ApproveBreak(routing.AgentID(id)) })
}

// DenyBreak refuses a requested break (supervisor).
func (s *Service) DenyBreak(ctx context.Context, id accounts.UserID, reason string) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) { return e.DenyBreak(routing.AgentID(id), reason) })
}

// ContinueWork ends after-call work early.
func (s *Service) ContinueWork(ctx context.Context, id accounts.UserID) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) { return e.ContinueWork(routing.AgentID(id)) })
}

// SetDisposition records the disposition code of a finished task.
func (s *Service) SetDisposition(ctx context.Context, id accounts.UserID, task routing.TaskID, code string) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) {
		return e.SetDisposition(routing.AgentID(id), task, code)
	})
}

// Accept accepts an offer.
func (s *Service) Accept(ctx context.Context, id accounts.UserID, task routing.TaskID) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) { return e.Accept(routing.AgentID(id), task) })
}

// Reject refuses an offer; the task goes to another agent.
func (s *Service) Reject(ctx context.Context, id accounts.UserID, task routing.TaskID, reason string) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) {
		return e.Reject(routing.AgentID(id), task, reason)
	})
}

// Transfer moves a task to an agent or a group, keeping the conversation.
func (s *Service) Transfer(ctx context.Context, task routing.TaskID, to routing.TransferTarget, reason string) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) { return e.Transfer(task, to, reason) })
}

// Complete ends a task; the agent goes to wrap-up per the group.
func (s *Service) Complete(ctx context.Context, task routing.TaskID, reason string) error {
	return s.do(ctx, func(e *routing.Engine) ([]routing.Event, error) { return e.Complete(task, reason) })
}

// Task returns a live task.
func (s *Service) Task(ctx context.Context, id routing.TaskID) (routing.TaskSnapshot, error) {
	te, err := s.engine(ctx)
	if err != nil {
		return routing.TaskSnapshot{}, err
	}
	return te.eng.Task(id)
}

// Agent returns an agent's live state.
func (s *Service) Agent(ctx context.Context, id accounts.UserID) (routing.AgentSnapshot, error) {
	te, err := s.engine(ctx)
	if err != nil {
		return routing.AgentSnapshot{}, err
	}
	return te.eng.Agent(routing.AgentID(id))
}

// SyncAgent re-reads a user's groups and routing limits into the engine
// (after an admin changed them); a disabled user or one without groups
// leaves routing.
func (s *Service) SyncAgent(ctx context.Context, id accounts.UserID) error {
	te, err := s.engine(ctx)
	if err != nil {
		return err
	}
	u, err := s.dir.GetUser(ctx, id)
	if err != nil {
		return err
	}
	return s.applyAgent(ctx, te, u)
}

// SyncGroup re-reads a skill group's settings into the engine.
func (s *Service) SyncGroup(ctx context.Context, id accounts.GroupID) error {
	te, err := s.engine(ctx)
	if err != nil {
		return err
	}
	return s.applyGroup(ctx, te, id)
}

// GroupSettings returns a group's routing settings.
func (s *Service) GroupSettings(ctx context.Context, id accounts.GroupID) (GroupSettings, error) {
	return s.groupSettings(ctx, string(id))
}

// SetGroupSettings validates, stores and applies a group's routing
// settings. A group of no such id in the context's tenant is not found,
// and nothing is written.
func (s *Service) SetGroupSettings(ctx context.Context, id accounts.GroupID, gs GroupSettings) error {
	te, err := s.engine(ctx)
	if err != nil {
		return err
	}
	cfg, err := gs.toGroupConfig(routing.GroupID(id))
	if err != nil {
		return err
	}
	if _, err := s.dir.GetGroup(ctx, id); err != nil {
		return err
	}
	return s.step(ctx, te, &extra{group: &GroupSettingsChange{ID: string(id), Settings: gs}}, func() ([]routing.Event, error) {
		return te.eng.UpsertGroup(cfg)
	})
}

// AgentSettings returns an agent's routing limits.
func (s *Service) AgentSettings(ctx context.Context, id accounts.UserID) (AgentSettings, error) {
	return s.agentSettings(ctx, string(id))
}

// SetAgentSettings stores an agent's routing limits and applies them.
func (s *Service) SetAgentSettings(ctx context.Context, id accounts.UserID, as AgentSettings) error {
	if as.Capacity < 0 {
		return &FieldError{Field: "capacity", Reason: "must not be negative"}
	}
	u, err := s.dir.GetUser(ctx, id)
	if err != nil {
		return err
	}
	te, err := s.engine(ctx)
	if err != nil {
		return err
	}
	return s.step(ctx, te, &extra{agent: &AgentSettingsChange{ID: string(id), Settings: as}}, func() ([]routing.Event, error) {
		if len(u.Groups) == 0 || u.Disabled {
			return nil, nil
		}
		groups := map[routing.GroupID]int{}
		for _, m := range u.Groups {
			groups[routing.GroupID(m.GroupID)] = m.Level
		}
		return te.eng.UpsertAgent(as.toAgentConfig(routing.AgentID(id), groups))
	})
}

// Events lists persisted routing events in Seq order (for reports and
// audits), optionally of one task or one agent.
func (s *Service) Events(ctx context.Context, task, agent string, afterSeq uint64, limit int) ([]routing.Event, error) {
	return s.b.Events(ctx, EventQuery{Task: routing.TaskID(task), Agent: routing.AgentID(agent), AfterSeq: afterSeq, Limit: limit})
}

// Position returns a queued task's 1-based queue position and estimated
// wait, or a negative wait when there is no honest estimate (nobody in the
// group signed in, no handle time yet); ok is false when the task is not
// queued.
func (s *Service) Position(ctx context.Context, id routing.TaskID) (pos int, wait time.Duration, ok bool) {
	te, err := s.engine(ctx)
	if err != nil {
		return 0, 0, false
	}
	if pos, ok = te.eng.QueuePosition(id); !ok {
		return 0, 0, false
	}
	if w, known := te.eng.EstimatedWait(id); known {
		return pos, w, true
	}
	return pos, -1, true
}

// AutoCloseAfter is the silence after which a group closes a chat (0 =
// never).
func (s *Service) AutoCloseAfter(ctx context.Context, group string) time.Duration {
	te, err := s.engine(ctx)
	if err != nil {
		return 0
	}
	cfg, err := te.eng.GroupConfig(routing.GroupID(group))
	if err != nil {
		return 0
	}
	return cfg.AutoCloseAfter
}
