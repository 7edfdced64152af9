package workspace

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/httpapi"
)

func (a *API) mountHistory(auth fiber.Router) {
	role := httpapi.RequireRole
	auth.Get("/contacts/:id", httpapi.AnyRole(), a.getContact)
	auth.Patch("/contacts/:id", role(accounts.RoleAgent, accounts.RoleSupervisor, accounts.RoleAdmin), a.updateContact)
	auth.Post("/contacts/:id/merge", httpapi.Staff(), a.mergeContact)
	auth.Get("/contacts/:id/conversations", httpapi.AnyRole(), a.contactConversations)
	auth.Get("/conversations", httpapi.Staff(), a.listConversations)
	auth.Get("/conversations/:id", httpapi.AnyRole(), a.getConversation)
	auth.Get("/conversations/:id/messages", httpapi.AnyRole(), a.listMessages)
	auth.Get("/attachments/:id", httpapi.AnyRole(), a.getAttachment)
}

func (a *API) getContact(c *fiber.Ctx) error {
	ct, err := a.hist.GetContact(c.UserContext(), history.ContactID(c.Params("id")))
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
	ct, err := a.hist.GetContact(c.UserContext(), history.ContactID(c.Params("id")))
	if err != nil {
		return err
	}
	q.ContactID = ct.ID
	return a.sendConversations(c, q)
}

func (a *API) listConversations(c *fiber.Ctx) error {
	q, err := convQuery(c)
	if err != nil {
		return err
	}
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
	cv, err := a.hist.GetConversation(c.UserContext(), history.ConversationID(c.Params("id")))
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
	id := history.ConversationID(c.Params("id"))
	if _, err := a.hist.GetConversation(c.UserContext(), id); err != nil {
		return err
	}
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
