package webchat_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	bt "github.com/omnihub/hub/internal/browsertest"
	"github.com/omnihub/hub/internal/hubtest"
)

// TestHandoverLineAfterCustomersRequest: the customer types 转人工 to the
// bot; the stored conversation (as the agent and the history read it, and
// as the page gets it on a sync) has the customer's message first and the
// "transferring you to a human agent" line after it.
func TestHandoverLineAfterCustomersRequest(t *testing.T) {
	for _, words := range []string{"转人工", "我要人工客服"} {
		t.Run(words, func(t *testing.T) {
			h := hubtest.Start(t, hubtest.Options{})
			g := botGroup(t, h)
			cu := newCustomer(t, h)
			cu.send(frame{Type: "start", Group: g})
			st := cu.expect("started").Conversation
			if st.Status != "bot" {
				t.Fatalf("conversation status %q, want bot", st.Status)
			}
			greeting := cu.expect("message").Message // the bot's greeting
			cu.send(frame{Type: "message", ClientID: "h-1", Body: words})
			for {
				f := cu.expect("message")
				if f.Message.Kind == "system" && strings.Contains(f.Message.Body, "转接人工") {
					break
				}
			}

			var got struct {
				Messages []struct {
					ID, Body, Kind string
					Direction      string
				}
			}
			if code := h.Do("GET", "/api/v1/conversations/"+st.ID+"/messages?after="+greeting.ID, h.AdminToken, nil, &got); code != 200 {
				t.Fatalf("messages: %d", code)
			}
			order := func() []string {
				var s []string
				for _, m := range got.Messages {
					s = append(s, m.Kind+":"+m.Body)
				}
				return s
			}
			if len(got.Messages) < 2 || got.Messages[0].Body != words || got.Messages[0].Direction != "in" ||
				got.Messages[1].Kind != "system" || !strings.Contains(got.Messages[1].Body, "转接人工") {
				t.Fatalf("stored after the greeting: %q; want the customer's %q, then the transfer line", order(), words)
			}

			// The page reads the same order on a sync.
			cu.send(frame{Type: "sync", After: greeting.ID})
			sy := cu.expect("sync")
			if len(sy.Messages) < 2 || sy.Messages[0].Body != words || !strings.Contains(sy.Messages[1].Body, "转接人工") {
				t.Fatalf("sync after the greeting: %+v", sy.Messages)
			}
		})
	}
}

// TestHandoverOnPageWhenTheAckIsLost: the customer types 转人工 and the
// connection drops before the hub's answer reaches the page. After the
// reconnect the page shows the customer's message once, above the transfer
// line, as stored.
func TestHandoverOnPageWhenTheAckIsLost(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := botGroup(t, h)
	cu := bt.New(t)
	bt.Do(t, cu, "ask for a human and lose the connection",
		chromedp.Navigate(h.URL+"/chat?group="+g),
		chromedp.WaitVisible(`//div[contains(@class,"msg out") and contains(.,"智能助手")]`),
		// Sent, then the socket closes at once: the hub stores the message
		// and hands over, but the ack and the line are lost with the socket.
		bt.Exec(`document.getElementById('input').value = '转人工', document.getElementById('composer').requestSubmit(), hubChat.drop(), true`),
		chromedp.WaitVisible(`//div[contains(@class,"system") and contains(.,"转接人工")]`),
		chromedp.Poll[chromedp.Void](`hubChat.pending() === 0`),
	)
	got := bt.Get(t, cu, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#messages .msg')].map((b) => b.textContent)`))
	var order []string
	for _, s := range got {
		switch {
		case s == "转人工":
			order = append(order, "customer")
		case strings.Contains(s, "转接人工"):
			order = append(order, "transfer")
		}
	}
	if strings.Join(order, ",") != "customer,transfer" {
		t.Fatalf("page shows %q; want the customer's 转人工 once, then the transfer line", got)
	}
}
