package ids

import "testing"

func TestOrderedAndUnique(t *testing.T) {
	prev := ""
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		id := New()
		if len(id) != 26 {
			t.Fatalf("len %d", len(id))
		}
		if id <= prev && id[:12] == prev[:12] {
			t.Fatalf("%s not after %s", id, prev)
		}
		if seen[id] {
			t.Fatalf("duplicate %s", id)
		}
		seen[id], prev = true, id
	}
}
