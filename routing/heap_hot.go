package routing

// qheap and aheap are the two hot heaps (bucket queues and avail heaps):
// the same indexed 4-ary min-heaps as iheap, written out for their element
// types so that the comparisons and position updates are inlined instead of
// called through function values. Sifting moves a hole instead of swapping,
// so each displaced item has its position written once.

// qheap is a bucket's queue of tasks (see qLess).
type qheap struct{ s []qslot }

func (h *qheap) len() int             { return len(h.s) }
func (h *qheap) less(x, y qslot) bool { return qLess(x, y) }

func (h *qheap) push(x qslot) {
	h.s = append(h.s, x)
	h.up(len(h.s) - 1)
}

func (h *qheap) remove(i int) qslot {
	s := h.s
	n := len(s) - 1
	x := s[i]
	last := s[n]
	s[n] = qslot{}
	h.s = s[:n]
	if i != n {
		h.s[i] = last
		if !h.down(i) {
			h.up(i)
		}
	}
	x.q.pos = 0
	return x
}

func (h *qheap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

// up moves s[j] up to its place and sets the positions of what moved.
func (h *qheap) up(j int) {
	s := h.s
	x := s[j]
	for j > 0 {
		i := (j - 1) / 4
		if !qLess(x, s[i]) {
			break
		}
		s[j] = s[i]
		s[j].q.pos = j + 1
		j = i
	}
	s[j] = x
	x.q.pos = j + 1
}

// down moves s[i0] down to its place and sets the positions of what moved;
// it reports whether the item moved.
func (h *qheap) down(i0 int) bool {
	s := h.s
	n := len(s)
	i := i0
	x := s[i]
	for {
		j1 := 4*i + 1
		if j1 >= n || j1 < 0 {
			break
		}
		j := j1
		for c := j1 + 1; c < j1+4 && c < n; c++ {
			if qLess(s[c], s[j]) {
				j = c
			}
		}
		if !qLess(s[j], x) {
			break
		}
		s[i] = s[j]
		s[i].q.pos = i + 1
		i = j
	}
	s[i] = x
	x.q.pos = i + 1
	return i > i0
}

func (h *qheap) walk(buf *[]int32, visit func(x qslot) walkAction) {
	heapWalk(h.s, qLess, buf, visit)
}

func (h *qheap) each(buf *[]int32, visit func(x qslot) walkAction) {
	heapEach(h.s, buf, visit)
}

// aheap is a group's avail heap for one channel (see availLess).
type aheap struct {
	s  []aslot
	ch int // the channel: positions go to *membership.pos(ch)
}

func (h *aheap) len() int             { return len(h.s) }
func (h *aheap) less(x, y aslot) bool { return availLess(x, y) }

func (h *aheap) push(x aslot) {
	h.s = append(h.s, x)
	h.up(len(h.s) - 1)
}

func (h *aheap) remove(i int) aslot {
	s := h.s
	n := len(s) - 1
	x := s[i]
	last := s[n]
	s[n] = aslot{}
	h.s = s[:n]
	if i != n {
		h.s[i] = last
		if !h.down(i) {
			h.up(i)
		}
	}
	*x.m.pos(h.ch) = 0
	return x
}

func (h *aheap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *aheap) up(j int) {
	s := h.s
	x := s[j]
	for j > 0 {
		i := (j - 1) / 4
		if !availLess(x, s[i]) {
			break
		}
		s[j] = s[i]
		*s[j].m.pos(h.ch) = int32(j + 1)
		j = i
	}
	s[j] = x
	*x.m.pos(h.ch) = int32(j + 1)
}

func (h *aheap) down(i0 int) bool {
	s := h.s
	n := len(s)
	i := i0
	x := s[i]
	for {
		j1 := 4*i + 1
		if j1 >= n || j1 < 0 {
			break
		}
		j := j1
		for c := j1 + 1; c < j1+4 && c < n; c++ {
			if availLess(s[c], s[j]) {
				j = c
			}
		}
		if !availLess(s[j], x) {
			break
		}
		s[i] = s[j]
		*s[i].m.pos(h.ch) = int32(i + 1)
		i = j
	}
	s[i] = x
	*x.m.pos(h.ch) = int32(i + 1)
	return i > i0
}

func (h *aheap) walk(buf *[]int32, visit func(x aslot) walkAction) {
	heapWalk(h.s, availLess, buf, visit)
}
