package routing

import "time"

// AgentID identifies an agent (a person taking conversations).
type AgentID string

// TaskID identifies a task: one conversation waiting for, or handled by, a
// human. A transfer keeps the TaskID.
type TaskID string

// GroupID identifies a skill group (技能组), which is also a queue.
type GroupID string

// ContactID identifies the customer behind a task.
type ContactID string

// Channel is the medium of a conversation.
type Channel string

// Built-in channels. Other channels may be added through Options.ChannelCost.
const (
	ChannelVoice   Channel = "voice"
	ChannelVideo   Channel = "video"
	ChannelWebChat Channel = "webchat"
	ChannelWeChat  Channel = "wechat"
	ChannelSMS     Channel = "sms"
)

// AgentState is the state of an agent. Besides the built-in states, an admin
// may configure custom states (see CustomState).
type AgentState string

// Built-in agent states.
const (
	// StateSignedOut: not signed in (签出); takes nothing.
	StateSignedOut AgentState = "signed_out"
	// StateReady: signed in and available (示闲).
	StateReady AgentState = "ready"
	// StateNotReady: signed in, not available (示忙), with a reason.
	StateNotReady AgentState = "not_ready"
	// StateBreak: on an approved break (小休, 用餐).
	StateBreak AgentState = "break"
	// StateAfterCallWork: wrap-up after a task (话后整理).
	StateAfterCallWork AgentState = "after_call_work"
)

// CustomState is an admin-defined agent state, e.g. "training" or "outbound".
type CustomState struct {
	// Name is the state's name; it must not collide with a built-in state.
	Name AgentState
	// Routable says whether agents in this state are offered tasks
	// (default false).
	Routable bool
}

// Strategy picks the agent for a task within a group (R3).
type Strategy string

// Routing strategies.
const (
	// StrategyLongestIdle offers to the agent holding the fewest tasks,
	// then idle the longest (since the last task ended or the agent became
	// ready). It is the default.
	StrategyLongestIdle Strategy = "longest_idle"
	// StrategyLeastLoaded offers to the agent with the lowest used capacity
	// fraction (饱和度), then idle the longest.
	StrategyLeastLoaded Strategy = "least_loaded"
	// StrategyFewestHandled offers to the agent who accepted the fewest tasks
	// today (see ResetDailyCounters), then idle the longest.
	StrategyFewestHandled Strategy = "fewest_handled"
	// StrategyRoundRobin offers to the member who was offered a task from
	// this group the longest ago.
	StrategyRoundRobin Strategy = "round_robin"
	// StrategyLastAgent offers to the contact's previous agent first
	// (上次接待人优先): if that agent is signed in and a member, the task
	// waits up to GroupConfig.LastAgentWait for them, then falls back to
	// longest idle.
	StrategyLastAgent Strategy = "last_agent"
	// StrategyRingAll offers to every eligible available agent at once; the
	// first to accept wins and the other offers are withdrawn in the same
	// call.
	StrategyRingAll Strategy = "ring_all"
)

// TaskStatus is where a task is in its life.
type TaskStatus string

// Task statuses.
const (
	// TaskQueued: waiting in a queue (possibly reserved for its last agent).
	TaskQueued TaskStatus = "queued"
	// TaskOffered: offered to one agent (or several for ring-all), not yet
	// accepted.
	TaskOffered TaskStatus = "offered"
	// TaskAssigned: accepted by an agent.
	TaskAssigned TaskStatus = "assigned"
	// TaskOverflowed: left the engine through an overflow action (voicemail,
	// leave a message, callback, reject). Terminal.
	TaskOverflowed TaskStatus = "overflowed"
	// TaskCompleted: ended by Complete. Terminal.
	TaskCompleted TaskStatus = "completed"
	// TaskAbandoned: ended by Cancel while waiting. Terminal.
	TaskAbandoned TaskStatus = "abandoned"
)

// OverflowKind is what happens to a task that cannot, or can no longer, wait
// in its group.
type OverflowKind string

