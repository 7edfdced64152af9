// Package acd (automatic contact distribution) runs the routing engine for
// the hub: one routing.Engine per tenant, configured from the skill groups
// and agents of the accounts service, with every event persisted (so
// reports can be computed from events alone), task and agent state kept in
// the store so a restart returns queued conversations to their queues in
// their original order and rebuilds agent states, a timer goroutine per
// engine that calls Tick exactly when something falls due, and a live
// stream of queue and agent state for the inbox and the wallboard.
package acd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/routing"
)

// Directory is what acd needs of the accounts service.
type Directory interface {
	ListGroups(ctx context.Context, includeDisabled bool) ([]accounts.Group, error)
	GetGroup(ctx context.Context, id accounts.GroupID) (*accounts.Group, error)
	ListUsers(ctx context.Context, q accounts.UserQuery) ([]accounts.User, error)
	GetUser(ctx context.Context, id accounts.UserID) (*accounts.User, error)
}

// Options tune the service.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Engine is the template of every tenant's engine options (Now,
	// FirstSeq and Outbox are set by the service).
	Engine routing.Options
	// PresenceGrace, when not zero, sets Engine.PresenceGrace: how long an
	// agent whose last live stream (/api/v1/stream) closed, or who was
	// restored after a restart, keeps their state and work before being
	// signed out (default routing.DefaultPresenceGrace, 30 s). They are
	// offered nothing new meanwhile.
	PresenceGrace time.Duration
}

// Service owns the tenants' engines and their timer goroutines.
type Service struct {
	dir  Directory
	b    Backend
	log  *slog.Logger
	now  func() time.Time
	tmpl routing.Options

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	tenants map[store.TenantID]*tenantEngine
	loading map[store.TenantID]*tenantLoad // engines being loaded (engine)

	lmu       sync.RWMutex
	listeners []Listener

	// inStep, when set (InStep), runs each step's write and the step
	// hooks in one store transaction.
	inStep func(ctx context.Context, fn func(ctx context.Context) error) error
	hooks  []StepHook

	stored atomic.Uint64 // events committed to the store
}

// EventsStored counts the routing events committed to the store since the
// service started (hub_routing_events_stored_total).
func (s *Service) EventsStored() uint64 { return s.stored.Load() }

// StepHook stores what follows from a step's events in the step's own
// transaction (the conversation's new status when an offer is accepted):
// ctx carries the transaction, so the hook's writes join it. It runs with
// the commit lock held: it must only write, never call the Service. A
// failed hook write is the hook's to report; the step is stored anyway.
type StepHook func(ctx context.Context, tenant store.TenantID, evs []routing.Event)

// InStep makes every routing step one transaction with what its hooks
// store: run runs fn in one transaction, with a ctx that carries it. Call
// it before the first step.
func (s *Service) InStep(run func(ctx context.Context, fn func(ctx context.Context) error) error, hooks ...StepHook) {
	s.inStep = run
	s.hooks = hooks
}

// Listener receives every committed batch of events of a tenant, in Seq
// order, after they are persisted. It is called with the commit lock held,
// so it must not block and must not call back into the Service: hand the
// events to your own goroutine.
type Listener func(tenant store.TenantID, evs []routing.Event)

// Listen registers l for every tenant's events.
func (s *Service) Listen(l Listener) {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	s.listeners = append(s.listeners, l)
}

type tenantEngine struct {
	id   store.TenantID
	eng  *routing.Engine
	wake chan struct{}
	// pmu serializes commits so the store and subscribers see events in
	// Seq order.
	pmu   sync.Mutex
	subMu sync.Mutex
	subs  map[*subscriber]struct{}
	conns map[routing.AgentID]int // open live connections per agent

	// evicted (under pmu): a step of this engine failed to commit, so the
	// engine is ahead of the store; it is dropped (stop ends its timer
	// goroutine) and the tenant's next call loads a fresh one from the
	// store.
	evicted bool
	stop    chan struct{}
}

// errReloading answers a call that raced with the eviction of its engine.
var errReloading = errors.New("routing is reloading after a failed write: try again")

