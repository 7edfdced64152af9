// Package ids makes record identifiers that sort by creation time, so an
// index on _id doubles as a time index and cursor pagination needs no
// second key.
package ids

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"
)

var seq atomic.Uint32

func init() {
	var b [4]byte
	_, _ = rand.Read(b[:])
	seq.Store(uint32(b[0]&0x7f)<<16 | uint32(b[1])<<8 | uint32(b[2]))
}

// New returns a 26-character identifier: 12 hex digits of Unix
// milliseconds, 6 of a per-process counter and 8 random. IDs made later sort
// after IDs made earlier (within one process, strictly).
func New() string {
	return NewAt(time.Now())
}

// NewAt is New for a given time.
func NewAt(t time.Time) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%012x%06x%s", t.UnixMilli(), seq.Add(1)&0xffffff, hex.EncodeToString(r[:]))
}

// Token returns n random bytes, hex encoded: for secrets such as session
// tokens and generated passwords.
func Token(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("ids: crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}
