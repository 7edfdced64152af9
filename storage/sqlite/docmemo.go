package sqlite

import "sync"

// docMemoMax bounds a docMemo; past it the memo starts over.
const docMemoMax = 4096

// docMemo remembers documents already decoded, by their stored text: a
// read whose document has not changed skips the decode (skill groups and
// tenants are read on every web chat session and start, and their
// extended-JSON decode was a tenth of the hub's CPU under a chat opening
// burst). The text is the key, so a change made by any hub node is
// decoded afresh. T must be a value type with no shared parts (no slices,
// maps or pointers): callers get a copy.
type docMemo[T any] struct {
	mu sync.Mutex
	m  map[string]T
}

// decode sets *v to the decoded doc.
func (d *docMemo[T]) decode(doc string, v *T) error {
	d.mu.Lock()
	got, ok := d.m[doc]
	d.mu.Unlock()
	if ok {
		*v = got
		return nil
	}
	var fresh T
	if err := accDecode(doc, &fresh); err != nil {
		return err
	}
	d.mu.Lock()
	if d.m == nil || len(d.m) >= docMemoMax {
		d.m = map[string]T{}
	}
	d.m[doc] = fresh
	d.mu.Unlock()
	*v = fresh
	return nil
}
