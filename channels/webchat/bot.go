package webchat

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/kb"
)

// Bot is the knowledge base's FAQ bot, as the channel uses it.
type Bot interface {
	BotSettings(ctx context.Context, group string) (*kb.BotSettings, error)
	HasArticles(ctx context.Context) (bool, error)
	Answer(ctx context.Context, group, question string) (kb.BotReply, error)
	Helpful(ctx context.Context, id kb.ArticleID, helpful bool) error
}

// botFirst reports whether the group's bot answers web chat first: it is
// switched on for web chat and the knowledge base has articles.
func (s *Service) botFirst(ctx context.Context, group string) bool {
	if s.bot == nil {
		return false
	}
	bs, err := s.bot.BotSettings(ctx, group)
	if err != nil || !bs.On(string(history.ChannelWebChat)) {
		return false
	}
	ok, err := s.bot.HasArticles(ctx)
	return err == nil && ok
}

var tagRe = regexp.MustCompile(`(?s)<[^>]*>`)

// plain turns an answer's rich text into the text the chat shows.
func plain(h string) string {
	h = strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n", "</p>", "\n", "</li>", "\n").Replace(h)
	return strings.TrimSpace(html.UnescapeString(tagRe.ReplaceAllString(h, "")))
}

// botChoice is a question offered to choose from.
type botChoice struct {
	ArticleID string `json:"article_id"`
	Question  string `json:"question"`
}

// botAnswer answers a customer's message in a bot conversation.
func (s *Service) botAnswer(c *custSock, conv *history.Conversation, question string) {
	ctx := c.ctx
	r, err := s.bot.Answer(ctx, conv.GroupID, question)
	if err != nil {
		s.log.Error("bot", "err", err)
		r = kb.BotReply{Kind: "handover"}
	}
	switch r.Kind {
	case "answer":
		if _, err := s.hub.BotMessage(ctx, conv, plain(r.Answer)); err == nil {
			c.send(frame{Type: "bot", ArticleID: string(r.ArticleID)})
		}
	case "choices":
		var b strings.Builder
		b.WriteString("您是想问以下问题吗？· Did you mean:")
		ch := make([]botChoice, 0, len(r.Choices))
		for i, x := range r.Choices {
			fmt.Fprintf(&b, "\n%d. %s", i+1, x.Question)
			ch = append(ch, botChoice{ArticleID: string(x.ArticleID), Question: x.Question})
		}
		if _, err := s.hub.BotMessage(ctx, conv, b.String()); err == nil {
			c.send(frame{Type: "choices", Choices: ch})
		}
	default:
		s.handover(c, conv)
	}
}

// handover queues a bot conversation for a human (转人工).
func (s *Service) handover(c *custSock, conv *history.Conversation) {
	ctx := c.ctx
	s.hub.SystemMessage(ctx, conv, "正在为您转接人工客服 · Connecting you to a human agent")
	nc, res, err := s.hub.Handover(ctx, conv, "")
	if err != nil {
		s.fail(c, frame{}, err)
		return
	}
	// The socket is attached to this conversation already; routing events
	// may have updated its copy while Handover ran, so only a copy still in
	// the bot's hands is replaced.
	c.mu.Lock()
	if c.conv == nil || c.conv.Status == history.StatusBot {
		c.conv = nc
	}
	c.mu.Unlock()
	s.afterEnqueue(c, nc, res)
}
