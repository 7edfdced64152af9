// Command hubload drives a running hub with realistic load and reports
// what it measured. `hubload chat` opens web chat conversations over the
// same WebSockets the pages use and exchanges messages both ways:
//
//	go run ./cmd/hubload chat -addr http://127.0.0.1:8080 -admin-user admin -admin-password PW \
//	    -customers 2000 -agents 200 -duration 60s
//
// It ends with one line:
//
//	RESULT conversations=N messages=M lost=L duplicated=D p50_ms=X p99_ms=Y
//
// Only addresses on this machine (loopback or the project's own test
// hosts) are meant as targets; every loop is bounded by -duration.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
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
	if len(os.Args) < 2 || os.Args[1] != "chat" {
		fmt.Fprintln(os.Stderr, "usage: hubload chat -addr URL -admin-user U -admin-password P -customers N -agents M -duration D")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := chat(ctx, os.Args[2:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hubload:", err)
		os.Exit(1)
	}
}

type config struct {
	addr, user, pw     string
	customers, agents  int
	perAgent           int
	duration, interval time.Duration
	rampUp             time.Duration
	every              time.Duration // progress lines on stderr; 0: none
}

// chat runs the chat load described by args, writes the RESULT line to out
// and progress to log.
func chat(ctx context.Context, args []string, out, log io.Writer) error {
	var c config
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(log)
	fs.StringVar(&c.addr, "addr", "http://127.0.0.1:8080", "hub base URL")
	fs.StringVar(&c.user, "admin-user", "admin", "admin username (creates the load's group and agents)")
	fs.StringVar(&c.pw, "admin-password", "", "admin password")
	fs.IntVar(&c.customers, "customers", 100, "concurrent customer conversations")
	fs.IntVar(&c.agents, "agents", 10, "agents")
	fs.DurationVar(&c.every, "progress", 10*time.Second, "print the latency of each such window on stderr (0: off)")
	fs.IntVar(&c.perAgent, "chats-per-agent", 10, "chats each agent holds at once (sets capacity)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long messages are exchanged")
	fs.DurationVar(&c.interval, "interval", 4*time.Second, "each side of each conversation sends a message this often")
	fs.DurationVar(&c.rampUp, "ramp-up", 20*time.Second, "how long opening the conversations may take at most")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.customers*1 > c.agents*c.perAgent {
		return fmt.Errorf("-customers %d exceeds -agents x -chats-per-agent (%d)", c.customers, c.agents*c.perAgent)
	}
	c.addr = strings.TrimRight(c.addr, "/")
	l := &load{c: c, out: out, log: log, sent: map[string]sendState{}, got: map[string]int{}}
	return l.run(ctx)
}

type load struct {
	c     config
	out   io.Writer // the RESULT line
	log   io.Writer // progress
	admin string
	group string

	mu   sync.Mutex
	sent map[string]sendState // message key -> what the hub answered
	got  map[string]int       // message key -> deliveries
	lat  []time.Duration

	convs     atomic.Int64
	sendErrs  atomic.Int64
	stopSends atomic.Bool
}

func (l *load) api(method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, l.c.addr+path, rd)
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
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
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

// allDelivered reports whether every message written and not refused has
// reached the other side.
func (l *load) allDelivered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, st := range l.sent {
		if st != refused && l.got[k] == 0 {
			return false
		}
	}
	return true
}

// wrote records a message about to be written, so one the hub never
// acknowledges still counts (as lost unless it is delivered anyway).
func (l *load) wrote(key string) {
	l.mu.Lock()
	l.sent[key] = written
	l.mu.Unlock()
}

func (l *load) answered(key string, st sendState) {
	l.mu.Lock()
	if _, ok := l.sent[key]; ok {
		l.sent[key] = st
	}
	l.mu.Unlock()
}

func (l *load) delivered(b string) {
	key, sent, ok := parse(b)
	if !ok {
		return
	}
	d := time.Since(sent)
	l.mu.Lock()
	l.got[key]++
	if l.got[key] == 1 {
		l.lat = append(l.lat, d)
	}
	l.mu.Unlock()
}

