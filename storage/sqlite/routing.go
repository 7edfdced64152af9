package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/omnihub/hub/internal/acd"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/routing"
)

// routingSchema: the routing driver's events (append-only, numbered per
// tenant), the state of its tasks and agents, and the routing settings of
// skill groups and agents; the tenant first in every key.
//
// Queries and their indexes:
//   - last event Seq (engine start), events after a Seq: routing_events primary key (tenant, seq)
//   - events of a task: routing_events_task (tenant, task_id, seq)
//   - events of an agent: routing_events_agent (tenant, agent_id, seq)
//   - live tasks in Seq order (task recovery at start): routing_tasks_live,
//     partial on the live statuses, so ended tasks never weigh on it
//   - a task's state (every step): routing_tasks primary key
//   - agents not signed out (start), an agent's state (every step):
//     routing_agents primary key (tenant, id)
//   - settings by group or agent: primary keys (tenant, id)
var routingSchema = sqlitedb.Migration{Domain: "routing", Steps: []string{
	`CREATE TABLE routing_events (tenant TEXT NOT NULL, seq INTEGER NOT NULL, task_id TEXT NOT NULL, agent_id TEXT NOT NULL,
		doc TEXT NOT NULL, PRIMARY KEY (tenant, seq)) WITHOUT ROWID`,
	`CREATE INDEX routing_events_task ON routing_events (tenant, task_id, seq)`,
	`CREATE INDEX routing_events_agent ON routing_events (tenant, agent_id, seq)`,
	`CREATE TABLE routing_tasks (tenant TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL, seq INTEGER NOT NULL,
		grp TEXT NOT NULL, agents TEXT NOT NULL, accepted_at INTEGER, updated_at INTEGER NOT NULL, spec TEXT NOT NULL,
		PRIMARY KEY (tenant, id)) WITHOUT ROWID`,
	`CREATE INDEX routing_tasks_live ON routing_tasks (tenant, seq) WHERE ` + routingLive,
	`CREATE TABLE routing_agents (tenant TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL, doc TEXT NOT NULL,
		PRIMARY KEY (tenant, id)) WITHOUT ROWID`,
	`CREATE TABLE routing_group_settings (tenant TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID`,
	`CREATE TABLE routing_agent_settings (tenant TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID`,
}}

// routingLive is the condition of the partial index routing_tasks_live; the
// live-task query repeats it word for word so SQLite uses that index. It
// names acd.LiveStatuses.
const routingLive = `status IN ('queued', 'offered', 'assigned')`

func init() {
	grows("routing_events", "routing_tasks", "routing_agents", "routing_group_settings", "routing_agent_settings")
}

// Routing is the embedded backend of acd.Backend.
type Routing struct{ db *sqlitedb.DB }

var _ acd.Backend = (*Routing)(nil)

// NewRouting applies the routing schema and returns the backend.
func NewRouting(ctx context.Context, db *sqlitedb.DB) (*Routing, error) {
	if err := db.Migrate(ctx, routingSchema); err != nil {
		return nil, err
	}
	return &Routing{db: db}, nil
}

// routingTaskSpec is the routing_tasks.spec column: what the task was
// enqueued with, written once.
type routingTaskSpec struct {
	Channel       string    `json:"channel"`
	Priority      int       `json:"priority"`
	EnqueuedAt    time.Time `json:"enqueued_at"`
	Contact       string    `json:"contact,omitempty"`
	LastAgent     string    `json:"last_agent,omitempty"`
	RequiredLevel int       `json:"required_level,omitempty"`
}

// routingAgentDoc is the routing_agents.doc column.
type routingAgentDoc struct {
	Reason              string           `json:"reason"`
	Since               time.Time        `json:"since"`
	Until               time.Time        `json:"until"`
	HandledToday        int              `json:"handled_today"`
	PendingDispositions []routing.TaskID `json:"pending_dispositions"`
}

// routingNS is a time column: Unix nanoseconds, NULL for the zero time.
func routingNS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func routingTime(ns sql.NullInt64) time.Time {
	if !ns.Valid {
		return time.Time{}
	}
	return time.Unix(0, ns.Int64).UTC()
}

type routingRow struct {
	q    string
	args []any
}

