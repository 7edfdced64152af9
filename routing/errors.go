package routing

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by the engine. Match them with errors.Is; the
// returned errors wrap them with the id involved.
var (
	// ErrUnknownAgent means no agent with that id is configured.
	ErrUnknownAgent = errors.New("unknown agent")
	// ErrUnknownTask means no live task with that id exists (it may have
	// been completed, abandoned or overflowed already).
	ErrUnknownTask = errors.New("unknown task")
	// ErrUnknownGroup means no skill group with that id is configured.
	ErrUnknownGroup = errors.New("unknown group")
	// ErrUnknownChannel means the channel is neither built in nor configured
	// in Options.ChannelCost.
	ErrUnknownChannel = errors.New("unknown channel")
	// ErrUnknownState means the agent state is neither built in nor a
	// configured custom state.
	ErrUnknownState = errors.New("unknown agent state")
	// ErrDuplicateTask means a live task with that id already exists.
	ErrDuplicateTask = errors.New("duplicate task")
	// ErrAgentAtCapacity means the agent has no room for the task (capacity,
	// per-channel maximum, per-group cap or exclusive channel).
	ErrAgentAtCapacity = errors.New("agent at capacity")
	// ErrAgentNotRoutable means the agent is signed out, disconnected or in a
	// state that takes no new work.
	ErrAgentNotRoutable = errors.New("agent not routable")
	// ErrNotOffered means the task is not currently offered to that agent
	// (it may have been accepted elsewhere, withdrawn or timed out).
	ErrNotOffered = errors.New("task not offered to agent")
	// ErrInvalidState means the operation is not allowed in the current state
	// of the agent or task.
	ErrInvalidState = errors.New("invalid state")
	// ErrBreakCapReached means approving the break would put more agents of
	// one of the agent's groups on break than its BreakCap allows.
	ErrBreakCapReached = errors.New("break cap reached")
	// ErrDispositionRequired means the agent must set a disposition (话务标识)
	// for a finished task before taking new work.
	ErrDispositionRequired = errors.New("disposition required")
	// ErrGroupBusy means the group still has tasks queued, offered or
	// assigned through it and cannot be removed.
	ErrGroupBusy = errors.New("group busy")
	// ErrInvalidConfig is wrapped by every *ConfigError.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrRestoring means the call is not allowed while a restore is (or is
	// not) in progress; see BeginRestore.
	ErrRestoring = errors.New("restore state mismatch")
)

// ConfigError names the bad field of a configuration or request. It wraps
// ErrInvalidConfig.
type ConfigError struct {
	// Scope names the object, e.g. `group "sales"` or `agent "a1"`.
	Scope string
	// Field is the field name in snake_case, e.g. "offer_timeout".
	Field string
	// Reason says what is wrong, e.g. "must be >= 0".
	Reason string
}

// Error implements error.
func (e *ConfigError) Error() string {
	if e.Scope == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", e.Scope, e.Field, e.Reason)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

func cfgErr(scope, field, reason string, args ...any) error {
	return &ConfigError{Scope: scope, Field: field, Reason: fmt.Sprintf(reason, args...)}
}
