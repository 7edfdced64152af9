package acd

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/httpapi"
	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/internal/wsconn"
	"github.com/omnihub/hub/routing"
)

// Mount registers the routing API on r (the authenticated /api/v1 router).
func (s *Service) Mount(r fiber.Router) {
	r.Get("/agent/me", httpapi.AnyRole(), s.hMe)
	r.Post("/agent/sign-in", httpapi.AnyRole(), s.hSignIn)
	r.Post("/agent/sign-out", httpapi.AnyRole(), s.hSignOut)
	r.Put("/agent/state", httpapi.AnyRole(), s.hState)
	r.Post("/agent/break", httpapi.AnyRole(), s.hBreak)
	r.Post("/agent/continue", httpapi.AnyRole(), s.hContinue)
	r.Post("/tasks/:id/accept", httpapi.AnyRole(), s.hAccept)
	r.Post("/tasks/:id/reject", httpapi.AnyRole(), s.hReject)
	r.Post("/tasks/:id/transfer", httpapi.AnyRole(), s.hTransfer)
	r.Post("/tasks/:id/complete", httpapi.AnyRole(), s.hComplete)
	r.Post("/tasks/:id/disposition", httpapi.AnyRole(), s.hDisposition)

	r.Get("/routing/agents", httpapi.Staff(), s.hAgents)
	r.Get("/routing/queues", httpapi.AnyRole(), s.hQueues)
	r.Post("/routing/agents/:id/break/approve", httpapi.Staff(), s.hApprove)
	r.Post("/routing/agents/:id/break/deny", httpapi.Staff(), s.hDeny)
	r.Put("/routing/agents/:id/state", httpapi.Staff(), s.hForceState)
	r.Post("/routing/agents/:id/sign-out", httpapi.Staff(), s.hForceSignOut)
	r.Get("/routing/events", httpapi.Staff(), s.hEvents)
	r.Post("/routing/tasks", httpapi.Staff(), s.hEnqueue)
	r.Delete("/routing/tasks/:id", httpapi.Staff(), s.hCancel)
	r.Get("/routing/groups/:id/settings", httpapi.Staff(), s.hGetGroupSettings)
	r.Put("/routing/groups/:id/settings", httpapi.AdminOnly(), s.hPutGroupSettings)
	r.Get("/routing/agents/:id/settings", httpapi.Staff(), s.hGetAgentSettings)
	r.Put("/routing/agents/:id/settings", httpapi.AdminOnly(), s.hPutAgentSettings)

	r.Get("/stream", httpapi.AnyRole(), func(c *fiber.Ctx) error {
		if !websocket.IsWebSocketUpgrade(c) {
			return fiber.ErrUpgradeRequired
		}
		return c.Next()
	}, websocket.New(s.stream))
}

// apiError maps engine errors to HTTP errors.
func apiError(err error) error {
	if err == nil {
		return nil
	}
	var ce *routing.ConfigError
	if errors.As(err, &ce) {
		return httpapi.BadRequest(ce.Field, err.Error())
	}
	var hw *HoldingWorkError
	if errors.As(err, &hw) {
		return &httpapi.Error{Status: fiber.StatusConflict, Code: "holding_work", Message: err.Error()}
	}
	switch {
	case errors.Is(err, routing.ErrUnknownAgent):
		return &httpapi.Error{Status: fiber.StatusNotFound, Code: "not_in_routing", Message: "you are not in any skill group (or not signed in): " + err.Error()}
	case errors.Is(err, routing.ErrUnknownTask), errors.Is(err, routing.ErrUnknownGroup):
		return httpapi.NotFound(err.Error())
	case errors.Is(err, routing.ErrUnknownState), errors.Is(err, routing.ErrUnknownChannel):
		return httpapi.BadRequest("state", err.Error())
	case errors.Is(err, routing.ErrDuplicateTask):
		return &httpapi.Error{Status: fiber.StatusConflict, Code: "already_exists", Message: err.Error()}
	case errors.Is(err, routing.ErrNotOffered), errors.Is(err, routing.ErrInvalidState), errors.Is(err, routing.ErrAgentAtCapacity),
		errors.Is(err, routing.ErrAgentNotRoutable), errors.Is(err, routing.ErrGroupBusy):
		return &httpapi.Error{Status: fiber.StatusConflict, Code: "conflict", Message: err.Error()}
	case errors.Is(err, routing.ErrBreakCapReached):
		return &httpapi.Error{Status: fiber.StatusConflict, Code: "break_cap_reached", Message: err.Error()}
	case errors.Is(err, routing.ErrDispositionRequired):
		return &httpapi.Error{Status: fiber.StatusConflict, Code: "disposition_required", Message: err.Error()}
	}
	return err
}

