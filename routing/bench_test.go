package routing

import (
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// benchWorld is the full-scale state of BenchmarkRouteDecision: 10,000
// signed-in agents, 500 groups (each agent in 5), 50,000 queued tasks, every
// agent busy (voice calls and chats, auto-accept).
type benchWorld struct {
	e        *Engine
	clk      *fakeClock
	r        *rand.Rand
	assigned []TaskID
	next     int
}

var (
	benchAgents = 10_000
	benchGroups = 500
	benchPer    = 5
	benchQueued = 50_000
)

func (w *benchWorld) spec() TaskSpec {
	w.next++
	ch := ChannelVoice
	if w.r.IntN(10) < 3 {
		ch = ChannelWebChat
	}
	return TaskSpec{ID: TaskID("t" + strconv.Itoa(w.next)), Channel: ch,
		Group: GroupID("g" + strconv.Itoa(w.r.IntN(benchGroups))), Priority: w.r.IntN(3)}
}

func (w *benchWorld) collect(evs []Event) int {
	n := 0
	for i := range evs {
		if evs[i].Type == EventOfferAccepted {
			w.assigned = append(w.assigned, evs[i].TaskID)
			n++
		}
	}
	return n
}

func newBenchWorld(tb testing.TB, outbox bool) *benchWorld {
	clk := newClock()
	e, err := New(Options{Now: clk.Now, Outbox: outbox})
	if err != nil {
		tb.Fatal(err)
	}
	w := &benchWorld{e: e, clk: clk, r: rand.New(rand.NewPCG(1, 2))}
	for g := range benchGroups {
		if _, err := e.UpsertGroup(GroupConfig{ID: GroupID("g" + strconv.Itoa(g)), AutoAccept: true}); err != nil {
			tb.Fatal(err)
		}
	}
	for a := range benchAgents {
		groups := map[GroupID]int{}
		for len(groups) < benchPer {
			groups[GroupID("g"+strconv.Itoa(w.r.IntN(benchGroups)))] = 1 + w.r.IntN(2)
		}
		id := AgentID("a" + strconv.Itoa(a))
		if _, err := e.UpsertAgent(AgentConfig{ID: id, Groups: groups}); err != nil {
			tb.Fatal(err)
		}
		if _, err := e.SignIn(id); err != nil {
			tb.Fatal(err)
		}
	}
	for queued := 0; queued < benchQueued; {
		res, evs, err := e.Enqueue(w.spec())
		if err != nil {
			tb.Fatal(err)
		}
		w.collect(evs)
		w.collect(e.Drain(nil))
		if res.Status == TaskQueued {
			queued++
		}
	}
	return w
}

// cpuTime is the CPU time used by the process so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkRouteDecision measures routing decisions at full scale. Each
// iteration: a busy agent completes a task and is offered (and auto-accepts)
// the best queued task of its five groups in the same call ("agent becomes
// free -> offer issued", timed for p99_ms), then a new task is enqueued to
// keep 50,000 waiting ("enqueue -> queue or offer"). decisions/s counts
// both kinds of decision over the loop's wall time; decisions/cpu_s over the
// CPU time the process used (GC included), which does not depend on other
// load on a shared machine. Sub-benchmarks: "returned" gets the events as
// each call's result (slices of a shared event arena, one allocation per
// ~97 events), "outbox" drains them into a reused buffer (Options.Outbox).
func BenchmarkRouteDecision(b *testing.B) {
	if os.Getenv("ROUTING_BENCH_SMALL") != "" {
		benchAgents, benchGroups, benchQueued = 1000, 50, 5000
	}
	for _, outbox := range []bool{false, true} {
		name := "returned"
		if outbox {
			name = "outbox"
		}
		b.Run(name, func(b *testing.B) { benchRoute(b, outbox) })
	}
}

func benchRoute(b *testing.B, outbox bool) {
	base := heapInUse()
	w := newBenchWorld(b, outbox)
	heapMB := float64(heapInUse()-base) / (1 << 20)
	lat := make([]int64, 0, b.N)
	offers := 0
	var buf []Event
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for range b.N {
		i := w.r.IntN(len(w.assigned))
		id := w.assigned[i]
		w.assigned[i] = w.assigned[len(w.assigned)-1]
		w.assigned = w.assigned[:len(w.assigned)-1]
		t0 := time.Now()
		evs, err := w.e.Complete(id, "")
		lat = append(lat, int64(time.Since(t0)))
		if err != nil {
			b.Fatal(err)
		}
		offers += w.collect(evs)
		_, evs, err = w.e.Enqueue(w.spec())
		if err != nil {
			b.Fatal(err)
		}
		offers += w.collect(evs)
		if outbox {
			buf = w.e.Drain(buf[:0])
			offers += w.collect(buf)
		}
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100]
	b.ReportMetric(float64(offers+b.N)/elapsed.Seconds(), "decisions/s")
	b.ReportMetric(float64(offers+b.N)/cpu.Seconds(), "decisions/cpu_s")
	b.ReportMetric(float64(p99)/1e6, "p99_ms")
	b.ReportMetric(heapMB, "heap_MB")
	if offers < b.N*9/10 {
		b.Fatalf("only %d offers in %d completions: the benchmark is not measuring routing", offers, b.N)
	}
	queued := 0
	for _, g := range w.e.Groups() {
		st, _ := w.e.GroupStats(g)
		queued += st.Queued
	}
	if queued < benchQueued {
		b.Fatalf("%d tasks queued", queued)
	}
}

// TestBenchWorldShape checks the benchmark measures what it claims, on a
// small scale so that it stays fast under -race.
func TestBenchWorldShape(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a large world")
	}
	w := newBenchWorld(t, false)
	queued, busy := 0, 0
	for _, s := range w.e.Tasks() {
		switch s.Status {
		case TaskQueued:
			queued++
		case TaskAssigned:
			busy++
		}
	}
	if queued != benchQueued || busy != len(w.assigned) {
		t.Fatalf("queued %d busy %d assigned %d", queued, busy, len(w.assigned))
	}
	for _, a := range w.e.Agents()[:100] {
		if a.Used == 0 || len(a.Groups) != benchPer || a.State != StateReady {
			t.Fatalf("agent %+v", a)
		}
	}
}
