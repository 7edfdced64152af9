package acd

import (
	"context"
	"time"

	"github.com/omnihub/hub/routing"
)

// Backend is the storage routing needs. Two implementations exist: the
// embedded SQLite store (storage/sqlite) and MongoDB (storage/mongo); both
// pass the contract suite in internal/acd/acdtest.
//
// Every method is scoped to the tenant in its context: without one it
// fails with store.ErrNoTenant, and a row of another tenant is never read,
// returned or changed.
type Backend interface {
	// Commit stores one routing step: its events (appended; their Seq is
	// unique per tenant) and the state of the tasks and agents it changed,
	// and settings saved with it. On the embedded store it is one
	// transaction; it returns once the step is durable.
	Commit(ctx context.Context, st Step) error
	// LastSeq is the highest Seq of the tenant's stored events (0: none).
	LastSeq(ctx context.Context) (uint64, error)
	// LiveTasks returns the tenant's tasks that are queued, offered or
	// assigned, in Seq order (the Seq of each task's first event).
	LiveTasks(ctx context.Context) ([]TaskRecord, error)
	// ActiveAgents returns the stored state of the tenant's agents who are
	// not signed out.
	ActiveAgents(ctx context.Context) ([]routing.AgentRestore, error)
	// Events lists stored events in Seq order.
	Events(ctx context.Context, q EventQuery) ([]routing.Event, error)
	// GroupSettings returns a group's stored routing settings (zero
	// settings when none are stored).
	GroupSettings(ctx context.Context, id string) (GroupSettings, error)
	// AgentSettings returns an agent's stored routing limits (zero when
	// none are stored).
	AgentSettings(ctx context.Context, id string) (AgentSettings, error)
}

// Step is what one engine call changed, stored together by Backend.Commit.
type Step struct {
	Events []routing.Event
	Tasks  []TaskUpdate
	// Agents are the new states of the agents the events name.
	Agents []routing.AgentRestore
	// Group and Agent, when set, are routing settings saved with the step.
	Group *GroupSettingsChange
	Agent *AgentSettingsChange
}

// empty reports whether the step stores nothing.
func (st *Step) empty() bool {
	return len(st.Events) == 0 && len(st.Tasks) == 0 && len(st.Agents) == 0 && st.Group == nil && st.Agent == nil
}

// GroupSettingsChange saves a group's settings.
type GroupSettingsChange struct {
	ID       string
	Settings GroupSettings
}

// AgentSettingsChange saves an agent's settings.
type AgentSettingsChange struct {
	ID       string
	Settings AgentSettings
}

// TaskUpdate is a task's new state after a step. A task not stored yet is
// created from Spec (or with only these fields when Spec is nil); a stored
// task keeps its spec fields and takes Status, Group, Agents, UpdatedAt
// and (when not zero) AcceptedAt.
type TaskUpdate struct {
	ID         routing.TaskID
	Status     routing.TaskStatus
	Group      routing.GroupID
	Agents     []routing.AgentID
	AcceptedAt time.Time // zero: unchanged
	UpdatedAt  time.Time
	// Spec is set when the step enqueued the task; its Seq is the Seq of
	// the task's first event. Only ID, Channel, Priority, EnqueuedAt, Seq,
	// Contact, LastAgent and RequiredLevel are stored.
	Spec *routing.TaskSpec
}

// TaskRecord is a task's stored state, enough to restore it. Spec.Group
// is the task's current group.
type TaskRecord struct {
	Spec       routing.TaskSpec
	Status     routing.TaskStatus
	Agents     []routing.AgentID
	AcceptedAt time.Time
	UpdatedAt  time.Time
}

// EventQuery selects stored events: of one task and/or one agent (the
// event's AgentID), after a Seq, at most Limit (0: all).
type EventQuery struct {
	Task     routing.TaskID
	Agent    routing.AgentID
	AfterSeq uint64
	Limit    int
}

// LiveStatuses are the task statuses LiveTasks returns.
var LiveStatuses = []routing.TaskStatus{routing.TaskQueued, routing.TaskOffered, routing.TaskAssigned}
