package acd_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/omnihub/hub/internal/hubtest"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/routing"
)

// TestEventsOrderedUnderConcurrentTicksAndCalls: offers time out on the
// engine's timer while API calls enqueue and cancel tasks from several
// goroutines. A listener sees every event once, in the engine's order (Seq
// without gap or repeat), and exactly what the store holds.
func TestEventsOrderedUnderConcurrentTicksAndCalls(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	f := setup(t, h, map[string]any{"offer_timeout_s": 1}, "agent.o1", "agent.o2", "agent.o3")
	for _, a := range []string{"agent.o1", "agent.o2", "agent.o3"} {
		f.ready(t, a)
	}
	var mu sync.Mutex
	var seqs []uint64
	timeouts := 0
	enough := make(chan struct{})
	h.ACD.Listen(func(tn store.TenantID, evs []routing.Event) {
		if tn != store.DefaultTenant {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			seqs = append(seqs, e.Seq)
			if e.Type == routing.EventOfferTimeout {
				if timeouts++; timeouts == 6 {
					close(enough)
				}
			}
		}
	})
	// Nobody accepts: every offer times out on the timer and moves on,
	// while the calls below run.
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				id := fmt.Sprintf("order-%d-%d", w, i)
				f.enqueue(t, id)
				if i%3 == 0 {
					if st := h.Do("DELETE", "/api/v1/routing/tasks/"+id, h.AdminToken, nil, nil); st != 204 && st != 200 {
						t.Errorf("cancel %s: %d", id, st)
					}
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-enough:
	case <-time.After(30 * time.Second):
		t.Fatal("offers did not time out")
	}
	// Quiet the engine: cancel what is left, so no timer fires meanwhile.
	for w := range 4 {
		for i := range 10 {
			if i%3 != 0 {
				h.Do("DELETE", fmt.Sprintf("/api/v1/routing/tasks/order-%d-%d", w, i), h.AdminToken, nil, nil)
			}
		}
	}
	mu.Lock()
	got := append([]uint64(nil), seqs...)
	mu.Unlock()
	if len(got) < 40 {
		t.Fatalf("only %d events seen", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("event %d has seq %d after %d: out of order, repeated or missing", i, got[i], got[i-1])
		}
	}
	stored, err := h.ACD.Events(store.WithTenant(t.Context(), store.DefaultTenant), "", "", got[0]-1, len(got))
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(got) {
		t.Fatalf("the store holds %d events from seq %d, the listener saw %d", len(stored), got[0], len(got))
	}
	for i, e := range stored {
		if e.Seq != got[i] {
			t.Fatalf("stored event %d has seq %d, the listener saw %d", i, e.Seq, got[i])
		}
	}
}
