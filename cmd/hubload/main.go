// Command hubload drives a running hub with realistic load and reports
// what it measured. `hubload chat` opens web chat conversations over the
// same WebSockets the pages use and exchanges messages both ways:
//
//	go run ./cmd/hubload chat -addr http://127.0.0.1:8080 -admin-user admin -admin-password PW \
//	    -customers 2000 -agents 200 -duration 60s
//
// Customers and agents behave as the pages do when the hub goes away (a
// restart, a kill -9): a dropped socket is reopened with back-off for up to
// -resume; the customer presents the same visitor token and must find the
// same conversation, resends what was not acknowledged (the hub stores a
// client message id once) and asks for what it missed (`sync`); an agent
// logs in again if its session is gone, reopens its live stream (its
// presence) and inbox socket, signs in and reads what it missed from the
// history API. When the run is over, hubload reads every conversation back
// through the history API as the admin and ends with one line:
//
//	RESULT conversations=N messages=M acked=A missing=X undelivered=U duplicated=D p50_ms=P p99_ms=Q reconnects=R moved=V open_s=O assign_p50_ms=S assign_p99_ms=T open_per_s=W events_stored=E events_applied=F
//
// messages: written to a socket and not refused by the hub; acked: of
// those, acknowledged by the hub; missing: acknowledged but not in the
// history read back (a broken promise: must be 0); undelivered: stored but
// never received by the other side, live or by catching up; duplicated:
// received live more than once; p50/p99: latency from send to live receipt;
// reconnects: sockets reopened after a drop; moved: customers who came back
// to another conversation than theirs (or none); open_s: seconds until
// every conversation was open and assigned; assign_p50/p99: from a
// customer's start frame to its "assigned" status; open_per_s: chats
// opened per second (-burst customers open at once); events_stored and
// events_applied: the hub's routing events committed to the store and
// applied by its conversation layer (equal when nothing fell out of step;
// -1 when -metrics cannot be read).
//
// -mark-acked N prints "MARK acked=N" on stderr when the Nth
// acknowledgment arrives, so a test or an operator can act (kill the hub)
// at a point of the run rather than after a guessed time.
//
// Only addresses on this machine (loopback or the project's own test
// hosts) are meant as targets; every loop is bounded by -duration, -resume
// and -drain.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

func main() {
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{"chat": chat, "seed": seed, "history": historyLoad}
	if len(os.Args) < 2 || cmds[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: hubload chat -addr URL -admin-user U -admin-password P -customers N -agents M -duration D\n"+
			"       hubload seed -data DIR [-contacts 200000 -conversations 1000000 -messages-per-conversation 10]   (hub stopped)\n"+
			"       hubload history -addr URL -admin-user U -admin-password P -sample DIR/seed-sample.json [-n 2000]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := cmds[os.Args[1]](ctx, os.Args[2:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hubload:", err)
		os.Exit(1)
	}
}

type config struct {
	addr, user, pw     string
	customers, agents  int
	perAgent           int
	leave              bool
	burst              int    // customers opening at once
	metrics            string // the hub's metrics URL
	duration, interval time.Duration
	rampUp             time.Duration
	every              time.Duration // progress lines on stderr; 0: none
	resume             time.Duration // how long a dropped socket keeps trying to reconnect
	drain              time.Duration // after the sends, stop waiting when every socket is up and nothing arrived for this long
	markAcked          int64         // print MARK when this many acks have arrived; 0: never
}