// Commit implements acd.Backend: the step's events, task and agent states
// and settings in one transaction.
func (r *Routing) Commit(ctx context.Context, st acd.Step) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	// Everything is encoded before the write: the write function only
	// runs statements.
	var rows []routingRow
	for _, e := range st.Events {
		doc, err := json.Marshal(e)
		if err != nil {
			return err
		}
		rows = append(rows, routingRow{`INSERT INTO routing_events (tenant, seq, task_id, agent_id, doc) VALUES (?, ?, ?, ?, ?)`,
			[]any{t, int64(e.Seq), string(e.TaskID), string(e.AgentID), string(doc)}})
	}
	for _, u := range st.Tasks {
		agents, err := json.Marshal(u.Agents)
		if err != nil {
			return err
		}
		var seq int64
		spec := []byte("{}")
		if sp := u.Spec; sp != nil {
			seq = int64(sp.Seq)
			if spec, err = json.Marshal(routingTaskSpec{Channel: string(sp.Channel), Priority: sp.Priority, EnqueuedAt: sp.EnqueuedAt,
				Contact: string(sp.Contact), LastAgent: string(sp.LastAgent), RequiredLevel: sp.RequiredLevel}); err != nil {
				return err
			}
		}
		rows = append(rows, routingRow{`INSERT INTO routing_tasks (tenant, id, status, seq, grp, agents, accepted_at, updated_at, spec)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, id) DO UPDATE SET status = excluded.status, grp = excluded.grp, agents = excluded.agents,
			accepted_at = coalesce(excluded.accepted_at, routing_tasks.accepted_at), updated_at = excluded.updated_at`,
			[]any{t, string(u.ID), string(u.Status), seq, string(u.Group), string(agents), routingNS(u.AcceptedAt), u.UpdatedAt.UnixNano(), string(spec)}})
	}
	for _, a := range st.Agents {
		pd := a.PendingDispositions
		if pd == nil {
			pd = []routing.TaskID{}
		}
		doc, err := json.Marshal(routingAgentDoc{Reason: a.Reason, Since: a.Since, Until: a.Until, HandledToday: a.HandledToday, PendingDispositions: pd})
		if err != nil {
			return err
		}
		rows = append(rows, routingRow{`INSERT INTO routing_agents (tenant, id, state, doc) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant, id) DO UPDATE SET state = excluded.state, doc = excluded.doc`,
			[]any{t, string(a.ID), string(a.State), string(doc)}})
	}
	if g := st.Group; g != nil {
		doc, err := json.Marshal(g.Settings)
		if err != nil {
			return err
		}
		rows = append(rows, routingRow{`INSERT INTO routing_group_settings (tenant, id, doc) VALUES (?, ?, ?)
			ON CONFLICT (tenant, id) DO UPDATE SET doc = excluded.doc`, []any{t, g.ID, string(doc)}})
	}
	if a := st.Agent; a != nil {
		doc, err := json.Marshal(a.Settings)
		if err != nil {
			return err
		}
		rows = append(rows, routingRow{`INSERT INTO routing_agent_settings (tenant, id, doc) VALUES (?, ?, ?)
			ON CONFLICT (tenant, id) DO UPDATE SET doc = excluded.doc`, []any{t, a.ID, string(doc)}})
	}
	if len(rows) == 0 {
		return nil
	}
	return r.db.Write(ctx, func(tx *sqlitedb.Tx) error {
		for _, row := range rows {
			if _, err := tx.Exec(row.q, row.args...); err != nil {
				return fmt.Errorf("routing: %w", err)
			}
		}
		return nil
	})
}

// LastSeq implements acd.Backend.
func (r *Routing) LastSeq(ctx context.Context) (uint64, error) {
	t, err := tenant(ctx)
	if err != nil {
		return 0, err
	}
	var seq int64
	err = r.db.QueryRow(ctx, `SELECT seq FROM routing_events WHERE tenant = ? ORDER BY seq DESC LIMIT 1`, t).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return uint64(seq), err
}

