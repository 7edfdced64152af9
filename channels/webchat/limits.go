package webchat

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/internal/httpapi"
	"github.com/omnihub/hub/internal/ratelimit"
	"github.com/omnihub/hub/internal/store"
)

// Limit is the rate of one anonymous operation: per source address within
// a tenant, and per tenant over all sources (what a crowd of addresses can
// do together).
type Limit struct {
	PerSource ratelimit.Rate
	PerTenant ratelimit.Rate
}

// Limits bound what visitors, who have no account, can make the hub do.
// The source address is fiber's c.IP(), which honours trusted_proxies.
type Limits struct {
	Session Limit // POST /api/v1/webchat/session
	Start   Limit // starting a conversation on the customer socket
	Upload  Limit // POST /api/v1/webchat/upload
	Leave   Limit // POST /api/v1/webchat/leave-message

	// ExemptLoopback lets connections from the hub's own host that carry no
	// forwarding header through unlimited: load tests (cmd/hubload) and
	// local tools. A request relayed by a proxy on the same host carries
	// X-Forwarded-For and is limited; unless the proxy is listed in
	// trusted_proxies, all its visitors then share the proxy's address.
	ExemptLoopback bool
}

// DefaultLimits are generous for people and tight for scripts: a page load
// costs one session; a visitor starts a handful of conversations, sends a
// few images and leaves a message or two.
func DefaultLimits() Limits {
	return Limits{
		Session: Limit{PerSource: ratelimit.Rate{Burst: 20, Every: time.Second}, PerTenant: ratelimit.Rate{Burst: 300, Every: 20 * time.Millisecond}},
		Start:   Limit{PerSource: ratelimit.Rate{Burst: 10, Every: 6 * time.Second}, PerTenant: ratelimit.Rate{Burst: 300, Every: 20 * time.Millisecond}},
		Upload:  Limit{PerSource: ratelimit.Rate{Burst: 20, Every: 3 * time.Second}, PerTenant: ratelimit.Rate{Burst: 200, Every: 50 * time.Millisecond}},
		Leave:   Limit{PerSource: ratelimit.Rate{Burst: 5, Every: time.Minute}, PerTenant: ratelimit.Rate{Burst: 100, Every: 200 * time.Millisecond}},

		ExemptLoopback: true,
	}
}

// op names an anonymous operation.
type op int

const (
	opSession op = iota
	opStart
	opUpload
	opLeave
	nOps
)

var opNames = [nOps]string{"sessions", "new conversations", "uploads", "left messages"}

type limiters struct {
	cfg       Limits
	perSource [nOps]*ratelimit.Limiter
	perTenant [nOps]*ratelimit.Limiter
}

// SetLimits replaces the limits (and forgets every bucket). Tests tune them
// on a running hub.
func (s *Service) SetLimits(l Limits) {
	ls := &limiters{cfg: l}
	for i, lim := range [nOps]Limit{l.Session, l.Start, l.Upload, l.Leave} {
		ls.perSource[i] = ratelimit.New(lim.PerSource, ratelimit.Options{MaxKeys: 50_000, Now: s.now})
		ls.perTenant[i] = ratelimit.New(lim.PerTenant, ratelimit.Options{MaxKeys: 10_000, Now: s.now})
	}
	s.limits.Store(ls)
}

// source is where an anonymous request comes from.
type source struct {
	ip     string
	exempt bool
}

// proxyHeaders mark a request relayed by a proxy. X-Forwarded-For alone is
// not enough: the hub drops it from peers not listed in trusted_proxies
// before any handler runs, and the other headers are what nginx, Caddy,
// Traefik and most load balancers add beside it.
var proxyHeaders = []string{fiber.HeaderXForwardedFor, "X-Real-Ip", "Forwarded", fiber.HeaderXForwardedProto, fiber.HeaderXForwardedHost, "Via"}

// sourceOf is the request's source. A direct connection from loopback is
// exempt when the limits say so; a relayed one never is.
func (s *Service) sourceOf(c *fiber.Ctx) source {
	ip := c.IP()
	proxied := false
	for _, h := range proxyHeaders {
		if len(c.Request().Header.Peek(h)) > 0 {
			proxied = true
			break
		}
	}
	loop := false
	if a := net.ParseIP(ip); a != nil {
		loop = a.IsLoopback()
	}
	if loop && proxied {
		s.proxyLog.Do(func() {
			s.log.Warn("web chat requests arrive through a proxy that is not trusted: all its visitors share its address for rate limits; list it in trusted_proxies", "ip", ip)
		})
	}
	return source{ip: ip, exempt: loop && !proxied && s.limits.Load().cfg.ExemptLoopback}
}

// limitedError is a refused anonymous operation.
type limitedError struct {
	what       string
	retryAfter time.Duration
}

func (e *limitedError) Error() string {
	return fmt.Sprintf("too many %s, retry in %s", e.what, e.retryAfter.Round(time.Second))
}

// allowSource takes a token for o from the source's bucket within tenant
// (a name the caller sent, not yet checked: it only keys the bucket).
func (s *Service) allowSource(o op, src source, tenant store.TenantID) error {
	if src.exempt {
		return nil
	}
	if ok, retry := s.limits.Load().perSource[o].Allow(src.ip + "\x00" + string(tenant)); !ok {
		return &limitedError{what: opNames[o], retryAfter: retry}
	}
	return nil
}

// allowTenant takes a token for o from a known tenant's bucket. It is asked
// after the source's, so one source spending its own allowance does not
// spend the tenant's.
func (s *Service) allowTenant(o op, src source, tenant store.TenantID) error {
	if src.exempt {
		return nil
	}
	if ok, retry := s.limits.Load().perTenant[o].Allow(string(tenant)); !ok {
		return &limitedError{what: opNames[o] + " for this site", retryAfter: retry}
	}
	return nil
}

// allow checks both buckets of a visitor whose token named the tenant.
func (s *Service) allow(o op, src source, tenant store.TenantID) error {
	if err := s.allowSource(o, src, tenant); err != nil {
		return err
	}
	return s.allowTenant(o, src, tenant)
}

// tooMany answers 429 with Retry-After (whole seconds, at least 1) and the
// JSON envelope.
func tooMany(c *fiber.Ctx, err error) error {
	le, ok := err.(*limitedError)
	if !ok {
		return err
	}
	secs := int(le.retryAfter.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return &httpapi.Error{Status: fiber.StatusTooManyRequests, Code: "rate_limited", Message: le.Error()}
}

// limitUpload guards POST /upload: the token names the tenant, the source
// and tenant buckets decide before the upload is handled.
func (s *Service) limitUpload(c *fiber.Ctx) error {
	v, _, err := s.visitorFrom(c)
	if err != nil {
		return err
	}
	if err := s.allow(opUpload, s.sourceOf(c), v.tenant); err != nil {
		return tooMany(c, err)
	}
	return c.Next()
}
