//go:build unix

package sqlitedb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockFile is the file a hub (or a restore) holds locked while it uses a
// data folder.
const LockFile = "hub.lock"

// ErrInUse is returned when another process holds the data folder.
var ErrInUse = errors.New("data folder in use by another hub")

// Lock takes the data folder for this process: two hubs on one folder would
// corrupt nothing (SQLite locks) but would each own "their" tenants'
// engines. The lock ends with the process or with the returned release.
func Lock(dir string) (release func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", dir, ErrInUse)
		}
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
