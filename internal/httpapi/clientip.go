package httpapi

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// TrustedProxies are the reverse proxies allowed to say who the client is
// (X-Forwarded-For).
//
// fiber v2.52 (Ctx.IP with ProxyHeader, EnableTrustedProxyCheck and
// EnableIPValidation) honours the header only from a trusted peer, but then
// returns its leftmost address, which is whatever the client wrote: a proxy
// that appends to the header (nginx's $proxy_add_x_forwarded_for, most load
// balancers) passes a forged "X-Forwarded-For: 1.2.3.4" on as
// "1.2.3.4, <real client>". Middleware therefore rewrites the header of a
// trusted peer's request to the one address that a trusted proxy saw: walking
// from the right, the first address that is not itself a trusted proxy.
// Requests from other peers lose the header, so Ctx.IP is their own address.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies parses addresses and CIDRs (trusted_proxies).
func ParseTrustedProxies(list []string) (*TrustedProxies, error) {
	t := &TrustedProxies{}
	for _, s := range list {
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			t.prefixes = append(t.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		a = a.Unmap()
		t.prefixes = append(t.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return t, nil
}

// FiberList is the list for fiber.Config.TrustedProxies, normalised the
// way fiber compares peers (net.IP.String).
func (t *TrustedProxies) FiberList() []string {
	out := make([]string, 0, len(t.prefixes))
	for _, p := range t.prefixes {
		if p.IsSingleIP() {
			out = append(out, p.Addr().String())
		} else {
			out = append(out, p.String())
		}
	}
	return out
}

// Contains reports whether a is a trusted proxy.
func (t *TrustedProxies) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Middleware sets X-Forwarded-For to the client address as described on
// TrustedProxies, or removes it; it runs before anything reads Ctx.IP.
func (t *TrustedProxies) Middleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := &c.Request().Header
		xff := h.Peek(fiber.HeaderXForwardedFor)
		if len(xff) == 0 {
			return c.Next()
		}
		peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
		if !ok || !t.Contains(peer) {
			h.Del(fiber.HeaderXForwardedFor)
			return c.Next()
		}
		if client := t.client(string(xff)); client != "" {
			h.Set(fiber.HeaderXForwardedFor, client)
		} else {
			h.Del(fiber.HeaderXForwardedFor)
		}
		return c.Next()
	}
}

// client walks the hops from the right (nearest) and returns the first
// that is not a trusted proxy; "" when the nearest hop is unreadable (the
// peer's own address is used then). When every hop is a trusted proxy the
// leftmost is the client.
func (t *TrustedProxies) client(xff string) string {
	hops := strings.Split(xff, ",")
	last := ""
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			return last
		}
		last = a.String()
		if !t.Contains(a) {
			return last
		}
	}
	return last
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a
// port ("1.2.3.4:5678", "[::1]:80").
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}
