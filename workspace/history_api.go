package workspace

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/httpapi"
	"github.com/omnihub/hub/internal/store"
)

func (a *API) mountHistory(auth fiber.Router) {
	role := httpapi.RequireRole
	auth.Get("/contacts/:id", httpapi.AnyRole(), a.getContact)
	auth.Patch("/contacts/:id", role(accounts.RoleAgent, accounts.RoleSupervisor, accounts.RoleAdmin), a.updateContact)
	auth.Post("/contacts/:id/merge", httpapi.Staff(), a.mergeContact)
	auth.Get("/contacts/:id/conversations", httpapi.AnyRole(), a.contactConversations)
	auth.Get("/conversations", role(accounts.RoleSupervisor, accounts.RoleQA, accounts.RoleAdmin), a.listConversations)
	auth.Get("/conversations/:id", httpapi.AnyRole(), a.getConversation)
	auth.Get("/conversations/:id/messages", httpapi.AnyRole(), a.listMessages)
	auth.Get("/attachments/:id", httpapi.AnyRole(), a.getAttachment)
}

// scope is how much of the shared history the caller reads (see
// accounts.HistoryAccess): everything, or what a Visibility allows.
type scope struct {
	all     bool
	visible *history.Visibility
}

// scopeOf applies the tenant's history access policy to the caller.
func (a *API) scopeOf(c *fiber.Ctx) (scope, error) {
	p := httpapi.PrincipalOf(c)
	if p.Role == accounts.RoleAdmin || p.Role == accounts.RoleQA {
		return scope{all: true}, nil
	}
	ctx := c.UserContext()
	t, err := a.acc.GetTenant(ctx)
	if err != nil {
		return scope{}, err
	}
	if t.HistoryAccess == accounts.HistoryTenant {
		return scope{all: true}, nil
	}
	u, err := a.acc.GetUser(ctx, p.UserID)
	if err != nil {
		return scope{}, err
	}
	if p.Role == accounts.RoleSupervisor && len(u.Groups) == 0 {
		return scope{all: true}, nil // a centre-wide supervisor
	}
	v := &history.Visibility{AssigneeID: string(p.UserID)}
	for _, m := range u.Groups {
		v.GroupIDs = append(v.GroupIDs, string(m.GroupID))
	}
	return scope{visible: v}, nil
}

// sees reports whether a conversation is visible in s by itself.
func (s scope) sees(cv *history.Conversation) bool {
	if s.all || cv.AssigneeID == s.visible.AssigneeID {
		return true
	}
	for _, g := range s.visible.GroupIDs {
		if cv.GroupID == g {
			return true
		}
	}
	return false
}

// hidden is the answer for what the caller may not read: the same 404 as
// for what does not exist, so ids reveal nothing.
func hidden(kind, id string) error {
	return &store.NotFoundError{Kind: kind, ID: id}
}

