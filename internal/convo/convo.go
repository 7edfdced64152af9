// Package convo joins channels, routing and the shared history into live
// conversations: a channel starts a conversation and hands it to routing,
// customer and agent messages are stored before they are acknowledged and
// then fanned out, and routing events (accepted, transferred, completed...)
// move the conversation through its life. Channels plug in through the
// small Channel interface; the agent inbox talks to this package only.
//
// Fan-out is in-process: every hub replica delivers to the sockets it holds.
// Running several replicas needs sticky routing of a tenant's agents and
// customers to one replica, or a shared bus (a later issue).
package convo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/acd"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/routing"
)

// Channel delivers to customers on one medium.
type Channel interface {
	// Deliver sends a stored message (from an agent, the bot or the system)
	// to the customer of conv.
	Deliver(ctx context.Context, conv *history.Conversation, m *history.Message)
	// Routed tells the channel what routing did with its conversation
	// (queued with a position, accepted by an agent, overflowed, ended).
	Routed(ctx context.Context, conv *history.Conversation, ev routing.Event)
}

// Router is what convo needs of live routing.
type Router interface {
	Enqueue(ctx context.Context, spec routing.TaskSpec) (routing.EnqueueResult, error)
	Complete(ctx context.Context, task routing.TaskID, reason string) error
	Cancel(ctx context.Context, task routing.TaskID, reason string) error
	Touch(ctx context.Context, task routing.TaskID) error
	Task(ctx context.Context, id routing.TaskID) (routing.TaskSnapshot, error)
	Agent(ctx context.Context, id accounts.UserID) (routing.AgentSnapshot, error)
	SetDisposition(ctx context.Context, agent accounts.UserID, task routing.TaskID, code string) error
	Position(ctx context.Context, id routing.TaskID) (int, time.Duration, bool)
	AutoCloseAfter(ctx context.Context, group string) time.Duration
	Listen(l acd.Listener)
}

// Names looks up display names of agents.
type Names interface {
	GetUser(ctx context.Context, id accounts.UserID) (*accounts.User, error)
}

// Service is the conversation hub.
type Service struct {
	hist   *history.Store
	router Router
	names  Names
	log    *slog.Logger

	agentNames agentNames
	// stepped holds the conversations StepHook stored, until apply takes
	// them.
	stepped sync.Map // stepKey → *history.Conversation
	applied atomic.Uint64

	mu       sync.RWMutex
	channels map[history.Channel]Channel
	agents   map[agentKey]map[*AgentSub]struct{}

	events chan tenantEvents
	// atomic runs a function in one store transaction (UseTransactions).
	atomic func(ctx context.Context, fn func(ctx context.Context) error) error
	// shards apply the events of a conversation in order, different
	// conversations side by side (see applyShards).
	shards []chan tenantEvent
	// silence tracks accepted chats for the auto-close warning.
	silence map[agentKey]*chatSilence
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

type agentKey struct {
	tenant store.TenantID
	agent  string
}

type tenantEvents struct {
	tenant store.TenantID
	evs    []routing.Event
}

type tenantEvent struct {
	tenant store.TenantID
	ev     routing.Event
}

// applyShards is how many conversations' routing events are applied at
// once. Applying one (read the conversation, store its new status, a
// system line, frames to both sides) waits for two commits; applied one
// after the other, a burst of 2,000 new chats queued behind each other for
// seconds.
const applyShards = 16

// New starts the hub; Close stops it.
func New(hist *history.Store, router Router, names Names, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	s := &Service{hist: hist, router: router, names: names, log: log.With("component", "convo"),
		channels: map[history.Channel]Channel{}, agents: map[agentKey]map[*AgentSub]struct{}{},
		events: make(chan tenantEvents, 4096), silence: map[agentKey]*chatSilence{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	router.Listen(func(t store.TenantID, evs []routing.Event) {
		// Back-pressure, never loss: when the conversation layer is behind,
		// routing's next step waits here (apply never calls routing).
		select {
		case s.events <- tenantEvents{t, slices.Clone(evs)}:
		case <-s.ctx.Done():
		}
	})
	s.shards = make([]chan tenantEvent, applyShards)
	for i := range s.shards {
		ch := make(chan tenantEvent, 256)
		s.shards[i] = ch
		s.wg.Go(func() { s.applyLoop(ch) })
	}
	s.wg.Add(1)
	go s.loop()
	// Its own goroutine: warnSilent asks routing for settings, and routing
	// may be waiting for loop to take its events (back-pressure).
	s.wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-tick.C:
				s.warnSilent()
			}
		}
	})
	return s
}