// chat runs the chat load described by args, writes the RESULT line to out
// and progress to log.
func chat(ctx context.Context, args []string, out, log io.Writer) error {
	var c config
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(log)
	fs.StringVar(&c.addr, "addr", "http://127.0.0.1:8080", "hub base URL")
	fs.StringVar(&c.user, "admin-user", "admin", "admin username (creates the load's group and agents, reads the history back)")
	fs.StringVar(&c.pw, "admin-password", "", "admin password")
	fs.IntVar(&c.customers, "customers", 100, "concurrent customer conversations")
	fs.IntVar(&c.agents, "agents", 10, "agents")
	fs.DurationVar(&c.every, "progress", 10*time.Second, "print the latency of each such window on stderr (0: off)")
	fs.IntVar(&c.perAgent, "chats-per-agent", 10, "chats each agent holds at once (sets capacity)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long messages are exchanged")
	fs.DurationVar(&c.interval, "interval", 4*time.Second, "each side of each conversation sends a message this often")
	fs.DurationVar(&c.rampUp, "ramp-up", 20*time.Second, "how long opening the conversations may take at most")
	fs.DurationVar(&c.resume, "resume", 60*time.Second, "how long a dropped socket keeps trying to reconnect (hub restarting)")
	fs.DurationVar(&c.drain, "drain", 5*time.Second, "after the sends, stop waiting for the last acks and deliveries when every socket is up and nothing arrived for this long")
	fs.IntVar(&c.burst, "burst", 100, "customers opening their chat at once (a real burst has many; 8 was the fixed number before)")
	fs.StringVar(&c.metrics, "metrics", "http://127.0.0.1:9464/metrics", "the hub's metrics URL, for the routing event counters (empty: not read)")
	fs.BoolVar(&c.leave, "leave", false, "at the end, every customer leaves its chat (the conversations end, as in a real day); without it they stay assigned")
	fs.Int64Var(&c.markAcked, "mark-acked", 0, `print "MARK acked=N" on stderr when the Nth acknowledgment arrives (0: never)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.burst < 1 {
		return fmt.Errorf("-burst must be at least 1")
	}
	if c.customers*1 > c.agents*c.perAgent {
		return fmt.Errorf("-customers %d exceeds -agents x -chats-per-agent (%d)", c.customers, c.agents*c.perAgent)
	}
	c.addr = strings.TrimRight(c.addr, "/")
	l := &load{c: c, out: out, log: log, sent: map[string]sendState{}, got: map[string]int{}, synced: map[string]bool{}}
	return l.run(ctx)
}

type load struct {
	c config

	evStored, evApplied int64     // the hub's routing event counters at the end
	out                 io.Writer // the RESULT line
	logMu               sync.Mutex
	log                 io.Writer // progress
	group               string
	start               time.Time

	adminMu sync.Mutex
	admin   string

	mu     sync.Mutex
	sent   map[string]sendState // message key -> what the hub answered
	got    map[string]int       // message key -> live deliveries
	synced map[string]bool      // message key -> received by catching up before any live delivery
	lat    []time.Duration
	assign []time.Duration // start frame to "assigned", per customer
	opened time.Duration   // until every conversation was assigned

	convs      atomic.Int64
	sendErrs   atomic.Int64
	acks       atomic.Int64
	down       atomic.Int64 // sockets (customers, agents) currently trying to reconnect
	reconnects atomic.Int64
	gaveUp     atomic.Int64
	moved      atomic.Int64
	progressed atomic.Int64 // unix ns of the last ack, delivery or reconnect
	firstDrop  atomic.Int64 // unix ns of the first socket drop
	lastBack   atomic.Int64 // unix ns of the last reconnect

	failMu   sync.Mutex
	failed   int    // reconnect attempts that failed
	lastFail string // the last one's error
}

// attemptFailed records a failed reconnect attempt.
func (l *load) attemptFailed(err error) {
	l.failMu.Lock()
	l.failed++
	l.lastFail = err.Error()
	l.failMu.Unlock()
}

func (l *load) logf(format string, args ...any) {
	l.logMu.Lock()
	defer l.logMu.Unlock()
	fmt.Fprintf(l.log, format, args...)
}

// httpError is a hub answer with an error status.
type httpError struct {
	status     int
	retryAfter time.Duration
	msg        string
}

func (e *httpError) Error() string { return e.msg }

func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	return 0
}

func (l *load) api(ctx context.Context, method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, l.c.addr+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return &httpError{status: resp.StatusCode, retryAfter: time.Duration(ra) * time.Second,
			msg: fmt.Sprintf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// retry calls f until it succeeds, fails for good (a 4xx other than 401
// and 429), ctx ends or the deadline passes. It waits between attempts
// with back-off (or as the hub's Retry-After says). A 401 calls onAuth, if
// set, before the next attempt.
func retry(ctx context.Context, deadline time.Time, onAuth func() error, f func() error) error {
	delay := 100 * time.Millisecond
	for {
		err := f()
		if err == nil {
			return nil
		}
		if st := statusOf(err); st == http.StatusUnauthorized && onAuth != nil {
			if aerr := onAuth(); final(aerr) {
				return aerr
			}
		} else if final(err) {
			return err
		}
		wait := delay + rand.N(delay/2)
		var he *httpError
		if errors.As(err, &he) && he.retryAfter > 0 {
			wait = he.retryAfter
		}
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// final reports whether err is an answer that a retry cannot change: a
// 4xx other than 429.
func final(err error) bool {
	st := statusOf(err)
	return st >= 400 && st < 500 && st != http.StatusTooManyRequests
}

// adminCall is an API call as the admin, which logs in again when the
// session is gone and waits for a hub that is restarting.
func (l *load) adminCall(ctx context.Context, method, path string, body, out any) error {
	return retry(ctx, time.Now().Add(l.c.resume), l.adminLogin, func() error {
		l.adminMu.Lock()
		tok := l.admin
		l.adminMu.Unlock()
		return l.api(ctx, method, path, tok, body, out)
	})
}

func (l *load) adminLogin() error {
	var tok struct{ Token string }
	if err := l.api(context.Background(), "POST", "/api/v1/auth/login", "", map[string]string{"username": l.c.user, "password": l.c.pw}, &tok); err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	l.adminMu.Lock()
	l.admin = tok.Token
	l.adminMu.Unlock()
	return nil
}

func (l *load) wsURL(path string) string {
	return strings.Replace(l.c.addr, "http", "ws", 1) + path
}

// key/parse carry a message id and send time in the body.
func body(key string) string {
	return fmt.Sprintf("load|%s|%d|压测消息", key, time.Now().UnixNano())
}

func parse(b string) (key string, sent time.Time, ok bool) {
	p := strings.Split(b, "|")
	if len(p) < 3 || p[0] != "load" {
		return "", time.Time{}, false
	}
	ns, err := strconv.ParseInt(p[2], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return p[1], time.Unix(0, ns), true
}

// sendState is what became of a message written to a socket.
type sendState uint8

const (
	written sendState = iota // on the wire, no answer yet
	acked                    // the hub acknowledged it (stored)
	refused                  // the hub answered with an error
)

// settled reports whether every message written has been answered and
// every one not refused has reached the other side.
func (l *load) settled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, st := range l.sent {
		if st == written || st == acked && l.got[k] == 0 && !l.synced[k] {
			return false
		}
	}
	return true
}

// wrote records a message about to be written, so one the hub never
// acknowledges still counts.
func (l *load) wrote(key string) {
	l.mu.Lock()
	l.sent[key] = written
	l.mu.Unlock()
}

func (l *load) answered(key string, st sendState) {
	l.mu.Lock()
	prev, ok := l.sent[key]
	if ok && prev == written {
		l.sent[key] = st
	}
	l.mu.Unlock()
	if ok && prev == written {
		l.progressed.Store(time.Now().UnixNano())
	}
	if ok && prev == written && st == acked {
		if n := l.acks.Add(1); n == l.c.markAcked {
			l.logf("MARK acked=%d\n", n)
		}
	}
}

// delivered counts a message received live on a socket.
func (l *load) delivered(b string) {
	key, sent, ok := parse(b)
	if !ok {
		return
	}
	d := time.Since(sent)
	l.progressed.Store(time.Now().UnixNano())
	l.mu.Lock()
	l.got[key]++
	if l.got[key] == 1 && !l.synced[key] {
		l.lat = append(l.lat, d)
	}
	l.mu.Unlock()
}

// caughtUp counts a message received by catching up after a reconnect
// (sync, or the history API). It may also arrive live: that is no
// duplicate, as a page shows a message id once.
func (l *load) caughtUp(b string) {
	key, _, ok := parse(b)
	if !ok {
		return
	}
	l.mu.Lock()
	if l.got[key] == 0 {
		l.synced[key] = true
	}
	l.mu.Unlock()
}

// dropped and back track sockets that are reconnecting.
func (l *load) dropped() {
	l.down.Add(1)
	l.firstDrop.CompareAndSwap(0, time.Now().UnixNano())
}

func (l *load) back(ok bool) {
	l.down.Add(-1)
	if ok {
		l.reconnects.Add(1)
		l.progressed.Store(time.Now().UnixNano())
		l.lastBack.Store(time.Now().UnixNano())
	} else {
		l.gaveUp.Add(1)
	}
}

// Reconnect back-off as the pages do it: from 500 ms, doubling up to 8 s
// (chat.js) or 10 s (live.js, the agent's stream).
const (
	firstDelay    = 500 * time.Millisecond
	customerDelay = 8 * time.Second
	agentDelay    = 10 * time.Second
)

// backoff waits before the next reconnect attempt, doubling delay up to
// limit; it reports false when ctx ended or waiting would pass the
// deadline.
func backoff(ctx context.Context, delay *time.Duration, limit time.Duration, deadline time.Time) bool {
	wait := *delay + rand.N(*delay/2+1)
	*delay = min(2**delay, limit)
	if time.Now().Add(wait).After(deadline) {
		return false
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(wait):
		return true
	}
}

// progress prints, every c.every until ctx ends, how many messages arrived
// in the window and their p50, p99 and slowest latency, so a stall shows
// when it happened, and how many sockets are reconnecting.
func (l *load) progress(ctx context.Context) {
	t := time.NewTicker(l.c.every)
	defer t.Stop()
	from, start := 0, time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		w := slices.Clone(l.lat[from:])
		from = len(l.lat)
		l.mu.Unlock()
		down := l.down.Load()
		if len(w) == 0 && down == 0 {
			continue
		}
		slices.Sort(w)
		line := fmt.Sprintf("%6.0fs delivered=%d", time.Since(start).Seconds(), len(w))
		if len(w) > 0 {
			line += fmt.Sprintf(" p50_ms=%.1f p99_ms=%.1f max_ms=%.1f", percentileMS(w, 0.5), percentileMS(w, 0.99), percentileMS(w, 1))
		}
		if down > 0 {
			line += fmt.Sprintf(" reconnecting=%d", down)
		}
		l.logf("%s\n", line)
	}
}

// percentileMS returns the p-quantile of sorted latencies in milliseconds
// (0 for none).
func percentileMS(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[min(len(sorted)-1, int(p*float64(len(sorted))))].Microseconds()) / 1000
}

// startAtRandom waits a random part of period, so that senders started
// together spread their sends; it reports false if ctx ended first.
func startAtRandom(ctx context.Context, period time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(rand.N(period)):
		return true
	}
}

func (l *load) run(ctx context.Context) error {
	if err := l.adminLogin(); err != nil {
		return err
	}
	run := strconv.FormatInt(time.Now().Unix(), 36)
	var g struct{ ID string }
	if err := l.adminCall(ctx, "POST", "/api/v1/groups", map[string]any{"name": "load-" + run}, &g); err != nil {
		return err
	}
	l.group = g.ID
	if err := l.adminCall(ctx, "PUT", "/api/v1/routing/groups/"+g.ID+"/settings", map[string]any{"auto_accept": true}, nil); err != nil {
		return err
	}
	l.logf("creating %d agents...\n", l.c.agents)
	// The read-back at the end is bounded by its requests, not by the run.
	outer := ctx
	ctx, cancel := context.WithTimeout(ctx, l.c.rampUp+l.c.duration+l.c.resume+l.c.drain+2*time.Minute)
	defer cancel()
	// The sockets live until the run is over; their goroutines are
	// waited for in sockets.
	sockCtx, closeSockets := context.WithCancel(ctx)
	var sockets sync.WaitGroup
	var wg sync.WaitGroup
	agents := make([]*agent, l.c.agents)
	custs := make([]*cust, l.c.customers)
	defer func() {
		closeSockets()
		for _, a := range agents {
			if a != nil {
				a.closeConns()
			}
		}
		for _, cu := range custs {
			if cu != nil {
				cu.closeConn()
			}
		}
		sockets.Wait()
	}()
	sem := make(chan struct{}, 8)
	var firstErr atomic.Value
	for i := range agents {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a, err := l.newAgent(ctx, fmt.Sprintf("load-%s-%03d", run, i))
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			agents[i] = a
			sockets.Add(1)
			go func() { defer sockets.Done(); a.run(sockCtx) }()
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	l.logf("opening %d conversations, %d at once...\n", l.c.customers, l.c.burst)
	l.start = time.Now()
	burst := make(chan struct{}, l.c.burst)
	for i := range custs {
		wg.Add(1)
		burst <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-burst }()
			cu, conn, err := l.newCustomer(ctx, fmt.Sprintf("%s-%06d", run, i))
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			custs[i] = cu
			sockets.Add(1)
			go func() { defer sockets.Done(); cu.run(sockCtx, conn) }()
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	l.opened = time.Since(l.start)
	l.logf("%d conversations open in %s; exchanging messages for %s...\n", l.convs.Load(), l.opened.Round(time.Millisecond), l.c.duration)
	// Both sides send every interval, spread over the interval.
	sendCtx, stopSend := context.WithTimeout(ctx, l.c.duration)
	defer stopSend()
	for _, cu := range custs {
		wg.Add(1)
		go func() { defer wg.Done(); cu.talk(sendCtx) }()
	}
	for _, a := range agents {
		wg.Add(1)
		go func() { defer wg.Done(); a.talk(sendCtx) }()
	}
	progCtx, stopProgress := context.WithCancel(ctx)
	defer stopProgress()
	if l.c.every > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); l.progress(progCtx) }()
	}
	<-sendCtx.Done()
	// Let the last messages be acknowledged and arrive: until everything
	// has settled, or every socket is up and nothing (ack, delivery,
	// reconnect) has happened for -drain (a socket still reconnecting
	// gives up after -resume). A hub that has just restarted may take a
	// while to answer the resends.
	tick := time.NewTicker(50 * time.Millisecond)
	for drainFrom := time.Now(); ctx.Err() == nil && !l.settled(); <-tick.C {
		from := max(drainFrom.UnixNano(), l.progressed.Load())
		if l.down.Load() == 0 && time.Since(time.Unix(0, from)) > l.c.drain {
			break
		}
	}
	tick.Stop()
	stopProgress()
	wg.Wait()
	if l.c.leave {
		for _, cu := range custs {
			cu.leave()
		}
		// Every chat ends before the sockets close.
		deadline := time.After(30 * time.Second)
		left := 0
	wait:
		for _, cu := range custs {
			select {
			case <-cu.ended:
				left++
			case <-deadline:
				break wait
			}
		}
		l.logf("%d of %d customers left their chat (the hub ended it)\n", left, len(custs))
	}
	closeSockets()
	for _, a := range agents {
		a.closeConns()
	}
	for _, cu := range custs {
		cu.closeConn()
	}
	sockets.Wait()

	// Read every conversation back.
	convs := map[string]bool{}
	for _, cu := range custs {
		for _, id := range cu.convIDs() {
			convs[id] = true
		}
	}
	for _, a := range agents {
		for _, id := range a.convIDs() {
			convs[id] = true
		}
	}
	l.logf("reading %d conversations back...\n", len(convs))
	readFrom := time.Now()
	stored, err := l.readBack(outer, convs)
	if err != nil {
		return fmt.Errorf("reading the history back: %w", err)
	}
	l.logf("read back in %s\n", time.Since(readFrom).Round(time.Millisecond))
	l.evStored, l.evApplied = l.eventCounters(outer)
	return l.report(stored)
}

// readBack returns the client ids of every message stored in convs, read
// through the history API as the admin.
func (l *load) readBack(ctx context.Context, convs map[string]bool) (map[string]bool, error) {
	stored := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr atomic.Value
	sem := make(chan struct{}, 8)
	for id := range convs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			before := ""
			for {
				var page struct {
					Messages []struct {
						ID          string `json:"id"`
						ClientMsgID string `json:"client_msg_id"`
					}
					More bool
				}
				q := url.Values{"limit": {"500"}}
				if before != "" {
					q.Set("before", before)
				}
				if err := l.adminCall(ctx, "GET", "/api/v1/conversations/"+url.PathEscape(id)+"/messages?"+q.Encode(), nil, &page); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				mu.Lock()
				for _, m := range page.Messages {
					stored[m.ClientMsgID] = true
				}
				mu.Unlock()
				if !page.More || len(page.Messages) == 0 {
					return
				}
				before = page.Messages[0].ID
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, err
	}
	return stored, nil
}

// report writes the summary on the log and the RESULT line.
func (l *load) report(stored map[string]bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var messages, nAcked, missing, undelivered, dup, unacked, unackedStored, refusals, caught int
	missingBy, undeliveredBy := map[byte]int{}, map[byte]int{}
	for k, st := range l.sent {
		switch st {
		case refused:
			refusals++
			continue
		case acked:
			nAcked++
			if !stored[k] {
				missing++
				missingBy[k[0]]++
			}
		case written:
			unacked++
			if stored[k] {
				unackedStored++
			}
		}
		messages++
		n := l.got[k]
		if n > 1 {
			dup++
		}
		if l.synced[k] {
			caught++
		}
		if stored[k] && n == 0 && !l.synced[k] {
			undelivered++
			undeliveredBy[k[0]]++
		}
	}
	slices.Sort(l.lat)
	slices.Sort(l.assign)
	if missing > 0 {
		l.logf("MISSING (acknowledged, not stored): %d sent by customers, %d sent by agents\n", missingBy['c'], missingBy['a'])
	}
	if undelivered > 0 {
		l.logf("undelivered (stored, never received): %d sent by customers, %d sent by agents\n", undeliveredBy['c'], undeliveredBy['a'])
	}
	if unacked > 0 {
		l.logf("%d messages were never acknowledged (%d of them stored)\n", unacked, unackedStored)
	}
	if caught > 0 {
		l.logf("%d messages received by catching up after a reconnect (not in the latencies)\n", caught)
	}
	if n := l.reconnects.Load(); n > 0 || l.gaveUp.Load() > 0 {
		l.logf("%d sockets reconnected, %d gave up after -resume %s, %d customers came back to another conversation\n", n, l.gaveUp.Load(), l.c.resume, l.moved.Load())
		if d, b := l.firstDrop.Load(), l.lastBack.Load(); b > d {
			l.logf("first socket dropped %.1fs after the conversations began opening; the last was back %.1fs later\n", time.Duration(d-l.start.UnixNano()).Seconds(), time.Duration(b-d).Seconds())
		}
	}
	l.failMu.Lock()
	if l.failed > 0 {
		l.logf("%d reconnect attempts failed (the hub was away or busy); the last: %s\n", l.failed, l.lastFail)
	}
	l.failMu.Unlock()
	if n := l.sendErrs.Load(); n > 0 || refusals > 0 {
		l.logf("%d error frames, %d messages refused (not counted as sent)\n", n, refusals)
	}
	fmt.Fprintf(l.out, "RESULT conversations=%d messages=%d acked=%d missing=%d undelivered=%d duplicated=%d p50_ms=%.1f p99_ms=%.1f reconnects=%d moved=%d open_s=%.3f assign_p50_ms=%.1f assign_p99_ms=%.1f open_per_s=%.0f events_stored=%d events_applied=%d\n",
		l.convs.Load(), messages, nAcked, missing, undelivered, dup, percentileMS(l.lat, 0.50), percentileMS(l.lat, 0.99), l.reconnects.Load(), l.moved.Load(),
		l.opened.Seconds(), percentileMS(l.assign, 0.50), percentileMS(l.assign, 0.99), float64(l.convs.Load())/max(l.opened.Seconds(), 1e-9), l.evStored, l.evApplied)
	return nil
}

// eventCounters reads the hub's routing event counters (stored, and
// applied by the conversation layer) from its metrics, waiting up to 10 s
// for the conversation layer to catch up; -1 when they cannot be read.
func (l *load) eventCounters(ctx context.Context) (stored, applied int64) {
	stored, applied = -1, -1
	if l.c.metrics == "" {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		st, ap, err := l.readCounters(ctx)
		if err != nil {
			l.logf("routing event counters not read: %v\n", err)
			return
		}
		stored, applied = st, ap
		if st == ap || time.Now().After(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (l *load) readCounters(ctx context.Context) (stored, applied int64, err error) {
	req, err := http.NewRequestWithContext(ctx, "GET", l.c.metrics, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, 0, fmt.Errorf("%s: %s", l.c.metrics, resp.Status)
	}
	stored, applied = -1, -1
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		f, perr := strconv.ParseFloat(val, 64)
		if perr != nil {
			continue
		}
		switch name {
		case "hub_routing_events_stored_total":
			stored = int64(f)
		case "hub_convo_events_applied_total":
			applied = int64(f)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if stored < 0 || applied < 0 {
		return 0, 0, fmt.Errorf("%s has no routing event counters", l.c.metrics)
	}
	return stored, applied, nil
}

// agentMsg is an agent's message not yet answered by the hub.
type agentMsg struct{ conv, body string }

// agent is one load agent: its live stream (presence) and inbox socket.
type agent struct {
	l        *load
	name, pw string

	wmu sync.Mutex // serializes writes to inbox

	mu      sync.Mutex
	token   string
	inbox   *websocket.Conn // nil while reconnecting
	stream  *websocket.Conn
	convs   []string
	lastID  map[string]string // conversation -> newest message id seen
	pending map[string]agentMsg
	seq     int
}

func (l *load) newAgent(ctx context.Context, name string) (*agent, error) {
	var u struct{ ID string }
	if err := l.adminCall(ctx, "POST", "/api/v1/users", map[string]any{"username": name, "password": "load-pass-1", "role": "agent",
		"groups": []map[string]any{{"group_id": l.group}}}, &u); err != nil {
		return nil, err
	}
	if err := l.adminCall(ctx, "PUT", "/api/v1/routing/agents/"+u.ID+"/settings", map[string]any{"capacity": 25 * l.c.perAgent}, nil); err != nil {
		return nil, err
	}
	a := &agent{l: l, name: name, pw: "load-pass-1", lastID: map[string]string{}, pending: map[string]agentMsg{}}
	if err := a.login(ctx); err != nil {
		return nil, err
	}
	if err := a.connect(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *agent) login(ctx context.Context) error {
	var tok struct{ Token string }
	if err := a.l.api(ctx, "POST", "/api/v1/auth/login", "", map[string]string{"username": a.name, "password": a.pw}, &tok); err != nil {
		return err
	}
	a.mu.Lock()
	a.token = tok.Token
	a.mu.Unlock()
	return nil
}

func (a *agent) bearer() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.token
}

// dial opens one of the agent's sockets, logging in again if the hub no
// longer knows the session.
func (a *agent) dial(ctx context.Context, path string) (*websocket.Conn, error) {
	for range 2 {
		conn, resp, err := websocket.DefaultDialer.DialContext(ctx, a.l.wsURL(path), http.Header{"Authorization": {"Bearer " + a.bearer()}})
		if err == nil {
			return conn, nil
		}
		if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			return nil, fmt.Errorf("agent socket %s: %w", path, err)
		}
		if err := a.login(ctx); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("agent socket %s: refused after a new login", path)
}

// connect opens the agent's live stream and inbox socket, signs in, catches
// up on what was missed and resends what was not answered, as the agent's
// page does when it reconnects.
func (a *agent) connect(ctx context.Context) (err error) {
	stream, err := a.dial(ctx, "/api/v1/stream")
	if err != nil {
		return err
	}
	inbox, err := a.dial(ctx, "/api/v1/inbox/ws")
	if err != nil {
		stream.Close()
		return err
	}
	defer func() {
		if err != nil {
			stream.Close()
			inbox.Close()
		}
	}()
	call := func(method, path string, out any) error {
		err := a.l.api(ctx, method, path, a.bearer(), nil, out)
		if statusOf(err) == http.StatusUnauthorized {
			if err := a.login(ctx); err != nil {
				return err
			}
			err = a.l.api(ctx, method, path, a.bearer(), nil, out)
		}
		return err
	}
	if err := call("POST", "/api/v1/agent/sign-in", nil); err != nil {
		return err
	}
	var mine struct {
		Conversations []struct{ ID, Status string }
	}
	if err := call("GET", "/api/v1/inbox/conversations", &mine); err != nil {
		return err
	}
	a.mu.Lock()
	for _, c := range mine.Conversations {
		if c.Status == "assigned" && !slices.Contains(a.convs, c.ID) {
			a.convs = append(a.convs, c.ID)
		}
	}
	convs := slices.Clone(a.convs)
	a.mu.Unlock()
	// Catch up on the messages missed while away, from the history (the
	// page redraws its thread).
	for _, id := range convs {
		for {
			a.mu.Lock()
			after := a.lastID[id]
			a.mu.Unlock()
			q := url.Values{"limit": {"500"}}
			if after != "" {
				q.Set("after", after)
			}
			var page struct {
				Messages []struct{ ID, Body, Direction string }
				More     bool
			}
			if err := call("GET", "/api/v1/conversations/"+url.PathEscape(id)+"/messages?"+q.Encode(), &page); err != nil {
				return err
			}
			for _, m := range page.Messages {
				if m.Direction == "in" {
					a.l.caughtUp(m.Body)
				}
				a.seen(id, m.ID)
			}
			if !page.More || len(page.Messages) == 0 || after == "" {
				break
			}
		}
	}
	a.mu.Lock()
	a.stream, a.inbox = stream, inbox
	resend := make(map[string]agentMsg, len(a.pending))
	for k, m := range a.pending {
		resend[k] = m
	}
	a.mu.Unlock()
	a.wmu.Lock()
	defer a.wmu.Unlock()
	for k, m := range resend {
		if err := inbox.WriteJSON(map[string]any{"type": "message", "conversation_id": m.conv, "client_id": k, "body": m.body}); err != nil {
			break // the reader notices the drop
		}
	}
	return nil
}

// seen records the newest message id of a conversation (ids of a
// conversation sort by their fixed-width sequence).
func (a *agent) seen(conv, id string) {
	a.mu.Lock()
	if id > a.lastID[conv] {
		a.lastID[conv] = id
	}
	a.mu.Unlock()
}

func (a *agent) convIDs() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.convs)
}

func (a *agent) closeConns() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inbox != nil {
		a.inbox.Close()
	}
	if a.stream != nil {
		a.stream.Close()
	}
}

// run reads the agent's sockets until ctx ends; when either drops it
// reconnects both with back-off for up to -resume.
func (a *agent) run(ctx context.Context) {
	for {
		a.mu.Lock()
		inbox, stream := a.inbox, a.stream
		a.mu.Unlock()
		if ctx.Err() != nil {
			inbox.Close()
			stream.Close()
			return
		}
		down := make(chan struct{}, 2)
		go func() { a.readStream(stream); down <- struct{}{} }()
		go func() { a.readInbox(inbox); down <- struct{}{} }()
		<-down
		inbox.Close()
		stream.Close()
		<-down
		a.mu.Lock()
		a.inbox, a.stream = nil, nil
		a.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		a.l.dropped()
		ok := a.reconnect(ctx)
		a.l.back(ok)
		if !ok {
			return
		}
	}
}

func (a *agent) reconnect(ctx context.Context) bool {
	deadline := time.Now().Add(a.l.c.resume)
	delay := firstDelay
	for backoff(ctx, &delay, agentDelay, deadline) {
		err := a.connect(ctx)
		if err == nil {
			return true
		}
		a.l.attemptFailed(err)
	}
	return false
}

// readStream reads the live stream (the agent's presence) until it drops.
func (a *agent) readStream(conn *websocket.Conn) {
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			return
		}
	}
}

func (a *agent) readInbox(conn *websocket.Conn) {
	l := a.l
	for {
		var f struct {
			Type         string
			ClientID     string                                                `json:"client_id"`
			Message      *struct{ ID, Body, Direction, ConversationID string } `json:"message"`
			Conversation *struct{ ID, Status string }                          `json:"conversation"`
		}
		if err := conn.ReadJSON(&f); err != nil {
			return
		}
		switch f.Type {
		case "conversation":
			if f.Conversation.Status == "assigned" {
				a.mu.Lock()
				if !slices.Contains(a.convs, f.Conversation.ID) {
					a.convs = append(a.convs, f.Conversation.ID)
				}
				a.mu.Unlock()
			}
		case "message":
			if f.Message.Direction == "in" {
				l.delivered(f.Message.Body)
			}
			a.seen(f.Message.ConversationID, f.Message.ID)
		case "ack":
			a.mu.Lock()
			delete(a.pending, f.ClientID)
			a.mu.Unlock()
			if f.Message != nil {
				a.seen(f.Message.ConversationID, f.Message.ID)
			}
			l.answered(f.ClientID, acked)
		case "error":
			l.sendErrs.Add(1)
			a.mu.Lock()
			_, mine := a.pending[f.ClientID]
			delete(a.pending, f.ClientID)
			a.mu.Unlock()
			if mine {
				l.answered(f.ClientID, refused)
			}
		}
	}
}

func (a *agent) talk(ctx context.Context) {
	l := a.l
	// Each agent sends one message every interval/perAgent, in turn over
	// its conversations; agents start at random points of that period so
	// their sends spread evenly (as the customers' do) instead of arriving
	// together.
	every := l.c.interval / time.Duration(max(1, l.c.perAgent))
	if !startAtRandom(ctx, every) {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	i := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.mu.Lock()
		if len(a.convs) == 0 {
			a.mu.Unlock()
			continue
		}
		conv := a.convs[i%len(a.convs)]
		i++
		a.seq++
		key := fmt.Sprintf("a%s-%d", a.name, a.seq)
		m := agentMsg{conv: conv, body: body(key)}
		// Recorded before it can be resent (and answered) by a reconnect.
		l.wrote(key)
		a.pending[key] = m
		conn := a.inbox
		a.mu.Unlock()
		if conn == nil {
			continue // resent on reconnect
		}
		a.wmu.Lock()
		err := conn.WriteJSON(map[string]any{"type": "message", "conversation_id": m.conv, "client_id": key, "body": m.body})
		a.wmu.Unlock()
		if err != nil {
			l.sendErrs.Add(1) // the reader notices the drop; resent on reconnect
		}
	}
}

// cust is one customer conversation.
type cust struct {
	l     *load
	name  string // key prefix of its messages
	token string // the visitor token, presented again on every reconnect

	wmu sync.Mutex // serializes writes to conn

	mu      sync.Mutex
	conn    *websocket.Conn // nil while reconnecting
	conv    string          // the conversation started
	others  []string        // other conversations found after a reconnect
	pending map[string]string
	lastID  string // newest message id seen
	n       int

	ended   chan struct{} // closed when the hub says the chat ended
	endOnce sync.Once
}

// session asks the hub for a visitor token, presenting the previous one
// (prev) to stay the same visitor, or none for a new visitor (the hub
// issues visitor ids); it waits when the anonymous endpoint is rate
// limited or the hub is away, until deadline.
func (l *load) session(ctx context.Context, prev string, deadline time.Time) (string, error) {
	var s struct{ Token string }
	b := map[string]string{}
	if prev != "" {
		b["token"] = prev
	}
	err := retry(ctx, deadline, nil, func() error {
		return l.api(ctx, "POST", "/api/v1/webchat/session", "", b, &s)
	})
	return s.Token, err
}

type custFrame struct {
	Type         string
	ClientID     string `json:"client_id"`
	Message      *struct{ ID, Body, Direction string }
	Messages     []struct{ ID, Body, Direction string }
	Conversation *struct{ ID, Status string }
	Error        string
}

func (l *load) newCustomer(ctx context.Context, name string) (*cust, *websocket.Conn, error) {
	tok, err := l.session(ctx, "", l.start.Add(l.c.rampUp))
	if err != nil {
		return nil, nil, err
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, l.wsURL("/api/v1/webchat/ws?token="+url.QueryEscape(tok)), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("customer socket: %w", err)
	}
	cu := &cust{l: l, name: name, token: tok, pending: map[string]string{}, ended: make(chan struct{})}
	started := time.Now()
	if err := conn.WriteJSON(map[string]any{"type": "start", "group": l.group}); err != nil {
		conn.Close()
		return nil, nil, err
	}
	deadline := l.start.Add(l.c.rampUp)
	_ = conn.SetReadDeadline(deadline)
	for {
		var f custFrame
		if err := conn.ReadJSON(&f); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("customer %s waiting to be served: %w", name, err)
		}
		if f.Type == "error" {
			conn.Close()
			return nil, nil, errors.New(f.Error)
		}
		if f.Conversation != nil && (f.Type == "started" || f.Type == "status") {
			cu.conv = f.Conversation.ID
		}
		if f.Type == "status" && f.Conversation != nil && f.Conversation.Status == "assigned" {
			break
		}
	}
	took := time.Since(started)
	l.mu.Lock()
	l.assign = append(l.assign, took)
	l.mu.Unlock()
	_ = conn.SetReadDeadline(time.Time{})
	l.convs.Add(1)
	cu.conn = conn
	return cu, conn, nil
}

func (cu *cust) convIDs() []string {
	cu.mu.Lock()
	defer cu.mu.Unlock()
	return append([]string{cu.conv}, cu.others...)
}

// leave tells the hub the customer has left the chat (the hub reads the
// frame before it sees the socket close).
func (cu *cust) leave() {
	cu.mu.Lock()
	conn := cu.conn
	cu.mu.Unlock()
	if conn == nil {
		return
	}
	cu.wmu.Lock()
	_ = conn.WriteJSON(map[string]any{"type": "end"})
	cu.wmu.Unlock()
}

func (cu *cust) closeConn() {
	cu.mu.Lock()
	defer cu.mu.Unlock()
	if cu.conn != nil {
		cu.conn.Close()
	}
}

// run reads the customer's socket until ctx ends; when it drops it
// reconnects with back-off for up to -resume.
func (cu *cust) run(ctx context.Context, conn *websocket.Conn) {
	for {
		if ctx.Err() != nil {
			conn.Close()
			return
		}
		cu.read(conn)
		conn.Close()
		cu.mu.Lock()
		cu.conn = nil
		cu.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		cu.l.dropped()
		conn = cu.reconnect(ctx)
		cu.l.back(conn != nil)
		if conn == nil {
			return
		}
	}
}

// reconnect reopens the socket with the same visitor token, checks that
// the hub gives back the same conversation, resends what was not
// acknowledged and asks for what was missed, as the chat page does.
func (cu *cust) reconnect(ctx context.Context) *websocket.Conn {
	l := cu.l
	deadline := time.Now().Add(l.c.resume)
	delay := firstDelay
	for backoff(ctx, &delay, customerDelay, deadline) {
		conn, resp, err := websocket.DefaultDialer.DialContext(ctx, l.wsURL("/api/v1/webchat/ws?token="+url.QueryEscape(cu.token)), nil)
		if err != nil {
			l.attemptFailed(fmt.Errorf("customer socket: %w", err))
			if resp != nil && resp.StatusCode == http.StatusUnauthorized {
				// The token is no longer taken: ask for a new one with it,
				// as a page that reloads does (the hub keeps the visitor,
				// or the welcome shows a lost conversation).
				if tok, err := l.session(ctx, cu.token, deadline); err == nil {
					cu.token = tok
				}
			}
			continue
		}
		// The hub answers a returning visitor with its open conversation
		// (slowly when a restarted hub gets every visitor back at once).
		_ = conn.SetReadDeadline(deadline)
		var f custFrame
		if err := conn.ReadJSON(&f); err != nil || f.Type != "welcome" {
			conn.Close()
			l.attemptFailed(fmt.Errorf("customer socket: no welcome: %v (frame %q)", err, f.Type))
			continue
		}
		_ = conn.SetReadDeadline(time.Time{})
		cu.mu.Lock()
		if f.Conversation == nil || f.Conversation.ID != cu.conv {
			l.moved.Add(1)
			if f.Conversation != nil && !slices.Contains(cu.others, f.Conversation.ID) {
				cu.others = append(cu.others, f.Conversation.ID)
			}
		}
		for _, m := range f.Messages {
			cu.noteLocked(m.ID, m.Body, m.Direction)
		}
		cu.conn = conn
		resend := make(map[string]string, len(cu.pending))
		for k, b := range cu.pending {
			resend[k] = b
		}
		after := cu.lastID
		cu.mu.Unlock()
		if ctx.Err() != nil {
			conn.Close()
			return nil
		}
		cu.wmu.Lock()
		for k, b := range resend {
			if conn.WriteJSON(map[string]any{"type": "message", "client_id": k, "body": b}) != nil {
				break // the reader notices the drop
			}
		}
		if after != "" {
			_ = conn.WriteJSON(map[string]any{"type": "sync", "after": after})
		}
		cu.wmu.Unlock()
		return conn
	}
	return nil
}

// noteLocked records a message from the welcome or sync frame.
func (cu *cust) noteLocked(id, body, dir string) {
	if dir == "out" {
		cu.l.caughtUp(body)
	}
	if id > cu.lastID {
		cu.lastID = id
	}
}

func (cu *cust) seen(id string) {
	cu.mu.Lock()
	if id > cu.lastID {
		cu.lastID = id
	}
	cu.mu.Unlock()
}

func (cu *cust) read(conn *websocket.Conn) {
	l := cu.l
	for {
		var f custFrame
		if err := conn.ReadJSON(&f); err != nil {
			return
		}
		switch f.Type {
		case "message":
			if f.Message.Direction == "out" {
				l.delivered(f.Message.Body)
			}
			cu.seen(f.Message.ID)
		case "sync":
			cu.mu.Lock()
			for _, m := range f.Messages {
				cu.noteLocked(m.ID, m.Body, m.Direction)
			}
			cu.mu.Unlock()
		case "ended":
			cu.endOnce.Do(func() { close(cu.ended) })
		case "ack":
			cu.mu.Lock()
			delete(cu.pending, f.ClientID)
			cu.mu.Unlock()
			if f.Message != nil {
				cu.seen(f.Message.ID)
			}
			l.answered(f.ClientID, acked)
		case "error":
			l.sendErrs.Add(1)
			cu.mu.Lock()
			_, mine := cu.pending[f.ClientID]
			delete(cu.pending, f.ClientID)
			cu.mu.Unlock()
			if mine {
				l.answered(f.ClientID, refused)
			}
		}
	}
}

func (cu *cust) talk(ctx context.Context) {
	l := cu.l
	if !startAtRandom(ctx, l.c.interval) {
		return
	}
	t := time.NewTicker(l.c.interval)
	defer t.Stop()
	for {
		cu.mu.Lock()
		key := fmt.Sprintf("c%s-%d", cu.name, cu.n)
		cu.n++
		b := body(key)
		// Recorded before it can be resent (and answered) by a reconnect.
		l.wrote(key)
		cu.pending[key] = b
		conn := cu.conn
		cu.mu.Unlock()
		if conn != nil {
			cu.wmu.Lock()
			err := conn.WriteJSON(map[string]any{"type": "message", "client_id": key, "body": b})
			cu.wmu.Unlock()
			if err != nil {
				l.sendErrs.Add(1) // the reader notices the drop; resent on reconnect
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
