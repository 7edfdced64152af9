package httpapi

import (
	"net"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Origins are the web origins whose pages may open the hub's
// cookie-authenticated sockets: the hub's public URL and the configured
// allowed origins. With no public URL the host the request came to (its
// Host header, or X-Forwarded-Host from a trusted proxy) is the hub's own.
// A nil *Origins allows only that host.
type Origins struct {
	public  string          // normalised public origin, "" when not configured
	allowed map[string]bool // normalised allowed origins
}

// NewOrigins builds the policy from public_url and allowed_origins.
func NewOrigins(publicURL string, allowed []string) *Origins {
	o := &Origins{public: normOrigin(publicURL), allowed: map[string]bool{}}
	for _, a := range allowed {
		if n := normOrigin(a); n != "" {
			o.allowed[n] = true
		}
	}
	return o
}

// Allow reports whether the request's Origin may open a cookie-authenticated
// socket. A request without Origin does not come from a browser page
// (browsers always send it on a WebSocket handshake), so it cannot be a
// cross-site attack and is allowed; "null" and unparsable origins are not.
func (o *Origins) Allow(c *fiber.Ctx) bool {
	raw := c.Get(fiber.HeaderOrigin)
	if raw == "" {
		return true
	}
	origin := normOrigin(raw)
	if origin == "" {
		return false
	}
	if o != nil {
		if o.allowed[origin] {
			return true
		}
		if o.public != "" {
			return origin == o.public
		}
	}
	_, hostport, _ := strings.Cut(origin, "://")
	return hostport == normHostPort(c.Hostname(), c.Protocol())
}

// normOrigin returns scheme://host[:port] in lower case without a default
// port, or "" when s is not an http(s) origin.
func normOrigin(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme + "://" + normHostPort(u.Host, scheme)
}

// normHostPort lower-cases host and drops the scheme's default port.
func normHostPort(hostport, scheme string) string {
	hostport = strings.ToLower(hostport)
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return hostport
}
