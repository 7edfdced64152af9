// Package hubapp assembles the hub: configuration to store, services, HTTP
// server; and runs it until its context ends. cmd/hub is a thin wrapper and
// tests start whole hubs in-process through it.
package hubapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/omnihub/hub/channels/webchat"
	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/acd"
	"github.com/omnihub/hub/internal/agentkit"
	"github.com/omnihub/hub/internal/config"
	"github.com/omnihub/hub/internal/convo"
	"github.com/omnihub/hub/internal/httpapi"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/kb"
	"github.com/omnihub/hub/kb/search"
	"github.com/omnihub/hub/kb/zh"
	"github.com/omnihub/hub/storage/mongo"
	"github.com/omnihub/hub/storage/sqlite"
	"github.com/omnihub/hub/workspace"
	"github.com/omnihub/hub/workspace/web"
)

// Options are what tests (and only tests) change beyond the configuration.
type Options struct {
	Logger     *slog.Logger
	BcryptCost int
	Limits     accounts.LimitPolicy
	// SessionRecheck is how often live sockets recheck their session;
	// default accounts.DefaultRecheckEvery.
	SessionRecheck time.Duration
	// UploadWait is how long an upload waits for one of the upload_slots
	// before it is answered 503 (default 3 s).
	UploadWait time.Duration
}

// Hub is a running hub.
type Hub struct {
	cfg config.Config
	log *slog.Logger
	db  *store.DB
	// sql is the embedded store (nil with MongoDB; db is nil without).
	sql      *sqlitedb.DB
	Accounts *accounts.Service
	History  *history.Store
	ACD      *acd.Service
	Convo    *convo.Service
	WebChat  *webchat.Service
	KB       *kb.Service
	agentKit *agentkit.Service
	app      *fiber.App
	ln       net.Listener
	reg      *prometheus.Registry
	proxies  *httpapi.TrustedProxies
	// metrics serves /metrics on metrics_addr (nil when off).
	metrics    *http.Server
	metricsLn  net.Listener
	uploadWait time.Duration

	// FirstAdmin holds the credentials of an admin created at this start
	// (empty when one existed already).
	FirstAdmin struct{ Username, Password string }
	started    time.Time
}

