package webchat_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	bt "github.com/omnihub/hub/internal/browsertest"
	"github.com/omnihub/hub/internal/hubtest"
)

// TestBotFirstThenHuman: the customer's question is answered by the FAQ
// bot, the customer asks for a human, and the agent sees the bot exchange
// and a knowledge-base suggestion, which they insert and send.
func TestBotFirstThenHuman(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	for _, a := range []map[string]any{
		{"question": "宽带没有信号怎么办", "answer": "<p>请先检查光猫的光信号灯，如果红灯闪烁请重启光猫，仍不行请报修。</p>", "category": "宽带/故障"},
		{"question": "怎么交宽带费", "answer": "<p>可在营业厅、网上营业厅或微信公众号缴费。</p>", "category": "宽带/缴费"},
		{"question": "如何修改WiFi密码", "answer": "<p>登录路由器管理页面192.168.1.1，在无线设置中修改。</p>", "category": "宽带/使用"},
	} {
		if st := h.Do("POST", "/api/v1/kb/articles", h.AdminToken, a, nil); st != 201 && st != 200 {
			t.Fatalf("article: %d", st)
		}
	}
	g := group(t, h, "宽带客服", map[string]any{"offer_timeout_s": 120})
	setupAgent(t, h, g, "agent.kb", "吴敏")
	agent := agentInbox(t, h, "agent.kb")

	cu := bt.New(t)
	bt.Do(t, cu, "customer asks the bot",
		chromedp.Navigate(h.URL+"/chat?group="+g),
		chromedp.WaitVisible(`//div[contains(@class,"msg out") and contains(.,"智能助手")]`),
		chromedp.SendKeys("#input", "家里的宽带突然没有信号了怎么办\n"),
		// The bot answers, or offers the closest questions when unsure.
		chromedp.WaitVisible(`//div[contains(@class,"msg out") and contains(.,"重启光猫")] | //button[@class="choice"]`),
		bt.Exec(`(b => b && b.click())(document.querySelector('button.choice'))`),
		chromedp.WaitVisible(`//div[contains(@class,"msg out") and contains(.,"重启光猫")]`),
		chromedp.WaitVisible(`//div[contains(@class,"helpful")]/button[@data-helpful="true"]`),
		chromedp.Click(`//div[contains(@class,"helpful")]/button[@data-helpful="true"]`),
		chromedp.Click("#human"),
		chromedp.WaitVisible(`//div[contains(@class,"system") and contains(.,"转接人工")]`),
	)
	bt.Do(t, agent, "agent sees the bot exchange and a suggestion",
		chromedp.WaitVisible(".offer-card button.accept"),
		chromedp.Click(".offer-card button.accept"),
		chromedp.WaitVisible(`//div[contains(@class,"bubble") and contains(.,"重启光猫")]`),
		chromedp.WaitVisible(`//ul[@id="kb-hits"]/li[contains(.,"宽带没有信号怎么办")]`),
		chromedp.Click(`//ul[@id="kb-hits"]/li[contains(.,"宽带没有信号怎么办")]/button`),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.WaitVisible(`//div[contains(@class,"bubble out") and contains(.,"光信号灯")]`),
	)
	bt.Do(t, cu, "customer receives the inserted answer from the agent",
		chromedp.WaitVisible(`//div[contains(@class,"msg out")]/span[@class="who" and text()="吴敏"]`),
	)
}