// progress prints, every c.every until ctx ends, how many messages arrived
// in the window and their p50, p99 and slowest latency, so a stall shows
// when it happened.
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
		if len(w) == 0 {
			continue
		}
		slices.Sort(w)
		fmt.Fprintf(l.log, "%6.0fs delivered=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
			time.Since(start).Seconds(), len(w), percentileMS(w, 0.5), percentileMS(w, 0.99), percentileMS(w, 1))
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
	var tok struct{ Token string }
	if err := l.api("POST", "/api/v1/auth/login", "", map[string]string{"username": l.c.user, "password": l.c.pw}, &tok); err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	l.admin = tok.Token
	run := strconv.FormatInt(time.Now().Unix(), 36)
	var g struct{ ID string }
	if err := l.api("POST", "/api/v1/groups", l.admin, map[string]any{"name": "load-" + run}, &g); err != nil {
		return err
	}
	l.group = g.ID
	if err := l.api("PUT", "/api/v1/routing/groups/"+g.ID+"/settings", l.admin, map[string]any{"auto_accept": true}, nil); err != nil {
		return err
	}
	fmt.Fprintf(l.log, "creating %d agents...\n", l.c.agents)
	ctx, cancel := context.WithTimeout(ctx, l.c.rampUp+l.c.duration+2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	agents := make([]*agent, l.c.agents)
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
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	fmt.Fprintf(l.log, "opening %d conversations...\n", l.c.customers)
	custs := make([]*cust, l.c.customers)
	start := time.Now()
	for i := range custs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cu, err := l.newCustomer(ctx, fmt.Sprintf("load-%s-%06d", run, i))
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			custs[i] = cu
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	fmt.Fprintf(l.log, "%d conversations open in %s; exchanging messages for %s...\n", l.convs.Load(), time.Since(start).Round(time.Millisecond), l.c.duration)
	// Both sides send every interval, spread over the interval.
	sendCtx, stopSend := context.WithTimeout(ctx, l.c.duration)
	defer stopSend()
	for _, cu := range custs {
		wg.Add(1)
		go func() { defer wg.Done(); cu.talk(sendCtx, l) }()
	}
	for _, a := range agents {
		wg.Add(1)
		go func() { defer wg.Done(); a.talk(sendCtx, l) }()
	}
	if l.c.every > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); l.progress(sendCtx) }()
	}
	<-sendCtx.Done()
	wg.Wait()
	// Let the last messages arrive: until every message is delivered, or 5 s.
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && !l.allDelivered(); {
		time.Sleep(50 * time.Millisecond)
	}
	for _, cu := range custs {
		cu.conn.Close()
	}
	for _, a := range agents {
		a.conn.Close()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lost, dup, unacked, refusals := 0, 0, 0, 0
	lostBy := map[byte]int{}
	for k, st := range l.sent {
		if st == refused {
			refusals++
			continue
		}
		if st == written {
			unacked++
		}
		switch n := l.got[k]; {
		case n == 0:
			lost++
			lostBy[k[0]]++
		case n > 1:
			dup++
		}
	}
	slices.Sort(l.lat)
	if lost > 0 {
		fmt.Fprintf(l.log, "lost: %d sent by customers, %d sent by agents\n", lostBy['c'], lostBy['a'])
	}
	if unacked > 0 {
		fmt.Fprintf(l.log, "%d messages were never acknowledged\n", unacked)
	}
	if n := l.sendErrs.Load(); n > 0 || refusals > 0 {
		fmt.Fprintf(l.log, "%d error frames, %d messages refused (not counted as sent)\n", n, refusals)
	}
	fmt.Fprintf(l.out, "RESULT conversations=%d messages=%d lost=%d duplicated=%d p50_ms=%.1f p99_ms=%.1f\n",
		l.convs.Load(), len(l.sent)-refusals, lost, dup, percentileMS(l.lat, 0.50), percentileMS(l.lat, 0.99))
	return nil
}

// agent is one load agent with its inbox socket.
type agent struct {
	token string
	conn  *websocket.Conn
	wmu   sync.Mutex
	mu    sync.Mutex
	convs []string
	seq   int
}