// Close stops the event loop.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

// Register plugs a channel in.
func (s *Service) Register(ch history.Channel, c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[ch] = c
}

func (s *Service) channel(ch history.Channel) Channel {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.channels[ch]
}

// StartRequest opens a conversation for a contact.
type StartRequest struct {
	Contact   *history.Contact
	Channel   history.Channel
	Group     string
	Subject   string
	Priority  int
	LastAgent string
}

// Create stores a new queued conversation without routing it. A channel
// starts a conversation in two steps: inside Atomically it finds or creates
// the contact, calls Create and stores its own records of the start (one
// transaction); then, once it has attached its sockets (routing may offer
// and assign the conversation before Route returns), it calls Route, whose
// result says whether the conversation was queued (with its position),
// offered, or overflowed (the channel must carry out the action).
func (s *Service) Create(ctx context.Context, r StartRequest) (*history.Conversation, error) {
	return s.hist.CreateConversation(ctx, history.NewConversation{ContactID: r.Contact.ID, Channel: r.Channel, Status: history.StatusQueued, GroupID: r.Group, Subject: r.Subject})
}

// Atomically runs fn so that the store writes it makes (through the context
// it is given) commit together or not at all: on the embedded store one
// transaction (see UseTransactions), elsewhere one after the other. fn may
// run more than once, so it must only read and write through the store
// with that context, set (not accumulate) what it hands back, and do
// nothing else: no socket, no routing, no message append (appends are
// batched on their own).
func (s *Service) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.atomic == nil {
		return fn(ctx)
	}
	return s.atomic(ctx, fn)
}

// UseTransactions gives Atomically the store's transactions; call it
// before the service is used.
func (s *Service) UseTransactions(run func(ctx context.Context, fn func(ctx context.Context) error) error) {
	s.atomic = run
}

// Route hands a conversation made by Create to routing (its own
// transaction); a conversation routing refuses is closed.
func (s *Service) Route(ctx context.Context, conv *history.Conversation, r StartRequest) (*history.Conversation, routing.EnqueueResult, error) {
	res, err := s.router.Enqueue(ctx, routing.TaskSpec{ID: routing.TaskID(conv.ID), Channel: routing.Channel(r.Channel), Group: routing.GroupID(r.Group),
		Priority: r.Priority, Contact: routing.ContactID(r.Contact.ID), LastAgent: routing.AgentID(r.LastAgent), EnqueuedAt: conv.CreatedAt})
	if err != nil {
		now := time.Now()
		_, _ = s.hist.UpdateConversation(ctx, conv.ID, history.ConversationPatch{Status: history.StatusClosed, ClosedAt: now, EndedAt: now})
		return nil, res, err
	}
	if res.Status == routing.TaskOverflowed {
		now := time.Now()
		if c, err := s.hist.UpdateConversation(ctx, conv.ID, history.ConversationPatch{Status: history.StatusClosed, EndedAt: now, ClosedAt: now}); err == nil {
			conv = c
		}
	}
	return conv, res, nil
}

// StartBot creates a conversation answered by the bot first; Handover
// queues it for a human later.
func (s *Service) StartBot(ctx context.Context, r StartRequest) (*history.Conversation, error) {
	return s.hist.CreateConversation(ctx, history.NewConversation{ContactID: r.Contact.ID, Channel: r.Channel, Status: history.StatusBot, GroupID: r.Group, Subject: r.Subject})
}

