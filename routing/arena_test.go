package routing

import (
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// TestReturnedEventsStayValid keeps every slice of events returned over
// many calls (which share arena chunks) and checks that none was changed by
// later calls, even when the caller appends to them.
func TestReturnedEventsStayValid(t *testing.T) {
	clk := newClock()
	e, err := New(Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	var kept, copies [][]Event
	keep := func(evs []Event) {
		if len(evs) > 0 && cap(evs) != len(evs) {
			t.Fatalf("returned slice has cap %d > len %d", cap(evs), len(evs))
		}
		kept = append(kept, evs)
		copies = append(copies, slices.Clone(evs))
		// appending must not touch the next call's events
		_ = append(evs, Event{Type: "caller's own"})
	}
	for g := range 3 {
		evs, err := e.UpsertGroup(GroupConfig{ID: GroupID("g" + strconv.Itoa(g)), AutoAccept: g != 1})
		if err != nil {
			t.Fatal(err)
		}
		keep(evs)
	}
	for a := range 20 {
		id := AgentID("a" + strconv.Itoa(a))
		evs, err := e.UpsertAgent(AgentConfig{ID: id, Groups: map[GroupID]int{GroupID("g" + strconv.Itoa(a%3)): 1}})
		if err != nil {
			t.Fatal(err)
		}
		keep(evs)
		evs, err = e.SignIn(id)
		if err != nil {
			t.Fatal(err)
		}
		keep(evs)
	}
	var live []TaskID
	for i := range 2000 {
		clk.Advance(1)
		ch := ChannelVoice
		if i%3 == 0 {
			ch = ChannelWebChat
		}
		res, evs, err := e.Enqueue(TaskSpec{ID: TaskID("t" + strconv.Itoa(i)), Channel: ch, Group: GroupID("g" + strconv.Itoa(i%3))})
		if err != nil {
			t.Fatal(err)
		}
		keep(evs)
		if res.Status == TaskAssigned {
			live = append(live, res.Task)
		}
		for _, ev := range evs {
			if ev.Type == EventOfferAccepted && ev.TaskID != res.Task {
				live = append(live, ev.TaskID)
			}
		}
		if i%2 == 1 && len(live) > 0 {
			evs, err := e.Complete(live[0], "")
			if err != nil {
				t.Fatal(err)
			}
			live = live[1:]
			keep(evs)
			for _, ev := range evs {
				if ev.Type == EventOfferAccepted {
					live = append(live, ev.TaskID)
				}
			}
		}
		if i%97 == 0 {
			keep(e.Tick(clk.Advance(40_000_000_000)))
		}
	}
	seq := uint64(0)
	for i := range kept {
		if !reflect.DeepEqual(kept[i], copies[i]) {
			t.Fatalf("returned events %d changed after the call", i)
		}
		for _, ev := range kept[i] {
			if ev.Seq != seq+1 {
				t.Fatalf("seq %d after %d", ev.Seq, seq)
			}
			seq = ev.Seq
		}
	}
	if err := e.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
