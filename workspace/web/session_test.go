package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	bt "github.com/omnihub/hub/internal/browsertest"
	"github.com/omnihub/hub/internal/hubtest"
)

// The pages follow their sockets' close codes: a session ended elsewhere
// (here: the account disabled by an admin) sends the agent to sign-in with
// the reason shown; a role change is shown, then the page reloads. The
// sockets are cookie-authenticated from the hub's own origin, which the
// origin check lets through.
func TestPagesShowWhySocketsClosed(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	var g struct{ ID string }
	h.Do("POST", "/api/v1/groups", h.AdminToken, map[string]any{"name": "售后"}, &g)
	ids := map[string]string{}
	for _, u := range []string{"wang.fang", "zhao.lei"} {
		var out struct{ ID string }
		if st := h.Do("POST", "/api/v1/users", h.AdminToken, map[string]any{"username": u, "password": "agent-pass-1", "role": "agent",
			"groups": []map[string]any{{"group_id": g.ID}}}, &out); st != 201 {
			t.Fatalf("create %s: %d", u, st)
		}
		ids[u] = out.ID
	}
	signIn := func(user string) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(h.URL + "/login"),
			chromedp.WaitVisible("#login-form"),
			chromedp.SendKeys("#username", user),
			chromedp.SendKeys("#password", "agent-pass-1"),
			chromedp.Click("#login-submit"),
			chromedp.WaitVisible("#nav"),
			chromedp.Navigate(h.URL + "/app#routing"),
			chromedp.WaitVisible("#live-badge .live.on"), // the live stream is open
		}
	}

	ctx := bt.New(t)
	bt.Do(t, ctx, "agent signs in", signIn("wang.fang")...)
	if st := h.Do("PATCH", "/api/v1/users/"+ids["wang.fang"], h.AdminToken, map[string]any{"disabled": true}, nil); st != 200 {
		t.Fatalf("disable: %d", st)
	}
	bt.Do(t, ctx, "sent to sign-in", chromedp.WaitVisible("#login-error"))
	if got := bt.Text(t, ctx, "#login-error"); !strings.Contains(got, "会话已结束") || !strings.Contains(got, "account disabled") {
		t.Fatalf("sign-in page says %q", got)
	}

	ctx2 := bt.New(t)
	bt.Do(t, ctx2, "second agent signs in", signIn("zhao.lei")...)
	if st := h.Do("PATCH", "/api/v1/users/"+ids["zhao.lei"], h.AdminToken, map[string]any{"role": "supervisor"}, nil); st != 200 {
		t.Fatalf("promote: %d", st)
	}
	bt.Do(t, ctx2, "rights change shown", chromedp.WaitVisible("#socket-notice"))
	if got := bt.Text(t, ctx2, "#socket-notice"); !strings.Contains(got, "角色或技能组已变更") {
		t.Fatalf("notice %q", got)
	}
}
