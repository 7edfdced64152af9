package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	bt "github.com/omnihub/hub/internal/browsertest"
	"github.com/omnihub/hub/internal/hubtest"
)

// TestAgentStatusAndLiveMonitor: an agent changes state and takes an offer
// in one browser while a supervisor watches the live monitor in another,
// and approves a break; both pages update without reloads.
func TestAgentStatusAndLiveMonitor(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	var g, u struct{ ID string }
	h.Do("POST", "/api/v1/groups", h.AdminToken, map[string]any{"name": "售后"}, &g)
	h.Do("PUT", "/api/v1/routing/groups/"+g.ID+"/settings", h.AdminToken, map[string]any{"offer_timeout_s": 120}, nil)
	h.Do("POST", "/api/v1/users", h.AdminToken, map[string]any{"username": "zhou.li", "name": "周丽", "password": "agent-pass-1", "role": "agent", "groups": []map[string]any{{"group_id": g.ID}}}, &u)

	sup := bt.New(t)
	bt.Do(t, sup, "supervisor opens the monitor",
		chromedp.Navigate(h.URL+"/login"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#username", "admin"),
		chromedp.SendKeys("#password", hubtest.AdminPassword),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#nav a"),
		chromedp.Navigate(h.URL+"/app#monitor"),
		chromedp.WaitVisible(`//tr[@data-agent]/td[text()="周丽"]`),
		chromedp.WaitVisible(`//span[contains(@class,"live on")]`),
	)

	agent := bt.New(t)
	bt.Do(t, agent, "agent signs in and is ready",
		chromedp.Navigate(h.URL+"/login"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#username", "zhou.li"),
		chromedp.SendKeys("#password", "agent-pass-1"),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#nav a"),
		chromedp.Navigate(h.URL+"/app#routing"),
		chromedp.WaitVisible("#btn-signin"),
		chromedp.Click("#btn-signin"),
		chromedp.WaitVisible(`//dd[@id="my-state"]/span[text()="示闲"]`),
		chromedp.Click("#btn-notready"),
		chromedp.WaitVisible(`//dd[@id="my-state"]/span[text()="示忙"]`),
		chromedp.Click("#btn-ready"),
		chromedp.WaitVisible(`//dd[@id="my-state"]/span[text()="示闲"]`),
	)
	bt.Do(t, sup, "monitor shows the agent ready without reload",
		chromedp.WaitVisible(`//tr[@data-agent="`+u.ID+`"]//span[text()="示闲"]`),
	)

	// A chat arrives: the offer appears live on the agent's page.
	var r struct{ Status string }
	if st := h.Do("POST", "/api/v1/routing/tasks", h.AdminToken, map[string]any{"id": "chat-1", "channel": "webchat", "group_id": g.ID}, &r); st != 201 || r.Status != "offered" {
		t.Fatalf("enqueue: %d %+v", st, r)
	}
	bt.Do(t, agent, "accept the offer",
		chromedp.WaitVisible(`//div[@data-task="chat-1"]`),
		chromedp.Click(`//div[@data-task="chat-1"]/button[1]`),
		chromedp.WaitVisible("#my-tasks"),
	)
	if load := bt.Text(t, agent, "#my-load"); load != "25/100" {
		t.Fatalf("load after accepting a chat: %q", load)
	}

	// Break: requested by the agent, approved live by the supervisor.
	bt.Do(t, agent, "request a break",
		chromedp.Click("#btn-break"),
		chromedp.WaitVisible("#break-pending"),
	)
	bt.Do(t, sup, "approve the break",
		chromedp.WaitVisible(`//tr[@data-agent="`+u.ID+`"]//button[contains(@class,"approve")]`),
		chromedp.Click(`//tr[@data-agent="`+u.ID+`"]//button[contains(@class,"approve")]`),
		chromedp.WaitVisible(`//tr[@data-agent="`+u.ID+`"]//span[text()="小休"]`),
	)
	bt.Do(t, agent, "agent sees the break start", chromedp.WaitVisible(`//dd[@id="my-state"]/span[text()="小休"]`))
	if q := bt.Text(t, sup, "#queues-table"); !strings.Contains(q, "售后") {
		t.Fatalf("queues table: %q", q)
	}
}
