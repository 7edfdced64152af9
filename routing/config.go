package routing

import (
	"fmt"
	"slices"
	"time"
)

// Defaults applied when a field is left zero.
const (
	DefaultCapacity       = 100
	DefaultOfferTimeout   = 20 * time.Second
	DefaultMaxNoAnswer    = 3
	DefaultPresenceGrace  = 30 * time.Second
	DefaultRejectCooldown = 30 * time.Second
	DefaultServiceLevel   = 20 * time.Second
	DefaultMaxOverflow    = 8
)

// DefaultChannelCost is the capacity cost of each built-in channel.
func DefaultChannelCost() map[Channel]int {
	return map[Channel]int{
		ChannelVoice:   100,
		ChannelVideo:   100,
		ChannelWebChat: 25,
		ChannelWeChat:  25,
		ChannelSMS:     10,
	}
}

// Options configures an Engine. The zero value is usable.
type Options struct {
	// Now is the clock; nil means time.Now. It is called before the lock
	// is taken, never under it.
	Now func() time.Time
	// DefaultCapacity is the capacity of agents whose config leaves it 0
	// (0 = 100).
	DefaultCapacity int
	// ChannelCost overrides channel costs engine-wide; a key that is not a
	// built-in channel defines a custom channel (a chat-like one).
	ChannelCost map[Channel]int
	// AllowMixedMedia lets voice and video be combined with other tasks when
	// capacity allows. By default they are exclusive: a call is offered only
	// to an agent holding nothing, and an agent on a call takes nothing else.
	AllowMixedMedia bool
	// SilentAfter, when > 0, makes a chat (any non voice/video task) whose
	// customer has been silent that long cost SilentCost instead of its
	// channel cost until the customer writes again (see Engine.Touch).
	SilentAfter time.Duration
	// SilentCost is the cost of a silent chat (>= 0; capped at the full cost).
	SilentCost int
	// PresenceGrace is how long an agent may stay disconnected before being
	// signed out (0 = 30 s; negative = signed out at once).
	PresenceGrace time.Duration
	// RejectCooldown is how long an agent who rejected a task or let its
	// offer time out is not offered that task again (0 = 30 s; negative =
	// no cooldown). After it, that agent is used only when no other eligible
	// agent is available.
	RejectCooldown time.Duration
	// ServiceLevel is the answer-time threshold of the service-level
	// counters (0 = 20 s).
	ServiceLevel time.Duration
	// CustomStates are the admin-defined agent states.
	CustomStates []CustomState
	// FirstSeq is the Seq of the first event (0 = 1); after a restart pass
	// the last persisted Seq + 1.
	FirstSeq uint64
	// Outbox makes mutating methods return nil events and keep them, in
	// order, in an outbox that the hub empties with Drain (for example to
	// persist them in batches). Drained into a reused slice, events then
	// cost no allocation at all (returned events share chunks of about
	// 32 KiB, one allocation per ~97 events); the hub must drain regularly
	// or the outbox grows without bound.
	Outbox bool
	// MaxOverflowHops bounds chains of group overflows (0 = 8); a task
	// exceeding it is rejected with reason "overflow_loop".
	MaxOverflowHops int
}

// Span is an open interval of a day, as offsets from local midnight:
// [From, To). To may be 24h.
type Span struct {
	From time.Duration
	To   time.Duration
}

// Date is a calendar day in the schedule's location.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// BusinessHours is a weekly schedule with holidays. A nil *BusinessHours is
// always open.
type BusinessHours struct {
	// Location is the schedule's time zone (nil = UTC).
	Location *time.Location
	// Weekly lists the open spans of each weekday; a missing day is closed.
	Weekly map[time.Weekday][]Span
	// Closed lists closed days (holidays) overriding Weekly.
	Closed []Date
}

// Open reports whether t falls in business hours.
func (h *BusinessHours) Open(t time.Time) bool {
	if h == nil {
		return true
	}
	loc := h.Location
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	y, mo, d := lt.Date()
	for _, c := range h.Closed {
		if c.Year == y && c.Month == mo && c.Day == d {
			return false
		}
	}
	off := time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute +
		time.Duration(lt.Second())*time.Second + time.Duration(lt.Nanosecond())
	for _, s := range h.Weekly[lt.Weekday()] {
		if off >= s.From && off < s.To {
			return true
		}
	}
	return false
}

