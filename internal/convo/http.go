package convo

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/httpapi"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/internal/wsconn"
)

// Upload limits for images and files in conversations.
const (
	MaxImage = 10 << 20
	MaxFile  = 20 << 20
)

// ImageTypes are the image content types conversations accept.
var ImageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// Mount registers the agent inbox API on the authenticated /api/v1 router.
func (s *Service) Mount(r fiber.Router) {
	role := httpapi.AnyRole()
	r.Get("/inbox/conversations", role, s.hList)
	r.Post("/inbox/conversations/:id/messages", role, s.hSend)
	r.Post("/inbox/conversations/:id/close", role, s.hClose)
	r.Post("/inbox/conversations/:id/disposition", role, s.hDisposition)
	r.Post("/inbox/attachments", role, s.hUpload)
	r.Get("/inbox/ws", role, func(c *fiber.Ctx) error {
		if !websocket.IsWebSocketUpgrade(c) {
			return fiber.ErrUpgradeRequired
		}
		return c.Next()
	}, websocket.New(s.inboxSocket))
}

func apiErr(err error) error {
	if errors.Is(err, ErrNotYours) {
		return httpapi.Forbidden(err.Error())
	}
	return err
}

func (s *Service) hList(c *fiber.Ctx) error {
	cs, err := s.MyConversations(c.UserContext(), httpapi.PrincipalOf(c).UserID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"conversations": cs})
}

type sendBody struct {
	ClientID    string   `json:"client_id"`
	Kind        string   `json:"kind"`
	Body        string   `json:"body"`
	Note        bool     `json:"note"`
	Attachments []string `json:"attachments"`
}

// Attachments resolves attachment ids of the context's tenant.
func (s *Service) Attachments(ctx context.Context, ids []string) ([]history.Attachment, error) {
	if len(ids) > 10 {
		return nil, &history.ValidationError{Field: "attachments", Reason: "at most 10 attachments"}
	}
	var out []history.Attachment
	for _, id := range ids {
		a, err := s.hist.GetAttachment(ctx, history.AttachmentID(id))
		if err != nil {
			return nil, &history.ValidationError{Field: "attachments", Reason: "unknown attachment " + id}
		}
		out = append(out, *a)
	}
	return out, nil
}

func (s *Service) send(ctx context.Context, p accounts.Principal, conv string, b sendBody) (*history.Message, error) {
	atts, err := s.Attachments(ctx, b.Attachments)
	if err != nil {
		return nil, err
	}
	m, _, err := s.AgentMessage(ctx, p, history.ConversationID(conv), history.NewMessage{ClientMsgID: b.ClientID, Kind: history.Kind(b.Kind), Body: b.Body, Attachments: atts}, b.Note)
	return m, apiErr(err)
}

func (s *Service) hSend(c *fiber.Ctx) error {
	var b sendBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	m, err := s.send(c.UserContext(), httpapi.PrincipalOf(c), c.Params("id"), b)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(m)
}

