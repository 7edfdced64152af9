package convo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
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

// UploadPolicy says what an upload may be.
type UploadPolicy struct {
	// Files admits PDF files (up to MaxFile) besides images (up to
	// MaxImage).
	Files bool
}

var (
	// VisitorUploads is what a web-chat visitor may send: images.
	VisitorUploads = UploadPolicy{}
	// AgentUploads is what staff may send: images and PDF files.
	AgentUploads = UploadPolicy{Files: true}
)

// MaxBody is the largest request body an upload under the policy can need:
// the largest file and the multipart framing around it. The hub refuses
// larger bodies by their Content-Length before reading them.
func (p UploadPolicy) MaxBody() int64 {
	if p.Files {
		return MaxFile + 64<<10
	}
	return MaxImage + 64<<10
}

// Upload stores the file of the request's multipart field "file" if the
// policy admits it. The type is sniffed from the first 512 bytes (the
// client's claim is not trusted, and must not contradict them) and checked
// with the size before anything is stored; the file then streams into the
// store, which keeps nothing of it if it turns out larger than its limit.
func (s *Service) Upload(c *fiber.Ctx, allow UploadPolicy) (*history.Attachment, error) {
	part, err := httpapi.FormFile(c, "file")
	if err != nil {
		return nil, err
	}
	defer part.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(part, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		var he *httpapi.Error
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, httpapi.BadRequest("file", "reading the file: "+err.Error())
	}
	head = head[:n]
	if n == 0 {
		return nil, httpapi.BadRequest("file", "file is empty")
	}
	ct, err := uploadType(head, part.Header.Get(fiber.HeaderContentType), allow)
	if err != nil {
		return nil, err
	}
	max := int64(MaxImage)
	if !ImageTypes[ct] {
		max = MaxFile
	}
	if cl := c.Request().Header.ContentLength(); cl > 0 && int64(cl) > max+64<<10 {
		return nil, tooLarge(max)
	}
	rd := &partReader{r: io.MultiReader(bytes.NewReader(head), part)}
	a, err := s.hist.PutAttachment(c.UserContext(), part.FileName(), ct, rd, max)
	var he *httpapi.Error
	switch {
	case err == nil:
		return a, nil
	case errors.Is(err, history.ErrTooLarge), errors.As(rd.err, &he) && he.Status == fiber.StatusRequestEntityTooLarge:
		return nil, tooLarge(max)
	case rd.err != nil && errors.Is(err, rd.err):
		// The client's side: a body that ended early or broke its framing.
		return nil, httpapi.BadRequest("file", "the upload ended early: "+rd.err.Error())
	}
	return nil, err
}

// partReader remembers why reading the upload failed (as opposed to
// storing it).
type partReader struct {
	r   io.Reader
	err error
}

func (p *partReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF {
		p.err = err
	}
	return n, err
}

func tooLarge(max int64) error {
	return &httpapi.Error{Status: fiber.StatusRequestEntityTooLarge, Code: "too_large", Field: "file", Message: fmt.Sprintf("file is too large (limit %d MB)", max>>20)}
}

// uploadType returns the content type of an upload the policy admits, from
// its first bytes; the declared type may be empty or generic but must not
// name another type.
func uploadType(head []byte, declared string, allow UploadPolicy) (string, error) {
	ct := sniff(head)
	ok := ImageTypes[ct] || (allow.Files && ct == "application/pdf")
	if !ok {
		msg := "only images (PNG, JPEG, GIF, WebP) can be sent"
		if allow.Files {
			msg = "only images (PNG, JPEG, GIF, WebP) and PDF files can be sent"
		}
		return "", &httpapi.Error{Status: fiber.StatusUnsupportedMediaType, Code: "unsupported_media_type", Field: "file", Message: msg}
	}
	d, _, _ := mime.ParseMediaType(declared)
	if d == "image/jpg" || d == "image/pjpeg" {
		d = "image/jpeg"
	}
	if d != "" && d != "application/octet-stream" && d != ct {
		return "", &httpapi.Error{Status: fiber.StatusUnsupportedMediaType, Code: "unsupported_media_type", Field: "file", Message: fmt.Sprintf("file is declared as %s but its content is %s", d, ct)}
	}
	return ct, nil
}

// sniff returns the content type of a file from its first bytes, as
// browsers do (http.DetectContentType: WHATWG MIME Sniffing), without
// parameters.
func sniff(b []byte) string {
	ct, _, _ := mime.ParseMediaType(http.DetectContentType(b))
	return ct
}

func (s *Service) hUpload(c *fiber.Ctx) error {
	a, err := s.Upload(c, AgentUploads)
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
