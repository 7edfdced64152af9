// Package routing is the hub's routing engine: one engine for every channel
// (voice, video, web chat, WeChat, SMS) that places each conversation waiting
// for a human in a skill-group queue and offers it to an agent whose capacity
// allows it (MISSION.md, Routing R1-R7).
//
// # Purity
//
// The engine does no I/O, starts no goroutine and uses no timer. The hub
// drives it: it calls a method when something happens (an agent clicks ready,
// a customer hangs up, a chat arrives), persists the [Event] values each call
// returns, and calls [Engine.Tick] from its own timer goroutine when
// [Engine.NextDeadline] says something is due (offer timeouts, wrap-up ends,
// break ends, escalation steps, priority boosts, max wait, last-agent wait,
// presence grace, silent-chat cost reduction, silent-chat auto-close).
//
// # Concurrency
//
// An [Engine] is safe for concurrent use. All of its state is guarded by ONE
// sync.Mutex; every routing decision is made synchronously, under that lock,
// inside the call that made it possible, so capacity is always checked at
// reservation time and can never be overshot by concurrent requests. The
// engine never calls caller code while holding the lock: the injected clock
// ([Options.Now]) is read before the lock is taken. Event times are clamped so
// that they never go backwards in Seq order.
//
// # Events
//
// Every mutating method returns the events it caused, in order, each with an
// engine-wide monotonically increasing Seq. Reports (abandon rate, ASA, AHT,
// offers per task, occupancy) can be computed from the event stream alone:
// task events carry EnqueuedAt (the original arrival time), so any single event
// tells how long the task had waited; task_completed carries the handle time
// in Duration; agent_state_changed carries the time spent in FromState.
//
// A returned slice is the call's own: its capacity equals its length and the
// engine never writes to it again, so it may be kept, modified or appended
// to (appending copies it). Consecutive calls' slices share one ~32 KiB
// backing array, which stays in memory while any of them is kept.
//
// Alternatively, with [Options.Outbox], methods return nil and the events
// wait, in order, in an outbox that the hub empties with [Engine.Drain]
// (allocation-free; suited to persisting events in batches).
//
// # Routing data structures
//
// Each group keeps its queued tasks in small 4-ary heaps, one per (channel,
// level restriction) "bucket", and, per channel, a 4-ary heap of the members
// that could take a task of that channel now, ordered by the group's
// strategy. An agent that becomes free looks at the top of the buckets of
// its groups; an arriving task looks at the top of its channel's heap. No
// decision scans all agents or all tasks.
//
// # Queues and capacity
//
// Queue order is priority (higher first), then age (EnqueuedAt, then an
// engine sequence number). Priority boosts, escalations, requeues after a
// rejected or timed-out offer, and restores after a restart all keep a task's
// age, so a task returned to a queue goes back to its original place.
//
// Every agent has a capacity (default 100 units); each channel has a cost
// (defaults: voice 100, video 100, webchat 25, wechat 25, sms 10). By default
// voice and video are exclusive: an agent takes one call OR up to four chats,
// never a call on top of chats (see [Options.AllowMixedMedia]). A chat whose
// customer has been silent for [Options.SilentAfter] costs
// [Options.SilentCost]; when the customer writes again ([Engine.Touch]) the
// full cost comes back, which is the only way (with an admin lowering a
// capacity) an agent can be above capacity; the engine then reserves nothing
// more for that agent until the load is back under its limits.
//
// # Levels
//
// An agent's level in a group is 1 for the best; larger numbers are lower
// skill. A task restricted to level L is offered only to agents whose level is
// <= L (0 = any level). [GroupConfig.InitialLevel] and [TaskSpec.RequiredLevel]
// restrict new tasks; [EscalationStep] widens the restriction over time or adds
// overflow groups while the task keeps its age.
//
// # Rejects and time-outs
//
// An agent that rejects an offer or lets it time out is not offered the same
// task again for [Options.RejectCooldown]; after that the agent is used for
// that task only when no other eligible agent is available.
package routing