// Overflow kinds. Except OverflowGroup, the engine only reports the action
// (in EnqueueResult and in a task_overflowed event); the channel carries it
// out and the task leaves the engine.
const (
	// OverflowNone: no action. For a full queue this means OverflowReject;
	// for closed hours and nobody signed in the task is queued anyway; for
	// max wait the task keeps waiting.
	OverflowNone OverflowKind = ""
	// OverflowGroup: move the task to another group, keeping its age.
	OverflowGroup OverflowKind = "group"
	// OverflowVoicemail: send the caller to voicemail (语音留言).
	OverflowVoicemail OverflowKind = "voicemail"
	// OverflowLeaveMessage: ask the customer to leave a message.
	OverflowLeaveMessage OverflowKind = "leave_message"
	// OverflowCallback: offer a callback.
	OverflowCallback OverflowKind = "callback"
	// OverflowReject: refuse the contact (busy tone, "we are busy" text).
	OverflowReject OverflowKind = "reject"
)

// OverflowAction is an overflow kind with its target group for OverflowGroup.
type OverflowAction struct {
	Kind  OverflowKind `json:"kind,omitempty"`
	Group GroupID      `json:"group,omitempty"`
}

// EventType names an event.
type EventType string

// Event types.
const (
	// EventTaskQueued: a task joined a queue (new, or back after an offer
	// ended: Reason says why). QueuePosition is set.
	EventTaskQueued EventType = "task_queued"
	// EventTaskOffered: capacity reserved on AgentID for the task.
	EventTaskOffered EventType = "task_offered"
	// EventOfferAccepted: the task is assigned to AgentID; Duration is the
	// wait since EnqueuedAt (ASA).
	EventOfferAccepted EventType = "offer_accepted"
	// EventOfferRejected: AgentID declined the offer.
	EventOfferRejected EventType = "offer_rejected"
	// EventOfferTimeout: AgentID did not answer within the offer timeout.
	EventOfferTimeout EventType = "offer_timeout"
	// EventOfferWithdrawn: the offer to AgentID was taken back (ring-all
	// loser, agent not ready or signed out, customer left, transfer).
	EventOfferWithdrawn EventType = "offer_withdrawn"
	// EventTaskTransferred: the task moved from FromAgent and/or FromGroup
	// to ToAgent or ToGroup (also when an agent signs out holding it).
	EventTaskTransferred EventType = "task_transferred"
	// EventTaskAbandoned: the customer left while queued or offered
	// (Cancel); Duration is the wait. Terminal.
	EventTaskAbandoned EventType = "task_abandoned"
	// EventTaskOverflowed: an overflow Action applied (Reason: queue_full,
	// max_wait, no_agents, closed, overflow_loop). Terminal unless
	// Action.Kind is "group" (then ToGroup is set and task_queued follows).
	EventTaskOverflowed EventType = "task_overflowed"
	// EventTaskEscalated: an escalation step widened the task (Level) or
	// added a group (ToGroup).
	EventTaskEscalated EventType = "task_escalated"
	// EventTaskPriorityRaised: a priority boost raised the task from
	// FromPriority to Priority.
	EventTaskPriorityRaised EventType = "task_priority_raised"
	// EventTaskCompleted: the conversation ended (Complete or auto-close);
	// Duration is the handle time. Terminal.
	EventTaskCompleted EventType = "task_completed"
	// EventTaskSilent: the customer of an accepted chat went silent; the
	// chat now costs Options.SilentCost.
	EventTaskSilent EventType = "task_silent"
	// EventTaskActive: a silent chat's customer wrote again; full cost.
	EventTaskActive EventType = "task_active"
	// EventWrapUpStarted: AgentID entered after-call work after TaskID.
	EventWrapUpStarted EventType = "wrapup_started"
	// EventWrapUpEnded: AgentID left after-call work; Duration is its length.
	EventWrapUpEnded EventType = "wrapup_ended"
	// EventDispositionSet: AgentID set disposition Code for TaskID.
	EventDispositionSet EventType = "disposition_set"
	// EventAgentStateChanged: AgentID went from FromState to ToState with
	// Reason; Duration is the time spent in FromState.
	EventAgentStateChanged EventType = "agent_state_changed"
	// EventAgentPresence: AgentID's client disconnected or connected again
	// (Reason).
	EventAgentPresence EventType = "agent_presence"
	// EventBreakRequested: AgentID asked for a break (Reason, Duration).
	EventBreakRequested EventType = "break_requested"
	// EventBreakApproved: a supervisor approved AgentID's break.
	EventBreakApproved EventType = "break_approved"
	// EventBreakDenied: AgentID's break was denied (by a supervisor, or
	// Reason "break_cap" with the full GroupID).
	EventBreakDenied EventType = "break_denied"
)

