package webchat

import (
	"context"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/httpapi"
	"github.com/omnihub/hub/internal/store"
)

type leaveBody struct {
	Token   string `json:"token"`
	Group   string `json:"group"`
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	Message string `json:"message"`
}

var phoneRe = regexp.MustCompile(`^[0-9+\-() ]{0,32}$`)

// hLeaveMessage stores a message left when nobody can answer, as a closed
// conversation tagged "left_message" for agents to call back. The phone
// number is kept on the conversation, not as an identity of the contact:
// nobody proved it is theirs.
func (s *Service) hLeaveMessage(c *fiber.Ctx) error {
	var b leaveBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	v, err := s.verify(b.Token)
	if err != nil {
		return &httpapi.Error{Status: fiber.StatusUnauthorized, Code: "unauthenticated", Field: "token", Message: err.Error()}
	}
	b.Name, b.Phone = strings.TrimSpace(b.Name), strings.TrimSpace(b.Phone)
	switch {
	case strings.TrimSpace(b.Message) == "":
		return httpapi.BadRequest("message", "message is required")
	case utf8.RuneCountInString(b.Message) > 2000:
		return httpapi.BadRequest("message", "message must be at most 2000 characters")
	case utf8.RuneCountInString(b.Name) > 64 || strings.IndexFunc(b.Name, unicode.IsControl) >= 0:
		return httpapi.BadRequest("name", "name must be at most 64 characters")
	case !phoneRe.MatchString(b.Phone):
		return httpapi.BadRequest("phone", "phone must be at most 32 digits, spaces, +, - or brackets")
	}
	if err := s.allow(opLeave, s.sourceOf(c), v.tenant); err != nil {
		return tooMany(c, err)
	}
	ctx := store.WithTenant(c.UserContext(), v.tenant)
	if ok, err := s.openGroup(ctx, b.Group); err != nil {
		return err
	} else if !ok {
		return httpapi.BadRequest("group", "unknown skill group")
	}
	ct, err := s.contactFor(ctx, v, b.Name)
	if err != nil {
		return err
	}
	conv, err := s.hist.CreateConversation(ctx, history.NewConversation{ContactID: ct.ID, Channel: history.ChannelWebChat, Status: history.StatusClosed, GroupID: b.Group, Subject: "留言 Left message",
		Attributes: map[string]string{"name": b.Name, "phone": b.Phone}})
	if err != nil {
		return err
	}
	if _, _, err := s.hist.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionIn, Body: b.Message, Sender: history.Sender{Type: history.SenderCustomer, Name: b.Name}}); err != nil {
		return err
	}
	if _, err := s.hist.UpdateConversation(ctx, conv.ID, history.ConversationPatch{AddTags: []string{"left_message"}}); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"conversation_id": conv.ID})
}

// openGroup reports whether id is an enabled skill group of the context's
// tenant (the tenant-scoped store sees no other tenant's groups).
func (s *Service) openGroup(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	groups, err := s.dir.ListGroups(ctx, false)
	if err != nil {
		return false, err
	}
	for _, g := range groups {
		if string(g.ID) == id {
			return true, nil
		}
	}
	return false, nil
}
