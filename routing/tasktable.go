package routing

import "hash/maphash"

// taskTable is the engine's index of live tasks by id: an open-addressing
// hash table (linear probing, deletion by backward shift) whose slots hold
// the hash and the task, so that a lookup touches one slot and then the
// task it returns, and the garbage collector sees one pointer per task
// (the id is the task's own).
type taskTable struct {
	slots []taskSlot // length a power of two, at most half full
	n     int
	seed  maphash.Seed
}

type taskSlot struct {
	h uint64
	t *task // nil: empty
}

func newTaskTable() taskTable {
	return taskTable{seed: maphash.MakeSeed()}
}

func (tt *taskTable) hash(id TaskID) uint64 { return maphash.String(tt.seed, string(id)) }

func (tt *taskTable) len() int { return tt.n }

// get returns the task with that id, or nil.
func (tt *taskTable) get(id TaskID) *task {
	if tt.n == 0 {
		return nil
	}
	h := tt.hash(id)
	mask := len(tt.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := &tt.slots[i]
		if s.t == nil {
			return nil
		}
		if s.h == h && s.t.id == id {
			return s.t
		}
	}
}

// put adds t, or replaces the task with t's id.
func (tt *taskTable) put(t *task) {
	if 2*(tt.n+1) > len(tt.slots) {
		tt.grow()
	}
	h := tt.hash(t.id)
	mask := len(tt.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := &tt.slots[i]
		if s.t == nil {
			*s = taskSlot{h: h, t: t}
			tt.n++
			return
		}
		if s.h == h && s.t.id == t.id {
			s.t = t
			return
		}
	}
}

func (tt *taskTable) grow() {
	old := tt.slots
	n := max(2*len(old), 64)
	tt.slots = make([]taskSlot, n)
	mask := n - 1
	for _, s := range old {
		if s.t == nil {
			continue
		}
		i := int(s.h) & mask
		for tt.slots[i].t != nil {
			i = (i + 1) & mask
		}
		tt.slots[i] = s
	}
}

// remove deletes the task with that id, if any.
func (tt *taskTable) remove(id TaskID) {
	if tt.n == 0 {
		return
	}
	h := tt.hash(id)
	mask := len(tt.slots) - 1
	i := int(h) & mask
	for {
		s := &tt.slots[i]
		if s.t == nil {
			return
		}
		if s.h == h && s.t.id == id {
			break
		}
		i = (i + 1) & mask
	}
	// backward shift: move later members of the probe run into the hole
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := tt.slots[j]
		if s.t == nil {
			break
		}
		home := int(s.h) & mask
		// s may move to i unless its home lies cyclically in (i, j]
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			tt.slots[i] = s
			i = j
		}
	}
	tt.slots[i] = taskSlot{}
	tt.n--
}

// appendTo appends every task, in no particular order.
func (tt *taskTable) appendTo(ts []*task) []*task {
	for _, s := range tt.slots {
		if s.t != nil {
			ts = append(ts, s.t)
		}
	}
	return ts
}