// Reasons used by the engine in Event.Reason and in agent state reasons;
// callers may use their own reasons where a method takes one.
const (
	ReasonNew               = "new"
	ReasonNoAnswer          = "no_answer"
	ReasonOfferRejected     = "offer_rejected"
	ReasonOfferTimeout      = "offer_timeout"
	ReasonAnsweredElsewhere = "answered_elsewhere"
	ReasonAgentNotReady     = "agent_not_ready"
	ReasonSignedOut         = "signed_out"
	ReasonDisconnected      = "disconnected"
	ReasonConnected         = "connected"
	ReasonAbandoned         = "abandoned"
	ReasonTransferred       = "transferred"
	ReasonQueueFull         = "queue_full"
	ReasonMaxWait           = "max_wait"
	ReasonNoAgents          = "no_agents"
	ReasonClosed            = "closed"
	ReasonOverflowLoop      = "overflow_loop"
	ReasonWrapUp            = "wrap_up"
	ReasonWrapUpEnded       = "wrap_up_ended"
	ReasonContinueWork      = "continue_work"
	ReasonBreakEnded        = "break_ended"
	ReasonBreakCap          = "break_cap"
	ReasonDisposition       = "disposition_required"
	ReasonAutoCloseSilent   = "auto_close_silent"
	ReasonLastAgentWait     = "last_agent_wait_over"
	ReasonSignIn            = "sign_in"
	ReasonRemoved           = "agent_removed"
	ReasonStateChange       = "state_change"
)

// Event is one thing that happened. Only the fields relevant to its Type are
// set.
type Event struct {
	// Seq increases by one with every event of the engine.
	Seq uint64 `json:"seq"`
	// Time is when it happened (engine clock, never decreasing in Seq order).
	Time time.Time `json:"time"`
	// Type says what happened.
	Type EventType `json:"type"`

	TaskID    TaskID    `json:"task_id,omitempty"`
	AgentID   AgentID   `json:"agent_id,omitempty"`
	GroupID   GroupID   `json:"group_id,omitempty"`
	ContactID ContactID `json:"contact_id,omitempty"`
	Channel   Channel   `json:"channel,omitempty"`
	// Reason is why (see the Reason constants), or the caller's reason.
	Reason string `json:"reason,omitempty"`

	// FromState and ToState are set on agent_state_changed.
	FromState AgentState `json:"from_state,omitempty"`
	ToState   AgentState `json:"to_state,omitempty"`
	// FromGroup and ToGroup are set on transfers, overflows, escalations.
	FromGroup GroupID `json:"from_group,omitempty"`
	ToGroup   GroupID `json:"to_group,omitempty"`
	// FromAgent and ToAgent are set on transfers.
	FromAgent AgentID `json:"from_agent,omitempty"`
	ToAgent   AgentID `json:"to_agent,omitempty"`

	// Priority is the task's priority after the event; FromPriority the one
	// before a raise.
	Priority     int `json:"priority,omitempty"`
	FromPriority int `json:"from_priority,omitempty"`
	// QueuePosition is the 1-based position in the group queue (task_queued).
	QueuePosition int `json:"queue_position,omitempty"`
	// Level is the widened level on task_escalated (0 = any level).
	Level int `json:"level,omitempty"`
	// EnqueuedAt is the task's original arrival time (on every task event).
	EnqueuedAt time.Time `json:"enqueued_at,omitempty"`
	// Duration is: the wait (EnqueuedAt to now) on offer_accepted and
	// task_abandoned; the handle time on task_completed; the time spent in
	// FromState on agent_state_changed; the wrap-up time on wrapup_ended.
	Duration time.Duration `json:"duration,omitempty"`
	// Offers is how many offers the task has had so far.
	Offers int `json:"offers,omitempty"`
	// Action is the overflow action on task_overflowed.
	Action *OverflowAction `json:"action,omitempty"`
	// Code is the disposition code on disposition_set.
	Code string `json:"code,omitempty"`
}

// TaskSpec describes a task to enqueue (or to restore).
type TaskSpec struct {
	ID       TaskID
	Channel  Channel
	Group    GroupID
	Priority int
	// EnqueuedAt is the original arrival time; zero means now. When
	// restoring after a restart pass the persisted value: queue order
	// follows it (then the order of the calls).
	EnqueuedAt time.Time
	// Seq breaks ties between equal EnqueuedAt values. When restoring, pass
	// the Seq of the task's first task_queued event so that tasks that
	// arrived at the same instant keep their order whatever the replay
	// order; zero means the order of the calls.
	Seq uint64
	// GroupSince is when the task entered its current group (escalation,
	// boosts and max wait count from it); zero means EnqueuedAt.
	GroupSince time.Time
	Contact    ContactID
	// LastAgent is the contact's previous agent (for StrategyLastAgent).
	LastAgent AgentID
	// RequiredLevel restricts the task to agents with level <= it in the
	// group (0 = the group's InitialLevel).
	RequiredLevel int
	// RequiredSkills lists other groups the agent must also belong to.
	RequiredSkills []GroupID
}