// contact returns the contact of the request's :id (or id) if the caller
// may read it: some conversation of the contact is visible to them.
func (a *API) contact(c *fiber.Ctx, sc scope, id history.ContactID) (*history.Contact, error) {
	ct, err := a.hist.GetContact(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	if sc.all {
		return ct, nil
	}
	cs, _, err := a.hist.ListConversations(c.UserContext(), history.ConversationQuery{ContactID: ct.ID, Visible: sc.visible, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, hidden("contact", string(id))
	}
	return ct, nil
}

// conversation returns the conversation of :id if the caller may read it:
// it is visible by itself, or its contact is.
func (a *API) conversation(c *fiber.Ctx) (*history.Conversation, error) {
	sc, err := a.scopeOf(c)
	if err != nil {
		return nil, err
	}
	cv, err := a.hist.GetConversation(c.UserContext(), history.ConversationID(c.Params("id")))
	if err != nil {
		return nil, err
	}
	if sc.sees(cv) {
		return cv, nil
	}
	if _, err := a.contact(c, sc, cv.ContactID); err != nil {
		return nil, hidden("conversation", string(cv.ID))
	}
	return cv, nil
}

func (a *API) getContact(c *fiber.Ctx) error {
	sc, err := a.scopeOf(c)
	if err != nil {
		return err
	}
	ct, err := a.contact(c, sc, history.ContactID(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(ct)
}

func (a *API) updateContact(c *fiber.Ctx) error {
	var p history.ContactPatch
	if err := httpapi.DecodeJSON(c, &p); err != nil {
		return err
	}
	sc, err := a.scopeOf(c)
	if err != nil {
		return err
	}
	if _, err := a.contact(c, sc, history.ContactID(c.Params("id"))); err != nil {
		return err
	}
	ct, err := a.hist.UpdateContact(c.UserContext(), history.ContactID(c.Params("id")), p)
	if err != nil {
		return err
	}
	return c.JSON(ct)
}

type mergeBody struct {
	From history.ContactID `json:"from"`
}

func (a *API) mergeContact(c *fiber.Ctx) error {
	var b mergeBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if b.From == "" {
		return httpapi.BadRequest("from", "from (the contact to merge into this one) is required")
	}
	sc, err := a.scopeOf(c)
	if err != nil {
		return err
	}
	if _, err := a.contact(c, sc, history.ContactID(c.Params("id"))); err != nil {
		return err
	}
	if _, err := a.contact(c, sc, b.From); err != nil {
		return err
	}
	ct, err := a.hist.MergeContacts(c.UserContext(), history.ContactID(c.Params("id")), b.From)
	if err != nil {
		return err
	}
	return c.JSON(ct)
}

func convQuery(c *fiber.Ctx) (history.ConversationQuery, error) {
	var q history.ConversationQuery
	var err error
	if q.From, err = httpapi.QueryTime(c, "from"); err != nil {
		return q, err
	}
	if q.To, err = httpapi.QueryTime(c, "to"); err != nil {
		return q, err
	}
	if q.Limit, err = httpapi.QueryInt(c, "limit", 50, 1, 500); err != nil {
		return q, err
	}
	q.Cursor = c.Query("cursor")
	if ch := c.Query("channel"); ch != "" {
		q.Channel = history.Channel(ch)
		if !q.Channel.Valid() {
			return q, httpapi.BadRequest("channel", "unknown channel "+strconv.Quote(ch))
		}
	}
	if st := c.Query("status"); st != "" {
		s := history.Status(st)
		if !s.Valid() {
			return q, httpapi.BadRequest("status", "unknown status "+strconv.Quote(st))
		}
		q.Statuses = []history.Status{s}
	}
	q.AssigneeID = c.Query("assignee")
	q.GroupID = c.Query("group")
	return q, nil
}

func (a *API) contactConversations(c *fiber.Ctx) error {
	q, err := convQuery(c)
	if err != nil {
		return err
	}
	sc, err := a.scopeOf(c)
	if err != nil {
		return err
	}
	ct, err := a.contact(c, sc, history.ContactID(c.Params("id")))
	if err != nil {
		return err
	}
	q.ContactID = ct.ID // a readable contact's whole history
	return a.sendConversations(c, q)
}

func (a *API) listConversations(c *fiber.Ctx) error {
	q, err := convQuery(c)
	if err != nil {
		return err
	}
	sc, err := a.scopeOf(c)
	if err != nil {
		return err
	}
	q.Visible = sc.visible
	return a.sendConversations(c, q)
}

func (a *API) sendConversations(c *fiber.Ctx, q history.ConversationQuery) error {
	cs, next, err := a.hist.ListConversations(c.UserContext(), q)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"conversations": cs, "next_cursor": next})
}

func (a *API) getConversation(c *fiber.Ctx) error {
	cv, err := a.conversation(c)
	if err != nil {
		return err
	}
	return c.JSON(cv)
}

func (a *API) listMessages(c *fiber.Ctx) error {
	limit, err := httpapi.QueryInt(c, "limit", 50, 1, 500)
	if err != nil {
		return err
	}
	cv, err := a.conversation(c)
	if err != nil {
		return err
	}
	id := cv.ID
	ms, more, err := a.hist.ListMessages(c.UserContext(), id, history.MessageQuery{
		After: history.MessageID(c.Query("after")), Before: history.MessageID(c.Query("before")), Limit: limit})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"messages": ms, "more": more})
}

func (a *API) getAttachment(c *fiber.Ctx) error {
	att, rd, err := a.hist.OpenAttachment(c.UserContext(), history.AttachmentID(c.Params("id")))
	if err != nil {
		return err
	}
	// fasthttp reads the stream after the handler returns and closes it.
	c.Set(fiber.HeaderContentType, att.ContentType)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set(fiber.HeaderContentDisposition, "attachment; filename*=UTF-8''"+urlEscape(att.Name))
	return c.SendStream(rd, int(att.Size))
}