func me(c *fiber.Ctx) accounts.UserID { return httpapi.PrincipalOf(c).UserID }

func (s *Service) sendMe(c *fiber.Ctx) error {
	te, err := s.engine(c.UserContext())
	if err != nil {
		return err
	}
	a, err := te.eng.Agent(routing.AgentID(me(c)))
	if err != nil {
		return apiError(err)
	}
	return c.JSON(te.view(a))
}

func (s *Service) hMe(c *fiber.Ctx) error { return s.sendMe(c) }

func (s *Service) hSignIn(c *fiber.Ctx) error {
	if err := s.SignIn(c.UserContext(), me(c)); err != nil {
		return apiError(err)
	}
	return s.sendMe(c)
}

type reasonBody struct {
	Reason string `json:"reason"`
}

func optionalBody(c *fiber.Ctx, v any) error {
	if len(c.Body()) == 0 {
		return nil
	}
	return httpapi.DecodeJSON(c, v)
}

func (s *Service) hSignOut(c *fiber.Ctx) error {
	if err := s.SignOutSelf(c.UserContext(), me(c)); err != nil {
		return apiError(err)
	}
	return s.sendMe(c)
}

type stateBody struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
}

func decodeState(c *fiber.Ctx) (stateBody, error) {
	var b stateBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return b, err
	}
	switch routing.AgentState(b.State) {
	case "":
		return b, httpapi.BadRequest("state", "state is required (ready, not_ready or a custom state)")
	case routing.StateBreak, routing.StateAfterCallWork:
		return b, httpapi.BadRequest("state", "breaks are requested with POST /agent/break and wrap-up follows a task")
	case routing.StateSignedOut:
		return b, httpapi.BadRequest("state", "sign out with POST /agent/sign-out")
	}
	return b, nil
}

func (s *Service) hState(c *fiber.Ctx) error {
	b, err := decodeState(c)
	if err != nil {
		return err
	}
	if err := s.SetState(c.UserContext(), me(c), routing.AgentState(b.State), b.Reason); err != nil {
		return apiError(err)
	}
	return s.sendMe(c)
}

type breakBody struct {
	Reason  string `json:"reason"`
	Minutes int    `json:"minutes"`
}

func (s *Service) hBreak(c *fiber.Ctx) error {
	var b breakBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if b.Minutes < 0 || b.Minutes > 240 {
		return httpapi.BadRequest("minutes", "minutes must be 0 (open-ended) to 240")
	}
	if err := s.RequestBreak(c.UserContext(), me(c), b.Reason, time.Duration(b.Minutes)*time.Minute); err != nil {
		return apiError(err)
	}
	return s.sendMe(c)
}

func (s *Service) hContinue(c *fiber.Ctx) error {
	if err := s.ContinueWork(c.UserContext(), me(c)); err != nil {
		return apiError(err)
	}
	return s.sendMe(c)
}

func taskID(c *fiber.Ctx) routing.TaskID { return routing.TaskID(c.Params("id")) }