func (s *Service) hClose(c *fiber.Ctx) error {
	err := s.End(c.UserContext(), httpapi.PrincipalOf(c), history.ConversationID(c.Params("id")))
	if errors.Is(err, ErrNotOpen) {
		return &httpapi.Error{Status: fiber.StatusConflict, Code: "not_open", Message: ErrNotOpen.Error()}
	}
	if err != nil {
		return apiErr(err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Service) hDisposition(c *fiber.Ctx) error {
	var d history.Disposition
	if err := httpapi.DecodeJSON(c, &d); err != nil {
		return err
	}
	if strings.TrimSpace(d.Purpose) == "" {
		return httpapi.BadRequest("purpose", "purpose is required")
	}
	conv, err := s.Disposition(c.UserContext(), httpapi.PrincipalOf(c), history.ConversationID(c.Params("id")), d)
	if err != nil {
		return apiErr(err)
	}
	return c.JSON(conv)
}

// Upload stores an uploaded file from a multipart form field "file",
// checking its type and size. Images must be PNG, JPEG, GIF or WebP.
func (s *Service) Upload(c *fiber.Ctx) (*history.Attachment, error) {
	fh, err := c.FormFile("file")
	if err != nil {
		return nil, httpapi.BadRequest("file", "multipart field \"file\" is required")
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := f.Read(head)
	ct := sniff(head[:n])
	max := int64(MaxFile)
	if ImageTypes[ct] {
		max = MaxImage
	} else if ct == "" {
		return nil, &httpapi.Error{Status: fiber.StatusUnsupportedMediaType, Code: "unsupported_media_type", Field: "file", Message: "only images (PNG, JPEG, GIF, WebP) and PDF files can be sent"}
	}
	if fh.Size > max {
		return nil, &httpapi.Error{Status: fiber.StatusRequestEntityTooLarge, Code: "too_large", Field: "file", Message: "file is too large"}
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	a, err := s.hist.PutAttachment(c.UserContext(), fh.Filename, ct, f, max)
	if errors.Is(err, history.ErrTooLarge) {
		return nil, &httpapi.Error{Status: fiber.StatusRequestEntityTooLarge, Code: "too_large", Field: "file", Message: "file is too large"}
	}
	return a, err
}

// sniff returns the content type of an accepted file from its first bytes
// (the client's claim is not trusted), or "".
func sniff(b []byte) string {
	switch {
	case len(b) >= 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		return "image/png"
	case len(b) >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff:
		return "image/jpeg"
	case len(b) >= 6 && (string(b[:6]) == "GIF87a" || string(b[:6]) == "GIF89a"):
		return "image/gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	case len(b) >= 5 && string(b[:5]) == "%PDF-":
		return "application/pdf"
	}
	return ""
}

func (s *Service) hUpload(c *fiber.Ctx) error {
	a, err := s.Upload(c)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(a)
}

// inboxSocket carries an agent's conversations live: messages and typing
// from customers, conversation changes; and the agent's messages, acked
// once stored. It follows its session: once the session is revoked (logout,
// disabled, password changed, role or groups changed) the agent's frames
// are neither stored nor acknowledged and the socket closes with the
// revocation's code (accounts.CloseSessionEnded, CloseRightsChanged).
func (s *Service) inboxSocket(conn *websocket.Conn) {
	p, watch := httpapi.WatchSession(conn.Locals)
	defer watch.Stop()
	ctx := store.WithTenant(context.Background(), p.Tenant)
	sub := s.SubscribeAgent(p.Tenant, string(p.UserID))
	defer s.Unsubscribe(sub)
	conn.SetReadLimit(64 << 10)
	out := make(chan []byte, 64)
	done := make(chan struct{})
	quit := make(chan struct{})
	// The connection is released to a pool when this handler returns: stop
	// the reader and wait for it first.
	rd := wsconn.NewReader(conn)
	defer func() { close(quit); rd.Stop(); <-done }()
	go func() {
		defer close(done)
		for {
			_, data, err := rd.Read()
			if err != nil {
				return
			}
			if _, revoked := watch.Revoked(); revoked {
				continue // the writer is closing the socket
			}
			var f Frame
			reply := Frame{Type: "error"}
			if err := json.Unmarshal(data, &f); err != nil {
				reply.Error = "malformed frame: " + err.Error()
			} else {
				switch f.Type {
				case "message":
					ids := make([]string, 0, len(f.Attachments))
					for _, a := range f.Attachments {
						ids = append(ids, string(a.ID))
					}
					m, err := s.send(ctx, p, f.ConversationID, sendBody{ClientID: f.ClientID, Kind: f.Kind, Body: f.Body, Note: f.Note, Attachments: ids})
					if err != nil {
						reply.Error, reply.ClientID = err.Error(), f.ClientID
						var ve *history.ValidationError
						if errors.As(err, &ve) {
							reply.Field = ve.Field
						}
					} else {
						reply = Frame{Type: "ack", ClientID: f.ClientID, ConversationID: f.ConversationID, Message: m}
					}
				case "typing":
					if s.holds(ctx, p.UserID, history.ConversationID(f.ConversationID)) {
						if conv, err := s.hist.GetConversation(ctx, history.ConversationID(f.ConversationID)); err == nil {
							if ch := s.channel(conv.Channel); ch != nil {
								if t, ok := ch.(interface {
									AgentTyping(context.Context, *history.Conversation)
								}); ok {
									t.AgentTyping(ctx, conv)
								}
							}
						}
					}
					continue
				default:
					reply.Error = "unknown frame type " + f.Type
				}
			}
			b, _ := json.Marshal(reply)
			select {
			case out <- b:
			case <-sub.Done:
				return
			case <-quit:
				return
			}
		}
	}()
	ping := time.NewTicker(wsconn.PingEvery)
	defer ping.Stop()
	for {
		var b []byte
		select {
		case b = <-sub.C:
		case b = <-out:
		case <-ping.C:
			if err := wsconn.Write(conn, websocket.PingMessage, nil); err != nil {
				return
			}
			continue
		case <-sub.Done:
			wsconn.Close(conn, websocket.CloseTryAgainLater, "reconnect")
			return
		case <-watch.Done():
			r, _ := watch.Revoked()
			wsconn.Close(conn, r.Code, r.Reason)
			return
		case <-done:
			return
		case <-s.ctx.Done():
			return
		}
		if err := wsconn.Write(conn, websocket.TextMessage, b); err != nil {
			return
		}
	}
}