// Handover hands a bot conversation to routing (转人工); the bot part stays
// in the conversation for the agent to read.
func (s *Service) Handover(ctx context.Context, conv *history.Conversation, lastAgent string) (*history.Conversation, routing.EnqueueResult, error) {
	now := time.Now()
	c, err := s.hist.UpdateConversation(ctx, conv.ID, history.ConversationPatch{Status: history.StatusQueued, QueuedAt: now, AddTags: []string{"bot_handover"}})
	if err != nil {
		return nil, routing.EnqueueResult{}, err
	}
	res, err := s.router.Enqueue(ctx, routing.TaskSpec{ID: routing.TaskID(c.ID), Channel: routing.Channel(c.Channel), Group: routing.GroupID(c.GroupID),
		Contact: routing.ContactID(c.ContactID), LastAgent: routing.AgentID(lastAgent), EnqueuedAt: now})
	if err != nil {
		return nil, res, err
	}
	if res.Status == routing.TaskOverflowed {
		if cc, err := s.hist.UpdateConversation(ctx, c.ID, history.ConversationPatch{Status: history.StatusClosed, EndedAt: now, ClosedAt: now}); err == nil {
			c = cc
		}
	}
	return c, res, nil
}

// BotMessage stores the bot's answer and delivers it to the customer.
func (s *Service) BotMessage(ctx context.Context, conv *history.Conversation, body string) (*history.Message, error) {
	m, _, err := s.hist.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionOut, Body: body, Sender: history.Sender{Type: history.SenderBot, Name: "智能助手"}})
	if err != nil {
		return nil, err
	}
	if ch := s.channel(conv.Channel); ch != nil {
		ch.Deliver(ctx, conv, m)
	}
	return m, nil
}

// SystemMessage stores a system line and delivers it to both sides.
func (s *Service) SystemMessage(ctx context.Context, conv *history.Conversation, body string) {
	s.system(ctx, conv, body)
}

// CustomerMessage stores a customer's message (idempotent by client id)
// and delivers it to the agent handling the conversation.
func (s *Service) CustomerMessage(ctx context.Context, conv *history.Conversation, in history.NewMessage) (*history.Message, bool, error) {
	in.Direction = history.DirectionIn
	in.Sender.Type = history.SenderCustomer
	m, created, err := s.hist.AppendMessageTo(ctx, conv, in)
	if err != nil || !created {
		return m, created, err
	}
	s.toAgents(ctx, conv, Frame{Type: "message", Message: m})
	s.heard(ctx, conv.ID, m.CreatedAt)
	if conv.Status == history.StatusAssigned {
		if err := s.router.Touch(ctx, routing.TaskID(conv.ID)); err != nil {
			s.log.Debug("touch", "err", err)
		}
	}
	return m, true, nil
}

// CustomerTyping tells the agent the customer is typing.
func (s *Service) CustomerTyping(ctx context.Context, conv *history.Conversation) {
	s.toAgents(ctx, conv, Frame{Type: "typing", ConversationID: string(conv.ID)})
}

// CustomerLeft ends a conversation the customer closed.
func (s *Service) CustomerLeft(ctx context.Context, conv *history.Conversation) error {
	task := routing.TaskID(conv.ID)
	snap, err := s.router.Task(ctx, task)
	if err != nil {
		return nil // routing is done with it already
	}
	if snap.Status == routing.TaskAssigned {
		return s.router.Complete(ctx, task, "customer_left")
	}
	return s.router.Cancel(ctx, task, "customer_left")
}

// holds reports whether agent handles conv now.
func (s *Service) holds(ctx context.Context, agent accounts.UserID, conv history.ConversationID) bool {
	t, err := s.router.Task(ctx, routing.TaskID(conv))
	return err == nil && t.Status == routing.TaskAssigned && slices.Contains(t.Agents, routing.AgentID(agent))
}

// ErrNotYours is returned when an agent acts on a conversation they do not
// handle.
var ErrNotYours = fmt.Errorf("this conversation is not assigned to you")