func (s *Service) hAccept(c *fiber.Ctx) error {
	if err := s.Accept(c.UserContext(), me(c), taskID(c)); err != nil {
		return apiError(err)
	}
	return s.sendMe(c)
}

func (s *Service) hReject(c *fiber.Ctx) error {
	var b reasonBody
	if err := optionalBody(c, &b); err != nil {
		return err
	}
	if err := s.Reject(c.UserContext(), me(c), taskID(c), b.Reason); err != nil {
		return apiError(err)
	}
	return s.sendMe(c)
}

// holds checks that the caller holds the task, unless they are staff
// (supervisors may transfer or release any task: 强拆).
func (s *Service) holds(c *fiber.Ctx) error {
	p := httpapi.PrincipalOf(c)
	t, err := s.Task(c.UserContext(), taskID(c))
	if err != nil {
		return apiError(err)
	}
	if p.Role == accounts.RoleSupervisor || p.Role == accounts.RoleAdmin || slices.Contains(t.Agents, routing.AgentID(p.UserID)) {
		return nil
	}
	return httpapi.Forbidden("this conversation is not yours")
}

type transferBody struct {
	AgentID string `json:"agent_id"`
	GroupID string `json:"group_id"`
	Reason  string `json:"reason"`
}

func (s *Service) hTransfer(c *fiber.Ctx) error {
	var b transferBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if (b.AgentID == "") == (b.GroupID == "") {
		return httpapi.BadRequest("agent_id", "give exactly one of agent_id and group_id")
	}
	if err := s.holds(c); err != nil {
		return err
	}
	if err := s.Transfer(c.UserContext(), taskID(c), routing.TransferTarget{Agent: routing.AgentID(b.AgentID), Group: routing.GroupID(b.GroupID)}, b.Reason); err != nil {
		return apiError(err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Service) hComplete(c *fiber.Ctx) error {
	var b reasonBody
	if err := optionalBody(c, &b); err != nil {
		return err
	}
	if err := s.holds(c); err != nil {
		return err
	}
	if b.Reason == "" {
		b.Reason = "completed"
	}
	if err := s.Complete(c.UserContext(), taskID(c), b.Reason); err != nil {
		return apiError(err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type dispositionBody struct {
	Code string `json:"code"`
}

func (s *Service) hDisposition(c *fiber.Ctx) error {
	var b dispositionBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if b.Code == "" {
		return httpapi.BadRequest("code", "code is required")
	}
	if err := s.SetDisposition(c.UserContext(), me(c), taskID(c), b.Code); err != nil {
		return apiError(err)
	}
	return s.sendMe(c)
}

func (s *Service) hAgents(c *fiber.Ctx) error {
	te, err := s.engine(c.UserContext())
	if err != nil {
		return err
	}
	out := []AgentView{}
	for _, a := range te.eng.Agents() {
		out = append(out, te.view(a))
	}
	return c.JSON(fiber.Map{"agents": out})
}

func (s *Service) hQueues(c *fiber.Ctx) error {
	te, err := s.engine(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"groups": te.snapshot(&subscriber{}).Groups})
}

func target(c *fiber.Ctx) accounts.UserID { return accounts.UserID(c.Params("id")) }

func (s *Service) hApprove(c *fiber.Ctx) error {
	return apiError(s.ApproveBreak(c.UserContext(), target(c)))
}

func (s *Service) hDeny(c *fiber.Ctx) error {
	var b reasonBody
	if err := optionalBody(c, &b); err != nil {
		return err
	}
	return apiError(s.DenyBreak(c.UserContext(), target(c), b.Reason))
}

func (s *Service) hForceState(c *fiber.Ctx) error {
	b, err := decodeState(c)
	if err != nil {
		return err
	}
	if b.Reason == "" {
		b.Reason = "supervisor"
	}
	return apiError(s.SetState(c.UserContext(), target(c), routing.AgentState(b.State), b.Reason))
}

func (s *Service) hForceSignOut(c *fiber.Ctx) error {
	return apiError(s.SignOut(c.UserContext(), target(c), "supervisor"))
}

func (s *Service) hEvents(c *fiber.Ctx) error {
	limit, err := httpapi.QueryInt(c, "limit", 200, 1, 1000)
	if err != nil {
		return err
	}
	var after uint64
	if a := c.Query("after"); a != "" {
		if after, err = strconv.ParseUint(a, 10, 64); err != nil {
			return httpapi.BadRequest("after", "after must be an event seq number")
		}
	}
	evs, err := s.Events(c.UserContext(), c.Query("task"), c.Query("agent"), after, limit)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"events": evs})
}

type enqueueBody struct {
	ID        string `json:"id"`
	Channel   string `json:"channel"`
	GroupID   string `json:"group_id"`
	Priority  int    `json:"priority"`
	ContactID string `json:"contact_id"`
	LastAgent string `json:"last_agent"`
}

func (s *Service) hEnqueue(c *fiber.Ctx) error {
	var b enqueueBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if b.Channel == "" {
		return httpapi.BadRequest("channel", "channel is required")
	}
	if b.GroupID == "" {
		return httpapi.BadRequest("group_id", "group_id is required")
	}
	if b.ID == "" {
		b.ID = ids.New()
	}
	res, err := s.Enqueue(c.UserContext(), routing.TaskSpec{ID: routing.TaskID(b.ID), Channel: routing.Channel(b.Channel), Group: routing.GroupID(b.GroupID),
		Priority: b.Priority, Contact: routing.ContactID(b.ContactID), LastAgent: routing.AgentID(b.LastAgent)})
	if err != nil {
		if errors.Is(err, routing.ErrUnknownChannel) {
			return httpapi.BadRequest("channel", err.Error())
		}
		if errors.Is(err, routing.ErrUnknownGroup) {
			return httpapi.BadRequest("group_id", err.Error())
		}
		return apiError(err)
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"task_id": res.Task, "status": res.Status, "group_id": res.Group,
		"queue_position": res.QueuePosition, "agents": res.Agents, "action": res.Action})
}

func (s *Service) hCancel(c *fiber.Ctx) error {
	if err := s.Cancel(c.UserContext(), taskID(c), "cancelled"); err != nil {
		return apiError(err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Service) checkGroup(c *fiber.Ctx) (accounts.GroupID, error) {
	id := accounts.GroupID(c.Params("id"))
	te, err := s.engine(c.UserContext())
	if err != nil {
		return "", err
	}
	if _, err := te.eng.GroupConfig(routing.GroupID(id)); err != nil {
		return "", apiError(err)
	}
	return id, nil
}

func (s *Service) hGetGroupSettings(c *fiber.Ctx) error {
	id, err := s.checkGroup(c)
	if err != nil {
		return err
	}
	gs, err := s.GroupSettings(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(gs)
}

func (s *Service) hPutGroupSettings(c *fiber.Ctx) error {
	id, err := s.checkGroup(c)
	if err != nil {
		return err
	}
	var gs GroupSettings
	if err := httpapi.DecodeJSON(c, &gs); err != nil {
		return err
	}
	if err := s.SetGroupSettings(c.UserContext(), id, gs); err != nil {
		return apiError(err)
	}
	return c.JSON(gs)
}

func (s *Service) hGetAgentSettings(c *fiber.Ctx) error {
	if _, err := s.dir.GetUser(c.UserContext(), target(c)); err != nil {
		return err
	}
	as, err := s.AgentSettings(c.UserContext(), target(c))
	if err != nil {
		return err
	}
	return c.JSON(as)
}

func (s *Service) hPutAgentSettings(c *fiber.Ctx) error {
	var as AgentSettings
	if err := httpapi.DecodeJSON(c, &as); err != nil {
		return err
	}
	if err := s.SetAgentSettings(c.UserContext(), target(c), as); err != nil {
		return apiError(err)
	}
	return c.JSON(as)
}

// stream is the live WebSocket: a snapshot first, then every change. An
// agent's open stream is their presence: when the last one closes the
// engine starts the presence grace period. It follows its session and
// closes with the revocation's code once it is revoked
// (accounts.CloseSessionEnded, CloseRightsChanged: a supervisor demoted to
// agent stops seeing every agent).
func (s *Service) stream(conn *websocket.Conn) {
	p, watch := httpapi.WatchSession(conn.Locals)
	defer watch.Stop()
	ctx := store.WithTenant(context.Background(), p.Tenant)
	te, err := s.engine(ctx)
	if err != nil {
		wsconn.Close(conn, websocket.CloseInternalServerErr, "routing unavailable")
		return
	}
	aid := routing.AgentID(p.UserID)
	sub := te.subscribe(aid, p.Role == accounts.RoleSupervisor || p.Role == accounts.RoleAdmin)
	defer te.unsubscribe(sub)
	s.presence(ctx, te, aid, +1)
	defer s.presence(ctx, te, aid, -1)

	first, _ := json.Marshal(te.snapshot(sub))
	if err := wsconn.Write(conn, websocket.TextMessage, first); err != nil {
		return
	}
	conn.SetReadLimit(4096)
	rd := wsconn.NewReader(conn)
	closed := make(chan struct{})
	go func() { // reads only to notice the close and answer pings
		defer close(closed)
		for {
			if _, _, err := rd.Read(); err != nil {
				return
			}
		}
	}()
	// The connection is released to a pool when this handler returns: stop
	// the reader and wait for it first.
	defer func() { rd.Stop(); <-closed }()
	ping := time.NewTicker(wsconn.PingEvery)
	defer ping.Stop()
	// Queue figures: sent at once after a quiet second, otherwise when the
	// second since the last ones is over (see groupsEvery).
	var lastGroups time.Time
	groupsDue := time.NewTimer(time.Hour)
	groupsDue.Stop()
	defer groupsDue.Stop()
	sendGroups := func() error {
		lastGroups = time.Now()
		if b := te.takeGroups(sub); b != nil {
			return wsconn.Write(conn, websocket.TextMessage, b)
		}
		return nil
	}
	for {
		select {
		case b := <-sub.ch:
			if err := wsconn.Write(conn, websocket.TextMessage, b); err != nil {
				return
			}
		case <-sub.groupsReady:
			if wait := groupsEvery - time.Since(lastGroups); wait > 0 {
				groupsDue.Reset(wait)
				continue
			}
			if err := sendGroups(); err != nil {
				return
			}
		case <-groupsDue.C:
			if err := sendGroups(); err != nil {
				return
			}
		case <-ping.C:
			if err := wsconn.Write(conn, websocket.PingMessage, nil); err != nil {
				return
			}
		case <-sub.done:
			wsconn.Close(conn, websocket.CloseTryAgainLater, "reconnect")
			return
		case <-watch.Done():
			r, _ := watch.Revoked()
			wsconn.Close(conn, r.Code, r.Reason)
			return
		case <-closed:
			return
		case <-s.ctx.Done():
			wsconn.Close(conn, websocket.CloseGoingAway, "shutting down")
			return
		}
	}
}

func (s *Service) presence(ctx context.Context, te *tenantEngine, aid routing.AgentID, delta int) {
	te.subMu.Lock()
	te.conns[aid] += delta
	n := te.conns[aid]
	if n <= 0 {
		delete(te.conns, aid)
	}
	te.subMu.Unlock()
	switch {
	case delta > 0 && n == 1:
		_ = s.step(ctx, te, nil, func() ([]routing.Event, error) { return te.eng.Connected(aid) })
	case delta < 0 && n <= 0:
		_ = s.step(ctx, te, nil, func() ([]routing.Event, error) { return te.eng.Disconnected(aid, s.now()) })
	}
}