// New opens the store, prepares the services and binds the HTTP listener.
// Serve runs it.
func New(ctx context.Context, cfg config.Config, o Options) (*Hub, error) {
	start := time.Now()
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	h := &Hub{cfg: cfg, log: o.Logger, reg: prometheus.NewRegistry(), started: start, uploadWait: o.UploadWait}
	// Loading the Chinese dictionary takes a second or two: overlap it with
	// opening the store (the knowledge base waits for it below).
	go func() { _ = zh.Warm() }()
	h.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "hub"}))
	var err error
	// One store: SQLite in the data folder, or MongoDB when a URI is set.
	if cfg.MongoDBURI == "" {
		h.sql, err = sqlitedb.Open(ctx, sqlitedb.Options{Dir: cfg.DataDir, Sync: cfg.EmbeddedSync, Logger: o.Logger, Registerer: h.reg})
	} else {
		h.db, err = store.Open(ctx, store.Options{URI: cfg.MongoDBURI, Logger: o.Logger, Registerer: h.reg})
	}
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = h.closeStores(context.Background())
		}
	}()
	var accountsStore accounts.Backend
	if h.sql != nil {
		accountsStore, err = sqlite.NewAccounts(ctx, h.sql)
	} else {
		accountsStore, err = mongo.NewAccounts(ctx, h.db)
	}
	if err != nil {
		return nil, err
	}
	h.Accounts, err = accounts.New(ctx, accountsStore, accounts.Options{BcryptCost: o.BcryptCost, Limits: o.Limits, SessionTTL: cfg.SessionTTL, RecheckEvery: o.SessionRecheck, Logger: o.Logger, Registerer: h.reg})
	if err != nil {
		return nil, err
	}
	created, pw, err := h.Accounts.BootstrapAdmin(ctx, cfg.AdminUser, cfg.AdminPassword)
	if err != nil {
		return nil, fmt.Errorf("first admin: %w", err)
	}
	if created {
		h.FirstAdmin.Username, h.FirstAdmin.Password = cfg.AdminUser, pw
	}
	var historyStore history.Backend
	if h.sql != nil {
		historyStore, err = sqlite.NewHistory(ctx, h.sql)
	} else {
		historyStore, err = mongo.NewHistory(ctx, h.db)
	}
	if err != nil {
		return nil, err
	}
	h.History = history.New(historyStore)
	var routingStore acd.Backend
	if h.sql != nil {
		routingStore, err = sqlite.NewRouting(ctx, h.sql)
	} else {
		routingStore, err = mongo.NewRouting(ctx, h.db)
	}
	if err != nil {
		return nil, err
	}
	h.ACD, err = acd.New(ctx, routingStore, h.Accounts, acd.Options{Logger: o.Logger, PresenceGrace: cfg.PresenceGrace})
	if err != nil {
		return nil, err
	}
	idx, err := search.Open(search.Config{DataDir: cfg.DataDir, MeiliURL: cfg.MeiliURL, MeiliKey: cfg.MeiliKey, Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("knowledge base search: %w", err)
	}
	var kbStore kb.Backend
	if h.sql != nil {
		kbStore, err = sqlite.NewKB(ctx, h.sql)
	} else {
		kbStore, err = mongo.NewKB(ctx, h.db)
	}
	if err != nil {
		_ = idx.Close()
		return nil, fmt.Errorf("knowledge base: %w", err)
	}
	h.KB, err = kb.New(ctx, kbStore, idx, kb.Options{Logger: o.Logger, Groups: h.Accounts})
	if err != nil {
		_ = idx.Close()
		return nil, fmt.Errorf("knowledge base: %w", err)
	}
	h.Convo = convo.New(h.History, h.ACD, h.Accounts, o.Logger)
	if h.sql != nil {
		// What a channel stores to start a conversation is one transaction.
		inTx := func(ctx context.Context, fn func(context.Context) error) error {
			return h.sql.Write(ctx, func(tx *sqlitedb.Tx) error { return fn(tx.Context()) })
		}
		h.Convo.UseTransactions(inTx)
		// So is a routing step with the conversation status it sets.
		h.ACD.InStep(inTx, h.Convo.StepHook)
	}
	h.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "hub", Subsystem: "routing", Name: "events_stored_total",
			Help: "Routing events committed to the store."}, func() float64 { return float64(h.ACD.EventsStored()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "hub", Subsystem: "convo", Name: "events_applied_total",
			Help: "Routing events the conversation layer has applied (equal to hub_routing_events_stored_total at rest)."}, func() float64 { return float64(h.Convo.EventsApplied()) }))
	var kitStore agentkit.Backend
	if h.sql != nil {
		kitStore, err = sqlite.NewAgentKit(ctx, h.sql)
	} else {
		kitStore, err = mongo.NewAgentKit(ctx, h.db)
	}
	if err != nil {
		return nil, err
	}
	h.agentKit = agentkit.New(kitStore)
	var webchatStore webchat.Backend
	if h.sql != nil {
		webchatStore, err = sqlite.NewWebChat(ctx, h.sql)
	} else {
		webchatStore, err = mongo.NewWebChat(ctx, h.db)
	}
	if err != nil {
		return nil, err
	}
	h.WebChat, err = webchat.New(ctx, webchatStore, h.History, h.Convo, h.Accounts, h.ACD, h.KB, o.Logger)
	if err != nil {
		return nil, err
	}
	if h.proxies, err = httpapi.ParseTrustedProxies(config.List(cfg.TrustedProxies)); err != nil {
		return nil, fmt.Errorf("setting trusted_proxies: %w", err)
	}
	h.app = h.newApp()
	h.ln, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("setting http_addr: listen: %w", err)
	}
	if cfg.MetricsAddr != "" {
		// Metrics are not public: they have their own listener, on
		// loopback by default.
		if h.metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			_ = h.ln.Close()
			return nil, fmt.Errorf("setting metrics_addr: listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(h.reg, promhttp.HandlerOpts{}))
		h.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	}
	ok = true
	return h, nil
}

