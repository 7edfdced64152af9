//go:build !unix

package sqlitedb

import "errors"

// LockFile is the file a hub holds locked while it uses a data folder.
const LockFile = "hub.lock"

// ErrInUse is returned when another process holds the data folder.
var ErrInUse = errors.New("data folder in use by another hub")

// Lock does nothing on systems without flock.
func Lock(dir string) (func(), error) { return func() {}, nil }
