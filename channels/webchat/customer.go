package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/convo"
	"github.com/omnihub/hub/internal/httpapi"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/internal/wsconn"
	"github.com/omnihub/hub/kb"
	"github.com/omnihub/hub/routing"
)

// MaxFrame bounds a customer frame; a larger one closes the socket (1009).
const MaxFrame = 48 << 10

var visitorRe = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// Mount registers the customer API (public: visitors authenticate with
// their signed token) on app under /api/v1/webchat.
func (s *Service) Mount(app fiber.Router) {
	r := app.Group("/api/v1/webchat")
	r.Post("/session", s.hSession)
	r.Post("/upload", s.limitUpload, s.hUpload)
	r.Get("/files/:id", s.hFile)
	r.Post("/leave-message", s.hLeaveMessage)
	r.Get("/ws", func(c *fiber.Ctx) error {
		if !websocket.IsWebSocketUpgrade(c) {
			return fiber.ErrUpgradeRequired
		}
		v, err := s.verify(c.Query("token"))
		if err != nil {
			return &httpapi.Error{Status: fiber.StatusUnauthorized, Code: "unauthenticated", Message: err.Error()}
		}
		c.Locals("visitor", v)
		c.Locals("source", s.sourceOf(c))
		return c.Next()
	}, websocket.New(s.customerSocket, websocket.Config{ReadBufferSize: 4096, WriteBufferSize: 4096}))
}

func (s *Service) visitorFrom(c *fiber.Ctx) (visitor, context.Context, error) {
	tok := c.Query("token")
	if h := c.Get(fiber.HeaderAuthorization); strings.HasPrefix(h, "Bearer ") {
		tok = h[7:]
	}
	v, err := s.verify(tok)
	if err != nil {
		return v, nil, &httpapi.Error{Status: fiber.StatusUnauthorized, Code: "unauthenticated", Message: err.Error()}
	}
	return v, store.WithTenant(c.UserContext(), v.tenant), nil
}

func (s *Service) hUpload(c *fiber.Ctx) error {
	_, ctx, err := s.visitorFrom(c)
	if err != nil {
		return err
	}
	c.SetUserContext(ctx)
	// Visitors send images only: the type is checked before anything is
	// stored.
	a, err := s.hub.Upload(c, convo.VisitorUploads)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(s.attachmentView(v0(ctx), a))
}

func v0(ctx context.Context) store.TenantID { t, _ := store.Tenant(ctx); return t }

// AttachmentView is an attachment with a signed download URL.
type AttachmentView struct {
	history.Attachment
	URL string `json:"url"`
}

func (s *Service) attachmentView(t store.TenantID, a *history.Attachment) AttachmentView {
	return AttachmentView{Attachment: *a, URL: "/api/v1/webchat/files/" + string(a.ID) + "?t=" + string(t) + "&sig=" + s.fileSig(t, a.ID)}
}

func (s *Service) hFile(c *fiber.Ctx) error {
	t := store.TenantID(c.Query("t"))
	id := history.AttachmentID(c.Params("id"))
	if c.Query("sig") != s.fileSig(t, id) {
		return httpapi.NotFound("no such file")
	}
	a, rd, err := s.hist.OpenAttachment(store.WithTenant(c.UserContext(), t), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, a.ContentType)
	c.Set(fiber.HeaderCacheControl, "private, max-age=86400")
	return c.SendStream(rd, int(a.Size))
}

// frame is what the customer socket carries, in both directions.
type frame struct {
	Type         string                  `json:"type"`
	Group        string                  `json:"group,omitempty"`
	ClientID     string                  `json:"client_id,omitempty"`
	Kind         string                  `json:"kind,omitempty"`
	Body         string                  `json:"body,omitempty"`
	AttachmentID string                  `json:"attachment_id,omitempty"`
	After        string                  `json:"after,omitempty"`
	Score        int                     `json:"score,omitempty"`
	Comment      string                  `json:"comment,omitempty"`
	Message      *messageView            `json:"message,omitempty"`
	Messages     []messageView           `json:"messages,omitzero"` // nil: left out; empty: [] (sync and a resumed welcome always send a list)
	Conversation *conversationView       `json:"conversation,omitempty"`
	Position     int                     `json:"position,omitempty"`
	WaitS        int                     `json:"wait_s,omitempty"` // -1: no estimate (nobody signed in, no handle time yet)
	Action       *routing.OverflowAction `json:"action,omitempty"`
	ArticleID    string                  `json:"article_id,omitempty"`
	Helpful      *bool                   `json:"helpful,omitempty"`
	Choices      []botChoice             `json:"choices,omitempty"`
	Error        string                  `json:"error,omitempty"`
	Field        string                  `json:"field,omitempty"`
	RetryAfterS  int                     `json:"retry_after_s,omitempty"`
}