// AgentMessage stores an agent's message (or internal note) and delivers
// it to the customer.
func (s *Service) AgentMessage(ctx context.Context, p accounts.Principal, id history.ConversationID, in history.NewMessage, note bool) (*history.Message, bool, error) {
	// Found first: an unknown id, or another tenant's, is not found.
	conv, err := s.hist.GetConversation(ctx, id)
	if err != nil {
		return nil, false, err
	}
	if !s.holds(ctx, p.UserID, id) {
		return nil, false, ErrNotYours
	}
	in.Direction = history.DirectionOut
	if note {
		in.Direction = history.DirectionInternal
	}
	in.Sender = history.Sender{Type: history.SenderAgent, ID: string(p.UserID), Name: p.Name}
	m, created, err := s.hist.AppendMessageTo(ctx, conv, in)
	if err != nil || !created {
		return m, created, err
	}
	if !note {
		if ch := s.channel(conv.Channel); ch != nil {
			ch.Deliver(ctx, conv, m)
		}
	}
	s.toAgents(ctx, conv, Frame{Type: "message", Message: m})
	return m, true, nil
}

// ErrNotOpen is returned when closing a conversation that routing no longer
// holds (already closed).
var ErrNotOpen = errors.New("this conversation is not open")

// End ends a conversation from the agent's side; the agent goes to
// wrap-up as the group says. An unknown conversation, or another
// tenant's, is a *store.NotFoundError; one that is no longer open is
// ErrNotOpen.
func (s *Service) End(ctx context.Context, p accounts.Principal, id history.ConversationID) error {
	if _, err := s.hist.GetConversation(ctx, id); err != nil {
		return err
	}
	if !s.holds(ctx, p.UserID, id) && p.Role != accounts.RoleSupervisor && p.Role != accounts.RoleAdmin {
		return ErrNotYours
	}
	err := s.router.Complete(ctx, routing.TaskID(id), "agent_closed")
	if errors.Is(err, routing.ErrUnknownTask) {
		return fmt.Errorf("%w: %w", ErrNotOpen, err)
	}
	return err
}

// Disposition records the agent's classification (话务标识) and clears the
// routing requirement.
func (s *Service) Disposition(ctx context.Context, p accounts.Principal, id history.ConversationID, d history.Disposition) (*history.Conversation, error) {
	conv, err := s.hist.GetConversation(ctx, id)
	if err != nil {
		return nil, err
	}
	if conv.AssigneeID != string(p.UserID) && p.Role != accounts.RoleSupervisor && p.Role != accounts.RoleAdmin {
		return nil, ErrNotYours
	}
	d.SetBy, d.SetAt = string(p.UserID), time.Now().UTC()
	conv, err = s.hist.UpdateConversation(ctx, id, history.ConversationPatch{Disposition: &d})
	if err != nil {
		return nil, err
	}
	code := d.Purpose
	if d.SubType != "" {
		code += "/" + d.SubType
	}
	if err := s.router.SetDisposition(ctx, p.UserID, routing.TaskID(id), code); err != nil {
		s.log.Debug("disposition not needed by routing", "err", err)
	}
	return conv, nil
}

// MyConversations lists the conversations an agent holds now (accepted).
func (s *Service) MyConversations(ctx context.Context, agent accounts.UserID) ([]history.Conversation, error) {
	snap, err := s.router.Agent(ctx, agent)
	if err != nil {
		return []history.Conversation{}, nil
	}
	out := []history.Conversation{}
	for _, t := range snap.Tasks {
		if !t.Accepted {
			continue
		}
		if c, err := s.hist.GetConversation(ctx, history.ConversationID(t.TaskID)); err == nil {
			out = append(out, *c)
		}
	}
	return out, nil
}

// system stores a system message in conv and delivers it to both sides.
func (s *Service) system(ctx context.Context, conv *history.Conversation, body string) {
	m, _, err := s.hist.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionOut, Kind: history.KindSystem, Body: body, Sender: history.Sender{Type: history.SenderSystem}})
	if err != nil {
		s.log.Error("system message not stored", "conversation", conv.ID, "err", err)
		return
	}
	if ch := s.channel(conv.Channel); ch != nil {
		ch.Deliver(ctx, conv, m)
	}
	s.toAgents(ctx, conv, Frame{Type: "message", Message: m})
}

