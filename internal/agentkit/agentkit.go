// Package agentkit holds what agents reach for while answering: quick
// replies (快捷回复: personal and team, with shortcuts) and the
// admin-defined disposition codes (话务标识: purposes with sub-types).
package agentkit

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/httpapi"
	"github.com/omnihub/hub/internal/ids"
)

// QuickReply is a canned answer. Owner "" means a team reply, shared by the
// tenant's agents and managed by supervisors and admins.
type QuickReply struct {
	ID        string    `bson:"_id" json:"id"`
	Owner     string    `bson:"owner" json:"owner"`
	Team      bool      `bson:"team" json:"team"`
	Shortcut  string    `bson:"shortcut" json:"shortcut"` // typed as /shortcut in the composer
	Title     string    `bson:"title" json:"title"`
	Body      string    `bson:"body" json:"body"`
	UpdatedAt time.Time `bson:"updated_at" json:"updated_at"`
}

// DispositionCode is a purpose (来电目的) with its sub-types.
type DispositionCode struct {
	ID       string   `bson:"_id" json:"id"`
	Purpose  string   `bson:"purpose" json:"purpose"`
	SubTypes []string `bson:"sub_types" json:"sub_types"`
	Order    int      `bson:"order" json:"order"`
}

// Backend is the store the service needs (storage/sqlite, storage/mongo;
// both held to agentkittest.Run). Every method is scoped to the tenant of
// the context (store.WithTenant; without one: store.ErrNoTenant). A missing
// record is a *store.NotFoundError.
type Backend interface {
	// Replies lists the team replies and owner's personal replies, by
	// shortcut.
	Replies(ctx context.Context, owner string) ([]QuickReply, error)
	// Reply reads one reply.
	Reply(ctx context.Context, id string) (*QuickReply, error)
	// InsertReply adds a reply (a team reply has no owner).
	InsertReply(ctx context.Context, r QuickReply) error
	// ReplaceReply replaces the reply r.ID.
	ReplaceReply(ctx context.Context, r QuickReply) error
	// DeleteReply removes a reply.
	DeleteReply(ctx context.Context, id string) error
	// Codes lists the disposition codes by order, then purpose.
	Codes(ctx context.Context) ([]DispositionCode, error)
	// InsertCode adds a code.
	InsertCode(ctx context.Context, c DispositionCode) error
	// ReplaceCode replaces the code c.ID.
	ReplaceCode(ctx context.Context, c DispositionCode) error
	// DeleteCode removes a code.
	DeleteCode(ctx context.Context, id string) error
}

// Service stores both.
type Service struct {
	b Backend
}

// New returns the service over b.
func New(b Backend) *Service {
	return &Service{b: b}
}

// FieldError names a bad field.
type FieldError struct{ Field, Reason string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// BadField names the field for the HTTP layer.
func (e *FieldError) BadField() string { return e.Field }

var shortcutRe = regexp.MustCompile(`^[\p{L}\p{N}_-]{1,20}$`)

func staff(p accounts.Principal) bool {
	return p.Role == accounts.RoleSupervisor || p.Role == accounts.RoleAdmin
}

// Replies lists the caller's personal replies and the team's, by shortcut.
func (s *Service) Replies(ctx context.Context, p accounts.Principal) ([]QuickReply, error) {
	out, err := s.b.Replies(ctx, string(p.UserID))
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []QuickReply{}
	}
	return out, nil
}

func check(r *QuickReply) error {
	r.Shortcut = strings.TrimPrefix(strings.TrimSpace(r.Shortcut), "/")
	if !shortcutRe.MatchString(r.Shortcut) {
		return &FieldError{"shortcut", "must be 1-20 letters, digits, _ or -"}
	}
	if strings.TrimSpace(r.Body) == "" || utf8.RuneCountInString(r.Body) > 2000 {
		return &FieldError{"body", "must be 1-2000 characters"}
	}
	if utf8.RuneCountInString(r.Title) > 64 {
		return &FieldError{"title", "must be at most 64 characters"}
	}
	return nil
}

