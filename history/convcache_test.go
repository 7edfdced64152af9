package history

import "testing"

// A document read before a clear (a change to many conversations) is not
// cached after it; copies never share slices or maps with the cache.
func TestConvCache(t *testing.T) {
	cc := newConvCache()
	gen := cc.generation()
	cc.clear() // e.g. a contact merge while the read was under way
	cc.putRead("t/c1", &Conversation{ID: "c1", ContactID: "old"}, gen)
	if _, ok := cc.get("t/c1"); ok {
		t.Fatal("a read from before the clear was cached")
	}
	cc.putRead("t/c1", &Conversation{ID: "c1", ContactID: "new", Tags: []string{"a"}}, cc.generation())
	c, ok := cc.get("t/c1")
	if !ok || c.ContactID != "new" {
		t.Fatalf("fresh read not cached: %v %+v", ok, c)
	}
	c.Tags[0] = "changed"
	if again, _ := cc.get("t/c1"); again.Tags[0] != "a" {
		t.Fatalf("a caller's change reached the cache: %v", again.Tags)
	}
	cc.update("t/c1", func(c *Conversation) { c.MessageCount = 7 })
	if again, _ := cc.get("t/c1"); again.MessageCount != 7 {
		t.Fatalf("update: %d", again.MessageCount)
	}
	cc.drop("t/c1")
	if _, ok := cc.get("t/c1"); ok {
		t.Fatal("dropped document still cached")
	}
	var none *convCache // MongoDB: no cache at all
	none.put("t/c2", &Conversation{ID: "c2"})
	if _, ok := none.get("t/c2"); ok {
		t.Fatal("nil cache returned a document")
	}
}