// messageView is a message as the customer sees it: internal notes are
// never sent, attachments carry signed URLs.
type messageView struct {
	ID          string           `json:"id"`
	ClientID    string           `json:"client_id"`
	Direction   string           `json:"direction"`
	Kind        string           `json:"kind"`
	Body        string           `json:"body"`
	SenderType  string           `json:"sender_type"`
	SenderName  string           `json:"sender_name,omitempty"`
	Attachments []AttachmentView `json:"attachments,omitempty"`
	CreatedAt   time.Time        `json:"created_at"`
}

type conversationView struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Group  string `json:"group"`
	Rated  bool   `json:"rated"`
}

func (s *Service) view(t store.TenantID, m *history.Message) *messageView {
	v := &messageView{ID: string(m.ID), ClientID: m.ClientMsgID, Direction: string(m.Direction), Kind: string(m.Kind), Body: m.Body,
		SenderType: string(m.Sender.Type), SenderName: m.Sender.Name, CreatedAt: m.CreatedAt}
	for i := range m.Attachments {
		v.Attachments = append(v.Attachments, s.attachmentView(t, &m.Attachments[i]))
	}
	return v
}

func convView(c *history.Conversation) *conversationView {
	return &conversationView{ID: string(c.ID), Status: string(c.Status), Group: c.GroupID, Rated: c.Rating != nil}
}

// custSock is one customer connection.
type custSock struct {
	v    visitor
	src  source
	ctx  context.Context
	out  chan []byte
	done chan struct{}
	once sync.Once

	mu      sync.Mutex
	conv    *history.Conversation
	lastPos int
}

func (c *custSock) close() { c.once.Do(func() { close(c.done) }) }

func (c *custSock) send(f frame) {
	b, err := json.Marshal(f)
	if err != nil {
		return
	}
	select {
	case c.out <- b:
	case <-c.done:
	default:
		c.close() // too slow: the page reconnects and syncs
	}
}

func (c *custSock) current() *history.Conversation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conv
}

func (c *custSock) waiting() bool {
	cv := c.current()
	return cv != nil && cv.Status == history.StatusQueued
}

// waitS is an estimated wait in whole seconds for the page: -1 when there
// is no estimate, at least 1 otherwise.
func waitS(wait time.Duration) int {
	if wait < 0 {
		return -1
	}
	return max(1, int(wait.Seconds()))
}

func (c *custSock) sendPosition(s *Service) {
	cv := c.current()
	if cv == nil {
		return
	}
	pos, wait, ok := s.pos.Position(c.ctx, routing.TaskID(cv.ID))
	if !ok {
		return
	}
	c.mu.Lock()
	changed := pos != c.lastPos
	c.lastPos = pos
	c.mu.Unlock()
	if changed {
		c.send(frame{Type: "queue", Position: pos, WaitS: waitS(wait)})
	}
}

func (s *Service) attach(c *custSock, conv *history.Conversation) {
	c.mu.Lock()
	old := c.conv
	c.conv = conv
	c.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old != nil {
		if m := s.socks[sockKey{c.v.tenant, old.ID}]; m != nil {
			delete(m, c)
		}
	}
	k := sockKey{c.v.tenant, conv.ID}
	if s.socks[k] == nil {
		s.socks[k] = map[*custSock]struct{}{}
	}
	s.socks[k][c] = struct{}{}
}

func (s *Service) detach(c *custSock) {
	cv := c.current()
	if cv == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := sockKey{c.v.tenant, cv.ID}
	if m := s.socks[k]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(s.socks, k)
		}
	}
}