// chatSilence is an accepted chat's last customer activity.
type chatSilence struct {
	group  string
	last   time.Time
	warned bool
}

// heard records customer activity (resets the auto-close warning).
func (s *Service) heard(ctx context.Context, id history.ConversationID, at time.Time) {
	t, _ := store.Tenant(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.silence[agentKey{t, string(id)}]; c != nil {
		c.last, c.warned = at, false
	}
}

// warnBefore is how long before an auto-close the customer is warned.
func warnBefore(d time.Duration) time.Duration { return min(time.Minute, d/3) }

// warnSilent warns customers whose chat is about to be closed for silence.
func (s *Service) warnSilent() {
	now := time.Now()
	type due struct {
		k agentKey
		d time.Duration
	}
	var warn []due
	s.mu.Lock()
	for k, c := range s.silence {
		if c.warned {
			continue
		}
		d := s.router.AutoCloseAfter(store.WithTenant(context.Background(), k.tenant), c.group)
		if d > 0 && now.Sub(c.last) >= d-warnBefore(d) {
			c.warned = true
			warn = append(warn, due{k, d})
		}
	}
	s.mu.Unlock()
	for _, w := range warn {
		ctx := store.WithTenant(context.Background(), w.k.tenant)
		conv, err := s.hist.GetConversation(ctx, history.ConversationID(w.k.agent))
		if err != nil || conv.Status != history.StatusAssigned {
			continue
		}
		secs := int(warnBefore(w.d).Seconds())
		s.system(ctx, conv, fmt.Sprintf("您已较长时间未回复，若 %d 秒内仍无消息，本次会话将自动结束 · No reply for a while: this chat closes in %d seconds", secs, secs))
	}
}

// loop hands routing events to the shards that apply them.
func (s *Service) loop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case b := <-s.events:
			for _, e := range b.evs {
				if e.TaskID == "" {
					s.applied.Add(1) // nothing to apply
					continue
				}
				h := fnv.New32a()
				_, _ = h.Write([]byte(b.tenant))
				_, _ = h.Write([]byte(e.TaskID))
				select {
				case s.shards[h.Sum32()%applyShards] <- tenantEvent{b.tenant, e}:
				case <-s.ctx.Done():
					return
				}
			}
		}
	}
}

// applyLoop applies one shard's events in order until the service stops.
func (s *Service) applyLoop(ch <-chan tenantEvent) {
	for {
		select {
		case <-s.ctx.Done():
			return
		case te := <-ch:
			s.apply(store.WithTenant(context.Background(), te.tenant), te.ev)
			s.applied.Add(1)
		}
	}
}

// EventsApplied counts the routing events the conversation layer has
// applied since it started (hub_convo_events_applied_total): at rest it
// equals acd's EventsStored.
func (s *Service) EventsApplied() uint64 { return s.applied.Load() }

// patchFor is the change routing event e makes to its conversation (none:
// Status "").
func patchFor(e routing.Event) history.ConversationPatch {
	switch e.Type {
	case routing.EventOfferAccepted:
		agent := string(e.AgentID)
		grp := string(e.GroupID)
		return history.ConversationPatch{Status: history.StatusAssigned, AssigneeID: &agent, GroupID: &grp, AssignedAt: e.Time}
	case routing.EventTaskTransferred:
		if e.ToGroup == "" {
			return history.ConversationPatch{Status: history.StatusQueued}
		}
		grp := string(e.ToGroup)
		return history.ConversationPatch{Status: history.StatusQueued, GroupID: &grp}
	case routing.EventTaskCompleted, routing.EventTaskAbandoned, routing.EventTaskOverflowed:
		return history.ConversationPatch{Status: history.StatusClosed, EndedAt: e.Time, ClosedAt: e.Time}
	}
	return history.ConversationPatch{}
}

// stepKey names one routing event: its tenant, task and sequence number.
type stepKey struct {
	tenant store.TenantID
	task   routing.TaskID
	seq    uint64
}

