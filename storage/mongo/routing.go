package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/omnihub/hub/internal/acd"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/routing"
)

// Routing is the MongoDB backend of acd.Backend: collections
// routing_events, routing_tasks, routing_agents, routing_group_settings and
// routing_agent_settings (tenant-scoped). MongoDB gives no transaction
// here: a step's writes are made in order (events, tasks, agents,
// settings), each idempotent, and every one is attempted even when an
// earlier one failed (the first error is returned).
//
// Queries and their indexes:
//   - last event Seq, events after a Seq: (tenant, seq)
//   - events of a task / of an agent: (tenant, taskid, seq), (tenant, agentid, seq)
//   - live tasks in Seq order: (tenant, status, seq)
//   - agents not signed out: (tenant, state)
//   - tasks, agents and settings by id: _id ("<tenant>/<id>")
type Routing struct {
	events, tasks, agents, groupCfg, agentCfg *store.Collection
}

var _ acd.Backend = (*Routing)(nil)

// NewRouting creates the routing indexes and returns the backend.
func NewRouting(ctx context.Context, db *store.DB) (*Routing, error) {
	r := &Routing{events: db.Collection("routing_events"), tasks: db.Collection("routing_tasks"),
		agents: db.Collection("routing_agents"), groupCfg: db.Collection("routing_group_settings"),
		agentCfg: db.Collection("routing_agent_settings")}
	t := bson.E{Key: "tenant", Value: 1}
	if err := r.events.EnsureIndexes(ctx,
		mongo.IndexModel{Keys: bson.D{t, {Key: "seq", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{t, {Key: "taskid", Value: 1}, {Key: "seq", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{t, {Key: "agentid", Value: 1}, {Key: "seq", Value: 1}}},
	); err != nil {
		return nil, err
	}
	if err := r.tasks.EnsureIndexes(ctx, mongo.IndexModel{Keys: bson.D{t, {Key: "status", Value: 1}, {Key: "seq", Value: 1}}}); err != nil {
		return nil, err
	}
	if err := r.agents.EnsureIndexes(ctx, mongo.IndexModel{Keys: bson.D{t, {Key: "state", Value: 1}}}); err != nil {
		return nil, err
	}
	return r, nil
}

// routingEventDoc is a stored routing event. The event is inlined with the
// driver's default field names (lower-cased Go names: seq, type, taskid,
// agentid...).
type routingEventDoc struct {
	ID            string `bson:"_id"`
	routing.Event `bson:",inline"`
}

// routingTaskDoc is a task's stored state.
type routingTaskDoc struct {
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

// routingAgentDoc is an agent's stored state.
type routingAgentDoc struct {
	ID                  string    `bson:"_id"`
	State               string    `bson:"state"`
	Reason              string    `bson:"reason"`
	Since               time.Time `bson:"since"`
	Until               time.Time `bson:"until,omitempty"`
	HandledToday        int       `bson:"handled_today"`
	PendingDispositions []string  `bson:"pending_dispositions"`
}

type routingSettingsDoc[T any] struct {
	ID       string `bson:"_id"`
	Settings T      `bson:"settings"`
}

// routingKey is the store id of a task's, an agent's or a group's routing
// document, "<tenant>/<id>". Ids may come from requests (POST
// /routing/tasks names its own task), so a document keyed by the bare id
// could already exist for another tenant: the store then refuses the write
// and the state would silently never be saved. Ids "<tenant>/..." are
// reserved to that tenant by internal/store. Documents stored under the
// bare id by earlier versions are still read, and move on their next write
// (settings) or at load (tasks and agents).
func routingKey(ctx context.Context, id string) (key, t string, err error) {
	tn, ok := store.Tenant(ctx)
	if !ok {
		return "", "", store.ErrNoTenant
	}
	return string(tn) + "/" + id, string(tn), nil
}

// Commit implements acd.Backend.
func (r *Routing) Commit(ctx context.Context, st acd.Step) error {
	if _, _, err := routingKey(ctx, ""); err != nil {
		return err
	}
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(st.Events) > 0 {
		t, _ := store.Tenant(ctx)
		docs := make([]any, len(st.Events))
		for i, e := range st.Events {
			docs[i] = routingEventDoc{ID: fmt.Sprintf("%s/%020d", t, e.Seq), Event: e}
		}
		keep(r.events.InsertMany(ctx, docs))
	}
	for _, u := range st.Tasks {
		key, _, _ := routingKey(ctx, string(u.ID))
		agents := make([]string, len(u.Agents))
		for i, a := range u.Agents {
			agents[i] = string(a)
		}
		set := bson.M{"status": string(u.Status), "group": string(u.Group), "agents": agents, "updated_at": u.UpdatedAt}
		if !u.AcceptedAt.IsZero() {
			set["accepted_at"] = u.AcceptedAt
		}
		upd := bson.M{"$set": set}
		if sp := u.Spec; sp != nil {
			upd["$setOnInsert"] = bson.M{"channel": string(sp.Channel), "priority": sp.Priority, "enqueued_at": sp.EnqueuedAt,
				"seq": sp.Seq, "contact": string(sp.Contact), "last_agent": string(sp.LastAgent), "required_level": sp.RequiredLevel}
		}
		_, err := r.tasks.UpdateOne(ctx, bson.M{"_id": key}, upd, options.UpdateOne().SetUpsert(true))
		keep(err)
	}
	for _, a := range st.Agents {
		key, _, _ := routingKey(ctx, string(a.ID))
		pd := []string{}
		for _, t := range a.PendingDispositions {
			pd = append(pd, string(t))
		}
		_, err := r.agents.UpdateOne(ctx, bson.M{"_id": key}, bson.M{"$set": bson.M{"state": string(a.State), "reason": a.Reason,
			"since": a.Since, "until": a.Until, "handled_today": a.HandledToday, "pending_dispositions": pd}}, options.UpdateOne().SetUpsert(true))
		keep(err)
	}
	if g := st.Group; g != nil {
		keep(saveRoutingSettings(ctx, r.groupCfg, g.ID, g.Settings))
	}
	if a := st.Agent; a != nil {
		keep(saveRoutingSettings(ctx, r.agentCfg, a.ID, a.Settings))
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// LastSeq implements acd.Backend.
func (r *Routing) LastSeq(ctx context.Context) (uint64, error) {
	var last []routingEventDoc
	if err := r.events.FindAll(ctx, nil, &last, options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(1)); err != nil {
		return 0, err
	}
	if len(last) == 0 {
		return 0, nil
	}
	return last[0].Seq, nil
}

// LiveTasks implements acd.Backend. A task stored by an earlier version
// under its bare id moves to its tenant's key.
func (r *Routing) LiveTasks(ctx context.Context) ([]acd.TaskRecord, error) {
	_, t, err := routingKey(ctx, "")
	if err != nil {
		return nil, err
	}
	live := bson.A{}
	for _, s := range acd.LiveStatuses {
		live = append(live, string(s))
	}
	var docs []routingTaskDoc
	if err := r.tasks.FindAll(ctx, bson.M{"status": bson.M{"$in": live}}, &docs, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}})); err != nil {
		return nil, err
	}
	out := make([]acd.TaskRecord, 0, len(docs))
	for _, d := range docs {
		id, ok := strings.CutPrefix(d.ID, t+"/")
		if !ok {
			id = d.ID
			d.ID = t + "/" + id
			if err := r.tasks.InsertOne(ctx, d); err != nil && !store.IsDuplicateKey(err) {
				return nil, fmt.Errorf("move task %s: %w", id, err)
			}
			if _, err := r.tasks.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
				return nil, fmt.Errorf("move task %s: %w", id, err)
			}
		}
		rec := acd.TaskRecord{Spec: routing.TaskSpec{ID: routing.TaskID(id), Channel: routing.Channel(d.Channel), Group: routing.GroupID(d.Group),
			Priority: d.Priority, EnqueuedAt: d.EnqueuedAt, Seq: d.Seq, Contact: routing.ContactID(d.Contact),
			LastAgent: routing.AgentID(d.LastAgent), RequiredLevel: d.RequiredLevel},
			Status: routing.TaskStatus(d.Status), AcceptedAt: d.AcceptedAt, UpdatedAt: d.UpdatedAt}
		for _, a := range d.Agents {
			rec.Agents = append(rec.Agents, routing.AgentID(a))
		}
		out = append(out, rec)
	}
	return out, nil
}

// ActiveAgents implements acd.Backend. An agent stored by an earlier
// version under the bare id moves to its tenant's key, unless a newer
// state is stored there already.
func (r *Routing) ActiveAgents(ctx context.Context) ([]routing.AgentRestore, error) {
	_, t, err := routingKey(ctx, "")
	if err != nil {
		return nil, err
	}
	var docs []routingAgentDoc
	if err := r.agents.FindAll(ctx, bson.M{"state": bson.M{"$ne": string(routing.StateSignedOut)}}, &docs); err != nil {
		return nil, err
	}
	byID := map[string]routingAgentDoc{}
	var order []string
	var legacy []routingAgentDoc
	for _, d := range docs {
		id, ok := strings.CutPrefix(d.ID, t+"/")
		if !ok {
			legacy = append(legacy, d)
			continue
		}
		byID[id] = d
		order = append(order, id)
	}
	for _, d := range legacy {
		id := d.ID
		if _, ok := byID[id]; !ok {
			nd := d
			nd.ID = t + "/" + id
			switch err := r.agents.InsertOne(ctx, nd); {
			case err == nil:
				byID[id] = d
				order = append(order, id)
			case !store.IsDuplicateKey(err):
				return nil, fmt.Errorf("move agent %s: %w", id, err)
			}
		}
		if _, err := r.agents.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
			return nil, fmt.Errorf("move agent %s: %w", id, err)
		}
	}
	out := make([]routing.AgentRestore, 0, len(order))
	for _, id := range order {
		d := byID[id]
		a := routing.AgentRestore{ID: routing.AgentID(id), State: routing.AgentState(d.State), Reason: d.Reason, Since: d.Since,
			Until: d.Until, HandledToday: d.HandledToday}
		for _, p := range d.PendingDispositions {
			a.PendingDispositions = append(a.PendingDispositions, routing.TaskID(p))
		}
		out = append(out, a)
	}
	return out, nil
}

// Events implements acd.Backend.
func (r *Routing) Events(ctx context.Context, q acd.EventQuery) ([]routing.Event, error) {
	f := bson.M{}
	if q.Task != "" {
		f["taskid"] = string(q.Task)
	}
	if q.Agent != "" {
		f["agentid"] = string(q.Agent)
	}
	if q.AfterSeq > 0 {
		f["seq"] = bson.M{"$gt": q.AfterSeq}
	}
	o := options.Find().SetSort(bson.D{{Key: "seq", Value: 1}})
	if q.Limit > 0 {
		o.SetLimit(int64(q.Limit))
	}
	var docs []routingEventDoc
	if err := r.events.FindAll(ctx, f, &docs, o); err != nil {
		return nil, err
	}
	out := make([]routing.Event, len(docs))
	for i, d := range docs {
		out[i] = d.Event
	}
	return out, nil
}

// GroupSettings implements acd.Backend.
func (r *Routing) GroupSettings(ctx context.Context, id string) (acd.GroupSettings, error) {
	return loadRoutingSettings[acd.GroupSettings](ctx, r.groupCfg, id)
}

// AgentSettings implements acd.Backend.
func (r *Routing) AgentSettings(ctx context.Context, id string) (acd.AgentSettings, error) {
	return loadRoutingSettings[acd.AgentSettings](ctx, r.agentCfg, id)
}

func loadRoutingSettings[T any](ctx context.Context, c *store.Collection, id string) (T, error) {
	var d routingSettingsDoc[T]
	key, _, err := routingKey(ctx, id)
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

func saveRoutingSettings(ctx context.Context, c *store.Collection, id string, v any) error {
	key, _, err := routingKey(ctx, id)
	if err != nil {
		return err
	}
	res, err := c.UpdateOne(ctx, bson.M{"_id": key}, bson.M{"$set": bson.M{"settings": v}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 && res.UpsertedCount == 0 {
		return fmt.Errorf("routing: settings of %s not saved", id) // cannot happen: the key is the tenant's
	}
	// Drop the copy under the bare id, if any (only the context tenant's).
	_, err = c.DeleteOne(ctx, bson.M{"_id": id})
	return err
}