func (l *load) newAgent(ctx context.Context, name string) (*agent, error) {
	var u struct{ ID string }
	if err := l.api("POST", "/api/v1/users", l.admin, map[string]any{"username": name, "password": "load-pass-1", "role": "agent",
		"groups": []map[string]any{{"group_id": l.group}}}, &u); err != nil {
		return nil, err
	}
	if err := l.api("PUT", "/api/v1/routing/agents/"+u.ID+"/settings", l.admin, map[string]any{"capacity": 25 * l.c.perAgent}, nil); err != nil {
		return nil, err
	}
	var tok struct{ Token string }
	if err := l.api("POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": "load-pass-1"}, &tok); err != nil {
		return nil, err
	}
	a := &agent{token: tok.Token}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, l.wsURL("/api/v1/inbox/ws"), http.Header{"Authorization": {"Bearer " + tok.Token}})
	if err != nil {
		return nil, fmt.Errorf("agent socket: %w", err)
	}
	a.conn = conn
	if err := l.api("POST", "/api/v1/agent/sign-in", a.token, nil, nil); err != nil {
		return nil, err
	}
	go a.read(l)
	return a, nil
}

func (a *agent) read(l *load) {
	for {
		var f struct {
			Type         string
			ClientID     string                                            `json:"client_id"`
			Message      *struct{ Body, Direction, ConversationID string } `json:"message"`
			Conversation *struct{ ID, Status string }                      `json:"conversation"`
		}
		if err := a.conn.ReadJSON(&f); err != nil {
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
		case "ack":
			l.answered(f.ClientID, acked)
		case "error":
			l.sendErrs.Add(1)
			l.answered(f.ClientID, refused)
		}
	}
}

func (a *agent) talk(ctx context.Context, l *load) {
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
		key := fmt.Sprintf("a%p-%d", a, a.seq)
		a.mu.Unlock()
		l.wrote(key)
		a.wmu.Lock()
		err := a.conn.WriteJSON(map[string]any{"type": "message", "conversation_id": conv, "client_id": key, "body": body(key)})
		a.wmu.Unlock()
		if err != nil {
			l.sendErrs.Add(1)
			return
		}
	}
}

// cust is one customer conversation.
type cust struct {
	conn *websocket.Conn
	wmu  sync.Mutex
	id   string
}

func (l *load) newCustomer(ctx context.Context, visitor string) (*cust, error) {
	var s struct{ Token string }
	if err := l.api("POST", "/api/v1/webchat/session", "", map[string]string{"visitor_id": visitor}, &s); err != nil {
		return nil, err
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, l.wsURL("/api/v1/webchat/ws?token="+s.Token), nil)
	if err != nil {
		return nil, fmt.Errorf("customer socket: %w", err)
	}
	cu := &cust{conn: conn, id: visitor}
	if err := conn.WriteJSON(map[string]any{"type": "start", "group": l.group}); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(l.c.rampUp)
	_ = conn.SetReadDeadline(deadline)
	for {
		var f struct {
			Type         string
			Conversation *struct{ Status string }
			Error        string
		}
		if err := conn.ReadJSON(&f); err != nil {
			return nil, fmt.Errorf("customer %s waiting to be served: %w", visitor, err)
		}
		if f.Type == "error" {
			return nil, errors.New(f.Error)
		}
		if f.Type == "status" && f.Conversation != nil && f.Conversation.Status == "assigned" {
			break
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	l.convs.Add(1)
	go cu.read(l)
	return cu, nil
}

func (cu *cust) read(l *load) {
	for {
		var f struct {
			Type     string
			ClientID string                            `json:"client_id"`
			Message  *struct{ Body, Direction string } `json:"message"`
		}
		if err := cu.conn.ReadJSON(&f); err != nil {
			return
		}
		switch f.Type {
		case "message":
			if f.Message.Direction == "out" {
				l.delivered(f.Message.Body)
			}
		case "ack":
			l.answered(f.ClientID, acked)
		case "error":
			l.sendErrs.Add(1)
			l.answered(f.ClientID, refused)
		}
	}
}

func (cu *cust) talk(ctx context.Context, l *load) {
	if !startAtRandom(ctx, l.c.interval) {
		return
	}
	t := time.NewTicker(l.c.interval)
	defer t.Stop()
	for n := 0; ; n++ {
		key := fmt.Sprintf("c%s-%d", cu.id, n)
		l.wrote(key)
		cu.wmu.Lock()
		err := cu.conn.WriteJSON(map[string]any{"type": "message", "client_id": key, "body": body(key)})
		cu.wmu.Unlock()
		if err != nil {
			l.sendErrs.Add(1)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