// each calls f for every socket of a conversation, updating their copy of
// the conversation when conv is newer.
func (s *Service) each(ctx context.Context, conv *history.Conversation, f func(*custSock)) {
	t, _ := store.Tenant(ctx)
	s.mu.Lock()
	var socks []*custSock
	for c := range s.socks[sockKey{t, conv.ID}] {
		socks = append(socks, c)
	}
	s.mu.Unlock()
	for _, c := range socks {
		c.mu.Lock()
		c.conv = conv
		c.mu.Unlock()
		f(c)
	}
}

// Deliver sends a stored message to the customer's open sockets.
func (s *Service) Deliver(ctx context.Context, conv *history.Conversation, m *history.Message) {
	t, _ := store.Tenant(ctx)
	if m.Direction == history.DirectionInternal {
		return
	}
	v := s.view(t, m)
	s.each(ctx, conv, func(c *custSock) { c.send(frame{Type: "message", Message: v}) })
}

// AgentTyping tells the customer the agent is typing.
func (s *Service) AgentTyping(ctx context.Context, conv *history.Conversation) {
	s.each(ctx, conv, func(c *custSock) { c.send(frame{Type: "typing"}) })
}

// Routed tells the customer what routing did.
func (s *Service) Routed(ctx context.Context, conv *history.Conversation, ev routing.Event) {
	switch ev.Type {
	case routing.EventTaskOverflowed:
		s.each(ctx, conv, func(c *custSock) {
			c.send(frame{Type: "overflow", Action: ev.Action, Conversation: convView(conv)})
		})
	case routing.EventTaskCompleted, routing.EventTaskAbandoned:
		s.each(ctx, conv, func(c *custSock) { c.send(frame{Type: "ended", Conversation: convView(conv)}) })
	default:
		s.each(ctx, conv, func(c *custSock) { c.send(frame{Type: "status", Conversation: convView(conv)}) })
	}
}

// customerSocket serves one customer connection.
func (s *Service) customerSocket(conn *websocket.Conn) {
	v, _ := conn.Locals("visitor").(visitor)
	src, _ := conn.Locals("source").(source)
	c := &custSock{v: v, src: src, ctx: store.WithTenant(context.Background(), v.tenant), out: make(chan []byte, 128), done: make(chan struct{})}
	defer s.detach(c)
	defer c.close()
	conn.SetReadLimit(MaxFrame)
	rd := wsconn.NewReader(conn)
	if err := s.resume(c); err != nil {
		// The store could not say whether the visitor has a conversation:
		// answering "welcome" would make the page start a new one. The page
		// reconnects and tries again.
		s.log.Warn("web chat resume failed", "tenant", v.tenant, "err", err)
		wsconn.Close(conn, CloseTryAgainLater, "try again later")
		return
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer c.close()
		for {
			_, data, err := rd.Read()
			if err != nil {
				return
			}
			s.handle(c, data)
		}
	}()
	// The connection is released to a pool when this handler returns: stop
	// the reader and wait for it first.
	defer func() { rd.Stop(); <-readerDone }()
	ping := time.NewTicker(wsconn.PingEvery)
	defer ping.Stop()
	for {
		select {
		case b := <-c.out:
			if err := wsconn.Write(conn, websocket.TextMessage, b); err != nil {
				return
			}
		case <-ping.C:
			if err := wsconn.Write(conn, websocket.PingMessage, nil); err != nil {
				return
			}
		case <-c.done:
			return
		case <-s.ctx.Done():
			wsconn.Close(conn, websocket.CloseGoingAway, "shutting down")
			return
		}
	}
}

// CloseTryAgainLater (RFC 6455 1013) closes a customer socket whose
// conversation could not be read; the page reconnects.
const CloseTryAgainLater = 1013