// SaveReply creates (empty ID) or updates a reply. Team replies need a
// supervisor or admin; personal ones belong to their author.
func (s *Service) SaveReply(ctx context.Context, p accounts.Principal, r QuickReply) (*QuickReply, error) {
	if err := check(&r); err != nil {
		return nil, err
	}
	if r.Team && !staff(p) {
		return nil, httpapi.Forbidden("only supervisors and admins manage team replies")
	}
	r.UpdatedAt = time.Now().UTC()
	if r.ID == "" {
		r.ID = ids.New()
		// A team reply belongs to no one; a personal one to its author,
		// whatever the request said.
		r.Owner = ""
		if !r.Team {
			r.Owner = string(p.UserID)
		}
		if err := s.b.InsertReply(ctx, r); err != nil {
			return nil, err
		}
		return &r, nil
	}
	old, err := s.b.Reply(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	if (old.Team && !staff(p)) || (!old.Team && old.Owner != string(p.UserID)) {
		return nil, httpapi.Forbidden("not your quick reply")
	}
	r.Owner, r.Team = old.Owner, old.Team
	if err := s.b.ReplaceReply(ctx, r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteReply removes a reply the caller may manage.
func (s *Service) DeleteReply(ctx context.Context, p accounts.Principal, id string) error {
	old, err := s.b.Reply(ctx, id)
	if err != nil {
		return err
	}
	if (old.Team && !staff(p)) || (!old.Team && old.Owner != string(p.UserID)) {
		return httpapi.Forbidden("not your quick reply")
	}
	return s.b.DeleteReply(ctx, id)
}

// Codes lists the disposition codes in order.
func (s *Service) Codes(ctx context.Context) ([]DispositionCode, error) {
	out, err := s.b.Codes(ctx)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []DispositionCode{}
	}
	return out, nil
}

// SaveCode creates (empty ID) or replaces a disposition code (admin).
func (s *Service) SaveCode(ctx context.Context, c DispositionCode) (*DispositionCode, error) {
	c.Purpose = strings.TrimSpace(c.Purpose)
	if c.Purpose == "" || utf8.RuneCountInString(c.Purpose) > 32 {
		return nil, &FieldError{"purpose", "must be 1-32 characters"}
	}
	for i, st := range c.SubTypes {
		if st = strings.TrimSpace(st); st == "" || utf8.RuneCountInString(st) > 32 {
			return nil, &FieldError{fmt.Sprintf("sub_types[%d]", i), "must be 1-32 characters"}
		}
		c.SubTypes[i] = st
	}
	if c.SubTypes == nil {
		c.SubTypes = []string{}
	}
	if c.ID == "" {
		c.ID = ids.New()
		if err := s.b.InsertCode(ctx, c); err != nil {
			return nil, err
		}
		return &c, nil
	}
	if err := s.b.ReplaceCode(ctx, c); err != nil {
		return nil, err
	}
	return &c, nil
}

// DeleteCode removes a disposition code (admin).
func (s *Service) DeleteCode(ctx context.Context, id string) error {
	return s.b.DeleteCode(ctx, id)
}

// Mount registers the routes on the authenticated /api/v1 router.
func (s *Service) Mount(r fiber.Router) {
	anyRole := httpapi.AnyRole()
	admin := httpapi.RequireRole(accounts.RoleAdmin)
	r.Get("/quick-replies", anyRole, func(c *fiber.Ctx) error {
		rs, err := s.Replies(c.UserContext(), httpapi.PrincipalOf(c))
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"quick_replies": rs})
	})
	save := func(c *fiber.Ctx) error {
		var q QuickReply
		if err := httpapi.DecodeJSON(c, &q); err != nil {
			return err
		}
		q.ID = c.Params("id")
		out, err := s.SaveReply(c.UserContext(), httpapi.PrincipalOf(c), q)
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
	r.Post("/quick-replies", anyRole, save)
	r.Put("/quick-replies/:id", anyRole, save)
	r.Delete("/quick-replies/:id", anyRole, func(c *fiber.Ctx) error {
		if err := s.DeleteReply(c.UserContext(), httpapi.PrincipalOf(c), c.Params("id")); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	r.Get("/disposition-codes", anyRole, func(c *fiber.Ctx) error {
		cs, err := s.Codes(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"codes": cs})
	})
	saveCode := func(c *fiber.Ctx) error {
		var d DispositionCode
		if err := httpapi.DecodeJSON(c, &d); err != nil {
			return err
		}
		d.ID = c.Params("id")
		out, err := s.SaveCode(c.UserContext(), d)
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
	r.Post("/disposition-codes", admin, saveCode)
	r.Put("/disposition-codes/:id", admin, saveCode)
	r.Delete("/disposition-codes/:id", admin, func(c *fiber.Ctx) error {
		if err := s.DeleteCode(c.UserContext(), c.Params("id")); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}
