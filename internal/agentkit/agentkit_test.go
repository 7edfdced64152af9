package agentkit_test

import (
	"testing"

	"github.com/omnihub/hub/internal/hubtest"
)

func TestQuickRepliesAndCodes(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	h.Do("POST", "/api/v1/users", h.AdminToken, map[string]any{"username": "a1", "password": "agent-pass-1", "role": "agent"}, nil)
	h.Do("POST", "/api/v1/users", h.AdminToken, map[string]any{"username": "a2", "password": "agent-pass-1", "role": "agent"}, nil)
	a1, a2 := h.Login("", "a1", "agent-pass-1"), h.Login("", "a2", "agent-pass-1")

	var mine struct{ ID string }
	if st := h.Do("POST", "/api/v1/quick-replies", a1, map[string]any{"shortcut": "/hi", "title": "问候", "body": "您好，请问有什么可以帮您？"}, &mine); st != 200 {
		t.Fatalf("personal reply: %d", st)
	}
	if st := h.Do("POST", "/api/v1/quick-replies", a1, map[string]any{"shortcut": "bye", "body": "再见", "team": true}, nil); st != 403 {
		t.Fatalf("agent made a team reply: %d", st)
	}
	// A team reply belongs to no one, whatever owner the request names.
	var team struct{ Owner string }
	if st := h.Do("POST", "/api/v1/quick-replies", h.AdminToken, map[string]any{"shortcut": "reboot", "body": "请重启光猫后再试", "team": true, "owner": "someone"}, &team); st != 200 || team.Owner != "" {
		t.Fatalf("team reply: %d, owner %q", st, team.Owner)
	}
	var e struct{ Error struct{ Field string } }
	if st := h.Do("POST", "/api/v1/quick-replies", a1, map[string]any{"shortcut": "bad shortcut!", "body": "x"}, &e); st != 400 || e.Error.Field != "shortcut" {
		t.Fatalf("bad shortcut: %d %+v", st, e)
	}
	var list struct {
		QuickReplies []struct{ Shortcut string } `json:"quick_replies"`
	}
	h.Do("GET", "/api/v1/quick-replies", a2, nil, &list)
	if len(list.QuickReplies) != 1 || list.QuickReplies[0].Shortcut != "reboot" {
		t.Fatalf("a2 sees %+v", list)
	}
	h.Do("GET", "/api/v1/quick-replies", a1, nil, &list)
	if len(list.QuickReplies) != 2 {
		t.Fatalf("a1 sees %+v", list)
	}
	if st := h.Do("DELETE", "/api/v1/quick-replies/"+mine.ID, a2, nil, nil); st != 403 {
		t.Fatalf("a2 deleted a1's reply: %d", st)
	}
	if st := h.Do("DELETE", "/api/v1/quick-replies/"+mine.ID, a1, nil, nil); st != 204 {
		t.Fatalf("delete own reply: %d", st)
	}

	if st := h.Do("POST", "/api/v1/disposition-codes", a1, map[string]any{"purpose": "咨询"}, nil); st != 403 {
		t.Fatalf("agent made a code: %d", st)
	}
	if st := h.Do("POST", "/api/v1/disposition-codes", h.AdminToken, map[string]any{"purpose": "故障报修", "sub_types": []string{"无信号", "光猫"}}, nil); st != 200 {
		t.Fatalf("code: %d", st)
	}
	if st := h.Do("POST", "/api/v1/disposition-codes", h.AdminToken, map[string]any{"purpose": "", "sub_types": []string{}}, &e); st != 400 || e.Error.Field != "purpose" {
		t.Fatalf("empty purpose: %d %+v", st, e)
	}
	var codes struct {
		Codes []struct {
			Purpose  string
			SubTypes []string `json:"sub_types"`
		}
	}
	h.Do("GET", "/api/v1/disposition-codes", a2, nil, &codes)
	if len(codes.Codes) != 1 || len(codes.Codes[0].SubTypes) != 2 {
		t.Fatalf("codes: %+v", codes)
	}
}
