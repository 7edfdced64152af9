package webchat

import (
	"strings"
	"testing"
	"time"
)

// TestVisitorTokens: a token proves its visitor until it expires; a changed
// payload, a changed signature or a token from the future is refused.
func TestVisitorTokens(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &Service{secret: []byte("0123456789abcdef0123456789abcdef"), now: func() time.Time { return now }}
	v := visitor{tenant: "acme", id: "0123456789abcdef0123456789abcdef", user: "cust-1", name: "陈先生", issued: now}
	tok := s.token(v)
	got, err := s.verify(tok)
	if err != nil || got.tenant != v.tenant || got.id != v.id || got.user != v.user || got.name != v.name {
		t.Fatalf("verify: %+v %v", got, err)
	}
	// Another hub's secret signs different tokens.
	other := &Service{secret: []byte("another secret"), now: s.now}
	if _, err := other.verify(tok); err == nil {
		t.Fatal("a token verified under another secret")
	}
	forged := other.token(visitor{tenant: "acme", id: v.id, issued: now})
	if _, err := s.verify(forged); err == nil {
		t.Fatal("a token signed with another secret was accepted")
	}
	p, sig, _ := strings.Cut(tok, ".")
	for name, bad := range map[string]string{
		"no signature":      p,
		"empty":             "",
		"payload changed":   p[:len(p)-2] + "AA." + sig,
		"signature changed": p + "." + sig[:len(sig)-2] + "AA",
		"three parts":       p + "." + sig + ".x",
		"too long":          strings.Repeat("A", maxTokenLen+1),
	} {
		if _, err := s.verify(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// It expires after VisitorTokenTTL.
	now = now.Add(VisitorTokenTTL - time.Second)
	if _, err := s.verify(tok); err != nil {
		t.Fatalf("just before expiry: %v", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := s.verify(tok); err == nil {
		t.Fatal("an expired token was accepted")
	}
	// A token issued in the future (clock skew beyond 5 minutes) is refused.
	now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(-10 * time.Minute)
	if _, err := s.verify(tok); err == nil {
		t.Fatal("a token from the future was accepted")
	}
}
