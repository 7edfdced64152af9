package webchat_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	bt "github.com/omnihub/hub/internal/browsertest"
	"github.com/omnihub/hub/internal/hubtest"
)

func setupAgent(t *testing.T, h *hubtest.Hub, group, user, name string) string {
	t.Helper()
	var u struct{ ID string }
	if st := h.Do("POST", "/api/v1/users", h.AdminToken, map[string]any{"username": user, "name": name, "password": "agent-pass-1", "role": "agent", "groups": []map[string]any{{"group_id": group}}}, &u); st != 201 {
		t.Fatalf("agent: %d", st)
	}
	return u.ID
}

func agentInbox(t *testing.T, h *hubtest.Hub, user string) contextT {
	t.Helper()
	ctx := bt.New(t)
	bt.Do(t, ctx, "agent signs in to the inbox",
		chromedp.Navigate(h.URL+"/login"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#username", user),
		chromedp.SendKeys("#password", "agent-pass-1"),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#nav a"),
		chromedp.Navigate(h.URL+"/inbox"),
		chromedp.WaitVisible("#sb-signin"),
		chromedp.Click("#sb-signin"),
		chromedp.WaitVisible(`//span[@id="inbox-state" and text()="示闲"]`),
	)
	return ctx
}

// TestChatRoundTripInBrowsers: a customer picks a group on the H5 page, the
// agent accepts the offer in the inbox, both sides talk, hostile text stays
// text, the agent closes and the customer rates.
func TestChatRoundTripInBrowsers(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	var g struct{ ID string }
	h.Do("POST", "/api/v1/groups", h.AdminToken, map[string]any{"name": "宽带售后"}, &g)
	h.Do("PUT", "/api/v1/routing/groups/"+g.ID+"/settings", h.AdminToken, map[string]any{"offer_timeout_s": 120}, nil)
	setupAgent(t, h, g.ID, "agent.wang", "王芳")
	agent := agentInbox(t, h, "agent.wang")

	cust := bt.New(t)
	bt.Do(t, cust, "customer picks a group",
		chromedp.Navigate(h.URL+"/chat"),
		chromedp.WaitVisible(`//div[@id="groups"]/button[text()="宽带售后"]`),
		chromedp.Click(`//div[@id="groups"]/button[text()="宽带售后"]`),
		chromedp.WaitVisible("#composer"),
	)
	bt.Do(t, agent, "agent accepts the offer",
		chromedp.WaitVisible(".offer-card button.accept"),
		chromedp.Click(".offer-card button.accept"),
		chromedp.WaitVisible("#composer-input"),
	)
	bt.Do(t, cust, "customer sees the agent join and writes",
		chromedp.WaitVisible(`//div[contains(@class,"system") and contains(.,"王芳")]`),
		chromedp.SendKeys("#input", "你好，我家宽带没信号了\n"),
		chromedp.WaitVisible(`//div[contains(@class,"msg in") and not(contains(@class,"pending")) and contains(.,"没信号")]`),
	)
	bt.Do(t, agent, "agent receives and replies",
		chromedp.WaitVisible(`//div[contains(@class,"bubble in") and contains(.,"没信号")]`),
		chromedp.SendKeys("#composer-input", "您好，请重启一下光猫试试"),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.WaitVisible(`//div[contains(@class,"bubble out") and contains(.,"重启")]`),
	)
	bt.Do(t, cust, "customer receives the reply",
		chromedp.WaitVisible(`//div[contains(@class,"msg out") and contains(.,"重启一下光猫")]`),
	)

	// Script in a message is shown as text on both sides, never run.
	payload := `<img src=x onerror="window.__xss=1">`
	bt.Do(t, cust, "customer sends markup",
		chromedp.SendKeys("#input", payload+"\n"),
		chromedp.WaitVisible(`//div[contains(@class,"msg in") and not(contains(@class,"pending")) and contains(.,"onerror")]`),
	)
	bt.Do(t, agent, "agent sees it as text", chromedp.WaitVisible(`//div[contains(@class,"bubble in") and contains(.,"onerror")]`))
	for _, ctx := range []contextT{agent, cust} {
		if ran := bt.Get(t, ctx, chromedp.Evaluate[bool](`window.__xss === 1 || !!document.querySelector('.bubble img[src="x"], .msg img[src="x"]')`)); ran {
			t.Fatal("markup in a message was parsed or run")
		}
	}

	// The agent closes; the customer rates.
	bt.Do(t, agent, "agent closes", chromedp.Click("#close-conv"))
	bt.Do(t, cust, "customer rates",
		chromedp.WaitVisible("#rate"),
		chromedp.Click(`//div[@id="stars"]/button[5]`),
		chromedp.SendKeys(`#rate input[name=comment]`, "很快解决了"),
		chromedp.Click(`#rate button[type=submit]`),
		chromedp.WaitVisible("#thanks"),
	)
	var convs struct {
		Conversations []struct {
			Status string
			Rating *struct {
				Score   int
				Comment string
			}
			MessageCount int `json:"message_count"`
		}
	}
	h.Do("GET", "/api/v1/conversations?channel=webchat", h.AdminToken, nil, &convs)
	if len(convs.Conversations) != 1 || convs.Conversations[0].Status != "closed" || convs.Conversations[0].Rating == nil || convs.Conversations[0].Rating.Score != 5 {
		t.Fatalf("stored conversation: %+v", convs)
	}
	if !strings.Contains(bt.Text(t, cust, "#messages"), "会话已结束") {
		dumpMessages(t, h)
		t.Fatal("customer was not told the conversation ended")
	}
}

func dumpMessages(t *testing.T, h *hubtest.Hub) {
	var convs struct{ Conversations []struct{ ID string } }
	h.Do("GET", "/api/v1/conversations", h.AdminToken, nil, &convs)
	for _, c := range convs.Conversations {
		_, b := h.Raw("GET", "/api/v1/conversations/"+c.ID+"/messages", h.AdminToken, nil)
		t.Logf("%s", b)
	}
}