// StepHook is an acd.StepHook: the conversations' new status is stored in
// the routing step's transaction (one commit where there were two, and
// routing and the conversation never disagree after a crash). apply, which
// tells agents and channels once the step is published, takes the stored
// conversation instead of writing it again.
func (s *Service) StepHook(ctx context.Context, t store.TenantID, evs []routing.Event) {
	ctx = store.WithTenant(ctx, t)
	for _, e := range evs {
		p := patchFor(e)
		if p.Status == "" {
			continue
		}
		c, err := s.hist.UpdateConversation(ctx, history.ConversationID(e.TaskID), p)
		var nf *store.NotFoundError
		switch {
		case errors.As(err, &nf):
			// not a conversation task (e.g. created through the routing API)
		case err != nil:
			s.log.Error("conversation not updated in its routing step", "conversation", e.TaskID, "event", e.Type, "err", err)
		default:
			s.stepped.Store(stepKey{t, e.TaskID, e.Seq}, c)
		}
	}
}

// apply moves the conversation of e's task (loop passes only events of a
// task).
func (s *Service) apply(ctx context.Context, e routing.Event) {
	switch e.Type {
	case routing.EventTaskQueued, routing.EventOfferAccepted, routing.EventTaskTransferred, routing.EventTaskCompleted,
		routing.EventTaskAbandoned, routing.EventTaskOverflowed:
	default:
		return
	}
	id := history.ConversationID(e.TaskID)
	t, _ := store.Tenant(ctx)
	var conv *history.Conversation
	var err error
	p := patchFor(e)
	if c, ok := s.stepped.LoadAndDelete(stepKey{t, e.TaskID, e.Seq}); ok {
		conv = c.(*history.Conversation) // stored in the routing step (StepHook)
	} else if p.Status == "" {
		conv, err = s.hist.GetConversation(ctx, id)
	} else {
		// The update returns the conversation: no read before it.
		conv, err = s.hist.UpdateConversation(ctx, id, p)
	}
	var nf *store.NotFoundError
	switch {
	case errors.As(err, &nf):
		return // not a conversation task (e.g. created through the routing API)
	case err != nil:
		s.log.Error("conversation not updated", "conversation", id, "event", e.Type, "err", err)
		if conv, err = s.hist.GetConversation(ctx, id); err != nil {
			return
		}
	}
	k := agentKey{t, string(id)}
	s.mu.Lock()
	switch e.Type {
	case routing.EventOfferAccepted:
		if conv.Channel != history.ChannelVoice && conv.Channel != history.ChannelVideo {
			s.silence[k] = &chatSilence{group: string(e.GroupID), last: e.Time}
		}
	case routing.EventTaskTransferred, routing.EventTaskCompleted, routing.EventTaskAbandoned, routing.EventTaskOverflowed:
		delete(s.silence, k)
	}
	s.mu.Unlock()
	ch := s.channel(conv.Channel)
	switch e.Type {
	case routing.EventOfferAccepted:
		// Both sides learn of the assignment as soon as it is stored; the
		// greeting line (one more commit) follows.
		s.toAgent(ctx, string(e.AgentID), Frame{Type: "conversation", Conversation: conv})
		if ch != nil {
			ch.Routed(ctx, conv, e)
		}
		name := s.agentNames.name(ctx, s.names, agentKey{t, string(e.AgentID)}, time.Now())
		s.system(ctx, conv, fmt.Sprintf("客服 %s 为您服务 · Agent %s has joined", name, name))
		return
	case routing.EventTaskTransferred:
		if e.FromAgent != "" {
			s.toAgent(ctx, string(e.FromAgent), Frame{Type: "conversation", Conversation: conv})
		}
		s.system(ctx, conv, "正在为您转接 · Transferring you to another agent")
	case routing.EventTaskCompleted:
		if e.Reason == routing.ReasonAutoCloseSilent {
			s.system(ctx, conv, "由于长时间未收到您的消息，本次会话已结束 · The chat was closed after a period of silence")
		} else {
			s.system(ctx, conv, "会话已结束 · The conversation has ended")
		}
		s.toAgents(ctx, conv, Frame{Type: "conversation", Conversation: conv})
	}
	if ch != nil {
		ch.Routed(ctx, conv, e)
	}
}
