package webchat_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	bt "github.com/omnihub/hub/internal/browsertest"
	"github.com/omnihub/hub/internal/hubtest"
)

func customerPage(t *testing.T, h *hubtest.Hub, group string) contextT {
	t.Helper()
	ctx := bt.New(t)
	bt.Do(t, ctx, "customer opens the chat for a group",
		chromedp.Navigate(h.URL+"/chat?group="+group),
		chromedp.WaitVisible("#composer"),
	)
	return ctx
}

// TestChatFlowsInBrowsers walks the rest of a chat day in real browsers:
// an image, a queue while the agent is full, a dropped connection, the
// disposition required before the next chat, and a transfer.
func TestChatFlowsInBrowsers(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "宽带报修", map[string]any{"offer_timeout_s": 120, "require_disposition": true, "wrap_up_s": 600})
	id := setupAgent(t, h, g, "agent.sun", "孙丽")
	h.Do("PUT", "/api/v1/routing/agents/"+id+"/settings", h.AdminToken, map[string]any{"capacity": 25}, nil) // one chat at a time
	agent := agentInbox(t, h, "agent.sun")

	c1 := customerPage(t, h, g)
	bt.Do(t, agent, "accept the first chat",
		chromedp.WaitVisible(".offer-card button.accept"),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierAlt)), // Alt+A
		chromedp.WaitVisible("#composer-input"),
	)

	// The customer sends an image; the agent sees it.
	png := filepath.Join(t.TempDir(), "modem.png")
	if err := os.WriteFile(png, pngBytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	bt.Do(t, c1, "customer uploads an image",
		chromedp.WaitVisible(`//div[contains(@class,"system") and contains(.,"孙丽")]`),
		chromedp.SetUploadFiles("#image-input", []string{png}),
		chromedp.WaitVisible(`//div[contains(@class,"msg in")]/img`),
	)
	bt.Do(t, agent, "agent sees the image", chromedp.WaitVisible(`//div[contains(@class,"bubble in")]/img`))

	// A second customer waits: the agent is full.
	c2 := customerPage(t, h, g)
	bt.Do(t, c2, "second customer sees the queue position",
		chromedp.WaitVisible(`//div[@id="notice" and @data-position="1"]`),
	)
	// No chat has been handled yet: no wait is promised.
	if txt := bt.Get(t, c2, chromedp.Evaluate[string](`document.getElementById('notice').textContent`)); !strings.Contains(txt, "暂时无法估计等待时间") || strings.Contains(txt, "预计等待") {
		t.Fatalf("queue notice %q", txt)
	}

	// The first customer's connection drops; what they type meanwhile is
	// delivered once after the page reconnects.
	bt.Do(t, c1, "drop the connection and type",
		bt.Exec(`hubChat.drop(), true`),
		chromedp.SendKeys("#input", "断线时发的消息\n"),
		chromedp.WaitVisible(`//div[contains(@class,"msg in") and not(contains(@class,"pending")) and contains(.,"断线时发的消息")]`),
	)
	bt.Do(t, agent, "agent gets it once",
		chromedp.WaitVisible(`//div[contains(@class,"bubble in") and contains(.,"断线时发的消息")]`),
	)
	if n := bt.Get(t, agent, chromedp.Evaluate[int](`[...document.querySelectorAll('.bubble.in')].filter(b => b.textContent.includes('断线时发的消息')).length`)); n != 1 {
		t.Fatalf("message shown %d times", n)
	}

	// Closing the chat puts the agent in wrap-up; the waiting customer is
	// offered only after the disposition and "continue".
	bt.Do(t, agent, "close and wrap up",
		chromedp.Click("#close-conv"),
		chromedp.WaitVisible(`//span[@id="inbox-state" and text()="话后整理"]`),
		chromedp.Click("#sb-continue"),
	)
	if n := bt.Get(t, agent, chromedp.Evaluate[int](`document.querySelectorAll('.offer-card').length`)); n != 0 {
		t.Fatal("offered before the disposition")
	}
	bt.Do(t, agent, "set the disposition",
		chromedp.SendKeys("#disp-purpose", "故障报修"),
		chromedp.SendKeys("#disp-sub", "光猫"),
		chromedp.Click(`#disposition-form button[type=submit]`),
		chromedp.WaitVisible(`//form[@id="disposition-form"]/span[text()="✓"]`),
		chromedp.Click("#sb-continue"),
		chromedp.WaitVisible(".offer-card button.accept"),
		chromedp.Click(".offer-card button.accept"),
		chromedp.WaitVisible("#composer-input"),
	)
	bt.Do(t, c2, "second customer is served", chromedp.WaitVisible(`//div[contains(@class,"system") and contains(.,"孙丽")]`))

	// Transfer to another agent of the group, who answers with a team
	// quick reply typed by its shortcut.
	h.Do("POST", "/api/v1/quick-replies", h.AdminToken, map[string]any{"shortcut": "reboot", "title": "重启光猫", "body": "请先重启光猫，等待两分钟后再试", "team": true}, nil)
	id2 := setupAgent(t, h, g, "agent.zhou", "周强")
	agent2 := agentInbox(t, h, "agent.zhou")
	_ = id2
	bt.Do(t, agent, "transfer to the group", chromedp.Click(`#transfer-form button[type=submit]`))
	bt.Do(t, agent2, "second agent accepts the transfer",
		chromedp.WaitVisible(".offer-card button.accept"),
		chromedp.Click(".offer-card button.accept"),
		chromedp.WaitVisible("#composer-input"),
		chromedp.SendKeys("#composer-input", "我来继续为您处理"),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
	)
	bt.Do(t, c2, "customer talks to the new agent",
		chromedp.WaitVisible(`//div[contains(@class,"system") and contains(.,"周强")]`),
		chromedp.WaitVisible(`//div[contains(@class,"msg out") and contains(.,"我来继续为您处理")]`),
	)
	bt.Do(t, agent2, "quick reply by shortcut",
		chromedp.SendKeys("#composer-input", "/reboot"),
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
	)
	bt.Do(t, c2, "customer gets the quick reply", chromedp.WaitVisible(`//div[contains(@class,"msg out") and contains(.,"等待两分钟")]`))
}

// pngBytes is a valid 1x1 PNG.
func pngBytes() []byte {
	return []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
}

// TestWidgetOnAnotherSite embeds the one-line snippet in a page served from
// another origin and opens the chat from it.
func TestWidgetOnAnotherSite(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "售前", nil)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><body><h1>某宽带公司官网</h1><script src="%s/widget.js" data-group="%s" data-label="在线客服"></script></body></html>`, h.URL, g)
	}))
	defer site.Close()
	ctx := bt.New(t)
	bt.Do(t, ctx, "open the widget",
		chromedp.Navigate(site.URL),
		chromedp.WaitVisible(`//button[text()="在线客服"]`),
		chromedp.Click(`//button[text()="在线客服"]`),
		chromedp.WaitVisible(`iframe[title="在线客服"]`),
	)
	src := bt.Get(t, ctx, chromedp.Evaluate[string](`document.querySelector('iframe').src`))
	if !strings.HasPrefix(src, h.URL+"/chat?") || !strings.Contains(src, "group="+g) {
		t.Fatalf("iframe src %q", src)
	}
}
