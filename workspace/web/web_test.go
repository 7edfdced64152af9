package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	bt "github.com/omnihub/hub/internal/browsertest"
	"github.com/omnihub/hub/internal/hubtest"
)

func TestLoginAndConsoleInBrowser(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := bt.New(t)

	bt.Do(t, ctx, "wrong password shows an error",
		chromedp.Navigate(h.URL+"/"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#username", "admin"),
		chromedp.SendKeys("#password", "wrong-password"),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#login-error"),
	)
	if got := bt.Text(t, ctx, "#login-error"); !strings.Contains(got, "用户名或密码错误") {
		t.Fatalf("error text %q", got)
	}

	bt.Do(t, ctx, "login opens the console",
		chromedp.SendKeys("#password", hubtest.AdminPassword),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#title-form"),
	)
	title, nav := bt.Text(t, ctx, "#product-title"), bt.Text(t, ctx, "#nav")
	if title == "" || !strings.Contains(nav, "登录日志") || !strings.Contains(nav, "坐席与用户") {
		t.Fatalf("console: title %q nav %q", title, nav)
	}

	// A hostile product title is shown as text, never run.
	payload := `<img src=x onerror="window.__xss=1">`
	bt.Do(t, ctx, "set product title",
		chromedp.SetValue("#title-input", payload),
		chromedp.Click("#title-form button[type=submit]"),
		chromedp.WaitVisible("#toast"),
		chromedp.Reload(),
		chromedp.WaitVisible("#title-form"),
	)
	shown := bt.Text(t, ctx, "#product-title")
	xss := bt.Get(t, ctx, chromedp.Evaluate[bool](`window.__xss === 1 || document.querySelector('#product-title img') !== null`))
	if shown != payload || xss {
		t.Fatalf("title shown %q, script ran or markup parsed: %v", shown, xss)
	}

	// Create a skill group and an agent in it through the forms.
	bt.Do(t, ctx, "create group",
		chromedp.Navigate(h.URL+"/app#groups"),
		chromedp.WaitVisible("#group-form"),
		chromedp.SendKeys("#group-form input[name=name]", "售后服务"),
		chromedp.Click("#group-form button[type=submit]"),
		chromedp.WaitVisible(`//td[text()="售后服务"]`),
	)
	bt.Do(t, ctx, "create agent",
		chromedp.Navigate(h.URL+"/app#users"),
		chromedp.WaitVisible("#user-form"),
		chromedp.SendKeys("#user-form input[name=username]", "li.na"),
		chromedp.SendKeys("#user-form input[name=name]", "李娜"),
		chromedp.SendKeys("#user-form input[name=password]", "agent-pass-1"),
		chromedp.SendKeys("#user-form input[name=employee_no]", "A2001"),
		chromedp.Click("#user-form input[name=group]"),
		chromedp.Click("#user-form button[type=submit]"),
		chromedp.WaitVisible(`//td[text()="李娜"]`),
	)
	if users := bt.Text(t, ctx, "#users-table"); !strings.Contains(users, "售后服务 (L1)") || !strings.Contains(users, "A2001") {
		t.Fatalf("users table: %q", users)
	}

	// The login log shows the attempts with their IP; English on request.
	bt.Do(t, ctx, "login log",
		chromedp.Navigate(h.URL+"/app#audit"),
		chromedp.WaitVisible("#audit-table tbody tr"),
	)
	if audit := bt.Text(t, ctx, "#audit-table"); !strings.Contains(audit, "127.0.0.1") || !strings.Contains(audit, "密码错误") {
		t.Fatalf("audit table: %q", audit)
	}
	bt.Do(t, ctx, "language", chromedp.Click("#lang-toggle"), chromedp.WaitVisible(`//nav/a[text()="Login log"]`))
	if navEN := bt.Text(t, ctx, "#nav"); !strings.Contains(navEN, "Overview") {
		t.Fatalf("english nav: %q", navEN)
	}

	// An agent sees neither the user admin nor the login log of others.
	agent := bt.New(t)
	bt.Do(t, agent, "agent console",
		chromedp.Navigate(h.URL+"/login"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#username", "li.na"),
		chromedp.SendKeys("#password", "agent-pass-1"),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#nav a"),
	)
	if agentNav := bt.Text(t, agent, "#nav"); strings.Contains(agentNav, "登录日志") || strings.Contains(agentNav, "坐席与用户") || !strings.Contains(agentNav, "我的账号") {
		t.Fatalf("agent nav: %q", agentNav)
	}
	bt.Do(t, agent, "keyboard shortcut Alt+4 opens my account",
		chromedp.KeyEvent("4", chromedp.KeyModifiers(chromedp.ModifierAlt)),
		chromedp.WaitVisible("#my-logins tbody tr"),
	)
	if mine := bt.Text(t, agent, "#my-logins"); !strings.Contains(mine, "li.na") {
		t.Fatalf("my logins: %q", mine)
	}
}
