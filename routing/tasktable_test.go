package routing

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestTaskTable checks the task index against a map under random puts and
// removes, with tables small enough for probe runs to wrap around.
func TestTaskTable(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for round := range 50 {
		tt := newTaskTable()
		want := map[TaskID]*task{}
		keys := 10 + round*7
		for range 4000 {
			id := TaskID("k" + strconv.Itoa(r.IntN(keys)))
			switch r.IntN(3) {
			case 0, 1:
				if want[id] == nil {
					x := &task{id: id}
					want[id] = x
					tt.put(x)
				}
			case 2:
				delete(want, id)
				tt.remove(id)
			}
			if tt.len() != len(want) {
				t.Fatalf("len %d, want %d", tt.len(), len(want))
			}
		}
		for i := range keys {
			id := TaskID("k" + strconv.Itoa(i))
			if got := tt.get(id); got != want[id] {
				t.Fatalf("round %d: get(%q) = %v, want %v", round, id, got, want[id])
			}
		}
		if n := len(tt.appendTo(nil)); n != len(want) {
			t.Fatalf("appendTo: %d tasks, want %d", n, len(want))
		}
	}
}