// LiveTasks implements acd.Backend.
func (r *Routing) LiveTasks(ctx context.Context) ([]acd.TaskRecord, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := r.db.Query(ctx, `SELECT id, status, seq, grp, agents, accepted_at, updated_at, spec FROM routing_tasks
		WHERE tenant = ? AND `+routingLive+` ORDER BY seq`, t)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []acd.TaskRecord
	for rows.Next() {
		var id, status, grp, agents, spec string
		var seq int64
		var accepted sql.NullInt64
		var updated int64
		if err := rows.Scan(&id, &status, &seq, &grp, &agents, &accepted, &updated, &spec); err != nil {
			return nil, err
		}
		var sp routingTaskSpec
		if err := json.Unmarshal([]byte(spec), &sp); err != nil {
			return nil, fmt.Errorf("routing: task %s: %w", id, err)
		}
		rec := acd.TaskRecord{Spec: routing.TaskSpec{ID: routing.TaskID(id), Channel: routing.Channel(sp.Channel), Group: routing.GroupID(grp),
			Priority: sp.Priority, EnqueuedAt: sp.EnqueuedAt, Seq: uint64(seq), Contact: routing.ContactID(sp.Contact),
			LastAgent: routing.AgentID(sp.LastAgent), RequiredLevel: sp.RequiredLevel},
			Status: routing.TaskStatus(status), AcceptedAt: routingTime(accepted), UpdatedAt: time.Unix(0, updated).UTC()}
		if err := json.Unmarshal([]byte(agents), &rec.Agents); err != nil {
			return nil, fmt.Errorf("routing: task %s: %w", id, err)
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

// ActiveAgents implements acd.Backend.
func (r *Routing) ActiveAgents(ctx context.Context) ([]routing.AgentRestore, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := r.db.Query(ctx, `SELECT id, state, doc FROM routing_agents WHERE tenant = ? AND state <> 'signed_out'`, t)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []routing.AgentRestore
	for rows.Next() {
		var id, state, doc string
		if err := rows.Scan(&id, &state, &doc); err != nil {
			return nil, err
		}
		var d routingAgentDoc
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return nil, fmt.Errorf("routing: agent %s: %w", id, err)
		}
		out = append(out, routing.AgentRestore{ID: routing.AgentID(id), State: routing.AgentState(state), Reason: d.Reason,
			Since: d.Since, Until: d.Until, HandledToday: d.HandledToday, PendingDispositions: d.PendingDispositions})
	}
	return out, rows.Err()
}

// Events implements acd.Backend.
func (r *Routing) Events(ctx context.Context, q acd.EventQuery) ([]routing.Event, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	limit := int64(q.Limit)
	if limit <= 0 {
		limit = -1 // no limit
	}
	after := int64(q.AfterSeq)
	// Without table statistics SQLite would rather walk the primary key
	// (tenant, seq) and filter on the task or agent, that is every event
	// of the tenant after the Seq: the index is named.
	var rows *sql.Rows
	switch {
	case q.Task != "" && q.Agent != "":
		rows, err = r.db.Query(ctx, `SELECT doc FROM routing_events INDEXED BY routing_events_task WHERE tenant = ? AND task_id = ? AND agent_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
			t, string(q.Task), string(q.Agent), after, limit)
	case q.Task != "":
		rows, err = r.db.Query(ctx, `SELECT doc FROM routing_events INDEXED BY routing_events_task WHERE tenant = ? AND task_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
			t, string(q.Task), after, limit)
	case q.Agent != "":
		rows, err = r.db.Query(ctx, `SELECT doc FROM routing_events INDEXED BY routing_events_agent WHERE tenant = ? AND agent_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
			t, string(q.Agent), after, limit)
	default:
		rows, err = r.db.Query(ctx, `SELECT doc FROM routing_events WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?`, t, after, limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []routing.Event{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var e routing.Event
		if err := json.Unmarshal([]byte(doc), &e); err != nil {
			return nil, fmt.Errorf("routing: event: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// GroupSettings implements acd.Backend.
func (r *Routing) GroupSettings(ctx context.Context, id string) (acd.GroupSettings, error) {
	var gs acd.GroupSettings
	return gs, r.settings(ctx, `SELECT doc FROM routing_group_settings WHERE tenant = ? AND id = ?`, id, &gs)
}

// AgentSettings implements acd.Backend.
func (r *Routing) AgentSettings(ctx context.Context, id string) (acd.AgentSettings, error) {
	var as acd.AgentSettings
	return as, r.settings(ctx, `SELECT doc FROM routing_agent_settings WHERE tenant = ? AND id = ?`, id, &as)
}

func (r *Routing) settings(ctx context.Context, q, id string, v any) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	var doc string
	if err := r.db.QueryRow(ctx, q, t, id).Scan(&doc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}
	return json.Unmarshal([]byte(doc), v)
}