// resume reattaches a returning visitor to their open conversation and
// sends what the page needs to continue. A store error is returned, never
// taken for "no conversation".
func (s *Service) resume(c *custSock) error {
	d, err := s.visitorDoc(c.ctx, c.v)
	if err != nil {
		return err
	}
	if d == nil || d.ConversationID == "" {
		c.send(frame{Type: "welcome"})
		return nil
	}
	conv, err := s.hist.GetConversation(c.ctx, d.ConversationID)
	if errors.Is(err, store.ErrNotFound) {
		c.send(frame{Type: "welcome"})
		return nil
	}
	if err != nil {
		return err
	}
	msgs, _, err := s.hist.ListMessages(c.ctx, conv.ID, history.MessageQuery{Limit: 100})
	if err != nil {
		return err
	}
	s.attach(c, conv)
	f := frame{Type: "welcome", Conversation: convView(conv), Messages: []messageView{}}
	for i := range msgs {
		if msgs[i].Direction != history.DirectionInternal {
			f.Messages = append(f.Messages, *s.view(c.v.tenant, &msgs[i]))
		}
	}
	c.send(f)
	c.sendPosition(s)
	return nil
}

func (s *Service) fail(c *custSock, in frame, err error) {
	f := frame{Type: "error", ClientID: in.ClientID, Error: err.Error()}
	var ve *history.ValidationError
	if errors.As(err, &ve) {
		f.Field = ve.Field
	}
	var le *limitedError
	if errors.As(err, &le) {
		f.RetryAfterS = max(1, int(le.retryAfter.Seconds()+0.999))
	}
	c.send(f)
}

func (s *Service) handle(c *custSock, data []byte) {
	var in frame
	if err := json.Unmarshal(data, &in); err != nil {
		c.send(frame{Type: "error", Error: "malformed frame: " + err.Error()})
		return
	}
	ctx := c.ctx
	switch in.Type {
	case "start":
		s.start(c, in)
	case "message":
		conv := c.current()
		if conv == nil || conv.Status == history.StatusClosed {
			s.fail(c, in, &history.ValidationError{Field: "conversation", Reason: "no open conversation: start one first"})
			return
		}
		nm := history.NewMessage{ClientMsgID: in.ClientID, Kind: history.Kind(in.Kind), Body: in.Body}
		if nm.Kind == "" {
			nm.Kind = history.KindText
		}
		switch nm.Kind {
		case history.KindText:
		case history.KindImage:
			a, err := s.hist.GetAttachment(ctx, history.AttachmentID(in.AttachmentID))
			if err != nil || !convo.ImageTypes[a.ContentType] {
				s.fail(c, in, &history.ValidationError{Field: "attachment_id", Reason: "unknown image"})
				return
			}
			nm.Attachments = []history.Attachment{*a}
		default:
			s.fail(c, in, &history.ValidationError{Field: "kind", Reason: "customers send text or image"})
			return
		}
		m, created, err := s.hub.CustomerMessage(ctx, conv, nm)
		if err != nil {
			s.fail(c, in, err)
			return
		}
		c.send(frame{Type: "ack", ClientID: in.ClientID, Message: s.view(c.v.tenant, m)})
		if created && conv.Status == history.StatusBot && nm.Kind == history.KindText {
			if kb.WantsHuman(nm.Body) {
				s.handover(c, conv)
			} else {
				s.botAnswer(c, conv, nm.Body)
			}
		}
	case "human":
		if conv := c.current(); conv != nil && conv.Status == history.StatusBot {
			s.handover(c, conv)
		}
	case "feedback":
		if s.bot != nil && in.ArticleID != "" && in.Helpful != nil {
			if err := s.bot.Helpful(ctx, kb.ArticleID(in.ArticleID), *in.Helpful); err != nil {
				s.fail(c, in, err)
				return
			}
			c.send(frame{Type: "feedback_saved", ArticleID: in.ArticleID})
		}
	case "typing":
		if conv := c.current(); conv != nil {
			s.hub.CustomerTyping(ctx, conv)
		}
	case "sync":
		conv := c.current()
		if conv == nil {
			return
		}
		msgs, _, err := s.hist.ListMessages(ctx, conv.ID, history.MessageQuery{After: history.MessageID(in.After), Limit: 500})
		if err != nil {
			s.fail(c, in, err)
			return
		}
		f := frame{Type: "sync", Messages: []messageView{}}
		for i := range msgs {
			if msgs[i].Direction != history.DirectionInternal {
				f.Messages = append(f.Messages, *s.view(c.v.tenant, &msgs[i]))
			}
		}
		c.send(f)
	case "rate":
		conv := c.current()
		if conv == nil {
			return
		}
		cv, err := s.hist.UpdateConversation(ctx, conv.ID, history.ConversationPatch{Rating: &history.Rating{Score: in.Score, Comment: in.Comment, At: time.Now().UTC()}})
		if err != nil {
			s.fail(c, in, err)
			return
		}
		c.send(frame{Type: "rated", Conversation: convView(cv)})
	case "end":
		if conv := c.current(); conv != nil {
			_ = s.hub.CustomerLeft(ctx, conv)
		}
	default:
		c.send(frame{Type: "error", Error: "unknown frame type " + in.Type, Field: "type"})
	}
}

