package webchat_test

import (
	"testing"

	"github.com/omnihub/hub/internal/hubtest"
)

// TestQueueWaitUnknownWithNobodySignedIn: with nobody of the group signed
// in, the queue frame says the wait is unknown (wait_s -1), never "about a
// minute".
func TestQueueWaitUnknownWithNobodySignedIn(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g := group(t, h, "夜间", nil)
	cu := newCustomer(t, h)
	cu.send(frame{Type: "start", Group: g})
	cu.expect("started")
	if f := cu.expect("queue"); f.Position != 1 || f.WaitS != -1 {
		t.Fatalf("queue frame: position %d, wait_s %d (want 1, -1)", f.Position, f.WaitS)
	}
}