func (h *BusinessHours) validate(scope string) error {
	if h == nil {
		return nil
	}
	for wd, spans := range h.Weekly {
		if wd < time.Sunday || wd > time.Saturday {
			return cfgErr(scope, "hours.weekly", "bad weekday %d", int(wd))
		}
		for i, s := range spans {
			if s.From < 0 || s.To > 24*time.Hour || s.From >= s.To {
				return cfgErr(scope, fmt.Sprintf("hours.weekly[%s][%d]", wd, i), "need 0 <= from < to <= 24h")
			}
		}
	}
	for i, c := range h.Closed {
		if c.Month < time.January || c.Month > time.December || c.Day < 1 || c.Day > 31 {
			return cfgErr(scope, fmt.Sprintf("hours.closed[%d]", i), "bad date")
		}
	}
	return nil
}

func (h *BusinessHours) clone() *BusinessHours {
	if h == nil {
		return nil
	}
	c := &BusinessHours{Location: h.Location, Closed: slices.Clone(h.Closed)}
	if h.Weekly != nil {
		c.Weekly = make(map[time.Weekday][]Span, len(h.Weekly))
		for k, v := range h.Weekly {
			c.Weekly[k] = slices.Clone(v)
		}
	}
	return c
}

// PriorityBoost raises a waiting task's priority once After has passed since
// it entered the group: by Add, and/or to at least To.
type PriorityBoost struct {
	After time.Duration
	Add   int
	To    int
}

// EscalationStep widens a waiting task once After has passed since it
// entered the group. The task keeps its age (its place in every queue).
type EscalationStep struct {
	After time.Duration
	// Level widens the level restriction to Level (only ever widens).
	Level int
	// AnyLevel removes the level restriction.
	AnyLevel bool
	// AddGroups makes the agents of these groups eligible too (the task
	// joins their queues at its age). Unknown groups are skipped.
	AddGroups []GroupID
}

// GroupConfig configures a skill group (a queue). Zero fields take defaults.
type GroupConfig struct {
	ID GroupID
	// Strategy picks agents (default longest_idle).
	Strategy Strategy
	// OfferTimeout is how long an offer waits for Accept before it is
	// withdrawn and the task re-routed (0 = 20 s).
	OfferTimeout time.Duration
	// MaxNoAnswer offer time-outs in a row put the agent in not_ready with
	// reason "no_answer" (0 = 3; negative = never).
	MaxNoAnswer int
	// AutoAccept turns every offer of this group into an assignment.
	AutoAccept bool
	// WrapUp is the after-call-work time after Complete (0 = none).
	WrapUp time.Duration
	// WrapUpOnTransfer also starts wrap-up for an agent transferring a task
	// away (default: the agent is freed at once).
	WrapUpOnTransfer bool
	// RequireDisposition keeps the agent from new work until SetDisposition
	// is called for each task completed through this group.
	RequireDisposition bool
	// BreakCap is the most members on break at once (0 = no cap).
	BreakCap int
	// InitialLevel restricts new tasks to agents with level <= it
	// (0 = any level).
	InitialLevel int
	// PriorityBoosts apply in order of After.
	PriorityBoosts []PriorityBoost
	// Escalation steps apply in order of After.
	Escalation []EscalationStep
	// MaxQueueLength bounds the tasks waiting in the group (0 = none).
	MaxQueueLength int
	// MaxWait is the longest a task waits in the group before OnMaxWait
	// (0 = none).
	MaxWait time.Duration
	// OnQueueFull applies when a task arrives and MaxQueueLength tasks are
	// waiting (OverflowNone = reject).
	OnQueueFull OverflowAction
	// OnMaxWait applies when a task has waited MaxWait.
	OnMaxWait OverflowAction
	// OnNoAgents applies when a task arrives and no member is signed in.
	OnNoAgents OverflowAction
	// OnClosed applies when a task arrives outside Hours.
	OnClosed OverflowAction
	// Hours are the group's business hours (nil = always open).
	Hours *BusinessHours
	// LastAgentWait is how long a task of a last_agent group waits for the
	// contact's previous agent when that agent is signed in.
	LastAgentWait time.Duration
	// ChannelCost overrides channel costs for tasks routed through this group.
	ChannelCost map[Channel]int
	// AutoCloseAfter, when > 0, completes an accepted chat whose customer
	// has been silent that long (自动结束), reason "auto_close_silent".
	AutoCloseAfter time.Duration
}

