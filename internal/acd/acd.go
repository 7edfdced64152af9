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
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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
	dir                                       Directory
	events, tasks, agents, groupCfg, agentCfg *store.Collection
	log                                       *slog.Logger
	now                                       func() time.Time
	tmpl                                      routing.Options

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	tenants map[store.TenantID]*tenantEngine

	lmu       sync.RWMutex
	listeners []Listener
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
}

// New prepares the collections. Close stops the timer goroutines.
func New(ctx context.Context, db *store.DB, dir Directory, o Options) (*Service, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PresenceGrace != 0 {
		o.Engine.PresenceGrace = o.PresenceGrace
	}
	s := &Service{dir: dir, events: db.Collection("routing_events"), tasks: db.Collection("routing_tasks"),
		agents: db.Collection("routing_agents"), groupCfg: db.Collection("routing_group_settings"),
		agentCfg: db.Collection("routing_agent_settings"), log: o.Logger.With("component", "acd"), now: o.Now,
		tmpl: o.Engine, tenants: map[store.TenantID]*tenantEngine{}}
	t := bson.E{Key: "tenant", Value: 1}
	if err := s.events.EnsureIndexes(ctx,
		mongo.IndexModel{Keys: bson.D{t, {Key: "seq", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{t, {Key: "taskid", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{t, {Key: "agentid", Value: 1}, {Key: "time", Value: 1}}},
	); err != nil {
		return nil, err
	}
	if err := s.tasks.EnsureIndexes(ctx, mongo.IndexModel{Keys: bson.D{t, {Key: "status", Value: 1}}}); err != nil {
		return nil, err
	}
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
	defer s.mu.Unlock()
	if te := s.tenants[t]; te != nil {
		return te, nil
	}
	if s.ctx.Err() != nil {
		return nil, errors.New("acd: closed")
	}
	te, err := s.load(store.WithTenant(context.WithoutCancel(ctx), t), t)
	if err != nil {
		return nil, fmt.Errorf("acd: load routing of tenant %s: %w", t, err)
	}
	s.tenants[t] = te
	s.wg.Add(1)
	go s.drive(te)
	return te, nil
}

// eventDoc is a persisted routing event. The event is inlined with the
// driver's default field names (lower-cased Go names: seq, type, taskid,
// agentid...).
type eventDoc struct {
	ID            string `bson:"_id"`
	routing.Event `bson:",inline"`
}

// taskDoc is a task's persisted state, enough to restore it.
type taskDoc struct {
	ID            string    `bson:"_id"`
	Channel       string    `bson:"channel"`
	Group         string    `bson:"group"`
	Priority      int       `bson:"priority"` // base priority, before boosts
	EnqueuedAt    time.Time `bson:"enqueued_at"`
	Seq           uint64    `bson:"seq"`
	Contact       string    `bson:"contact,omitempty"`
	LastAgent     string    `bson:"last_agent,omitempty"`
	RequiredLevel int       `bson:"required_level,omitempty"`
	Status        string    `bson:"status"`
	Agents        []string  `bson:"agents"`
	AcceptedAt    time.Time `bson:"accepted_at,omitempty"`
	UpdatedAt     time.Time `bson:"updated_at"`
}

// agentDoc is an agent's persisted state.
type agentDoc struct {
	ID                  string    `bson:"_id"`
	State               string    `bson:"state"`
	Reason              string    `bson:"reason"`
	Since               time.Time `bson:"since"`
	Until               time.Time `bson:"until,omitempty"`
	HandledToday        int       `bson:"handled_today"`
	PendingDispositions []string  `bson:"pending_dispositions"`
}

type settingsDoc[T any] struct {
	ID       string `bson:"_id"`
	Settings T      `bson:"settings"`
}

// settingsKey is the store id of a group's or an agent's routing settings,
// "<tenant>/<id>". Group and user ids come from requests, so a document
// keyed by the bare id could be created first by another tenant, after
// which the owner could never write its own (the store refuses a write by
// id to another tenant's document); ids "<tenant>/..." are reserved to
// that tenant by internal/store. Settings stored under the bare id by an
// earlier version are still read (loadSettings) and move on the next save
// (saveSettings).
func settingsKey(ctx context.Context, id string) (string, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return "", store.ErrNoTenant
	}
	return string(t) + "/" + id, nil
}

func loadSettings[T any](ctx context.Context, c *store.Collection, id string) (T, error) {
	var d settingsDoc[T]
	key, err := settingsKey(ctx, id)
	if err != nil {
		return d.Settings, err
	}
	err = c.FindOne(ctx, bson.M{"_id": key}, &d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = c.FindOne(ctx, bson.M{"_id": id}, &d)
	}
	if errors.Is(err, mongo.ErrNoDocuments) {
		return d.Settings, nil
	}
	return d.Settings, err
}

func saveSettings(ctx context.Context, c *store.Collection, id string, v any) error {
	key, err := settingsKey(ctx, id)
	if err != nil {
		return err
	}
	res, err := c.UpdateOne(ctx, bson.M{"_id": key}, bson.M{"$set": bson.M{"settings": v}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 && res.UpsertedCount == 0 {
		return fmt.Errorf("acd: settings of %s not saved", id) // cannot happen: the key is the tenant's
	}
	// Drop the copy under the bare id, if any (only the context tenant's).
	_, err = c.DeleteOne(ctx, bson.M{"_id": id})
	return err
}

func (s *Service) groupSettings(ctx context.Context, id string) (GroupSettings, error) {
	return loadSettings[GroupSettings](ctx, s.groupCfg, id)
}

func (s *Service) agentSettings(ctx context.Context, id string) (AgentSettings, error) {
	return loadSettings[AgentSettings](ctx, s.agentCfg, id)
}

func (s *Service) load(ctx context.Context, t store.TenantID) (*tenantEngine, error) {
	o := s.tmpl
	o.Now = s.now
	o.Outbox = false
	var last []eventDoc
	if err := s.events.FindAll(ctx, nil, &last, options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(1)); err != nil {
		return nil, err
	}
	if len(last) > 0 {
		o.FirstSeq = last[0].Seq + 1
	}
	eng, err := routing.New(o)
	if err != nil {
		return nil, err
	}
	te := &tenantEngine{id: t, eng: eng, wake: make(chan struct{}, 1), subs: map[*subscriber]struct{}{}, conns: map[routing.AgentID]int{}}
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
	var agents []agentDoc
	if err := s.agents.FindAll(ctx, bson.M{"state": bson.M{"$ne": string(routing.StateSignedOut)}}, &agents); err != nil {
		return nil, err
	}
	for _, a := range agents {
		r := routing.AgentRestore{ID: routing.AgentID(a.ID), State: routing.AgentState(a.State), Reason: a.Reason, Since: a.Since, Until: a.Until, HandledToday: a.HandledToday}
		for _, p := range a.PendingDispositions {
			r.PendingDispositions = append(r.PendingDispositions, routing.TaskID(p))
		}
		if err := eng.RestoreAgent(r); err != nil {
			s.log.Warn("agent state not restored", "agent", a.ID, "err", err)
		}
	}
	var tasks []taskDoc
	live := bson.A{string(routing.TaskQueued), string(routing.TaskOffered), string(routing.TaskAssigned)}
	if err := s.tasks.FindAll(ctx, bson.M{"status": bson.M{"$in": live}}, &tasks, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}})); err != nil {
		return nil, err
	}
	for _, d := range tasks {
		if d.ID, err = s.migrateTask(ctx, t, d); err != nil {
			return nil, err
		}
		spec := d.spec()
		if d.Status == string(routing.TaskAssigned) && len(d.Agents) == 1 {
			if err := eng.RestoreAssigned(spec, routing.AgentID(d.Agents[0]), d.AcceptedAt); err == nil {
				continue
			} else {
				s.log.Warn("assigned task re-queued", "task", d.ID, "err", err)
			}
		}
		if _, _, err := eng.Enqueue(spec); err != nil {
			s.log.Warn("task not restored", "task", d.ID, "err", err)
		}
	}
	evs, err := eng.EndRestore()
	if err != nil {
		return nil, err
	}
	s.commit(ctx, te, evs, nil)
	s.log.Info("routing loaded", "tenant", t, "groups", len(groups), "agents", len(users), "agents_restored", len(agents), "tasks_restored", len(tasks))
	return te, nil
}

// taskKey is the store id of a task's state, "<tenant>/<task>". Task ids
// may come from a request (POST /routing/tasks names its own), so a
// document keyed by the bare id could already exist for another tenant:
// the store then refuses the write (ids are checked against the document's
// tenant) and the task's state would silently never be saved. Ids
// "<tenant>/..." are reserved to that tenant by internal/store.
func taskKey(t store.TenantID, id routing.TaskID) string { return string(t) + "/" + string(id) }

// migrateTask returns the task id of a live task's document; one stored by
// an earlier version under the bare task id moves to taskKey.
func (s *Service) migrateTask(ctx context.Context, t store.TenantID, d taskDoc) (string, error) {
	if id, ok := strings.CutPrefix(d.ID, string(t)+"/"); ok {
		return id, nil
	}
	id := d.ID
	d.ID = taskKey(t, routing.TaskID(id))
	if err := s.tasks.InsertOne(ctx, d); err != nil && !store.IsDuplicateKey(err) {
		return "", fmt.Errorf("move task %s: %w", id, err)
	}
	if _, err := s.tasks.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
		return "", fmt.Errorf("move task %s: %w", id, err)
	}
	return id, nil
}

func (d taskDoc) spec() routing.TaskSpec {
	return routing.TaskSpec{ID: routing.TaskID(d.ID), Channel: routing.Channel(d.Channel), Group: routing.GroupID(d.Group),
		Priority: d.Priority, EnqueuedAt: d.EnqueuedAt, Seq: d.Seq, Contact: routing.ContactID(d.Contact),
		LastAgent: routing.AgentID(d.LastAgent), RequiredLevel: d.RequiredLevel}
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
	evs, err := te.eng.UpsertGroup(cfg)
	if err != nil {
		return err
	}
	s.commit(ctx, te, evs, nil)
	return nil
}

func (s *Service) applyAgent(ctx context.Context, te *tenantEngine, u *accounts.User) error {
	aid := routing.AgentID(u.ID)
	if u.Disabled || len(u.Groups) == 0 {
		if _, err := te.eng.Agent(aid); err == nil {
			evs, err := te.eng.RemoveAgent(aid)
			s.commit(ctx, te, evs, nil)
			return err
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
	evs, err := te.eng.UpsertAgent(as.toAgentConfig(aid, groups))
	s.commit(ctx, te, evs, nil)
	return err
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
		case <-te.wake:
			t.Stop()
			continue
		case <-t.C:
		}
		s.commit(ctx, te, te.eng.Tick(s.now()), nil)
	}
}

// commit persists events and the state they changed, then publishes them
// to live subscribers and wakes the timer goroutine. It is called after
// every engine call, before the API answers.
func (s *Service) commit(ctx context.Context, te *tenantEngine, evs []routing.Event, specs map[routing.TaskID]routing.TaskSpec) error {
	if len(evs) == 0 && len(specs) == 0 {
		return nil
	}
	te.pmu.Lock()
	defer te.pmu.Unlock()
	ctx = context.WithoutCancel(ctx)
	docs := make([]any, len(evs))
	tasks := map[routing.TaskID]routing.EventType{}
	accepted := map[routing.TaskID]time.Time{}
	agents := map[routing.AgentID]bool{}
	groups := map[routing.GroupID]bool{}
	for i, e := range evs {
		docs[i] = eventDoc{ID: fmt.Sprintf("%s/%020d", te.id, e.Seq), Event: e}
		if e.TaskID != "" {
			tasks[e.TaskID] = e.Type
			if e.Type == routing.EventOfferAccepted {
				accepted[e.TaskID] = e.Time
			}
		}
		for _, a := range []routing.AgentID{e.AgentID, e.FromAgent, e.ToAgent} {
			if a != "" {
				agents[a] = true
			}
		}
		for _, g := range []routing.GroupID{e.GroupID, e.FromGroup, e.ToGroup} {
			if g != "" {
				groups[g] = true
			}
		}
	}
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
			s.log.Error("routing state not persisted", "tenant", te.id, "err", err)
		}
	}
	if len(docs) > 0 {
		keep(s.events.InsertMany(ctx, docs))
	}
	now := s.now().UTC()
	for id, last := range tasks {
		set := bson.M{"updated_at": now}
		if snap, err := te.eng.Task(id); err == nil {
			set["status"] = string(snap.Status)
			set["group"] = string(snap.Group)
			set["agents"] = agentStrings(snap.Agents)
		} else {
			set["status"] = terminalStatus(last)
		}
		if at, ok := accepted[id]; ok {
			set["accepted_at"] = at
		}
		upd := bson.M{"$set": set}
		if sp, ok := specs[id]; ok {
			upd["$setOnInsert"] = bson.M{"channel": string(sp.Channel), "priority": sp.Priority, "enqueued_at": sp.EnqueuedAt,
				"seq": firstSeq(evs, id), "contact": string(sp.Contact), "last_agent": string(sp.LastAgent), "required_level": sp.RequiredLevel}
		}
		_, err := s.tasks.UpdateOne(ctx, bson.M{"_id": taskKey(te.id, id)}, upd, options.UpdateOne().SetUpsert(true))
		keep(err)
	}
	for id := range agents {
		snap, err := te.eng.Agent(id)
		if err != nil {
			continue
		}
		until := snap.WrapUpUntil
		if snap.State == routing.StateBreak {
			until = snap.BreakUntil
		}
		pd := []string{}
		for _, t := range snap.PendingDispositions {
			pd = append(pd, string(t))
		}
		_, err = s.agents.UpdateOne(ctx, bson.M{"_id": string(id)}, bson.M{"$set": bson.M{"state": string(snap.State), "reason": snap.Reason,
			"since": snap.Since, "until": until, "handled_today": snap.HandledToday, "pending_dispositions": pd}}, options.UpdateOne().SetUpsert(true))
		keep(err)
	}
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
	return firstErr
}

func firstSeq(evs []routing.Event, id routing.TaskID) uint64 {
	for _, e := range evs {
		if e.TaskID == id {
			return e.Seq
		}
	}
	return 0
}

func agentStrings(a []routing.AgentID) []string {
	out := make([]string, len(a))
	for i, x := range a {
		out[i] = string(x)
	}
	return out
}

func terminalStatus(last routing.EventType) string {
	switch last {
	case routing.EventTaskAbandoned:
		return string(routing.TaskAbandoned)
	case routing.EventTaskOverflowed:
		return string(routing.TaskOverflowed)
	default:
		return string(routing.TaskCompleted)
	}
}
