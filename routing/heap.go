package routing

// iheap is an indexed 4-ary min-heap: every item knows its position (setPos
// receives index+1, or 0 when the item leaves the heap), so items can be
// removed or re-ordered in O(log n). Four children per node halve the depth
// of a binary heap; with the sort keys stored in the array (T is a small
// struct for the hot heaps) the children compared at each level share one
// or two cache lines.
type iheap[T any] struct {
	s      []T
	less   func(a, b T) bool
	setPos func(x T, pos int)
}

func (h *iheap[T]) len() int { return len(h.s) }

func (h *iheap[T]) push(x T) {
	h.s = append(h.s, x)
	i := len(h.s) - 1
	h.setPos(x, i+1)
	h.up(i)
}

func (h *iheap[T]) pop() T { return h.remove(0) }

func (h *iheap[T]) remove(i int) T {
	n := len(h.s) - 1
	x := h.s[i]
	if n != i {
		h.swap(i, n)
	}
	var zero T
	h.s[n] = zero
	h.s = h.s[:n]
	if n != i {
		if !h.down(i) {
			h.up(i)
		}
	}
	h.setPos(x, 0)
	return x
}

func (h *iheap[T]) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *iheap[T]) swap(i, j int) {
	h.s[i], h.s[j] = h.s[j], h.s[i]
	h.setPos(h.s[i], i+1)
	h.setPos(h.s[j], j+1)
}

func (h *iheap[T]) up(j int) {
	for j > 0 {
		i := (j - 1) / 4
		if !h.less(h.s[j], h.s[i]) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h *iheap[T]) down(i0 int) bool {
	i := i0
	n := len(h.s)
	for {
		j1 := 4*i + 1
		if j1 >= n || j1 < 0 {
			break
		}
		j := j1
		for c := j1 + 1; c < j1+4 && c < n; c++ {
			if h.less(h.s[c], h.s[j]) {
				j = c
			}
		}
		if !h.less(h.s[j], h.s[i]) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}

type walkAction uint8

const (
	walkExpand walkAction = iota // visit the item's children too
	walkPrune                    // skip the item's children
	walkStop                     // end the walk
)

// walk visits the heap's items in ascending order (best first) without
// modifying the heap, using buf as the frontier: O(k log k) for k visited
// items. visit must not modify the heap.
func (h *iheap[T]) walk(buf *[]int32, visit func(x T) walkAction) {
	heapWalk(h.s, h.less, buf, visit)
}

// heapWalk is walk for a 4-ary heap array s ordered by less.
func heapWalk[T any](s []T, less func(a, b T) bool, buf *[]int32, visit func(x T) walkAction) {
	n := int32(len(s))
	if n == 0 {
		return
	}
	fr := append((*buf)[:0], 0)
	for len(fr) > 0 {
		i := fr[0]
		last := len(fr) - 1
		fr[0] = fr[last]
		fr = fr[:last]
		// sift down fr[0]
		k := 0
		for {
			c := 2*k + 1
			if c >= len(fr) {
				break
			}
			if c2 := c + 1; c2 < len(fr) && less(s[fr[c2]], s[fr[c]]) {
				c = c2
			}
			if !less(s[fr[c]], s[fr[k]]) {
				break
			}
			fr[k], fr[c] = fr[c], fr[k]
			k = c
		}
		act := visit(s[i])
		if act == walkStop {
			break
		}
		if act == walkPrune {
			continue
		}
		for c := 4*i + 1; c <= 4*i+4 && c < n; c++ {
			fr = append(fr, c)
			j := len(fr) - 1
			for j > 0 {
				p := (j - 1) / 2
				if !less(s[fr[j]], s[fr[p]]) {
					break
				}
				fr[j], fr[p] = fr[p], fr[j]
				j = p
			}
		}
	}
	*buf = fr[:0]
}

// each visits every item in heap-array order (no particular order) with
// pruning: children of a pruned item are skipped. Used for counting.
func (h *iheap[T]) each(buf *[]int32, visit func(x T) walkAction) {
	heapEach(h.s, buf, visit)
}

// heapEach is each for a 4-ary heap array s.
func heapEach[T any](s []T, buf *[]int32, visit func(x T) walkAction) {
	n := int32(len(s))
	if n == 0 {
		return
	}
	st := append((*buf)[:0], 0)
	for len(st) > 0 {
		i := st[len(st)-1]
		st = st[:len(st)-1]
		switch visit(s[i]) {
		case walkStop:
			*buf = st[:0]
			return
		case walkPrune:
			continue
		}
		for c := 4*i + 1; c <= 4*i+4 && c < n; c++ {
			st = append(st, c)
		}
	}
	*buf = st[:0]
}