// evict drops te after a failed commit (te.pmu held).
func (s *Service) evict(te *tenantEngine) {
	if te.evicted {
		return
	}
	te.evicted = true
	s.mu.Lock()
	if s.tenants[te.id] == te {
		delete(s.tenants, te.id)
	}
	s.mu.Unlock()
	close(te.stop)
	te.closeSubs()
	s.log.Error("routing engine dropped after a failed write; it is loaded again from the store", "tenant", te.id)
}

// New returns the service over the backend b. Close stops the timer
// goroutines.
func New(ctx context.Context, b Backend, dir Directory, o Options) (*Service, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PresenceGrace != 0 {
		o.Engine.PresenceGrace = o.PresenceGrace
	}
	s := &Service{dir: dir, b: b, log: o.Logger.With("component", "acd"), now: o.Now,
		tmpl: o.Engine, tenants: map[store.TenantID]*tenantEngine{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Close stops every engine's timer goroutine and live stream.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, te := range s.tenants {
		te.closeSubs()
	}
}

// engine returns the context tenant's engine, loading it on first use.
func (s *Service) engine(ctx context.Context) (*tenantEngine, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return nil, store.ErrNoTenant
	}
	s.mu.Lock()
	if te := s.tenants[t]; te != nil {
		s.mu.Unlock()
		return te, nil
	}
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return nil, errors.New("acd: closed")
	}
	// One tenant's engine loads outside the lock: the other tenants go on
	// meanwhile, and callers for this tenant wait for the one load.
	if l := s.loading[t]; l != nil {
		s.mu.Unlock()
		select {
		case <-l.done:
			return l.te, l.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	l := &tenantLoad{done: make(chan struct{})}
	if s.loading == nil {
		s.loading = map[store.TenantID]*tenantLoad{}
	}
	s.loading[t] = l
	s.mu.Unlock()

	te, err := s.load(store.WithTenant(context.WithoutCancel(ctx), t), t)
	if err != nil {
		err = fmt.Errorf("acd: load routing of tenant %s: %w", t, err)
		te = nil
	}
	s.mu.Lock()
	delete(s.loading, t)
	if err == nil && s.ctx.Err() != nil {
		err, te = errors.New("acd: closed"), nil
	}
	if err == nil {
		s.tenants[t] = te
		s.wg.Add(1)
		go s.drive(te)
	}
	s.mu.Unlock()
	l.te, l.err = te, err
	close(l.done)
	return te, err
}

// tenantLoad is a tenant's engine being loaded: done closes when te or err
// is set.
type tenantLoad struct {
	done chan struct{}
	te   *tenantEngine
	err  error
}

func (s *Service) groupSettings(ctx context.Context, id string) (GroupSettings, error) {
	return s.b.GroupSettings(ctx, id)
}

func (s *Service) agentSettings(ctx context.Context, id string) (AgentSettings, error) {
	return s.b.AgentSettings(ctx, id)
}

func (s *Service) load(ctx context.Context, t store.TenantID) (*tenantEngine, error) {
	o := s.tmpl
	o.Now = s.now
	o.Outbox = false
	last, err := s.b.LastSeq(ctx)
	if err != nil {
		return nil, err
	}
	if last > 0 {
		o.FirstSeq = last + 1
	}
	eng, err := routing.New(o)
	if err != nil {
		return nil, err
	}
	te := &tenantEngine{id: t, eng: eng, wake: make(chan struct{}, 1), subs: map[*subscriber]struct{}{}, conns: map[routing.AgentID]int{}, stop: make(chan struct{})}
	groups, err := s.dir.ListGroups(ctx, false)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if err := s.applyGroup(ctx, te, g.ID); err != nil {
			s.log.Warn("skill group left out of routing", "tenant", t, "group", g.ID, "err", err)
		}
	}
	users, err := s.dir.ListUsers(ctx, accounts.UserQuery{})
	if err != nil {
		return nil, err
	}
	for i := range users {
		if err := s.applyAgent(ctx, te, &users[i]); err != nil {
			s.log.Warn("agent left out of routing", "tenant", t, "agent", users[i].ID, "err", err)
		}
	}
	if err := eng.BeginRestore(); err != nil {
		return nil, err
	}
	agents, err := s.b.ActiveAgents(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range agents {
		if err := eng.RestoreAgent(a); err != nil {
			s.log.Warn("agent state not restored", "agent", a.ID, "err", err)
		}
	}
	tasks, err := s.b.LiveTasks(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range tasks {
		spec := d.Spec
		if d.Status == routing.TaskAssigned && len(d.Agents) == 1 {
			if err := eng.RestoreAssigned(spec, d.Agents[0], d.AcceptedAt); err == nil {
				continue
			} else {
				s.log.Warn("assigned task re-queued", "task", spec.ID, "err", err)
			}
		}
		if _, _, err := eng.Enqueue(spec); err != nil {
			s.log.Warn("task not restored", "task", spec.ID, "err", err)
		}
	}
	evs, err := eng.EndRestore()
	if err != nil {
		return nil, err
	}
	if err := s.commit(ctx, te, evs, nil); err != nil {
		return nil, err
	}
	te.pmu.Lock()
	evicted := te.evicted // a step of the load failed to commit
	te.pmu.Unlock()
	if evicted {
		return nil, errReloading
	}
	s.log.Info("routing loaded", "tenant", t, "groups", len(groups), "agents", len(users), "agents_restored", len(agents), "tasks_restored", len(tasks))
	return te, nil
}

func (s *Service) applyGroup(ctx context.Context, te *tenantEngine, id accounts.GroupID) error {
	gs, err := s.groupSettings(ctx, string(id))
	if err != nil {
		return err
	}
	cfg, err := gs.toGroupConfig(routing.GroupID(id))
	if err != nil {
		return err
	}
	return s.step(ctx, te, nil, func() ([]routing.Event, error) { return te.eng.UpsertGroup(cfg) })
}

func (s *Service) applyAgent(ctx context.Context, te *tenantEngine, u *accounts.User) error {
	aid := routing.AgentID(u.ID)
	if u.Disabled || len(u.Groups) == 0 {
		if _, err := te.eng.Agent(aid); err == nil {
			return s.step(ctx, te, nil, func() ([]routing.Event, error) { return te.eng.RemoveAgent(aid) })
		}
		return nil
	}
	as, err := s.agentSettings(ctx, string(u.ID))
	if err != nil {
		return err
	}
	groups := map[routing.GroupID]int{}
	for _, m := range u.Groups {
		groups[routing.GroupID(m.GroupID)] = m.Level
	}
	return s.step(ctx, te, nil, func() ([]routing.Event, error) { return te.eng.UpsertAgent(as.toAgentConfig(aid, groups)) })
}

// drive calls Tick whenever the engine's next deadline falls due.
func (s *Service) drive(te *tenantEngine) {
	defer s.wg.Done()
	ctx := store.WithTenant(context.Background(), te.id)
	for {
		wait := time.Hour
		if at, ok := te.eng.NextDeadline(); ok {
			wait = max(time.Until(at), 0)
		}
		t := time.NewTimer(wait)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-te.stop:
			t.Stop()
			return
		case <-te.wake:
			t.Stop()
			continue
		case <-t.C:
		}
		_ = s.step(ctx, te, nil, func() ([]routing.Event, error) { return te.eng.Tick(s.now()), nil })
	}
}

// extra is what a commit stores besides the events and the state they
// changed: the specs of tasks the step enqueued, settings saved with it.
type extra struct {
	specs map[routing.TaskID]routing.TaskSpec
	group *GroupSettingsChange
	agent *AgentSettingsChange
}

// commit persists events and the state they changed (one Backend.Commit:
// one transaction on the embedded store), then publishes them to live
// subscribers and wakes the timer goroutine. It is called after every
// engine call, before the API answers. x may be nil.
func (s *Service) commit(ctx context.Context, te *tenantEngine, evs []routing.Event, x *extra) error {
	te.pmu.Lock()
	defer te.pmu.Unlock()
	return s.commitLocked(ctx, te, evs, x)
}

// step makes one engine call (call) and commits its events as one ordered
// step: the commit lock is held from the call to the publication, so a
// timer tick and an API call can never store or publish their events out
// of the order the engine made them. A call that fails with no events
// commits nothing.
func (s *Service) step(ctx context.Context, te *tenantEngine, x *extra, call func() ([]routing.Event, error)) error {
	te.pmu.Lock()
	defer te.pmu.Unlock()
	if te.evicted {
		return errReloading
	}
	evs, err := call()
	if err != nil && len(evs) == 0 {
		return err
	}
	if cerr := s.commitLocked(ctx, te, evs, x); err == nil {
		err = cerr
	}
	return err
}

// commitLocked is commit with te.pmu held.
func (s *Service) commitLocked(ctx context.Context, te *tenantEngine, evs []routing.Event, x *extra) error {
	if x == nil {
		x = &extra{}
	}
	if len(evs) == 0 && len(x.specs) == 0 && x.group == nil && x.agent == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	tasks := map[routing.TaskID]routing.EventType{}
	var taskOrder []routing.TaskID
	accepted := map[routing.TaskID]time.Time{}
	agents := map[routing.AgentID]bool{}
	var agentOrder []routing.AgentID
	groups := map[routing.GroupID]bool{}
	for _, e := range evs {
		if e.TaskID != "" {
			if _, seen := tasks[e.TaskID]; !seen {
				taskOrder = append(taskOrder, e.TaskID)
			}
			tasks[e.TaskID] = e.Type
			if e.Type == routing.EventOfferAccepted {
				accepted[e.TaskID] = e.Time
			}
		}
		for _, a := range []routing.AgentID{e.AgentID, e.FromAgent, e.ToAgent} {
			if a != "" && !agents[a] {
				agents[a] = true
				agentOrder = append(agentOrder, a)
			}
		}
		for _, g := range []routing.GroupID{e.GroupID, e.FromGroup, e.ToGroup} {
			if g != "" {
				groups[g] = true
			}
		}
	}
	st := Step{Events: evs, Group: x.group, Agent: x.agent}
	now := s.now().UTC()
	for _, id := range taskOrder {
		u := TaskUpdate{ID: id, UpdatedAt: now, AcceptedAt: accepted[id]}
		if snap, err := te.eng.Task(id); err == nil {
			u.Status, u.Group, u.Agents = snap.Status, snap.Group, snap.Agents
		} else {
			u.Status = terminalStatus(tasks[id])
		}
		if sp, ok := x.specs[id]; ok {
			sp.Seq = firstSeq(evs, id)
			u.Spec = &sp
		}
		st.Tasks = append(st.Tasks, u)
	}
	for _, id := range agentOrder {
		snap, err := te.eng.Agent(id)
		if err != nil {
			continue
		}
		until := snap.WrapUpUntil
		if snap.State == routing.StateBreak {
			until = snap.BreakUntil
		}
		st.Agents = append(st.Agents, routing.AgentRestore{ID: id, State: snap.State, Reason: snap.Reason, Since: snap.Since,
			Until: until, HandledToday: snap.HandledToday, PendingDispositions: append([]routing.TaskID{}, snap.PendingDispositions...)})
	}
	var err error
	if s.inStep == nil {
		err = s.b.Commit(ctx, st)
	} else {
		err = s.inStep(ctx, func(ctx context.Context) error {
			if err := s.b.Commit(ctx, st); err != nil {
				return err
			}
			if len(evs) > 0 {
				for _, h := range s.hooks {
					h(ctx, te.id, evs)
				}
			}
			return nil
		})
	}
	if err != nil {
		// Nothing of the step is stored: nobody hears of it, and the
		// engine that made it goes.
		s.log.Error("routing state not persisted", "tenant", te.id, "err", err)
		s.evict(te)
		return err
	}
	s.stored.Add(uint64(len(evs)))
	te.publish(evs, agents, groups)
	if len(evs) > 0 {
		s.lmu.RLock()
		for _, l := range s.listeners {
			l(te.id, evs)
		}
		s.lmu.RUnlock()
	}
	select {
	case te.wake <- struct{}{}:
	default:
	}
	return err
}

func firstSeq(evs []routing.Event, id routing.TaskID) uint64 {
	for _, e := range evs {
		if e.TaskID == id {
			return e.Seq
		}
	}
	return 0
}

func terminalStatus(last routing.EventType) routing.TaskStatus {
	switch last {
	case routing.EventTaskAbandoned:
		return routing.TaskAbandoned
	case routing.EventTaskOverflowed:
		return routing.TaskOverflowed
	default:
		return routing.TaskCompleted
	}
}