func (h *Hub) newApp() *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "hub",
		DisableStartupMessage: true,
		// Values from c.Params, c.Query, c.Get... are copies, not views of
		// fasthttp's buffers: a task id taken from a path (/tasks/:id/...)
		// went into routing's maps and events and changed under them when
		// the buffer served the next request (found by the race detector).
		Immutable: true,
		// Bodies are read by httpapi.Bodies, route by route: fasthttp only
		// reads the headers (and at most 8 KB) before the handlers run, and
		// never parses a multipart form on its own (see httpapi/body.go).
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		BodyLimit:                    httpapi.MaxJSONBody,
		ReadTimeout:                  60 * time.Second,
		WriteTimeout:                 60 * time.Second,
		IdleTimeout:                  120 * time.Second,
		ErrorHandler:                 httpapi.ErrorHandler(h.log),
		// c.IP, c.Hostname and c.Protocol believe X-Forwarded-* headers
		// only from trusted_proxies (none by default); the middleware below
		// reduces X-Forwarded-For to the address the nearest trusted proxy
		// saw (see httpapi.TrustedProxies).
		EnableTrustedProxyCheck: true,
		TrustedProxies:          h.proxies.FiberList(),
		ProxyHeader:             fiber.HeaderXForwardedFor,
		EnableIPValidation:      true,
	})
	app.Use(recover.New())
	app.Use(h.proxies.Middleware())
	app.Use(h.httpMetrics())
	app.Use(httpapi.Bodies(httpapi.BodyLimits{Streams: StreamedBodies, Slots: h.cfg.UploadSlots, SlotWait: h.uploadWait}))
	app.Use(func(c *fiber.Ctx) error {
		c.Set("X-Content-Type-Options", "nosniff")
		c.Set("Referrer-Policy", "same-origin")
		return c.Next()
	})
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if err := h.pingStore(ctx); err != nil {
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "store unreachable", "error": err.Error()})
		}
		return c.JSON(fiber.Map{"status": "ready"})
	})

	// Public customer routes first: the authenticated group below guards
	// every /api/v1 route registered after it.
	h.WebChat.Mount(app)
	webchat.MountPages(app)
	api := app.Group("/api/v1")
	auth := workspace.New(h.Accounts, h.History, workspace.Options{Logger: h.log, CookieSecure: h.cfg.CookieSecure, Sync: h.ACD,
		Origins: httpapi.NewOrigins(h.cfg.PublicURL, config.List(h.cfg.AllowedOrigins))}).Mount(api)
	h.ACD.Mount(auth)
	h.Convo.Mount(auth)
	h.agentKit.Mount(auth)
	h.KB.Mount(auth)
	h.WebChat.MountAdmin(auth)
	web.Mount(app)
	api.Use(func(c *fiber.Ctx) error {
		return &httpapi.Error{Status: fiber.StatusNotFound, Code: "not_found", Message: "no such endpoint: " + c.Method() + " " + c.Path()}
	})
	return app
}

// StreamedBodies are the routes whose bodies are read as streams, with the
// largest body each accepts (larger ones are refused by their
// Content-Length before they are read; every other body is bounded by
// httpapi.MaxJSONBody). They share the upload_slots.
var StreamedBodies = map[string]int64{
	"/api/v1/webchat/upload":    convo.VisitorUploads.MaxBody(),
	"/api/v1/inbox/attachments": convo.AgentUploads.MaxBody(),
	"/api/v1/kb/import":         kb.MaxImportBody,
}

func (h *Hub) httpMetrics() fiber.Handler {
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hub", Subsystem: "http", Name: "requests_total", Help: "HTTP requests by route and status."}, []string{"method", "route", "status"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "hub", Subsystem: "http", Name: "request_duration_seconds", Help: "HTTP request duration by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"method", "route"})
	h.reg.MustRegister(reqs, dur)
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		status := c.Response().StatusCode()
		if err != nil {
			var fe *fiber.Error
			var he *httpapi.Error
			switch {
			case errors.As(err, &he):
				status = he.Status
			case errors.As(err, &fe):
				status = fe.Code
			default:
				status = fiber.StatusInternalServerError
			}
		}
		// fasthttp reuses the request's buffers: the method string is only
		// valid during the request, and the metric keeps its labels.
		method := strings.Clone(c.Method())
		route := c.Route().Path
		reqs.WithLabelValues(method, route, fmt.Sprint(status)).Inc()
		dur.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		return err
	}
}