// EnqueueResult says what became of an enqueued task by the end of the call.
type EnqueueResult struct {
	Task   TaskID
	Status TaskStatus
	// Group is the group the task ended up in (after group overflows).
	Group GroupID
	// Action is set when Status is TaskOverflowed: the channel must carry
	// it out (voicemail, leave a message, callback, reject).
	Action *OverflowAction
	// QueuePosition is the 1-based position when Status is TaskQueued.
	QueuePosition int
	// Agents lists the agents holding an offer or the assignment.
	Agents []AgentID
}

// TransferTarget is where Transfer sends a task: exactly one of Agent and
// Group must be set.
type TransferTarget struct {
	Agent AgentID
	Group GroupID
}

// HeldTask is a task held by an agent, in an AgentSnapshot.
type HeldTask struct {
	TaskID   TaskID
	Channel  Channel
	Group    GroupID
	Accepted bool
	// Cost is the capacity units it uses now (reduced while silent).
	Cost   int
	Silent bool
	// Since is when it was offered, or accepted if Accepted.
	Since time.Time
}

// AgentSnapshot is a copy of an agent's state, safe to keep.
type AgentSnapshot struct {
	ID        AgentID
	State     AgentState
	Reason    string
	Since     time.Time
	Connected bool
	// Routable says whether the agent can be offered new tasks now
	// (capacity aside).
	Routable bool
	Capacity int
	Used     int
	Groups   map[GroupID]int
	Tasks    []HeldTask
	// NoAnswer counts offer time-outs in a row.
	NoAnswer     int
	HandledToday int
	// BreakRequested is set between RequestBreak and Approve/DenyBreak.
	BreakRequested bool
	BreakReason    string
	BreakUntil     time.Time
	WrapUpUntil    time.Time
	// PendingDispositions lists finished tasks still needing a disposition.
	PendingDispositions []TaskID
	// ReservedTasks lists tasks waiting for this agent (last agent first).
	ReservedTasks []TaskID
}

// TaskSnapshot is a copy of a task's state, safe to keep.
type TaskSnapshot struct {
	ID      TaskID
	Channel Channel
	Group   GroupID
	// Groups lists every group whose agents may take the task (the group
	// plus escalation overflow groups).
	Groups        []GroupID
	Priority      int
	EnqueuedAt    time.Time
	GroupSince    time.Time
	Contact       ContactID
	LastAgent     AgentID
	RequiredLevel int
	// MaxLevel is the current level restriction (0 = any).
	MaxLevel int
	Status   TaskStatus
	// Agents holding an offer (several for ring-all) or the assignment.
	Agents      []AgentID
	ReservedFor AgentID
	Offers      int
	// QueuePosition is the 1-based position when queued, else 0.
	QueuePosition int
}

// GroupStats is a wallboard view of a group.
type GroupStats struct {
	ID GroupID
	// Queued counts tasks waiting whose group this is.
	Queued int
	// QueuedWithEscalated also counts tasks of other groups escalated here.
	QueuedWithEscalated int
	// LongestWait is the wait of the oldest queued task (from EnqueuedAt).
	LongestWait   time.Duration
	OffersOut     int
	SignedIn      int
	OnBreak       int
	Available     int
	AgentsByState map[AgentState]int
	// Counters since the last ResetDailyCounters.
	Accepted int64
	// AcceptedInSL counts tasks accepted within Options.ServiceLevel.
	AcceptedInSL int64
	Abandoned    int64
	Overflowed   int64
	Completed    int64
	// AvgWait and AvgHandle are exponentially weighted recent averages.
	AvgWait   time.Duration
	AvgHandle time.Duration
}

// AgentRestore is an agent's persisted state, replayed after a restart
// between BeginRestore and EndRestore.
type AgentRestore struct {
	ID     AgentID
	State  AgentState
	Reason string
	Since  time.Time
	// Until is the end of a break or of wrap-up (zero = open-ended).
	Until        time.Time
	HandledToday int
	// PendingDispositions lists tasks still needing a disposition.
	PendingDispositions []TaskID
}