// AgentConfig configures an agent. A new agent starts signed out.
type AgentConfig struct {
	ID AgentID
	// Capacity in cost units (0 = Options.DefaultCapacity).
	Capacity int
	// ChannelMax bounds the tasks of a channel held at once (0 = no bound).
	ChannelMax map[Channel]int
	// Groups maps each group the agent belongs to to the agent's level in it
	// (1 = best; 0 is taken as 1).
	Groups map[GroupID]int
	// GroupCap bounds the tasks of a group held at once (接待上限; 0 = none).
	GroupCap map[GroupID]int
	// AutoAccept turns every offer to this agent into an assignment.
	AutoAccept bool
}

func (e *Engine) validateGroup(c *GroupConfig) error {
	scope := fmt.Sprintf("group %q", c.ID)
	if c.ID == "" {
		return cfgErr("group", "id", "must not be empty")
	}
	switch c.Strategy {
	case "", StrategyLongestIdle, StrategyLeastLoaded, StrategyFewestHandled, StrategyRoundRobin, StrategyLastAgent, StrategyRingAll:
	default:
		return cfgErr(scope, "strategy", "unknown strategy %q", c.Strategy)
	}
	if c.OfferTimeout < 0 {
		return cfgErr(scope, "offer_timeout", "must be >= 0 (0 means %s)", DefaultOfferTimeout)
	}
	if c.WrapUp < 0 {
		return cfgErr(scope, "wrap_up", "must be >= 0")
	}
	if c.BreakCap < 0 {
		return cfgErr(scope, "break_cap", "must be >= 0")
	}
	if c.InitialLevel < 0 {
		return cfgErr(scope, "initial_level", "must be >= 0")
	}
	if c.MaxQueueLength < 0 {
		return cfgErr(scope, "max_queue_length", "must be >= 0")
	}
	if c.MaxWait < 0 {
		return cfgErr(scope, "max_wait", "must be >= 0")
	}
	if c.LastAgentWait < 0 {
		return cfgErr(scope, "last_agent_wait", "must be >= 0")
	}
	if c.AutoCloseAfter < 0 {
		return cfgErr(scope, "auto_close_after", "must be >= 0")
	}
	for i, b := range c.PriorityBoosts {
		f := fmt.Sprintf("priority_boosts[%d]", i)
		if b.After < 0 {
			return cfgErr(scope, f+".after", "must be >= 0")
		}
		if b.Add < 0 {
			return cfgErr(scope, f+".add", "must be >= 0")
		}
		if b.Add == 0 && b.To == 0 {
			return cfgErr(scope, f, "needs add or to")
		}
	}
	for i, s := range c.Escalation {
		f := fmt.Sprintf("escalation[%d]", i)
		if s.After < 0 {
			return cfgErr(scope, f+".after", "must be >= 0")
		}
		if s.Level < 0 {
			return cfgErr(scope, f+".level", "must be >= 0")
		}
		for j, g := range s.AddGroups {
			if g == "" || g == c.ID {
				return cfgErr(scope, fmt.Sprintf("%s.add_groups[%d]", f, j), "must name another group")
			}
		}
	}
	for name, a := range map[string]OverflowAction{"on_queue_full": c.OnQueueFull, "on_max_wait": c.OnMaxWait, "on_no_agents": c.OnNoAgents, "on_closed": c.OnClosed} {
		switch a.Kind {
		case OverflowNone, OverflowVoicemail, OverflowLeaveMessage, OverflowCallback, OverflowReject:
		case OverflowGroup:
			if a.Group == "" || a.Group == c.ID {
				return cfgErr(scope, name+".group", "must name another group")
			}
		default:
			return cfgErr(scope, name+".kind", "unknown overflow kind %q", a.Kind)
		}
	}
	for ch, cost := range c.ChannelCost {
		if _, ok := e.chIdx[ch]; !ok {
			return cfgErr(scope, "channel_cost", "unknown channel %q", ch)
		}
		if cost < 0 {
			return cfgErr(scope, "channel_cost."+string(ch), "must be >= 0")
		}
	}
	return c.Hours.validate(scope)
}

