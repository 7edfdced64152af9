package webchat_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	bt "github.com/omnihub/hub/internal/browsertest"
	"github.com/omnihub/hub/internal/hubtest"
)

// botGroup makes a group whose web chats the FAQ bot answers first (the
// knowledge base has an article).
func botGroup(t *testing.T, h *hubtest.Hub) string {
	t.Helper()
	a := map[string]any{"question": "怎么交宽带费", "answer": "<p>可在营业厅、网上营业厅或微信公众号缴费。</p>", "category": "宽带/缴费"}
	if st := h.Do("POST", "/api/v1/kb/articles", h.AdminToken, a, nil); st != 201 && st != 200 {
		t.Fatalf("article: %d", st)
	}
	return group(t, h, "宽带客服", nil)
}

// expectRaw reads frames until one of type typ arrives and returns it as
// the hub wrote it.
func expectRaw(cu *customer, typ string) []byte {
	cu.t.Helper()
	_ = cu.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := cu.c.ReadMessage()
		if err != nil {
			cu.t.Fatalf("waiting for %s: %v", typ, err)
		}
		var f struct{ Type string }
		if err := json.Unmarshal(b, &f); err != nil {
			cu.t.Fatalf("frame %s: %v", b, err)
		}
		if f.Type == typ {
			return b
		}
	}
}

// TestSyncWithNothingNewSendsEmptyList: a reconnecting page that asks for
// what it missed, when nothing is new, gets "messages":[] (never a frame
// without the list, which the page cannot iterate).
func TestSyncWithNothingNewSendsEmptyList(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := botGroup(t, h)
	cu := newCustomer(t, h)
	cu.send(frame{Type: "start", Group: g})
	cu.expect("started")
	last := cu.expect("message").Message // the bot's greeting, the last message
	cu.send(frame{Type: "sync", After: last.ID})
	b := expectRaw(cu, "sync")
	var f map[string]json.RawMessage
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if got := string(f["messages"]); got != "[]" {
		t.Fatalf("sync with nothing new: %s (want \"messages\":[])", b)
	}
}

// TestPageReconnectsWithNothingNew: the page's connection drops while
// nothing new happens; on reconnect its sync brings no messages, and the
// page handles that without an error.
func TestPageReconnectsWithNothingNew(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := botGroup(t, h)
	cu := bt.New(t)
	// Subscribed before the page loads: every console message and uncaught
	// exception of the tab, in order.
	cctx, stop := context.WithTimeout(cu, time.Minute)
	defer stop()
	console := chromedp.Console(cctx)
	bt.Do(t, cu, "open the chat and drop the connection",
		chromedp.Navigate(h.URL+"/chat?group="+g),
		chromedp.WaitVisible(`//div[contains(@class,"msg out") and contains(.,"智能助手")]`),
		// Record the type of each frame a socket receives, after the page
		// has handled it (the listener is added after the page's own, at
		// the socket's first send).
		bt.Exec(`(() => {
			window.__handled = [];
			const send = WebSocket.prototype.send;
			WebSocket.prototype.send = function (d) {
				if (!this.__watched) {
					this.__watched = true;
					this.addEventListener('message', (ev) => window.__handled.push(JSON.parse(ev.data).type));
				}
				return send.call(this, d);
			};
			return true;
		})()`),
		bt.Exec(`hubChat.drop(), true`),
		// The page reconnects and syncs after its last message.
		chromedp.Poll[chromedp.Void](`window.__handled.includes('sync')`),
		bt.Exec(`console.log('reconnect-checked'), true`),
	)
	var thrown []string
	for m, err := range console {
		if err != nil {
			t.Fatalf("console: %v", err)
		}
		if m.IsException() {
			thrown = append(thrown, m.Text)
		}
		if m.Text == "reconnect-checked" {
			break
		}
	}
	if len(thrown) > 0 {
		t.Fatalf("the page threw on a reconnect with nothing new: %s", strings.Join(thrown, "; "))
	}
}
