package acd

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/omnihub/hub/routing"
)

// AgentView is an agent's live state as the inbox and wallboard show it.
type AgentView struct {
	ID                  string         `json:"id"`
	State               string         `json:"state"`
	Reason              string         `json:"reason,omitempty"`
	Since               time.Time      `json:"since"`
	Connected           bool           `json:"connected"`
	Routable            bool           `json:"routable"`
	Capacity            int            `json:"capacity"`
	Used                int            `json:"used"`
	Groups              map[string]int `json:"groups"`
	Tasks               []HeldView     `json:"tasks"`
	NoAnswer            int            `json:"no_answer"`
	HandledToday        int            `json:"handled_today"`
	BreakRequested      bool           `json:"break_requested"`
	BreakReason         string         `json:"break_reason,omitempty"`
	BreakUntil          time.Time      `json:"break_until,omitzero"`
	WrapUpUntil         time.Time      `json:"wrap_up_until,omitzero"`
	PendingDispositions []string       `json:"pending_dispositions"`
}

// HeldView is a task held by an agent: offered (with its deadline) or
// accepted.
type HeldView struct {
	TaskID   string    `json:"task_id"`
	Channel  string    `json:"channel"`
	Group    string    `json:"group"`
	Accepted bool      `json:"accepted"`
	Cost     int       `json:"cost"`
	Silent   bool      `json:"silent"`
	Since    time.Time `json:"since"`
	// ExpiresAt is when an offer not yet accepted is withdrawn.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// GroupView is a queue's live figures for the wallboard.
type GroupView struct {
	ID            string         `json:"id"`
	Queued        int            `json:"queued"`
	LongestWaitS  float64        `json:"longest_wait_s"`
	OffersOut     int            `json:"offers_out"`
	SignedIn      int            `json:"signed_in"`
	OnBreak       int            `json:"on_break"`
	Available     int            `json:"available"`
	AgentsByState map[string]int `json:"agents_by_state"`
	Accepted      int64          `json:"accepted"`
	AcceptedInSL  int64          `json:"accepted_in_sl"`
	Abandoned     int64          `json:"abandoned"`
	Overflowed    int64          `json:"overflowed"`
	Completed     int64          `json:"completed"`
	AvgWaitS      float64        `json:"avg_wait_s"`
	AvgHandleS    float64        `json:"avg_handle_s"`
}

// view is agentView with offer deadlines from the groups' offer timeouts.
func (te *tenantEngine) view(a routing.AgentSnapshot) AgentView {
	v := agentView(a)
	for i := range v.Tasks {
		h := &v.Tasks[i]
		if h.Accepted {
			continue
		}
		to := 20 * time.Second
		if cfg, err := te.eng.GroupConfig(routing.GroupID(h.Group)); err == nil && cfg.OfferTimeout > 0 {
			to = cfg.OfferTimeout
		}
		h.ExpiresAt = h.Since.Add(to)
	}
	return v
}

func agentView(a routing.AgentSnapshot) AgentView {
	v := AgentView{ID: string(a.ID), State: string(a.State), Reason: a.Reason, Since: a.Since, Connected: a.Connected,
		Routable: a.Routable, Capacity: a.Capacity, Used: a.Used, Groups: map[string]int{}, Tasks: []HeldView{},
		NoAnswer: a.NoAnswer, HandledToday: a.HandledToday, BreakRequested: a.BreakRequested, BreakReason: a.BreakReason,
		BreakUntil: a.BreakUntil, WrapUpUntil: a.WrapUpUntil, PendingDispositions: []string{}}
	for g, l := range a.Groups {
		v.Groups[string(g)] = l
	}
	for _, t := range a.Tasks {
		v.Tasks = append(v.Tasks, HeldView{TaskID: string(t.TaskID), Channel: string(t.Channel), Group: string(t.Group), Accepted: t.Accepted, Cost: t.Cost, Silent: t.Silent, Since: t.Since})
	}
	for _, p := range a.PendingDispositions {
		v.PendingDispositions = append(v.PendingDispositions, string(p))
	}
	return v
}

func groupView(g routing.GroupStats) GroupView {
	v := GroupView{ID: string(g.ID), Queued: g.Queued, LongestWaitS: g.LongestWait.Seconds(), OffersOut: g.OffersOut,
		SignedIn: g.SignedIn, OnBreak: g.OnBreak, Available: g.Available, AgentsByState: map[string]int{},
		Accepted: g.Accepted, AcceptedInSL: g.AcceptedInSL, Abandoned: g.Abandoned, Overflowed: g.Overflowed,
		Completed: g.Completed, AvgWaitS: g.AvgWait.Seconds(), AvgHandleS: g.AvgHandle.Seconds()}
	for s, n := range g.AgentsByState {
		v.AgentsByState[string(s)] = n
	}
	return v
}

// Message is what the live stream sends.
type Message struct {
	Type   string          `json:"type"` // "snapshot" or "events"
	Events []routing.Event `json:"events,omitempty"`
	Me     *AgentView      `json:"me,omitempty"`
	Agents []AgentView     `json:"agents,omitempty"`
	Groups []GroupView     `json:"groups,omitempty"`
}

// subscriber is one live connection: an agent sees its own state and
// events and the queues of its tenant; staff see everything.
type subscriber struct {
	agent routing.AgentID
	staff bool
	ch    chan []byte
	done  chan struct{}
	// An agent's queue figures are coalesced (see groupsEvery): publish
	// keeps the latest of each group here (under subMu) and rings
	// groupsReady; the stream sends them.
	groups      map[string]GroupView
	groupsReady chan struct{}
}

// groupsEvery is how often at most an agent's stream sends queue figures.
// Staff streams get every change as it happens; an agent's inbox shows
// queue lengths, and sending each change to every agent made an opening
// burst of 2,000 chats cost 200 socket writes per routing step.
const groupsEvery = time.Second

func (te *tenantEngine) subscribe(agent routing.AgentID, staff bool) *subscriber {
	sub := &subscriber{agent: agent, staff: staff, ch: make(chan []byte, 256), done: make(chan struct{}),
		groups: map[string]GroupView{}, groupsReady: make(chan struct{}, 1)}
	te.subMu.Lock()
	te.subs[sub] = struct{}{}
	te.subMu.Unlock()
	return sub
}

// takeGroups returns the queue figures published for sub since the last
// call, as one message (nil when there are none).
func (te *tenantEngine) takeGroups(sub *subscriber) []byte {
	te.subMu.Lock()
	gv := make([]GroupView, 0, len(sub.groups))
	for _, g := range sub.groups {
		gv = append(gv, g)
	}
	clear(sub.groups)
	te.subMu.Unlock()
	if len(gv) == 0 {
		return nil
	}
	sort.Slice(gv, func(i, j int) bool { return gv[i].ID < gv[j].ID })
	b, _ := json.Marshal(Message{Type: "events", Groups: gv})
	return b
}

func (te *tenantEngine) unsubscribe(sub *subscriber) {
	te.subMu.Lock()
	defer te.subMu.Unlock()
	if _, ok := te.subs[sub]; ok {
		delete(te.subs, sub)
		close(sub.done)
	}
}

func (te *tenantEngine) closeSubs() {
	te.subMu.Lock()
	defer te.subMu.Unlock()
	for sub := range te.subs {
		delete(te.subs, sub)
		close(sub.done)
	}
}

func (te *tenantEngine) snapshot(sub *subscriber) Message {
	m := Message{Type: "snapshot", Agents: []AgentView{}, Groups: []GroupView{}}
	if a, err := te.eng.Agent(sub.agent); err == nil {
		v := te.view(a)
		m.Me = &v
	}
	if sub.staff {
		for _, a := range te.eng.Agents() {
			m.Agents = append(m.Agents, te.view(a))
		}
	}
	for _, g := range te.eng.Groups() {
		if st, err := te.eng.GroupStats(g); err == nil {
			m.Groups = append(m.Groups, groupView(st))
		}
	}
	sort.Slice(m.Groups, func(i, j int) bool { return m.Groups[i].ID < m.Groups[j].ID })
	return m
}

// publish sends events and the changed agents and groups to subscribers. A
// subscriber too slow to keep up is dropped (its client reconnects and gets
// a fresh snapshot) so a stuck browser never holds routing back.
func (te *tenantEngine) publish(evs []routing.Event, agents map[routing.AgentID]bool, groups map[routing.GroupID]bool) {
	te.subMu.Lock()
	defer te.subMu.Unlock()
	if len(te.subs) == 0 || len(evs) == 0 {
		return
	}
	av := map[routing.AgentID]AgentView{}
	for id := range agents {
		if a, err := te.eng.Agent(id); err == nil {
			av[id] = te.view(a)
		}
	}
	var gv []GroupView
	for id := range groups {
		if st, err := te.eng.GroupStats(id); err == nil {
			gv = append(gv, groupView(st))
		}
	}
	staffMsg := Message{Type: "events", Events: evs, Groups: gv}
	for _, v := range av {
		staffMsg.Agents = append(staffMsg.Agents, v)
	}
	staffJSON, _ := json.Marshal(staffMsg)
	for sub := range te.subs {
		b := staffJSON
		if !sub.staff {
			if len(gv) > 0 {
				// Only the first change since the stream took the figures
				// rings: later ones wait in sub.groups for the same send
				// (each ring woke all agents' streams on every step).
				ring := len(sub.groups) == 0
				for _, g := range gv {
					sub.groups[g.ID] = g
				}
				if ring {
					select {
					case sub.groupsReady <- struct{}{}:
					default:
					}
				}
			}
			m := Message{Type: "events"}
			for _, e := range evs {
				if e.AgentID == sub.agent || e.FromAgent == sub.agent || e.ToAgent == sub.agent {
					m.Events = append(m.Events, e)
				}
			}
			if v, ok := av[sub.agent]; ok {
				m.Me = &v
			}
			if len(m.Events) == 0 && m.Me == nil {
				continue
			}
			b, _ = json.Marshal(m)
		}
		select {
		case sub.ch <- b:
		default:
			delete(te.subs, sub)
			close(sub.done)
		}
	}
}