// App returns the HTTP application (tests list its routes).
func (h *Hub) App() *fiber.App { return h.app }

// DB returns the MongoDB store, nil on the embedded store (tests count
// what a request wrote).
func (h *Hub) DB() *store.DB { return h.db }

// Addr is the bound HTTP address.
func (h *Hub) Addr() string { return h.ln.Addr().String() }

// URL is the base URL people use.
func (h *Hub) URL() string {
	if h.cfg.PublicURL != "" {
		return strings.TrimRight(h.cfg.PublicURL, "/")
	}
	host, port, _ := net.SplitHostPort(h.Addr())
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// MetricsAddr is the bound address of the metrics listener ("" when
// metrics_addr is empty).
func (h *Hub) MetricsAddr() string {
	if h.metricsLn == nil {
		return ""
	}
	return h.metricsLn.Addr().String()
}

// StartupTime is how long New took.
func (h *Hub) StartupTime() time.Duration { return time.Since(h.started) }

// Serve serves HTTP until ctx ends, then drains: it stops accepting, waits
// up to the shutdown grace for requests in flight, and closes the store.
// A second cancellation (force) stops waiting.
func (h *Hub) Serve(ctx, force context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- h.app.Listener(h.ln) }()
	if h.metrics != nil {
		mdone := make(chan struct{})
		go func() { defer close(mdone); _ = h.metrics.Serve(h.metricsLn) }()
		// Metrics stay up while the hub drains, and stop when Serve returns.
		defer func() { _ = h.metrics.Close(); <-mdone }()
	}
	select {
	case err := <-errc:
		h.closeServices()
		_ = h.closeStores(context.Background())
		return err
	case <-ctx.Done():
	}
	h.log.Info("shutting down: draining requests", "grace", h.cfg.ShutdownGrace)
	h.closeServices() // ends live streams so the drain is not held by them
	done := make(chan error, 1)
	go func() { done <- h.app.ShutdownWithTimeout(h.cfg.ShutdownGrace) }()
	var err error
	select {
	case err = <-done:
	case <-force.Done():
		err = errors.New("forced shutdown")
	}
	<-errc
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if cerr := h.closeStores(cctx); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// closeServices stops the live parts: customer sockets, the conversation hub
// and the routing timers.
func (h *Hub) closeServices() {
	h.WebChat.Close()
	h.Convo.Close()
	h.ACD.Close()
	_ = h.KB.Close()
	// One counter write per conversation that had messages since its last
	// write: a few milliseconds each on the embedded store, so thousands of
	// open chats need seconds, not the drain's grace.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.History.Flush(ctx); err != nil {
		h.log.Warn("conversation counters not flushed", "err", err)
	}
}

// Close releases a hub that was never served.
func (h *Hub) Close() {
	h.closeServices()
	_ = h.ln.Close()
	if h.metricsLn != nil {
		_ = h.metricsLn.Close()
	}
	_ = h.closeStores(context.Background())
}

func (h *Hub) closeStores(ctx context.Context) error {
	var err error
	if h.sql != nil {
		err = h.sql.Close()
	}
	if h.db != nil {
		err = errors.Join(err, h.db.Close(ctx))
	}
	return err
}

// pingStore checks that the store answers (/readyz).
func (h *Hub) pingStore(ctx context.Context) error {
	if h.sql != nil {
		var one int
		return h.sql.QueryRow(ctx, "SELECT 1").Scan(&one)
	}
	return h.db.Ping(ctx)
}

// SQL returns the embedded store, nil on MongoDB (tests check query plans
// and count rows).
func (h *Hub) SQL() *sqlitedb.DB { return h.sql }
