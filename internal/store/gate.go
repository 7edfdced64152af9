package store

import "context"

// writeGate lets one write at a time reach the embedded server.
//
// SQLite admits one writer at a time. A second FerretDB connection that
// finds the database locked does not wait in line: it sleeps in SQLite's
// busy handler (1, 2, 5, 10, ... 100 ms between attempts) and retries, so
// under concurrent writes a write that needed a millisecond could take a
// hundred. Queueing writers here instead hands the database from one write
// to the next as soon as it commits, in arrival order (blocked channel
// senders are woken first in, first out). Reads are not gated: SQLite's
// write-ahead log lets them run beside the writer.
type writeGate struct{ ch chan struct{} }

func newWriteGate() *writeGate { return &writeGate{ch: make(chan struct{}, 1)} }

// enter waits for the gate; a nil gate (MongoDB) never waits.
func (g *writeGate) enter(ctx context.Context) error {
	if g == nil {
		return nil
	}
	select {
	case g.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leave opens the gate for the next writer.
func (g *writeGate) leave() {
	if g != nil {
		<-g.ch
	}
}