func (s *Service) start(c *custSock, in frame) {
	ctx := c.ctx
	if conv := c.current(); conv != nil && conv.Status != history.StatusClosed {
		c.send(frame{Type: "status", Conversation: convView(conv)})
		return
	}
	g, err := s.dir.GetGroup(ctx, accounts.GroupID(in.Group))
	var nf *store.NotFoundError
	switch {
	case errors.As(err, &nf) || (err == nil && g.Disabled):
		s.fail(c, in, &history.ValidationError{Field: "group", Reason: "unknown skill group"})
		return
	case err != nil:
		s.fail(c, in, err)
		return
	}
	if err := s.allow(opStart, c.src, c.v.tenant); err != nil {
		s.fail(c, in, err)
		return
	}
	last := ""
	if prev, _ := s.visitorDoc(ctx, c.v); prev != nil && prev.ConversationID != "" {
		if pc, err := s.hist.GetConversation(ctx, prev.ConversationID); err == nil {
			last = pc.AssigneeID
		}
	}
	bot := s.botFirst(ctx, in.Group)
	// The contact (and its identity), the conversation and the visitor's
	// link to it are one transaction; routing's step is the next one.
	var req convo.StartRequest
	var conv *history.Conversation
	err = s.hub.Atomically(ctx, func(ctx context.Context) error {
		ct, err := s.contactFor(ctx, c.v, "")
		if err != nil {
			return err
		}
		req = convo.StartRequest{Contact: ct, Channel: history.ChannelWebChat, Group: in.Group, LastAgent: last}
		if bot {
			conv, err = s.hub.StartBot(ctx, req)
		} else {
			conv, err = s.hub.Create(ctx, req)
		}
		if err != nil {
			return err
		}
		return s.saveVisitor(ctx, c.v, Visitor{ContactID: ct.ID, ConversationID: conv.ID})
	})
	if err != nil {
		s.fail(c, in, err)
		return
	}
	// Attached before routing sees the conversation: routing may offer and
	// assign it (auto-accept) before Route returns.
	s.attach(c, conv)
	c.send(frame{Type: "started", Conversation: convView(conv)})
	if bot {
		_, _ = s.hub.BotMessage(ctx, conv, "您好，我是智能助手，请直接输入您的问题；需要人工服务请回复“人工”。· Hi, I am the assistant: ask your question, or type “人工” for a human.")
		return
	}
	conv, res, err := s.hub.Route(ctx, conv, req)
	if err != nil {
		s.fail(c, in, err)
		return
	}
	s.afterEnqueue(c, conv, res)
}

// afterEnqueue tells the customer what routing did with their new
// conversation.
func (s *Service) afterEnqueue(c *custSock, conv *history.Conversation, res routing.EnqueueResult) {
	ctx := c.ctx
	if res.Status == routing.TaskOverflowed {
		c.mu.Lock()
		c.conv = conv
		c.mu.Unlock()
		c.send(frame{Type: "overflow", Action: res.Action, Conversation: convView(conv)})
		return
	}
	if res.Status == routing.TaskQueued {
		// Routing may already have offered it by now: only a task still in
		// the queue has a position.
		pos, wait, ok := s.pos.Position(ctx, routing.TaskID(conv.ID))
		if !ok {
			return
		}
		c.mu.Lock()
		c.lastPos = pos
		c.mu.Unlock()
		c.send(frame{Type: "queue", Position: pos, WaitS: waitS(wait)})
	}
}