func normalizeGroup(c GroupConfig) GroupConfig {
	if c.Strategy == "" {
		c.Strategy = StrategyLongestIdle
	}
	if c.OfferTimeout == 0 {
		c.OfferTimeout = DefaultOfferTimeout
	}
	if c.MaxNoAnswer == 0 {
		c.MaxNoAnswer = DefaultMaxNoAnswer
	}
	c.PriorityBoosts = slices.Clone(c.PriorityBoosts)
	slices.SortStableFunc(c.PriorityBoosts, func(a, b PriorityBoost) int { return cmpDur(a.After, b.After) })
	esc := make([]EscalationStep, len(c.Escalation))
	for i, s := range c.Escalation {
		s.AddGroups = slices.Clone(s.AddGroups)
		esc[i] = s
	}
	slices.SortStableFunc(esc, func(a, b EscalationStep) int { return cmpDur(a.After, b.After) })
	c.Escalation = esc
	if c.ChannelCost != nil {
		m := make(map[Channel]int, len(c.ChannelCost))
		for k, v := range c.ChannelCost {
			m[k] = v
		}
		c.ChannelCost = m
	}
	c.Hours = c.Hours.clone()
	return c
}

func cmpDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (e *Engine) validateAgent(c *AgentConfig) error {
	scope := fmt.Sprintf("agent %q", c.ID)
	if c.ID == "" {
		return cfgErr("agent", "id", "must not be empty")
	}
	if c.Capacity < 0 {
		return cfgErr(scope, "capacity", "must be >= 0 (0 means the default)")
	}
	for ch, n := range c.ChannelMax {
		if _, ok := e.chIdx[ch]; !ok {
			return cfgErr(scope, "channel_max", "unknown channel %q", ch)
		}
		if n < 0 {
			return cfgErr(scope, "channel_max."+string(ch), "must be >= 0")
		}
	}
	for g, lvl := range c.Groups {
		if _, ok := e.groups[g]; !ok {
			return fmt.Errorf("%s: groups: group %q: %w", scope, g, ErrUnknownGroup)
		}
		if lvl < 0 {
			return cfgErr(scope, "groups."+string(g), "level must be >= 0")
		}
	}
	for g, n := range c.GroupCap {
		if _, ok := c.Groups[g]; !ok {
			return cfgErr(scope, "group_cap."+string(g), "agent is not a member of the group")
		}
		if n < 0 {
			return cfgErr(scope, "group_cap."+string(g), "must be >= 0")
		}
	}
	return nil
}

func cloneAgentConfig(c AgentConfig) AgentConfig {
	c.ChannelMax = cloneMap(c.ChannelMax)
	c.Groups = cloneMap(c.Groups)
	c.GroupCap = cloneMap(c.GroupCap)
	return c
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (o *Options) validate() error {
	if o.DefaultCapacity < 0 {
		return cfgErr("options", "default_capacity", "must be >= 0")
	}
	for ch, c := range o.ChannelCost {
		if ch == "" {
			return cfgErr("options", "channel_cost", "empty channel name")
		}
		if c < 0 {
			return cfgErr("options", "channel_cost."+string(ch), "must be >= 0")
		}
	}
	if o.SilentAfter < 0 {
		return cfgErr("options", "silent_after", "must be >= 0")
	}
	if o.SilentCost < 0 {
		return cfgErr("options", "silent_cost", "must be >= 0")
	}
	if o.ServiceLevel < 0 {
		return cfgErr("options", "service_level", "must be >= 0")
	}
	if o.MaxOverflowHops < 0 {
		return cfgErr("options", "max_overflow_hops", "must be >= 0")
	}
	for i, cs := range o.CustomStates {
		if err := validateCustomState(cs); err != nil {
			return fmt.Errorf("options: custom_states[%d]: %w", i, err)
		}
	}
	return nil
}

func validateCustomState(cs CustomState) error {
	switch cs.Name {
	case "":
		return cfgErr("custom state", "name", "must not be empty")
	case StateSignedOut, StateReady, StateNotReady, StateBreak, StateAfterCallWork:
		return cfgErr("custom state", "name", "%q is a built-in state", cs.Name)
	}
	return nil
}
