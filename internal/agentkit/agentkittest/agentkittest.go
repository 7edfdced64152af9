// Package agentkittest is the contract every agentkit.Backend meets (the
// embedded SQLite and the MongoDB backends), tenant scoping included.
package agentkittest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/omnihub/hub/internal/agentkit"
	"github.com/omnihub/hub/internal/store"
)

// Run runs the suite; open returns a new, empty backend for each test.
func Run(t *testing.T, open func(t *testing.T) agentkit.Backend) {
	t.Run("QuickReplies", func(t *testing.T) { testReplies(t, open(t)) })
	t.Run("DispositionCodes", func(t *testing.T) { testCodes(t, open(t)) })
	t.Run("NoTenant", func(t *testing.T) { testNoTenant(t, open(t)) })
}

var (
	ctxA = store.WithTenant(context.Background(), "tenant-a")
	ctxB = store.WithTenant(context.Background(), "tenant-b")
	t0   = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
)

func isNotFound(err error) bool { var e *store.NotFoundError; return errors.As(err, &e) }

func shortcuts(rs []agentkit.QuickReply) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Shortcut)
	}
	return out
}

func testReplies(t *testing.T, b agentkit.Backend) {
	reply := func(id, owner string, team bool, shortcut string) agentkit.QuickReply {
		return agentkit.QuickReply{ID: id, Owner: owner, Team: team, Shortcut: shortcut, Title: "t " + shortcut, Body: "您好 " + shortcut, UpdatedAt: t0}
	}
	for _, r := range []agentkit.QuickReply{
		reply("r1", "u1", false, "hi"), reply("r2", "", true, "bye"), reply("r3", "u2", false, "apology"),
		reply("r4", "", true, "reboot"), reply("r5", "u1", false, "address"),
	} {
		if err := b.InsertReply(ctxA, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.InsertReply(ctxB, reply("rb", "", true, "b-team")); err != nil {
		t.Fatal(err)
	}
	list := func(ctx context.Context, owner string) []string {
		t.Helper()
		rs, err := b.Replies(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		return shortcuts(rs)
	}
	if got := list(ctxA, "u1"); !slices.Equal(got, []string{"address", "bye", "hi", "reboot"}) {
		t.Fatalf("u1's replies: %v", got)
	}
	if got := list(ctxA, "u2"); !slices.Equal(got, []string{"apology", "bye", "reboot"}) {
		t.Fatalf("u2's replies: %v", got)
	}
	if got := list(ctxA, "u9"); !slices.Equal(got, []string{"bye", "reboot"}) {
		t.Fatalf("team replies: %v", got)
	}
	if got := list(ctxB, "u1"); !slices.Equal(got, []string{"b-team"}) {
		t.Fatalf("tenant-b: %v", got)
	}
	r, err := b.Reply(ctxA, "r1")
	if err != nil || r.Owner != "u1" || r.Team || r.Body != "您好 hi" || r.Title != "t hi" || !r.UpdatedAt.Equal(t0) {
		t.Fatalf("reply: %+v %v", r, err)
	}
	if _, err := b.Reply(ctxB, "r1"); !isNotFound(err) {
		t.Fatalf("tenant-a's reply read in tenant-b: %v", err)
	}

	up := reply("r1", "u1", false, "hello")
	up.Body = "改了"
	if err := b.ReplaceReply(ctxA, up); err != nil {
		t.Fatal(err)
	}
	if r, _ := b.Reply(ctxA, "r1"); r.Body != "改了" || r.Shortcut != "hello" {
		t.Fatalf("replaced: %+v", r)
	}
	if got := list(ctxA, "u1"); !slices.Equal(got, []string{"address", "bye", "hello", "reboot"}) {
		t.Fatalf("after replace: %v", got)
	}
	evil := reply("r1", "u1", false, "evil")
	if err := b.ReplaceReply(ctxB, evil); !isNotFound(err) {
		t.Fatalf("replace tenant-a's reply through tenant-b: %v", err)
	}
	if err := b.DeleteReply(ctxB, "r1"); !isNotFound(err) {
		t.Fatalf("delete tenant-a's reply through tenant-b: %v", err)
	}
	if r, err := b.Reply(ctxA, "r1"); err != nil || r.Shortcut != "hello" {
		t.Fatalf("tenant-a's reply after tenant-b's attempts: %+v %v", r, err)
	}
	if err := b.ReplaceReply(ctxA, reply("nope", "u1", false, "x")); !isNotFound(err) {
		t.Fatalf("replace missing: %v", err)
	}
	if err := b.DeleteReply(ctxA, "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Reply(ctxA, "r1"); !isNotFound(err) {
		t.Fatalf("deleted reply: %v", err)
	}
	if err := b.DeleteReply(ctxA, "r1"); !isNotFound(err) {
		t.Fatalf("delete twice: %v", err)
	}
}

func testCodes(t *testing.T, b agentkit.Backend) {
	code := func(id, purpose string, order int, subs ...string) agentkit.DispositionCode {
		if subs == nil {
			subs = []string{}
		}
		return agentkit.DispositionCode{ID: id, Purpose: purpose, SubTypes: subs, Order: order}
	}
	for _, c := range []agentkit.DispositionCode{code("c1", "投诉", 2), code("c2", "咨询", 1, "资费", "套餐"), code("c3", "报修", 1, "光猫")} {
		if err := b.InsertCode(ctxA, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.InsertCode(ctxB, code("cb", "B", 0)); err != nil {
		t.Fatal(err)
	}
	list := func(ctx context.Context) []agentkit.DispositionCode {
		t.Helper()
		cs, err := b.Codes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	cs := list(ctxA)
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	// Order first, then purpose (咨 U+54A8 before 报 U+62A5).
	if want := []string{"c2", "c3", "c1"}; !slices.Equal(ids, want) {
		t.Fatalf("codes: %v, want %v", ids, want)
	}
	if !slices.Equal(cs[0].SubTypes, []string{"资费", "套餐"}) || cs[0].Purpose != "咨询" || cs[0].Order != 1 {
		t.Fatalf("code read back: %+v", cs[0])
	}
	if got := list(ctxB); len(got) != 1 || got[0].ID != "cb" {
		t.Fatalf("tenant-b codes: %+v", got)
	}
	if err := b.ReplaceCode(ctxA, code("c1", "投诉", 0, "服务")); err != nil {
		t.Fatal(err)
	}
	if got := list(ctxA); got[0].ID != "c1" || !slices.Equal(got[0].SubTypes, []string{"服务"}) {
		t.Fatalf("after replace: %+v", got)
	}
	if err := b.ReplaceCode(ctxB, code("c1", "evil", 0)); !isNotFound(err) {
		t.Fatalf("replace tenant-a's code through tenant-b: %v", err)
	}
	if err := b.DeleteCode(ctxB, "c1"); !isNotFound(err) {
		t.Fatalf("delete tenant-a's code through tenant-b: %v", err)
	}
	if got := list(ctxA); len(got) != 3 || got[0].Purpose != "投诉" {
		t.Fatalf("tenant-a's codes after tenant-b's attempts: %+v", got)
	}
	if err := b.ReplaceCode(ctxA, code("nope", "x", 0)); !isNotFound(err) {
		t.Fatalf("replace missing: %v", err)
	}
	if err := b.DeleteCode(ctxA, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteCode(ctxA, "c1"); !isNotFound(err) {
		t.Fatalf("delete twice: %v", err)
	}
	if got := list(ctxA); len(got) != 2 {
		t.Fatalf("after delete: %+v", got)
	}
}

func testNoTenant(t *testing.T, b agentkit.Backend) {
	bg := context.Background()
	r := agentkit.QuickReply{ID: "r", Team: true, Shortcut: "x", Body: "x"}
	c := agentkit.DispositionCode{ID: "c", Purpose: "x", SubTypes: []string{}}
	if err := b.InsertReply(ctxA, r); err != nil {
		t.Fatal(err)
	}
	if err := b.InsertCode(ctxA, c); err != nil {
		t.Fatal(err)
	}
	_, errReplies := b.Replies(bg, "u")
	_, errReply := b.Reply(bg, "r")
	_, errCodes := b.Codes(bg)
	for what, err := range map[string]error{
		"Replies": errReplies, "Reply": errReply, "InsertReply": b.InsertReply(bg, r), "ReplaceReply": b.ReplaceReply(bg, r),
		"DeleteReply": b.DeleteReply(bg, "r"), "Codes": errCodes, "InsertCode": b.InsertCode(bg, c),
		"ReplaceCode": b.ReplaceCode(bg, c), "DeleteCode": b.DeleteCode(bg, "c"),
	} {
		if !errors.Is(err, store.ErrNoTenant) {
			t.Errorf("%s without a tenant: %v, want store.ErrNoTenant", what, err)
		}
	}
	if _, err := b.Reply(ctxA, "r"); err != nil {
		t.Fatalf("reply after calls without a tenant: %v", err)
	}
}
